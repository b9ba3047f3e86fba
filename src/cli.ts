/**
 * `npm run cli -- <command>` and the db:* scripts: DBA and operator tasks
 * against the configured database (embedded by default).
 *
 *   migrate          apply committed migrations (npm run db:migrate)
 *   migrate-reset    drop and re-create the database from migrations (npm run db:reset)
 *   migrate-watch    re-run migrations/current.sql on every save (npm run db:watch)
 *   migrate-commit   commit current.sql as the next migration, then export the schema files (npm run db:commit)
 *   export-schema    write schema.graphql and schema.sql from the live database (npm run schema:export)
 *   psql-url         print the owner connection string (for psql)
 *   create-admin --username NAME --email ADDRESS [--password PW]
 *                    create a verified administrator (password also from AGORA_ADMIN_PASSWORD)
 */
import "./runtime";
import os from "node:os";
import pg from "pg";
import { loadConfigOrExit } from "./config";
import { makeLogger, type Logger } from "./logger";
import { openDatabase, type DatabaseConnections } from "./db/connections";
import { dbaCommands } from "./db/migrate";
import { exportSchema } from "./schema-export";

type Command = (db: DatabaseConnections, logger: Logger, args: string[]) => Promise<void>;

const commands: Record<string, { migrateFirst: boolean; run: Command }> = {
  migrate: { migrateFirst: true, run: async () => undefined },
  "migrate-reset": { migrateFirst: false, run: (db, logger) => dbaCommands.reset(db, logger) },
  "migrate-watch": {
    migrateFirst: true,
    run: (db, logger, args) => dbaCommands.watch(db, logger, args.includes("--once")),
  },
  "migrate-commit": {
    migrateFirst: true,
    // The committed migration is the new truth: schema.graphql and schema.sql follow it at once.
    run: async (db, logger, args) => {
      await dbaCommands.commit(db, logger, args.find((a) => !a.startsWith("--")));
      console.log(`wrote ${(await exportSchema(db)).join(", ")}`);
    },
  },
  "export-schema": { migrateFirst: true, run: (db) => exportSchema(db).then((files) => console.log(`wrote ${files.join(", ")}`)) },
  "psql-url": { migrateFirst: true, run: async (db) => console.log(db.ownerUrl) },
  "create-admin": { migrateFirst: true, run: (db, _logger, args) => createAdmin(db, args) },
};

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function createAdmin(db: DatabaseConnections, args: string[]): Promise<void> {
  const username = flag(args, "username");
  const email = flag(args, "email");
  const password = flag(args, "password") ?? process.env.AGORA_ADMIN_PASSWORD;
  if (!username || !email || !password) {
    throw new UsageError("usage: npm run cli -- create-admin --username NAME --email ADDRESS [--password PW | AGORA_ADMIN_PASSWORD=PW]");
  }
  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>("select id from app_private.create_admin($1, $2, $3)", [username, email, password]);
    console.log(`created administrator ${username} (${rows[0].id})`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code && /^[A-Z]{5}$/.test(code)) throw new UsageError(`${code}: ${(error as Error).message}`);
    throw error;
  } finally {
    await client.end();
  }
}

/** An error the operator can act on: printed without a stack trace. */
class UsageError extends Error {}

async function main() {
  const [name, ...args] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.error(`usage: npm run cli -- <${Object.keys(commands).join("|")}>`);
    process.exit(2);
  }
  const config = loadConfigOrExit();
  const logger = makeLogger(config.logLevel);
  const db = await openDatabase(config, logger, {
    migrate: command.migrateFirst,
  });
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= db.embedded?.stop() ?? Promise.resolve());
  // A signal is how `db:watch` is meant to end (exit 0); any other command
  // it interrupts exits 130/143. Either way the embedded database stops
  // first, once the command's sessions have ended.
  const watching = name === "migrate-watch" && !args.includes("--once");
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(128 + os.constants.signals[signal]);
    logger.info({ signal }, "stopping");
    void stop().then(() => process.exit(watching ? 0 : 128 + os.constants.signals[signal]));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await command.run(db, logger, args);
  } finally {
    if (!watching) await stop();
  }
}

main().catch((error) => {
  console.error(error instanceof UsageError ? error.message : error instanceof Error ? error.stack : String(error));
  process.exit(1);
});

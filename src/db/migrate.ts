/**
 * Schema evolution with graphile-migrate, driven from our configuration.
 *
 * `.gmrc` holds the static settings; connection strings come from the
 * resolved database connections. graphile-worker's own schema is installed
 * (or upgraded) right after our migrations, so SQL can enqueue jobs even
 * when this process runs no worker.
 */
import fs from "node:fs";
import path from "node:path";
import JSON5 from "json5";
import pg from "pg";
import { commit, Logger as MigrateLogger, migrate, reset, watch, type Settings } from "graphile-migrate";
import { clearAllPools } from "graphile-migrate/dist/pgReal";
import { runMigrations as installWorkerSchema } from "graphile-worker";
import { PROJECT_ROOT } from "../paths";
import type { DatabaseConnections } from "./connections";
import { pinoLogFactory, plainLogFactory } from "../graphile-logger";
import type { Logger } from "../logger";

export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, "migrations");

/** graphile-migrate's settings; `forPeople` prints its messages as plain text (the db:* commands) instead of JSON logs. */
export function migrateSettings(db: DatabaseConnections, logger: Logger, forPeople = false): Settings {
  const gmrc = JSON5.parse(fs.readFileSync(path.join(PROJECT_ROOT, ".gmrc"), "utf8")) as Settings;
  return {
    ...gmrc,
    migrationsFolder: MIGRATIONS_DIR,
    connectionString: db.ownerUrl,
    rootConnectionString: db.rootUrl ?? undefined,
    shadowConnectionString: db.shadowUrl ?? undefined,
    placeholders: { ...gmrc.placeholders, ":DATABASE_AUTHENTICATOR": db.authenticatorRole },
    logger: new MigrateLogger(forPeople ? plainLogFactory() : pinoLogFactory(logger, "migrate")),
  };
}

async function withCwd<T>(fn: () => Promise<T>): Promise<T> {
  // .gmrc actions (afterReset.sql, commands) are resolved from the project root.
  const previous = process.cwd();
  process.chdir(PROJECT_ROOT);
  try {
    return await fn();
  } finally {
    process.chdir(previous);
    // graphile-migrate keeps its pools briefly and exits the process if one
    // errors, e.g. when the embedded database stops right after: end them now.
    clearAllPools();
  }
}

/** Arbitrary constant: the advisory lock that queues concurrent start-ups. */
const START_UP_LOCK = 7_305_001;

/**
 * graphile-migrate refuses to run while another process migrates ("Failed to
 * get exclusive lock"); several instances starting together must wait their
 * turn instead, so they queue on a blocking advisory lock first.
 */
async function oneAtATime(connectionString: string, fn: () => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [START_UP_LOCK]);
    await fn();
  } finally {
    await client.end(); // ending the session releases the lock
  }
}

/** Brings the database up to date: a fresh database is reset (created), an existing one migrated. */
export async function migrateDatabase(db: DatabaseConnections, fresh: boolean, logger: Logger): Promise<void> {
  const settings = migrateSettings(db, logger);
  if (fresh) {
    if (!db.rootUrl) throw new Error("The database does not exist and no ROOT_DATABASE_URL was given to create it");
    await withCwd(() => reset(settings, false));
  } else {
    await oneAtATime(db.ownerUrl, () => withCwd(() => migrate(settings, false)));
  }
  await installWorkerSchema({ connectionString: db.ownerUrl });
}

export const dbaCommands = {
  reset: async (db: DatabaseConnections, logger: Logger) => {
    await withCwd(() => reset(migrateSettings(db, logger, true), false));
    await installWorkerSchema({ connectionString: db.ownerUrl });
  },
  watch: (db: DatabaseConnections, logger: Logger, once: boolean) =>
    withCwd(() => watch(migrateSettings(db, logger, true), once, false)),
  commit: (db: DatabaseConnections, logger: Logger, message?: string) =>
    withCwd(() => commit(migrateSettings(db, logger, true), message)),
};

/** The migration number in a file name: "000002-identity.sql" → 2. */
export const migrationNumber = (filename: string): number => Number(/^(\d+)/.exec(filename)?.[1] ?? NaN);

/** The newest committed migration on disk, e.g. "000003-posts.sql". */
export function latestCommittedMigration(): string | null {
  const dir = path.join(MIGRATIONS_DIR, "committed");
  if (!fs.existsSync(dir)) return null;
  const files = fs.readdirSync(dir).filter((f) => /^\d+.*\.sql$/.test(f)).sort();
  return files.at(-1) ?? null;
}

/** Null when the database has every committed migration, else what is missing. */
export async function pendingMigrationProblem(ownerPool: pg.Pool): Promise<string | null> {
  const latest = latestCommittedMigration();
  if (!latest) return null;
  const { rows } = await ownerPool.query<{ filename: string }>(
    "select filename from graphile_migrate.migrations order by filename desc limit 1",
  );
  const applied = rows[0]?.filename ?? null;
  // graphile-migrate records "000002.sql" for the file "000002-message.sql".
  return applied !== null && migrationNumber(applied) === migrationNumber(latest)
    ? null
    : `database is at ${applied ?? "no migration"}, code expects ${latest}`;
}

/**
 * A scratch database on the test server, migrated like the real one (for
 * tests that need a database of their own: big fixtures, seeding).
 */
import pg from "pg";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db/connections";
import { dbaCommands } from "../../src/db/migrate";
import { makeLogger } from "../../src/logger";
import { testDatabase } from "./testDatabase";

export interface ScratchDatabase {
  /** Environment for startTestServer() pointing at this database. */
  env: { DATABASE_URL: string; AUTH_DATABASE_URL: string };
  ownerUrl: string;
  /** Superuser pool on this database. */
  root: pg.Pool;
  drop(): Promise<void>;
}

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

export async function createScratchDatabase(name: string): Promise<ScratchDatabase> {
  const base = testDatabase();
  const env = {
    DATABASE_URL: withDatabase(base.env.DATABASE_URL, name),
    AUTH_DATABASE_URL: withDatabase(base.env.AUTH_DATABASE_URL, name),
  };
  const logger = makeLogger("warn");
  const db = await openDatabase(loadConfig({ ...base.env, ...env }), logger);
  await dbaCommands.watch(db, logger, true); // work in progress too, as globalSetup does
  const root = new pg.Pool({ connectionString: withDatabase(base.serverRootUrl, name), max: 2 });
  return {
    env,
    ownerUrl: db.ownerUrl,
    root,
    async drop() {
      await root.end();
      const admin = new pg.Client({ connectionString: base.serverRootUrl });
      await admin.connect();
      try {
        await admin.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

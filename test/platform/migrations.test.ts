/** Migrations: committed history applies cleanly, and applying it again changes nothing. */
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db/connections";
import { latestCommittedMigration, MIGRATIONS_DIR, migrationNumber } from "../../src/db/migrate";
import { makeLogger } from "../../src/logger";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { testDatabase } from "../helpers/testDatabase";

afterAll(closeSqlHelpers);

const schemaFingerprint = async () =>
  (
    await rootDb().query(
      `select count(*)::int as objects, md5(string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' order by 1)) as hash
         from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname like 'app_%'`,
    )
  ).rows[0];

describe("migrations", () => {
  it("are all applied to the test database", async () => {
    const { rows } = await rootDb().query("select filename from graphile_migrate.migrations order by filename");
    const files = fs.readdirSync(path.join(MIGRATIONS_DIR, "committed")).filter((f) => f.endsWith(".sql")).sort();
    expect(rows.map((r) => migrationNumber(r.filename))).toEqual(files.map(migrationNumber));
    expect(files.at(-1)).toBe(latestCommittedMigration());
  });

  it("are idempotent: migrating an up-to-date database changes nothing", async () => {
    const before = await schemaFingerprint();
    const db = await openDatabase(loadConfig(testDatabase().env), makeLogger("silent"));
    await openDatabase(loadConfig(testDatabase().env), makeLogger("silent"));
    expect(db.embedded).toBeNull();
    expect(await schemaFingerprint()).toEqual(before);
  });

  it("install graphile-worker's schema alongside ours", async () => {
    const { rows } = await rootDb().query("select to_regproc('graphile_worker.add_job') is not null as present");
    expect(rows[0].present).toBe(true);
  });

  it("leave current.sql empty on main", () => {
    const current = fs.readFileSync(path.join(MIGRATIONS_DIR, "current.sql"), "utf8");
    expect(current.split("\n").filter((l) => l.trim() && !l.trim().startsWith("--"))).toEqual([]);
  });
});

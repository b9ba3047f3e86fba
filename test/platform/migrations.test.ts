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

// Ordered by name: pg_class's physical order changes whenever another test updates a catalog row (analyze, alter table).
const schemaFingerprint = async () =>
  (
    await rootDb().query(
      `select count(*)::int as objects, md5(string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' order by n.nspname, c.relname)) as hash
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

  it("write policies, grants and triggers out: none generated with format() since migration 000008", () => {
    // 000003 generated the content tables' policies in a format() loop, which hid an and/or precedence bug.
    // Such statements must be greppable, so later migrations (and current.sql) state each one.
    const dir = path.join(MIGRATIONS_DIR, "committed");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".sql") && migrationNumber(f) >= 8).map((f) => path.join(dir, f));
    const offenders: string[] = [];
    for (const file of [...files, path.join(MIGRATIONS_DIR, "current.sql")]) {
      const sql = fs.readFileSync(file, "utf8");
      for (const match of sql.matchAll(/format\s*\(\s*(\$\w*\$|')\s*(create\s+policy|grant\s|create\s+trigger|alter\s+table)/gi)) {
        offenders.push(`${path.basename(file)}: ${match[0]}`);
      }
    }
    expect(files.length).toBeGreaterThan(0);
    expect(offenders).toEqual([]);
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

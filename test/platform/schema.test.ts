/**
 * The schema artifacts at the project root must match the live database:
 * schema.graphql is what client developers generate code from, schema.sql is
 * what reviewers read to see the real schema change.
 */
import fs from "node:fs";
import { printSchemaSql, SCHEMAS } from "../../src/db/schema-sql";
import { printLiveSchema, SCHEMA_FILE, SCHEMA_SQL_FILE } from "../../src/schema-export";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { testDatabase } from "../helpers/testDatabase";

afterAll(closeSqlHelpers);

const committed = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");

describe("the exported GraphQL schema", () => {
  it("is up to date (run `npm run schema:export` after changing the database)", async () => {
    const live = await printLiveSchema({ authUrl: testDatabase().authUrl });
    expect(committed(SCHEMA_FILE)).toBe(live);
  });
});

describe("the exported SQL schema (schema.sql)", () => {
  let live: string;
  beforeAll(async () => {
    live = await printSchemaSql(testDatabase());
  });

  it("is up to date (run `npm run schema:export` after changing the database)", () => {
    expect(committed(SCHEMA_SQL_FILE)).toBe(live);
  });

  it("writes out every policy of every table as `create policy … on <table>`", async () => {
    const { rows } = await rootDb().query<{ policy: string }>(
      `select format('create policy %I on %I.%I ', p.polname, n.nspname, c.relname) as policy
         from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) order by 1`,
      [SCHEMAS],
    );
    expect(rows.length).toBeGreaterThan(0);
    const missing = rows.map((r) => r.policy).filter((p) => !live.includes(p));
    expect(missing).toEqual([]);
    expect(live.match(/^create policy /gm)?.length).toBe(rows.length);
  });

  it("names login roles by placeholder, so it reads the same in every environment", () => {
    const { ownerUrl, authUrl } = testDatabase();
    for (const url of [ownerUrl, authUrl]) expect(live).not.toContain(new URL(url).username);
    expect(live).toContain("alter default privileges for role :DATABASE_OWNER ");
  });
});

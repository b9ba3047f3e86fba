/**
 * Every object of Agora's schemas is documented by a `comment on`, checked
 * against the catalog so that an object added later is covered the day it is
 * created. Comments on app_public are the GraphQL documentation client
 * developers read (in Ruru and schema.graphql); smart-tag lines (`@…`) are
 * not documentation, so a comment needs a line of prose besides its tags,
 * unless the object is left out of GraphQL altogether (`@behavior -*`).
 */
import { SCHEMAS } from "../../src/db/schema-sql";
import { closeSqlHelpers, rootDb } from "../helpers/sql";

afterAll(closeSqlHelpers);

type Row = { object: string; comment: string | null };

function undocumented(rows: Row[]): string[] {
  const documented = (comment: string | null) =>
    comment !== null &&
    (comment.split("\n").some((line) => line.trim() !== "" && !line.trim().startsWith("@")) || /@behavior\s+-\*/.test(comment));
  return rows.filter((r) => !documented(r.comment)).map((r) => r.object);
}

describe("comment on every object", () => {
  it("documents every table, view and materialized view", async () => {
    const { rows } = await rootDb().query<Row>(
      `select format('%s %I.%I', case c.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end, n.nspname, c.relname) as object,
              obj_description(c.oid, 'pg_class') as comment
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm') order by 1`,
      [SCHEMAS],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(undocumented(rows)).toEqual([]);
  });

  it("documents every enum, domain and composite type", async () => {
    const { rows } = await rootDb().query<Row>(
      `select format('type %I.%I', n.nspname, t.typname) as object, obj_description(t.oid, 'pg_type') as comment
         from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = any($1)
          and (t.typtype in ('e', 'd') or (t.typtype = 'c' and (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c'))
        order by 1`,
      [SCHEMAS],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(undocumented(rows)).toEqual([]);
  });

  it("documents every function", async () => {
    const { rows } = await rootDb().query<Row>(
      `select format('function %s', p.oid::regprocedure) as object, obj_description(p.oid, 'pg_proc') as comment
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any($1)
          and not exists (select 1 from pg_depend e where e.classid = 'pg_proc'::regclass and e.objid = p.oid and e.deptype = 'e')
        order by 1`,
      [SCHEMAS],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(undocumented(rows)).toEqual([]);
  });

  it("documents every column of app_public's tables and views (they become GraphQL fields)", async () => {
    const { rows } = await rootDb().query<Row>(
      `select format('column %I.%I.%I', n.nspname, c.relname, a.attname) as object, col_description(c.oid, a.attnum) as comment
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where n.nspname = 'app_public' and c.relkind in ('r', 'p', 'v', 'm') order by 1`,
    );
    expect(rows.length).toBeGreaterThan(100);
    expect(undocumented(rows)).toEqual([]);
  });

  it("documents every field of app_public's composite types that GraphQL exposes", async () => {
    const { rows } = await rootDb().query<Row>(
      `select format('column %I.%I.%I', n.nspname, t.typname, a.attname) as object, col_description(t.typrelid, a.attnum) as comment
         from pg_type t join pg_namespace n on n.oid = t.typnamespace join pg_class c on c.oid = t.typrelid and c.relkind = 'c'
         join pg_attribute a on a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
        where n.nspname = 'app_public' and position('@behavior -*' in coalesce(obj_description(t.oid, 'pg_type'), '')) = 0
        order by 1`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(undocumented(rows)).toEqual([]);
  });
});

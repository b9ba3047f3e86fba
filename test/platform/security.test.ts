/**
 * Security rules that hold for every table and role, checked against the
 * catalog so that every table added later is covered automatically.
 */
import { asRole, closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";

afterAll(closeSqlHelpers);

const APP_SCHEMAS = ["app_public", "app_hidden", "app_private", "app_analytics"];

describe("row-level security", () => {
  it("is enabled, with at least one policy, on every table in app_public", async () => {
    const { rows } = await rootDb().query<{ table: string; rls: boolean; policies: number }>(
      `select c.relname as table, c.relrowsecurity as rls,
              (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'app_public' and c.relkind in ('r', 'p')`,
    );
    const offenders = rows.filter((r) => !r.rls || r.policies === 0).map((r) => r.table);
    expect(offenders).toEqual([]);
  });
});

describe("role privileges", () => {
  it("gives the API roles no way into app_private", async () => {
    for (const role of ["agora_authenticator", "anonymous", "authenticated", "analyst"]) {
      const { rows } = await rootDb().query("select has_schema_privilege($1, 'app_private', 'usage') as usage", [role]);
      expect({ role, usage: rows[0].usage }).toEqual({ role, usage: false });
    }
  });

  it("refuses the authenticator a read of app_private", async () => {
    const code = await sqlErrorCode(
      asRole({ role: "agora_authenticator" }, (c) => c.query("select app_private.add_job('x')")),
    );
    expect(code).toBe("42501"); // insufficient_privilege
  });

  it("lets anonymous write nothing anywhere", async () => {
    const { rows } = await rootDb().query<{ object: string }>(
      `select n.nspname || '.' || c.relname as object
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm')
          and (has_table_privilege('anonymous', c.oid, 'INSERT') or has_table_privilege('anonymous', c.oid, 'UPDATE')
            or has_table_privilege('anonymous', c.oid, 'DELETE') or has_table_privilege('anonymous', c.oid, 'TRUNCATE'))`,
      [APP_SCHEMAS],
    );
    expect(rows.map((r) => r.object)).toEqual([]);
    const created = await rootDb().query(
      `select n.nspname from pg_namespace n where n.nspname = any($1) and has_schema_privilege('anonymous', n.oid, 'CREATE')`,
      [[...APP_SCHEMAS, "public"]],
    );
    expect(created.rows).toEqual([]);
  });

  it("lets the analyst read app_analytics and nothing else", async () => {
    const { rows } = await rootDb().query<{ nspname: string }>(
      `select nspname from pg_namespace where has_schema_privilege('analyst', oid, 'usage')
          and nspname not in ('pg_catalog', 'information_schema', 'public') and nspname not like 'pg_toast%' and nspname not like 'pg_temp%'`,
    );
    expect(rows.map((r) => r.nspname)).toEqual(["app_analytics"]);
  });

  it("makes the authenticator NOINHERIT, so it has nothing until it switches role", async () => {
    const { rows } = await rootDb().query("select rolinherit, rolsuper from pg_roles where rolname = 'agora_authenticator'");
    expect(rows[0]).toEqual({ rolinherit: false, rolsuper: false });
  });

  it("grants no function to PUBLIC by default", async () => {
    const { rows } = await rootDb().query<{ fn: string }>(
      `select p.oid::regprocedure::text as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any($1) and has_function_privilege('anonymous', p.oid, 'execute')
          and n.nspname = 'app_private'`,
      [APP_SCHEMAS],
    );
    expect(rows).toEqual([]);
  });

  it("requires security-definer functions to pin their search_path", async () => {
    const { rows } = await rootDb().query<{ fn: string }>(
      `select p.oid::regprocedure::text as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any($1) and p.prosecdef
          and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) s where s like 'search_path=%')`,
      [APP_SCHEMAS],
    );
    expect(rows.map((r) => r.fn)).toEqual([]);
  });

  it("pins security-definer search_paths to schemas the API roles cannot create objects in", async () => {
    // A security-definer function runs as the owner: an object planted earlier
    // in its search_path by a caller would run with the owner's rights.
    const { rows } = await rootDb().query<{ fn: string; schema: string }>(
      `select p.oid::regprocedure::text as fn, trim(both ' "' from s) as schema
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace,
              unnest(coalesce(p.proconfig, '{}')) c, unnest(string_to_array(substr(c, length('search_path=') + 1), ',')) s
        where n.nspname = any($1) and p.prosecdef and c like 'search_path=%'`,
      [APP_SCHEMAS],
    );
    expect(rows.length).toBeGreaterThan(0);
    const unsafe = [];
    for (const { fn, schema } of rows) {
      if (schema === "$user" || schema === "pg_temp") {
        unsafe.push(`${fn}: ${schema}`);
        continue;
      }
      for (const role of ["agora_authenticator", "anonymous", "authenticated", "analyst"]) {
        const { rows: can } = await rootDb().query(
          "select has_schema_privilege($1, n.oid, 'CREATE') as create from pg_namespace n where n.nspname = $2",
          [role, schema],
        );
        if (can[0]?.create) unsafe.push(`${fn}: ${role} can create in ${schema}`);
      }
    }
    expect(unsafe).toEqual([]);
  });
});

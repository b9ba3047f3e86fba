/**
 * Reads the objects of the given schemas from the PostgreSQL catalog, already
 * deparsed by the server, for src/db/schema-sql.ts to print. The session's
 * search_path is set to pg_catalog so that every deparsed name outside
 * pg_catalog comes back schema-qualified. Objects that belong to an extension
 * are left out (the extension owns them).
 */
import type pg from "pg";

export type Acl = { grantee: string; privilege: string; grantable: boolean }[];

export interface Relation {
  schema: string;
  name: string;
  kind: "r" | "p" | "v" | "m" | "S";
  owner: string;
  persistence: string;
  options: string[];
  rls: boolean;
  forceRls: boolean;
  comment: string | null;
  viewDefinition: string | null;
  /** For sequences: the options after `create sequence <name>`. */
  sequence: string | null;
  acl: Acl;
  baseAcl: Acl;
  columns: {
    ident: string;
    type: string;
    collation: string | null;
    notNull: boolean;
    default: string | null;
    identity: string;
    generated: string;
    comment: string | null;
    acl: Acl;
  }[];
  constraints: { ident: string; definition: string; comment: string | null }[];
  policies: { ident: string; command: string; permissive: boolean; roles: string[]; using: string | null; withCheck: string | null; comment: string | null }[];
  indexes: { name: string; definition: string; comment: string | null }[];
  triggers: { ident: string; definition: string; enabled: string; comment: string | null }[];
}

export interface Catalog {
  schemas: { name: string; owner: string; comment: string | null; acl: Acl; baseAcl: Acl }[];
  defaultPrivileges: { role: string; schema: string | null; objectType: string; acl: Acl; baseAcl: Acl }[];
  types: {
    schema: string;
    name: string;
    kind: "e" | "d" | "c";
    owner: string;
    definition: string;
    comment: string | null;
    attributes: { ident: string; comment: string | null }[];
    acl: Acl;
    baseAcl: Acl;
  }[];
  relations: Relation[];
  functions: { schema: string; signature: string; kind: string; owner: string; definition: string; comment: string | null; acl: Acl; baseAcl: Acl }[];
}

/** `grantee, privilege, grantable` rows of an ACL, as JSON. */
const explode = (acl: string) => `(select coalesce(json_agg(json_build_object(
    'grantee', case when a.grantee = 0 then 'public' else pg_get_userbyid(a.grantee) end,
    'privilege', a.privilege_type, 'grantable', a.is_grantable)), '[]') from aclexplode(${acl}) a)`;

/**
 * The object's ACL and the ACL it had when created: the owner's default
 * privileges (alter default privileges) if any, else the built-in default.
 * `kind` is acldefault's letter, `defaultKind` pg_default_acl's (SQL expressions).
 */
const acls = (acl: string, owner: string, kind: string, defaultKind: string) => {
  const base = `coalesce((select d.defaclacl from pg_default_acl d where d.defaclrole = ${owner} and d.defaclnamespace = 0
                          and d.defaclobjtype = ${defaultKind}), acldefault(${kind}, ${owner}))`;
  return `${explode(`coalesce(${acl}, acldefault(${kind}, ${owner}))`)} as acl, ${explode(base)} as base_acl`;
};

const notInExtension = (catalog: string, oid: string) =>
  `not exists (select 1 from pg_depend e where e.classid = '${catalog}'::regclass and e.objid = ${oid} and e.deptype = 'e')`;

export async function readCatalog(client: pg.Client, schemas: string[], role: (name: string) => string): Promise<Catalog> {
  await client.query("set search_path to pg_catalog");
  const q = async <T>(sql: string): Promise<T[]> => (await client.query(sql, [schemas])).rows as T[];
  const fixAcl = (acl: Acl): Acl => acl.map((e) => ({ ...e, grantee: role(e.grantee) }));

  const schemaRows = await q<{ name: string; owner: string; comment: string | null; acl: Acl; base_acl: Acl }>(`
    select quote_ident(n.nspname) as name, pg_get_userbyid(n.nspowner) as owner, obj_description(n.oid, 'pg_namespace') as comment,
           ${acls("n.nspacl", "n.nspowner", "'n'", "'n'")}
      from pg_namespace n where n.nspname = any($1) order by array_position($1, n.nspname::text)`);

  const defaultRows = await q<{ role: string; schema: string | null; object_type: string; acl: Acl; base_acl: Acl }>(`
    select pg_get_userbyid(d.defaclrole) as role, quote_ident(n.nspname) as schema,
           case d.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences' when 'f' then 'functions'
                                when 'T' then 'types' when 'n' then 'schemas' end as object_type,
           ${explode("d.defaclacl")} as acl,
           case when d.defaclnamespace = 0
                then ${explode(`acldefault(case d.defaclobjtype when 'S' then 's' else d.defaclobjtype end, d.defaclrole)`)}
                else '[]'::json end as base_acl
      from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace
     where d.defaclnamespace = 0 or n.nspname = any($1)
     order by 1, 2 nulls first, 3`);

  const typeRows = await q<Catalog["types"][number] & { base_acl: Acl }>(`
    select n.nspname as schema, format('%I.%I', n.nspname, t.typname) as name, t.typtype as kind, pg_get_userbyid(t.typowner) as owner,
           case t.typtype
             when 'e' then format('create type %I.%I as enum (%s)', n.nspname, t.typname,
                    (select string_agg(quote_literal(e.enumlabel), ', ' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid))
             when 'd' then format('create domain %I.%I as %s', n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod))
                    || coalesce(' default ' || t.typdefault, '') || case when t.typnotnull then ' not null' else '' end
                    || coalesce((select string_agg(format(' constraint %I %s', c.conname, pg_get_constraintdef(c.oid, true)), '' order by c.conname)
                                   from pg_constraint c where c.contypid = t.oid and c.contype = 'c'), '')
             else format(E'create type %I.%I as (\\n%s\\n)', n.nspname, t.typname,
                    (select string_agg(format('  %I %s', a.attname, format_type(a.atttypid, a.atttypmod)), E',\\n' order by a.attnum)
                       from pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped))
           end as definition,
           obj_description(t.oid, 'pg_type') as comment,
           case when t.typtype = 'c' then (select json_agg(json_build_object('ident', quote_ident(a.attname), 'comment', col_description(t.typrelid, a.attnum)) order by a.attnum)
                                             from pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped)
                else '[]'::json end as attributes,
           ${acls("t.typacl", "t.typowner", "'T'", "'T'")}
      from pg_type t join pg_namespace n on n.oid = t.typnamespace
     where n.nspname = any($1) and ${notInExtension("pg_type", "t.oid")}
       and (t.typtype in ('e', 'd') or (t.typtype = 'c' and (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c'))
     order by array_position($1, n.nspname::text), t.typname`);

  // Relations, with their parts as JSON so that one query returns everything.
  const relationRows = await q<Relation & { base_acl: Acl; force_rls: boolean; view_definition: string | null }>(`
    select n.nspname as schema, format('%I.%I', n.nspname, c.relname) as name, c.relkind as kind, pg_get_userbyid(c.relowner) as owner,
           c.relpersistence as persistence, coalesce(c.reloptions, '{}') as options,
           c.relrowsecurity as rls, c.relforcerowsecurity as force_rls, obj_description(c.oid, 'pg_class') as comment,
           case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid, true) end as view_definition,
           (select format('as %s increment by %s minvalue %s maxvalue %s start with %s cache %s%s', format_type(s.seqtypid, null),
                          s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache, case when s.seqcycle then ' cycle' else '' end)
              from pg_sequence s where s.seqrelid = c.oid) as sequence,
           ${acls("c.relacl", "c.relowner", `(case when c.relkind = 'S' then 's' else 'r' end)::"char"`, `(case when c.relkind = 'S' then 'S' else 'r' end)::"char"`)},
           coalesce((select json_agg(json_build_object(
                        'ident', quote_ident(a.attname), 'type', format_type(a.atttypid, a.atttypmod),
                        'collation', case when a.attcollation <> ty.typcollation then (select format('%I.%I', cn.nspname, co.collname)
                                          from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace where co.oid = a.attcollation) end,
                        'notNull', a.attnotnull, 'default', pg_get_expr(ad.adbin, ad.adrelid),
                        'identity', a.attidentity, 'generated', a.attgenerated, 'comment', col_description(c.oid, a.attnum),
                        'acl', ${explode("a.attacl")}) order by a.attnum)
                       from pg_attribute a join pg_type ty on ty.oid = a.atttypid
                       left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
                      where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and c.relkind <> 'S'), '[]') as columns,
           coalesce((select json_agg(json_build_object('ident', quote_ident(k.conname), 'definition', pg_get_constraintdef(k.oid, true),
                                                       'comment', obj_description(k.oid, 'pg_constraint'))
                                     order by array_position(array['p', 'u', 'x', 'c', 'f']::"char"[], k.contype), k.conname)
                       from pg_constraint k where k.conrelid = c.oid and k.contype in ('p', 'u', 'x', 'c', 'f')), '[]') as constraints,
           coalesce((select json_agg(json_build_object(
                        'ident', quote_ident(p.polname),
                        'command', case p.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update' when 'd' then 'delete' else 'all' end,
                        'permissive', p.polpermissive,
                        'roles', (select array_agg(case when r = 0 then 'public' else pg_get_userbyid(r) end order by 1) from unnest(p.polroles) r),
                        'using', pg_get_expr(p.polqual, p.polrelid), 'withCheck', pg_get_expr(p.polwithcheck, p.polrelid),
                        'comment', obj_description(p.oid, 'pg_policy')) order by p.polname)
                       from pg_policy p where p.polrelid = c.oid), '[]') as policies,
           coalesce((select json_agg(json_build_object('name', format('%I.%I', n.nspname, ic.relname), 'definition', pg_get_indexdef(i.indexrelid),
                                                       'comment', obj_description(i.indexrelid, 'pg_class')) order by ic.relname)
                       from pg_index i join pg_class ic on ic.oid = i.indexrelid
                      where i.indrelid = c.oid and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid and k.conrelid = c.oid
                                                                   and k.contype in ('p', 'u', 'x'))), '[]') as indexes,
           coalesce((select json_agg(json_build_object('ident', quote_ident(t.tgname), 'definition', pg_get_triggerdef(t.oid, true),
                                                       'enabled', t.tgenabled, 'comment', obj_description(t.oid, 'pg_trigger')) order by t.tgname)
                       from pg_trigger t where t.tgrelid = c.oid and not t.tgisinternal), '[]') as triggers
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'S') and ${notInExtension("pg_class", "c.oid")}
       -- identity sequences are part of their column
       and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'i')
     order by array_position($1, n.nspname::text), c.relname`);

  const functionRows = await q<{ schema: string; signature: string; kind: string; owner: string; definition: string; comment: string | null; acl: Acl; base_acl: Acl }>(`
    select n.nspname as schema, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as signature,
           p.prokind as kind, pg_get_userbyid(p.proowner) as owner,
           case when p.prokind = 'a' then '-- aggregate: definition not printed' else pg_get_functiondef(p.oid) end as definition,
           obj_description(p.oid, 'pg_proc') as comment,
           ${acls("p.proacl", "p.proowner", "'f'", "'f'")}
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any($1) and ${notInExtension("pg_proc", "p.oid")}
     order by array_position($1, n.nspname::text), p.proname, pg_get_function_identity_arguments(p.oid)`);

  return {
    schemas: schemaRows.map((s) => ({ ...s, owner: role(s.owner), acl: fixAcl(s.acl), baseAcl: fixAcl(s.base_acl) })),
    defaultPrivileges: defaultRows.map((d) => ({
      role: role(d.role),
      schema: d.schema,
      objectType: d.object_type,
      acl: fixAcl(d.acl),
      baseAcl: fixAcl(d.base_acl),
    })),
    types: typeRows.map((t) => ({ ...t, owner: role(t.owner), acl: fixAcl(t.acl), baseAcl: fixAcl(t.base_acl) })),
    relations: relationRows.map((r) => ({
      ...r,
      owner: role(r.owner),
      forceRls: r.force_rls,
      viewDefinition: r.view_definition,
      acl: fixAcl(r.acl),
      baseAcl: fixAcl(r.base_acl),
      columns: r.columns.map((c) => ({ ...c, acl: fixAcl(c.acl) })),
      policies: r.policies.map((p) => ({ ...p, roles: p.roles.map(role).sort() })),
    })),
    functions: functionRows.map((f) => ({ ...f, owner: role(f.owner), acl: fixAcl(f.acl), baseAcl: fixAcl(f.base_acl) })),
  };
}

/**
 * Prints the current definition of every object in Agora's schemas, read from
 * the catalog, as one SQL file (schema.sql at the project root). Migrations say
 * how the schema got here; this file says what it is now, so a pull request
 * shows the real schema diff and "where is the rule for X" is one grep.
 *
 * pg_dump cannot do this here (the Debian client is 15, the server 18), so the
 * text is built with the server's own deparsers: pg_get_functiondef,
 * pg_get_constraintdef, pg_get_indexdef, pg_get_triggerdef, pg_get_viewdef,
 * pg_get_expr (defaults and policies) and aclexplode (grants).
 *
 * Output order is fixed: schemas in SCHEMAS order; in each, types, sequences,
 * tables, views, materialized views, functions, each sorted by name. A table's
 * block is: table → RLS → policies → grants → comments → indexes → triggers.
 * The session's search_path is pg_catalog alone, so every name the deparsers
 * print outside pg_catalog is schema-qualified, the same in every database.
 * Login role names differ per environment; they are printed as graphile-migrate
 * placeholders (:DATABASE_OWNER, :DATABASE_AUTHENTICATOR), as in migrations.
 * The file is a reading copy, not a restore script (statements are grouped by
 * object, not ordered by dependency).
 */
import pg from "pg";
import { readCatalog, type Acl, type Catalog, type Relation } from "./schema-catalog";

/** The schemas that hold Agora's objects, in the order they are printed. */
export const SCHEMAS = ["app_public", "app_hidden", "app_private", "app_analytics"];

const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;

function commentOn(kind: string, name: string, comment: string | null): string[] {
  return comment === null ? [] : [`comment on ${kind} ${name} is ${lit(comment)};`];
}

/** Privileges in the order Postgres lists them in an ACL. */
const PRIVILEGE_ORDER = ["INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN", "EXECUTE", "USAGE", "CREATE", "CONNECT", "TEMPORARY"];
const byPrivilege = (a: string, b: string) => PRIVILEGE_ORDER.indexOf(a) - PRIVILEGE_ORDER.indexOf(b);

/**
 * GRANT/REVOKE statements that turn `base` (the privileges a new object gets)
 * into `acl` (what it has). Grants to the owner are implied and not printed.
 */
function aclStatements(acl: Acl, base: Acl, target: string, owner: string): string[] {
  const key = (e: Acl[number]) => `${e.grantee}\u0000${e.privilege}\u0000${e.grantable}`;
  const baseKeys = new Set(base.map(key));
  const aclKeys = new Set(acl.map(key));
  const lines: string[] = [];
  const emit = (verb: "grant" | "revoke", entries: Acl) => {
    const grantees = [...new Set(entries.map((e) => e.grantee))].sort();
    for (const grantee of grantees) {
      if (grantee === owner && verb === "grant") continue;
      for (const grantable of [false, true]) {
        const privileges = entries.filter((e) => e.grantee === grantee && e.grantable === grantable).map((e) => e.privilege).sort(byPrivilege);
        if (privileges.length === 0) continue;
        const what = privileges.map((p) => p.toLowerCase()).join(", ");
        lines.push(
          verb === "grant"
            ? `grant ${what} on ${target} to ${grantee}${grantable ? " with grant option" : ""};`
            : `revoke ${what} on ${target} from ${grantee};`,
        );
      }
    }
  };
  emit("revoke", base.filter((e) => !aclKeys.has(key(e))));
  emit("grant", acl.filter((e) => !baseKeys.has(key(e))));
  return lines;
}

function columnGrants(rel: Relation): string[] {
  // One statement per grantee and privilege, naming the columns in table order.
  const byGrant = new Map<string, string[]>();
  for (const col of rel.columns) {
    for (const e of col.acl) {
      const k = `${e.grantee}\u0000${e.privilege}\u0000${e.grantable}`;
      byGrant.set(k, [...(byGrant.get(k) ?? []), col.ident]);
    }
  }
  return [...byGrant.entries()]
    .map(([k, cols]) => {
      const [grantee, privilege, grantable] = k.split("\u0000");
      return `grant ${privilege.toLowerCase()} (${cols.join(", ")}) on table ${rel.name} to ${grantee}${grantable === "true" ? " with grant option" : ""};`;
    })
    .sort();
}

function columnDefinition(col: Relation["columns"][number]): string {
  let text = `${col.ident} ${col.type}`;
  if (col.collation) text += ` collate ${col.collation}`;
  if (col.generated) text += ` generated always as (${col.default}) ${col.generated === "s" ? "stored" : "virtual"}`;
  else if (col.default !== null) text += ` default ${col.default}`;
  if (col.identity) text += ` generated ${col.identity === "a" ? "always" : "by default"} as identity`;
  if (col.notNull) text += " not null";
  return text;
}

function relationBlock(rel: Relation): string[] {
  const kind = { r: "table", p: "table", v: "view", m: "materialized view", S: "sequence" }[rel.kind] ?? "table";
  const out: string[] = [`-- ${kind} ${rel.name}`];
  const withOptions = rel.options.length ? ` with (${rel.options.join(", ")})` : "";
  if (rel.kind === "v" || rel.kind === "m") {
    out.push(`create ${kind} ${rel.name}${withOptions} as\n${rel.viewDefinition!.replace(/;\s*$/, "")};`);
  } else if (rel.kind === "S") {
    out.push(`create sequence ${rel.name} ${rel.sequence};`);
  } else {
    const body = [...rel.columns.map(columnDefinition), ...rel.constraints.map((c) => `constraint ${c.ident} ${c.definition}`)];
    const unlogged = rel.persistence === "u" ? "unlogged " : "";
    out.push(`create ${unlogged}table ${rel.name} (\n${body.map((l) => `  ${l}`).join(",\n")}\n)${withOptions};`);
  }
  if (rel.rls) out.push(`alter table ${rel.name} enable row level security;`);
  if (rel.forceRls) out.push(`alter table ${rel.name} force row level security;`);
  for (const p of rel.policies) {
    let text = `create policy ${p.ident} on ${rel.name}`;
    if (!p.permissive) text += " as restrictive";
    text += ` for ${p.command} to ${p.roles.join(", ")}`;
    if (p.using !== null) text += `\n  using (${p.using})`;
    if (p.withCheck !== null) text += `\n  with check (${p.withCheck})`;
    out.push(`${text};`);
  }
  out.push(...aclStatements(rel.acl, rel.baseAcl, `${kind === "sequence" ? "sequence" : "table"} ${rel.name}`, rel.owner));
  out.push(...columnGrants(rel));
  out.push(...commentOn(kind, rel.name, rel.comment));
  for (const col of rel.columns) out.push(...commentOn("column", `${rel.name}.${col.ident}`, col.comment));
  for (const c of rel.constraints) out.push(...commentOn("constraint", `${c.ident} on ${rel.name}`, c.comment));
  for (const p of rel.policies) out.push(...commentOn("policy", `${p.ident} on ${rel.name}`, p.comment));
  for (const i of rel.indexes) out.push(`${i.definition};`, ...commentOn("index", i.name, i.comment));
  for (const t of rel.triggers) {
    out.push(`${t.definition};`);
    if (t.enabled !== "O") out.push(`alter table ${rel.name} ${{ D: "disable", R: "enable replica", A: "enable always" }[t.enabled] ?? "enable"} trigger ${t.ident};`);
    out.push(...commentOn("trigger", `${t.ident} on ${rel.name}`, t.comment));
  }
  return out;
}

export async function printSchemaSql(db: { ownerUrl: string; authUrl: string }): Promise<string> {
  const roles = new Map([
    [decodeURIComponent(new URL(db.ownerUrl).username), ":DATABASE_OWNER"],
    [decodeURIComponent(new URL(db.authUrl).username), ":DATABASE_AUTHENTICATOR"],
  ]);
  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  let catalog: Catalog;
  try {
    catalog = await readCatalog(client, SCHEMAS, (role) => roles.get(role) ?? role);
  } finally {
    await client.end();
  }

  const blocks: string[][] = [
    [
      "-- The current definition of every object in Agora's schemas, read from the",
      "-- catalog. Generated by `npm run schema:export` (src/db/schema-sql.ts): do not",
      "-- edit; change migrations/current.sql and export again. A test fails when this",
      "-- file is stale. :DATABASE_OWNER and :DATABASE_AUTHENTICATOR stand for the",
      "-- owner and authenticator login roles, whatever they are called where you run.",
    ],
  ];
  const defaults = catalog.defaultPrivileges.flatMap((d) =>
    // A default-privileges entry has no owner to leave out: every difference is printed.
    aclStatements(d.acl, d.baseAcl, d.objectType, "").map(
      (statement) => `alter default privileges for role ${d.role}${d.schema ? ` in schema ${d.schema}` : ""} ${statement}`,
    ),
  );
  if (defaults.length) blocks.push(["-- Default privileges: what objects created from now on get", ...defaults]);
  for (const schema of catalog.schemas) {
    const rule = `-- ${"=".repeat(76)}`;
    blocks.push([
      rule,
      `-- schema ${schema.name}`,
      rule,
      `create schema ${schema.name};`,
      ...aclStatements(schema.acl, schema.baseAcl, `schema ${schema.name}`, schema.owner),
      ...commentOn("schema", schema.name, schema.comment),
    ]);
    for (const t of catalog.types.filter((t) => t.schema === schema.name)) {
      const kind = t.kind === "d" ? "domain" : "type";
      blocks.push([
        `-- ${t.kind === "e" ? "enum" : kind} ${t.name}`,
        `${t.definition};`,
        ...aclStatements(t.acl, t.baseAcl, `${kind} ${t.name}`, t.owner),
        ...commentOn(kind, t.name, t.comment),
        ...t.attributes.flatMap((a) => commentOn("column", `${t.name}.${a.ident}`, a.comment)),
      ]);
    }
    const order = ["S", "r", "p", "v", "m"];
    const relations = catalog.relations
      .filter((r) => r.schema === schema.name)
      .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || (a.name < b.name ? -1 : 1));
    for (const rel of relations) blocks.push(relationBlock(rel));
    for (const f of catalog.functions.filter((f) => f.schema === schema.name)) {
      const kind = f.kind === "p" ? "procedure" : f.kind === "a" ? "aggregate" : "function";
      blocks.push([
        `-- ${kind} ${f.signature}`,
        `${f.definition.trimEnd()};`,
        ...aclStatements(f.acl, f.baseAcl, `${kind} ${f.signature}`, f.owner),
        ...commentOn(kind, f.signature, f.comment),
      ]);
    }
  }
  return `${blocks.map((b) => b.join("\n")).join("\n\n")}\n`;
}

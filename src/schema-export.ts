/**
 * Writes the two schema artifacts at the project root, each checked for
 * staleness by a test:
 * - schema.graphql: the live GraphQL schema (sorted, so diffs are stable);
 *   client developers generate code from it;
 * - schema.sql: the current definition of every database object
 *   (src/db/schema-sql.ts); reviewers read the real schema diff in it.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { postgraphile } from "postgraphile";
import { lexicographicSortSchema, printSchema } from "postgraphile/graphql";
import { claimsOfAuthorization, makeTokenService } from "./auth/jwt";
import { makeAuthService } from "./auth/sessions";
import type { DatabaseConnections } from "./db/connections";
import { printSchemaSql } from "./db/schema-sql";
import { PROJECT_ROOT } from "./paths";
import { makePreset } from "../plugins/preset";
import { makeRealtimePlugins } from "../plugins/realtime";

export const SCHEMA_FILE = path.join(PROJECT_ROOT, "schema.graphql");
export const SCHEMA_SQL_FILE = path.join(PROJECT_ROOT, "schema.sql");

export async function printLiveSchema(db: Pick<DatabaseConnections, "authUrl">): Promise<string> {
  const pool = new pg.Pool({ connectionString: db.authUrl, max: 2 });
  // Token signing plays no part in the schema's shape: a throwaway key will do.
  const tokens = makeTokenService({
    algorithm: "HS256",
    secret: randomBytes(32).toString("hex"),
    privateKeyFile: null,
    publicKeyFile: null,
    keyId: null,
    issuer: "schema",
    audience: "schema",
    accessTokenTtlSeconds: 60,
  });
  const pgl = postgraphile(
    makePreset({
      pool,
      claimsOf: (authorization) => claimsOfAuthorization(tokens, authorization),
      auth: makeAuthService(pool, tokens),
      ruru: false,
      logError: () => undefined,
      // The subscriptions' types belong in the schema clients generate code from (no events flow here).
      extend: [{ plugins: makeRealtimePlugins({ subscriber: () => null }) }],
    }),
  );
  try {
    const schema = await pgl.getSchema();
    return `${printSchema(lexicographicSortSchema(schema))}\n`;
  } finally {
    await pgl.release();
    await pool.end();
  }
}

export async function exportSchema(db: Pick<DatabaseConnections, "authUrl" | "ownerUrl">): Promise<string[]> {
  fs.writeFileSync(SCHEMA_FILE, await printLiveSchema(db));
  fs.writeFileSync(SCHEMA_SQL_FILE, await printSchemaSql(db));
  return [SCHEMA_FILE, SCHEMA_SQL_FILE];
}

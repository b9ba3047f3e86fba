/**
 * SQL-level test helpers: run statements as a given role and user inside a
 * transaction that always rolls back, exactly as a request would run
 * (role switched, verified claims in jwt.claims.*).
 */
import pg from "pg";
import { testDatabase } from "./testDatabase";

let rootPool: pg.Pool | null = null;

/** Superuser pool on the test database: for arranging data and reading the catalog. */
export function rootDb(): pg.Pool {
  rootPool ??= new pg.Pool({ connectionString: testDatabase().rootUrl, max: 4 });
  return rootPool;
}

export async function closeSqlHelpers(): Promise<void> {
  await rootPool?.end();
  rootPool = null;
}

export type DbRole = "anonymous" | "authenticated" | "analyst" | "agora_authenticator" | "agora_owner";

export interface As {
  role: DbRole;
  userId?: string | null;
  sessionId?: string | null;
}

/**
 * Runs `fn` in a transaction as `as.role` with the user's claims set, then
 * rolls back whatever happened. Errors from `fn` propagate (after rollback).
 * `settings`: platform settings (app_private.settings) to change first, in
 * that transaction only.
 */
export async function asRole<T>(
  as: As,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: { settings?: Record<string, unknown> } = {},
): Promise<T> {
  const client = await rootDb().connect();
  try {
    await client.query("begin");
    // Platform settings changed for this transaction only: never committed,
    // so test files running beside this one keep the real limits.
    for (const [key, value] of Object.entries(options.settings ?? {})) {
      const { rowCount } = await client.query("update app_private.settings set value = $2::jsonb where key = $1", [key, JSON.stringify(value)]);
      if (rowCount !== 1) throw new Error(`No platform setting ${key}`);
    }
    await client.query(
      `select set_config('role', $1, true),
              set_config('jwt.claims.sub', coalesce($2, ''), true),
              set_config('jwt.claims.sid', coalesce($3, ''), true)`,
      [as.role, as.userId ?? null, as.sessionId ?? null],
    );
    return await fn(client);
  } finally {
    await client.query("rollback").catch(() => undefined);
    client.release();
  }
}

/** The SQLSTATE of the error `promise` rejects with (fails the test if it resolves). */
export async function sqlErrorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return String((error as { code?: string }).code);
  }
  throw new Error("expected the statement to fail, but it succeeded");
}

/** Runs `fn` in a savepoint so a failing statement does not abort the surrounding test transaction. */
export async function inSavepoint<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query("savepoint t");
  try {
    const result = await fn();
    await client.query("release savepoint t");
    return result;
  } catch (error) {
    await client.query("rollback to savepoint t");
    throw error;
  }
}

/**
 * Arranges rows as the superuser in one committed transaction, with posting
 * limits off (`agora.bulk_load`, as a seed would): for test fixtures.
 */
export async function bulkLoad<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await rootDb().connect();
  try {
    await client.query("begin");
    await client.query("set local agora.bulk_load = 'on'");
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Settings of database sessions and of a request's transaction.
 *
 * Deadlines carried by database sessions (docs/limits.md, "Deadlines"): set
 * as libpq startup options in the connection string, so they hold for the
 * whole session, also after the per-request `set role` (which `alter role …
 * set` would not: it applies only at login, and the API logs in as the
 * authenticator).
 */
import type { LimitsConfig } from "../config";

/** A connection string whose sessions start with these settings. */
export function withSessionSettings(url: string, settings: Record<string, string | number>): string {
  const parsed = new URL(url);
  const extra = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(" ");
  const existing = parsed.searchParams.get("options");
  parsed.searchParams.set("options", existing ? `${existing} ${extra}` : extra);
  return parsed.toString();
}

/** The API's pool (authenticator → anonymous/authenticated). */
export const apiSessionUrl = (url: string, limits: LimitsConfig) =>
  withSessionSettings(url, {
    statement_timeout: limits.statementTimeoutMs,
    idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
  });

/** The owner's pool and graphile-worker: longer statements (auth service, jobs). Migrations use neither. */
export const ownerSessionUrl = (url: string, limits: LimitsConfig) =>
  withSessionSettings(url, {
    statement_timeout: limits.ownerStatementTimeoutMs,
    idle_in_transaction_session_timeout: limits.idleInTransactionTimeoutMs,
  });

/**
 * Applies a request's settings (role, jwt.claims.*) to the current
 * transaction only, as PostGraphile does for every GraphQL request: $1 is a
 * JSON array of [name, value] pairs. For routes that talk to the database
 * outside GraphQL (file uploads) and the bench's hand-written endpoint.
 */
export const SET_TRANSACTION_SETTINGS = "select set_config(el->>0, el->>1, true) from json_array_elements($1::json) el";

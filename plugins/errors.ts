/**
 * What a client sees when something fails.
 *
 * Errors raised in SQL with one of our five-character SQLSTATEs (listed in
 * the README's error table) reach the client with their message and
 * `extensions.code`. A few standard PostgreSQL errors map to stable codes.
 * Anything else is masked: the client gets an error id, the log gets the
 * detail. No SQL or stack trace ever reaches a response.
 */
import { randomUUID } from "node:crypto";
import { GraphQLError } from "postgraphile/graphql";

/** Standard SQLSTATEs we translate, with the message a client can show. */
const STANDARD: Record<string, { code: string; message?: string }> = {
  "23505": { code: "NUNIQ", message: "That value is already taken" },
  "23503": { code: "INVAL", message: "A referenced record does not exist" },
  "23514": { code: "INVAL" },
  "23502": { code: "INVAL", message: "A required value is missing" },
  "22001": { code: "INVAL", message: "A value is too long" },
  "22P02": { code: "INVAL", message: "A value has the wrong format" },
  "22007": { code: "INVAL", message: "A date or time has the wrong format" },
  "22008": { code: "INVAL", message: "A date or time is out of range" },
  "22003": { code: "INVAL", message: "A number is out of range" },
  "42501": { code: "FORBD", message: "You are not allowed to do that" },
  "57014": { code: "TIMEO", message: "The request took too long and was cancelled (DB_STATEMENT_TIMEOUT_MS)" },
};

/** Our own codes: five upper-case letters (SQLSTATE classes are digits first). */
const OWN_CODE = /^[A-Z]{5}$/;

interface PgLikeError {
  code?: unknown;
  message?: unknown;
  constraint?: unknown;
  detail?: unknown;
}

/** An error a plugin throws on purpose: the client sees its message and code. */
export function codedError(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { extensions: { code, ...extra } });
}

/** Our SQL may put a JSON object in DETAIL (e.g. {"retryAfterSeconds": 30}); it becomes extensions. */
function detailExtensions(detail: unknown): Record<string, unknown> {
  if (typeof detail !== "string" || !detail.startsWith("{")) return {};
  try {
    const parsed = JSON.parse(detail) as unknown;
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export type ErrorLogger = (details: { errorId: string; error: unknown }) => void;

export function makeMaskError(logError: ErrorLogger) {
  return function maskError(error: GraphQLError): GraphQLError {
    const original = error.originalError as (Error & PgLikeError) | undefined;
    if (!original || original instanceof GraphQLError) {
      return error; // parse/validation errors and the like: already safe
    }
    const sqlState = typeof original.code === "string" ? original.code : null;
    if (sqlState && OWN_CODE.test(sqlState)) {
      return new GraphQLError(String(original.message), {
        nodes: error.nodes,
        positions: error.positions,
        path: error.path,
        extensions: { ...detailExtensions(original.detail), code: sqlState },
      });
    }
    const standard = sqlState ? STANDARD[sqlState] : undefined;
    if (standard) {
      const message =
        standard.message ??
        (typeof original.constraint === "string" ? `Invalid value (${original.constraint})` : "Invalid value");
      return new GraphQLError(message, {
        nodes: error.nodes,
        positions: error.positions,
        path: error.path,
        extensions: { code: standard.code },
      });
    }
    if (/^No values were deleted in collection/.test(String(original.message))) {
      // A delete RLS hid, or of a row that does not exist: the client cannot tell which, by design.
      // (Updates answer null instead of throwing; plugins/not-found.ts gives them the same code.)
      return new GraphQLError("Not found, or you may not change it", {
        nodes: error.nodes,
        positions: error.positions,
        path: error.path,
        extensions: { code: "NOTFD" },
      });
    }
    const safeExtensions = (original as { extensions?: Record<string, unknown> }).extensions;
    if (safeExtensions && typeof safeExtensions.code === "string" && OWN_CODE.test(safeExtensions.code)) {
      return error; // thrown deliberately by our plugins with a stable code
    }
    const errorId = randomUUID();
    logError({ errorId, error: original });
    return new GraphQLError(`An unexpected error occurred (id ${errorId})`, {
      nodes: error.nodes,
      positions: error.positions,
      path: error.path,
      extensions: { code: "INTERNAL", errorId },
    });
  };
}

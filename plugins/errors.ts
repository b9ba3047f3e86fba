/**
 * What a client sees when something fails.
 *
 * One function, classifyError, decides for every error whether the client
 * caused it (a code and a message it can act on; logged at info level,
 * without a stack) or the server did (masked as INTERNAL: the client gets an
 * error id, the log gets the detail at error level). No SQL or stack trace
 * ever reaches a response.
 *
 * Client errors are:
 * - SQL errors with one of our five-letter SQLSTATEs (listed in docs/errors.md);
 * - standard SQLSTATEs of class 22 (data exception: a value of the wrong
 *   format, out of range, a negative `first`/`offset` …) and class 23
 *   (integrity constraint violation), with fixed messages;
 * - errors our plugins throw with codedError();
 * - Grafast's SafeErrors: input it refuses before any SQL runs (a cursor from
 *   another ordering, `offset` with `last`, an empty patch …).
 */
import { randomUUID } from "node:crypto";
import { isSafeError } from "postgraphile/grafast";
import { GraphQLError } from "postgraphile/graphql";

/** Standard SQLSTATEs with a code and the message a client can show. */
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
  "22004": { code: "INVAL", message: "A required value is missing" },
  "2201W": { code: "INVAL", message: "first and last must not be negative" },
  "2201X": { code: "INVAL", message: "offset must not be negative" },
  "42501": { code: "FORBD", message: "You are not allowed to do that" },
  "57014": { code: "TIMEO", message: "The request took too long and was cancelled (DB_STATEMENT_TIMEOUT_MS)" },
};

/** Whole SQLSTATE classes that are the client's doing, with a fallback message. */
const CLIENT_CLASSES: Record<string, { code: string; message: string }> = {
  "22": { code: "INVAL", message: "A value is not valid" }, // data exception
  "23": { code: "INVAL", message: "The change conflicts with existing data" }, // integrity constraint violation
};

/** Our own codes: five upper-case letters (SQLSTATE classes are digits first). */
const OWN_CODE = /^[A-Z]{5}$/;

interface PgLikeError {
  code?: unknown;
  message?: unknown;
  constraint?: unknown;
  detail?: unknown;
  table?: unknown;
  column?: unknown;
  routine?: unknown;
  extensions?: Record<string, unknown>;
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

/** The client's answer to an error it caused. */
export interface ClientError {
  code: string;
  message: string;
  /** Extra machine-readable fields (e.g. retryAfterSeconds); `code` is added. */
  extensions?: Record<string, unknown>;
  /** The PostgreSQL SQLSTATE behind it, for the log. */
  sqlState?: string;
}

/** Decides whether the client caused an error, and what it is told; null means a server fault. */
export function classifyError(original: Error & PgLikeError): ClientError | null {
  const sqlState = typeof original.code === "string" ? original.code : undefined;
  if (sqlState && OWN_CODE.test(sqlState)) {
    return { code: sqlState, message: String(original.message), extensions: detailExtensions(original.detail), sqlState };
  }
  if (sqlState && /^[0-9A-Z]{5}$/.test(sqlState)) {
    const known = STANDARD[sqlState];
    if (known) {
      const message =
        known.message ?? (typeof original.constraint === "string" ? `Invalid value (${original.constraint})` : "Invalid value");
      return { code: known.code, message, sqlState };
    }
    const byClass = CLIENT_CLASSES[sqlState.slice(0, 2)];
    if (byClass) return { ...byClass, sqlState };
  }
  if (/^No values were deleted in collection/.test(String(original.message))) {
    // A delete RLS hid, or of a row that does not exist: the client cannot tell which, by design.
    // (Updates answer null instead of throwing; plugins/not-found.ts gives them the same code.)
    return { code: "NOTFD", message: "Not found, or you may not change it" };
  }
  const extensions = original.extensions;
  if (extensions && typeof extensions.code === "string" && OWN_CODE.test(extensions.code)) {
    return { code: extensions.code, message: String(original.message), extensions }; // codedError()
  }
  if (isSafeError(original)) {
    // Grafast refusing input (cursor, offset with last, empty patch …): its message is meant for clients.
    return { code: "INVAL", message: original.message };
  }
  return null;
}

/** Where the mask writes: a client error at info level, a server fault at error level. */
export type ErrorLogger = (level: "info" | "error", fields: Record<string, unknown>, message: string) => void;

export function makeMaskError(log: ErrorLogger) {
  return function maskError(error: GraphQLError): GraphQLError {
    const original = error.originalError as (Error & PgLikeError) | undefined;
    if (!original || original instanceof GraphQLError) {
      // Parse/validation errors, a variable of the wrong type and the like: safe to show, and the client's: INVAL unless coded.
      return typeof error.extensions?.code === "string"
        ? error
        : new GraphQLError(error.message, { nodes: error.nodes, positions: error.positions, path: error.path, originalError: original, extensions: { ...error.extensions, code: "INVAL" } });
    }
    const where = { nodes: error.nodes, positions: error.positions, path: error.path };
    const client = classifyError(original);
    if (client) {
      // The client's own message, never PostgreSQL's (it can quote the value sent, e.g. a token); where
      // PostgreSQL raised it, what it names (table, column, constraint, C routine), to find a server-side cause.
      const { table, column, constraint, routine } = original;
      log(
        "info",
        { code: client.code, sqlState: client.sqlState, reason: client.message, path: error.path, table, column, constraint, routine },
        "client error",
      );
      return new GraphQLError(client.message, { ...where, extensions: { ...client.extensions, code: client.code } });
    }
    const errorId = randomUUID();
    log("error", { err: original, errorId }, "masked GraphQL error");
    return new GraphQLError(`An unexpected error occurred (id ${errorId})`, {
      ...where,
      extensions: { code: "INTERNAL", errorId },
    });
  };
}

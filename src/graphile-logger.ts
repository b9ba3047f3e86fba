/**
 * Routes graphile-worker's and graphile-migrate's logs into our pino logger.
 * Each package brings its own version of @graphile/logger's Logger class, so
 * this returns the log factory both accept: `new TheirLogger(pinoLogFactory(…))`.
 */
import type { Logger } from "./logger";
import { describeDbError } from "./db/pool";

type Meta = Record<string, unknown> | undefined;

export function pinoLogFactory(logger: Logger, component: string) {
  const log = logger.child({ component });
  return (scope: object) => (level: string, message: string, meta?: Meta) => {
    const fields: Record<string, unknown> = { ...scope, ...(meta ?? {}) };
    // Job payloads may carry single-use tokens and addresses: never log them.
    const job = fields.job as { id?: unknown; task_identifier?: unknown; attempts?: unknown } | undefined;
    if (job && typeof job === "object") fields.job = { id: job.id, task: job.task_identifier, attempts: job.attempts };
    // A pool's error carries its `pg` client (kilobytes of internal state, e.g.
    // graphile-migrate's "An error occurred in the PgPool"): keep message and code.
    const error = fields.error as { client?: unknown } | undefined;
    if (error && typeof error === "object" && "client" in error) fields.error = describeDbError(error);
    if (level === "error") log.error(fields, message);
    else if (level === "warning") log.warn(fields, message);
    else if (level === "info") log.info(fields, message);
    else log.debug(fields, message);
  };
}

/**
 * For the db:* commands, where a person reads the terminal: graphile-migrate's
 * own messages as plain lines (e.g. "Error occurred at line 2, column 56 of
 * current.sql" with the offending lines), without JSON or stack traces.
 */
export function plainLogFactory() {
  return () => (level: string, message: string, meta?: Meta) => {
    const error = meta?.error as { _gmMessageOverride?: unknown } | undefined;
    const text = typeof error?._gmMessageOverride === "string" ? error._gmMessageOverride : message;
    const readable = text
      .split("\n")
      .filter((line) => !/^\s+at /.test(line))
      .join("\n")
      .trim();
    if (level === "error" || level === "warning") console.error(readable);
    else if (level === "info") console.log(readable);
  };
}

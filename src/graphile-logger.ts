/**
 * Routes graphile-worker's and graphile-migrate's logs into our pino logger.
 * Each package brings its own version of @graphile/logger's Logger class, so
 * this returns the log factory both accept: `new TheirLogger(pinoLogFactory(…))`.
 */
import type { Logger } from "./logger";

type Meta = Record<string, unknown> | undefined;

export function pinoLogFactory(logger: Logger, component: string) {
  const log = logger.child({ component });
  return (scope: object) => (level: string, message: string, meta?: Meta) => {
    const fields = { ...scope, ...(meta ?? {}) };
    if (level === "error") log.error(fields, message);
    else if (level === "warning") log.warn(fields, message);
    else if (level === "info") log.info(fields, message);
    else log.debug(fields, message);
  };
}

/**
 * Our connection pools: named, with one short log line per client error
 * (which pool, the error's message and SQLSTATE — never the `pg` client
 * object), and an end that waits until every connection is really closed.
 *
 * `pool.end()` resolves once the pool has *asked* its clients to close; the
 * sockets close a moment later. Stopping PostgreSQL in that moment makes it
 * answer the still-open sessions with "terminating connection due to
 * administrator command". `endPool` waits for the sockets too, so a database
 * stopped after it sees no client left.
 */
import pg from "pg";
import type { Logger } from "../logger";

const liveClients = new WeakMap<pg.Pool, Set<pg.Client>>();

/** The loggable part of a database error: message and SQLSTATE. */
export function describeDbError(error: unknown): { message: string; code?: string } {
  const e = error as { message?: unknown; code?: unknown };
  return {
    message: typeof e?.message === "string" ? e.message : String(error),
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
  };
}

/** Starts tracking a pool's connections and logging their errors under `name`. */
export function managePool(pool: pg.Pool, name: string, logger: Logger): pg.Pool {
  const clients = new Set<pg.Client>();
  liveClients.set(pool, clients);
  const onError = (error: Error) => logger.warn({ pool: name, error: describeDbError(error) }, "database connection error");
  // Errors of idle clients reach both the client and the pool: log them once
  // (from the client, which also covers checked-out clients), and keep a pool
  // listener so that an idle client's error never becomes an uncaught exception.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => {
    clients.add(client);
    client.on("error", onError);
    client.once("end", () => clients.delete(client));
  });
  return pool;
}

export function makePool(options: { name: string; connectionString: string; max: number; logger: Logger }): pg.Pool {
  return managePool(new pg.Pool({ connectionString: options.connectionString, max: options.max }), options.name, options.logger);
}

/** Ends the pool and resolves once every one of its connections has closed. */
export async function endPool(pool: pg.Pool): Promise<void> {
  if (!pool.ended && !pool.ending) await pool.end();
  const clients = liveClients.get(pool);
  if (!clients) return;
  await Promise.all([...clients].map((client) => new Promise<void>((resolve) => {
    if (!clients.has(client)) return resolve();
    client.once("end", () => resolve());
  })));
}

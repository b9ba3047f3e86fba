/**
 * Records every SQL statement the API's pool sends while a callback runs, so
 * tests can count the statements one GraphQL request issues (N+1 checks) and
 * EXPLAIN exactly the SQL PostGraphile generated.
 */
import type pg from "pg";

export interface Statement {
  text: string;
  values: unknown[];
}

/**
 * The transaction and settings wrapper PostGraphile puts around each request,
 * and the edge's rate-limit check that precedes it (one per request, outside
 * the transaction; see docs/observability.md); also the setup @dataplan/pg
 * sends once on each new pooled connection.
 */
export const isWrapper = (s: Statement) =>
  /^\s*(begin|commit|rollback)\b/i.test(s.text) ||
  /set_config\(/i.test(s.text) ||
  /\bapp_hidden\.take_rate_limit\(/.test(s.text) ||
  // @dataplan/pg's once-per-connection setup, sent when the pool opens a new connection (adaptors/pg.js).
  /^\s*set jit_optimize_above_cost\b/i.test(s.text);

export function recordStatements(pool: pg.Pool) {
  const log: Statement[] = [];
  let recording = false;
  const wrapped = new WeakSet<object>();
  pool.on("acquire", (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      if (recording) {
        const [first, second] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
        log.push(typeof first === "string" ? { text: first, values: second ?? [] } : { text: first.text, values: first.values ?? [] });
      }
      return original(...args);
    };
  });
  return {
    /** Runs fn and returns the statements sent meanwhile. */
    async during(fn: () => Promise<unknown>): Promise<Statement[]> {
      log.length = 0;
      recording = true;
      try {
        await fn();
      } finally {
        recording = false;
      }
      return [...log];
    },
  };
}

/** The statements that read or write data (not begin/commit/set_config). */
export const dataStatements = (statements: Statement[]) => statements.filter((s) => !isWrapper(s));

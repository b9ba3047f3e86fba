/**
 * The benchmark's yardstick: a minimal hand-written endpoint per scenario,
 * `POST /bench/<scenario>` with `{ "params": [...] }`, mounted in the same
 * server behind the same edge (logging, helmet, rate limit, bearer check),
 * and counted against the same shared budget as the scenario's GraphQL
 * operation (one `take_rate_limit` call, as src/server/rate-limit.ts does
 * for every GraphQL operation).
 * It runs the scenario's SQL through the same pool, role and settings and
 * the same transaction wrapper PostGraphile uses (begin; set_config from
 * JSON; query as a prepared statement; commit), renders markdown like the
 * API, and answers JSON.
 * Login and refresh go through the same auth service as the API.
 */
import path from "node:path";
import v8 from "node:v8";
import express, { type Router } from "express";
import type pg from "pg";
import type { AuthService } from "../src/auth/sessions";
import { bucketFor, classifyOperation, enforce, type RateLimiter } from "../src/server/rate-limit";
import { renderMarkdown } from "../plugins/render-markdown";
import { clientOf, requestSettings } from "../plugins/preset";
import { SET_TRANSACTION_SETTINGS } from "../src/db/session-settings";
import { SCENARIOS, type Scenario } from "./scenarios";

async function runAsViewer(pool: pg.Pool, scenario: Scenario, settings: Record<string, string>, params: unknown[]) {
  const client = await pool.connect();
  try {
    await client.query("begin");
    try {
      await client.query(SET_TRANSACTION_SETTINGS, [JSON.stringify(Object.entries(settings))]);
      // A named (prepared) statement, as PostGraphile sends its queries: planned once per connection.
      const { rows } = await client.query({ name: `bench_${scenario.name}`, text: scenario.sql, values: params });
      await client.query("commit");
      for (const column of scenario.markdown ?? []) {
        for (const row of rows) row[`${column}_html`] = renderMarkdown(row[column]);
      }
      if (scenario.pageSize === undefined) return rows;
      return { rows: rows.slice(0, scenario.pageSize), hasNextPage: rows.length > scenario.pageSize };
    } catch (error) {
      await client.query("rollback");
      throw error;
    }
  } finally {
    client.release();
  }
}

export function benchRouter(deps: { authPool: pg.Pool; auth: AuthService; limiter: RateLimiter }): Router {
  const router = express.Router();
  const byName = new Map(SCENARIOS.map((s) => [s.name, s]));
  // The memory benchmarks: a full garbage collection (the server runs with --expose-gc), then the process's memory.
  router.post("/bench-gc", (req: express.Request, res: express.Response) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return void res.status(404).json({ errors: [{ message: "start the server with --expose-gc", extensions: { code: "NOTFD" } }] });
    gc();
    gc();
    // ?snapshot=<dir>: also a heap snapshot there (to see what the memory is made of).
    const dir = typeof req.query.snapshot === "string" ? req.query.snapshot : null;
    const snapshot = dir ? v8.writeHeapSnapshot(path.join(dir, `api-${Date.now()}.heapsnapshot`)) : null;
    res.json({ ...process.memoryUsage(), snapshot });
  });
  router.post("/bench/:scenario", express.json(), async (req, res) => {
    const scenario = byName.get(String(req.params.scenario));
    const params: unknown[] = Array.isArray(req.body?.params) ? req.body.params : [];
    if (!scenario) {
      res.status(404).json({ errors: [{ message: "No such scenario", extensions: { code: "NOTFD" } }] });
      return;
    }
    try {
      const client = clientOf(req);
      // The class the scenario's GraphQL document is counted in (read, search, write or auth).
      const { bucket, key } = bucketFor(classifyOperation(scenario.graphql), req.auth, client.ip);
      await enforce(deps.limiter, bucket, key, res);
      let data: unknown;
      if (scenario.identity === "login") {
        data = await deps.auth.login({ identifier: String(params[0]), password: String(params[1]) }, client);
      } else if (scenario.identity === "refresh") {
        data = await deps.auth.refresh({ refreshToken: String(params[0]) }, client);
      } else {
        data = await runAsViewer(deps.authPool, scenario, requestSettings(req.auth, client), params);
      }
      res.json({ data });
    } catch (error) {
      const extensions = (error as { extensions?: { code?: string; statusCode?: number } }).extensions;
      const code = extensions?.code ?? (error as { code?: string }).code;
      res.status(extensions?.statusCode ?? 400).json({ errors: [{ message: error instanceof Error ? error.message : String(error), extensions: { code } }] });
    }
  });
  return router;
}

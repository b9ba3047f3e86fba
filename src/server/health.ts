/**
 * Health endpoints for orchestrators.
 * - /health/live: 200 while the process runs.
 * - /health/ready: 200 only when the database answers, every committed
 *   migration is applied and the worker (if this process runs one) is
 *   running, and the realtime LISTEN connection is up (it reconnects by
 *   itself); otherwise 503 naming the failing checks.
 */
import { Router } from "express";
import type pg from "pg";
import { pendingMigrationProblem } from "../db/migrate";

export interface ReadinessSources {
  authPool: pg.Pool;
  ownerPool: pg.Pool;
  worker: { isRunning(): boolean } | null;
  /** The realtime LISTEN connection (src/realtime/listener.ts). */
  realtime?: { connected: boolean; reconnects: number; lastError: string | null };
  isShuttingDown(): boolean;
}

type Check = { ok: true } | { ok: false; error: string };

const TIMEOUT_MS = 2000;

async function check(fn: () => Promise<string | null>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
    });
    const problem = await Promise.race([fn(), timeout]);
    return problem === null ? { ok: true } : { ok: false, error: problem };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(sources: ReadinessSources): Router {
  const router = Router();
  router.get("/health/live", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/health/ready", async (_req, res) => {
    const checks: Record<string, Check> = {
      database: await check(async () => {
        await sources.authPool.query("select 1");
        return null;
      }),
      migrations: await check(() => pendingMigrationProblem(sources.ownerPool)),
    };
    if (sources.worker) {
      checks.worker = sources.worker.isRunning() ? { ok: true } : { ok: false, error: "worker is not running" };
    }
    if (sources.realtime) {
      checks.realtime = sources.realtime.connected
        ? { ok: true }
        : { ok: false, error: `LISTEN connection down (reconnecting): ${sources.realtime.lastError ?? "not connected"}` };
    }
    if (sources.isShuttingDown()) checks.shutdown = { ok: false, error: "shutting down" };
    const failing = Object.keys(checks).filter((name) => !checks[name].ok);
    res.status(failing.length ? 503 : 200).json({ status: failing.length ? "unavailable" : "ok", failing, checks });
  });
  return router;
}

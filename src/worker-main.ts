/** `npm run worker`: graphile-worker alone, for a production split of API and worker. */
import "./runtime";
import pg from "pg";
import { loadConfigOrExit } from "./config";
import { makeLogger } from "./logger";
import { openDatabase } from "./db/connections";
import { startWorker } from "./worker/runner";
import { listenMetrics, makeMetrics } from "./server/metrics";
import { ownerSessionUrl } from "./db/session-settings";
import { onShutdownSignal } from "./signals";

async function main() {
  const config = loadConfigOrExit();
  const logger = makeLogger(config.logLevel);
  // The API (or the migrate service) owns migrations; the worker only checks in.
  const db = await openDatabase(config, logger);
  const worker = await startWorker({ config, connectionString: ownerSessionUrl(db.ownerUrl, config.limits), logger });
  // With METRICS_PORT, this process serves its job metrics (outcomes, durations, queue depth, process).
  const metrics = config.metrics.port === null ? null : makeMetrics(logger);
  const queuePool = metrics ? new pg.Pool({ connectionString: db.ownerUrl, max: 1 }) : null;
  const metricsServer = metrics && queuePool ? await listenMetrics(config.metrics, metrics) : null;
  if (metrics && queuePool) {
    queuePool.on("error", (err) => logger.warn({ err }, "idle database client error"));
    metrics.watchWorker(worker.runner.events);
    metrics.watchJobQueue(queuePool);
    metrics.watchPool("worker_metrics", queuePool);
  }
  logger.info({ concurrency: config.worker.concurrency, metrics: metricsServer ? `${metricsServer.url}/metrics` : undefined }, "Agora worker is running");
  onShutdownSignal(logger, async () => {
    if (metricsServer) await new Promise<void>((resolve) => metricsServer.server.close(() => resolve()));
    await queuePool?.end();
    await worker.stop();
    await db.embedded?.stop();
  });
}

main().catch((error) => {
  process.stderr.write(`Agora worker failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

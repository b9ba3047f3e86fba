/**
 * `npm start`: the API (and, unless WORKER=off, the worker) in one process;
 * with API_PROCESSES > 1, a primary that runs the worker and forks that many
 * API processes (src/cluster.ts).
 */
import "./runtime";
import { onPrimaryStop, runAsPrimary } from "./cluster";
import { loadConfigOrExit } from "./config";
import { makeLogger } from "./logger";
import { onShutdownSignal } from "./signals";
import { startTracing } from "./tracing";

async function main() {
  const config = loadConfigOrExit();
  const logger = makeLogger(config.logLevel);
  const started = Date.now();
  if (await runAsPrimary(config, logger, "Agora")) return;
  // Tracing patches http and pg as they load, so it starts before the app is imported.
  const tracing = config.tracing ? await startTracing(config.tracing) : null;
  const { startAgora } = await import("./app.js");
  const agora = await startAgora(config, logger);
  const ruru = config.ruru ? `, explorer ${agora.url}/ruru` : "";
  const metrics = agora.metricsUrl ? `, metrics ${agora.metricsUrl}/metrics` : config.metrics.onApiPort ? `, metrics ${agora.url}/metrics` : "";
  logger.info(
    {
      ms: Date.now() - started,
      database: agora.db.embedded ? `embedded (port ${agora.db.embedded.port})` : "external",
      ...(config.tracing ? { tracing: config.tracing.endpoint } : {}),
    },
    `Agora is ready: GraphQL ${agora.url}/graphql${ruru}, health ${agora.url}/health/ready${metrics}`,
  );
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await agora.stop();
      await tracing?.shutdown();
    })());
  onShutdownSignal(logger, stop);
  onPrimaryStop(stop);
}

main().catch((error) => {
  process.stderr.write(`Agora failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

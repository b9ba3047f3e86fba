/** `npm run worker`: graphile-worker alone, for a production split of API and worker. */
import "./runtime";
import { loadConfigOrExit } from "./config";
import { makeLogger } from "./logger";
import { openDatabase } from "./db/connections";
import { startWorker } from "./worker/runner";
import { ownerSessionUrl } from "./db/session-settings";
import { onShutdownSignal } from "./signals";

async function main() {
  const config = loadConfigOrExit();
  const logger = makeLogger(config.logLevel);
  // The API (or the migrate service) owns migrations; the worker only checks in.
  const db = await openDatabase(config, logger);
  const worker = await startWorker({ config, connectionString: ownerSessionUrl(db.ownerUrl, config.limits), logger });
  logger.info({ concurrency: config.worker.concurrency }, "Agora worker is running");
  onShutdownSignal(logger, async () => {
    await worker.stop();
    await db.embedded?.stop();
  });
}

main().catch((error) => {
  process.stderr.write(`Agora worker failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

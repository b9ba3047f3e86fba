/**
 * The server the benchmark measures: exactly `npm start`'s (src/main.ts),
 * plus the hand-written endpoint of src/bench/endpoint.ts under /bench.
 */
import "../runtime";
import { loadConfigOrExit } from "../config";
import { makeLogger } from "../logger";
import { startAgora } from "../app";
import { onShutdownSignal } from "../signals";
import { benchRouter } from "./endpoint";

async function main() {
  const config = loadConfigOrExit();
  const logger = makeLogger(config.logLevel);
  const agora = await startAgora(config, logger, benchRouter);
  logger.info(`Agora (with the benchmark endpoint) is ready on ${agora.url}`);
  onShutdownSignal(logger, () => agora.stop());
}

main().catch((error) => {
  process.stderr.write(`The benchmark server failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

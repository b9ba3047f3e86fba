/** `npm start`: the API (and, unless WORKER=off, the worker) in one process. */
import "./runtime";
import { loadConfigOrExit } from "./config";
import { makeLogger } from "./logger";
import { startAgora } from "./app";
import { onShutdownSignal } from "./signals";

async function main() {
  const config = loadConfigOrExit();
  const logger = makeLogger(config.logLevel);
  const started = Date.now();
  const agora = await startAgora(config, logger);
  const ruru = config.ruru ? `, explorer ${agora.url}/ruru` : "";
  logger.info(
    { ms: Date.now() - started, database: agora.db.embedded ? `embedded (port ${agora.db.embedded.port})` : "external" },
    `Agora is ready: GraphQL ${agora.url}/graphql${ruru}, health ${agora.url}/health/ready`,
  );
  onShutdownSignal(logger, () => agora.stop());
}

main().catch((error) => {
  process.stderr.write(`Agora failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

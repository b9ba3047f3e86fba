/**
 * The server the benchmark measures: exactly `npm start`'s (src/main.ts),
 * plus the hand-written endpoint of bench/endpoint.ts under /bench; with
 * API_PROCESSES > 1 (`--processes`), as many API processes.
 * With BENCH_PROFILE_DIR set, SIGUSR2 starts a V8 CPU profile and the next
 * SIGUSR2 writes it there (so a profile covers one measured run only).
 */
import "../src/runtime";
import fs from "node:fs";
import inspector from "node:inspector";
import path from "node:path";
import { loadConfigOrExit } from "../src/config";
import { makeLogger } from "../src/logger";
import { startAgora } from "../src/app";
import { onPrimaryStop, runAsPrimary } from "../src/cluster";
import { onShutdownSignal } from "../src/signals";
import { benchRouter } from "./endpoint";

function profileOnSignal(dir: string): void {
  const session = new inspector.Session();
  session.connect();
  let running = false;
  let count = 0;
  process.on("SIGUSR2", () => {
    if (!running) {
      running = true;
      session.post("Profiler.enable", () => session.post("Profiler.start"));
      return;
    }
    running = false;
    session.post("Profiler.stop", (error, result) => {
      if (!error) fs.writeFileSync(path.join(dir, `run-${++count}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

async function main() {
  const config = loadConfigOrExit();
  const logger = makeLogger(config.logLevel);
  // As src/main.ts: with API_PROCESSES > 1 a primary forks API processes, each running the rest of this function.
  if (await runAsPrimary(config, logger, "Agora (with the benchmark endpoint)")) return;
  if (process.env.BENCH_PROFILE_DIR) profileOnSignal(process.env.BENCH_PROFILE_DIR);
  const agora = await startAgora(config, logger, benchRouter);
  logger.info(`Agora (with the benchmark endpoint) is ready on ${agora.url}`);
  onShutdownSignal(logger, () => agora.stop());
  onPrimaryStop(() => agora.stop());
}

main().catch((error) => {
  process.stderr.write(`The benchmark server failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

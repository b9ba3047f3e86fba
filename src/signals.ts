/**
 * SIGINT/SIGTERM: stop gracefully, then let the process end by itself (which
 * proves nothing is left open). A watchdog reports and exits if something
 * still holds it; a second signal exits at once.
 */
import os from "node:os";
import type { Logger } from "./logger";

export function onShutdownSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    stop().then(
      () => {
        logger.info("stopped");
        setTimeout(() => {
          logger.warn("open handles kept the process alive after shutdown; exiting");
          process.exit(0);
        }, 5000).unref();
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/**
 * Batch commands (seed, benchmarks, cli): the first SIGINT/SIGTERM aborts the
 * returned signal, so the command stops its work and runs its own clean-up
 * (which stops the embedded database); `exitCode()` then gives the shell's
 * code for "stopped by that signal" (130, 143). A second signal exits at once.
 */
export function abortOnSignal(): { signal: AbortSignal; exitCode(): number | null } {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const handler = (signal: NodeJS.Signals) => {
    if (received) process.exit(128 + os.constants.signals[signal]);
    received = signal;
    process.stderr.write(`\n${signal}: stopping (send it again to exit at once)\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return { signal: controller.signal, exitCode: () => (received ? 128 + os.constants.signals[received] : null) };
}

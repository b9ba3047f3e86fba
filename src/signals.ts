/**
 * SIGINT/SIGTERM: stop gracefully, then let the process end by itself (which
 * proves nothing is left open). A watchdog reports and exits if something
 * still holds it; a second signal exits at once.
 */
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

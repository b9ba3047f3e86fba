/**
 * `API_PROCESSES=N` (N > 1): the API served by N node processes sharing one
 * port (node:cluster), to use more than one core where node, not
 * PostgreSQL, is the bottleneck (docs/operations.md, "Processes").
 *
 * The primary process opens the database (starts the embedded cluster and
 * migrates, or checks the external one), runs the job worker and forks the
 * API processes; it serves no requests. Each API process is an instance of
 * its own — its own pools, its own LISTEN connection for live delivery, its
 * own caches — exactly like separate instances behind a load balancer, which
 * the database's rules already make safe (rate limits, connection caps and
 * presence live in PostgreSQL). An API process that dies is replaced; on
 * SIGINT/SIGTERM the primary asks each to stop gracefully, waits for them,
 * then stops the worker and the database.
 */
import cluster, { type Worker } from "node:cluster";
import type { Config } from "./config";
import type { Logger } from "./logger";
import { onShutdownSignal } from "./signals";

/** The message the primary sends an API process to stop (like SIGTERM, without counting as a second signal). */
export const STOP_MESSAGE = "agora:stop";
/** How long after a crash an API process is replaced. */
const RESTART_DELAY_MS = 1000;

export interface ApiProcesses {
  /** Where the processes listen, once all have started. */
  url: string;
  pids(): number[];
  /** Stops the API processes, then the worker and the embedded database. */
  stop(): Promise<void>;
}

export async function startApiProcesses(config: Config, logger: Logger): Promise<ApiProcesses> {
  // Loaded here, not at the top: src/main.ts imports this file before tracing patches pg (an API process starts tracing itself).
  const { openDatabase } = await import("./db/connections.js");
  const { ownerSessionUrl } = await import("./db/session-settings.js");
  const { startWorker } = await import("./worker/runner.js");
  const db = await openDatabase(config, logger);
  const worker = config.worker.enabled
    ? await startWorker({ config, connectionString: ownerSessionUrl(db.ownerUrl, config.limits), logger }).catch(async (error: unknown) => {
        await db.embedded?.stop();
        throw error;
      })
    : null;
  // The API processes connect to the database the primary opened, migrate nothing and run no jobs.
  const env = { DATABASE_URL: db.ownerUrl, AUTH_DATABASE_URL: db.authUrl, ROOT_DATABASE_URL: "", WORKER: "off" };
  let stopping = false;
  const fork = (): Worker => cluster.fork(env);
  cluster.on("exit", (child, code, signal) => {
    if (stopping) return;
    logger.error({ pid: child.process.pid, code, signal }, "an API process exited; starting another");
    setTimeout(() => {
      if (!stopping) fork();
    }, RESTART_DELAY_MS).unref();
  });

  const stop = async () => {
    stopping = true;
    const children = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.isDead()) return resolve();
            child.once("exit", () => resolve());
            // Each stops within its own SHUTDOWN_TIMEOUT_MS; past that and a margin, it is killed.
            const kill = setTimeout(() => child.process.kill("SIGKILL"), config.shutdownTimeoutMs + 10_000);
            kill.unref();
            child.once("exit", () => clearTimeout(kill));
            if (child.isConnected()) child.send(STOP_MESSAGE);
            else child.process.kill("SIGTERM");
          }),
      ),
    );
    await worker?.stop().catch((error: unknown) => logger.error({ err: error }, "error stopping the worker"));
    await db.embedded?.stop();
  };

  try {
    const addresses = await Promise.all(
      Array.from(
        { length: config.apiProcesses },
        () =>
          new Promise<{ port: number }>((resolve, reject) => {
            const child = fork();
            const failed = (code: number | null) => reject(new Error(`an API process exited while starting (code ${code})`));
            child.once("exit", failed);
            child.once("listening", (address) => {
              child.off("exit", failed);
              resolve(address);
            });
          }),
      ),
    );
    const host = config.host === "0.0.0.0" ? "localhost" : config.host;
    return {
      url: `http://${host}:${addresses[0].port}`,
      pids: () => Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The primary's part, when API_PROCESSES > 1 and this is the primary: start
 * the API processes, say where they listen (`what` names the server), stop
 * them on SIGINT/SIGTERM. Returns false where this process is to serve the
 * API itself (one process, or an API process of the cluster).
 */
export async function runAsPrimary(config: Config, logger: Logger, what: string): Promise<boolean> {
  if (config.apiProcesses <= 1 || !cluster.isPrimary) return false;
  const started = Date.now();
  const processes = await startApiProcesses(config, logger);
  logger.info({ ms: Date.now() - started, processes: config.apiProcesses, pids: processes.pids() }, `${what} is ready: ${config.apiProcesses} API processes on ${processes.url}`);
  onShutdownSignal(logger, () => processes.stop());
  return true;
}

/** In an API process of the cluster: run `stop` when the primary asks, then leave the cluster so the process can end. Elsewhere nothing. */
export function onPrimaryStop(stop: () => Promise<void>): void {
  if (!cluster.isWorker) return;
  process.on("message", (message) => {
    if (message !== STOP_MESSAGE) return;
    void stop().finally(() => cluster.worker?.disconnect());
  });
}

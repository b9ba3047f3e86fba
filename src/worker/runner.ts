/**
 * Runs graphile-worker with our task list and crontab, in this process (the
 * default) or alone (`npm run worker`). Signals are handled by our own
 * shutdown, not by the worker.
 */
import fs from "node:fs";
import path from "node:path";
import { Logger as WorkerLogger, parseCrontab, run, type Runner, type TaskList } from "graphile-worker";
import { pinoLogFactory } from "../graphile-logger";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { makeMailer } from "../mail/mailer";
import { makeTaskList } from "../tasks";
import { makeFileStorage } from "../files";
import { PROJECT_ROOT } from "../paths";
import { endPool, makePool } from "../db/pool";

export const CRONTAB_FILE = path.join(PROJECT_ROOT, "src", "tasks", "crontab");

export interface WorkerHandle {
  runner: Runner;
  isRunning(): boolean;
  stop(): Promise<void>;
}

export async function startWorker(options: {
  config: Config;
  connectionString: string;
  logger: Logger;
  /** Tests may run their own tasks; by default Agora's (src/tasks). */
  taskList?: TaskList;
}): Promise<WorkerHandle> {
  const mailer = makeMailer(options.config.mail, options.logger);
  const taskList = options.taskList ?? makeTaskList({ mailer, publicUrl: options.config.publicUrl, fileStorage: makeFileStorage(options.config), filesTmpDir: options.config.files.tmpDir });
  // Our own pool, so its errors are handled and we know when it has ended
  // (the worker's internal pool could outlive runner.stop() and crash the
  // process with an unhandled 'error' when the database stops right after).
  const pool = makePool({
    name: "worker",
    connectionString: options.connectionString,
    max: options.config.worker.concurrency + 2,
    logger: options.logger,
  });
  const runner = await run({
    pgPool: pool,
    concurrency: options.config.worker.concurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    taskList,
    parsedCronItems: parseCrontab(fs.readFileSync(CRONTAB_FILE, "utf8")),
    logger: new WorkerLogger(pinoLogFactory(options.logger, "worker")),
  });
  let running = true;
  runner.promise.finally(() => {
    running = false;
  }).catch(() => undefined);
  return {
    runner,
    isRunning: () => running,
    async stop() {
      if (!running) return;
      await runner.stop();
      running = false;
      mailer.close();
      await endPool(pool);
    },
  };
}

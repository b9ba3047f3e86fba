/**
 * Runs the jobs queued so far, once, with the given tasks (or Agora's own,
 * configured for the test run, without the file tasks: those run only through
 * runFileJobs, against the store that holds their bytes).
 */
import { Logger, runOnce, type TaskList } from "graphile-worker";
import { loadConfig } from "../../src/config";
import { makeLogger } from "../../src/logger";
import { makeMailer } from "../../src/mail/mailer";
import { makeTaskList } from "../../src/tasks";
import { testDatabase } from "./testDatabase";

const quietLogger = new Logger(() => () => undefined);

export async function runQueuedJobs(taskList?: TaskList): Promise<void> {
  const config = loadConfig(testDatabase().env);
  const mailer = makeMailer(config.mail, makeLogger("silent"));
  try {
    await runOnce({
      connectionString: testDatabase().ownerUrl,
      taskList: taskList ?? makeTaskList({ mailer, publicUrl: config.publicUrl }),
      noHandleSignals: true,
      logger: quietLogger,
    });
  } finally {
    mailer.close();
  }
}

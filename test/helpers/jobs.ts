/** Runs the jobs queued so far, once, with the given tasks (or Agora's own, configured for the tests). */
import { Logger, runOnce, type TaskList } from "graphile-worker";
import { loadConfig } from "../../src/config";
import { makeLogger } from "../../src/logger";
import { makeMailer } from "../../src/mail/mailer";
import { makeTaskList } from "../../src/tasks";
import { testDatabase } from "./testDatabase";

const quietLogger = new Logger(() => () => undefined);

/** `env` overrides the test configuration, e.g. { SMTP_URL } of a local SMTP server. */
export async function runQueuedJobs(taskList?: TaskList, env: Record<string, string> = {}): Promise<void> {
  const config = loadConfig({ ...testDatabase().env, ...env });
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

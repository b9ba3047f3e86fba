/** Runs the jobs queued so far, once, with the given tasks (or Agora's own). */
import { Logger, runOnce, type TaskList } from "graphile-worker";
import { taskList as agoraTasks } from "../../src/tasks";
import { testDatabase } from "./testDatabase";

const quietLogger = new Logger(() => () => undefined);

export async function runQueuedJobs(taskList: TaskList = agoraTasks): Promise<void> {
  await runOnce({ connectionString: testDatabase().ownerUrl, taskList, noHandleSignals: true, logger: quietLogger });
}

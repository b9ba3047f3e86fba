/**
 * Every graphile-worker task, one file each in this directory, named as the
 * task. SQL enqueues them with app_private.add_job('<name>', payload).
 * The schedule lives in ./crontab.
 */
import type { TaskList } from "graphile-worker";

export const taskList: TaskList = {};

/**
 * Runs the queued file jobs (delete_file_bytes, make_thumbnails) whose bytes
 * live in *this* test file's store, and only those.
 *
 * Every test file shares one graphile-worker queue, and two test files (or
 * two back-ends in one file) use different stores: a worker with the wrong
 * store would take another file's job, "succeed" against its own store and
 * leave the real bytes behind. So the owned jobs are first moved, atomically
 * and only if no worker holds them, to a task name private to this call, and
 * graphile-worker then runs them under that name (its locking, retries and
 * error bookkeeping unchanged). The default runQueuedJobs() has no file
 * tasks, so nothing else takes these jobs.
 */
import { randomUUID } from "node:crypto";
import type { Task } from "graphile-worker";
import type { FileStorage } from "../../src/files/storage";
import { deleteFileBytes } from "../../src/tasks/delete_file_bytes";
import { makeThumbnails } from "../../src/tasks/make_thumbnails";
import { runQueuedJobs } from "./jobs";
import { rootDb } from "./sql";

type FileTask = "delete_file_bytes" | "make_thumbnails";

async function exists(fileStorage: FileStorage, key: unknown): Promise<boolean> {
  if (typeof key !== "string") return false;
  const object = await fileStorage.get(key).catch(() => null);
  object?.body.destroy();
  return object !== null;
}

/** The storage key a queued job works on, or null. */
async function keyOf(task: FileTask, payload: { key?: unknown; id?: unknown }): Promise<unknown> {
  if (task === "delete_file_bytes") return payload.key;
  const { rows } = await rootDb().query("select storage_key from app_public.files where id::text = $1", [String(payload.id)]);
  return rows[0]?.storage_key ?? null;
}

export async function runFileJobs(fileStorage: FileStorage, task: FileTask): Promise<void> {
  const { rows: queued } = await rootDb().query<{ id: string; payload: { key?: unknown; id?: unknown } }>(
    `select j.id, j.payload from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
      where t.identifier = $1 and j.locked_at is null and j.attempts < j.max_attempts`,
    [task],
  );
  const owned: string[] = [];
  for (const job of queued) if (await exists(fileStorage, await keyOf(task, job.payload ?? {}))) owned.push(job.id);
  if (owned.length === 0) return;
  const privateName = `${task}__test_${randomUUID().slice(0, 8)}`;
  await rootDb().query(
    `with t as (insert into graphile_worker._private_tasks (identifier) values ($1)
                on conflict (identifier) do update set identifier = excluded.identifier returning id)
     update graphile_worker._private_jobs j set task_id = (select id from t), run_at = least(j.run_at, now())
      where j.id = any($2::bigint[]) and j.locked_at is null`,
    [privateName, owned],
  );
  const run: Task = task === "delete_file_bytes" ? deleteFileBytes({ fileStorage }) : makeThumbnails({ fileStorage });
  await runQueuedJobs({ [privateName]: run });
}

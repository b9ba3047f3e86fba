/**
 * Task delete_file_bytes: removes a deleted file's bytes from the store. Queued
 * by the trigger on app_public.files (after delete), so it exists only once
 * the delete has committed. Deleting bytes that are already gone succeeds, so
 * a retry is harmless.
 */
import type { Task } from "graphile-worker";
import type { FileStorage } from "../files/storage";

export function deleteFileBytes(deps: { fileStorage: FileStorage }): Task {
  return async (payload, helpers) => {
    const key = (payload as { key?: unknown } | null)?.key;
    if (typeof key !== "string") throw new Error("delete_file_bytes: payload has no key");
    await deps.fileStorage.delete(key);
    helpers.logger.info(`deleted the bytes of ${key}`);
  };
}

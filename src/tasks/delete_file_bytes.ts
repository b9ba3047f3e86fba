/**
 * Task delete_file_bytes: removes a deleted file's bytes (and thumbnails) from the store. Queued
 * by the trigger on app_public.files (after delete), so it exists only once
 * the delete has committed. Deleting bytes that are already gone succeeds, so
 * a retry is harmless.
 */
import type { Task } from "graphile-worker";
import type { FileStorage } from "../files/storage";
import { thumbnailKey } from "../files/thumbnails";

export function deleteFileBytes(deps: { fileStorage: FileStorage }): Task {
  return async (payload, helpers) => {
    const { key, id, thumbnails } = (payload ?? {}) as { key?: unknown; id?: unknown; thumbnails?: unknown };
    if (typeof key !== "string") throw new Error("delete_file_bytes: payload has no key");
    await deps.fileStorage.delete(key);
    if (typeof id === "string" && Array.isArray(thumbnails)) {
      for (const size of thumbnails) await deps.fileStorage.delete(thumbnailKey(id, Number(size)));
    }
    helpers.logger.info(`deleted the bytes of ${key}`);
  };
}

/**
 * Task make_thumbnails: webp thumbnails of an uploaded image, one per size in
 * the files.thumbnail_sizes setting (the image fitted inside size × size,
 * never enlarged, EXIF orientation applied, all metadata — EXIF, GPS, ICC
 * comments — stripped: sharp writes none unless asked). The original is kept.
 * Queued by app_private.finish_upload after the upload commits; a failure
 * (bytes that are not a decodable image) is retried by graphile-worker with
 * backoff and never affects the upload, which is already ready.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Task } from "graphile-worker";
import sharp from "sharp";
import type { FileStorage } from "../files/storage";
import { thumbnailKey } from "../files/thumbnails";

export function makeThumbnails(deps: { fileStorage: FileStorage; tmpDir?: string }): Task {
  return async (payload, helpers) => {
    const id = (payload as { id?: unknown } | null)?.id;
    if (typeof id !== "string") throw new Error("make_thumbnails: payload has no id");
    const { rows } = await helpers.query<{ storage_key: string; content_type: string | null; sizes: number[] }>(
      `select storage_key, content_type,
              array(select jsonb_array_elements_text(app_private.setting('files.thumbnail_sizes'))::int) as sizes
         from app_public.files where id = $1 and status = 'ready'`,
      [id],
    );
    const file = rows[0];
    if (!file || !file.content_type?.startsWith("image/")) return; // deleted meanwhile, or not an image: nothing to do
    const object = await deps.fileStorage.get(file.storage_key);
    if (!object) return;
    const dir = deps.tmpDir ?? os.tmpdir();
    await fsp.mkdir(dir, { recursive: true });
    const original = path.join(dir, `${randomUUID()}.orig`);
    const made: number[] = [];
    try {
      await pipeline(object.body, fs.createWriteStream(original, { flags: "wx", mode: 0o600 }));
      for (const size of file.sizes) {
        const out = `${original}-${size}.webp`;
        try {
          const info = await sharp(original, { limitInputPixels: 100_000_000 })
            .rotate()
            .resize({ width: size, height: size, fit: "inside", withoutEnlargement: true })
            .webp({ quality: 80 })
            .toFile(out);
          await deps.fileStorage.put(thumbnailKey(id, size), out, { contentType: "image/webp", size: info.size });
          made.push(size);
        } finally {
          await fsp.rm(out, { force: true });
        }
      }
    } finally {
      await fsp.rm(original, { force: true });
    }
    const { rowCount } = await helpers.query("update app_public.files set thumbnail_sizes = $2 where id = $1", [id, made]);
    if (rowCount === 0) {
      // Deleted while we worked: its delete job did not know these thumbnails.
      for (const size of made) await deps.fileStorage.delete(thumbnailKey(id, size));
    }
    helpers.logger.info(`made ${made.length} thumbnails of ${id}`);
  };
}

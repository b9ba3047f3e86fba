/**
 * Task sweep_orphan_files (hourly, see ./crontab): removes stored bytes that
 * no ready file row accounts for — originals whose key no ready row has,
 * thumbnails whose file is gone — on whichever back-end is configured.
 * Normally delete_file_bytes removes bytes after their row's delete commits;
 * this catches what a crash between the two, or a failed job, left behind.
 *
 * Bytes younger than the files.orphan_grace setting are never touched: an
 * upload stores its bytes just before its row commits ready (src/files/routes.ts).
 * The payload `{"graceSeconds": n}` overrides the setting (tests).
 */
import type { Task } from "graphile-worker";
import type { FileStorage } from "../files/storage";

export function sweepOrphanFiles(deps: { fileStorage: FileStorage }): Task {
  return async (payload, helpers) => {
    const override = (payload as { graceSeconds?: unknown } | null)?.graceSeconds;
    let graceSeconds: number;
    if (typeof override === "number" && override >= 0) {
      graceSeconds = override;
    } else {
      const { rows } = await helpers.query<{ seconds: number }>(
        "select extract(epoch from (app_private.setting('files.orphan_grace') #>> '{}')::interval)::float8 as seconds",
      );
      graceSeconds = rows[0].seconds;
    }
    const cutoff = Date.now() - graceSeconds * 1000;
    let seen = 0;
    let removed = 0;
    for await (const page of deps.fileStorage.list()) {
      seen += page.length;
      const candidates = page.filter((k) => k.modifiedAt.getTime() <= cutoff).map((k) => k.key);
      if (candidates.length === 0) continue;
      const { rows } = await helpers.query<{ key: string }>("select app_private.orphan_storage_keys($1::text[]) as key", [candidates]);
      for (const { key } of rows) {
        await deps.fileStorage.delete(key);
        removed += 1;
      }
    }
    helpers.logger.info(`orphan sweep: ${removed} of ${seen} stored objects removed`);
  };
}

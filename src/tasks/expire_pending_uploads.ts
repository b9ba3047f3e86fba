/**
 * Task expire_pending_uploads (every 10 minutes, see ./crontab): deletes
 * upload reservations older than the files.pending_lifetime setting whose
 * bytes never arrived (app_private.expire_pending_uploads decides). They
 * had no bytes in the store, so nothing else is removed.
 */
import type { Task } from "graphile-worker";

export const expirePendingUploads: Task = async (_payload, helpers) => {
  const { rows } = await helpers.query<{ expired: number }>("select app_private.expire_pending_uploads() as expired");
  helpers.logger.info(`expired ${rows[0].expired} abandoned upload reservations`);
};

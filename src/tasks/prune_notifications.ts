/**
 * Task prune_notifications (hourly, see ./crontab): deletes read
 * notifications older than the notification.retention setting, in batches
 * (each its own short transaction) so no lock is held for long. The rule is
 * SQL's (app_private.prune_notifications); this only repeats it.
 */
import type { Task } from "graphile-worker";

const BATCH = 10_000;

export const pruneNotifications: Task = async (_payload, helpers) => {
  let total = 0;
  for (;;) {
    const { rows } = await helpers.query<{ pruned: number }>("select app_private.prune_notifications($1) as pruned", [BATCH]);
    total += rows[0].pruned;
    if (rows[0].pruned < BATCH) break;
  }
  helpers.logger.info(`pruned ${total} read notifications`);
};

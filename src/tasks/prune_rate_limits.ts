/**
 * Task prune_rate_limits (hourly, see ./crontab): deletes rate-limit
 * counters whose window has passed. The rule is SQL's
 * (app_private.prune_rate_limits); this only runs it.
 */
import type { Task } from "graphile-worker";

export const pruneRateLimits: Task = async (_payload, helpers) => {
  const { rows } = await helpers.query<{ pruned: number }>("select app_private.prune_rate_limits() as pruned");
  helpers.logger.info(`pruned ${rows[0].pruned} rate-limit counters`);
};

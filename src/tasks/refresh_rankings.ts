/**
 * Task refresh_rankings: recomputes the leaderboards and trending
 * (app_private.refresh_rankings(): REFRESH MATERIALIZED VIEW CONCURRENTLY, so
 * readers are never blocked). Scheduled in ./crontab.
 */
import type { Task } from "graphile-worker";

export const refreshRankings: Task = async (_payload, helpers) => {
  const started = Date.now();
  await helpers.withPgClient((client) => client.query("select app_private.refresh_rankings()"));
  helpers.logger.info(`refreshed leaderboards and trending in ${Date.now() - started} ms`);
};

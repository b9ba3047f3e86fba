/**
 * Task refresh_search_tiers: places search's hot tier
 * (app_private.search_tiers_refresh(): the best search.hot_share of entries
 * by static score, which every search tries first; docs/content.md#search).
 * New and changed entries come in hot and are placed here. Scheduled in
 * ./crontab.
 */
import type { Task } from "graphile-worker";

export const refreshSearchTiers: Task = async (_payload, helpers) => {
  const started = Date.now();
  const { rows } = await helpers.withPgClient((client) => client.query<{ floor: number }>("select app_private.search_tiers_refresh() as floor"));
  helpers.logger.info(`placed the search tiers (floor ${rows[0].floor}) in ${Date.now() - started} ms`);
};

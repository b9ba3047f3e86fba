/**
 * Task refresh_search_tiers: places search's tiers
 * (app_private.search_tiers_refresh(): tier k holds the best
 * search.tier_shares[k] of entries by static score; every search tries
 * them smallest first; docs/content.md#search). New and changed entries come
 * in tier 1 and are placed here. Scheduled in ./crontab.
 */
import type { Task } from "graphile-worker";

export const refreshSearchTiers: Task = async (_payload, helpers) => {
  const started = Date.now();
  const { rows } = await helpers.withPgClient((client) => client.query<{ floors: number[] }>("select app_private.search_tiers_refresh() as floors"));
  helpers.logger.info(`placed the search tiers (floors ${rows[0].floors.join(", ")}) in ${Date.now() - started} ms`);
};

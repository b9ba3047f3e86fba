/**
 * Task award_badges: awards, set-based over all members, every badge whose
 * criterion is met and not yet held (app_private.award_badges(), idempotent).
 * Scheduled in ./crontab; badges earned on an event are awarded by triggers.
 */
import type { Task } from "graphile-worker";

export const awardBadges: Task = async (_payload, helpers) => {
  const { rows } = await helpers.withPgClient((client) =>
    client.query<{ awarded: number }>("select app_private.award_badges() as awarded"),
  );
  helpers.logger.info(`awarded ${rows[0].awarded} badges`);
};

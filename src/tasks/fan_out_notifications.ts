/**
 * Task fan_out_notifications: creates the notifications of one fan-out
 * (an announcement, a job posted in a followed category) for its whole
 * audience. Payload (written by app_private.start_fanout): { fanoutId }.
 *
 * Each call of app_private.fan_out_notifications is one statement in its own
 * transaction: one batch of members by id (the notification.fanout_batch
 * setting), its notifications, and the cursor moved past it. No lock is held
 * between batches, and a retried job continues after the last committed
 * batch (the cursor lives in the fan-out row, not in the payload), so nobody
 * is notified twice. The audience and every rule are SQL's.
 */
import type { Task } from "graphile-worker";

export const fanOutNotifications: Task = async (payload, helpers) => {
  const fanoutId = (payload as { fanoutId?: unknown } | null)?.fanoutId;
  if (typeof fanoutId !== "number" && typeof fanoutId !== "string") throw new Error("fan_out_notifications: malformed payload");
  let batches = 0;
  for (;;) {
    const { rows } = await helpers.query<{ more: boolean }>("select app_private.fan_out_notifications($1) as more", [fanoutId]);
    batches += 1;
    if (!rows[0].more) break;
  }
  helpers.logger.info(`fan-out ${String(fanoutId)} done in ${batches} batch(es)`);
};

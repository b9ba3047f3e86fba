/**
 * Task send_notification_digests (hourly, ./crontab): enqueues one
 * send_notification_digest job per member whose hourly or daily digest is
 * due and has something pending, set-based in one SQL statement.
 */
import type { Task } from "graphile-worker";

export const sendNotificationDigests: Task = async (_payload, helpers) => {
  const { rows } = await helpers.query<{ n: number }>("select app_private.enqueue_notification_digests() as n");
  helpers.logger.info(`enqueued ${rows[0].n} notification digests`);
};

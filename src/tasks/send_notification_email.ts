/**
 * Task send_notification_email: mails one notification, once.
 * Payload (written by the notifications trigger): { notificationId }.
 *
 * The notification row is locked (app_private.claim_notification_email) for
 * the whole send and marked emailed_at in the same transaction, so a retried
 * or concurrent job finds it already sent and does nothing. A failed send
 * rolls back, leaving it unsent for graphile-worker's retry with back-off.
 */
import type { Task } from "graphile-worker";
import type { Mailer } from "../mail/mailer";
import { renderMail } from "../mail/templates";

interface Claim {
  email: string | null;
  type_id: string;
  actor_name: string | null;
  actor_count: number;
  target_title: string | null;
  detail: Record<string, unknown>;
  unsubscribe_token: string;
}

export function sendNotificationEmail(deps: { mailer: Mailer; publicUrl: string }): Task {
  return async (payload, helpers) => {
    const notificationId = (payload as { notificationId?: unknown } | null)?.notificationId;
    if (typeof notificationId !== "string") throw new Error("send_notification_email: malformed payload");
    await helpers.withPgClient(async (client) => {
      await client.query("begin");
      try {
        const { rows } = await client.query<Claim>("select * from app_private.claim_notification_email($1)", [notificationId]);
        const claim = rows[0];
        if (claim?.email) {
          const mail = renderMail(
            "notification",
            {
              type_id: claim.type_id,
              actor_name: claim.actor_name ?? "",
              actor_count: String(claim.actor_count),
              target_title: claim.target_title ?? "",
              event: typeof claim.detail.event === "string" ? claim.detail.event : "",
              ip: typeof claim.detail.ip === "string" ? claim.detail.ip : "",
              unsubscribe_token: claim.unsubscribe_token,
            },
            deps.publicUrl,
          );
          const { messageId } = await deps.mailer.send(claim.email, mail);
          await client.query("select app_private.mark_notification_emailed($1)", [notificationId]);
          helpers.logger.info(`sent "${claim.type_id}" notification mail`, { messageId });
        }
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw error;
      }
    });
  };
}

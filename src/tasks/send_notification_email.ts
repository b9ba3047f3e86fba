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
import { inSendTransaction, notificationVariables, type ClaimedNotification } from "../mail/notification-variables";

interface Claim extends ClaimedNotification {
  email: string | null;
}

export function sendNotificationEmail(deps: { mailer: Mailer; publicUrl: string }): Task {
  return async (payload, helpers) => {
    const notificationId = (payload as { notificationId?: unknown } | null)?.notificationId;
    if (typeof notificationId !== "string") throw new Error("send_notification_email: malformed payload");
    await helpers.withPgClient((client) =>
      inSendTransaction(client, async () => {
        const { rows } = await client.query<Claim>("select * from app_private.claim_notification_email($1)", [notificationId]);
        const claim = rows[0];
        if (!claim?.email) return;
        const mail = renderMail(
          "notification",
          { ...notificationVariables(claim), unsubscribe_token: claim.unsubscribe_token },
          deps.publicUrl,
        );
        const { messageId } = await deps.mailer.send(claim.email, mail);
        await client.query("select app_private.mark_notification_emailed($1)", [notificationId]);
        helpers.logger.info(`sent "${claim.type_id}" notification mail`, { messageId });
      }),
    );
  };
}

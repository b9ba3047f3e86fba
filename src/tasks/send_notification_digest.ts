/**
 * Task send_notification_digest: one mail batching every notification of a
 * member still waiting for its e-mail (hourly or daily digest).
 * Payload (written by app_private.enqueue_notification_digests): { userId }.
 *
 * As in send_notification_email, the claim locks (the member's settings row)
 * for the whole send and the notifications are marked e-mailed in the same
 * transaction, so a retried job finds nothing pending and sends nothing.
 */
import type { Task } from "graphile-worker";
import type { Mailer } from "../mail/mailer";
import { renderMail } from "../mail/templates";
import { inSendTransaction, notificationVariables, type ClaimedNotification } from "../mail/notification-variables";

interface DigestRow extends ClaimedNotification {
  email: string;
  notification_id: string;
}

export function sendNotificationDigest(deps: { mailer: Mailer; publicUrl: string }): Task {
  return async (payload, helpers) => {
    const userId = (payload as { userId?: unknown } | null)?.userId;
    if (typeof userId !== "string") throw new Error("send_notification_digest: malformed payload");
    await helpers.withPgClient((client) =>
      inSendTransaction(client, async () => {
        const { rows } = await client.query<DigestRow>("select * from app_private.claim_notification_digest($1)", [userId]);
        if (rows.length === 0) return;
        const items = rows.map(notificationVariables);
        const mail = renderMail(
          "notification_digest",
          { items: JSON.stringify(items), unsubscribe_token: rows[0].unsubscribe_token },
          deps.publicUrl,
        );
        const { messageId } = await deps.mailer.send(rows[0].email, mail);
        await client.query("select app_private.mark_notification_digest_sent($1, $2)", [userId, rows.map((r) => r.notification_id)]);
        helpers.logger.info(`sent a digest of ${rows.length} notifications`, { messageId });
      }),
    );
  };
}

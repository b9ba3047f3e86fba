/**
 * What the notification mails (send_notification_email and
 * send_notification_digest) need of one claimed notification, and the
 * transaction both sends run in.
 */
import type { PoolClient } from "pg";

/** A notification as app_private.claim_notification_email / _digest return it. */
export interface ClaimedNotification {
  type_id: string;
  actor_name: string | null;
  actor_count: number;
  target_title: string | null;
  detail: Record<string, unknown>;
  unsubscribe_token: string;
}

/** The template variables of one notification (strings only, as renderMail takes them). */
export function notificationVariables(row: ClaimedNotification): Record<string, string> {
  return {
    type_id: row.type_id,
    actor_name: row.actor_name ?? "",
    actor_count: String(row.actor_count),
    target_title: row.target_title ?? "",
    event: typeof row.detail.event === "string" ? row.detail.event : "",
    ip: typeof row.detail.ip === "string" ? row.detail.ip : "",
    // Job, badge and announcement notifications carry their title in detail (docs/notifications.md).
    title: typeof row.detail.title === "string" ? row.detail.title : "",
    to_status: typeof row.detail.to === "string" ? row.detail.to : "",
    badge: typeof row.detail.badge === "string" ? row.detail.badge : "",
  };
}

/**
 * Runs a claim → send → mark in one transaction: the claim's row locks are
 * held for the whole send, and a failed send rolls the marks back, so a
 * retried job sends exactly what is still unsent.
 */
export async function inSendTransaction(client: PoolClient, fn: () => Promise<void>): Promise<void> {
  await client.query("begin");
  try {
    await fn();
    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    throw error;
  }
}

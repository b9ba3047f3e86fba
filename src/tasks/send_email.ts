/**
 * Task send_email: renders a template and delivers it.
 * Payload (written by SQL): { template, to, variables }.
 */
import type { Task } from "graphile-worker";
import type { Mailer } from "../mail/mailer";
import { renderMail } from "../mail/templates";

interface SendEmailPayload {
  template: string;
  to: string;
  variables: Record<string, string>;
}

function isPayload(value: unknown): value is SendEmailPayload {
  const p = value as SendEmailPayload;
  return typeof p?.template === "string" && typeof p.to === "string" && typeof p.variables === "object";
}

export function sendEmail(deps: { mailer: Mailer; publicUrl: string }): Task {
  return async (payload, helpers) => {
    if (!isPayload(payload)) throw new Error("send_email: malformed payload");
    const mail = renderMail(payload.template, payload.variables, deps.publicUrl);
    const { messageId } = await deps.mailer.send(payload.to, mail);
    helpers.logger.info(`sent "${payload.template}" mail`, { messageId });
  };
}

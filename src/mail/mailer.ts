/**
 * Delivers mail: through SMTP_URL when set (production, tests with a local
 * SMTP server), otherwise as .eml files in the outbox directory (development).
 */
import fs from "node:fs";
import path from "node:path";
import nodemailer, { type Transporter } from "nodemailer";
import type { MailConfig } from "../config";
import type { Logger } from "../logger";
import type { RenderedMail } from "./templates";

export interface Mailer {
  send(to: string, mail: RenderedMail): Promise<{ messageId: string; file?: string }>;
  close(): void;
}

export function makeMailer(config: MailConfig, logger: Logger): Mailer {
  if (config.smtpUrl) {
    const transport: Transporter = nodemailer.createTransport(config.smtpUrl);
    return {
      async send(to, mail) {
        const info = await transport.sendMail({ from: config.from, to, ...mail });
        return { messageId: info.messageId };
      },
      close: () => transport.close(),
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    async send(to, mail) {
      const info = await transport.sendMail({ from: config.from, to, ...mail });
      fs.mkdirSync(config.outboxDir, { recursive: true });
      const file = path.join(config.outboxDir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${info.messageId.replace(/[<>@]/g, "")}.eml`);
      fs.writeFileSync(file, info.message as Buffer);
      // Development only: the link is what a developer needs to click.
      const link = /https?:\/\/\S+/.exec(mail.text)?.[0];
      logger.info({ file, link }, `mail "${mail.subject}" written to the outbox`);
      return { messageId: info.messageId, file };
    },
    close: () => transport.close(),
  };
}

/**
 * One real SMTP server (smtp-server) for the whole test run, started by
 * globalSetup: every worker of every test file delivers there, so no mail is
 * lost to another file's inbox. Each message is stored as an .eml file in
 * the run's directory; tests find theirs by recipient and subject.
 */
import fs from "node:fs";
import path from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { testDatabase } from "./testDatabase";

/** Started once in globalSetup. */
export async function startSmtpSink(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        n += 1;
        const file = path.join(dir, `${Date.now()}-${n}.eml`);
        fs.writeFileSync(`${file}.tmp`, Buffer.concat(chunks));
        fs.renameSync(`${file}.tmp`, file);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const recipients = (m: ParsedMail) => [m.to].flat().flatMap((a) => (a ? a.value.map((v) => v.address?.toLowerCase()) : []));

async function allMail(): Promise<ParsedMail[]> {
  const dir = testDatabase().mailDir;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".eml")).sort();
  return Promise.all(files.map((f) => simpleParser(fs.readFileSync(path.join(dir, f)))));
}

/** Every mail delivered so far to `to` (case-insensitive). */
export async function mailTo(to: string): Promise<ParsedMail[]> {
  return (await allMail()).filter((m) => recipients(m).includes(to.toLowerCase()));
}

/** The first mail to `to` whose subject matches, waiting up to `timeoutMs` for a worker to send it. */
export async function waitForMail(to: string, subject: RegExp, timeoutMs = 10_000): Promise<ParsedMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await mailTo(to)).find((m) => subject.test(m.subject ?? ""));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} matching ${subject}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The token in the first link of a mail's plain-text part. */
export function tokenFromMail(mail: ParsedMail): string {
  const match = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text ?? "");
  if (!match) throw new Error(`no token link in mail: ${mail.text}`);
  return match[1];
}

/** pino JSON logs. Tokens, passwords and cookies are redacted. */
import pino from "pino";

export type Logger = pino.Logger;

export function makeLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "agora" },
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
        "*.password",
        "*.token",
      ],
      censor: "[redacted]",
    },
  });
}

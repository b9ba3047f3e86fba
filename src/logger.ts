/** pino JSON logs. Tokens, passwords and cookies are redacted. */
import pino from "pino";
import { activeTraceFields } from "./tracing";

export type Logger = pino.Logger;

export function makeLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "agora" },
    // With tracing on, a line written inside a request carries its reqId, trace_id and span_id.
    mixin: activeTraceFields,
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

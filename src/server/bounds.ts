/**
 * Edge bounds around each GraphQL HTTP request: a deadline, a cap on the
 * response size, and JSON errors with a code for what grafserv answers in
 * plain text (bodies that are too large, not JSON, or batched arrays).
 */
import type { RequestHandler, Response } from "express";
import type { Logger } from "../logger";

export interface BoundsOptions {
  requestTimeoutMs: number;
  maxResponseBytes: number;
  bodyLimit: string;
  logger: Logger;
}

type Headers = Record<string, string | number | readonly string[]>;

function errorBody(code: string, message: string, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ errors: [{ message, extensions: { code, ...extra } }] }));
}

interface ErrorEntry {
  message?: string;
  extensions?: Record<string, unknown>;
}

/** A clearer message for grafserv's refusals of the request itself. */
function clearer(status: number, message: string, bodyLimit: string): string {
  if (status === 413) return `The request body is larger than ${bodyLimit} (BODY_LIMIT)`;
  if (/expected object/i.test(message)) return "Send one operation per request: batched arrays of operations are not accepted";
  if (/^Parsing failed/.test(message)) return "The request body is not valid JSON";
  return message;
}

/**
 * grafserv refuses malformed requests (not JSON, a batched array, too
 * large…) with a 4xx error without a code, in JSON or plain text: give
 * them INVAL (and a clearer message), like every other refusal. Null when
 * the body is not such a refusal.
 */
function codedRefusal(status: number, contentType: string, body: Buffer, bodyLimit: string): Buffer | null {
  if (status < 400 || status >= 500 || body.length > 65_536) return null;
  if (contentType.startsWith("text/plain")) return errorBody("INVAL", clearer(status, body.toString("utf8").slice(0, 300), bodyLimit));
  if (!contentType.includes("json")) return null;
  let parsed: { errors?: ErrorEntry[] };
  try {
    parsed = JSON.parse(body.toString("utf8")) as { errors?: ErrorEntry[] };
  } catch {
    return null;
  }
  if (!Array.isArray(parsed.errors) || parsed.errors.every((e) => typeof e.extensions?.code === "string")) return null;
  for (const error of parsed.errors) {
    if (typeof error.extensions?.code === "string") continue;
    const { statusCode: _statusCode, ...rest } = error.extensions ?? {};
    error.message = clearer(status, String(error.message ?? ""), bodyLimit);
    error.extensions = { ...rest, code: "INVAL" };
  }
  return Buffer.from(JSON.stringify(parsed));
}

export function graphqlBounds(options: BoundsOptions): RequestHandler {
  const { requestTimeoutMs, maxResponseBytes, bodyLimit, logger } = options;
  return (req, res, next) => {
    const original = { writeHead: res.writeHead, write: res.write, end: res.end };
    let pending: { status: number; headers: Headers; args: unknown[] } | null = null;
    /** True while Node's own end/write run: their implicit writeHead must go through. */
    let passthrough = false;
    let timedOut = false;
    let streamed = 0;

    const send = (status: number, body: Buffer, extraHeaders: Headers = {}) => {
      const headers = { "Content-Type": "application/json; charset=utf-8", "Content-Length": body.length, ...extraHeaders };
      through(() => {
        (original.writeHead as (status: number, headers: Headers) => Response).call(res, status, headers);
        (original.end as (body: Buffer) => Response).call(res, body);
      });
    };

    // Hold the status line until we see the body: a plain-text error or an oversized body is replaced.
    res.writeHead = function (this: Response, status: number, ...rest: unknown[]) {
      if (timedOut) return this;
      if (passthrough) return (original.writeHead as (...args: unknown[]) => Response).call(this, status, ...rest);
      const headers = (rest.find((r) => r && typeof r === "object") ?? {}) as Headers;
      pending = { status, headers, args: rest };
      return this;
    } as Response["writeHead"];

    const flushHead = () => {
      if (pending && !res.headersSent) (original.writeHead as (...args: unknown[]) => Response).call(res, pending.status, ...pending.args);
      pending = null;
    };
    const through = <T>(fn: () => T): T => {
      passthrough = true;
      try {
        return fn();
      } finally {
        passthrough = false;
      }
    };

    res.write = function (this: Response, chunk: unknown, ...rest: unknown[]) {
      if (timedOut) return true;
      streamed += typeof chunk === "string" ? Buffer.byteLength(chunk) : (chunk as Buffer).length;
      if (streamed > maxResponseBytes) {
        logger.warn({ reqId: req.id, bytes: streamed }, "streamed GraphQL response over GRAPHQL_MAX_RESPONSE_BYTES; connection closed");
        res.destroy();
        return false;
      }
      flushHead();
      return through(() => (original.write as (...args: unknown[]) => boolean).call(this, chunk, ...rest));
    } as Response["write"];

    res.end = function (this: Response, chunk?: unknown, ...rest: unknown[]) {
      if (timedOut) return this;
      clearTimeout(timer);
      const body = chunk == null || typeof chunk === "function" ? null : typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      const status = pending?.status ?? res.statusCode;
      const contentType = String(pending?.headers["Content-Type"] ?? pending?.headers["content-type"] ?? res.getHeader("content-type") ?? "");
      const refusal = body && streamed === 0 ? codedRefusal(status, contentType, body, bodyLimit) : null;
      if (refusal) {
        pending = null;
        send(status, refusal, { "Content-Type": contentType.includes("json") ? contentType : "application/json; charset=utf-8" });
        return this;
      }
      if (body && streamed + body.length > maxResponseBytes) {
        const size = streamed + body.length;
        logger.warn({ reqId: req.id, bytes: size }, "GraphQL response over GRAPHQL_MAX_RESPONSE_BYTES; refused");
        pending = null;
        send(
          200,
          errorBody("RSIZE", `The response would be ${size} bytes, over the limit of ${maxResponseBytes} (GRAPHQL_MAX_RESPONSE_BYTES); ask for fewer rows or fields`, {
            bytes: size,
            max: maxResponseBytes,
          }),
        );
        return this;
      }
      flushHead();
      return through(() => (original.end as (...args: unknown[]) => Response).call(this, chunk, ...rest));
    } as Response["end"];

    const timer = setTimeout(() => {
      if (res.headersSent || res.writableEnded) return;
      timedOut = true;
      pending = null;
      logger.warn({ reqId: req.id, timeoutMs: requestTimeoutMs }, "GraphQL request past REQUEST_TIMEOUT_MS; answered TIMEO");
      send(
        503,
        errorBody("TIMEO", `The request took longer than ${requestTimeoutMs} ms (REQUEST_TIMEOUT_MS) and was stopped`, { timeoutMs: requestTimeoutMs }),
        { "Retry-After": "5" },
      );
    }, requestTimeoutMs);
    timer.unref();
    res.once("close", () => clearTimeout(timer));
    next();
  };
}

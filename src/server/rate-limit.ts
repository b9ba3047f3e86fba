/**
 * Rate-limit classes at the edge, shared by every API instance.
 *
 * Each GraphQL operation (over HTTP or WebSocket) is put in one class —
 * auth, write, search or read — and counted, before GraphQL parses,
 * validates or runs it, by one SQL call (`app_hidden.take_rate_limit`)
 * against the budget `rate_limit.api_<class>:member` when it carries a
 * verified token, `rate_limit.api_<class>:ip` otherwise (auth: always per
 * IP). Each WebSocket upgrade counts against `rate_limit.ws_connect:ip`.
 * The numbers are rows in app_private.settings; the counters are rows in
 * app_private.rate_limits, so two instances share them.
 *
 * A refusal is RLIMT with retryAfterSeconds: HTTP 429 with `RateLimit`,
 * `RateLimit-Policy` (IETF draft 8, as express-rate-limit writes them) and
 * `Retry-After`; over WebSocket, the operation's error.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";
import { SafeError } from "postgraphile/grafast";
import { getOperationAST, Kind, parse, type DocumentNode, type SelectionSetNode } from "postgraphile/graphql";
import type { AccessClaims, TokenService } from "../auth/jwt";
import type { Logger } from "../logger";
import { bearerToken } from "../auth/jwt";
import { clientOf } from "../../plugins/preset";

export type OperationClass = "auth" | "write" | "search" | "read";

/** Mutations that sign in, hand out tokens or check a password: counted per IP, whoever calls. */
export const AUTH_FIELDS: ReadonlySet<string> = new Set([
  "register",
  "login",
  "refreshSession",
  "forgotPassword",
  "resetPassword",
  "verifyEmail",
  "changePassword",
]);

/** Fields whose work is a search (full text and fuzzy). */
export const SEARCH_FIELDS: ReadonlySet<string> = new Set(["search", "searchSuggestions"]);

/** A parse of a hostile document must stay cheap; past this many tokens it is a read, and validation refuses it. */
const MAX_TOKENS_TO_CLASSIFY = 5000;
const CACHE_SIZE = 500;
const cache = new Map<string, OperationClass>();

function fieldNames(selectionSet: SelectionSetNode, document: DocumentNode, seen = new Set<string>(), out = new Set<string>(), deep = true): Set<string> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      out.add(selection.name.value);
      if (deep && selection.selectionSet) fieldNames(selection.selectionSet, document, seen, out, deep);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      fieldNames(selection.selectionSet, document, seen, out, deep);
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value); // fragment cycles are refused by validation; here they just stop
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value);
      if (fragment && fragment.kind === Kind.FRAGMENT_DEFINITION) fieldNames(fragment.selectionSet, document, seen, out, deep);
    }
  }
  return out;
}

function classifyUncached(query: string, operationName: string | null | undefined): OperationClass {
  let document: DocumentNode;
  try {
    document = parse(query, { noLocation: true, maxTokens: MAX_TOKENS_TO_CLASSIFY });
  } catch {
    return "read";
  }
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return "read";
  if (operation.operation === "mutation") {
    const roots = fieldNames(operation.selectionSet, document, new Set(), new Set(), false);
    return [...roots].some((name) => AUTH_FIELDS.has(name)) ? "auth" : "write";
  }
  return [...fieldNames(operation.selectionSet, document)].some((name) => SEARCH_FIELDS.has(name)) ? "search" : "read";
}

/**
 * The class of an operation: a mutation with an auth root field → auth,
 * another mutation → write, a query or subscription selecting a search
 * field anywhere → search, anything else (including documents that do not
 * parse) → read. Cached by document text, like grafserv's own parse cache.
 */
export function classifyOperation(query: unknown, operationName?: unknown): OperationClass {
  if (typeof query !== "string") return "read";
  const name = typeof operationName === "string" ? operationName : null;
  const cacheKey = name === null ? query : `${name}\u0000${query}`;
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const result = classifyUncached(query, name);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(cacheKey, result);
  return result;
}

/** The budget an operation is counted against, and the key within it. */
export function bucketFor(kind: OperationClass, claims: AccessClaims | null | undefined, ip: string | null): { bucket: string; key: string } {
  if (kind !== "auth" && claims) return { bucket: `api_${kind}:member`, key: claims.sub };
  return { bucket: `api_${kind}:ip`, key: ip ?? "unknown" };
}

export interface Verdict {
  bucket: string;
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
  windowSeconds: number;
}

/**
 * Refusal. A SafeError, so grafserv answers it itself: over HTTP with the
 * status in extensions.statusCode (429), over WebSocket as the operation's
 * error. Either way extensions carry code RLIMT and retryAfterSeconds.
 */
export class RateLimitedError extends SafeError {
  constructor(
    readonly verdict: Verdict,
    http: boolean,
  ) {
    super(`Too many requests; try again in ${verdict.resetSeconds} seconds`, {
      code: "RLIMT",
      retryAfterSeconds: verdict.resetSeconds,
      ...(http ? { statusCode: 429 } : {}),
    });
    this.name = "RateLimitedError";
  }
}

/** `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-08). */
export function rateLimitHeaders(verdict: Verdict): Record<string, string> {
  const policy = verdict.bucket.replace(/[^A-Za-z0-9_]/g, "_");
  return {
    "RateLimit-Policy": `"${policy}"; q=${verdict.limit}; w=${verdict.windowSeconds}`,
    RateLimit: `"${policy}"; r=${verdict.remaining}; t=${verdict.resetSeconds}`,
  };
}

export interface RateLimitObserver {
  /** Seconds the SQL call took, and whether it refused. */
  observe(bucket: string, seconds: number, allowed: boolean): void;
  /** The SQL call failed. */
  failed(bucket: string): void;
}

export interface RateLimiter {
  /** null: the limiter could not answer (logged); the request goes on. */
  take(bucket: string, key: string): Promise<Verdict | null>;
}

const TAKE = "select allowed, max_hits, remaining, reset_seconds, window_seconds from app_hidden.take_rate_limit($1, $2)";
const ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * The limiter fails open: when its SQL call fails (the database is down, or
 * a budget's setting row is missing) the request proceeds — it will meet
 * the same database anyway — and the failure is logged at most once a
 * minute and counted (agora_rate_limit_errors_total).
 */
export function makeRateLimiter(pool: pg.Pool, logger: Logger, observer?: RateLimitObserver): RateLimiter {
  let lastLogged = 0;
  return {
    async take(bucket, key) {
      const started = performance.now();
      try {
        // A named statement: parsed and planned once per connection.
        const { rows } = await pool.query<{ allowed: boolean | null; max_hits: number; remaining: number; reset_seconds: number; window_seconds: number }>({
          name: "agora_take_rate_limit",
          text: TAKE,
          values: [bucket, key],
        });
        const row = rows[0];
        if (!row || row.allowed === null) throw new Error(`no setting rate_limit.${bucket} in app_private.settings`);
        observer?.observe(bucket, (performance.now() - started) / 1000, row.allowed);
        return {
          bucket,
          allowed: row.allowed,
          limit: row.max_hits,
          remaining: row.remaining,
          resetSeconds: row.reset_seconds,
          windowSeconds: row.window_seconds,
        };
      } catch (error) {
        observer?.failed(bucket);
        if (Date.now() - lastLogged > ERROR_LOG_INTERVAL_MS) {
          lastLogged = Date.now();
          logger.error({ err: error, bucket }, "rate limiter unavailable; letting requests through");
        }
        return null;
      }
    },
  };
}

/** Writes the headers; on refusal also Retry-After, and throws RateLimitedError. */
export async function enforce(limiter: RateLimiter, bucket: string, key: string, res: ServerResponse | null): Promise<void> {
  const verdict = await limiter.take(bucket, key);
  if (!verdict) return;
  if (res && !res.headersSent) {
    for (const [name, value] of Object.entries(rateLimitHeaders(verdict))) res.setHeader(name, value);
    if (!verdict.allowed) res.setHeader("Retry-After", String(verdict.resetSeconds));
  }
  if (!verdict.allowed) throw new RateLimitedError(verdict, res !== null);
}

function wsClaims(tokens: TokenService, params: Record<string, unknown> | undefined): AccessClaims | null {
  try {
    const token = bearerToken(params?.authorization as string | undefined);
    return token === null ? null : tokens.verify(token);
  } catch {
    return null; // a bad token is refused when the operation is planned; here it counts per IP
  }
}

/**
 * The grafserv plugin: counts each operation once its body is read, before
 * it is parsed, validated or run. HTTP requests carry `req.auth`, set by
 * the bearer middleware; WebSocket operations carry the token in
 * connectionParams.
 */
export function makeRateLimitPlugin(limiter: RateLimiter, tokens: TokenService): GraphileConfig.Plugin {
  return {
    name: "AgoraRateLimitPlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        async processGraphQLRequestBody(next, event) {
          const body = event.body as { query?: unknown; operationName?: unknown };
          const kind = classifyOperation(body.query, body.operationName);
          const http = event.request?.requestContext.expressv4;
          if (http) {
            const { bucket, key } = bucketFor(kind, http.req.auth, clientOf(http.req).ip);
            await enforce(limiter, bucket, key, http.res);
          } else if (event.graphqlWsContext) {
            const ctx = event.graphqlWsContext;
            const request = (ctx.extra as { request?: IncomingMessage } | undefined)?.request;
            const claims = wsClaims(tokens, ctx.connectionParams as Record<string, unknown> | undefined);
            const { bucket, key } = bucketFor(kind, claims, clientOf(request).ip);
            await enforce(limiter, bucket, key, null);
          }
          return next();
        },
      },
    },
  };
}

/**
 * WebSocket upgrades: one hit on `ws_connect:ip` each. A refused upgrade is
 * answered 429 with the same headers and JSON body as HTTP, and closed.
 * Resolves true when the upgrade may proceed.
 */
export async function admitWebSocket(limiter: RateLimiter, req: IncomingMessage & { ip?: string }, socket: NodeJS.WritableStream & { destroy(): void }): Promise<boolean> {
  const verdict = await limiter.take("ws_connect:ip", clientOf(req).ip ?? "unknown");
  if (!verdict || verdict.allowed) return true;
  const error = new RateLimitedError(verdict, false);
  const body = JSON.stringify({ errors: [{ message: error.message, extensions: error.extensions }] });
  const headers = { ...rateLimitHeaders(verdict), "Retry-After": String(verdict.resetSeconds), "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)), Connection: "close" };
  socket.end(`HTTP/1.1 429 Too Many Requests\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n${body}`);
  return false;
}

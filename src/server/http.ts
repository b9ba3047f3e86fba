/**
 * The express edge in front of GraphQL: request ids and logs, metrics,
 * security headers, a per-instance flood guard, health, and bearer-token
 * verification. The shared rate-limit classes count GraphQL operations
 * once grafserv has read their body (src/server/rate-limit.ts).
 */
import { randomUUID } from "node:crypto";
import express, { type ErrorRequestHandler, type Express } from "express";
import helmet from "helmet";
import { rateLimit } from "express-rate-limit";
import { pinoHttp } from "pino-http";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { bearerAuth } from "../auth/middleware";
import type { TokenService } from "../auth/jwt";
import { healthRouter, type ReadinessSources } from "./health";
import type { Metrics } from "./metrics";
import { tagActiveSpanWithRequestId } from "../tracing";
import { graphqlBounds } from "./bounds";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Ruru (the GraphQL explorer) runs inline scripts and web workers; only its page gets this policy. */
const RURU_CSP = {
  useDefaults: true,
  directives: {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'unsafe-inline'", "'unsafe-eval'", "blob:"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "worker-src": ["'self'", "blob:"],
    "connect-src": ["'self'", "ws:", "wss:"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
  },
};

export function buildHttpApp(options: {
  config: Config;
  logger: Logger;
  tokens: TokenService;
  readiness: ReadinessSources;
  metrics: Metrics;
}): Express {
  const { config, logger, metrics } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  app.use(metrics.httpMiddleware);

  app.use(
    pinoHttp({
      logger,
      genReqId(req, res) {
        const incoming = req.headers["x-request-id"];
        const id = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader("X-Request-Id", id);
        tagActiveSpanWithRequestId(id);
        return id;
      },
      autoLogging: { ignore: (req) => (req.url?.startsWith("/health/") || req.url === "/metrics") ?? false },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  const strict = helmet();
  const ruru = helmet({ contentSecurityPolicy: RURU_CSP });
  app.use((req, res, next) => {
    const isRuru = config.ruru && (req.path === "/ruru" || req.path.startsWith("/ruru-static/"));
    return (isRuru ? ruru : strict)(req, res, next);
  });

  app.use(healthRouter(options.readiness));
  // With METRICS_TOKEN, Prometheus may scrape the API port itself (see docs/observability.md).
  if (config.metrics.onApiPort) app.get("/metrics", metrics.handler(config.metrics.token));
  // Public keys for verifying access tokens (RS256/ES256); empty for HS256.
  app.get("/.well-known/jwks.json", (_req, res) => {
    res.set("Cache-Control", "public, max-age=300").json(options.tokens.jwks());
  });

  // A per-instance flood guard, before any database work. The budgets that
  // every instance shares are the rate-limit classes (src/server/rate-limit.ts).
  app.use(
    rateLimit({
      windowMs: config.rateLimit.windowMs,
      limit: config.rateLimit.max,
      standardHeaders: "draft-8",
      legacyHeaders: false,
      handler(_req, res, _next, opts) {
        const retryAfter = Math.ceil(opts.windowMs / 1000);
        res.status(opts.statusCode).json({
          errors: [
            {
              message: `Too many requests; try again in ${retryAfter} seconds`,
              extensions: { code: "RLIMT", retryAfterSeconds: retryAfter },
            },
          ],
        });
      },
    }),
  );

  app.use(
    "/graphql",
    graphqlBounds({
      requestTimeoutMs: config.limits.requestTimeoutMs,
      maxResponseBytes: config.limits.maxResponseBytes,
      bodyLimit: config.bodyLimit,
      logger,
    }),
  );
  app.use("/graphql", bearerAuth(options.tokens));
  return app;
}

/** Added after GraphQL is mounted: JSON 404s and a last-resort error handler. */
export function addFallbackHandlers(app: Express, logger: Logger): void {
  app.use((_req, res) => {
    res.status(404).json({ errors: [{ message: "Not found", extensions: { code: "NOTFD" } }] });
  });
  const onError: ErrorRequestHandler = (error, req, res, _next) => {
    const status = typeof error?.status === "number" && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error, reqId: req.id }, "unhandled request error");
    const message = status === 500 ? "Internal server error" : String(error.message ?? "Bad request");
    // Refusals thrown before GraphQL parses (plugins/limits.ts, plugins/persisted.ts) carry their own code.
    const own = error?.extensions?.code;
    const code = status === 500 ? "INTERNAL" : typeof own === "string" && /^[A-Z]{5}$/.test(own) ? own : "INVAL";
    res.status(status).json({ errors: [{ message, extensions: { ...(status === 500 ? {} : error?.extensions), code } }] });
  };
  app.use(onError);
}

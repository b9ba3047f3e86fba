/**
 * Prometheus metrics (prom-client), one registry per server.
 *
 * Labels are bounded: HTTP routes come from a fixed list, GraphQL operation
 * names are kept for the first MAX_OPERATION_NAMES distinct names and
 * become "other" after, task names likewise, outcomes are error codes.
 * Served at GET /metrics only when protected: on a separate listener
 * (METRICS_PORT, bound to METRICS_HOST) and/or behind a bearer token
 * (METRICS_TOKEN); see docs/observability.md.
 */
import { timingSafeEqual, createHash } from "node:crypto";
import http from "node:http";
import express, { type Request, type RequestHandler, type Response } from "express";
import type pg from "pg";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { WorkerEvents } from "graphile-worker";
import type { MetricsConfig } from "../config";
import type { Logger } from "../logger";
import type { RateLimitObserver } from "./rate-limit";
import type { LivePath } from "../../plugins/realtime-direct";

export const MAX_OPERATION_NAMES = 200;
export const MAX_TASK_NAMES = 50;

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const KNOWN_ROUTES = ["/graphql", "/health/live", "/health/ready", "/.well-known/jwks.json", "/metrics", "/ruru"];

/** A bounded label: the first `max` distinct values pass, later ones are "other". */
export function boundedLabel(max: number, pattern = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/) {
  const seen = new Set<string>();
  return (value: string): string => {
    if (seen.has(value)) return value;
    if (!pattern.test(value) || seen.size >= max) return "other";
    seen.add(value);
    return value;
  };
}

export function routeOf(path: string): string {
  if (KNOWN_ROUTES.includes(path)) return path;
  if (path.startsWith("/ruru-static/")) return "/ruru-static/*";
  return "other";
}

export interface Metrics extends RateLimitObserver {
  registry: Registry;
  /** Express middleware: counts and times every request by route and status. */
  httpMiddleware: RequestHandler;
  /** A GraphQL operation finished (or, for subscriptions, started). */
  operation(name: string | null, type: string, outcome: string, seconds: number): void;
  watchPool(name: string, pool: pg.Pool): void;
  watchWebSockets(count: () => number): void;
  /** A live subscription started, served directly from the room's events or through its Grafast plan (plugins/realtime-direct.ts). */
  liveSubscription(path: LivePath): void;
  watchWorker(events: WorkerEvents): void;
  /** Queue depth is read at scrape time with this pool (the owner's). */
  watchJobQueue(pool: pg.Pool): void;
  /** GET /metrics: the registry in the Prometheus text format. */
  handler(token: string | null): RequestHandler;
}

const QUEUE_DEPTH = `
  select task_identifier as task,
         count(*) filter (where attempts >= max_attempts) as failed,
         count(*) filter (where attempts < max_attempts and locked_at is not null) as running,
         count(*) filter (where attempts < max_attempts and locked_at is null and run_at <= now()) as ready,
         count(*) filter (where attempts < max_attempts and locked_at is null and run_at > now()) as scheduled
    from graphile_worker.jobs
   group by task_identifier`;

export function makeMetrics(logger: Logger): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const operationName = boundedLabel(MAX_OPERATION_NAMES);
  const taskName = boundedLabel(MAX_TASK_NAMES, /^[A-Za-z0-9_.:-]{1,100}$/);

  const httpRequests = new Counter({
    name: "agora_http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "agora_http_request_duration_seconds",
    help: "HTTP request duration (until the response is finished) by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const operations = new Counter({
    name: "agora_graphql_operations_total",
    help: "GraphQL operations (HTTP and WebSocket) by operation name, type and outcome (ok or error code)",
    labelNames: ["operation", "type", "outcome"] as const,
    registers: [registry],
  });
  const operationDuration = new Histogram({
    name: "agora_graphql_operation_duration_seconds",
    help: "GraphQL execution time (planning + SQL + output), by operation name, type and outcome",
    labelNames: ["operation", "type", "outcome"] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const rateLimitChecks = new Histogram({
    name: "agora_rate_limit_check_duration_seconds",
    help: "Time of the edge rate limiter's SQL call",
    labelNames: ["bucket"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  });
  const refusals = new Counter({
    name: "agora_rate_limit_refusals_total",
    help: "Requests refused by the edge rate limiter (RLIMT), by budget",
    labelNames: ["bucket"] as const,
    registers: [registry],
  });
  const limiterErrors = new Counter({
    name: "agora_rate_limit_errors_total",
    help: "Edge rate-limit checks that failed (database error or missing setting); such requests are let through",
    labelNames: ["bucket"] as const,
    registers: [registry],
  });
  const jobs = new Counter({
    name: "agora_jobs_total",
    help: "Jobs run by this process's worker, by task and outcome (success, error = will retry, failed = gave up)",
    labelNames: ["task", "outcome"] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: "agora_job_duration_seconds",
    help: "Job run time in this process's worker, by task",
    labelNames: ["task"] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  const pools: Array<[string, pg.Pool]> = [];
  new Gauge({
    name: "agora_db_pool_clients",
    help: "Database pool clients by pool and state (in_use, idle, waiting = requests queued for a client, max)",
    labelNames: ["pool", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, pool] of pools) {
        this.set({ pool: name, state: "in_use" }, pool.totalCount - pool.idleCount);
        this.set({ pool: name, state: "idle" }, pool.idleCount);
        this.set({ pool: name, state: "waiting" }, pool.waitingCount);
        this.set({ pool: name, state: "max" }, pool.options.max ?? 10);
      }
    },
  });

  let webSockets: (() => number) | null = null;
  new Gauge({
    name: "agora_websocket_connections",
    help: "Open WebSocket connections (graphql-ws)",
    registers: [registry],
    collect() {
      this.set(webSockets ? webSockets() : 0);
    },
  });

  const liveSubscriptions = new Counter({
    name: "agora_live_subscriptions_total",
    help: "Live subscriptions started, by path (direct = roomEvents projected once per event and document; planned = through Grafast per subscriber)",
    labelNames: ["path"] as const,
    registers: [registry],
  });

  let queuePool: pg.Pool | null = null;
  new Gauge({
    name: "agora_jobs_queue_depth",
    help: "Jobs in graphile-worker's queue by task and state (ready, scheduled, running, failed); read from the database at scrape time",
    labelNames: ["task", "state"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!queuePool) return;
      try {
        const { rows } = await queuePool.query<{ task: string; failed: string; running: string; ready: string; scheduled: string }>(QUEUE_DEPTH);
        for (const row of rows) {
          const task = taskName(row.task);
          for (const state of ["ready", "scheduled", "running", "failed"] as const) this.inc({ task, state }, Number(row[state]));
        }
      } catch (error) {
        logger.warn({ err: error }, "metrics: could not read the job queue depth");
      }
    },
  });

  return {
    registry,
    httpMiddleware(req, res, next) {
      const started = performance.now();
      res.once("finish", () => {
        const labels = { method: req.method, route: routeOf(req.path), status: String(res.statusCode) };
        httpRequests.inc(labels);
        httpDuration.observe(labels, (performance.now() - started) / 1000);
      });
      next();
    },
    operation(name, type, outcome, seconds) {
      const labels = { operation: name === null ? "anonymous" : operationName(name), type, outcome };
      operations.inc(labels);
      operationDuration.observe(labels, seconds);
    },
    observe(bucket, seconds, allowed) {
      rateLimitChecks.observe({ bucket }, seconds);
      if (!allowed) refusals.inc({ bucket });
    },
    failed(bucket) {
      limiterErrors.inc({ bucket });
    },
    watchPool(name, pool) {
      pools.push([name, pool]);
    },
    watchWebSockets(count) {
      webSockets = count;
    },
    liveSubscription(path) {
      liveSubscriptions.inc({ path });
    },
    watchWorker(events) {
      const started = new Map<string, number>();
      events.on("job:start", ({ job }) => void started.set(job.id, performance.now()));
      events.on("job:success", ({ job }) => jobs.inc({ task: taskName(job.task_identifier), outcome: "success" }));
      events.on("job:error", ({ job }) => jobs.inc({ task: taskName(job.task_identifier), outcome: "error" }));
      events.on("job:failed", ({ job }) => jobs.inc({ task: taskName(job.task_identifier), outcome: "failed" }));
      events.on("job:complete", ({ job }) => {
        const t0 = started.get(job.id);
        started.delete(job.id);
        if (t0 !== undefined) jobDuration.observe({ task: taskName(job.task_identifier) }, (performance.now() - t0) / 1000);
      });
    },
    watchJobQueue(pool) {
      queuePool = pool;
    },
    handler(token) {
      const expected = token === null ? null : createHash("sha256").update(token).digest();
      return async (req: Request, res: Response) => {
        if (expected) {
          const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
          if (!timingSafeEqual(createHash("sha256").update(given).digest(), expected)) {
            res
              .status(401)
              .set("WWW-Authenticate", `Bearer realm="metrics"`)
              .json({ errors: [{ message: "A valid metrics token is required", extensions: { code: "TOKEN" } }] });
            return;
          }
        }
        res.set("Content-Type", registry.contentType).send(await registry.metrics());
      };
    },
  };
}

/** The separate metrics listener (METRICS_PORT on METRICS_HOST): GET /metrics and nothing else. */
export async function listenMetrics(config: MetricsConfig, metrics: Metrics): Promise<{ server: http.Server; url: string }> {
  const app = express();
  app.disable("x-powered-by");
  app.get("/metrics", metrics.handler(config.token));
  app.use((_req, res) => void res.status(404).json({ errors: [{ message: "Not found", extensions: { code: "NOTFD" } }] }));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port ?? 0, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  return { server, url: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}` };
}

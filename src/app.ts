/**
 * Agora's lifecycle: database → worker → GraphQL server, and the orderly
 * shutdown in reverse. Used by `npm start`, by tests (on a free port) and
 * by the benchmark (bench/server.ts).
 */
import cluster from "node:cluster";
import http from "node:http";
import type { Router } from "express";
import type { Socket } from "node:net";
import pg from "pg";
import type { GraphQLSchema } from "graphql";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/express/v4";
import type { Config } from "./config";
import type { Logger } from "./logger";
import { claimsOfAuthorization, makeTokenService, type TokenService } from "./auth/jwt";
import { bearerAuth } from "./auth/middleware";
import { makeAuthService, type AuthService } from "./auth/sessions";
import { openDatabase, type DatabaseConnections } from "./db/connections";
import { endPool, makePool } from "./db/pool";
import { loadOrCreateDevSecrets } from "./db/secrets";
import { makePreset } from "../plugins/preset";
import proxyAddr from "proxy-addr";
import { MAX_PAGE_SIZE } from "../plugins/page-size";
import { addFallbackHandlers, buildHttpApp } from "./server/http";
import { listenMetrics, makeMetrics, type Metrics } from "./server/metrics";
import { admitWebSocket, makeRateLimiter, makeRateLimitPlugin, type RateLimiter } from "./server/rate-limit";
import { makeGraphQLObserverPlugin } from "./server/graphql-observer";
import { startWorker, type WorkerHandle } from "./worker/runner";
import { attachGraphQLWebSocket } from "./server/websocket";
import { apiSessionUrl, ownerSessionUrl } from "./db/session-settings";
import { makeLimitsPlugin } from "../plugins/limits";
import { makePersistedOperationsPlugin } from "../plugins/persisted";
import { unsubscribeRouter } from "./server/unsubscribe";
import { makeRealtimePlugins } from "../plugins/realtime";
import { Connections } from "./realtime/connections";
import { RealtimeHub } from "./realtime/hub";
import { RealtimeListener } from "./realtime/listener";

import { makeFilesPlugin } from "../plugins/files";
import { makeFileServices } from "./files";
import { filesRouter } from "./files/routes";
import type { FileStorage } from "./files/storage";

export interface Agora {
  port: number;
  url: string;
  db: DatabaseConnections;
  tokens: TokenService;
  authPool: pg.Pool;
  ownerPool: pg.Pool;
  worker: WorkerHandle | null;
  /** The separate metrics listener (METRICS_PORT), when configured. */
  metricsUrl: string | null;
  metrics: Metrics;
  /** Where uploaded files' bytes live (docs/files.md). */
  fileStorage: FileStorage;
  /** Live delivery (docs/realtime.md): the hub, this instance's connections, the LISTEN connection. */
  realtime: { hub: RealtimeHub; connections: Connections; listener: RealtimeListener };
  /** The GraphQL schema being served (its `extensions.grafast` hold the plan cache). */
  graphqlSchema(): Promise<GraphQLSchema>;
  /** Idempotent; resolves when everything (including the embedded database) has stopped. */
  stop(): Promise<void>;
}

/** A WebSocket close frame, code 1001 "going away", as a server sends it. */
const GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/** The `authorization` entry of graphql-ws connectionParams, whatever its case. */
function authorizationParam(params: Record<string, unknown> | undefined): string | undefined {
  const key = Object.keys(params ?? {}).find((k) => k.toLowerCase() === "authorization");
  const value = key ? params![key] : undefined;
  return typeof value === "string" ? value : undefined;
}

function bodyLimitBytes(limit: string): number {
  const [, n, unit] = /^(\d+)(b|kb|mb)$/i.exec(limit) ?? [];
  return Number(n) * ({ b: 1, kb: 1024, mb: 1024 * 1024 }[unit.toLowerCase() as "b" | "kb" | "mb"]);
}

/** The access-token signer and verifier, with the configured key (or the development secret kept in DATA_DIR). */
export function appTokenService(config: Config): TokenService {
  return makeTokenService({
    ...config.jwt,
    secret:
      config.jwt.algorithm === "HS256" ? (config.jwt.secret ?? loadOrCreateDevSecrets(config.embedded.dataDir).jwtSecret) : null,
  });
}

/**
 * The extension point for HTTP endpoints that are not GraphQL: routes mounted
 * on the same edge, before GraphQL, behind the same request ids, logging,
 * security headers and rate limit, with the bearer token verified
 * (`req.auth` holds the claims). They get the API's pool (queries run as the
 * authenticator: set the request's role and claims, e.g. with the preset's
 * `requestSettings`), the auth service, and the shared rate limiter (to
 * count a request against a class's budget as GraphQL operations are). Used
 * today by the benchmark's hand-written endpoint (bench/endpoint.ts, via
 * bench/server.ts) and its test.
 */
export type ExtraRoutes = (deps: { authPool: pg.Pool; auth: AuthService; limiter: RateLimiter }) => Router;

export async function startAgora(config: Config, logger: Logger, extraRoutes?: ExtraRoutes): Promise<Agora> {
  // An API process of API_PROCESSES > 1 uses the database its primary opened and migrated (src/cluster.ts).
  const db = await openDatabase(config, logger, { migrate: !cluster.isWorker });
  const cleanups: Array<() => Promise<void>> = [async () => db.embedded?.stop()];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((error) => logger.error({ err: error }, "error during shutdown"));
    }
  };
  try {
    const tokens = appTokenService(config);
    const { limits } = config;
    // Deadlines in the database: a statement past its timeout is cancelled by PostgreSQL itself (57014 → TIMEO).
    const ownerUrl = ownerSessionUrl(db.ownerUrl, limits);
    const authPool = makePool({ name: "auth", connectionString: apiSessionUrl(db.authUrl, limits), max: config.db.poolMax, logger });
    const ownerPool = makePool({ name: "owner", connectionString: ownerUrl, max: 2, logger });
    // endPool waits until the connections are closed, so the database stops after them.
    cleanups.push(() => endPool(authPool), () => endPool(ownerPool));

    const metrics = makeMetrics(logger);
    metrics.watchPool("auth", authPool);
    metrics.watchPool("owner", ownerPool);
    metrics.watchJobQueue(ownerPool);

    const worker = config.worker.enabled
      ? await startWorker({ config, connectionString: ownerUrl, logger })
      : null;
    if (worker) cleanups.push(() => worker.stop());
    if (worker) metrics.watchWorker(worker.runner.events);

    // Live delivery: one LISTEN connection, one small owner pool for the per-event queries (docs/realtime.md).
    const realtimePool = makePool({ name: "realtime", connectionString: ownerUrl, max: config.realtime.poolMax, logger });
    cleanups.push(() => endPool(realtimePool));
    const connections = new Connections(realtimePool, tokens, logger, config.realtime.heartbeatMs);
    const hub = new RealtimeHub(realtimePool, connections, logger, config.realtime.maxSendBufferBytes, config.realtime.maxQueuedEvents);
    const listener = new RealtimeListener(ownerUrl, logger, (payload) => hub.onAnnouncement(payload), () => hub.gap());
    await listener.start();
    cleanups.push(() => listener.stop());
    connections.startHeartbeat();
    cleanups.push(() => connections.stop());

    let shuttingDown = false;
    const app = buildHttpApp({
      config,
      logger,
      tokens,
      metrics,
      readiness: { authPool, ownerPool, worker, realtime: listener.status, isShuttingDown: () => shuttingDown },
    });
    // Slow clients: the whole request (headers and body) must arrive within HTTP_RECEIVE_TIMEOUT_MS (408 after).
    const server = http.createServer(
      { requestTimeout: limits.receiveTimeoutMs, headersTimeout: limits.receiveTimeoutMs, connectionsCheckingInterval: 1000 },
      app,
    );
    const upgraded = new Set<Socket>();
    server.on("upgrade", (_req, socket: Socket) => {
      upgraded.add(socket);
      socket.once("close", () => upgraded.delete(socket));
    });
    metrics.watchWebSockets(() => upgraded.size);
    const limiter = makeRateLimiter(authPool, logger, metrics);

    const auth = makeAuthService(ownerPool, tokens);
    // One-click unsubscribe from notification e-mails: no login, a signed token (docs/notifications.md).
    app.use(unsubscribeRouter(ownerPool));

    const files = makeFileServices(config);
    app.use(
      filesRouter({
        authPool,
        ownerPool,
        storage: files.storage,
        signer: files.signer,
        tokens,
        logger,
        tmpDir: config.files.tmpDir,
        publicMaxAgeSeconds: config.files.publicMaxAgeSeconds,
      }),
    );
    if (extraRoutes) app.use(bearerAuth(tokens), extraRoutes({ authPool, auth, limiter }));
    const preset = makePreset({
      pool: authPool,
      introspectionStatementTimeoutMs: limits.ownerStatementTimeoutMs,
      claimsOf: (authorization) => claimsOfAuthorization(tokens, authorization),
      auth,
      ruru: config.ruru,
      cacheLimits: config.graphqlCaches,
      logError: (level, fields, message) => logger[level](fields, message),
      extend: [
        {
          plugins: [
            makeRateLimitPlugin(limiter, tokens),
            makeGraphQLObserverPlugin(metrics),
            makeFilesPlugin(files.urls),
            makeLimitsPlugin({ ...limits.graphql, defaultListSize: MAX_PAGE_SIZE }),
            ...makeRealtimePlugins(hub, (path) => metrics.liveSubscription(path)),
            ...(limits.operations === "allow-list" ? [makePersistedOperationsPlugin(limits.operationsManifest)] : []),
          ],
        },
      ],
    });
    preset.grafserv = { ...preset.grafserv, maxRequestLength: bodyLimitBytes(config.bodyLimit) };
    const pgl = postgraphile(preset);
    const serv = pgl.createServ(grafserv);
    await serv.addTo(app, server, false);
    // WebSockets: our graphql-ws endpoint (grafserv's allows 100 MiB messages;
    // src/server/websocket.ts), behind the connect budget. The upgrade request
    // gets the client address express would give it (TRUST_PROXY).
    const trust = app.get("trust proxy fn") as Parameters<typeof proxyAddr>[1];
    const detachWebSocket = attachGraphQLWebSocket({
      server,
      serv,
      graphqlPath: "/graphql",
      maxMessageBytes: limits.wsMaxMessageBytes,
      keepaliveMs: config.realtime.keepaliveMs,
      connect: (socket, params) => connections.open(socket, authorizationParam(params)),
      admit: (req, socket) => {
        (req as http.IncomingMessage & { ip?: string }).ip = proxyAddr(req, trust);
        return admitWebSocket(limiter, req, socket);
      },
    });
    cleanups.push(async () => detachWebSocket());
    addFallbackHandlers(app, logger);
    // pgl.release() does not release the pools of makePgService services, and
    // the process would never exit: release them too (this ends the LISTEN client of subscriptions); our pools end after.
    cleanups.push(async () => {
      for (const service of preset.pgServices ?? []) await service.release?.();
    });
    cleanups.push(async () => pgl.release());

    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const metricsServer = config.metrics.port === null ? null : await listenMetrics(config.metrics, metrics);
    if (metricsServer) cleanups.push(() => new Promise<void>((resolve) => metricsServer.server.close(() => resolve())));

    let stopping: Promise<void> | null = null;
    const stop = () => {
      stopping ??= (async () => {
        shuttingDown = true;
        // 1. Stop accepting; let in-flight requests finish, within a bound.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // 2. Close WebSockets (subscriptions) with "going away"; their registrations go in one statement (cleanup).
        connections.beginShutdown();
        for (const socket of upgraded) {
          socket.end(GOING_AWAY);
          setTimeout(() => socket.destroy(), 500).unref();
        }
        const drained = await Promise.race([
          closed.then(() => true),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), config.shutdownTimeoutMs).unref()),
        ]);
        if (!drained) {
          logger.warn({ timeoutMs: config.shutdownTimeoutMs }, "requests still running at the shutdown deadline; closing them");
          server.closeAllConnections();
          for (const socket of upgraded) socket.destroy();
          await closed;
        }
        // 3. GraphQL, worker, pools, embedded database — in reverse order of start.
        await cleanup();
      })();
      return stopping;
    };

    const url = `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`;
    return { port, url, db, tokens, authPool, ownerPool, worker, metricsUrl: metricsServer?.url ?? null, metrics, fileStorage: files.storage, realtime: { hub, connections, listener }, graphqlSchema: async () => pgl.getSchema(), stop };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

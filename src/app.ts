/**
 * Agora's lifecycle: database → worker → GraphQL server, and the orderly
 * shutdown in reverse. Used by `npm start`, by tests (on a free port) and
 * by the benchmark.
 */
import http from "node:http";
import type { Router } from "express";
import type { Socket } from "node:net";
import pg from "pg";
import type { GraphQLSchema } from "graphql";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/express/v4";
import type { Config } from "./config";
import type { Logger } from "./logger";
import { makeTokenService, type TokenService } from "./auth/jwt";
import { bearerAuth } from "./auth/middleware";
import { makeAuthService, type AuthService } from "./auth/sessions";
import { openDatabase, type DatabaseConnections } from "./db/connections";
import { loadOrCreateDevSecrets } from "./db/secrets";
import { makePreset } from "../plugins/preset";
import { addFallbackHandlers, buildHttpApp } from "./server/http";
import { startWorker, type WorkerHandle } from "./worker/runner";

export interface Agora {
  port: number;
  url: string;
  db: DatabaseConnections;
  tokens: TokenService;
  authPool: pg.Pool;
  ownerPool: pg.Pool;
  worker: WorkerHandle | null;
  /** The GraphQL schema being served (its `extensions.grafast` hold the plan cache). */
  graphqlSchema(): Promise<GraphQLSchema>;
  /** Idempotent; resolves when everything (including the embedded database) has stopped. */
  stop(): Promise<void>;
}

/** A WebSocket close frame, code 1001 "going away", as a server sends it. */
const GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

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

/** Extra routes mounted behind the same edge (the benchmark's hand-written endpoint). */
export type ExtraRoutes = (deps: { authPool: pg.Pool; auth: AuthService }) => Router;

export async function startAgora(config: Config, logger: Logger, extraRoutes?: ExtraRoutes): Promise<Agora> {
  const db = await openDatabase(config, logger);
  const cleanups: Array<() => Promise<void>> = [async () => db.embedded?.stop()];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((error) => logger.error({ err: error }, "error during shutdown"));
    }
  };
  try {
    const tokens = appTokenService(config);
    const authPool = new pg.Pool({ connectionString: db.authUrl, max: config.db.poolMax });
    const ownerPool = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
    for (const pool of [authPool, ownerPool]) pool.on("error", (err) => logger.warn({ err }, "idle database client error"));
    cleanups.push(() => authPool.end(), () => ownerPool.end());

    const worker = config.worker.enabled
      ? await startWorker({ config, connectionString: db.ownerUrl, logger })
      : null;
    if (worker) cleanups.push(() => worker.stop());

    let shuttingDown = false;
    const app = buildHttpApp({
      config,
      logger,
      tokens,
      readiness: { authPool, ownerPool, worker, isShuttingDown: () => shuttingDown },
    });
    const server = http.createServer(app);
    const upgraded = new Set<Socket>();
    server.on("upgrade", (_req, socket: Socket) => {
      upgraded.add(socket);
      socket.once("close", () => upgraded.delete(socket));
    });

    const auth = makeAuthService(ownerPool, tokens);
    if (extraRoutes) app.use(bearerAuth(tokens), extraRoutes({ authPool, auth }));
    const preset = makePreset({
      pool: authPool,
      tokens,
      auth,
      ruru: config.ruru,
      cacheLimits: config.graphqlCaches,
      logError: ({ errorId, error }) => logger.error({ err: error, errorId }, "masked GraphQL error"),
    });
    preset.grafserv = { ...preset.grafserv, maxRequestLength: bodyLimitBytes(config.bodyLimit) };
    const pgl = postgraphile(preset);
    const serv = pgl.createServ(grafserv);
    await serv.addTo(app, server);
    addFallbackHandlers(app, logger);
    // pgl.release() leaves the services alone (STACK.md pitfall 9): release
    // them too (this ends the LISTEN client of subscriptions); our pools end after.
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

    let stopping: Promise<void> | null = null;
    const stop = () => {
      stopping ??= (async () => {
        shuttingDown = true;
        // 1. Stop accepting; let in-flight requests finish, within a bound.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // 2. Close WebSockets (subscriptions) with "going away".
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

    return { port, url: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`, db, tokens, authPool, ownerPool, worker, graphqlSchema: async () => pgl.getSchema(), stop };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * Starts the real Agora server (express + PostGraphile + worker) on a free
 * port against the test database, and talks to it over real HTTP.
 */
import { loadConfig } from "../../src/config";
import { makeLogger, type Logger } from "../../src/logger";
import { startAgora, type Agora, type ExtraRoutes } from "../../src/app";
import { testDatabase } from "./testDatabase";

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; [k: string]: unknown }; path?: unknown[] }>;
}

export interface TestServer {
  agora: Agora;
  url: string;
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { token?: string; headers?: Record<string, string>; ip?: string },
  ): Promise<GraphQLResponse<T>>;
  /** An access token for a test user's live session. */
  tokenFor(user: { id: string; sessionId: string }): string;
  /** `graphql` as `user` (a bearer token for their session), or anonymously for null. */
  as<T = Record<string, unknown>>(user: { id: string; sessionId: string } | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  stop(): Promise<void>;
}

/** Expects a GraphQL success and returns its data. */
export function ok<T>(res: GraphQLResponse<T>): T {
  expect(res.errors).toBeUndefined();
  return res.data!;
}

export function randomIp(): string {
  const octet = () => Math.floor(Math.random() * 254) + 1;
  return `10.${octet()}.${octet()}.${octet()}`;
}

export async function startTestServer(
  env: Record<string, string> = {},
  extraRoutes?: ExtraRoutes,
  /** Where the server logs (default: a logger at the configured level). */
  logger?: Logger,
): Promise<TestServer> {
  // Behind a "proxy" (TRUST_PROXY=1), each request comes from the client IP the test names,
  // or from a fresh random one, so per-IP limits only bite where a test means them to.
  const config = loadConfig({ ...testDatabase().env, PORT: "0", WORKER: "off", TRUST_PROXY: "1", ...env });
  const agora = await startAgora(config, logger ?? makeLogger(config.logLevel), extraRoutes);
  const server: TestServer = {
    agora,
    url: agora.url,
    async graphql(query, variables, options = {}) {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-forwarded-for": options.ip ?? randomIp(),
        ...options.headers,
      };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const res = await fetch(`${agora.url}/graphql`, {
        method: "POST",
        headers,
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: never; errors?: never };
      return { status: res.status, headers: res.headers, data: body.data, errors: body.errors };
    },
    tokenFor: (user) => agora.tokens.sign({ sub: user.id, sid: user.sessionId }),
    as: (user, query, variables) => server.graphql(query, variables, user ? { token: server.tokenFor(user) } : {}),
    stop: () => agora.stop(),
  };
  return server;
}

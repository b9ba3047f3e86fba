/** A real graphql-ws client over a real WebSocket, as a browser app would use. */
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { randomIp } from "./server";

/**
 * `lazy: false` keeps the socket open between operations (as a live app does).
 * Like the HTTP helper, each client comes from its own address (X-Forwarded-For,
 * honoured with TRUST_PROXY), so the per-IP connect budget bites only where a test means it to.
 */
export function wsClient(httpUrl: string, token?: string, options: { lazy?: boolean; ip?: string } = {}): Client {
  const headers = { "x-forwarded-for": options.ip ?? randomIp() };
  return createClient({
    url: `${httpUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    },
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: options.lazy ?? true,
    onNonLazyError: () => undefined, // tests assert on closures themselves
  });
}

/** Runs one query/mutation over the socket and resolves with its single result. */
export function wsExecute<T>(client: Client, query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: unknown[] }> {
  return new Promise((resolve, reject) => {
    let result: { data?: T; errors?: unknown[] } | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => (result = value as { data?: T; errors?: unknown[] }),
        error: reject,
        complete: () => (result ? resolve(result) : reject(new Error("no result"))),
      },
    );
  });
}

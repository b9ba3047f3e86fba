/**
 * Live subscriptions as a client app holds them: a real graphql-ws client
 * (test/helpers/ws.ts) per connection, each subscription collecting what it
 * receives, and the close code of the socket.
 */
import type { Client } from "graphql-ws";
import { wsClient } from "../helpers/ws";
import type { TestServer } from "../helpers/server";

export interface LiveConnection {
  client: Client;
  /** Resolves with the close code once the socket closes. */
  closed: Promise<number>;
  closeCode: () => number | null;
}

export function connect(server: TestServer, token?: string): LiveConnection {
  const client = wsClient(server.url, token, { lazy: false });
  let code: number | null = null;
  const closed = new Promise<number>((resolve) =>
    client.on("closed", (event) => {
      code = (event as { code: number }).code;
      resolve(code);
    }),
  );
  return { client, closed, closeCode: () => code };
}

/**
 * The connections a test file opens, as members (or anonymously) to any of its
 * instances, all disposed together in its afterAll.
 */
export function connections(): {
  live(server: TestServer, user?: { id: string; sessionId: string }): LiveConnection;
  disposeAll(): Promise<void>;
} {
  const open: LiveConnection[] = [];
  return {
    live(server, user) {
      const connection = connect(server, user ? server.tokenFor(user) : undefined);
      open.push(connection);
      return connection;
    },
    async disposeAll() {
      for (const connection of open) await connection.client.dispose();
    },
  };
}

export interface LiveSubscription<T> {
  events: T[];
  errors: unknown[];
  completed: boolean;
  /** Waits for an event matching `predicate` (default: any event after those already checked). */
  next(predicate?: (event: T) => boolean, ms?: number): Promise<T>;
  /** Resolves when the subscription ends (completed or errored). */
  ended: Promise<void>;
  dispose(): void;
}

export function subscribe<T = Record<string, unknown>>(
  connection: LiveConnection,
  query: string,
  variables: Record<string, unknown> = {},
): LiveSubscription<T> {
  const events: T[] = [];
  const errors: unknown[] = [];
  let resolveEnded!: () => void;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  const sub: LiveSubscription<T> = {
    events,
    errors,
    completed: false,
    ended,
    async next(predicate = () => true, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = events.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching event within ${ms} ms; got ${JSON.stringify(events)} errors ${JSON.stringify(errors)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    dispose: () => undefined,
  };
  sub.dispose = connection.client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        if (value.data) events.push(Object.values(value.data)[0] as T);
      },
      error: (error) => {
        if (Array.isArray(error)) errors.push(...(error as unknown[]));
        else errors.push(error);
        resolveEnded();
      },
      complete: () => {
        sub.completed = true;
        resolveEnded();
      },
    },
  );
  return sub;
}

/** Waits until `fn` holds (server-side state such as the hub's subscriptions). */
export async function until(fn: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const ROOM_EVENTS = `subscription ($roomId: UUID!) {
  roomEvents(roomId: $roomId) {
    kind roomId seq userId expiresAt
    message { rowId kind body bodyHtml authorId parentId deletedAt editedAt author { username } reactionCounts { emoji count } }
    member { userId role mutedUntil }
    user { rowId username isOnline lastSeenAt }
    room { rowId name topic }
  }
}`;

export interface RoomEvent {
  kind: string;
  roomId: string;
  seq: string | null;
  userId: string | null;
  expiresAt: string | null;
  message: { rowId: string; kind: string; body: string; bodyHtml: string; authorId: string; deletedAt: string | null; author: { username: string } | null; reactionCounts: Array<{ emoji: string; count: number }> } | null;
  member: { userId: string; role: string; mutedUntil: string | null } | null;
  user: { rowId: string; username: string; isOnline: boolean; lastSeenAt: string | null } | null;
  room: { rowId: string; name: string; topic: string } | null;
}

/**
 * The in-process hub: live subscriptions keyed by room (and by member for
 * notifications), fed by the one LISTEN connection (listener.ts).
 *
 * Per event, ONE evaluation of app_private.realtime_room_event returns the
 * event's data and which of this instance's viewers of the room may see it —
 * the database's rules, evaluated once per event per instance, not once per
 * subscriber; events that arrive while the previous batch is being decided
 * are decided together in one query, whatever their rooms, in arrival order
 * (so each room's events stay in order). See docs/realtime.md.
 */
import type pg from "pg";
import type { Logger } from "../logger";
import { codedError } from "../../plugins/errors";
import type { LiveEvents, RealtimeEvent, RealtimeService } from "../../plugins/services";
import { describeDbError } from "../db/pool";
import { CloseCodes } from "./close-codes";
import type { Connection, Connections } from "./connections";
import { LiveStream } from "./stream";

/** What a trigger announces on agora_realtime (migrations: the realtime section). */
interface Announcement {
  k: string;
  r?: string;
  s?: number | null;
  i?: string | null;
  u?: string | null;
  x?: number;
}

interface Subscription {
  connection: Connection;
  stream: LiveStream<RealtimeEvent>;
}

/** The most room events decided by one query. */
const MAX_BATCH = 200;
/** Deliveries handed out before the hub lets other I/O run. */
const YIELD_EVERY = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class RealtimeHub implements RealtimeService {
  private readonly rooms = new Map<string, Set<Subscription>>();
  private readonly notifications = new Map<string, Set<Subscription>>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Room events waiting for the current batch to be decided. */
  private readonly pending: Announcement[] = [];
  /** Whether a drain of `pending` is scheduled or running (one at a time, so rooms stay in order). */
  private draining = false;
  /** Authorising queries run (for tests and the benchmark: at most one per event, never one per subscriber). */
  eventQueries = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly connections: Connections,
    private readonly logger: Logger,
    private readonly maxSendBufferBytes: number,
    private readonly maxQueuedEvents: number,
  ) {}

  /** Live subscriptions to a room on this instance (tests wait for theirs to be in place). */
  roomSubscriptions(roomId: string): number {
    return this.rooms.get(roomId)?.size ?? 0;
  }

  notificationSubscriptions(userId: string): number {
    return this.notifications.get(userId)?.size ?? 0;
  }

  /** The GrafastSubscriber of a GraphQL request (null over HTTP: plugins/subscription-transport.ts refuses it first). */
  subscriber(socket: unknown): { subscribe(topic: string): Promise<LiveEvents> } | null {
    const connection = socket ? this.connections.of(socket as never) : undefined;
    if (!connection) return null;
    return { subscribe: (topic) => this.subscribe(connection, topic) };
  }

  private async subscribe(connection: Connection, topic: string): Promise<LiveEvents> {
    if (topic === "notifications") {
      if (!connection.userId) throw codedError("LOGIN", "Sign in to receive your notifications");
      return this.add(this.notifications, connection.userId, connection).stream;
    }
    const roomId = topic.replace(/^room:/, "");
    if (!UUID.test(roomId)) throw codedError("INVAL", "roomId is not a UUID");
    // Registered first, checked second: an event committed meanwhile is queued, and its own query re-checks access.
    const subscription = this.add(this.rooms, roomId, connection);
    const { rows } = await this.pool.query<{ ok: boolean }>("select app_private.realtime_room_access($1, $2, $3) as ok", [
      roomId,
      connection.userId,
      connection.sessionId,
    ]);
    if (!rows[0].ok) {
      subscription.stream.return();
      throw codedError("NOTFD", "No such room, or you may not read it");
    }
    return subscription.stream;
  }

  private add(map: Map<string, Set<Subscription>>, key: string, connection: Connection): Subscription {
    const stream: LiveStream<RealtimeEvent> = new LiveStream<RealtimeEvent>(
      this.maxQueuedEvents,
      () => this.connections.close(connection, CloseCodes.SlowConsumer, "Too many undelivered events"),
      () => {
        const set = map.get(key);
        set?.delete(subscription);
        if (set?.size === 0) map.delete(key);
        connection.onClose.delete(end);
      },
    );
    const subscription: Subscription = { connection, stream };
    const end = () => stream.end();
    connection.onClose.add(end);
    if (connection.closed) stream.end();
    else {
      if (!map.has(key)) map.set(key, new Set());
      map.get(key)!.add(subscription);
    }
    return subscription;
  }

  /** Queues an event for a subscriber; a socket whose unsent data passed the bound is closed as a slow consumer. */
  private push(subscription: Subscription, event: RealtimeEvent): void {
    if (subscription.connection.socket.bufferedAmount > this.maxSendBufferBytes) {
      this.connections.close(subscription.connection, CloseCodes.SlowConsumer, "The client is not reading fast enough");
      return;
    }
    subscription.stream.push(event);
  }

  /** A NOTIFY payload from agora_realtime. */
  onAnnouncement(payload: string): void {
    let event: Announcement;
    try {
      event = JSON.parse(payload) as Announcement;
    } catch {
      return;
    }
    switch (event.k) {
      case "session_ended":
        for (const c of this.connections.matching((c) => c.sessionId === event.i)) {
          this.connections.close(c, CloseCodes.SessionEnded, "The session has ended; sign in again");
        }
        return;
      case "user_deactivated":
        for (const c of this.connections.matching((c) => c.userId === event.u)) {
          this.connections.close(c, CloseCodes.SessionEnded, "The account was deactivated");
        }
        return;
      case "notification_created":
      case "notification_updated":
      case "notification_deleted":
        if (event.u && this.notifications.has(event.u)) this.serially(`n:${event.u}`, () => this.notification(event));
        return;
      case "room_deleted":
        for (const subscription of this.rooms.get(event.r!) ?? []) {
          this.push(subscription, { kind: "ROOM_DELETED", roomId: event.r!, seq: null });
          subscription.stream.end();
        }
        return;
      case "presence":
        if (event.u && this.rooms.size > 0) this.serially(`p:${event.u}`, () => this.presence(event.u!));
        return;
      default:
        if (event.r && this.rooms.has(event.r)) this.enqueue(event);
    }
  }

  /** Runs `task` after the previous task of the same key (one member's notification or presence events stay in order). */
  private serially(key: string, task: () => Promise<void>): void {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(task).catch((error: unknown) => {
      this.logger.warn({ error: describeDbError(error), key }, "a realtime event could not be delivered; subscribers get a gap signal");
      if (key.startsWith("n:")) this.gapFor(this.notifications.get(key.slice(2)), null);
    });
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  /**
   * Queues a room event. Events that arrive while the current batch is being
   * decided wait, and are then decided together — whatever their rooms — in
   * one query (at most MAX_BATCH events), in arrival order, so each room's
   * events stay in order.
   */
  private enqueue(event: Announcement): void {
    this.pending.push(event);
    if (this.draining) return;
    this.draining = true;
    // Deferred, so that the announcements of one commit (delivered together) make one batch.
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH);
        try {
          await this.roomEvents(batch);
        } catch (error) {
          this.logger.warn({ error: describeDbError(error) }, "realtime events could not be delivered; subscribers get a gap signal");
          for (const roomId of new Set(batch.map((e) => e.r!))) this.gapFor(this.rooms.get(roomId), roomId);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async roomEvents(events: Announcement[]): Promise<void> {
    // Per room of the batch: its subscriptions now, and one entry per distinct viewer (user and session), numbered from 1.
    const rooms = new Map<string, { subscriptions: Subscription[]; viewers: Map<string, number>; users: Array<string | null>; sessions: Array<string | null> }>();
    for (const roomId of new Set(events.map((e) => e.r!))) {
      const subscriptions = [...(this.rooms.get(roomId) ?? [])];
      if (subscriptions.length === 0) continue;
      const room = { subscriptions, viewers: new Map<string, number>(), users: [] as Array<string | null>, sessions: [] as Array<string | null> };
      for (const { connection } of subscriptions) {
        const key = `${connection.userId}/${connection.sessionId}`;
        if (room.viewers.has(key)) continue;
        room.viewers.set(key, room.users.length + 1);
        room.users.push(connection.userId);
        room.sessions.push(connection.sessionId);
      }
      rooms.set(roomId, room);
    }
    const wanted = events.filter((e) => rooms.has(e.r!));
    if (wanted.length === 0) return;
    const viewers = Object.fromEntries([...rooms].map(([roomId, room]) => [roomId, { u: room.users, s: room.sessions }]));
    this.eventQueries += 1;
    const { rows } = await this.pool.query<{ payload: Record<string, unknown>; deliver: number[]; ended: number[] }>(
      `select r.payload, r.deliver, r.ended
         from unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[]) with ordinality as e(kind, room_id, row_id, user_id, ord)
         cross join lateral (select $5::jsonb -> e.room_id::text as v) v
         cross join lateral app_private.realtime_room_event(
                e.kind, e.room_id, e.row_id, e.user_id,
                array(select x::uuid from jsonb_array_elements_text(v.v -> 'u') with ordinality as j(x, n) order by n),
                array(select x::uuid from jsonb_array_elements_text(v.v -> 's') with ordinality as j(x, n) order by n)) r
        order by e.ord`,
      [wanted.map((e) => e.k), wanted.map((e) => e.r), wanted.map((e) => e.i ?? null), wanted.map((e) => e.u ?? null), JSON.stringify(viewers)],
    );
    let handed = 0;
    for (const [i, event] of wanted.entries()) {
      // A large batch is handed out in slices, letting the process's other I/O (requests, their queries) run between them.
      if (handed >= YIELD_EVERY) {
        handed = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const roomId = event.r!;
      const { subscriptions, viewers: ords } = rooms.get(roomId)!;
      const { payload, deliver, ended } = rows[i];
      const deliverSet = new Set(deliver);
      const endedSet = new Set(ended);
      const out: RealtimeEvent = {
        kind: event.k.toUpperCase(),
        roomId,
        seq: event.s == null ? null : String(event.s),
        userId: event.u ?? null,
        ...payload,
        ...(event.k === "typing" ? { expiresAt: new Date(Date.now() + (event.x ?? 5) * 1000).toISOString() } : {}),
      };
      // Leaving or being removed ends that member's subscriptions to the room (docs/realtime.md).
      const leaving = event.k === "member_left" || event.k === "member_removed" ? event.u : undefined;
      for (const subscription of subscriptions) {
        if (subscription.stream.ended) continue;
        const { connection } = subscription;
        const ord = ords.get(`${connection.userId}/${connection.sessionId}`)!;
        if (deliverSet.has(ord)) {
          this.push(subscription, out);
          handed += 1;
        }
        if (endedSet.has(ord) || (leaving && connection.userId === leaving)) subscription.stream.end();
      }
    }
  }

  private async presence(userId: string): Promise<void> {
    const { rows } = await this.pool.query<{ room_id: string }>(
      "select room_id from app_public.room_members where user_id = $1 and room_id = any($2::uuid[])",
      [userId, [...this.rooms.keys()]],
    );
    for (const { room_id } of rows) this.enqueue({ k: "presence", r: room_id, u: userId });
  }

  private async notification(event: Announcement): Promise<void> {
    const subscriptions = [...(this.notifications.get(event.u!) ?? [])];
    const sessions = [...new Set(subscriptions.map((s) => s.connection.sessionId))];
    for (const sessionId of sessions) {
      this.eventQueries += 1;
      const { rows } = await this.pool.query<{ data: { notificationId: string | null; unreadCount: number } | null }>(
        "select app_private.realtime_notification_event($1, $2, $3) as data",
        [event.i, event.u, sessionId],
      );
      const data = rows[0].data;
      for (const subscription of subscriptions.filter((s) => s.connection.sessionId === sessionId)) {
        if (data === null) subscription.stream.end();
        else this.push(subscription, { kind: event.k.replace("notification_", "").toUpperCase(), ...data });
      }
    }
  }

  private gapFor(subscriptions: Set<Subscription> | undefined, roomId: string | null): void {
    for (const subscription of subscriptions ?? []) {
      this.push(subscription, roomId ? { kind: "GAP", roomId, seq: null } : { kind: "GAP", notificationId: null, unreadCount: null });
    }
  }

  /** The LISTEN connection was lost and is back: events may have been missed; every subscriber is told. */
  gap(): void {
    for (const [roomId, subscriptions] of this.rooms) this.gapFor(subscriptions, roomId);
    for (const subscriptions of this.notifications.values()) this.gapFor(subscriptions, null);
  }
}

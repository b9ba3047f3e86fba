/**
 * The WebSocket connections of this API instance, as the realtime layer sees
 * them: who is signed in on each (verified once, at connection_init), their
 * registration in app_private.realtime_connections (the per-user cap across
 * instances, presence), the heartbeat that keeps them registered, and the
 * rules that close them: access-token expiry (4101), session ended (4102),
 * cap (4103), slow consumer (4104). See docs/realtime.md.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { WebSocket } from "ws";
import type { Logger } from "../logger";
import { bearerToken, TokenError, type TokenService } from "../auth/jwt";
import { describeDbError } from "../db/pool";
import { CloseCodes } from "./close-codes";

export interface Connection {
  id: string;
  socket: WebSocket;
  /** null: anonymous (or a bad token: operations then fail with its code). */
  userId: string | null;
  sessionId: string | null;
  /** Settles once the connection is registered in the database (signed-in only). */
  registered: Promise<boolean>;
  closed: boolean;
  /** We have asked the socket to close (it closes once the peer answers, or is cut a second later). */
  closing: boolean;
  /** Runs when the connection closes (the hub ends its subscriptions). */
  onClose: Set<() => void>;
}

export interface Refusal {
  code: number;
  reason: string;
}

export class Connections {
  readonly instanceId = randomUUID();
  private readonly bySocket = new WeakMap<WebSocket, Connection>();
  private readonly all = new Set<Connection>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  /** How many connections this instance closed, per close code (slow consumers, cap, session ended …). */
  readonly closedWith = new Map<number, number>();
  private stopped = false;
  /** Whether this instance ever registered a connection (else there is nothing to unregister at shutdown). */
  private registeredAny = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly tokens: TokenService,
    private readonly logger: Logger,
    private readonly heartbeatMs: number,
  ) {}

  of(socket: WebSocket): Connection | undefined {
    return this.bySocket.get(socket);
  }

  /** Open connections on this instance. */
  get size(): number {
    return this.all.size;
  }

  /** Every open connection of a user (or of a session). */
  matching(predicate: (connection: Connection) => boolean): Connection[] {
    return [...this.all].filter(predicate);
  }

  /**
   * connection_init: verifies the token of connectionParams, registers a
   * signed-in connection (refused past the per-user cap) and arms its expiry.
   * A bad token is not refused here: its operations fail with TOKEN/EXPRD as
   * over HTTP.
   */
  async open(socket: WebSocket, authorization: string | undefined): Promise<Refusal | null> {
    let claims: { sub: string; sid: string; exp: number } | null = null;
    try {
      const token = bearerToken(authorization);
      claims = token === null ? null : this.tokens.verify(token);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
    }
    const connection: Connection = {
      id: randomUUID(),
      socket,
      userId: claims?.sub ?? null,
      sessionId: claims?.sid ?? null,
      registered: Promise.resolve(false),
      closed: false,
      closing: false,
      onClose: new Set(),
    };
    this.bySocket.set(socket, connection);
    this.all.add(connection);
    socket.on("close", () => this.closed(connection)); // emitted once; closed() is idempotent too
    if (!claims) return null;
    const verdict = this.pool
      .query<{ verdict: string }>("select app_private.realtime_connect($1, $2, $3, $4) as verdict", [
        connection.id,
        claims.sub,
        claims.sid,
        this.instanceId,
      ])
      .then((result) => result.rows[0].verdict);
    connection.registered = verdict.then((v) => v === "ok", () => false);
    this.registeredAny = true;
    const rows = [{ verdict: await verdict }];
    if (rows[0].verdict === "session") return { code: CloseCodes.SessionEnded, reason: "The session has ended; sign in again" };
    if (rows[0].verdict === "cap") return { code: CloseCodes.TooManyConnections, reason: "Too many live connections for this member" };
    const ms = claims.exp * 1000 - Date.now();
    const expiry = setTimeout(() => this.close(connection, CloseCodes.TokenExpired, "The access token expired; reconnect with a fresh one"), Math.max(0, ms));
    expiry.unref();
    connection.onClose.add(() => clearTimeout(expiry));
    return null;
  }

  /** Closes a connection with one of our codes; a peer that does not complete the close handshake is cut after a second. */
  close(connection: Connection, code: number, reason: string): void {
    if (connection.closed || connection.closing) return;
    connection.closing = true;
    this.closedWith.set(code, (this.closedWith.get(code) ?? 0) + 1);
    try {
      connection.socket.close(code, reason);
    } catch {
      /* already closed */
    }
    setTimeout(() => connection.socket.terminate(), 1000).unref();
  }

  private closed(connection: Connection): void {
    if (connection.closed) return;
    connection.closed = true;
    this.all.delete(connection);
    for (const fn of connection.onClose) fn();
    if (this.stopped || connection.userId === null) return;
    void connection.registered.then((registered) => {
      if (!registered || this.stopped) return;
      return this.pool.query("select app_private.realtime_disconnect($1)", [connection.id]).then(
        () => undefined,
        (error: unknown) => this.logger.warn({ error: describeDbError(error) }, "could not unregister a WebSocket connection"),
      );
    });
  }

  /** Renews this instance's registrations every heartbeatMs and sweeps those of dead instances. */
  startHeartbeat(): void {
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  async heartbeat(): Promise<void> {
    const live = [...this.all].filter((c) => c.userId !== null && !c.closed);
    const registered = await Promise.all(live.map((c) => c.registered));
    if (this.stopped) return;
    const mine = live.filter((_, i) => registered[i]);
    await this.pool
      .query("select app_private.realtime_heartbeat($1, $2::uuid[], $3::uuid[], $4::uuid[])", [
        this.instanceId,
        mine.map((c) => c.id),
        mine.map((c) => c.userId),
        mine.map((c) => c.sessionId),
      ])
      .catch((error: unknown) => this.logger.warn({ error: describeDbError(error) }, "realtime heartbeat failed"));
  }

  /** Shutdown has begun: sockets closing now are unregistered together by stop(), not one by one. */
  beginShutdown(): void {
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
  }

  /** Shutdown: this instance's registrations go at once (its members go offline unless connected elsewhere). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (!this.registeredAny) return;
    await this.pool
      .query("select app_private.realtime_instance_stopped($1)", [this.instanceId])
      .catch((error: unknown) => this.logger.warn({ error: describeDbError(error) }, "could not unregister this instance's connections"));
  }
}

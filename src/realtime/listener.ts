/**
 * The one LISTEN connection of an API process: its own pg client (not one of
 * a pool's), on the agora_realtime channel. When the connection is lost (a
 * PostgreSQL restart, a network cut) it reconnects by itself with back-off and
 * LISTENs again; events committed while it was down are lost to this process,
 * so `onGap` runs once it is back (the hub sends every subscriber a GAP
 * event: refetch). /health/ready reports `connected`.
 */
import pg from "pg";
import type { Logger } from "../logger";
import { describeDbError } from "../db/pool";

export const REALTIME_CHANNEL = "agora_realtime";

export interface ListenerStatus {
  connected: boolean;
  /** Connections made after the first (each one followed a loss). */
  reconnects: number;
  lastError: string | null;
}

export class RealtimeListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoffMs = 100;
  private everConnected = false;
  readonly status: ListenerStatus = { connected: false, reconnects: 0, lastError: null };

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
    private readonly onEvent: (payload: string) => void,
    private readonly onGap: () => void,
  ) {}

  /** Resolves once LISTEN is in place (or rejects when the first attempt fails). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, application_name: "agora realtime listener" });
    client.on("notification", (message) => {
      if (message.channel === REALTIME_CHANNEL && message.payload) this.onEvent(message.payload);
    });
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("connection ended")));
    try {
      await client.connect();
      await client.query(`listen ${REALTIME_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.status.connected = true;
    this.status.lastError = null;
    this.backoffMs = 100;
    if (this.everConnected) {
      this.status.reconnects += 1;
      this.logger.info({ reconnects: this.status.reconnects }, "realtime LISTEN connection restored; subscribers get a gap signal");
      this.onGap();
    }
    this.everConnected = true;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client !== client) return;
    this.client = null;
    this.status.connected = false;
    this.status.lastError = describeDbError(error).message;
    client.removeAllListeners("end");
    client.end().catch(() => undefined);
    if (this.stopped) return;
    this.logger.warn({ error: describeDbError(error) }, "realtime LISTEN connection lost; reconnecting");
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().catch((error: unknown) => {
        this.status.lastError = describeDbError(error).message;
        this.backoffMs = Math.min(this.backoffMs * 2, 5_000);
        this.scheduleRetry();
      });
    }, this.backoffMs);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    this.status.connected = false;
    if (client) {
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
    }
  }
}

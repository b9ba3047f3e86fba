/**
 * WebSocket close codes Agora sends on /graphql (docs/realtime.md). graphql-ws
 * uses 44xx and 4500 for protocol errors; ours are 41xx. A client reconnects
 * after 4101 (with a fresh access token) and 1001; after 4102 it must sign in
 * again; after 4103 it should close another tab or device first.
 */
export const CloseCodes = {
  /** The server is shutting down (or restarting): reconnect, to another instance. */
  GoingAway: 1001,
  /** The access token of the connection expired: refresh it and reconnect. */
  TokenExpired: 4101,
  /** The session was revoked (signed out, password changed, refresh-token reuse) or the account deactivated. */
  SessionEnded: 4102,
  /** The member already holds realtime.max_connections_per_user live connections across all instances. */
  TooManyConnections: 4103,
  /** The client did not read fast enough: its unsent data passed REALTIME_MAX_SEND_BUFFER_BYTES. */
  SlowConsumer: 4104,
} as const;

/**
 * What the GraphQL layer needs from the server around it, as types only.
 * Imports go one way: src/ assembles the preset from plugins/ and implements
 * these interfaces (src/auth/sessions.ts, src/auth/jwt.ts); nothing in
 * plugins/ imports from src/.
 */

/** Facts about the client of a request: its address (honouring TRUST_PROXY) and user agent. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** The verified claims a request runs with (from its access token). */
export interface RequestClaims {
  /** The user's id. */
  sub: string;
  /** The session's id. */
  sid: string;
  role: "authenticated";
}

/** What register, login and refreshSession return. */
export interface AuthResult {
  userId: string;
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

/** The three operations that hand out tokens. Failures are coded errors (plugins/errors.ts). */
export interface AuthService {
  register(input: { username: string; email: string; password: string; displayName?: string | null }, client: ClientInfo): Promise<AuthResult>;
  login(input: { identifier: string; password: string }, client: ClientInfo): Promise<AuthResult>;
  refresh(input: { refreshToken: string }, client: ClientInfo): Promise<AuthResult>;
}

/**
 * The verified claims of an `Authorization` value (`Bearer <token>`), null
 * when there is none; throws on a bad or expired token. Used for WebSocket
 * connections, whose token arrives in connectionParams.
 */
export type ClaimsOfAuthorization = (authorization: string | undefined) => RequestClaims | null;

/**
 * Signed URLs for files (src/files/urls.ts). The GraphQL layer hands them out
 * only for rows that row-level security let the viewer read.
 */
export interface FileUrls {
  /** Where the owner PUTs the bytes of a pending upload (short-lived, signed). */
  uploadUrl(fileId: string, ownerId: string): string;
  /**
   * Where a ready file is downloaded: plain for public files, short-lived and signed for private ones.
   * `viewerId` (document files) is signed into the URL so the download counts for that member.
   */
  downloadUrl(fileId: string, isPublic: boolean, viewerId?: string | null): string;
}

/** One live event as the realtime layer hands it to GraphQL (a RoomEvent or a NotificationEvent, plugins/realtime.ts). */
export type RealtimeEvent = { kind: string } & Record<string, unknown>;

/**
 * Live subscriptions (src/realtime/hub.ts): for the WebSocket of a request, a
 * GrafastSubscriber whose topics are `room:<room id>` and `notifications`;
 * null when the request did not come over a known WebSocket.
 */
export interface RealtimeService {
  subscriber(socket: unknown): { subscribe(topic: string): Promise<LiveEvents> } | null;
}

/** A subscription's events: pulled one by one (Grafast), or handed to a sink as they come (the direct path). */
export interface LiveEvents extends AsyncIterableIterator<RealtimeEvent> {
  /** From now on every event goes to `sink` at once, queued ones first; next() then only reports the end. */
  pipeTo(sink: (event: RealtimeEvent) => void): void;
}

/**
 * A subscription result that writes its own `next` messages (the direct path
 * of plugins/realtime-direct.ts): the WebSocket layer (src/server/websocket.ts)
 * hands it a writer for its operation, which frames a result's JSON as that
 * operation's `next` message. Without a writer it is an ordinary stream.
 */
export interface SelfWritingStream {
  writeWith(write: (resultJson: string) => void): void;
}

export function isSelfWriting(value: unknown): value is SelfWritingStream {
  return typeof (value as Partial<SelfWritingStream> | null)?.writeWith === "function";
}

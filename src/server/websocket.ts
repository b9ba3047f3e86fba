/**
 * GraphQL over WebSocket (graphql-ws) on the GraphQL path, as grafserv's own
 * upgrade handler does it, with one difference: a bound on the size of a
 * message. grafserv's WebSocketServer keeps ws's default of 100 MiB, and a
 * client could make the process buffer and parse that much per message;
 * here a larger message closes the socket with 1009 ("message too big")
 * before it is buffered whole. A `connect` hook sees connection_init (the
 * realtime layer registers the connection there, and may refuse it with its
 * own close code: src/realtime/close-codes.ts). A subscription result that
 * writes its own `next` messages (plugins/services.ts SelfWritingStream: the
 * realtime direct path) is given this operation's framing here.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { makeServer, CloseCode, MessageType } from "graphql-ws";
import { isSelfWriting } from "../../plugins/services";
import { makeGraphQLWSConfig, type GrafservBase } from "postgraphile/grafserv";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * Pings every socket every `keepaliveMs`; a socket that has not answered the
 * previous ping is terminated (a dead peer). One timer for all sockets (a
 * timer and its closures per socket were ≈ 0.3 KB of each idle connection).
 */
function makeKeepalive(keepaliveMs: number): { watch(socket: WebSocket): void; stop(): void } {
  /** Each socket, and whether it still owes an answer to the last ping. */
  const owing = new Map<WebSocket, boolean>();
  const timer = setInterval(() => {
    for (const [socket, unanswered] of owing) {
      if (unanswered) {
        owing.delete(socket);
        socket.terminate();
        continue;
      }
      owing.set(socket, true);
      socket.ping();
    }
  }, keepaliveMs);
  timer.unref();
  return {
    watch(socket) {
      owing.set(socket, false);
      socket.on("pong", () => owing.has(socket) && owing.set(socket, false));
      // ws emits "close" once; `on` spares the wrapper `once` allocates per listener.
      socket.on("close", () => owing.delete(socket));
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * What graphql-ws keeps of the upgrade request for the connection's life
 * (`ctx.extra.request`, Grafast's `requestContext.ws.request`): its method,
 * URL, headers and client address (`ip`, TRUST_PROXY applied at the upgrade)
 * — not the IncomingMessage itself with its stream state and raw headers
 * (≈ 1 KB of every idle connection).
 */
type KeptRequest = Pick<IncomingMessage, "method" | "url" | "headers"> & { ip?: string; socket: { remoteAddress?: string } };
function keptOf(upgrade: IncomingMessage & { ip?: string }): KeptRequest {
  return { method: upgrade.method, url: upgrade.url, headers: upgrade.headers, ip: upgrade.ip, socket: { remoteAddress: upgrade.socket.remoteAddress } };
}

export function attachGraphQLWebSocket(options: {
  server: Server;
  serv: GrafservBase;
  graphqlPath: string;
  maxMessageBytes: number;
  keepaliveMs?: number;
  /** Decides whether an upgrade may proceed (e.g. the connect rate limit); it answers a refused socket itself. */
  admit?: (req: IncomingMessage, socket: Duplex) => Promise<boolean>;
  /** Runs at connection_init with the socket and its connectionParams; a returned refusal closes the socket with its code. */
  connect?: (socket: WebSocket, connectionParams: Record<string, unknown> | undefined) => Promise<{ code: number; reason: string } | null>;
}): () => void {
  const { server, serv, graphqlPath, maxMessageBytes, keepaliveMs = 30_000, admit, connect } = options;
  const graphqlWs = makeServer<Record<string, unknown> | undefined, { socket: WebSocket; request: KeptRequest }>({
    ...makeGraphQLWSConfig(serv),
    // A stream that writes its own results (the realtime direct path) gets this operation's framing; graphql-ws still sends `complete`.
    onOperation(ctx, id, _payload, _args, result) {
      if (!isSelfWriting(result)) return;
      const { socket } = ctx.extra;
      const head = `{"id":${JSON.stringify(id)},"type":"${MessageType.Next}","payload":`;
      result.writeWith((resultJson) => {
        if (socket.readyState === socket.OPEN) socket.send(head + resultJson + "}");
      });
    },
    ...(connect
      ? {
          async onConnect(ctx) {
            const refusal = await connect(ctx.extra.socket, ctx.connectionParams);
            if (!refusal) return true;
            ctx.extra.socket.close(refusal.code, refusal.reason);
            return false;
          },
        }
      : {}),
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
  const keepalive = makeKeepalive(keepaliveMs);

  wss.on("connection", (socket: WebSocket, upgrade: IncomingMessage & { ip?: string }) => {
    const request = keptOf(upgrade);
    keepalive.watch(socket);
    const closed = graphqlWs.opened(
      {
        protocol: socket.protocol,
        // A socket we are closing (slow consumer, session ended …) takes nothing more; that is not an error.
        send: (data) =>
          socket.readyState !== socket.OPEN
            ? Promise.resolve()
            : new Promise<void>((resolve, reject) => socket.send(data, (err) => (err ? reject(err) : resolve()))),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on("message", async (data: Buffer) => {
            try {
              await cb(data.toString());
            } catch (err) {
              try {
                socket.close(CloseCode.InternalServerError, (err as Error).message.slice(0, 120));
              } catch {
                /* already closed */
              }
            }
          }),
      },
      { socket, request },
    );
    socket.on("close", (code: number, reason: Buffer) => closed(code, reason.toString()));
    // ws closes with 1009 itself when a message is over maxPayload; the error is expected.
    socket.on("error", () => undefined);
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== graphqlPath) {
      socket.destroy();
      return;
    }
    const upgrade = () => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    if (!admit) return upgrade();
    admit(req, socket).then(
      (admitted) => admitted && upgrade(),
      () => socket.destroy(),
    );
  };
  server.on("upgrade", onUpgrade);
  return () => {
    server.off("upgrade", onUpgrade);
    keepalive.stop();
    wss.close();
  };
}

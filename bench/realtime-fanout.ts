/**
 * The limit the realtime benchmark compares against: a minimal hand-written
 * `ws` server that LISTENs on the same channel (agora_realtime) and forwards
 * each room event's NOTIFY payload to the sockets that asked for the room —
 * no GraphQL, no per-event authorisation, no data beyond the payload.
 * A client sends {"room": "<id>"} once connected. Env: DATABASE_URL, PORT.
 */
import http from "node:http";
import pg from "pg";
import { WebSocketServer, type WebSocket } from "ws";

async function main() {
  const rooms = new Map<string, Set<WebSocket>>();
  const listener = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await listener.connect();
  listener.on("notification", (message) => {
    const payload = message.payload ?? "";
    const { r } = JSON.parse(payload) as { r?: string };
    for (const socket of (r && rooms.get(r)) || []) socket.send(payload);
  });
  await listener.query("listen agora_realtime");
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on("connection", (socket) => {
    socket.once("message", (data) => {
      const { room } = JSON.parse(data.toString()) as { room: string };
      if (!rooms.has(room)) rooms.set(room, new Set());
      rooms.get(room)!.add(socket);
      socket.once("close", () => rooms.get(room)?.delete(socket));
      socket.send(JSON.stringify({ subscribed: room }));
    });
  });
  server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stderr.write(`fan-out ready on ${process.env.PORT}\n`));
  process.on("SIGTERM", () => {
    server.close();
    void listener.end().then(() => process.exit(0));
  });
}

main().catch((error) => {
  process.stderr.write(`fan-out failed: ${String(error)}\n`);
  process.exit(1);
});

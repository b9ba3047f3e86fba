/**
 * Peers that stop reading: a subscriber that falls REALTIME_MAX_QUEUED_EVENTS
 * behind (or whose socket holds more than REALTIME_MAX_SEND_BUFFER_BYTES
 * unsent) is closed as a slow consumer (4104) instead
 * of growing the server's memory, and a peer that stops answering pings is
 * dropped (and unregistered) after a keepalive interval or two.
 */
import WebSocket from "ws";
import { startTestServer, randomIp, type TestServer } from "../helpers/server";
import { bulkLoad, closeSqlHelpers, rootDb } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { arrangeRoom } from "../chat/fixtures";
import { until } from "./live";

/** A graphql-transport-ws client by hand, so that the test can stop it reading (pause its TCP socket). */
async function rawSubscriber(server: TestServer, token: string, roomId: string): Promise<WebSocket> {
  const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws", { headers: { "x-forwarded-for": randomIp() } });
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
  await new Promise((resolve) => ws.once("message", resolve));
  ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: `subscription ($r: UUID!) { roomEvents(roomId: $r) { kind seq message { body } } }`, variables: { r: roomId } } }));
  return ws;
}

const pause = (ws: WebSocket) => (ws as unknown as { _socket: { pause(): void } })._socket.pause();

jest.setTimeout(120_000);

describe("back-pressure and dead peers", () => {
  let server: TestServer;
  let owner: TestUser;
  let roomId: string;
  beforeAll(async () => {
    server = await startTestServer({ REALTIME_MAX_SEND_BUFFER_BYTES: "65536", REALTIME_MAX_QUEUED_EVENTS: "20" });
    await server.agora.graphqlSchema();
    owner = await createTestUser();
    const c = await rootDb().connect();
    roomId = await arrangeRoom(c, owner, "public").finally(() => c.release());
  });
  afterAll(async () => {
    await server?.stop();
    await closeSqlHelpers();
  });

  it("closes a subscriber that stops reading with 4104 once it falls behind by the bound", async () => {
    const reader = await createTestUser();
    const ws = await rawSubscriber(server, server.tokenFor(reader), roomId);
    await until(() => server.agora.realtime.hub.roomSubscriptions(roomId) === 1);
    pause(ws);
    const before = server.agora.realtime.connections.closedWith.get(4104) ?? 0;
    const body = "x".repeat(3900);
    // Enough data to fill the kernel's socket buffers several times over.
    for (let batch = 0; batch < 20 && (server.agora.realtime.connections.closedWith.get(4104) ?? 0) === before; batch++) {
      await bulkLoad(async (c) => {
        await c.query("insert into app_public.messages (room_id, author_id, body) select $1, $2, $3 from generate_series(1, 200)", [roomId, owner.id, body]);
      });
      await new Promise((r) => setTimeout(r, 200));
    }
    await until(() => (server.agora.realtime.connections.closedWith.get(4104) ?? 0) === before + 1, 20_000);
    await until(() => server.agora.realtime.hub.roomSubscriptions(roomId) === 0);
    ws.terminate();
  });

  it("drops a peer that stops answering pings, and unregisters it", async () => {
    const pinging = await startTestServer({ WS_KEEPALIVE_MS: "300" });
    const user = await createTestUser();
    const ws = await rawSubscriber(pinging, pinging.tokenFor(user), roomId);
    const registered = async () =>
      Number((await rootDb().query("select count(*) from app_private.realtime_connections where user_id = $1", [user.id])).rows[0].count);
    await until(async () => (await registered()) === 1, 20_000);
    pause(ws);
    await until(async () => (await registered()) === 0, 20_000);
    expect(pinging.agora.realtime.connections.size).toBe(0);
    ws.terminate();
    await pinging.stop();
  });
});

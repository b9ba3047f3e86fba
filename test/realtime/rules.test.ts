/**
 * The rules hold live: removal from a room, a revoked session, an expired
 * access token, a deleted room and a deactivated account end delivery at once
 * (the subscription completes, or the socket closes with a documented code:
 * src/realtime/close-codes.ts, docs/realtime.md).
 */
import { startTestServer, type TestServer } from "../helpers/server";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { arrangeRoom } from "../chat/fixtures";
import { connect, subscribe, until, ROOM_EVENTS, type LiveConnection, type RoomEvent } from "./live";

const SEND = `mutation ($roomId: UUID!, $body: String!) { createMessage(input: { message: { roomId: $roomId, body: $body } }) { message { rowId } } }`;

jest.setTimeout(120_000);

describe("live rules", () => {
  let server: TestServer;
  let owner: TestUser;
  const open: LiveConnection[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    await server.agora.graphqlSchema();
    owner = await createTestUser();
  });
  afterAll(async () => {
    for (const connection of open) await connection.client.dispose();
    await server?.stop();
    await closeSqlHelpers();
  });

  const live = (token?: string) => {
    const connection = connect(server, token);
    open.push(connection);
    return connection;
  };
  const room = async (kind: "public" | "private", members: TestUser[]) => {
    const c = await rootDb().connect();
    try {
      return await arrangeRoom(c, owner, kind, members.map((m) => [m, "member"] as [TestUser, "member"]));
    } finally {
      c.release();
    }
  };
  const send = async (roomId: string, body: string) => {
    const res = await server.graphql<{ createMessage: { message: { rowId: string } } }>(SEND, { roomId, body }, { token: server.tokenFor(owner) });
    expect(res.errors).toBeUndefined();
    return res.data!.createMessage.message.rowId;
  };
  const subscribed = (roomId: string, n = 1) => until(() => server.agora.realtime.hub.roomSubscriptions(roomId) >= n);

  it.each(["private", "public"] as const)("a member removed from a %s room gets MEMBER_REMOVED, then the subscription ends; the others go on", async (kind) => {
    const [member, other] = await Promise.all([createTestUser(), createTestUser()]);
    const roomId = await room(kind, [member, other]);
    const memberSub = subscribe<RoomEvent>(live(server.tokenFor(member)), ROOM_EVENTS, { roomId });
    const otherSub = subscribe<RoomEvent>(live(server.tokenFor(other)), ROOM_EVENTS, { roomId });
    await subscribed(roomId, 2);
    const res = await server.graphql(
      `mutation ($roomId: UUID!, $userId: UUID!) { deleteRoomMemberByRoomIdAndUserId(input: { roomId: $roomId, userId: $userId }) { clientMutationId } }`,
      { roomId, userId: member.id },
      { token: server.tokenFor(owner) },
    );
    expect(res.errors).toBeUndefined();
    await memberSub.ended;
    expect(memberSub.completed).toBe(true);
    expect(memberSub.events.at(-1)).toMatchObject({ kind: "MEMBER_REMOVED", userId: member.id });
    const after = await send(roomId, "after the removal");
    await otherSub.next((e) => e.message?.rowId === after);
    expect(memberSub.events.some((e) => e.message?.rowId === after)).toBe(false);
    if (kind === "private") {
      const again = subscribe<RoomEvent>(live(server.tokenFor(member)), ROOM_EVENTS, { roomId });
      await again.ended;
      expect(again.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "NOTFD" }) })]);
    }
  });

  it("a revoked session (logout) closes its sockets with 4102 at once", async () => {
    const [member, other] = await Promise.all([createTestUser(), createTestUser()]);
    const roomId = await room("private", [member, other]);
    const token = server.tokenFor(member);
    const connection = live(token);
    const sub = subscribe<RoomEvent>(connection, ROOM_EVENTS, { roomId });
    const control = subscribe<RoomEvent>(live(server.tokenFor(other)), ROOM_EVENTS, { roomId });
    await subscribed(roomId, 2);
    const res = await server.graphql(`mutation { logout(input: {}) { clientMutationId } }`, {}, { token });
    expect(res.errors).toBeUndefined();
    expect(await connection.closed).toBe(4102);
    const received = sub.events.length; // e.g. the member's own presence, announced before the logout
    const after = await send(roomId, "after the logout");
    await control.next((e) => e.message?.rowId === after);
    expect(sub.events.length).toBe(received);
    expect(sub.events.some((e) => e.message?.rowId === after)).toBe(false);
  });

  it("a token whose session has already ended is refused at connection_init with 4102", async () => {
    const member = await createTestUser();
    await rootDb().query("update app_private.sessions set revoked_at = now() where id = $1", [member.sessionId]);
    const connection = live(server.tokenFor(member));
    expect(await connection.closed).toBe(4102);
  });

  it("a deactivated account's sockets close with 4102", async () => {
    const member = await createTestUser();
    const connection = live(server.tokenFor(member));
    subscribe(connection, `subscription { notifications { kind } }`);
    await until(() => server.agora.realtime.hub.notificationSubscriptions(member.id) === 1);
    await rootDb().query("update app_public.users set is_active = false where id = $1", [member.id]);
    expect(await connection.closed).toBe(4102);
  });

  it("an access token that expires closes its socket with 4101 (refresh and reconnect)", async () => {
    const member = await createTestUser();
    const roomId = await room("public", [member]);
    const connection = live(server.agora.tokens.sign({ sub: member.id, sid: member.sessionId }, 2));
    const sub = subscribe<RoomEvent>(connection, ROOM_EVENTS, { roomId });
    await subscribed(roomId);
    const started = Date.now();
    expect(await connection.closed).toBe(4101);
    expect(Date.now() - started).toBeLessThan(3500);
    expect(sub.errors).toEqual([]);
  });

  it("an expired token cannot subscribe at all (EXPRD)", async () => {
    const member = await createTestUser();
    const roomId = await room("public", [member]);
    const sub = subscribe<RoomEvent>(live(server.agora.tokens.sign({ sub: member.id, sid: member.sessionId }, -10)), ROOM_EVENTS, { roomId });
    await sub.ended;
    expect(sub.events).toEqual([]);
    expect(sub.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "EXPRD" }) })]);
  });

  it("a deleted room ends every subscription to it with ROOM_DELETED", async () => {
    const member = await createTestUser();
    const roomId = await room("private", [member]);
    const sub = subscribe<RoomEvent>(live(server.tokenFor(member)), ROOM_EVENTS, { roomId });
    await subscribed(roomId);
    await rootDb().query("delete from app_public.rooms where id = $1", [roomId]);
    await sub.ended;
    expect(sub.completed).toBe(true);
    // The member's own connection may announce them online in the room first (presence, racing the subscription); nothing else.
    expect(sub.events.filter((e) => !(e.kind === "PRESENCE" && e.userId === member.id)).map((e) => e.kind)).toEqual(["ROOM_DELETED"]);
    expect(sub.events.at(-1)?.kind).toBe("ROOM_DELETED");
  });
});

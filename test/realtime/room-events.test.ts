/**
 * Room events live, through two API instances on one database: an event
 * written through one reaches subscribers on the other, each subscriber gets
 * exactly what the database's rules let them read, and one query per event
 * per instance decides it.
 */
import { startTestServer, type TestServer } from "../helpers/server";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { arrangeRoom } from "../chat/fixtures";
import { connections, subscribe, until, ROOM_EVENTS, type RoomEvent } from "./live";

const SEND = `mutation ($roomId: UUID!, $body: String!) { createMessage(input: { message: { roomId: $roomId, body: $body } }) { message { rowId } } }`;

jest.setTimeout(120_000);

describe("room events across two API instances", () => {
  let a: TestServer;
  let b: TestServer;
  let owner: TestUser, member: TestUser, blocker: TestUser, outsider: TestUser;
  let privateRoom: string, publicRoom: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestServer(), startTestServer()]);
    await Promise.all([a.agora.graphqlSchema(), b.agora.graphqlSchema()]);
    [owner, member, blocker, outsider] = await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser()]);
    const c = await rootDb().connect();
    try {
      privateRoom = await arrangeRoom(c, owner, "private", [[member, "member"], [blocker, "member"]]);
      publicRoom = await arrangeRoom(c, owner, "public", [[member, "member"], [blocker, "member"]]);
      await c.query("insert into app_public.user_blocks (blocker_id, blocked_id) values ($1, $2)", [blocker.id, member.id]);
    } finally {
      c.release();
    }
  });
  afterAll(async () => {
    await disposeAll();
    await Promise.all([a?.stop(), b?.stop()]);
    await closeSqlHelpers();
  });

  const { live, disposeAll } = connections();
  const send = async (user: TestUser, roomId: string, body: string, server = a) => {
    const res = await server.graphql<{ createMessage: { message: { rowId: string } } }>(SEND, { roomId, body }, { token: server.tokenFor(user) });
    expect(res.errors).toBeUndefined();
    return res.data!.createMessage.message.rowId;
  };

  it("delivers a message sent through one instance to members subscribed on the other, with consecutive sequence numbers", async () => {
    const sub = subscribe<RoomEvent>(live(b, member), ROOM_EVENTS, { roomId: privateRoom });
    await until(() => b.agora.realtime.hub.roomSubscriptions(privateRoom) === 1);
    const first = await send(owner, privateRoom, "hello **there**");
    const second = await send(owner, privateRoom, "again");
    const e1 = await sub.next((e) => e.message?.rowId === first);
    const e2 = await sub.next((e) => e.message?.rowId === second);
    expect(e1).toMatchObject({
      kind: "MESSAGE_CREATED",
      roomId: privateRoom,
      userId: owner.id,
      message: { kind: "text", body: "hello **there**", authorId: owner.id, author: { username: owner.username }, reactionCounts: [] },
    });
    expect(e1.message!.bodyHtml).toContain("<strong>there</strong>");
    expect(BigInt(e2.seq!)).toBe(BigInt(e1.seq!) + 1n);
    sub.dispose();
  });

  it("refuses a private room to a non-member and to an anonymous client (NOTFD), and lets anyone follow a public room", async () => {
    const refused = subscribe<RoomEvent>(live(a, outsider), ROOM_EVENTS, { roomId: privateRoom });
    const anonymous = subscribe<RoomEvent>(live(b), ROOM_EVENTS, { roomId: privateRoom });
    await Promise.all([refused.ended, anonymous.ended]);
    for (const sub of [refused, anonymous]) {
      expect(sub.events).toEqual([]);
      expect(sub.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "NOTFD" }) })]);
    }
    const reader = subscribe<RoomEvent>(live(b), ROOM_EVENTS, { roomId: publicRoom });
    await until(() => b.agora.realtime.hub.roomSubscriptions(publicRoom) >= 1);
    const id = await send(owner, publicRoom, "for everyone");
    expect((await reader.next((e) => e.message?.rowId === id)).kind).toBe("MESSAGE_CREATED");
    // Nothing of the private room reached the refused clients meanwhile.
    await send(owner, privateRoom, "members only");
    await new Promise((r) => setTimeout(r, 300));
    expect(refused.events).toEqual([]);
    expect(anonymous.events).toEqual([]);
    reader.dispose();
  });

  it("never delivers a blocked member's messages to the blocker, and delivers everyone else's", async () => {
    const blockerSub = subscribe<RoomEvent>(live(a, blocker), ROOM_EVENTS, { roomId: privateRoom });
    const ownerSub = subscribe<RoomEvent>(live(b, owner), ROOM_EVENTS, { roomId: privateRoom });
    await until(() => a.agora.realtime.hub.roomSubscriptions(privateRoom) >= 1 && b.agora.realtime.hub.roomSubscriptions(privateRoom) >= 1);
    const fromBlocked = await send(member, privateRoom, "from the blocked member", b);
    const fromOwner = await send(owner, privateRoom, "from the owner");
    await ownerSub.next((e) => e.message?.rowId === fromBlocked);
    await blockerSub.next((e) => e.message?.rowId === fromOwner);
    await ownerSub.next((e) => e.message?.rowId === fromOwner);
    expect(blockerSub.events.filter((e) => e.userId === member.id || e.message?.authorId === member.id)).toEqual([]);
    blockerSub.dispose();
    ownerSub.dispose();
  });

  it("evaluates who may see an event with one query per event per instance, whatever the number of subscribers", async () => {
    const subs = [owner, member, blocker].map((u) => subscribe<RoomEvent>(live(a, u), ROOM_EVENTS, { roomId: privateRoom }));
    await until(() => a.agora.realtime.hub.roomSubscriptions(privateRoom) === 3);
    const before = a.agora.realtime.hub.eventQueries;
    const id = await send(owner, privateRoom, "counted");
    await Promise.all(subs.map((s) => s.next((e) => e.message?.rowId === id)));
    expect(a.agora.realtime.hub.eventQueries - before).toBe(1);
    subs.forEach((s) => s.dispose());
  });

  it("decides events that arrive together in one query whatever their rooms, each room's events in order, each to its own room's subscribers", async () => {
    const c = await rootDb().connect();
    const thirdRoom = await arrangeRoom(c, owner, "private", [[member, "member"]]);
    const inPrivate = subscribe<RoomEvent>(live(a, member), ROOM_EVENTS, { roomId: privateRoom });
    const inPublic = subscribe<RoomEvent>(live(a, owner), ROOM_EVENTS, { roomId: publicRoom });
    const inThird = subscribe<RoomEvent>(live(a, member), ROOM_EVENTS, { roomId: thirdRoom });
    const hub = a.agora.realtime.hub;
    await until(() => hub.roomSubscriptions(privateRoom) >= 1 && hub.roomSubscriptions(publicRoom) >= 1 && hub.roomSubscriptions(thirdRoom) >= 1);
    const before = a.agora.realtime.hub.eventQueries;
    // Twelve messages over three rooms in one transaction: their announcements reach the instance together, at commit.
    let ids: Array<{ id: string; room: string }>;
    try {
      await c.query("begin");
      await c.query("select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [owner.id, owner.sessionId]);
      const { rows } = await c.query<{ id: string; room_id: string }>(
        `insert into app_public.messages (room_id, body)
         select ($1::uuid[])[1 + i % 3], 'together ' || i from generate_series(1, 12) i returning id, room_id`,
        [[privateRoom, publicRoom, thirdRoom]],
      );
      await c.query("commit");
      ids = rows.map((r) => ({ id: r.id, room: r.room_id }));
    } finally {
      c.release();
    }
    const wanted = (room: string) => ids.filter((x) => x.room === room).map((x) => x.id);
    const got = async (sub: typeof inPrivate, room: string) => {
      const last = wanted(room).at(-1)!;
      await sub.next((e) => e.message?.rowId === last);
      return sub.events.filter((e) => e.kind === "MESSAGE_CREATED" && e.message?.body?.startsWith("together ")).map((e) => e.message!.rowId);
    };
    expect(await got(inPrivate, privateRoom)).toEqual(wanted(privateRoom));
    expect(await got(inPublic, publicRoom)).toEqual(wanted(publicRoom));
    expect(await got(inThird, thirdRoom)).toEqual(wanted(thirdRoom));
    expect(wanted(thirdRoom)).toHaveLength(4);
    // 12 events in 3 rooms: one batch (two if the first was taken alone) — not one query per room.
    expect(hub.eventQueries - before).toBeLessThanOrEqual(2);
    for (const sub of [inPrivate, inPublic, inThird]) sub.dispose();
  });

  it("announces edits, reactions, pins and deletions with the message as it now is", async () => {
    const sub = subscribe<RoomEvent>(live(b, member), ROOM_EVENTS, { roomId: publicRoom });
    await until(() => b.agora.realtime.hub.roomSubscriptions(publicRoom) >= 1);
    const id = await send(owner, publicRoom, "first draft");
    const token = a.tokenFor(owner);
    const run = async (query: string, variables: Record<string, unknown>) => {
      const res = await a.graphql(query, variables, { token });
      expect(res.errors).toBeUndefined();
    };
    await run(`mutation ($id: UUID!) { updateMessageByRowId(input: { rowId: $id, messagePatch: { body: "final" } }) { message { rowId } } }`, { id });
    await run(`mutation ($id: UUID!) { toggleReaction(input: { messageId: $id, emoji: "👍" }) { result } }`, { id });
    await run(`mutation ($id: UUID!) { pinMessage(input: { messageId: $id }) { clientMutationId } }`, { id });
    await run(`mutation ($id: UUID!) { deleteMessage(input: { messageId: $id }) { clientMutationId } }`, { id });
    expect((await sub.next((e) => e.kind === "MESSAGE_EDITED" && e.message?.rowId === id)).message!.body).toBeDefined();
    const reaction = await sub.next((e) => e.kind === "REACTIONS_CHANGED" && e.message?.rowId === id);
    expect(reaction.userId).toBe(owner.id);
    await sub.next((e) => e.kind === "MESSAGE_PINNED" && e.message?.rowId === id);
    const deleted = await sub.next((e) => e.kind === "MESSAGE_DELETED" && e.message?.rowId === id);
    expect(deleted.message).toMatchObject({ body: "", deletedAt: expect.any(String) });
    await sub.next((e) => e.kind === "MESSAGE_UNPINNED" && e.message?.rowId === id);
    const kinds = sub.events.filter((e) => e.message?.rowId === id || e.message?.kind === "pin").map((e) => e.kind);
    expect(kinds).toEqual(["MESSAGE_CREATED", "MESSAGE_EDITED", "REACTIONS_CHANGED", "MESSAGE_CREATED", "MESSAGE_PINNED", "MESSAGE_DELETED", "MESSAGE_UNPINNED"]);
    const seqs = sub.events.map((e) => BigInt(e.seq!));
    expect(seqs).toEqual([...seqs].sort((x, y) => (x < y ? -1 : 1)));
    sub.dispose();
  });
});

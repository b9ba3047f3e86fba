/**
 * Chat through the real GraphQL API: create a private room and invite, open a
 * direct room (twice: the same room), send markdown with a mention and a
 * thread reply, react, page the history newest first (one SQL statement per
 * page, with authors and reaction counts), jump around a message, unread
 * counts, and the refusals members meet (MUTED with its lapse time, PINMX,
 * BLOCK, private rooms invisible).
 */
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type GraphQLResponse, type TestServer, ok } from "../helpers/server";
import { errorCode } from "../helpers/auth";
import { createTestUser, uniqueName, type TestUser } from "../helpers/users";
import { dataStatements, recordStatements } from "../helpers/statements";
import { HISTORY } from "./fixtures";

let server: TestServer;
let recorder: ReturnType<typeof recordStatements>;

beforeAll(async () => {
  server = await startTestServer();
  recorder = recordStatements(server.agora.authPool);
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL response data: the assertions check its shape
const gql = <T = Record<string, any>>(user: TestUser | null, query: string, variables: Record<string, unknown> = {}) => server.as<T>(user, query, variables);
const CREATE_ROOM = `mutation ($name: String!, $kind: RoomKind!) {
  createRoom(input: { room: { name: $name, kind: $kind, topic: "Chat tests" } }) { room { rowId slug kind } }
}`;
const INVITE = `mutation ($roomId: UUID!, $userId: UUID!) {
  createRoomMember(input: { roomMember: { roomId: $roomId, userId: $userId } }) { roomMember { role } }
}`;
const SEND = `mutation ($roomId: UUID!, $body: String!, $parentId: UUID) {
  createMessage(input: { message: { roomId: $roomId, body: $body, parentId: $parentId } }) { message { rowId bodyHtml createdAt } }
}`;
const ROOM = `query ($id: UUID!) { roomByRowId(rowId: $id) { name roomMembersByRoomId { totalCount } } }`;

describe("rooms and messages over GraphQL", () => {
  let owner: TestUser;
  let guest: TestUser;
  let stranger: TestUser;
  let roomId: string;

  beforeAll(async () => {
    [owner, guest, stranger] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const created = ok(await gql(owner, CREATE_ROOM, { name: uniqueName("Private room"), kind: "private" }));
    roomId = created.createRoom.room.rowId;
    expect(created.createRoom.room.kind).toBe("private");
    expect(created.createRoom.room.slug).toMatch(/^private-room-/);
  });

  it("a private room is invisible to non-members until they are invited", async () => {
    expect(ok(await gql(stranger, ROOM, { id: roomId })).roomByRowId).toBeNull();
    expect(ok(await gql(null, ROOM, { id: roomId })).roomByRowId).toBeNull();
    expect(errorCode(await gql(stranger, INVITE, { roomId, userId: stranger.id }))).toBe("FORBD");
    expect(ok(await gql(owner, INVITE, { roomId, userId: guest.id })).createRoomMember.roomMember.role).toBe("member");
    expect(ok(await gql(guest, ROOM, { id: roomId })).roomByRowId.roomMembersByRoomId.totalCount).toBe(2);
  });

  it("markdown renders to sanitised HTML; a mention is recorded; a reply counts on its parent; reactions toggle", async () => {
    const top = ok(await gql(owner, SEND, { roomId, body: `**hello** @${guest.username} <script>alert(1)</script>` })).createMessage.message;
    expect(top.bodyHtml).toContain("<strong>hello</strong>");
    expect(top.bodyHtml).not.toContain("<script");
    ok(await gql(guest, SEND, { roomId, body: "a reply", parentId: top.rowId }));
    const reply = await gql(guest, SEND, { roomId, body: "too deep", parentId: (await rootDb().query("select id from app_public.messages where parent_id = $1", [top.rowId])).rows[0].id });
    expect(errorCode(reply)).toBe("THRED");
    const TOGGLE = `mutation ($id: UUID!) { toggleReaction(input: { messageId: $id, emoji: "👍" }) { result } }`;
    expect(ok(await gql(guest, TOGGLE, { id: top.rowId })).toggleReaction.result).toBe(true);
    expect(ok(await gql(owner, TOGGLE, { id: top.rowId })).toggleReaction.result).toBe(true);
    expect(ok(await gql(owner, TOGGLE, { id: top.rowId })).toggleReaction.result).toBe(false);
    expect(errorCode(await gql(stranger, TOGGLE, { id: top.rowId }))).toBe("FORBD");

    const page = ok(await gql(guest, HISTORY, { id: roomId })).roomByRowId.messagesByRoomId.nodes;
    const topRow = page.find((m: { rowId: string }) => m.rowId === top.rowId);
    expect(topRow.replyCount).toBe(1);
    expect(topRow.lastReplyAt).not.toBeNull();
    expect(topRow.messageReactionCountsByMessageId.nodes).toEqual([{ emoji: "👍", count: 1 }]);
    expect(page[0].body).toBe("a reply"); // newest first
    const UNREADS = `query { myRoomUnreads { nodes { roomId unread mentions } } }`;
    const mine = ok(await gql(guest, UNREADS)).myRoomUnreads.nodes.find((n: { roomId: string }) => n.roomId === roomId);
    expect(mine).toEqual({ roomId, unread: 1, mentions: 1 });
    const READ = `mutation ($roomId: UUID!, $messageId: UUID!) { markRoomRead(input: { roomId: $roomId, messageId: $messageId }) { result { lastReadMessageId } } }`;
    ok(await gql(guest, READ, { roomId, messageId: top.rowId }));
    expect(ok(await gql(guest, UNREADS)).myRoomUnreads.nodes.find((n: { roomId: string }) => n.roomId === roomId)).toEqual({ roomId, unread: 0, mentions: 0 });
  });

  it("a muted member is refused with MUTED and the time the mute lapses; the fourth pin with PINMX", async () => {
    const MUTE = `mutation ($roomId: UUID!, $userId: UUID!) {
      muteRoomMember(input: { roomId: $roomId, userId: $userId, until: "2999-06-01T00:00:00Z", reason: "cool down" }) { result { mutedUntil } }
    }`;
    expect(errorCode(await gql(guest, MUTE, { roomId, userId: owner.id }))).toBe("FORBD");
    ok(await gql(owner, MUTE, { roomId, userId: guest.id }));
    const refused = await gql(guest, SEND, { roomId, body: "can I talk?" });
    expect(errorCode(refused)).toBe("MUTED");
    expect(refused.errors![0].extensions!.mutedUntil).toMatch(/^2999-06-01/);
    expect(refused.errors![0].message).toContain("2999-06-01");

    const PIN = `mutation ($id: UUID!) { pinMessage(input: { messageId: $id }) { result { messageId } } }`;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(ok(await gql(owner, SEND, { roomId, body: `pin candidate ${i}` })).createMessage.message.rowId);
    for (const id of ids.slice(0, 3)) ok(await gql(owner, PIN, { id }));
    const fourth = await gql(owner, PIN, { id: ids[3] });
    expect(errorCode(fourth)).toBe("PINMX");
    expect(fourth.errors![0].extensions!.max).toBe(3);
  });

  it("openDirectRoom returns the same room from both sides, and BLOCK once either blocked the other", async () => {
    const OPEN = `mutation ($userId: UUID!) { openDirectRoom(input: { userId: $userId }) { result { rowId kind } } }`;
    const a = ok(await gql(owner, OPEN, { userId: stranger.id })).openDirectRoom.result;
    const b = ok(await gql(stranger, OPEN, { userId: owner.id })).openDirectRoom.result;
    expect(a).toEqual({ rowId: b.rowId, kind: "direct" });
    const BLOCK = `mutation ($userId: UUID!) { createUserBlock(input: { userBlock: { blockedId: $userId } }) { userBlock { blockedId } } }`;
    ok(await gql(stranger, BLOCK, { userId: owner.id }));
    expect(errorCode(await gql(owner, OPEN, { userId: stranger.id }))).toBe("BLOCK");
    expect(errorCode(await gql(owner, SEND, { roomId: a.rowId, body: "hello?" }))).toBe("BLOCK");
  });
});

describe("history paging", () => {
  let reader: TestUser;
  let roomId: string;
  let ids: string[]; // oldest first

  beforeAll(async () => {
    const [author, r] = await Promise.all([createTestUser(), createTestUser()]);
    reader = r;
    const db = await rootDb().connect();
    try {
      await db.query("begin");
      await db.query("set local agora.bulk_load = 'on'");
      roomId = (await db.query("insert into app_public.rooms (kind, name, created_by) values ('public', $1, $2) returning id", [uniqueName("History"), author.id])).rows[0].id;
      await db.query(
        `insert into app_public.messages (room_id, author_id, body, created_at)
         select $1, $2, 'history ' || i, now() - interval '1 day' + i * interval '1 second' from generate_series(1, 120) i`,
        [roomId, author.id],
      );
      ids = (await db.query("select id from app_public.messages where room_id = $1 and kind = 'text' order by created_at, id", [roomId])).rows.map((x) => x.id);
      await db.query("insert into app_public.message_reactions (message_id, user_id, emoji) select id, $2, '🔥' from unnest($1::uuid[]) id", [ids, author.id]);
      await db.query("commit");
    } finally {
      db.release();
    }
  });

  it("pages newest first, 50 at a time, one SQL statement per page (authors and reaction counts included)", async () => {
    const token = server.tokenFor(reader);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL response data: the assertions check its shape
      let res: GraphQLResponse<any> | undefined;
      const statements = await recorder.during(async () => {
        res = await server.graphql(HISTORY, { id: roomId, after }, { token });
      });
      expect(res!.errors).toBeUndefined();
      expect(dataStatements(statements)).toHaveLength(1);
      const conn = res!.data.roomByRowId.messagesByRoomId;
      for (const m of conn.nodes) {
        if (m.kind === "text") {
          seen.push(m.rowId);
          expect(m.messageReactionCountsByMessageId.nodes).toEqual([{ emoji: "🔥", count: 1 }]);
          expect(m.userByAuthorId.username).toBeTruthy();
        }
      }
      after = conn.pageInfo.endCursor;
      expect(conn.pageInfo.hasNextPage).toBe(page < 2);
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it("messagesAround: the message with up to `count` newer and older, newest first", async () => {
    const AROUND = `query ($id: UUID!) { messagesAround(messageId: $id, count: 3) { nodes { rowId } } }`;
    const nodes = ok(await gql(reader, AROUND, { id: ids[60] })).messagesAround.nodes.map((n: { rowId: string }) => n.rowId);
    expect(nodes).toEqual(ids.slice(57, 64).reverse());
  });
});

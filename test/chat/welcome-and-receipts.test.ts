/**
 * The welcome bot (a member's first-ever room join, once, with the
 * chat.welcome_text setting, as a typed `welcome` message by an account
 * nobody can sign in as) and read receipts in direct rooms (readBy on a
 * message: the other member once they have read up to it; one SQL statement
 * for a history page with receipts), through the real GraphQL API.
 */
import { LOGIN } from "../helpers/auth";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type GraphQLResponse, type TestServer, ok } from "../helpers/server";
import { dataStatements, recordStatements } from "../helpers/statements";
import { createTestUser, type TestUser } from "../helpers/users";
import { arrangeRoom, bulkLoad } from "./fixtures";

let server: TestServer;
let recorder: ReturnType<typeof recordStatements>;
let owner: TestUser;
let roomA: string;
let roomB: string;
let privateRoom: string;
let welcomeText: string;

beforeAll(async () => {
  server = await startTestServer();
  recorder = recordStatements(server.agora.authPool);
  owner = await createTestUser();
  await bulkLoad(async (c) => {
    roomA = await arrangeRoom(c, owner, "public");
    roomB = await arrangeRoom(c, owner, "public");
    privateRoom = await arrangeRoom(c, owner, "private");
  });
  welcomeText = (await rootDb().query("select app_private.setting('chat.welcome_text') #>> '{}' as t")).rows[0].t;
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL response data: the assertions check its shape
const gql = <T = Record<string, any>>(user: TestUser | null, query: string, variables: Record<string, unknown> = {}) => server.as<T>(user, query, variables);
const JOIN = `mutation ($roomId: UUID!, $userId: UUID!) { createRoomMember(input: { roomMember: { roomId: $roomId, userId: $userId } }) { roomMember { role } } }`;
const LEAVE = `mutation ($roomId: UUID!, $userId: UUID!) { deleteRoomMemberByRoomIdAndUserId(input: { roomId: $roomId, userId: $userId }) { deletedRoomMemberId } }`;
const SYSTEM = `query ($id: UUID!) { roomByRowId(rowId: $id) {
  messagesByRoomId(orderBy: [CREATED_AT_ASC, ROW_ID_ASC]) {
    nodes { kind body bodyHtml subjectUserId userByAuthorId { username displayName } }
  } } }`;

const welcomesOf = async (room: string, user: TestUser) =>
  ok(await gql(owner, SYSTEM, { id: room })).roomByRowId.messagesByRoomId.nodes.filter((m: { kind: string; subjectUserId: string }) => m.kind === "welcome" && m.subjectUserId === user.id);

describe("the welcome bot", () => {
  it("greets a member in the room of their first-ever join, once: not in a second room, not on rejoining", async () => {
    const newcomer = await createTestUser();
    ok(await gql(newcomer, JOIN, { roomId: roomA, userId: newcomer.id }));
    const greetings = await welcomesOf(roomA, newcomer);
    expect(greetings).toEqual([
      {
        kind: "welcome",
        body: welcomeText,
        bodyHtml: expect.stringContaining("Welcome"),
        subjectUserId: newcomer.id,
        userByAuthorId: { username: "agora-bot", displayName: "Agora Bot" },
      },
    ]);
    ok(await gql(newcomer, JOIN, { roomId: roomB, userId: newcomer.id }));
    ok(await gql(newcomer, LEAVE, { roomId: roomA, userId: newcomer.id }));
    ok(await gql(newcomer, JOIN, { roomId: roomA, userId: newcomer.id }));
    expect(await welcomesOf(roomB, newcomer)).toEqual([]);
    expect(await welcomesOf(roomA, newcomer)).toHaveLength(1);
  });

  it("an invitation to a private room is a first join too; a direct room is not", async () => {
    const invitee = await createTestUser();
    const friend = await createTestUser();
    ok(await gql(friend, `mutation ($id: UUID!) { openDirectRoom(input: { userId: $id }) { result { rowId } } }`, { id: invitee.id }));
    const direct = (await rootDb().query("select count(*)::int as n from app_public.messages where kind = 'welcome' and subject_user_id = any($1)", [[invitee.id, friend.id]])).rows[0].n;
    expect(direct).toBe(0);
    ok(await gql(owner, JOIN, { roomId: privateRoom, userId: invitee.id }));
    expect(await welcomesOf(privateRoom, invitee)).toHaveLength(1);
  });

  it("a member loaded in bulk (a seed) was in a room already: joining another greets nobody", async () => {
    const seeded = await createTestUser();
    await bulkLoad((c) => c.query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [roomB, seeded.id]));
    expect(await welcomesOf(roomB, seeded)).toEqual([]);
    ok(await gql(seeded, JOIN, { roomId: roomA, userId: seeded.id }));
    expect(await welcomesOf(roomA, seeded)).toEqual([]);
  });

  it("the bot cannot sign in: no password, no e-mail; its messages cannot be edited or forged", async () => {
    const res = await gql(null, LOGIN, { input: { identifier: "agora-bot", password: "anything-at-all-1" } });
    expect(res.data?.login ?? null).toBeNull();
    const { rows } = await rootDb().query(
      `select (select count(*) from app_private.user_secrets s where s.user_id = b.user_id)::int as secrets,
              (select count(*) from app_public.user_emails e where e.user_id = b.user_id)::int as emails
         from app_private.bot_accounts b where b.kind = 'welcome'`,
    );
    expect(rows).toEqual([{ secrets: 0, emails: 0 }]);
    const forged = await gql(owner, `mutation ($roomId: UUID!) { createMessage(input: { message: { roomId: $roomId, body: "hi", kind: WELCOME } }) { message { rowId } } }`, { roomId: roomA });
    expect(forged.errors?.[0]?.message).toMatch(/kind/);
  });
});

describe("read receipts in direct rooms", () => {
  const OPEN = `mutation ($id: UUID!) { openDirectRoom(input: { userId: $id }) { result { rowId } } }`;
  const SEND = `mutation ($roomId: UUID!, $body: String!) { createMessage(input: { message: { roomId: $roomId, body: $body } }) { message { rowId } } }`;
  const READ = `mutation ($roomId: UUID!, $messageId: UUID!) { markRoomRead(input: { roomId: $roomId, messageId: $messageId }) { result { lastReadMessageId } } }`;
  const PAGE = `query ($id: UUID!) { roomByRowId(rowId: $id) {
    roomMembersByRoomId { nodes { userId lastReadMessageId } }
    messagesByRoomId(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes {
      body userByAuthorId { username } readBy(first: 2) { nodes { username } }
      messageLinkPreviewsByMessageId(first: 5) { nodes { linkPreviewByUrl { status } } }
    } }
  } }`;

  it("each member sees who has read up to which message, in one statement per page; other rooms have no receipts", async () => {
    const [ana, bo, stranger] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const room = ok(await gql(ana, OPEN, { id: bo.id })).openDirectRoom.result.rowId;
    const ids: string[] = [];
    // "two" names a URL (a loopback address: its preview job is refused at once, whoever runs it).
    for (const body of ["one", `two http://127.0.0.1:9/${room}`, "three"]) ids.push(ok(await gql(ana, SEND, { roomId: room, body })).createMessage.message.rowId);
    ok(await gql(bo, READ, { roomId: room, messageId: ids[1] }));
    for (const reader of [ana, bo]) {
      let res: GraphQLResponse | undefined;
      const statements = await recorder.during(async () => {
        res = await gql(reader, PAGE, { id: room });
      });
      type Node = { body: string; readBy: { nodes: unknown[] }; messageLinkPreviewsByMessageId: { nodes: unknown[] } };
      const data = ok(res!) as { roomByRowId: { roomMembersByRoomId: { nodes: unknown[] }; messagesByRoomId: { nodes: Node[] } } };
      expect(dataStatements(statements)).toHaveLength(1); // receipts and link previews included
      expect(data.roomByRowId.messagesByRoomId.nodes.map((m) => [m.body.split(" ")[0], m.readBy.nodes, m.messageLinkPreviewsByMessageId.nodes.length])).toEqual([
        ["three", [], 0],
        ["two", [{ username: bo.username }], 1],
        ["one", [{ username: bo.username }], 0],
      ]);
      expect(data.roomByRowId.roomMembersByRoomId.nodes).toEqual(
        expect.arrayContaining([
          { userId: bo.id, lastReadMessageId: ids[1] },
          { userId: ana.id, lastReadMessageId: null },
        ]),
      );
    }
    expect(ok(await gql(stranger, PAGE, { id: room })).roomByRowId).toBeNull();
    // Bo answers and Ana reads everything: Bo's message is read by Ana, Ana's by Bo up to where Bo read.
    const reply = ok(await gql(bo, SEND, { roomId: room, body: "four" })).createMessage.message.rowId;
    ok(await gql(ana, READ, { roomId: room, messageId: reply }));
    const page = ok(await gql(bo, PAGE, { id: room })).roomByRowId.messagesByRoomId.nodes;
    expect(page.map((m: { body: string; readBy: { nodes: unknown[] } }) => [m.body.split(" ")[0], m.readBy.nodes])).toEqual([
      ["four", [{ username: ana.username }]],
      ["three", []],
      ["two", [{ username: bo.username }]],
      ["one", [{ username: bo.username }]],
    ]);

    // A public room: read positions are not receipts.
    ok(await gql(ana, JOIN, { roomId: roomA, userId: ana.id }));
    const msg = ok(await gql(owner, SEND, { roomId: roomA, body: "public" })).createMessage.message.rowId;
    ok(await gql(ana, READ, { roomId: roomA, messageId: msg }));
    const pub = ok(await gql(owner, `query ($id: UUID!) { messageByRowId(rowId: $id) { readBy(first: 2) { nodes { username } } } }`, { id: msg }));
    expect(pub.messageByRowId.readBy.nodes).toEqual([]);
  });
});

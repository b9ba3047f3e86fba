/**
 * Chat notifications through the real GraphQL API, produced by real causes:
 * a mention in a chat message notifies the mentioned member (not the author,
 * not a non-member, not across a block in either direction); a direct
 * message notifies the other member once per conversation burst (later
 * messages update the unread notification; after it is read, the next
 * message makes a new one). Blocks now silence every notification type
 * (app_private.notification_blocked reads user_blocks), e.g. new followers.
 */
import { renderMail } from "../../src/mail/templates";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer, ok } from "../helpers/server";
import { createTestUser, type TestUser } from "../helpers/users";
import { arrangeRoom, bulkLoad } from "./fixtures";

let server: TestServer;
let ana: TestUser; // the actor
let bo: TestUser;
let cy: TestUser;
let dee: TestUser; // blocked ana
let fay: TestUser; // blocked by ana
let eve: TestUser; // in no room
let pub: string;
let priv: string;

beforeAll(async () => {
  server = await startTestServer();
  [ana, bo, cy, dee, fay, eve] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => createTestUser()));
  await bulkLoad(async (c) => {
    pub = await arrangeRoom(c, ana, "public", [[bo, "member"], [cy, "member"], [dee, "member"], [fay, "member"]]);
    priv = await arrangeRoom(c, bo, "private", [[ana, "member"]]);
    await c.query("insert into app_public.user_blocks (blocker_id, blocked_id) values ($1, $2), ($3, $4)", [dee.id, ana.id, ana.id, fay.id]);
  });
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL response data: the assertions check its shape
const gql = <T = Record<string, any>>(user: TestUser, query: string, variables: Record<string, unknown> = {}) => server.as<T>(user, query, variables);
const SEND = `mutation ($roomId: UUID!, $body: String!) { createMessage(input: { message: { roomId: $roomId, body: $body } }) { message { rowId } } }`;
const EDIT = `mutation ($id: UUID!, $body: String!) { updateMessageByRowId(input: { rowId: $id, messagePatch: { body: $body } }) { message { rowId } } }`;
const MINE = `query ($type: String) { currentUserNotifications(first: 20, typeId: $type) { nodes { rowId typeId actorId actorCount readAt detail } } currentUserUnreadNotificationCount }`;
const MARK = `mutation ($ids: [UUID]!) { markNotificationsRead(input: { notificationIds: $ids }) { result } }`;

interface Note {
  rowId: string;
  typeId: string;
  actorId: string;
  actorCount: number;
  readAt: string | null;
  detail: Record<string, unknown>;
}

async function notes(user: TestUser, type: string, roomId: string): Promise<Note[]> {
  const data = ok(await gql<{ currentUserNotifications: { nodes: Note[] } }>(user, MINE, { type }));
  return data.currentUserNotifications.nodes.filter((n) => n.detail.roomId === roomId);
}

const send = async (user: TestUser, roomId: string, body: string): Promise<string> =>
  ok(await gql(user, SEND, { roomId, body })).createMessage.message.rowId;

describe("mentions in chat messages", () => {
  it("notify the members mentioned: not the author, not a non-member, not across a block either way", async () => {
    const id = await send(ana, pub, `Hi @${bo.username}, @${cy.username}, @${ana.username}, @${eve.username}, @${dee.username} and @${fay.username}`);
    for (const member of [bo, cy]) {
      expect(await notes(member, "mention", pub)).toEqual([
        { rowId: expect.any(String), typeId: "mention", actorId: ana.id, actorCount: 1, readAt: null, detail: { roomId: pub, messageId: id } },
      ]);
    }
    for (const nobody of [ana, eve, dee, fay]) expect(await notes(nobody, "mention", pub)).toEqual([]);
    // The message itself mentions the blocked members (a block hides messages, it does not rewrite them).
    const { rows } = await rootDb().query("select user_id from app_public.message_mentions where message_id = $1", [id]);
    expect(rows.map((r) => r.user_id).sort()).toEqual([bo.id, cy.id, dee.id, fay.id].sort());
  });

  it("in a private room, members only; an edit notifies nobody again", async () => {
    const id = await send(ana, priv, `@${bo.username} @${cy.username} private`);
    expect((await notes(bo, "mention", priv)).map((n) => n.detail.messageId)).toEqual([id]);
    expect(await notes(cy, "mention", priv)).toEqual([]); // not a member of the private room
    ok(await gql(ana, EDIT, { id, body: `@${bo.username} edited` }));
    expect(await notes(bo, "mention", priv)).toHaveLength(1);
  });

  it("a member who turned mentions off gets none", async () => {
    const quiet = await createTestUser();
    await bulkLoad((c) => c.query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [pub, quiet.id]));
    for (const channel of ["in_app", "email"]) {
      ok(await gql(quiet, `mutation ($c: NotificationChannel!) { setNotificationPreference(input: { typeId: "mention", channel: $c, enabled: false }) { clientMutationId } }`, { c: channel }));
    }
    await send(ana, pub, `@${quiet.username} are you there?`);
    expect((await rootDb().query("select count(*)::int as n from app_public.notifications where recipient_id = $1", [quiet.id])).rows[0].n).toBe(0);
  });
});

describe("direct messages", () => {
  it("one notification per conversation burst: later messages update the unread one; once read, the next message makes a new one", async () => {
    const room = ok(await gql(ana, `mutation ($id: UUID!) { openDirectRoom(input: { userId: $id }) { result { rowId } } }`, { id: cy.id })).openDirectRoom.result.rowId;
    const first = await send(ana, room, "hello");
    await send(ana, room, "are you there?");
    const third = await send(ana, room, `@${cy.username} ping`);
    const burst = await notes(cy, "direct_message", room);
    expect(burst).toEqual([
      {
        rowId: expect.any(String),
        typeId: "direct_message",
        actorId: ana.id,
        actorCount: 1,
        readAt: null,
        detail: { roomId: room, messageId: first, lastMessageId: third, messageCount: 3 },
      },
    ]);
    expect(await notes(cy, "mention", room)).toEqual([]); // the direct message notification covers it
    expect(await notes(ana, "direct_message", room)).toEqual([]);

    ok(await gql(cy, MARK, { ids: [burst[0].rowId] }));
    const fourth = await send(ana, room, "one more");
    const after = await notes(cy, "direct_message", room);
    expect(after.map((n) => [n.readAt === null, n.detail.messageId, n.detail.messageCount])).toEqual([
      [true, fourth, 1],
      [false, first, 3],
    ]);

    const reply = await send(cy, room, "here");
    expect((await notes(ana, "direct_message", room)).map((n) => [n.actorId, n.detail.messageId])).toEqual([[cy.id, reply]]);
  });

  // One sender's messages already serialise on their send-limit counter; the advisory lock in
  // notify_direct_message keeps this true should that change.
  it("messages sent at once still make one notification with an exact count", async () => {
    const [sender, reader] = await Promise.all([createTestUser(), createTestUser()]);
    const room = ok(await gql(sender, `mutation ($id: UUID!) { openDirectRoom(input: { userId: $id }) { result { rowId } } }`, { id: reader.id })).openDirectRoom.result.rowId;
    await Promise.all([1, 2, 3, 4, 5, 6].map((i) => send(sender, room, `burst ${i}`)));
    expect((await notes(reader, "direct_message", room)).map((n) => n.detail.messageCount)).toEqual([6]);
  });

  it("bursts are per room: another conversation makes its own notification", async () => {
    const open = `mutation ($id: UUID!) { openDirectRoom(input: { userId: $id }) { result { rowId } } }`;
    const fromBo = ok(await gql(bo, open, { id: eve.id })).openDirectRoom.result.rowId;
    const fromCy = ok(await gql(cy, open, { id: eve.id })).openDirectRoom.result.rowId;
    await send(bo, fromBo, "hi from bo");
    await send(cy, fromCy, "hi from cy");
    await send(bo, fromBo, "again from bo");
    expect((await notes(eve, "direct_message", fromBo)).map((n) => n.detail.messageCount)).toEqual([2]);
    expect((await notes(eve, "direct_message", fromCy)).map((n) => n.detail.messageCount)).toEqual([1]);
  });
});

describe("blocks silence every notification type", () => {
  it("a follow by a member the followee blocked, or whom the followee blocked, notifies nobody", async () => {
    const FOLLOW = `mutation ($id: UUID!) { createFollow(input: { follow: { followeeId: $id } }) { clientMutationId } }`;
    ok(await gql(ana, FOLLOW, { id: dee.id })); // dee blocked ana
    ok(await gql(ana, FOLLOW, { id: fay.id })); // ana blocked fay
    ok(await gql(ana, FOLLOW, { id: bo.id })); // no block: notified
    const count = async (user: TestUser) =>
      (await rootDb().query("select count(*)::int as n from app_public.notifications where recipient_id = $1 and type_id = 'new_follower' and actor_id = $2", [user.id, ana.id])).rows[0].n;
    expect(await count(dee)).toBe(0);
    expect(await count(fay)).toBe(0);
    expect(await count(bo)).toBe(1);
  });
});

describe("their e-mails", () => {
  it("say who mentioned you or wrote to you", () => {
    const mail = (type: string) =>
      renderMail("notification", { type_id: type, actor_name: "Ana", actor_count: "1", target_title: "", event: "", ip: "", unsubscribe_token: "t" }, "https://agora.test");
    expect(mail("mention").text).toContain("Ana mentioned you in a chat message.");
    expect(mail("direct_message").text).toContain("Ana sent you a direct message.");
  });
});

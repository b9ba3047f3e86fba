/**
 * The direct path of roomEvents (plugins/realtime-direct.ts): the same
 * results as Grafast's plan for every kind of event, the refusals through
 * both paths, and what falls back to the plan.
 */
import { parse, type GraphQLSchema } from "postgraphile/graphql";
import { compile, resultOf } from "../../plugins/realtime-direct";
import { COMPUTED } from "../../plugins/realtime";
import { startTestServer, type TestServer } from "../helpers/server";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { arrangeRoom } from "../chat/fixtures";
import { connections, subscribe, until, ROOM_EVENTS, type LiveSubscription } from "./live";

jest.setTimeout(120_000);

/** ROOM_EVENTS with a directive on the root field: the direct path does not take directives, so Grafast plans it. */
const PLANNED = ROOM_EVENTS.replace("roomEvents(roomId: $roomId)", "roomEvents(roomId: $roomId) @include(if: true)");

/** Aliases, fragments (named and inline), __typename, and every field of every live type. */
const EVERYTHING = `subscription Everything($roomId: UUID!) {
  live: roomEvents(roomId: $roomId) {
    __typename kind roomId seq userId expiresAt
    message { ...Message }
    member { __typename userId role mutedUntil joinedAt }
    user { ...User }
    room { ... on LiveRoom { rowId kind name description topic isArchived memberCount } }
  }
}
fragment Message on LiveMessage {
  __typename rowId roomId authorId parentId kind body html: bodyHtml createdAt editedAt deletedAt replyCount
  subjectUserId subjectMessageId systemData author { ...User } reactionCounts { emoji count }
}
fragment User on LiveUser { rowId username displayName avatarUrl isOnline lastSeenAt }`;
const EVERYTHING_PLANNED = EVERYTHING.replace("roomEvents(roomId: $roomId)", "roomEvents(roomId: $roomId) @skip(if: false)");

let a: TestServer;
beforeAll(async () => {
  a = await startTestServer();
});
afterAll(async () => {
  await a?.stop();
  await closeSqlHelpers();
});

describe("roomEvents' direct path", () => {
  let owner: TestUser, member: TestUser, joiner: TestUser, outsider: TestUser;
  let room: string;

  beforeAll(async () => {
    await a.agora.graphqlSchema();
    [owner, member, joiner, outsider] = await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser()]);
    const c = await rootDb().connect();
    try {
      room = await arrangeRoom(c, owner, "private", [[member, "member"]]);
    } finally {
      c.release();
    }
  });
  afterAll(async () => {
    await disposeAll();
  });

  const { live, disposeAll } = connections();
  const paths = async () => {
    const text = await a.agora.metrics.registry.getSingleMetricAsString("agora_live_subscriptions_total");
    const count = (path: string) => Number(new RegExp(`path="${path}"} (\\d+)`).exec(text)?.[1] ?? 0);
    return { direct: count("direct"), planned: count("planned") };
  };
  const run = async (user: TestUser, query: string, variables: Record<string, unknown>) => {
    const res = await a.graphql<Record<string, Record<string, unknown>>>(query, variables, { token: a.tokenFor(user) });
    expect(res.errors).toBeUndefined();
    return res.data!;
  };

  it("gives every kind of event the same result as Grafast's plan, for plain and for fragment-and-alias selections", async () => {
    const before = await paths();
    const connection = live(a, member);
    const subs: Array<LiveSubscription<Record<string, unknown>>> = [ROOM_EVENTS, PLANNED, EVERYTHING, EVERYTHING_PLANNED].map((query) => subscribe(connection, query, { roomId: room }));
    await until(() => a.agora.realtime.hub.roomSubscriptions(room) === 4);
    expect(await paths()).toEqual({ direct: before.direct + 2, planned: before.planned + 2 });

    const created = await run(owner, `mutation ($roomId: UUID!) { createMessage(input: { message: { roomId: $roomId, body: "hello **there** <script>x</script>" } }) { message { rowId } } }`, { roomId: room });
    const id = (created.createMessage.message as { rowId: string }).rowId;
    await run(owner, `mutation ($id: UUID!) { updateMessageByRowId(input: { rowId: $id, messagePatch: { body: "_final_" } }) { message { rowId } } }`, { id });
    await run(member, `mutation ($id: UUID!) { toggleReaction(input: { messageId: $id, emoji: "👍" }) { result } }`, { id });
    await run(owner, `mutation ($id: UUID!) { pinMessage(input: { messageId: $id }) { clientMutationId } }`, { id });
    await run(owner, `mutation ($roomId: UUID!) { sendTypingIndicator(input: { roomId: $roomId }) { result } }`, { roomId: room });
    const root = await rootDb().connect();
    try {
      await root.query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [room, joiner.id]);
      await root.query("update app_public.room_members set muted_until = now() + interval '1 hour' where room_id = $1 and user_id = $2", [room, joiner.id]);
      await root.query("update app_public.rooms set topic = 'direct path' where id = $1", [room]);
    } finally {
      root.release();
    }
    await run(owner, `mutation ($id: UUID!) { deleteMessage(input: { messageId: $id }) { clientMutationId } }`, { id });

    const last = (e: Record<string, unknown>) => e.kind === "MESSAGE_UNPINNED";
    await Promise.all(subs.map((s) => s.next(last)));
    const [plain, planned, everything, everythingPlanned] = subs.map((s) => s.events);
    const kinds = new Set(plain.map((e) => e.kind));
    for (const kind of ["MESSAGE_CREATED", "MESSAGE_EDITED", "REACTIONS_CHANGED", "MESSAGE_PINNED", "TYPING", "MEMBER_JOINED", "MEMBER_UPDATED", "ROOM_UPDATED", "MESSAGE_DELETED", "MESSAGE_UNPINNED"]) {
      expect(kinds).toContain(kind);
    }
    // Typing's expiresAt is stamped per event by the hub, so it is equal too: one event object, two ways of projecting it.
    expect(plain).toEqual(planned);
    expect(everything).toEqual(everythingPlanned);
    expect(subs.flatMap((s) => s.errors)).toEqual([]);
    const first = everything.find((e) => e.kind === "MESSAGE_CREATED")!;
    expect(first).toMatchObject({ __typename: "RoomEvent", message: { __typename: "LiveMessage", kind: "text", author: { username: owner.username } } });
    expect((first.message as { html: string }).html).toContain("<strong>there</strong>");
    expect((first.message as { html: string }).html).not.toContain("<script>");
    subs.forEach((s) => s.dispose());
    await until(() => a.agora.realtime.hub.roomSubscriptions(room) === 0);
  });

  it("refuses a non-member and an anonymous client through both paths (NOTFD), and they receive nothing", async () => {
    const refused = [live(a, outsider), live(a)].flatMap((connection) => [ROOM_EVENTS, PLANNED].map((query) => subscribe(connection, query, { roomId: room })));
    await Promise.all(refused.map((s) => s.ended));
    for (const sub of refused) {
      expect(sub.events).toEqual([]);
      expect(sub.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "NOTFD" }) })]);
    }
    // The same error either way, word for word.
    expect(refused[0].errors).toEqual(refused[1].errors);
    const reader = subscribe(live(a, member), ROOM_EVENTS, { roomId: room });
    await until(() => a.agora.realtime.hub.roomSubscriptions(room) === 1);
    await run(owner, `mutation ($roomId: UUID!) { createMessage(input: { message: { roomId: $roomId, body: "members only" } }) { message { rowId } } }`, { roomId: room });
    await reader.next((e) => (e.message as { body?: string } | null)?.body === "members only");
    expect(refused.flatMap((s) => s.events)).toEqual([]);
    reader.dispose();
    await until(() => a.agora.realtime.hub.roomSubscriptions(room) === 0);
  });

  it("answers a roomId that is not a UUID, or missing, word for word as the plan does, with INVAL", async () => {
    const connection = live(a, member);
    const subs = [{ roomId: "nope" }, {}, { roomId: null }].flatMap((variables) => [ROOM_EVENTS, PLANNED].map((query) => subscribe(connection, query, variables)));
    await Promise.all(subs.map((s) => s.ended));
    for (let i = 0; i < subs.length; i += 2) {
      const [direct, planned] = [subs[i], subs[i + 1]];
      expect([direct.events, planned.events]).toEqual([[], []]);
      expect(direct.errors).toEqual([expect.objectContaining({ message: expect.stringContaining("$roomId"), extensions: expect.objectContaining({ code: "INVAL" }) })]);
      expect(direct.errors).toEqual(planned.errors);
    }
  });

  it("leaves to Grafast what it does not take (a repeated response key), and that still delivers", async () => {
    const before = await paths();
    const repeated = subscribe(live(a, member), `subscription ($roomId: UUID!) { roomEvents(roomId: $roomId) { kind message { rowId } message { body } } }`, { roomId: room });
    await until(() => a.agora.realtime.hub.roomSubscriptions(room) === 1);
    expect(await paths()).toEqual({ direct: before.direct, planned: before.planned + 1 });
    await run(owner, `mutation ($roomId: UUID!) { createMessage(input: { message: { roomId: $roomId, body: "merged" } }) { message { rowId } } }`, { roomId: room });
    const event = await repeated.next((e) => (e.message as { body?: string } | null)?.body === "merged");
    expect(event.message).toEqual({ rowId: expect.any(String), body: "merged" });
    repeated.dispose();
  });
});

describe("roomEvents' direct path, compiled against the schema", () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await a.agora.graphqlSchema();
  });
  const plan = (query: string, operationName?: string) => compile(schema, parse(query), operationName, COMPUTED);

  it("takes plain selections and leaves everything else to Grafast", () => {
    expect(plan(ROOM_EVENTS)).not.toBeNull();
    expect(plan(EVERYTHING)).not.toBeNull();
    expect(plan(`subscription { e: roomEvents(roomId: "8d3c2b0e-6b7a-4c57-9a3e-0b1c2d3e4f50") { kind } }`)).toMatchObject({ key: "e", roomId: { literal: "8d3c2b0e-6b7a-4c57-9a3e-0b1c2d3e4f50" } });
    for (const query of [
      PLANNED,
      EVERYTHING_PLANNED,
      `subscription ($r: UUID!) { roomEvents(roomId: $r) { kind message { rowId } message { body } } }`,
      `subscription ($r: UUID!, $b: Boolean!) { roomEvents(roomId: $r) { kind message @include(if: $b) { rowId } } }`,
      `subscription { notifications { kind unreadCount } }`,
      `query { __typename }`,
    ]) {
      expect(plan(query)).toBeNull();
    }
    // Of a document with two operations, the one named.
    const two = `query Q { __typename } subscription S($r: UUID!) { roomEvents(roomId: $r) { kind } }`;
    expect(plan(two, "S")).not.toBeNull();
    expect(plan(two, "Q")).toBeNull();
  });

  it("serialises leaves as the schema does and renders bodyHtml", () => {
    const compiled = plan(EVERYTHING)!;
    const message = { rowId: "m", roomId: "r", kind: "text", body: "**hi**", createdAt: "2026-11-30T10:00:00+00:00", replyCount: 0, reactionCounts: [{ emoji: "👍", count: 2 }] };
    const event = { kind: "MESSAGE_CREATED", roomId: "r", seq: "7", message };
    const { data, errors } = resultOf(compiled, event);
    expect(errors).toBeUndefined();
    expect(data).toEqual({
      live: expect.objectContaining({ __typename: "RoomEvent", kind: "MESSAGE_CREATED", seq: "7", user: null, member: null, room: null, message: expect.objectContaining({ html: "<p><strong>hi</strong></p>\n", reactionCounts: [{ emoji: "👍", count: 2 }], author: null }) }),
    });
    // One result per event and document, shared by its subscribers.
    expect(resultOf(compiled, event)).toBe(resultOf(compiled, event));
  });

  it("nulls the nearest nullable parent of a missing non-null field, with an error, as GraphQL does", () => {
    const compiled = plan(ROOM_EVENTS)!;
    // message.rowId is non-null: the message (nullable) becomes null.
    const inner = resultOf(compiled, { kind: "MESSAGE_CREATED", roomId: "r", message: { kind: "text", body: "x", reactionCounts: [] } });
    expect((inner.data as { roomEvents: { message: unknown } }).roomEvents.message).toBeNull();
    expect(inner.errors?.map((e) => e.message)).toEqual(["Cannot return null for non-nullable field LiveMessage.rowId."]);
    // A null item of [LiveReactionCount!]! nulls the list, which nulls the message.
    const item = resultOf(compiled, { kind: "REACTIONS_CHANGED", roomId: "r", message: { rowId: "m", kind: "text", body: "x", reactionCounts: [null] } });
    expect((item.data as { roomEvents: { message: unknown } }).roomEvents.message).toBeNull();
    // roomEvents itself is non-null: without a kind there is no data at all.
    const root = resultOf(compiled, { roomId: "r" } as never);
    expect(root.data).toBeNull();
    expect(root.errors?.map((e) => e.message)).toEqual(["Cannot return null for non-nullable field RoomEvent.kind."]);
  });
});

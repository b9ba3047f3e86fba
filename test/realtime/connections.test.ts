/**
 * Connections across two API instances on one database: the per-member cap
 * (realtime.max_connections_per_user, 11th refused with 4103 whichever
 * instance it reaches), presence (online while any connection is live on any
 * instance; offline with lastSeenAt; expired when an instance dies) and
 * typing indicators (pg_notify only, rate limited per member).
 */
import { startTestServer, type TestServer } from "../helpers/server";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { createTestUser } from "../helpers/users";
import { arrangeRoom } from "../chat/fixtures";
import { connections, subscribe, until, ROOM_EVENTS, type LiveConnection, type RoomEvent } from "./live";
import { wsExecute } from "../helpers/ws";

jest.setTimeout(120_000);

describe("connections across instances", () => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestServer(), startTestServer()]);
    await Promise.all([a.agora.graphqlSchema(), b.agora.graphqlSchema()]);
  });
  afterAll(async () => {
    await disposeAll();
    await Promise.all([a?.stop(), b?.stop()]);
    await closeSqlHelpers();
  });

  const { live, disposeAll } = connections();
  /** Opens a connection and waits for its acknowledgement (or its refusal). */
  const acknowledged = async (connection: LiveConnection) => {
    const outcome = await Promise.race([
      wsExecute(connection.client, "{ __typename }").then(() => "open" as const, () => "refused" as const),
      connection.closed.then(() => "refused" as const),
    ]);
    return outcome === "open" ? "open" : connection.closeCode() ?? (await connection.closed);
  };
  const registered = async (userId: string) =>
    Number((await rootDb().query("select count(*) from app_private.realtime_connections where user_id = $1", [userId])).rows[0].count);
  const online = async (userId: string) =>
    (await rootDb().query<{ is_online: boolean; last_seen_at: Date | null }>("select is_online, last_seen_at from app_public.users where id = $1", [userId])).rows[0];

  it("holds the per-member cap across both instances: the 11th connection is refused with 4103, a freed slot is reusable", async () => {
    const user = await createTestUser();
    const connections = Array.from({ length: 10 }, (_, i) => live(i % 2 ? a : b, user));
    for (const c of connections) expect(await acknowledged(c)).toBe("open");
    expect(await registered(user.id)).toBe(10);
    const eleventh = live(a, user);
    expect(await acknowledged(eleventh)).toBe(4103);
    const twelfth = live(b, user);
    expect(await acknowledged(twelfth)).toBe(4103);
    expect(await registered(user.id)).toBe(10);
    await connections[0].client.dispose();
    await until(async () => (await registered(user.id)) === 9);
    expect(await acknowledged(live(a, user))).toBe("open");
    // Anonymous connections are not counted against anyone.
    expect(await acknowledged(live(a))).toBe("open");
  });

  it("shows a member online while any connection is live on any instance, offline with lastSeenAt after the last, live to room members", async () => {
    const [watcher, user] = await Promise.all([createTestUser(), createTestUser()]);
    const c = await rootDb().connect();
    const roomId = await arrangeRoom(c, watcher, "private", [[user, "member"]]).finally(() => c.release());
    const sub = subscribe<RoomEvent>(live(a, watcher), ROOM_EVENTS, { roomId });
    await until(() => a.agora.realtime.hub.roomSubscriptions(roomId) === 1);
    expect(await online(user.id)).toMatchObject({ is_online: false, last_seen_at: null });
    const first = live(a, user);
    const second = live(b, user);
    expect(await acknowledged(first)).toBe("open");
    expect(await acknowledged(second)).toBe("open");
    expect(await online(user.id)).toMatchObject({ is_online: true });
    expect(await sub.next((e) => e.kind === "PRESENCE" && e.userId === user.id)).toMatchObject({ user: { isOnline: true } });
    await first.client.dispose();
    await until(async () => (await registered(user.id)) === 1);
    expect(await online(user.id)).toMatchObject({ is_online: true });
    await second.client.dispose();
    await until(async () => !(await online(user.id)).is_online);
    expect((await online(user.id)).last_seen_at).toBeInstanceOf(Date);
    const offline = await sub.next((e) => e.kind === "PRESENCE" && e.user?.isOnline === false);
    expect(offline).toMatchObject({ userId: user.id, seq: null, user: { lastSeenAt: expect.any(String) } });
    expect(sub.events.filter((e) => e.kind === "PRESENCE").map((e) => e.user!.isOnline)).toEqual([true, false]);
  });

  it("drops the connections of a dead instance once their heartbeat is older than realtime.connection_ttl", async () => {
    const user = await createTestUser();
    // A connection registered by an instance that died (its heartbeat stopped long ago).
    await rootDb().query(
      `insert into app_private.realtime_connections (id, user_id, session_id, instance_id, heartbeat_at)
       values (gen_random_uuid(), $1, $2, gen_random_uuid(), now() - interval '1 hour')`,
      [user.id, user.sessionId],
    );
    await rootDb().query("update app_public.users set is_online = true where id = $1", [user.id]);
    await a.agora.realtime.connections.heartbeat();
    expect(await registered(user.id)).toBe(0);
    expect(await online(user.id)).toMatchObject({ is_online: false, last_seen_at: expect.any(Date) });
  });

  it("renews this instance's registrations with each heartbeat (and re-registers them if the table was emptied)", async () => {
    const user = await createTestUser();
    expect(await acknowledged(live(b, user))).toBe("open");
    await rootDb().query("delete from app_private.realtime_connections where user_id = $1", [user.id]);
    await b.agora.realtime.connections.heartbeat();
    expect(await registered(user.id)).toBe(1);
  });

  it("delivers typing indicators to the room's other members only, expiring by themselves, rate limited per member", async () => {
    const [typist, other, outsider] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const c = await rootDb().connect();
    const roomId = await arrangeRoom(c, typist, "private", [[other, "member"]]).finally(() => c.release());
    const theirs = subscribe<RoomEvent>(live(b, other), ROOM_EVENTS, { roomId });
    const mine = subscribe<RoomEvent>(live(a, typist), ROOM_EVENTS, { roomId });
    await until(() => a.agora.realtime.hub.roomSubscriptions(roomId) === 1 && b.agora.realtime.hub.roomSubscriptions(roomId) === 1);
    const count = async () => (await rootDb().query("select count(*)::int as n from app_public.messages where room_id = $1", [roomId])).rows[0].n as number;
    const messagesBefore = await count();
    const TYPING = `mutation ($roomId: UUID!) { sendTypingIndicator(input: { roomId: $roomId }) { result } }`;
    const res = await a.graphql<{ sendTypingIndicator: { result: boolean } }>(TYPING, { roomId }, { token: a.tokenFor(typist) });
    expect(res.errors).toBeUndefined();
    const typing = await theirs.next((e) => e.kind === "TYPING");
    expect(typing).toMatchObject({ userId: typist.id, seq: null });
    const ttl = new Date(typing.expiresAt!).getTime() - Date.now();
    expect(ttl).toBeGreaterThan(3_000);
    expect(ttl).toBeLessThan(10_000);
    // Not stored anywhere but the rate limiter's counter.
    expect(await count()).toBe(messagesBefore);
    const refused = await a.graphql(TYPING, { roomId }, { token: a.tokenFor(outsider) });
    expect(refused.errors?.[0].extensions?.code).toBe("NOTFD");
    const { rows } = await rootDb().query<{ max: number }>("select (app_private.setting('rate_limit.typing') ->> 'max')::int as max");
    let limited: string | undefined;
    for (let i = 1; i <= rows[0].max && !limited; i++) {
      limited = (await a.graphql(TYPING, { roomId }, { token: a.tokenFor(typist) })).errors?.[0].extensions?.code;
    }
    expect(limited).toBe("RLIMT");
    await new Promise((r) => setTimeout(r, 200));
    expect(mine.events.filter((e) => e.kind === "TYPING")).toEqual([]);
    expect(theirs.events.filter((e) => e.kind === "TYPING").length).toBe(rows[0].max);
  });
});

/**
 * Reading notifications: the recipient-only RLS matrix (notifications,
 * preferences, settings), the list as a Relay connection newest first with
 * filters, the unread count, marking read and deleting, through the API.
 */
import { asRole, bulkLoad, closeSqlHelpers, inSavepoint, rootDb, sqlErrorCode } from "../helpers/sql";
import { startTestServer, type TestServer, ok } from "../helpers/server";
import { asUser, createTestUser, type TestUser } from "../helpers/users";
import { runQueuedJobs } from "../helpers/jobs";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const gql = <T = Record<string, unknown>>(user: TestUser | null, query: string, variables: Record<string, unknown> = {}) => server.as<T>(user, query, variables);
const FOLLOW = `mutation($followeeId: UUID!) { createFollow(input: { follow: { followeeId: $followeeId } }) { follow { followerId } } }`;
const REACT = `mutation($postId: UUID) { react(input: { kind: like, postId: $postId }) { result { rowId } } }`;
const LIST = `query($onlyUnread: Boolean, $typeId: String, $after: Cursor) {
  currentUserNotifications(onlyUnread: $onlyUnread, typeId: $typeId, first: 2, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { rowId typeId actorId actorCount readAt postByPostId { rowId } userByActorId { username } }
  }
  currentUserUnreadNotificationCount
}`;
type Node = { rowId: string; typeId: string; actorId: string; actorCount: number; readAt: string | null; postByPostId: { rowId: string } | null; userByActorId: { username: string } | null };
type List = {
  currentUserNotifications: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; nodes: Node[] };
  currentUserUnreadNotificationCount: number;
};
const MARK = `mutation($ids: [UUID]!) { markNotificationsRead(input: { notificationIds: $ids }) { result } }`;
const MARK_ALL = `mutation { markAllNotificationsRead(input: {}) { result } }`;
const DELETE = `mutation($rowId: UUID!) { deleteNotificationByRowId(input: { rowId: $rowId }) { notification { rowId } } }`;

/** Ana with three notifications: two follows then likes on her post (the newest). */
async function anaWithThree(): Promise<{ ana: TestUser; bo: TestUser; cy: TestUser; postId: string }> {
  const [ana, bo, cy] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
  // Her first post would also earn her a badge, and its notification: not one of the three.
  await rootDb().query("insert into app_public.notification_preferences (user_id, type_id, channel, enabled) values ($1, 'badge_earned', 'in_app', false)", [ana.id]);
  const postId = await bulkLoad(async (c) =>
    (await c.query<{ id: string }>("insert into app_public.posts (author_id, title, body, status) values ($1, 'Liked', 'Body', 'published') returning id", [ana.id])).rows[0].id,
  );
  ok(await gql(bo, FOLLOW, { followeeId: ana.id }));
  ok(await gql(cy, FOLLOW, { followeeId: ana.id }));
  ok(await gql(bo, REACT, { postId }));
  return { ana, bo, cy, postId };
}

describe("the list", () => {
  test("newest first by last change, paginated, filtered by unread and type, with the unread count", async () => {
    const { ana, bo, cy, postId } = await anaWithThree();
    let data = ok(await gql<List>(ana, LIST));
    expect(data.currentUserUnreadNotificationCount).toBe(3);
    expect(data.currentUserNotifications.totalCount).toBe(3);
    expect(data.currentUserNotifications.nodes.map((n) => [n.typeId, n.actorId])).toEqual([["reaction", bo.id], ["new_follower", cy.id]]);
    expect(data.currentUserNotifications.nodes[0].postByPostId).toEqual({ rowId: postId });
    expect(data.currentUserNotifications.nodes[1].userByActorId).toEqual({ username: cy.username });
    const next = ok(await gql<List>(ana, LIST, { after: data.currentUserNotifications.pageInfo.endCursor }));
    expect(next.currentUserNotifications.nodes.map((n) => [n.typeId, n.actorId])).toEqual([["new_follower", bo.id]]);
    expect(next.currentUserNotifications.pageInfo.hasNextPage).toBe(false);

    // Cy's like updates the aggregate and moves it up (it already is on top) with two actors.
    ok(await gql(cy, REACT, { postId }));
    data = ok(await gql<List>(ana, LIST, { typeId: "reaction" }));
    expect(data.currentUserNotifications.nodes.map((n) => [n.actorId, n.actorCount])).toEqual([[cy.id, 2]]);

    // Mark one read: it leaves the unread filter, the count drops.
    const [reaction] = data.currentUserNotifications.nodes;
    expect(ok(await gql<{ markNotificationsRead: { result: number } }>(ana, MARK, { ids: [reaction.rowId] })).markNotificationsRead.result).toBe(1);
    data = ok(await gql<List>(ana, LIST, { onlyUnread: true }));
    expect(data.currentUserUnreadNotificationCount).toBe(2);
    expect(data.currentUserNotifications.nodes.map((n) => n.typeId)).toEqual(["new_follower", "new_follower"]);
    // Marking read does not reorder the list.
    data = ok(await gql<List>(ana, LIST));
    expect(data.currentUserNotifications.nodes[0].rowId).toBe(reaction.rowId);

    // Mark all; then delete one.
    expect(ok(await gql<{ markAllNotificationsRead: { result: number } }>(ana, MARK_ALL)).markAllNotificationsRead.result).toBe(2);
    expect(ok(await gql<List>(ana, LIST)).currentUserUnreadNotificationCount).toBe(0);
    ok(await gql(ana, DELETE, { rowId: reaction.rowId }));
    expect(ok(await gql<List>(ana, LIST)).currentUserNotifications.totalCount).toBe(2);
  });

  test("another member can neither list, mark nor delete my notifications", async () => {
    const { ana, bo } = await anaWithThree();
    const ids = (await rootDb().query<{ id: string }>("select id from app_public.notifications where recipient_id = $1", [ana.id])).rows.map((r) => r.id);
    expect(ids).toHaveLength(3);
    const boList = ok(await gql<List>(bo, LIST));
    expect(boList.currentUserNotifications.nodes.filter((n) => ids.includes(n.rowId))).toEqual([]);
    expect(ok(await gql<{ markNotificationsRead: { result: number } }>(bo, MARK, { ids })).markNotificationsRead.result).toBe(0);
    const del = await gql(bo, DELETE, { rowId: ids[0] });
    expect(del.errors?.length).toBeGreaterThan(0);
    const anon = await gql(null, LIST);
    expect(anon.errors?.length).toBeGreaterThan(0);
    const { rows } = await rootDb().query("select count(*)::int as n from app_public.notifications where id = any($1) and read_at is null", [ids]);
    expect(rows[0].n).toBe(3);
  });
});

describe("RLS matrix", () => {
  test("notifications: only the recipient reads, marks read and deletes; nobody inserts", async () => {
    const { ana, bo } = await anaWithThree();
    await asRole(asUser(bo), async (c) => {
      expect((await c.query("select * from app_public.notifications where recipient_id = $1", [ana.id])).rowCount).toBe(0);
      expect((await c.query("update app_public.notifications set read_at = now() where recipient_id = $1", [ana.id])).rowCount).toBe(0);
      expect((await c.query("delete from app_public.notifications where recipient_id = $1", [ana.id])).rowCount).toBe(0);
      expect(await sqlErrorCode(inSavepoint(c, () => c.query("insert into app_public.notifications (recipient_id, type_id) values ($1, 'announcement')", [ana.id])))).toBe("42501");
      expect(await sqlErrorCode(inSavepoint(c, () => c.query("insert into app_public.notifications (recipient_id, type_id) values ($1, 'announcement')", [bo.id])))).toBe("42501");
      // Columns other than read_at are not writable, even one's own.
      expect(await sqlErrorCode(inSavepoint(c, () => c.query("update app_public.notifications set actor_count = 99 where recipient_id = $1", [bo.id])))).toBe("42501");
    });
    await asRole(asUser(ana), async (c) => {
      expect((await c.query("select * from app_public.notifications where recipient_id = $1", [ana.id])).rowCount).toBe(3);
      expect((await c.query("update app_public.notifications set read_at = now() where recipient_id = $1", [ana.id])).rowCount).toBe(3);
      expect((await c.query("delete from app_public.notifications where recipient_id = $1", [ana.id])).rowCount).toBe(3);
    });
    await asRole({ role: "anonymous" }, async (c) => {
      expect(await sqlErrorCode(c.query("select * from app_public.notifications"))).toBe("42501");
    });
  });

  test("preferences and settings: only the member reads and writes theirs", async () => {
    const [ana, bo] = await Promise.all([createTestUser(), createTestUser()]);
    await rootDb().query("insert into app_public.notification_preferences (user_id, type_id, channel, enabled) values ($1, 'reaction', 'email', true)", [ana.id]);
    await rootDb().query("insert into app_public.notification_settings (user_id, email_digest) values ($1, 'off')", [ana.id]);
    await asRole(asUser(bo), async (c) => {
      expect((await c.query("select * from app_public.notification_preferences where user_id = $1", [ana.id])).rowCount).toBe(0);
      expect((await c.query("select * from app_public.notification_settings where user_id = $1", [ana.id])).rowCount).toBe(0);
      expect((await c.query("update app_public.notification_preferences set enabled = false where user_id = $1", [ana.id])).rowCount).toBe(0);
      expect((await c.query("delete from app_public.notification_preferences where user_id = $1", [ana.id])).rowCount).toBe(0);
      expect((await c.query("update app_public.notification_settings set email_digest = 'daily' where user_id = $1", [ana.id])).rowCount).toBe(0);
      expect(await sqlErrorCode(inSavepoint(c, () => c.query("insert into app_public.notification_preferences (user_id, type_id, channel, enabled) values ($1, 'reaction', 'email', false)", [ana.id])))).toBe("42501");
      // Their own, through the functions.
      await c.query("select app_public.set_notification_preference('reaction', 'email', true)");
      await c.query("select app_public.set_notification_email_digest('daily')");
      expect((await c.query("select * from app_public.notification_preferences where user_id = $1", [bo.id])).rowCount).toBe(1);
      expect((await c.query("select email_digest from app_public.notification_settings where user_id = $1", [bo.id])).rows).toEqual([{ email_digest: "daily" }]);
      expect(await sqlErrorCode(inSavepoint(c, () => c.query("select app_public.set_notification_preference('security_alert', 'in_app', false)")))).toBe("INVAL");
    });
    await asRole({ role: "anonymous" }, async (c) => {
      expect(await sqlErrorCode(inSavepoint(c, () => c.query("select * from app_public.notification_preferences")))).toBe("42501");
      expect((await c.query("select count(*)::int as n from app_public.notification_types")).rows[0].n).toBeGreaterThanOrEqual(14);
    });
    const { rows } = await rootDb().query("select enabled from app_public.notification_preferences where user_id = $1", [ana.id]);
    expect(rows).toEqual([{ enabled: true }]);
  });

  test("the unread count is one index scan on the partial index", async () => {
    const { ana } = await anaWithThree();
    await asRole(asUser(ana), async (c) => {
      await c.query("set local enable_seqscan = off");
      const { rows } = await c.query<{ "QUERY PLAN": string }>(
        "explain select count(*) from app_public.notifications n where n.recipient_id = app_public.current_user_id() and n.read_at is null and n.is_in_app",
      );
      expect(rows.map((r) => r["QUERY PLAN"]).join("\n")).toMatch(/notifications_recipient_unread_idx/);
    });
  });
});

describe("retention", () => {
  test("the prune_notifications task deletes read notifications past the retention setting, and only those", async () => {
    const { ana } = await anaWithThree();
    const ids = (await rootDb().query<{ id: string }>("select id from app_public.notifications where recipient_id = $1 order by created_at", [ana.id])).rows.map((r) => r.id);
    await rootDb().query("update app_public.notifications set read_at = now() - interval '91 days' where id = $1", [ids[0]]);
    await rootDb().query("update app_public.notifications set read_at = now() - interval '89 days' where id = $1", [ids[1]]);
    await rootDb().query("select graphile_worker.add_job('prune_notifications')");
    await runQueuedJobs();
    const left = (await rootDb().query<{ id: string }>("select id from app_public.notifications where recipient_id = $1 order by created_at", [ana.id])).rows.map((r) => r.id);
    expect(left).toEqual(ids.slice(1));
  });
});

/**
 * Announcements: only holders of announcement:send may send one; the
 * fan-out job notifies the audience (every active member, or a role's current
 * holders) minus the sender and the members who turned announcements off (the
 * rules of app_private.notify), in keyset batches that a retried or concurrent
 * run never repeats. Announcements to
 * everyone are tested in a scratch database: on the shared one they would
 * notify the other test files' members.
 */
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer, ok } from "../helpers/server";
import { createTestUser, type TestUser } from "../helpers/users";
import { runQueuedJobs } from "../helpers/jobs";
import { createScratchDatabase } from "../helpers/scratch";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const gql = <T = Record<string, unknown>>(user: TestUser, query: string, variables: Record<string, unknown> = {}) => server.as<T>(user, query, variables);

const SEND = `mutation($title: String!, $body: String!, $roleId: String) {
  sendAnnouncement(input: { title: $title, body: $body, roleId: $roleId }) { result { rowId roleId recipientCount deliveredAt } }
}`;
const SET_PREFERENCE = `mutation($typeId: String!, $channel: NotificationChannel!, $enabled: Boolean!) {
  setNotificationPreference(input: { typeId: $typeId, channel: $channel, enabled: $enabled }) { result { enabled } }
}`;
const MY_ANNOUNCEMENTS = `{
  currentUserNotifications(first: 10, typeId: "announcement") { nodes { announcementId detail announcementByAnnouncementId { title body } } }
}`;
const ALL_ANNOUNCEMENTS = `query($roleId: String!) { allAnnouncements(condition: { roleId: $roleId }) { nodes { title } } }`;

/** A fresh role (letters and _ only, as roles.id requires) held by `holders`. */
async function newRole(holders: TestUser[], expired: TestUser[] = []): Promise<string> {
  const id = `ann_${Array.from({ length: 12 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join("")}`;
  await rootDb().query("insert into app_public.roles (id, description) values ($1, 'Announcement test role')", [id]);
  for (const u of holders) await rootDb().query("insert into app_public.user_roles (user_id, role_id) values ($1, $2)", [u.id, id]);
  for (const u of expired) {
    await rootDb().query("insert into app_public.user_roles (user_id, role_id, expires_at) values ($1, $2, now() - interval '1 minute')", [u.id, id]);
  }
  return id;
}

/** Waits until the fan-outs of this announcement finished (another test file's worker run may hold the job). */
async function fanoutsFinished(column: "announcement_id", id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await rootDb().query<{ n: number }>(
      `select count(*)::int as n from app_private.notification_fanouts where ${column} = $1 and finished_at is null`, [id],
    );
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fan-out of ${column} ${id} did not finish`);
}

async function announcementNotifications(announcementId: string): Promise<string[]> {
  const { rows } = await rootDb().query<{ recipient_id: string }>(
    "select recipient_id from app_public.notifications where announcement_id = $1 and type_id = 'announcement' order by recipient_id",
    [announcementId],
  );
  return rows.map((r) => r.recipient_id);
}

describe("sending", () => {
  test("only holders of announcement:send may send (FORBD); an unknown role is NOTFD", async () => {
    const [member, admin] = await Promise.all([createTestUser(), createTestUser({ roles: ["admin"] })]);
    const refused = await gql(member, SEND, { title: "Hello", body: "Everyone", roleId: "admin" });
    expect(refused.errors?.[0]?.extensions?.code).toBe("FORBD");
    expect(refused.data?.sendAnnouncement ?? null).toBeNull();
    const noRole = await gql(admin, SEND, { title: "Hello", body: "Nobody", roleId: "no_such_role" });
    expect(noRole.errors?.[0]?.extensions?.code).toBe("NOTFD");
    const { rowCount } = await rootDb().query("select 1 from app_public.announcements where author_id in ($1, $2)", [member.id, admin.id]);
    expect(rowCount).toBe(0);
  });

  test("an announcement to a role reaches its current holders but not the sender, expired holders or members who turned it off", async () => {
    const [admin, a, b, c, quiet, expired, outsider] = await Promise.all([
      createTestUser({ roles: ["admin"] }), createTestUser(), createTestUser(), createTestUser(), createTestUser(), createTestUser(), createTestUser(),
    ]);
    ok(await gql(quiet, SET_PREFERENCE, { typeId: "announcement", channel: "in_app", enabled: false }));
    ok(await gql(quiet, SET_PREFERENCE, { typeId: "announcement", channel: "email", enabled: false }));
    const role = await newRole([admin, a, b, c, quiet], [expired]);
    const sent = ok(await gql<{ sendAnnouncement: { result: { rowId: string; recipientCount: number; deliveredAt: string | null } } }>(
      admin, SEND, { title: "Maintenance tonight", body: "The site is down from 22:00 to 23:00.", roleId: role },
    )).sendAnnouncement.result;
    // The notifications are created by the job, not in the sender's request.
    expect(sent).toMatchObject({ recipientCount: 0, deliveredAt: null });

    await runQueuedJobs();
    await fanoutsFinished("announcement_id", sent.rowId);
    expect(await announcementNotifications(sent.rowId)).toEqual([a.id, b.id, c.id].sort());
    const { rows } = await rootDb().query("select recipient_count, delivered_at from app_public.announcements where id = $1", [sent.rowId]);
    expect(rows[0].recipient_count).toBe(3);
    expect(rows[0].delivered_at).not.toBeNull();

    // A recipient reads it, with the announcement; an outsider cannot read the announcement at all.
    const mine = ok(await gql<{ currentUserNotifications: { nodes: Array<Record<string, unknown>> } }>(a, MY_ANNOUNCEMENTS));
    expect(mine.currentUserNotifications.nodes).toEqual([
      { announcementId: sent.rowId, detail: { title: "Maintenance tonight" }, announcementByAnnouncementId: { title: "Maintenance tonight", body: "The site is down from 22:00 to 23:00." } },
    ]);
    const theirs = ok(await gql<{ allAnnouncements: { nodes: unknown[] } }>(outsider, ALL_ANNOUNCEMENTS, { roleId: role }));
    expect(theirs.allAnnouncements.nodes).toEqual([]);
    const holder = ok(await gql<{ allAnnouncements: { nodes: unknown[] } }>(b, ALL_ANNOUNCEMENTS, { roleId: role }));
    expect(holder.allAnnouncements.nodes).toEqual([{ title: "Maintenance tonight" }]);
    const expiredView = ok(await gql<{ allAnnouncements: { nodes: unknown[] } }>(expired, ALL_ANNOUNCEMENTS, { roleId: role }));
    expect(expiredView.allAnnouncements.nodes).toEqual([]);
  });
});

describe("fan-out batches", () => {
  test("keyset batches cover every member once; repeated and concurrent runs add nothing", async () => {
    const [admin, ...members] = await Promise.all([createTestUser({ roles: ["admin"] }), ...Array.from({ length: 7 }, () => createTestUser())]);
    const role = await newRole([admin, ...members]);
    // Arranged without its job, so that this test alone runs its batches.
    const announcement = (await rootDb().query<{ id: string }>(
      "insert into app_public.announcements (author_id, role_id, title, body) values ($1, $2, 'Batches', 'Body') returning id", [admin.id, role],
    )).rows[0].id;
    const fanout = (await rootDb().query<{ id: string }>(
      `insert into app_private.notification_fanouts (type_id, actor_id, audience, role_id, announcement_id)
       values ('announcement', $1, 'role', $2, $3) returning id`, [admin.id, role, announcement],
    )).rows[0].id;
    const batch = async () => (await rootDb().query<{ more: boolean }>("select app_private.fan_out_notifications($1, 3) as more", [fanout])).rows[0].more;

    // The first batch: the 3 lowest ids of the role's holders, the sender among them or not (never notified).
    const firstThree = [admin, ...members].map((u) => u.id).sort().slice(0, 3).filter((id) => id !== admin.id);
    expect(await batch()).toBe(true);
    expect(await announcementNotifications(announcement)).toEqual(firstThree);
    // Two runs at once (a duplicated job): the row lock serialises them; each batch is done once.
    const runs = await Promise.all([batch(), batch()]);
    expect(runs.sort()).toEqual([false, true]);
    expect(await batch()).toBe(false);
    expect(await batch()).toBe(false);
    expect(await announcementNotifications(announcement)).toEqual(members.map((m) => m.id).sort());
    const { rows } = await rootDb().query("select recipient_count, delivered_at from app_public.announcements where id = $1", [announcement]);
    expect(rows[0].recipient_count).toBe(7);
    expect(rows[0].delivered_at).not.toBeNull();
  });
});

describe("to everyone (scratch database)", () => {
  test("every active member but the sender is notified", async () => {
    const scratch = await createScratchDatabase(`notify_everyone_${process.pid}`);
    try {
      const db = scratch.root;
      const make = async (name: string) =>
        (await db.query<{ id: string }>("select id from app_private.create_user($1, $2, 'Correct-Horse-9', null, true)", [name, `${name}@example.com`])).rows[0].id;
      const admin = await make("announcer");
      const members = [await make("member_one"), await make("member_two"), await make("member_three")];
      const inactive = await make("member_gone");
      await db.query("update app_public.users set is_active = false where id = $1", [inactive]);
      await db.query("insert into app_public.user_roles (user_id, role_id) values ($1, 'admin')", [admin]);
      const session = (await db.query<{ id: string }>("select app_private.start_session($1, null, 'test') as id", [admin])).rows[0].id;

      const client = await db.connect();
      try {
        await client.query("begin");
        await client.query("select set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [admin, session]);
        await client.query("set local role authenticated");
        await client.query("select app_public.send_announcement('To all', 'Hello everyone')");
        await client.query("commit");
      } finally {
        client.release();
      }
      const { rows: [fanout] } = await db.query<{ id: string }>("select id from app_private.notification_fanouts where audience = 'everyone'");
      while ((await db.query<{ more: boolean }>("select app_private.fan_out_notifications($1, 2) as more", [fanout.id])).rows[0].more);
      const { rows } = await db.query<{ recipient_id: string }>("select recipient_id from app_public.notifications where type_id = 'announcement' order by recipient_id");
      expect(rows.map((r) => r.recipient_id)).toEqual([...members].sort());
    } finally {
      await scratch.drop();
    }
  });
});

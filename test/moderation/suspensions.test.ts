/**
 * Suspensions: a trigger on every table members write (a catalog test keeps
 * new tables honest), every write path refused with SUSPD and the end time —
 * in SQL, over HTTP GraphQL and over a live WebSocket — reading and the
 * exempt paths still open, and the suspension lapsing by itself.
 */
import type pg from "pg";
import { asRole, closeSqlHelpers, inSavepoint, rootDb, sqlErrorCode } from "../helpers/sql";
import { asUser, createTestUser, type TestUser } from "../helpers/users";
import { startTestServer, type TestServer } from "../helpers/server";
import { wsClient, wsExecute } from "../helpers/ws";
import { arrangeContent, type Content } from "./fixtures";

/**
 * Tables members write that a suspension leaves open, on purpose (docs/moderation.md):
 * the member's own inbox and mail settings, blocking others (safety), their e-mail addresses (account security).
 */
const EXEMPT = ["notification_preferences", "notification_settings", "notifications", "user_blocks", "user_emails"];
/** Tables members write only through security-definer functions (no grant), covered too. */
const THROUGH_FUNCTIONS = ["reactions", "room_pins", "reports", "documents", "document_versions"];

afterAll(async () => {
  await closeSqlHelpers();
});

describe("the catalog", () => {
  it("has the suspension trigger (before insert, update and delete, per row) on every app_public table members write", async () => {
    const { rows } = await rootDb().query<{ table_name: string; has_trigger: boolean }>(
      `select c.relname as table_name,
              exists (select 1 from pg_trigger t
                       where t.tgrelid = c.oid and t.tgname = '_050_suspension'
                         and t.tgfoid = 'app_private.tg__suspension'::regproc
                         and (t.tgtype & 31) = 31 and t.tgenabled = 'O') as has_trigger
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'app_public' and c.relkind in ('r', 'p')
          and (has_any_column_privilege('authenticated', c.oid, 'INSERT')
               or has_any_column_privilege('authenticated', c.oid, 'UPDATE')
               or has_table_privilege('authenticated', c.oid, 'DELETE')
               or c.relname = any($1))
        order by 1`,
      [THROUGH_FUNCTIONS],
    );
    const missing = rows.filter((r) => !r.has_trigger && !EXEMPT.includes(r.table_name)).map((r) => r.table_name);
    expect(missing).toEqual([]);
    // The exemptions are real tables members write, and have no trigger (the list cannot rot silently).
    const exempt = rows.filter((r) => EXEMPT.includes(r.table_name));
    expect(exempt.map((r) => [r.table_name, r.has_trigger])).toEqual(EXEMPT.map((t) => [t, false]));
    expect(rows.length).toBeGreaterThan(20);
  });
});

describe("a suspended member, in SQL", () => {
  let author: TestUser;
  let suspended: TestUser;
  let content: Content;
  let until: Date;

  beforeAll(async () => {
    [author, suspended] = await Promise.all([createTestUser(), createTestUser()]);
    content = await arrangeContent(author);
    // Their own content, a room they are in, a notification to read: arranged before the suspension.
    await rootDb().query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [content.room, suspended.id]);
    const own = await rootDb().query<{ id: string }>(
      "insert into app_public.posts (author_id, title, body, status) values ($1, 'My own post', 'x', 'published') returning id",
      [suspended.id],
    );
    ownPost = own.rows[0].id;
    await rootDb().query("select app_private.notify($1, 'new_follower', $2)", [suspended.id, author.id]);
    until = new Date(Date.now() + 3_600_000);
    await rootDb().query("insert into app_public.suspensions (user_id, ends_at, reason) values ($1, $2, 'Spam')", [suspended.id, until]);
  });
  let ownPost: string;

  const refused = async (c: pg.PoolClient, sql: string, params: unknown[] = []) => {
    try {
      await inSavepoint(c, () => c.query(sql, params));
    } catch (error) {
      const e = error as { code?: string; message?: string; detail?: string };
      return { code: e.code, message: e.message, detail: e.detail ? (JSON.parse(e.detail) as Record<string, unknown>) : null };
    }
    throw new Error(`expected a refusal: ${sql}`);
  };

  it("is refused every write with SUSPD, the end time in the message and in detail", async () => {
    await asRole(asUser(suspended), async (c) => {
      const writes: Array<[string, unknown[]]> = [
        ["insert into app_public.posts (title, body, status) values ('Hello there', 'x', 'published')", []],
        ["update app_public.posts set body = 'edited' where id = $1", [ownPost]],
        ["update app_public.posts set status = 'deleted' where id = $1", [ownPost]],
        ["insert into app_public.questions (title, body) values ('Why though', 'x')", []],
        ["insert into app_public.answers (question_id, body) values ($1, 'An answer')", [content.question]],
        ["insert into app_public.comments (post_id, body) values ($1, 'A comment')", [content.post]],
        ["select app_public.react('like', post_id => $1)", [content.post]],
        ["insert into app_public.bookmarks (post_id) values ($1)", [content.post]],
        ["insert into app_public.follows (followee_id) values ($1)", [author.id]],
        ["insert into app_public.messages (room_id, body) values ($1, 'chat')", [content.room]],
        ["select app_public.toggle_reaction($1, '👍')", [content.message]],
        ["delete from app_public.room_members where room_id = $1 and user_id = app_public.current_user_id()", [content.room]],
        ["insert into app_public.rooms (kind, name) values ('public', 'Mine')", []],
        ["select app_public.create_upload('post_image', 'a.png', 100)", []],
        ["update app_public.users set bio = 'new bio' where id = app_public.current_user_id()", []],
        ["insert into app_public.collections (name) values ('Reading list')", []],
        ["insert into app_public.job_applications (job_id, cover_letter) values ($1, 'Hire me')", [content.job]],
        ["insert into app_public.reports (target_kind, content_id, reason) values ('user', $1, 'spam')", [author.id]],
        ["select app_public.send_typing_indicator($1)", [content.room]],
      ];
      for (const [sql, params] of writes) {
        const e = await refused(c, sql, params);
        expect([sql, e.code]).toEqual([sql, "SUSPD"]);
        expect(e.message).toContain("suspended until");
        expect(new Date(e.detail!.suspendedUntil as string).getTime()).toBe(until.getTime());
        expect(e.detail!.reason).toBe("Spam");
      }
    });
  });

  it("still reads, and still does what a suspension leaves open", async () => {
    await asRole(asUser(suspended), async (c) => {
      expect((await c.query("select 1 from app_public.posts where id = $1", [content.post])).rowCount).toBe(1);
      expect((await c.query("select app_public.record_post_view($1) as n", [content.post])).rows[0].n).toBeGreaterThan(0);
      // The "suspended" notification at least (a first post's badge may have notified too): all marked read.
      const unread = (await c.query("select app_public.current_user_unread_notification_count() as n")).rows[0].n;
      expect(unread).toBeGreaterThanOrEqual(1);
      expect((await c.query("select app_public.mark_all_notifications_read() as n", [])).rows[0].n).toBe(unread);
      await c.query("select app_public.mark_room_read($1, $2)", [content.room, content.message]);
      await c.query("insert into app_public.user_blocks (blocked_id) values ($1)", [author.id]);
      await c.query("select app_public.set_notification_email_digest('daily')");
      // Their own suspension is readable to them.
      const s = await c.query<{ ends_at: Date; reason: string }>("select ends_at, reason from app_public.suspensions");
      expect(s.rows).toEqual([{ ends_at: until, reason: "Spam" }]);
    });
  });

  it("does not hold others back: writes by others on the suspended member's content pass", async () => {
    await asRole(asUser(author), async (c) => {
      await c.query("insert into app_public.comments (post_id, body) values ($1, 'Reply to a suspended member')", [ownPost]);
      await c.query("select app_public.react('like', post_id => $1)", [ownPost]);
    });
  });
});

describe("a suspended member, through the API", () => {
  let server: TestServer;
  let author: TestUser;
  let content: Content;

  beforeAll(async () => {
    server = await startTestServer();
    author = await createTestUser();
    content = await arrangeContent(author);
  });

  afterAll(async () => {
    await server.stop();
  });

  const CREATE_POST = `mutation($title: String!) { createPost(input: { post: { title: $title, body: "x", status: published } }) { post { id } } }`;
  const SEND = `mutation($roomId: UUID!) { createMessage(input: { message: { roomId: $roomId, body: "hello" } }) { message { id } } }`;
  const UPLOAD = `mutation { createUpload(input: { purpose: post_image, fileName: "a.png", size: "100" }) { result { rowId } } }`;

  async function suspendedMember(seconds: number | null): Promise<{ user: TestUser; token: string }> {
    const user = await createTestUser();
    await rootDb().query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [content.room, user.id]);
    await rootDb().query(
      "insert into app_public.suspensions (user_id, ends_at, reason) values ($1, case when $2::float is null then null else now() + make_interval(secs => $2) end, 'Abuse')",
      [user.id, seconds],
    );
    return { user, token: server.tokenFor(user) };
  }

  it("refuses mutations, chat sends and upload reservations with extensions.code SUSPD and suspendedUntil; reading works", async () => {
    const { user, token } = await suspendedMember(3600);
    for (const [query, variables] of [
      [CREATE_POST, { title: "A new post" }],
      [SEND, { roomId: content.room }],
      [UPLOAD, {}],
    ] as const) {
      const res = await server.graphql(query, variables, { token });
      expect(res.errors?.[0].extensions).toMatchObject({ code: "SUSPD", reason: "Abuse", suspendedUntil: expect.any(String) });
      expect(res.errors?.[0].message).toMatch(/suspended until/);
    }
    const me = await server.graphql<{ currentUser: { rowId: string } }>("{ currentUser { rowId } }", {}, { token });
    expect(me.data?.currentUser.rowId).toBe(user.id);
  });

  it("refuses writes on a live WebSocket opened before the suspension", async () => {
    const user = await createTestUser();
    await rootDb().query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [content.room, user.id]);
    const client = wsClient(server.url, server.tokenFor(user), { lazy: false });
    try {
      const before = await wsExecute<{ createMessage: { message: { id: string } } }>(client, SEND, { roomId: content.room });
      expect(before.errors).toBeUndefined();
      await rootDb().query("insert into app_public.suspensions (user_id, ends_at, reason) values ($1, null, 'Abuse')", [user.id]);
      const after = await wsExecute(client, SEND, { roomId: content.room });
      expect((after.errors?.[0] as { extensions?: { code?: string; suspendedUntil?: unknown } }).extensions).toMatchObject({
        code: "SUSPD",
        suspendedUntil: null,
      });
    } finally {
      await client.dispose();
    }
  });

  it("lapses by itself at its end", async () => {
    const { token } = await suspendedMember(1.5);
    const during = await server.graphql(CREATE_POST, { title: "During the suspension" }, { token });
    expect(during.errors?.[0].extensions?.code).toBe("SUSPD");
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const after = await server.graphql<{ createPost: { post: { id: string } } }>(CREATE_POST, { title: "After the suspension" }, { token });
    expect(after.errors).toBeUndefined();
    expect(after.data?.createPost.post.id).toBeTruthy();
  });
});

it("refuses a suspended moderator's actions too", async () => {
  const [moderator, other] = await Promise.all([createTestUser({ roles: ["moderator"] }), createTestUser()]);
  await rootDb().query("insert into app_public.suspensions (user_id, ends_at, reason) values ($1, null, 'Abuse of powers')", [moderator.id]);
  await asRole(asUser(moderator), async (c) => {
    expect(await sqlErrorCode(c.query("select app_public.moderate('user', $1, 'warn', 'x')", [other.id]))).toBe("SUSPD");
  });
});

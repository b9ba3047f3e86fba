/**
 * Who reads what of moderation: reports, the queue, the log (and who acted),
 * suspensions and the audit log, for each kind of viewer.
 */
import { asRole, closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { asUser, createTestUser, type TestUser } from "../helpers/users";
import { arrangeContent, arrangeDocument, createReporter, fileReport } from "./fixtures";

type Viewer = "anonymous" | "reporter" | "author" | "stranger" | "moderator" | "admin";

const viewers: Record<string, TestUser> = {};
let postId: string;
let logId: string;
let reportId: string;
let securityEventUser: string;
let sharedDocument: string;
let ownDocument: string;

beforeAll(async () => {
  const [reporter, author, stranger, moderator, admin] = await Promise.all([
    createReporter(),
    createTestUser(),
    createTestUser(),
    createTestUser({ roles: ["moderator"] }),
    createTestUser({ roles: ["admin"] }),
  ]);
  Object.assign(viewers, { reporter, author, stranger, moderator, admin });
  postId = (await arrangeContent(author)).post;
  // Documents of the author, before the suspension below (a suspended member shares none).
  sharedDocument = await arrangeDocument(author, true);
  ownDocument = await arrangeDocument(author, false);
  reportId = await fileReport(reporter, "post", postId, "spam");
  // A committed suspension of the author by the moderator, so the log and suspensions have rows.
  const client = await rootDb().connect();
  try {
    await client.query("begin");
    await client.query("select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [
      moderator.id,
      moderator.sessionId,
    ]);
    const { rows } = await client.query<{ id: string }>(
      "select id from app_public.moderate('post', $1, 'suspend', 'Spam', now() + interval '1 day')",
      [postId],
    );
    logId = rows[0].id;
    await client.query("commit");
  } finally {
    client.release();
  }
  securityEventUser = author.id;
  await rootDb().query("select app_private.record_security_event('login_failed', $1, '{}')", [author.id]);
});

afterAll(async () => {
  await closeSqlHelpers();
});

/** What `viewer` reads with `sql` (rows, or the SQLSTATE when the read is refused outright). */
async function read(viewer: Viewer, sql: string, params: unknown[]): Promise<unknown> {
  const as = viewer === "anonymous" ? { role: "anonymous" as const } : asUser(viewers[viewer]);
  return asRole(as, async (c) => {
    try {
      return (await c.query(sql, params)).rows;
    } catch (error) {
      return (error as { code?: string }).code;
    }
  });
}

const ALL: Viewer[] = ["anonymous", "reporter", "author", "stranger", "moderator", "admin"];

async function matrix(sql: string, params: () => unknown[], map: (rows: unknown) => unknown): Promise<Record<Viewer, unknown>> {
  const out = {} as Record<Viewer, unknown>;
  for (const v of ALL) {
    const r = await read(v, sql, params());
    out[v] = Array.isArray(r) ? map(r) : r;
  }
  return out;
}

it("reports: the reporter and moderators; nobody else (not the reported author)", async () => {
  expect(await matrix("select id from app_public.reports where id = $1", () => [reportId], (r) => (r as unknown[]).length)).toEqual({
    anonymous: "42501",
    reporter: 1,
    author: 0,
    stranger: 0,
    moderator: 1,
    admin: 1,
  });
});

it("the queue and its entries: moderators and admins only", async () => {
  const entry = await matrix("select content_id from app_public.moderation_targets where content_id = $1", () => [postId], (r) => (r as unknown[]).length);
  expect(entry).toEqual({ anonymous: "42501", reporter: 0, author: 0, stranger: 0, moderator: 1, admin: 1 });
  const text = await matrix(
    "select app_public.moderation_targets_content_text(t) as text from app_public.moderation_targets t where content_id = $1",
    () => [postId],
    (r) => (r as Array<{ text: string }>).map((x) => typeof x.text),
  );
  expect(text).toEqual({ anonymous: "42501", reporter: [], author: [], stranger: [], moderator: ["string"], admin: ["string"] });
});

it("the moderation log: the member affected reads what and why, not who; moderators read who", async () => {
  const rows = await matrix(
    "select l.action, l.reason, (app_public.moderation_log_moderator(l)).id as moderator from app_public.moderation_log l where l.id = $1",
    () => [logId],
    (r) => r,
  );
  expect(rows).toEqual({
    anonymous: "42501",
    reporter: [],
    author: [{ action: "suspend", reason: "Spam", moderator: null }],
    stranger: [],
    moderator: [{ action: "suspend", reason: "Spam", moderator: viewers.moderator.id }],
    admin: [{ action: "suspend", reason: "Spam", moderator: viewers.moderator.id }],
  });
  // The filtered history follows the same rule; filtering by moderator is for moderators.
  const history = await matrix(
    "select id from app_public.moderation_history(moderator_id => $1, content_id => $2)",
    () => [viewers.moderator.id, postId],
    (r) => (r as unknown[]).length,
  );
  expect(history).toEqual({ anonymous: "42501", reporter: 0, author: 0, stranger: 0, moderator: 1, admin: 1 });
  const own = await matrix("select id from app_public.moderation_history(content_id => $1)", () => [postId], (r) => (r as unknown[]).length);
  expect(own).toEqual({ anonymous: "42501", reporter: 0, author: 1, stranger: 0, moderator: 1, admin: 1 });
});

it("suspensions: the member suspended and holders of user:suspend", async () => {
  expect(
    await matrix("select reason from app_public.suspensions where user_id = $1", () => [viewers.author.id], (r) => (r as unknown[]).length),
  ).toEqual({ anonymous: "42501", reporter: 0, author: 1, stranger: 0, moderator: 1, admin: 1 });
});

it("the audit log: admins (audit:read) only", async () => {
  expect(
    await matrix(
      "select kind from app_public.audit_log(user_id => $1, kind => 'login_failed')",
      () => [securityEventUser],
      (r) => (r as unknown[]).length,
    ),
  ).toEqual({ anonymous: "42501", reporter: 0, author: 0, stranger: 0, moderator: 0, admin: 1 });
});

it("no member writes the queue, the log or suspensions directly", async () => {
  await asRole(asUser(viewers.admin), async (c) => {
    for (const sql of [
      "update app_public.moderation_targets set open_report_count = 0",
      "delete from app_public.moderation_targets",
      "insert into app_public.suspensions (user_id, reason) values (app_public.current_user_id(), 'x')",
      "delete from app_public.suspensions",
      "update app_public.reports set status = 'dismissed'",
      "delete from app_public.reports",
    ]) {
      await c.query("savepoint s");
      expect([sql, await sqlErrorCode(c.query(sql))]).toEqual([sql, "42501"]);
      await c.query("rollback to savepoint s");
    }
  });
});

it("a document hidden by moderation: its owner and moderators read it and its versions; a private one stays its owner's alone", async () => {
  const [shared, own] = [sharedDocument, ownDocument];
  await rootDb().query("update app_public.documents set hidden_at = now() where id = any($1)", [[shared, own]]);
  const sql = `select (select count(*)::int from app_public.documents where id = $1)
                    + (select count(*)::int from app_public.document_versions where document_id = $1) as n`;
  const count = (r: unknown) => (r as { n: number }[])[0].n;
  expect(await matrix(sql, () => [shared], count)).toEqual({ anonymous: 0, reporter: 0, author: 2, stranger: 0, moderator: 2, admin: 2 });
  expect(await matrix(sql, () => [own], count)).toEqual({ anonymous: 0, reporter: 0, author: 2, stranger: 0, moderator: 0, admin: 0 });
});

/**
 * Moderation actions: each one's effect and its log entry, claims, bulk
 * actions all or nothing, who may act, and a log nobody can change.
 */
import type pg from "pg";
import { asRole, closeSqlHelpers, inSavepoint, rootDb, sqlErrorCode } from "../helpers/sql";
import { asUser, createTestUser, type TestUser } from "../helpers/users";
import { actAs, arrangeContent, arrangeDocument, createReporter, fileReport, type Content } from "./fixtures";

let author: TestUser;
let moderator: TestUser;
let otherModerator: TestUser;
let admin: TestUser;
let member: TestUser;
let content: Content;

beforeAll(async () => {
  [author, moderator, otherModerator, admin, member] = await Promise.all([
    createTestUser(),
    createTestUser({ roles: ["moderator"] }),
    createTestUser({ roles: ["moderator"] }),
    createTestUser({ roles: ["admin"] }),
    createTestUser(),
  ]);
  content = await arrangeContent(author);
});

afterAll(async () => {
  await closeSqlHelpers();
});

interface LogRow {
  id: string;
  action: string;
  target_kind: string;
  content_id: string;
  affected_user_id: string;
  reason: string;
  detail: Record<string, unknown>;
}

const moderate = async (c: pg.PoolClient, kind: string, id: string, action: string, reason = "Against the rules", until: string | null = null) =>
  (
    await c.query<LogRow>("select * from app_public.moderate($1, $2, $3, $4, $5)", [kind, id, action, reason, until])
  ).rows[0];

const status = async (c: pg.PoolClient, table: string, id: string) =>
  (await c.query<{ status: string }>(`select status::text from app_public.${table} where id = $1`, [id])).rows[0]?.status;

const notified = async (c: pg.PoolClient, userId: string, type: string) =>
  (
    await c.query<{ detail: Record<string, unknown> }>(
      "select detail from app_public.notifications where recipient_id = $1 and type_id = $2 order by created_at desc",
      [userId, type],
    )
  ).rows;

/** Who acted, as the caller may see it (moderationLog.moderator). */
async function moderatorIdOf(c: pg.PoolClient, logId: string): Promise<string | null> {
  const { rows } = await c.query<{ moderator_id: string | null }>(
    "select (app_public.moderation_log_moderator(l)).id as moderator_id from app_public.moderation_log l where l.id = $1",
    [logId],
  );
  return rows[0]?.moderator_id ?? null;
}

describe("each action, its effect and its log entry", () => {
  it("hide: hidden from others, the author notified, the reports resolved, logged with the previous status", async () => {
    const reporter = await createReporter();
    await fileReport(reporter, "post", content.post);
    await asRole(asUser(moderator), async (c) => {
      const log = await moderate(c, "post", content.post, "hide", "Spam link");
      expect(log).toMatchObject({ action: "hide", target_kind: "post", content_id: content.post, affected_user_id: author.id, reason: "Spam link" });
      expect(log.detail).toMatchObject({ previousStatus: "published" });
      expect(await moderatorIdOf(c, log.id)).toBe(moderator.id);
      await c.query("reset role");
      expect(await status(c, "posts", content.post)).toBe("hidden");
      const reports = await c.query("select status from app_public.reports where content_id = $1", [content.post]);
      expect(reports.rows).toEqual([{ status: "resolved" }]);
      expect((await notified(c, author.id, "content_removed"))[0].detail).toMatchObject({ kind: "post", reason: "Spam link", action: "hide" });
      const t = await c.query("select open_report_count, hidden_at is not null as hidden from app_public.moderation_targets where content_id = $1", [
        content.post,
      ]);
      expect(t.rows).toEqual([{ open_report_count: 0, hidden: true }]);
    });
  });

  it("approve: un-hides what moderation hid (to its previous status) and dismisses the reports", async () => {
    await asRole(asUser(moderator), async (c) => {
      await c.query("update app_public.posts set status = 'archived' where id = $1", [content.post]); // a moderator may
      await moderate(c, "post", content.post, "hide");
      const log = await moderate(c, "post", content.post, "approve", "Fine after all");
      expect(log).toMatchObject({ action: "approve", reason: "Fine after all" });
      expect(log.detail).toMatchObject({ restoredStatus: "archived" });
      expect(await status(c, "posts", content.post)).toBe("archived");
    });
  });

  it("approve after auto-hide: back to published, reports dismissed", async () => {
    const { rows } = await rootDb().query<{ n: number }>("select (app_private.setting('moderation.auto_hide_threshold') #>> '{}')::int as n");
    const reporters = await Promise.all(Array.from({ length: rows[0].n }, () => createReporter()));
    for (const r of reporters) await fileReport(r, "answer", content.answer);
    expect((await rootDb().query("select status from app_public.answers where id = $1", [content.answer])).rows[0].status).toBe("hidden");
    await asRole(asUser(moderator), async (c) => {
      await moderate(c, "answer", content.answer, "approve", "Not spam");
      await c.query("reset role");
      expect(await status(c, "answers", content.answer)).toBe("published");
      const reports = await c.query<{ status: string }>("select distinct status from app_public.reports where content_id = $1", [content.answer]);
      expect(reports.rows).toEqual([{ status: "dismissed" }]);
      const log = await c.query<{ action: string }>("select action from app_public.moderation_log where content_id = $1 order by id", [content.answer]);
      expect(log.rows.map((r) => r.action)).toEqual(["auto_hide", "approve"]);
    });
  });

  it("delete: content deleted, a message deleted (body emptied), a job closed and hidden", async () => {
    await asRole(asUser(moderator), async (c) => {
      expect((await moderate(c, "question", content.question, "delete")).detail).toMatchObject({ previousStatus: "published" });
      await moderate(c, "message", content.message, "delete");
      await moderate(c, "job", content.job, "delete");
      // approve does not bring deleted content back
      await moderate(c, "question", content.question, "approve");
      await c.query("reset role");
      expect(await status(c, "questions", content.question)).toBe("deleted");
      const m = await c.query("select deleted_at is not null as deleted, body from app_public.messages where id = $1", [content.message]);
      expect(m.rows).toEqual([{ deleted: true, body: "" }]);
      const j = await c.query("select status, hidden_at is not null as hidden from app_public.job_postings where id = $1", [content.job]);
      expect(j.rows).toEqual([{ status: "closed", hidden: true }]);
      expect((await notified(c, author.id, "content_removed")).map((n) => n.detail.kind)).toEqual(
        expect.arrayContaining(["question", "message", "job"]),
      );
    });
  });

  it("hide and delete do not apply to members (INVAL)", async () => {
    await asRole(asUser(moderator), async (c) => {
      expect(await sqlErrorCode(inSavepoint(c, () => moderate(c, "user", author.id, "hide")))).toBe("INVAL");
      expect(await sqlErrorCode(inSavepoint(c, () => moderate(c, "user", author.id, "delete")))).toBe("INVAL");
    });
  });

  it("documents: hide (out of sight and search), approve un-hides, delete hides for good; each logged, the owner notified", async () => {
    const doc = await arrangeDocument(author, true);
    const reporter = await createReporter();
    await fileReport(reporter, "document", doc, "abuse");
    const hidden = async (c: pg.PoolClient) =>
      (await c.query<{ hidden: boolean }>("select hidden_at is not null as hidden from app_public.documents where id = $1", [doc])).rows[0].hidden;
    const searchable = async (c: pg.PoolClient) =>
      (await c.query("select 1 from app_private.search_entries where kind = 'document' and id = $1", [doc])).rowCount;
    await asRole(asUser(moderator), async (c) => {
      // The queue shows the document's text.
      const q = await c.query<{ text: string }>(
        "select app_public.moderation_targets_content_text(t) as text from app_public.moderation_queue() t where t.content_id = $1",
        [doc],
      );
      expect(q.rows).toEqual([{ text: expect.stringContaining("Notes for the team") }]);
      const log = await moderate(c, "document", doc, "hide", "Copyrighted book");
      expect(log).toMatchObject({ action: "hide", target_kind: "document", content_id: doc, affected_user_id: author.id, reason: "Copyrighted book" });
      expect(log.detail).toMatchObject({ previousStatus: "visible" });
      await c.query("reset role");
      expect(await hidden(c)).toBe(true);
      expect(await searchable(c)).toBe(0);
      expect((await c.query("select status from app_public.reports where content_id = $1", [doc])).rows).toEqual([{ status: "resolved" }]);
      expect((await notified(c, author.id, "content_removed"))[0].detail).toMatchObject({ kind: "document", contentId: doc, action: "hide" });
    });
    await asRole(asUser(moderator), async (c) => {
      await moderate(c, "document", doc, "hide", "Copyrighted book");
      const log = await moderate(c, "document", doc, "approve", "Licensed after all");
      expect(log).toMatchObject({ action: "approve", target_kind: "document", reason: "Licensed after all" });
      expect(log.detail).toMatchObject({ restoredStatus: "visible" });
      await c.query("reset role");
      expect(await hidden(c)).toBe(false);
      expect(await searchable(c)).toBe(1);
    });
    await asRole(asUser(moderator), async (c) => {
      expect((await moderate(c, "document", doc, "delete", "Malware")).detail).toMatchObject({ previousStatus: "visible" });
      // approve does not bring a deleted document back, not even after a hide on top
      await moderate(c, "document", doc, "approve", "Oops");
      await moderate(c, "document", doc, "hide", "Still malware");
      await moderate(c, "document", doc, "approve", "Oops again");
      const actions = await c.query<{ action: string }>(
        "select action from app_public.moderation_log where target_kind = 'document' and content_id = $1 order by id",
        [doc],
      );
      expect(actions.rows.map((r) => r.action)).toEqual(["delete", "approve", "hide", "approve"]);
      await c.query("reset role");
      // The row, its versions and their bytes stay (evidence; the owner may still delete it); nobody else sees it.
      expect(await hidden(c)).toBe(true);
      expect(await searchable(c)).toBe(0);
      // (one transaction: every notification has the same created_at, so look for it among them)
      expect((await notified(c, author.id, "content_removed")).map((n) => n.detail)).toContainEqual(
        expect.objectContaining({ kind: "document", action: "delete", reason: "Malware" }),
      );
      await c.query("set local role authenticated");
      const sees = async (u: TestUser) => {
        await actAs(c, u);
        return (await c.query("select 1 from app_public.documents where id = $1", [doc])).rowCount;
      };
      expect(await sees(member)).toBe(0);
      expect(await sees(author)).toBe(1);
    });
  });

  it("warn: the member is notified with the reason; logged", async () => {
    await asRole(asUser(moderator), async (c) => {
      const log = await moderate(c, "comment", content.comment, "warn", "Be civil");
      expect(log).toMatchObject({ action: "warn", affected_user_id: author.id });
      await c.query("reset role");
      expect((await notified(c, author.id, "warned"))[0].detail).toMatchObject({ kind: "comment", reason: "Be civil" });
      expect(JSON.stringify(await notified(c, author.id, "warned"))).not.toContain(moderator.id);
    });
  });

  it("suspend (on content: its author) and lift_suspension; both logged", async () => {
    await asRole(asUser(moderator), async (c) => {
      const until = new Date(Date.now() + 86_400_000).toISOString();
      const log = await moderate(c, "message", content.message, "suspend", "Repeated abuse", until);
      expect(log).toMatchObject({ action: "suspend", affected_user_id: author.id });
      expect(new Date(log.detail.suspendedUntil as string).toISOString()).toBe(until);
      const s = await c.query<{ ends_at: Date; reason: string }>("select ends_at, reason from app_public.suspensions where user_id = $1", [author.id]);
      expect(s.rows[0].ends_at.toISOString()).toBe(until);
      expect(s.rows[0].reason).toBe("Repeated abuse");
      const lift = await moderate(c, "user", author.id, "lift_suspension", "Appeal accepted");
      expect(lift).toMatchObject({ action: "lift_suspension", affected_user_id: author.id });
      expect((await c.query("select 1 from app_public.suspensions where user_id = $1", [author.id])).rowCount).toBe(0);
      expect(await sqlErrorCode(inSavepoint(c, () => moderate(c, "user", author.id, "lift_suspension")))).toBe("NOTFD");
      await c.query("reset role");
      expect((await notified(c, author.id, "suspended"))[0].detail).toMatchObject({ reason: "Repeated abuse", suspendedUntil: expect.any(String) });
    });
  });

  it("suspend: indefinitely with no end; refuses an end in the past and suspending yourself", async () => {
    await asRole(asUser(moderator), async (c) => {
      await moderate(c, "user", member.id, "suspend", "Spam account");
      const s = await c.query("select ends_at from app_public.suspensions where user_id = $1", [member.id]);
      expect(s.rows).toEqual([{ ends_at: null }]);
      const past = new Date(Date.now() - 1000).toISOString();
      expect(await sqlErrorCode(inSavepoint(c, () => moderate(c, "user", member.id, "suspend", "x", past)))).toBe("INVAL");
      expect(await sqlErrorCode(inSavepoint(c, () => moderate(c, "user", moderator.id, "suspend", "x")))).toBe("FORBD");
    });
  });
});

describe("who may act", () => {
  it("refuses members and reviewers (FORBD), a missing reason (INVAL), auto_hide (INVAL), unknown targets (NOTFD)", async () => {
    const reviewer = await createTestUser({ roles: ["reviewer"] });
    for (const who of [member, reviewer]) {
      await asRole(asUser(who), async (c) => {
        expect(await sqlErrorCode(moderate(c, "post", content.post, "hide"))).toBe("FORBD");
      });
    }
    await asRole(asUser(moderator), async (c) => {
      expect(await sqlErrorCode(inSavepoint(c, () => moderate(c, "post", content.post, "hide", "  ")))).toBe("INVAL");
      expect(await sqlErrorCode(inSavepoint(c, () => moderate(c, "post", content.post, "auto_hide")))).toBe("INVAL");
      expect(await sqlErrorCode(inSavepoint(c, () => moderate(c, "post", "00000000-0000-4000-8000-000000000000", "hide")))).toBe("NOTFD");
    });
    await asRole({ role: "anonymous" }, async (c) => {
      expect(await sqlErrorCode(moderate(c, "post", content.post, "hide"))).toBe("42501");
    });
  });
});

describe("claims", () => {
  it("a claimed target is reviewed by its claimer; others get CLAIM until the claim lapses or is released", async () => {
    const reporter = await createReporter();
    const other = await createTestUser();
    await fileReport(reporter, "user", other.id);
    const { rows } = await rootDb().query<{ id: string }>("select id from app_public.moderation_targets where kind = 'user' and content_id = $1", [
      other.id,
    ]);
    const targetId = rows[0].id;
    await asRole(asUser(moderator), async (c) => {
      const claimed = await c.query("select claimed_by, claim_expires_at > now() as live from app_public.claim_moderation_target($1)", [targetId]);
      expect(claimed.rows).toEqual([{ claimed_by: moderator.id, live: true }]);
      expect((await c.query("select status from app_public.reports where target_id = $1", [targetId])).rows).toEqual([{ status: "reviewed" }]);
      await actAs(c, otherModerator);
      expect(await sqlErrorCode(inSavepoint(c, () => moderate(c, "user", other.id, "warn")))).toBe("CLAIM");
      expect(await sqlErrorCode(inSavepoint(c, () => c.query("select app_public.claim_moderation_target($1)", [targetId])))).toBe("CLAIM");
      expect(await sqlErrorCode(inSavepoint(c, () => c.query("select app_public.release_moderation_target($1)", [targetId])))).toBe("NOTFD");
      await actAs(c, moderator);
      await c.query("select app_public.release_moderation_target($1)", [targetId]);
      await actAs(c, otherModerator);
      const log = await moderate(c, "user", other.id, "warn", "Tone it down");
      expect(log.action).toBe("warn");
      expect((await c.query("select status, reviewed_by from app_public.reports where target_id = $1", [targetId])).rows).toEqual([
        { status: "resolved", reviewed_by: moderator.id },
      ]);
    });
  });

  it("a lapsed claim no longer blocks", async () => {
    const other = await createTestUser();
    await fileReport(await createReporter(), "user", other.id);
    await asRole(asUser(moderator), async (c) => {
      const t = await c.query<{ id: string }>("select id from app_public.moderation_targets where content_id = $1", [other.id]);
      await c.query("select app_public.claim_moderation_target($1)", [t.rows[0].id]);
      await c.query("reset role");
      await c.query("update app_public.moderation_targets set claim_expires_at = now() - interval '1 second' where id = $1", [t.rows[0].id]);
      await c.query("set local role authenticated");
      await actAs(c, otherModerator);
      expect((await moderate(c, "user", other.id, "approve", "Nothing wrong")).action).toBe("approve");
    });
  });
});

describe("the queue", () => {
  it("lists targets with open reports, oldest first or most reported first, with reasons and the content", async () => {
    const a = await createTestUser();
    const b = await createTestUser();
    const reporters = await Promise.all([createReporter(), createReporter()]);
    await fileReport(reporters[0], "user", a.id, "spam"); // a: older, one report
    await fileReport(reporters[0], "user", b.id, "abuse");
    await fileReport(reporters[1], "user", b.id, "abuse"); // b: newer, two reports
    await asRole(asUser(moderator), async (c) => {
      const ours = (rows: Array<{ content_id: string }>) => rows.map((r) => r.content_id).filter((id) => id === a.id || id === b.id);
      const oldest = await c.query("select content_id from app_public.moderation_queue(false)");
      expect(ours(oldest.rows)).toEqual([a.id, b.id]);
      const most = await c.query("select content_id from app_public.moderation_queue(true)");
      expect(ours(most.rows)).toEqual([b.id, a.id]);
      const detail = await c.query(
        `select t.open_report_count, app_public.moderation_targets_reason_counts(t) as reasons, app_public.moderation_targets_content_text(t) as text
           from app_public.moderation_targets t where content_id = $1`,
        [b.id],
      );
      expect(detail.rows[0]).toMatchObject({ open_report_count: 2, reasons: { abuse: 2 } });
      expect(detail.rows[0].text).toContain(b.username);
    });
    await asRole(asUser(member), async (c) => {
      expect((await c.query("select * from app_public.moderation_queue(false)")).rowCount).toBe(0);
      const text = await c.query("select app_public.moderation_targets_content_text(t) as text from app_public.moderation_targets t");
      expect(text.rowCount).toBe(0);
    });
  });
});

describe("bulk actions", () => {
  let posts: string[];

  beforeAll(async () => {
    const { rows } = await rootDb().query<{ id: string }>(
      "insert into app_public.posts (author_id, title, body, status) select $1, 'Bulk ' || g, 'x', 'published' from generate_series(1, 3) g returning id",
      [author.id],
    );
    posts = rows.map((r) => r.id);
  });

  const bulk = (c: pg.PoolClient, ids: string[], action = "hide") =>
    c.query<LogRow>("select * from app_public.moderate_many('post', $1::uuid[], $2, 'Spam wave')", [ids, action]);

  it("acts on every target in one call, each logged as bulk", async () => {
    await asRole(asUser(admin), async (c) => {
      const { rows } = await bulk(c, posts);
      expect(rows.map((r) => r.content_id).sort()).toEqual([...posts].sort());
      expect(rows.every((r) => r.action === "hide" && r.detail.bulk === true)).toBe(true);
      await c.query("reset role");
      const s = await c.query("select distinct status from app_public.posts where id = any($1)", [posts]);
      expect(s.rows).toEqual([{ status: "hidden" }]);
    });
  });

  it("is all or nothing: one unknown target changes none", async () => {
    await asRole(asUser(admin), async (c) => {
      expect(await sqlErrorCode(inSavepoint(c, () => bulk(c, [...posts, "00000000-0000-4000-8000-000000000000"])))).toBe("NOTFD");
      await c.query("reset role");
      const s = await c.query("select distinct status from app_public.posts where id = any($1)", [posts]);
      expect(s.rows).toEqual([{ status: "published" }]);
      expect((await c.query("select 1 from app_public.moderation_log where content_id = any($1)", [posts])).rowCount).toBe(0);
    });
  });

  it("is all or nothing: one target claimed by another moderator changes none", async () => {
    await asRole(asUser(otherModerator), async (c) => {
      await c.query("select app_public.moderate('post', $1, 'warn', 'First')", [posts[2]]);
      const t = await c.query<{ id: string }>("select id from app_public.moderation_targets where content_id = $1", [posts[2]]);
      await c.query("select app_public.claim_moderation_target($1)", [t.rows[0].id]);
      await actAs(c, admin);
      expect(await sqlErrorCode(inSavepoint(c, () => bulk(c, posts)))).toBe("CLAIM");
      await c.query("reset role");
      expect((await c.query("select distinct status from app_public.posts where id = any($1)", [posts])).rows).toEqual([{ status: "published" }]);
    });
  });

  it("needs moderation:bulk: moderators are refused (FORBD)", async () => {
    await asRole(asUser(moderator), async (c) => {
      expect(await sqlErrorCode(bulk(c, posts))).toBe("FORBD");
    });
  });
});

describe("the log is append-only", () => {
  it("refuses update, delete and truncate to everyone, the owner and the superuser included (APPND)", async () => {
    const other = await createTestUser();
    await asRole(asUser(moderator), async (c) => {
      await moderate(c, "user", other.id, "warn", "Logged");
      for (const role of ["agora_owner", null] as const) {
        await c.query(role ? `set local role ${role}` : "reset role");
        for (const sql of [
          "update app_public.moderation_log set reason = 'changed' where content_id = $1",
          "delete from app_public.moderation_log where content_id = $1",
          "update app_private.moderation_log_moderators set moderator_id = moderator_id where log_id in (select id from app_public.moderation_log where content_id = $1)",
          "delete from app_private.moderation_log_moderators where log_id in (select id from app_public.moderation_log where content_id = $1)",
        ]) {
          expect(await sqlErrorCode(inSavepoint(c, () => c.query(sql, [other.id])))).toBe("APPND");
        }
        expect(await sqlErrorCode(inSavepoint(c, () => c.query("truncate app_public.moderation_log cascade")))).toBe("APPND");
        expect(await sqlErrorCode(inSavepoint(c, () => c.query("truncate app_private.moderation_log_moderators")))).toBe("APPND");
      }
      expect((await c.query("select reason from app_public.moderation_log where content_id = $1", [other.id])).rows).toEqual([{ reason: "Logged" }]);
    });
  });

  it("gives members no way to write it (no grants)", async () => {
    await asRole(asUser(moderator), async (c) => {
      expect(
        await sqlErrorCode(
          c.query("insert into app_public.moderation_log (action, target_kind, content_id, reason) values ('warn', 'user', $1, 'x')", [member.id]),
        ),
      ).toBe("42501");
    });
  });
});

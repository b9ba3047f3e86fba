/**
 * Moderation through GraphQL: reporting and acting (errors with their codes),
 * the queue, the logs for admins with filters, and failed background jobs.
 */
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { createTestUser, type TestUser } from "../helpers/users";
import { arrangeContent, arrangeDocument, createReporter, type Content } from "./fixtures";

let server: TestServer;
let author: TestUser;
let reporter: TestUser;
let moderator: TestUser;
let admin: TestUser;
let content: Content;

beforeAll(async () => {
  server = await startTestServer();
  [author, reporter, moderator, admin] = await Promise.all([
    createTestUser(),
    createReporter(),
    createTestUser({ roles: ["moderator"] }),
    createTestUser({ roles: ["admin"] }),
  ]);
  content = await arrangeContent(author);
});

afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const token = (u: TestUser) => server.tokenFor(u);

describe("reporting and acting over GraphQL", () => {
  it("documents: a public one is reported and appears in the queue with its document; a private one is FORBD for others", async () => {
    const [shared, own] = [await arrangeDocument(author, true), await arrangeDocument(author, false)];
    const REPORT = `mutation($id: UUID!) { createReport(input: { report: { targetKind: document, contentId: $id, reason: off_topic } }) { report { rowId targetKind } } }`;
    const filed = await server.graphql<{ createReport: { report: { targetKind: string } } }>(REPORT, { id: shared }, { token: token(reporter) });
    expect(filed.errors).toBeUndefined();
    expect(filed.data?.createReport.report.targetKind).toBe("document");
    const hidden = await server.graphql<{ createReport: unknown }>(REPORT, { id: own }, { token: token(reporter) });
    expect(hidden.errors?.[0].extensions?.code).toBe("FORBD");
    expect(hidden.data?.createReport ?? null).toBeNull();
    const QUEUE = `{ moderationQueue(first: 50) { nodes { contentId kind documentByDocumentId { rowId title } } } }`;
    const queue = await server.graphql<{ moderationQueue: { nodes: Array<{ contentId: string; kind: string; documentByDocumentId: { rowId: string } | null }> } }>(
      QUEUE,
      {},
      { token: token(moderator) },
    );
    expect(queue.errors).toBeUndefined();
    expect(queue.data!.moderationQueue.nodes.find((n) => n.contentId === shared)).toMatchObject({ kind: "document", documentByDocumentId: { rowId: shared } });
    expect(queue.data!.moderationQueue.nodes.find((n) => n.contentId === own)).toBeUndefined();
  });

  it("a member reports; a second report is NUNIQ; a moderator sees it in the queue with the content and acts; the member cannot", async () => {
    const REPORT = `mutation($id: UUID!) { createReport(input: { report: { targetKind: post, contentId: $id, reason: spam, note: "Link farm" } }) { report { rowId status } } }`;
    const first = await server.graphql<{ createReport: { report: { rowId: string; status: string } } }>(REPORT, { id: content.post }, { token: token(reporter) });
    expect(first.errors).toBeUndefined();
    expect(first.data?.createReport.report.status).toBe("pending");
    const again = await server.graphql(REPORT, { id: content.post }, { token: token(reporter) });
    expect(again.errors?.[0].extensions?.code).toBe("NUNIQ");
    const own = await server.graphql(REPORT, { id: content.post }, { token: token(author) });
    expect(own.errors?.[0].extensions?.code).toBe("FORBD");

    const QUEUE = `{ moderationQueue(first: 50) { nodes { rowId kind contentId openReportCount reasonCounts contentText postByPostId { rowId title } } } }`;
    const queue = await server.graphql<{ moderationQueue: { nodes: Array<{ contentId: string; reasonCounts: unknown; contentText: string; postByPostId: { rowId: string } | null }> } }>(
      QUEUE,
      {},
      { token: token(moderator) },
    );
    expect(queue.errors).toBeUndefined();
    const entry = queue.data!.moderationQueue.nodes.find((n) => n.contentId === content.post);
    expect(entry).toMatchObject({ reasonCounts: { spam: 1 }, postByPostId: { rowId: content.post } });
    expect(entry!.contentText).toContain("A body");
    const asMember = await server.graphql<{ moderationQueue: { nodes: unknown[] } }>(QUEUE, {}, { token: token(reporter) });
    expect(asMember.data?.moderationQueue.nodes).toEqual([]);

    const ACT = `mutation($id: UUID!, $action: ModerationAction!) { moderate(input: { targetKind: post, contentId: $id, action: $action, reason: "Spam" }) { result { rowId action reason affectedUserId moderator { rowId } } } }`;
    const refused = await server.graphql(ACT, { id: content.post, action: "hide" }, { token: token(reporter) });
    expect(refused.errors?.[0].extensions?.code).toBe("FORBD");
    const done = await server.graphql<{ moderate: { result: { action: string; affectedUserId: string; moderator: { rowId: string } } } }>(
      ACT,
      { id: content.post, action: "hide" },
      { token: token(moderator) },
    );
    expect(done.errors).toBeUndefined();
    expect(done.data?.moderate.result).toMatchObject({ action: "hide", affectedUserId: author.id, moderator: { rowId: moderator.id } });

    // The author reads what happened to their post, and why, but not who did it.
    const MINE = `query($id: UUID!) { moderationHistory(contentId: $id) { nodes { action reason moderator { rowId } } } }`;
    const mine = await server.graphql<{ moderationHistory: { nodes: unknown[] } }>(MINE, { id: content.post }, { token: token(author) });
    expect(mine.data?.moderationHistory.nodes).toEqual([{ action: "hide", reason: "Spam", moderator: null }]);
  });

  it("bulk actions: admins only, all or nothing", async () => {
    const BULK = `mutation($ids: [UUID]!) { moderateMany(input: { targetKind: comment, contentIds: $ids, action: hide, reason: "Wave" }) { result { contentId } } }`;
    const bad = await server.graphql(BULK, { ids: [content.comment, "00000000-0000-4000-8000-000000000000"] }, { token: token(admin) });
    expect(bad.errors?.[0].extensions?.code).toBe("NOTFD");
    expect((await rootDb().query("select status from app_public.comments where id = $1", [content.comment])).rows[0].status).toBe("published");
    const byModerator = await server.graphql(BULK, { ids: [content.comment] }, { token: token(moderator) });
    expect(byModerator.errors?.[0].extensions?.code).toBe("FORBD");
    const ok = await server.graphql<{ moderateMany: { result: Array<{ contentId: string }> } }>(BULK, { ids: [content.comment] }, { token: token(admin) });
    expect(ok.errors).toBeUndefined();
    expect(ok.data?.moderateMany.result).toEqual([{ contentId: content.comment }]);
  });
});

describe("the logs for admins", () => {
  it("reads the audit log with filters on account, actor, kind and time", async () => {
    const subject = await createTestUser();
    await rootDb().query(
      `insert into app_private.security_events (kind, user_id, actor_id, created_at) values
         ('login_failed', $1, null, now() - interval '2 hours'),
         ('login_failed', $1, null, now() - interval '1 minute'),
         ('role_granted', $1, $2, now() - interval '1 minute')`,
      [subject.id, admin.id],
    );
    const AUDIT = `query($userId: UUID, $actorId: UUID, $kind: String, $since: Datetime) {
      auditLog(userId: $userId, actorId: $actorId, kind: $kind, since: $since, first: 20) { nodes { kind userId actorId } } }`;
    const all = await server.graphql<{ auditLog: { nodes: Array<{ kind: string }> } }>(AUDIT, { userId: subject.id }, { token: token(admin) });
    expect(all.errors).toBeUndefined();
    // Newest first (create_user records events of its own, e.g. email_added; the three arranged here are all there).
    const arranged = all.data!.auditLog.nodes.map((n) => n.kind).filter((k) => k === "login_failed" || k === "role_granted");
    expect(arranged).toEqual(["role_granted", "login_failed", "login_failed"]);
    const recentFailures = await server.graphql<{ auditLog: { nodes: unknown[] } }>(
      AUDIT,
      { userId: subject.id, kind: "login_failed", since: new Date(Date.now() - 3_600_000).toISOString() },
      { token: token(admin) },
    );
    expect(recentFailures.data?.auditLog.nodes).toHaveLength(1);
    const byActor = await server.graphql<{ auditLog: { nodes: unknown[] } }>(AUDIT, { userId: subject.id, actorId: admin.id }, { token: token(admin) });
    expect(byActor.data?.auditLog.nodes).toEqual([{ kind: "role_granted", userId: subject.id, actorId: admin.id }]);
    const asModerator = await server.graphql<{ auditLog: { nodes: unknown[] } }>(AUDIT, { userId: subject.id }, { token: token(moderator) });
    expect(asModerator.data?.auditLog.nodes).toEqual([]);
  });

  it("reads the moderation log with filters on moderator, action and time", async () => {
    const target = await createTestUser();
    const WARN = `mutation($id: UUID!) { moderate(input: { targetKind: user, contentId: $id, action: warn, reason: "Careful" }) { result { rowId } } }`;
    expect((await server.graphql(WARN, { id: target.id }, { token: token(moderator) })).errors).toBeUndefined();
    const HISTORY = `query($moderatorId: UUID, $affected: UUID, $action: ModerationAction, $before: Datetime) {
      moderationHistory(moderatorId: $moderatorId, affectedUserId: $affected, action: $action, before: $before) { nodes { action affectedUserId } } }`;
    const warned = await server.graphql<{ moderationHistory: { nodes: unknown[] } }>(
      HISTORY,
      { moderatorId: moderator.id, affected: target.id, action: "warn" },
      { token: token(admin) },
    );
    expect(warned.data?.moderationHistory.nodes).toEqual([{ action: "warn", affectedUserId: target.id }]);
    const otherAction = await server.graphql<{ moderationHistory: { nodes: unknown[] } }>(HISTORY, { affected: target.id, action: "suspend" }, { token: token(admin) });
    expect(otherAction.data?.moderationHistory.nodes).toEqual([]);
    const before = await server.graphql<{ moderationHistory: { nodes: unknown[] } }>(
      HISTORY,
      { affected: target.id, before: new Date(Date.now() - 3_600_000).toISOString() },
      { token: token(admin) },
    );
    expect(before.data?.moderationHistory.nodes).toEqual([]);
  });
});

describe("failed background jobs", () => {
  async function failedJob(error: string): Promise<string> {
    const { rows } = await rootDb().query<{ id: string }>(
      `with j as (select (graphile_worker.add_job('moderation_test_no_such_task', '{}'::json, max_attempts => 1)).id)
       select (graphile_worker.permanently_fail_jobs(array[(select id from j)], $1)).id::text as id`,
      [error],
    );
    return rows[0].id;
  }

  const LIST = `{ failedJobs(first: 100) { nodes { rowId taskIdentifier attempts maxAttempts lastError } } }`;

  it("lists them for admins with their error; retries and discards one", async () => {
    const [retryId, discardId] = [await failedJob("boom one"), await failedJob("boom two")];
    const list = await server.graphql<{ failedJobs: { nodes: Array<{ rowId: string; lastError: string; attempts: number }> } }>(LIST, {}, { token: token(admin) });
    expect(list.errors).toBeUndefined();
    const ours = list.data!.failedJobs.nodes.filter((n) => n.rowId === retryId || n.rowId === discardId);
    expect(ours.map((n) => n.lastError).sort()).toEqual(["boom one", "boom two"]);

    const RETRY = `mutation($id: BigInt!) { retryFailedJob(input: { jobId: $id }) { result { rowId attempts } } }`;
    const retried = await server.graphql<{ retryFailedJob: { result: { rowId: string; attempts: number } } }>(RETRY, { id: retryId }, { token: token(admin) });
    expect(retried.errors).toBeUndefined();
    expect(retried.data?.retryFailedJob.result).toEqual({ rowId: retryId, attempts: 0 });

    const DISCARD = `mutation($id: BigInt!) { discardFailedJob(input: { jobId: $id }) { result { rowId lastError } } }`;
    const discarded = await server.graphql<{ discardFailedJob: { result: { rowId: string } } }>(DISCARD, { id: discardId }, { token: token(admin) });
    expect(discarded.errors).toBeUndefined();
    expect((await rootDb().query("select 1 from graphile_worker.jobs where id = $1", [discardId])).rowCount).toBe(0);
    const again = await server.graphql(DISCARD, { id: discardId }, { token: token(admin) });
    expect(again.errors?.[0].extensions?.code).toBe("NOTFD");
    await rootDb().query("select graphile_worker.complete_jobs(array[$1::bigint])", [retryId]);
  });

  it("refuses everyone but admins (FORBD)", async () => {
    const id = await failedJob("boom three");
    for (const who of [moderator, reporter]) {
      const list = await server.graphql(LIST, {}, { token: token(who) });
      expect(list.errors?.[0].extensions?.code).toBe("FORBD");
      const retry = await server.graphql(`mutation($id: BigInt!) { retryFailedJob(input: { jobId: $id }) { result { rowId } } }`, { id }, { token: token(who) });
      expect(retry.errors?.[0].extensions?.code).toBe("FORBD");
    }
    await rootDb().query("select graphile_worker.complete_jobs(array[$1::bigint])", [id]);
  });
});

/**
 * Reports and auto-hide: who may report what, one open report per reporter,
 * and hiding at exactly the threshold of distinct counting reporters — also
 * when the reports arrive at the same time.
 */
import { closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { actAs, arrangeContent, arrangeDocument, asMember, createReporter, fileReport, idOf, stateOf, type Content, type Kind } from "./fixtures";

let threshold: number;

beforeAll(async () => {
  const { rows } = await rootDb().query<{ n: number }>("select (app_private.setting('moderation.auto_hide_threshold') #>> '{}')::int as n");
  threshold = rows[0].n;
  expect(threshold).toBeGreaterThanOrEqual(2);
});

afterAll(async () => {
  await closeSqlHelpers();
});

async function target(kind: Kind, id: string) {
  const { rows } = await rootDb().query<{ open_report_count: number; counted_reporter_count: number; hidden_at: Date | null }>(
    "select * from app_public.moderation_targets where kind = $1 and content_id = $2",
    [kind, id],
  );
  return rows[0];
}

async function logRows(kind: Kind, id: string) {
  const { rows } = await rootDb().query<{ action: string; affected_user_id: string; detail: Record<string, unknown> }>(
    "select action, affected_user_id, detail from app_public.moderation_log where target_kind = $1 and content_id = $2 order by id",
    [kind, id],
  );
  return rows;
}

describe("filing a report", () => {
  let author: TestUser;
  let reporter: TestUser;
  let content: Content;

  beforeAll(async () => {
    [author, reporter] = await Promise.all([createTestUser(), createReporter()]);
    content = await arrangeContent(author);
  });

  it("works on every kind of content and on members, and the reporter sees their report", async () => {
    for (const kind of ["post", "question", "answer", "comment", "message", "job", "user"] as const) {
      const id = await fileReport(reporter, kind, idOf(content, author, kind), "abuse");
      const mine = await asMember<{ id: string; status: string; target_kind: string }>(
        reporter,
        "select id, status, target_kind from app_public.reports where id = $1",
        [id],
      );
      expect(mine).toEqual([{ id, status: "pending", target_kind: kind }]);
    }
  });

  it("refuses a second open report of the same target by the same member (NUNIQ)", async () => {
    const other = await createReporter();
    await fileReport(other, "post", content.post);
    expect(await sqlErrorCode(fileReport(other, "post", content.post, "abuse"))).toBe("NUNIQ");
  });

  it("refuses reporting yourself or your own content (FORBD)", async () => {
    expect(await sqlErrorCode(fileReport(author, "post", content.post))).toBe("FORBD");
    expect(await sqlErrorCode(fileReport(author, "user", author.id))).toBe("FORBD");
    expect(await sqlErrorCode(fileReport(author, "message", content.message))).toBe("FORBD");
  });

  it("refuses what the reporter cannot see (FORBD) and what does not exist (NOTFD)", async () => {
    const { rows } = await rootDb().query<{ id: string }>(
      "insert into app_public.posts (author_id, title, body, status) values ($1, 'A draft of mine', 'x', 'draft') returning id",
      [author.id],
    );
    expect(await sqlErrorCode(fileReport(reporter, "post", rows[0].id))).toBe("42501");
    expect(await sqlErrorCode(fileReport(reporter, "post", "00000000-0000-4000-8000-000000000000"))).toBe("NOTFD");
    // A post id given as another kind names nothing.
    expect(await sqlErrorCode(fileReport(reporter, "comment", content.post))).toBe("NOTFD");
  });

  it("requires a note for reason other (INVAL through the constraint)", async () => {
    const other = await createReporter();
    expect(await sqlErrorCode(fileReport(other, "question", content.question, "other"))).toBe("23514");
    await fileReport(other, "question", content.question, "other", "Plagiarised from a book");
  });

  it("refuses anonymous reports", async () => {
    const client = await rootDb().connect();
    try {
      await client.query("begin");
      await client.query("set local role anonymous");
      expect(
        await sqlErrorCode(
          client.query("insert into app_public.reports (target_kind, content_id, reason) values ('post', $1, 'spam')", [content.post]),
        ),
      ).toBe("42501");
    } finally {
      await client.query("rollback");
      client.release();
    }
  });

  it("limits reports per member and hour (RLIMT)", async () => {
    const { rows } = await rootDb().query<{ max: number }>("select (app_private.setting('rate_limit.report:create') ->> 'max')::int as max");
    const busy = await createReporter();
    const authors = await Promise.all(Array.from({ length: rows[0].max + 1 }, () => createTestUser()));
    for (const a of authors.slice(0, rows[0].max)) await fileReport(busy, "user", a.id);
    expect(await sqlErrorCode(fileReport(busy, "user", authors[rows[0].max].id))).toBe("RLIMT");
  });
});

describe("auto-hide", () => {
  it("hides at exactly the threshold of distinct counting reporters, not before; the same reporter twice does not count", async () => {
    const author = await createTestUser();
    const content = await arrangeContent(author);
    const reporters = await Promise.all(Array.from({ length: threshold }, () => createReporter()));
    const newcomer = await createTestUser(); // reputation below moderation.auto_hide_min_reputation

    for (const r of reporters.slice(0, threshold - 1)) await fileReport(r, "post", content.post);
    // The same reporter again is refused, and a newcomer's report is queued but does not count.
    expect(await sqlErrorCode(fileReport(reporters[0], "post", content.post, "abuse"))).toBe("NUNIQ");
    await fileReport(newcomer, "post", content.post);
    let t = await target("post", content.post);
    expect(t.open_report_count).toBe(threshold);
    expect(t.counted_reporter_count).toBe(threshold - 1);
    expect(t.hidden_at).toBeNull();
    expect(await stateOf("post", content.post)).toBe("published");

    await fileReport(reporters[threshold - 1], "post", content.post);
    t = await target("post", content.post);
    expect(t.counted_reporter_count).toBe(threshold);
    expect(t.hidden_at).not.toBeNull();
    expect(await stateOf("post", content.post)).toBe("hidden");

    // Hidden from everyone but the author and moderators.
    const outsider = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    const sees = async (u: TestUser) => (await asMember(u, "select 1 from app_public.posts where id = $1", [content.post])).length;
    expect(await sees(outsider)).toBe(0);
    expect(await sees(reporters[0])).toBe(0);
    expect(await sees(author)).toBe(1);
    expect(await sees(moderator)).toBe(1);

    // One auto_hide log row, about the author, and the author is told.
    const log = await logRows("post", content.post);
    expect(log.map((l) => l.action)).toEqual(["auto_hide"]);
    expect(log[0].affected_user_id).toBe(author.id);
    expect(log[0].detail).toMatchObject({ reporterCount: threshold, previousStatus: "published" });
    const notes = await rootDb().query("select 1 from app_public.notifications where recipient_id = $1 and type_id = 'content_under_review' and post_id = $2", [
      author.id,
      content.post,
    ]);
    expect(notes.rowCount).toBe(1);

    // Others can no longer see it, so they cannot report it either; a moderator's report changes nothing more.
    expect(await sqlErrorCode(fileReport(await createReporter(), "post", content.post))).toBe("42501");
    await fileReport(moderator, "post", content.post);
    expect((await logRows("post", content.post)).length).toBe(1);
  });

  it("counts concurrent reports from different members once each, and hides once", async () => {
    const author = await createTestUser();
    const content = await arrangeContent(author);
    // Members are never hidden, so every concurrent report of one lands: the count is exact.
    const many = await Promise.all(Array.from({ length: threshold + 3 }, () => createReporter()));
    await Promise.all(many.map((r) => fileReport(r, "user", author.id)));
    const u = await target("user", author.id);
    expect(u.open_report_count).toBe(threshold + 3);
    expect(u.counted_reporter_count).toBe(threshold + 3);
    // Exactly the threshold of members report a comment at once: it is hidden once.
    const reporters = await Promise.all(Array.from({ length: threshold }, () => createReporter()));
    await Promise.all(reporters.map((r) => fileReport(r, "comment", content.comment)));
    const t = await target("comment", content.comment);
    expect(t.open_report_count).toBe(threshold);
    expect(t.counted_reporter_count).toBe(threshold);
    expect(await stateOf("comment", content.comment)).toBe("hidden");
    expect((await logRows("comment", content.comment)).map((l) => l.action)).toEqual(["auto_hide"]);
  });

  it("serialises reports on one target: the last of two overlapping reports sees the first and hides at the threshold", async () => {
    const author = await createTestUser();
    const content = await arrangeContent(author);
    const reporters = await Promise.all(Array.from({ length: threshold }, () => createReporter()));
    for (const r of reporters.slice(0, threshold - 2)) await fileReport(r, "question", content.question);
    const [c1, c2] = await Promise.all([rootDb().connect(), rootDb().connect()]);
    try {
      for (const [c, r] of [[c1, reporters[threshold - 2]], [c2, reporters[threshold - 1]]] as const) {
        await c.query("begin");
        await c.query("select set_config('role', 'authenticated', true)");
        await actAs(c, r);
      }
      const insert = "insert into app_public.reports (target_kind, content_id, reason) values ('question', $1, 'spam')";
      await c1.query(insert, [content.question]);
      const second = c2.query(insert, [content.question]); // waits for c1's lock on the target
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await stateOf("question", content.question)).toBe("published");
      await c1.query("commit");
      await second;
      await c2.query("commit");
    } finally {
      c1.release();
      c2.release();
    }
    expect((await target("question", content.question)).counted_reporter_count).toBe(threshold);
    expect(await stateOf("question", content.question)).toBe("hidden");
  });

  it("refuses concurrent duplicate reports from one member: one counts", async () => {
    const author = await createTestUser();
    const content = await arrangeContent(author);
    const reporter = await createReporter();
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => fileReport(reporter, "answer", content.answer)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === "rejected")) {
      expect((r.reason as { code?: string }).code).toBe("NUNIQ");
    }
    expect((await target("answer", content.answer)).counted_reporter_count).toBe(1);
  });

  it("hides chat messages and job postings the same way, and never members", async () => {
    const author = await createTestUser();
    const content = await arrangeContent(author);
    const reporters = await Promise.all(Array.from({ length: threshold }, () => createReporter()));
    for (const r of reporters) {
      await fileReport(r, "message", content.message);
      await fileReport(r, "job", content.job);
      await fileReport(r, "user", author.id);
    }
    expect(await stateOf("message", content.message)).toBe("hidden");
    expect(await stateOf("job", content.job)).toBe("hidden:active");
    const outsider = await createTestUser();
    expect(await asMember(outsider, "select 1 from app_public.messages where id = $1", [content.message])).toHaveLength(0);
    expect(await asMember(outsider, "select 1 from app_public.job_postings where id = $1", [content.job])).toHaveLength(0);
    expect(await asMember(author, "select 1 from app_public.messages where id = $1", [content.message])).toHaveLength(1);
    expect(await asMember(author, "select 1 from app_public.job_postings where id = $1", [content.job])).toHaveLength(1);
    // A hidden job takes no applications.
    expect(
      await sqlErrorCode(asMember(outsider, "insert into app_public.job_applications (job_id, cover_letter) values ($1, 'Hi')", [content.job])),
    ).toBe("NOTFD");
    // The member is still visible: reports about members go to the queue only.
    const u = await target("user", author.id);
    expect(u.counted_reporter_count).toBe(threshold);
    expect(u.hidden_at).toBeNull();
    expect(await asMember(outsider, "select 1 from app_public.users where id = $1", [author.id])).toHaveLength(1);
  });
});

describe("documents", () => {
  const readers = async (u: TestUser | null, id: string) => {
    const sql = `select (select count(*)::int from app_public.documents where id = $1) as documents,
                        (select count(*)::int from app_public.document_versions where document_id = $1) as versions`;
    if (u) return (await asMember<{ documents: number; versions: number }>(u, sql, [id]))[0];
    const client = await rootDb().connect();
    try {
      await client.query("begin");
      await client.query("set local role anonymous");
      return (await client.query<{ documents: number; versions: number }>(sql, [id])).rows[0];
    } finally {
      await client.query("rollback");
      client.release();
    }
  };
  const searchable = async (id: string) =>
    (await rootDb().query("select 1 from app_private.search_entries where kind = 'document' and id = $1", [id])).rowCount;

  it("are reported like other content; a private one by nobody (others cannot see it, its owner cannot report their own)", async () => {
    const owner = await createTestUser();
    const reporter = await createReporter();
    const shared = await arrangeDocument(owner, true);
    const own = await arrangeDocument(owner, false);
    const id = await fileReport(reporter, "document", shared, "illegal");
    expect(await asMember(reporter, "select status, target_kind from app_public.reports where id = $1", [id])).toEqual([
      { status: "pending", target_kind: "document" },
    ]);
    const t = await rootDb().query("select document_id, author_id from app_public.moderation_targets where kind = 'document' and content_id = $1", [shared]);
    expect(t.rows).toEqual([{ document_id: shared, author_id: owner.id }]);
    // Private: only the owner sees it, and the owner cannot report their own document.
    expect(await sqlErrorCode(fileReport(reporter, "document", own))).toBe("42501");
    expect(await sqlErrorCode(fileReport(owner, "document", own))).toBe("FORBD");
    expect(await sqlErrorCode(fileReport(owner, "document", shared))).toBe("FORBD");
    expect((await rootDb().query("select 1 from app_public.moderation_targets where content_id = $1", [own])).rowCount).toBe(0);
    // Another kind's id names no document, and a document id names no post.
    expect(await sqlErrorCode(fileReport(reporter, "document", owner.id))).toBe("NOTFD");
    expect(await sqlErrorCode(fileReport(reporter, "post", shared))).toBe("NOTFD");
  });

  it("hide at exactly the threshold: out of search and out of sight for all but the owner and moderators", async () => {
    const owner = await createTestUser();
    const doc = await arrangeDocument(owner, true);
    const reporters = await Promise.all(Array.from({ length: threshold }, () => createReporter()));
    const [outsider, moderator] = await Promise.all([createTestUser(), createTestUser({ roles: ["moderator"] })]);
    expect(await searchable(doc)).toBe(1);

    for (const r of reporters.slice(0, threshold - 1)) await fileReport(r, "document", doc);
    let t = await target("document", doc);
    expect(t.counted_reporter_count).toBe(threshold - 1);
    expect(t.hidden_at).toBeNull();
    expect(await stateOf("document", doc)).toBe("visible");
    expect(await readers(outsider, doc)).toEqual({ documents: 1, versions: 1 });

    await fileReport(reporters[threshold - 1], "document", doc);
    t = await target("document", doc);
    expect(t.counted_reporter_count).toBe(threshold);
    expect(t.hidden_at).not.toBeNull();
    expect(await stateOf("document", doc)).toBe("hidden");

    expect(await readers(outsider, doc)).toEqual({ documents: 0, versions: 0 });
    expect(await readers(reporters[0], doc)).toEqual({ documents: 0, versions: 0 });
    expect(await readers(null, doc)).toEqual({ documents: 0, versions: 0 });
    expect(await readers(owner, doc)).toEqual({ documents: 1, versions: 1 });
    expect(await readers(moderator, doc)).toEqual({ documents: 1, versions: 1 });
    expect(await searchable(doc)).toBe(0);

    // Others can neither comment on it nor react to it (NOTFD, as if it did not exist), nor report it again.
    expect(
      await sqlErrorCode(asMember(outsider, "insert into app_public.comments (document_id, body) values ($1, 'Hm')", [doc])),
    ).toBe("NOTFD");
    expect(await sqlErrorCode(asMember(outsider, "select * from app_public.react_to_document($1, 'like')", [doc]))).toBe("NOTFD");
    expect(await asMember(owner, "select kind from app_public.react_to_document($1, 'like')", [doc])).toEqual([{ kind: "like" }]);
    expect(await sqlErrorCode(fileReport(await createReporter(), "document", doc))).toBe("42501");

    const log = await logRows("document", doc);
    expect(log.map((l) => l.action)).toEqual(["auto_hide"]);
    expect(log[0].affected_user_id).toBe(owner.id);
    expect(log[0].detail).toMatchObject({ reporterCount: threshold, previousStatus: "visible" });
    const notes = await rootDb().query<{ detail: Record<string, unknown> }>(
      "select detail from app_public.notifications where recipient_id = $1 and type_id = 'content_under_review'",
      [owner.id],
    );
    expect(notes.rows).toEqual([{ detail: expect.objectContaining({ kind: "document", contentId: doc }) }]);
  });

  it("the owner cannot un-hide a hidden document (hiddenAt has no update grant)", async () => {
    const owner = await createTestUser();
    const doc = await arrangeDocument(owner, true);
    await rootDb().query("update app_public.documents set hidden_at = now() where id = $1", [doc]);
    expect(await sqlErrorCode(asMember(owner, "update app_public.documents set hidden_at = null where id = $1", [doc]))).toBe("42501");
    // Changing what the owner may change keeps it hidden and out of search.
    await asMember(owner, "update app_public.documents set title = 'Renamed notes', is_public = true where id = $1", [doc]);
    expect(await stateOf("document", doc)).toBe("hidden");
    expect(await searchable(doc)).toBe(0);
  });
});

/**
 * The business rules of community content, as users meet them: who edits,
 * hides and restores; comment threads (edit window, depth, one target, soft
 * delete); accepted answers; posting limits; banned words; edit history;
 * suggested edits; reactions; follows; slugs and tags.
 *
 * SQL-level checks run as the API's roles and roll back; HTTP checks drive
 * the real server with GraphQL documents and commit, so every test makes its
 * own users (posting limits are per author per hour, and files share one
 * database).
 */
import { asRole, closeSqlHelpers, inSavepoint, rootDb, sqlErrorCode, bulkLoad } from "../helpers/sql";
import { startTestServer, type TestServer, ok } from "../helpers/server";
import { errorCode } from "../helpers/auth";
import { createTestUser, uniqueName, type TestUser, asUser } from "../helpers/users";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});


/** A GraphQL request as `user` (anonymous when null). */
const gql = <T = Record<string, unknown>>(user: TestUser | null, query: string, variables: Record<string, unknown> = {}) => server.as<T>(user, query, variables);

//------------------------------------------------------------------------------
// Arranging content as the superuser (committed; posting limits skipped by bulk_load).


interface PostFields {
  status?: string;
  title?: string;
  body?: string;
  tags?: string[];
}

async function arrangePost(author: TestUser, f: PostFields = {}): Promise<string> {
  return bulkLoad(async (c) => {
    const { rows } = await c.query<{ id: string }>(
      "insert into app_public.posts (author_id, title, body, status, tags) values ($1, $2, $3, $4, $5) returning id",
      [author.id, f.title ?? "An arranged post", f.body ?? "Arranged body", f.status ?? "published", f.tags ?? []],
    );
    return rows[0].id;
  });
}

async function arrangeQuestion(author: TestUser, f: PostFields = {}): Promise<string> {
  return bulkLoad(async (c) => {
    const { rows } = await c.query<{ id: string }>(
      "insert into app_public.questions (author_id, title, body, status, tags) values ($1, $2, $3, $4, $5) returning id",
      [author.id, f.title ?? "An arranged question?", f.body ?? "Arranged body", f.status ?? "published", f.tags ?? []],
    );
    return rows[0].id;
  });
}

async function arrangeAnswer(author: TestUser, questionId: string, body = "An arranged answer"): Promise<string> {
  return bulkLoad(async (c) => {
    const { rows } = await c.query<{ id: string }>(
      "insert into app_public.answers (author_id, question_id, body) values ($1, $2, $3) returning id",
      [author.id, questionId, body],
    );
    return rows[0].id;
  });
}

async function arrangeComment(author: TestUser, target: { postId?: string; parentId?: string }, body = "An arranged comment"): Promise<string> {
  return bulkLoad(async (c) => {
    const { rows } = await c.query<{ id: string }>(
      "insert into app_public.comments (author_id, post_id, parent_id, body) values ($1, $2, $3, $4) returning id",
      [author.id, target.postId ?? null, target.parentId ?? null, body],
    );
    return rows[0].id;
  });
}

/** Moves a comment's creation time into the past (the timestamps trigger would keep it, so triggers are off for this one statement). */
async function backdateComment(id: string, minutes: number): Promise<void> {
  const client = await rootDb().connect();
  try {
    await client.query("begin");
    await client.query("set local session_replication_role = replica");
    await client.query("update app_public.comments set created_at = now() - make_interval(mins => $2) where id = $1", [id, minutes]);
    await client.query("commit");
  } finally {
    client.release();
  }
}

async function row<T = Record<string, unknown>>(text: string, values: unknown[]): Promise<T | undefined> {
  return (await rootDb().query(text, values)).rows[0] as T | undefined;
}

async function count(text: string, values: unknown[]): Promise<number> {
  const { rows } = await rootDb().query<{ n: number }>(`select count(*)::int as n from (${text}) x`, values);
  return rows[0].n;
}

//------------------------------------------------------------------------------
// GraphQL documents, as a client would write them.

const POST_FIELDS = "rowId authorId title body slug status tags publishedAt likeCount dislikeCount";
const CREATE_POST = `mutation($post: PostInput!) { createPost(input: { post: $post }) { post { ${POST_FIELDS} } } }`;
const UPDATE_POST = `mutation($rowId: UUID!, $patch: PostPatch!) {
  updatePostByRowId(input: { rowId: $rowId, postPatch: $patch }) { post { ${POST_FIELDS} } }
}`;
const POST_BY_ID = `query($id: UUID!) { postByRowId(rowId: $id) { ${POST_FIELDS} } }`;
const CREATE_QUESTION = `mutation($question: QuestionInput!) { createQuestion(input: { question: $question }) { question { rowId slug tags status } } }`;
const CREATE_ANSWER = `mutation($answer: AnswerInput!) { createAnswer(input: { answer: $answer }) { answer { rowId questionId body } } }`;
const COMMENT_FIELDS = "rowId postId questionId answerId parentId depth body status authorId";
const CREATE_COMMENT = `mutation($comment: CommentInput!) { createComment(input: { comment: $comment }) { comment { ${COMMENT_FIELDS} } } }`;
const UPDATE_COMMENT = `mutation($rowId: UUID!, $patch: CommentPatch!) {
  updateCommentByRowId(input: { rowId: $rowId, commentPatch: $patch }) { comment { ${COMMENT_FIELDS} } }
}`;
const COMMENT_BY_ID = `query($id: UUID!) { commentByRowId(rowId: $id) { ${COMMENT_FIELDS} } }`;
const ACCEPT_ANSWER = `mutation($answerId: UUID!) { acceptAnswer(input: { answerId: $answerId }) { result { rowId acceptedAnswerId } } }`;
const REACT = `mutation($kind: ReactionKind!, $postId: UUID) { react(input: { kind: $kind, postId: $postId }) { result { rowId kind userId postId } } }`;
const CREATE_CONTRIBUTION = `mutation($c: ContributionInput!) {
  createContribution(input: { contribution: $c }) { contribution { rowId postId contributorId status } }
}`;
const REVIEW = `mutation($id: UUID!, $accept: Boolean!, $reason: String) {
  reviewContribution(input: { contributionId: $id, accept: $accept, reason: $reason }) { result { rowId status reviewerId reviewReason reviewedAt } }
}`;
const FOLLOW = `mutation($followeeId: UUID!) { createFollow(input: { follow: { followeeId: $followeeId } }) { follow { followerId followeeId } } }`;
const UNFOLLOW = `mutation($followerId: UUID!, $followeeId: UUID!) {
  deleteFollowByFollowerIdAndFolloweeId(input: { followerId: $followerId, followeeId: $followeeId }) { follow { followerId followeeId } }
}`;
const FOLLOW_COUNTS = `query($id: UUID!) { userByRowId(rowId: $id) { followerCount followingCount } }`;
const TAG = `query($name: String!) { tagByName(name: $name) { name postCount questionCount } }`;

type PostData = { rowId: string; authorId: string; title: string; body: string; slug: string; status: string; tags: string[]; publishedAt: string | null; likeCount: number; dislikeCount: number };
type CommentData = { rowId: string; postId: string | null; questionId: string | null; answerId: string | null; parentId: string | null; depth: number; body: string; status: string; authorId: string };

async function createPost(user: TestUser, post: Record<string, unknown>): Promise<PostData> {
  return ok(await gql<{ createPost: { post: PostData } }>(user, CREATE_POST, { post: { status: "published", ...post } })).createPost.post;
}

async function createComment(user: TestUser, comment: Record<string, unknown>): Promise<CommentData> {
  return ok(await gql<{ createComment: { comment: CommentData } }>(user, CREATE_COMMENT, { comment })).createComment.comment;
}

const postRow = (id: string) =>
  row<{ title: string; body: string; status: string; author_id: string; like_count: number; dislike_count: number }>(
    "select title, body, status::text, author_id, like_count, dislike_count from app_public.posts where id = $1",
    [id],
  );
const revisionsOf = (column: string, id: string) =>
  rootDb()
    .query<{ title: string | null; body: string; editor_id: string | null }>(
      `select title, body, editor_id from app_public.content_revisions where ${column} = $1 order by created_at, id`,
      [id],
    )
    .then((r) => r.rows);

//==============================================================================

describe("posts: the author edits, moderators edit and hide", () => {
  it("lets only the author change their post (SQL: 0 rows for another user, row unchanged)", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const postId = await arrangePost(alice, { title: "Alice's original", body: "Original body" });
    await asRole(asUser(bob), async (c) => {
      const res = await c.query("update app_public.posts set title = 'Taken over', body = 'pwned' where id = $1", [postId]);
      expect(res.rowCount).toBe(0);
      const seen = await c.query("select title, body from app_public.posts where id = $1", [postId]);
      expect(seen.rows).toEqual([{ title: "Alice's original", body: "Original body" }]);
    });
    await asRole(asUser(alice), async (c) => {
      const res = await c.query("update app_public.posts set title = 'Alice''s edit' where id = $1 returning title", [postId]);
      expect(res.rows).toEqual([{ title: "Alice's edit" }]);
    });
  });

  it("answers another user's edit with NOTFD over HTTP and keeps the post; the author's edit goes through", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const post = await createPost(alice, { title: "Mine to edit", body: "First version" });

    const foreign = await gql(bob, UPDATE_POST, { rowId: post.rowId, patch: { body: "Bob was here" } });
    expect(errorCode(foreign)).toBe("NOTFD");
    const anonymous = await gql(null, UPDATE_POST, { rowId: post.rowId, patch: { body: "Anyone was here" } });
    expect(errorCode(anonymous)).toBe("FORBD");
    expect(await postRow(post.rowId)).toMatchObject({ title: "Mine to edit", body: "First version" });

    const own = ok(await gql<{ updatePostByRowId: { post: PostData } }>(alice, UPDATE_POST, { rowId: post.rowId, patch: { body: "Second version" } }));
    expect(own.updatePostByRowId.post).toMatchObject({ rowId: post.rowId, body: "Second version", authorId: alice.id });
  });

  it("lets a moderator edit and hide a post; then only the author and moderators see it", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    const post = await createPost(alice, { title: "To be moderated", body: "Rude words" });

    const edited = ok(await gql<{ updatePostByRowId: { post: PostData } }>(moderator, UPDATE_POST, { rowId: post.rowId, patch: { body: "Polite words" } }));
    expect(edited.updatePostByRowId.post).toMatchObject({ body: "Polite words", authorId: alice.id });
    const hidden = ok(await gql<{ updatePostByRowId: { post: PostData } }>(moderator, UPDATE_POST, { rowId: post.rowId, patch: { status: "hidden" } }));
    expect(hidden.updatePostByRowId.post.status).toBe("hidden");

    for (const viewer of [bob, null]) {
      const seen = ok(await gql<{ postByRowId: PostData | null }>(viewer, POST_BY_ID, { id: post.rowId }));
      expect(seen.postByRowId).toBeNull();
    }
    for (const viewer of [alice, moderator]) {
      const seen = ok(await gql<{ postByRowId: PostData | null }>(viewer, POST_BY_ID, { id: post.rowId }));
      expect(seen.postByRowId).toMatchObject({ rowId: post.rowId, status: "hidden" });
    }
  });

  it("refuses hiding by a non-moderator with FORBD, even their own post, and when creating one hidden", async () => {
    const alice = await createTestUser();
    const post = await createPost(alice, { title: "Hide me", body: "Please" });
    const res = await gql(alice, UPDATE_POST, { rowId: post.rowId, patch: { status: "hidden" } });
    expect(errorCode(res)).toBe("FORBD");
    expect((await postRow(post.rowId))!.status).toBe("published");

    const created = await gql(alice, CREATE_POST, { post: { title: "Born hidden", body: "x", status: "hidden" } });
    expect(errorCode(created)).toBe("FORBD");
    expect(await count("select 1 from app_public.posts where author_id = $1 and title = 'Born hidden'", [alice.id])).toBe(0);

    // SQL: the same rule, with our own SQLSTATE.
    const code = await sqlErrorCode(asRole(asUser(alice), (c) => c.query("update app_public.posts set status = 'hidden' where id = $1", [post.rowId])));
    expect(code).toBe("FORBD");
  });

  it("does not let the author bring back a hidden post (FORBD); a moderator may", async () => {
    const alice = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    const post = await createPost(alice, { title: "Hidden then restored", body: "Body" });
    ok(await gql(moderator, UPDATE_POST, { rowId: post.rowId, patch: { status: "hidden" } }));

    for (const status of ["published", "draft", "deleted"]) {
      const res = await gql(alice, UPDATE_POST, { rowId: post.rowId, patch: { status } });
      expect({ status, code: errorCode(res) }).toEqual({ status, code: "FORBD" });
    }
    expect((await postRow(post.rowId))!.status).toBe("hidden");

    const restored = ok(await gql<{ updatePostByRowId: { post: PostData } }>(moderator, UPDATE_POST, { rowId: post.rowId, patch: { status: "published" } }));
    expect(restored.updatePostByRowId.post.status).toBe("published");
  });
});

//==============================================================================

describe("comments", () => {
  it("are editable by their author for an hour (then EDITW); a moderator still may edit", async () => {
    const alice = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    const postId = await arrangePost(await createTestUser());
    const comment = await createComment(alice, { postId, body: "First thought" });

    const early = ok(await gql<{ updateCommentByRowId: { comment: CommentData } }>(alice, UPDATE_COMMENT, { rowId: comment.rowId, patch: { body: "Second thought" } }));
    expect(early.updateCommentByRowId.comment.body).toBe("Second thought");

    await backdateComment(comment.rowId, 61);

    const late = await gql(alice, UPDATE_COMMENT, { rowId: comment.rowId, patch: { body: "Third thought" } });
    expect(errorCode(late)).toBe("EDITW");
    const sqlCode = await sqlErrorCode(
      asRole(asUser(alice), (c) => c.query("update app_public.comments set body = 'Third thought' where id = $1", [comment.rowId])),
    );
    expect(sqlCode).toBe("EDITW");
    const kept = ok(await gql<{ commentByRowId: CommentData }>(alice, COMMENT_BY_ID, { id: comment.rowId }));
    expect(kept.commentByRowId).toMatchObject({ body: "Second thought", status: "published", depth: 1 });

    // Deleting is not editing: the author may still take the comment down (SQL, rolled back).
    await asRole(asUser(alice), async (c) => {
      const { rows } = await c.query("update app_public.comments set status = 'deleted' where id = $1 returning body, status::text", [comment.rowId]);
      expect(rows).toEqual([{ body: "", status: "deleted" }]);
    });

    const moderated = ok(await gql<{ updateCommentByRowId: { comment: CommentData } }>(moderator, UPDATE_COMMENT, { rowId: comment.rowId, patch: { body: "[edited by a moderator]" } }));
    expect(moderated.updateCommentByRowId.comment).toMatchObject({ body: "[edited by a moderator]", authorId: alice.id });
  });

  it("nest at most 5 levels: depth 1 to 5 work, the 6th level is DEPTH (SQL and HTTP)", async () => {
    const alice = await createTestUser();
    const postId = await arrangePost(await createTestUser());
    let parent = await createComment(alice, { postId, body: "Level 1" });
    const depths = [parent.depth];
    for (let level = 2; level <= 5; level++) {
      parent = await createComment(alice, { postId, parentId: parent.rowId, body: `Level ${level}` });
      depths.push(parent.depth);
    }
    expect(depths).toEqual([1, 2, 3, 4, 5]);

    const tooDeep = await gql(alice, CREATE_COMMENT, { comment: { postId, parentId: parent.rowId, body: "Level 6" } });
    expect(errorCode(tooDeep)).toBe("DEPTH");
    const code = await sqlErrorCode(
      asRole(asUser(alice), (c) => c.query("insert into app_public.comments (post_id, parent_id, body) values ($1, $2, 'Level 6')", [postId, parent.rowId])),
    );
    expect(code).toBe("DEPTH");
    expect(await count("select 1 from app_public.comments where post_id = $1", [postId])).toBe(5);
  });

  it("a reply given only its parent inherits the parent's target", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const postId = await arrangePost(await createTestUser());
    const top = await createComment(alice, { postId, body: "Top level" });

    // SQL: the reply names only its parent…
    const sql = await asRole(asUser(bob), (c) =>
      c
        .query("insert into app_public.comments (parent_id, body) values ($1, 'A reply') returning post_id, question_id, answer_id, depth", [top.rowId])
        .then((r) => ({ rows: r.rows }), (e: { code?: string }) => ({ code: e.code })),
    );
    expect(sql).toEqual({ rows: [{ post_id: postId, question_id: null, answer_id: null, depth: 2 }] });
    // …and over HTTP.
    const res = await gql<{ createComment: { comment: CommentData } }>(bob, CREATE_COMMENT, { comment: { parentId: top.rowId, body: "A reply" } });
    expect(res.errors).toBeUndefined();
    expect(res.data?.createComment.comment).toMatchObject({ postId, questionId: null, answerId: null, parentId: top.rowId, depth: 2 });
  });

  it("a reply naming a different target than its parent is refused (INVAL)", async () => {
    const alice = await createTestUser();
    const postId = await arrangePost(await createTestUser());
    const otherPostId = await arrangePost(await createTestUser());
    const top = await createComment(alice, { postId, body: "Top level" });
    const res = await gql(alice, CREATE_COMMENT, { comment: { postId: otherPostId, parentId: top.rowId, body: "Cross-thread reply" } });
    expect(errorCode(res)).toBe("INVAL");
    expect(await count("select 1 from app_public.comments where post_id = $1", [otherPostId])).toBe(0);
  });

  it("a comment with two targets is refused (SQL 23514, HTTP INVAL) and nothing is saved", async () => {
    const alice = await createTestUser();
    const postId = await arrangePost(await createTestUser());
    const questionId = await arrangeQuestion(await createTestUser());
    const code = await sqlErrorCode(
      asRole(asUser(alice), (c) => c.query("insert into app_public.comments (post_id, question_id, body) values ($1, $2, 'Both')", [postId, questionId])),
    );
    expect(code).toBe("23514");
    const res = await gql(alice, CREATE_COMMENT, { comment: { postId, questionId, body: "Both" } });
    expect(errorCode(res)).toBe("INVAL");
    expect(await count("select 1 from app_public.comments where author_id = $1", [alice.id])).toBe(0);
  });

  it("soft delete empties the body, keeps the replies, and keeps the old body in the edit history", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const postId = await arrangePost(await createTestUser());
    const parent = await createComment(alice, { postId, body: "Something I regret" });
    const reply = await createComment(bob, { postId, parentId: parent.rowId, body: "A reply worth keeping" });

    const deleted = ok(await gql<{ updateCommentByRowId: { comment: CommentData } }>(alice, UPDATE_COMMENT, { rowId: parent.rowId, patch: { status: "deleted" } }));
    expect(deleted.updateCommentByRowId.comment).toMatchObject({ rowId: parent.rowId, status: "deleted", body: "" });

    // Everyone still sees the thread: the emptied comment and the reply under it.
    for (const viewer of [bob, null]) {
      const seen = ok(await gql<{ commentByRowId: CommentData & { commentsByParentId: { nodes: Array<{ rowId: string; body: string }> } } }>(
        viewer,
        `query($id: UUID!) { commentByRowId(rowId: $id) { rowId status body commentsByParentId { nodes { rowId body } } } }`,
        { id: parent.rowId },
      ));
      expect(seen.commentByRowId).toEqual({
        rowId: parent.rowId,
        status: "deleted",
        body: "",
        commentsByParentId: { nodes: [{ rowId: reply.rowId, body: "A reply worth keeping" }] },
      });
    }
    expect(await revisionsOf("comment_id", parent.rowId)).toEqual([{ title: null, body: "Something I regret", editor_id: alice.id }]);
    // Another user cannot delete someone's comment (SQL: 0 rows).
    await asRole(asUser(bob), async (c) => {
      const res = await c.query("update app_public.comments set status = 'deleted' where id = $1", [reply.rowId]);
      expect(res.rowCount).toBe(1); // bob's own reply: his to delete
      const foreign = await c.query("update app_public.comments set status = 'deleted' where id = $1", [parent.rowId]);
      expect(foreign.rowCount).toBe(0);
    });
  });

  it("comments and answers on a draft or unknown target are NOTFD, and nothing is saved", async () => {
    const alice = await createTestUser();
    const author = await createTestUser();
    const draftPostId = await arrangePost(author, { status: "draft" });
    const draftQuestionId = await arrangeQuestion(author, { status: "draft" });
    const archivedPostId = await arrangePost(author, { status: "archived" });
    const unknown = "00000000-0000-4000-8000-000000000000";

    const attempts: Array<[string, string, Record<string, unknown>]> = [
      ["comment on a draft post", CREATE_COMMENT, { comment: { postId: draftPostId, body: "Hello?" } }],
      ["comment on a draft question", CREATE_COMMENT, { comment: { questionId: draftQuestionId, body: "Hello?" } }],
      ["comment on an archived (read-only) post", CREATE_COMMENT, { comment: { postId: archivedPostId, body: "Hello?" } }],
      ["comment on an unknown post", CREATE_COMMENT, { comment: { postId: unknown, body: "Hello?" } }],
      ["comment on an unknown answer", CREATE_COMMENT, { comment: { answerId: unknown, body: "Hello?" } }],
      ["answer to a draft question", CREATE_ANSWER, { answer: { questionId: draftQuestionId, body: "Answer" } }],
      ["answer to an unknown question", CREATE_ANSWER, { answer: { questionId: unknown, body: "Answer" } }],
    ];
    for (const [what, doc, variables] of attempts) {
      const res = await gql(alice, doc, variables);
      expect({ what, code: errorCode(res) }).toEqual({ what, code: "NOTFD" });
    }
    // Even the draft's own author cannot comment on it yet.
    const own = await sqlErrorCode(
      asRole(asUser(author), (c) => c.query("insert into app_public.comments (post_id, body) values ($1, 'Note to self')", [draftPostId])),
    );
    expect(own).toBe("NOTFD");
    expect(await count("select 1 from app_public.comments where author_id = $1 union all select 1 from app_public.answers where author_id = $1", [alice.id])).toBe(0);
  });
});

//==============================================================================

describe("accepting an answer", () => {
  it("is for the question's author or a moderator (others FORBD); one answer is accepted at a time", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const carol = await createTestUser();
    const dave = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    const questionId = await arrangeQuestion(alice);
    const bobAnswer = await arrangeAnswer(bob, questionId, "Bob's answer");
    const carolAnswer = await arrangeAnswer(carol, questionId, "Carol's answer");
    const accepted = async () => (await row<{ a: string | null }>("select accepted_answer_id as a from app_public.questions where id = $1", [questionId]))!.a;

    for (const [who, user] of [["the answer's author", bob], ["another member", dave]] as const) {
      const res = await gql(user, ACCEPT_ANSWER, { answerId: bobAnswer });
      expect({ who, code: errorCode(res) }).toEqual({ who, code: "FORBD" });
    }
    expect(errorCode(await gql(null, ACCEPT_ANSWER, { answerId: bobAnswer }))).toBe("FORBD");
    expect(await accepted()).toBeNull();

    const first = ok(await gql<{ acceptAnswer: { result: { rowId: string; acceptedAnswerId: string } } }>(alice, ACCEPT_ANSWER, { answerId: bobAnswer }));
    expect(first.acceptAnswer.result).toEqual({ rowId: questionId, acceptedAnswerId: bobAnswer });

    const second = ok(await gql<{ acceptAnswer: { result: { acceptedAnswerId: string } } }>(alice, ACCEPT_ANSWER, { answerId: carolAnswer }));
    expect(second.acceptAnswer.result.acceptedAnswerId).toBe(carolAnswer);
    expect(await accepted()).toBe(carolAnswer); // carol's replaced bob's: one at a time

    const byModerator = ok(await gql<{ acceptAnswer: { result: { acceptedAnswerId: string } } }>(moderator, ACCEPT_ANSWER, { answerId: bobAnswer }));
    expect(byModerator.acceptAnswer.result.acceptedAnswerId).toBe(bobAnswer);
    expect(await accepted()).toBe(bobAnswer);

    expect(errorCode(await gql(alice, ACCEPT_ANSWER, { answerId: "00000000-0000-4000-8000-000000000000" }))).toBe("NOTFD");
  });

  it("gives the same answers at the SQL level", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const questionId = await arrangeQuestion(alice);
    const answerId = await arrangeAnswer(bob, questionId);
    expect(await sqlErrorCode(asRole(asUser(bob), (c) => c.query("select app_public.accept_answer($1)", [answerId])))).toBe("FORBD");
    expect(await sqlErrorCode(asRole({ role: "anonymous" }, (c) => c.query("select app_public.accept_answer($1)", [answerId])))).toBe("42501");
    await asRole(asUser(alice), async (c) => {
      const { rows } = await c.query("select (app_public.accept_answer($1)).accepted_answer_id as a", [answerId]);
      expect(rows).toEqual([{ a: answerId }]);
    });
  });

  it("withdraws the acceptance when the accepted answer is deleted or hidden, and counts only visible answers", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    const questionId = await arrangeQuestion(alice);
    const deleted = await arrangeAnswer(bob, questionId, "To be deleted");
    const hidden = await arrangeAnswer(bob, questionId, "To be hidden");
    await arrangeAnswer(bob, questionId, "Stays");
    const question = async () =>
      (await row<{ a: string | null; n: number }>("select accepted_answer_id as a, answer_count as n from app_public.questions where id = $1", [questionId]))!;
    expect((await question()).n).toBe(3);

    ok(await gql(alice, ACCEPT_ANSWER, { answerId: deleted }));
    ok(await gql(bob, `mutation($id: UUID!) { updateAnswerByRowId(input: { rowId: $id, answerPatch: { status: deleted } }) { answer { rowId } } }`, { id: deleted }));
    expect(await question()).toEqual({ a: null, n: 2 });

    ok(await gql(alice, ACCEPT_ANSWER, { answerId: hidden }));
    ok(await gql(moderator, `mutation($id: UUID!) { updateAnswerByRowId(input: { rowId: $id, answerPatch: { status: hidden } }) { answer { rowId } } }`, { id: hidden }));
    expect(await question()).toEqual({ a: null, n: 1 });
    // A hidden or deleted answer cannot be accepted again.
    expect(errorCode(await gql(alice, ACCEPT_ANSWER, { answerId: hidden }))).toBe("NOTFD");
    expect(errorCode(await gql(alice, ACCEPT_ANSWER, { answerId: deleted }))).toBe("NOTFD");
    // The moderator brings it back: it counts again (but is no longer accepted).
    ok(await gql(moderator, `mutation($id: UUID!) { updateAnswerByRowId(input: { rowId: $id, answerPatch: { status: published } }) { answer { rowId } } }`, { id: hidden }));
    expect(await question()).toEqual({ a: null, n: 2 });
  });
});

describe("open content: nothing is answered, commented, liked or bookmarked where it cannot be seen", () => {
  const BOOKMARK = `mutation($postId: UUID!) { createBookmark(input: { bookmark: { postId: $postId } }) { bookmark { rowId } } }`;

  it("answers NOTFD for a bookmark, reaction or comment on a draft, hidden or deleted post, and saves nothing", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    for (const status of ["draft", "hidden", "deleted"]) {
      const postId = await arrangePost(alice, { status });
      expect({ status, code: errorCode(await gql(bob, BOOKMARK, { postId })) }).toEqual({ status, code: "NOTFD" });
      expect({ status, code: errorCode(await gql(bob, REACT, { kind: "like", postId })) }).toEqual({ status, code: "NOTFD" });
      expect({ status, code: errorCode(await gql(bob, CREATE_COMMENT, { comment: { postId, body: "Hello" } })) }).toEqual({ status, code: "NOTFD" });
    }
    expect(await count("select 1 from app_public.bookmarks where user_id = $1", [bob.id])).toBe(0);
    expect(await count("select 1 from app_public.reactions where user_id = $1", [bob.id])).toBe(0);
    expect(await count("select 1 from app_public.comments where author_id = $1", [bob.id])).toBe(0);
    // A published post works, so the refusals above are about the post.
    ok(await gql(bob, BOOKMARK, { postId: await arrangePost(alice) }));
  });

  it("refuses comments and reactions under a hidden question's published answer, and under a hidden post's published comment", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const questionId = await arrangeQuestion(alice);
    const answerId = await arrangeAnswer(alice, questionId);
    const postId = await arrangePost(alice);
    const commentId = await arrangeComment(alice, { postId });
    await bulkLoad((c) => c.query("update app_public.questions set status = 'hidden' where id = $1", [questionId]));
    await bulkLoad((c) => c.query("update app_public.posts set status = 'hidden' where id = $1", [postId]));
    expect(errorCode(await gql(bob, CREATE_COMMENT, { comment: { answerId, body: "Hello" } }))).toBe("NOTFD");
    expect(errorCode(await gql(bob, CREATE_COMMENT, { comment: { parentId: commentId, body: "Hello" } }))).toBe("NOTFD");
    expect(errorCode(await gql(bob, `mutation($id: UUID!) { react(input: { kind: like, answerId: $id }) { result { rowId } } }`, { id: answerId }))).toBe("NOTFD");
    expect(errorCode(await gql(bob, `mutation($id: UUID!) { react(input: { kind: like, commentId: $id }) { result { rowId } } }`, { id: commentId }))).toBe("NOTFD");
  });

  it("answers anonymous visitors who select personal relations with empty lists, not an error", async () => {
    const alice = await createTestUser();
    const postId = await arrangePost(alice);
    const res = await gql<{ postByRowId: { title: string; bookmarksByPostId: { totalCount: number } }; allBookmarks: { totalCount: number }; feed: { totalCount: number }; allCategoryFollows: { totalCount: number }; allContributions: { totalCount: number } }>(
      null,
      `query($id: UUID!) {
         postByRowId(rowId: $id) { title bookmarksByPostId { totalCount } }
         allBookmarks { totalCount }
         feed: allPosts(condition: { inMyFeed: true }) { totalCount }
         allCategoryFollows { totalCount }
         allContributions { totalCount }
       }`,
      { id: postId },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      postByRowId: { title: "An arranged post", bookmarksByPostId: { totalCount: 0 } },
      allBookmarks: { totalCount: 0 },
      feed: { totalCount: 0 },
      allCategoryFollows: { totalCount: 0 },
      allContributions: { totalCount: 0 },
    });
  });
});

//==============================================================================

describe("posting limits", () => {
  it("allows 10 posts and questions an hour; the 11th is RLIMT with retryAfterSeconds, and nothing is added", async () => {
    const alice = await createTestUser();
    for (let i = 1; i <= 6; i++) await createPost(alice, { title: `Post number ${i}`, body: "Body" });
    for (let i = 1; i <= 4; i++) ok(await gql(alice, CREATE_QUESTION, { question: { title: `Question number ${i}?`, body: "Body" } }));

    const post = await gql(alice, CREATE_POST, { post: { title: "Post number 11", body: "Body", status: "published" } });
    expect(errorCode(post)).toBe("RLIMT");
    const retry = post.errors![0].extensions!.retryAfterSeconds as number;
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(3600);
    const question = await gql(alice, CREATE_QUESTION, { question: { title: "Question number 11?", body: "Body" } });
    expect(errorCode(question)).toBe("RLIMT");
    const draft = await gql(alice, CREATE_POST, { post: { title: "A draft is a post too", body: "Body", status: "draft" } });
    expect(errorCode(draft)).toBe("RLIMT");

    expect(await count("select 1 from app_public.posts where author_id = $1", [alice.id])).toBe(6);
    expect(await count("select 1 from app_public.questions where author_id = $1", [alice.id])).toBe(4);

    // The limit is per author: someone else posts as usual.
    const bob = await createTestUser();
    expect((await createPost(bob, { title: "Bob is not limited", body: "Body" })).authorId).toBe(bob.id);
  });

  it("allows 20 answers and comments an hour; the 21st is RLIMT, and nothing is added", async () => {
    const alice = await createTestUser();
    const author = await createTestUser();
    const postId = await arrangePost(author);
    const questionId = await arrangeQuestion(author);
    for (let i = 1; i <= 10; i++) await createComment(alice, { postId, body: `Comment ${i}` });
    for (let i = 1; i <= 10; i++) ok(await gql(alice, CREATE_ANSWER, { answer: { questionId, body: `Answer ${i}` } }));

    const comment = await gql(alice, CREATE_COMMENT, { comment: { postId, body: "Comment 21" } });
    expect(errorCode(comment)).toBe("RLIMT");
    expect(comment.errors![0].extensions!.retryAfterSeconds).toEqual(expect.any(Number));
    const answer = await gql(alice, CREATE_ANSWER, { answer: { questionId, body: "Answer 21" } });
    expect(errorCode(answer)).toBe("RLIMT");
    expect(await count("select 1 from app_public.comments where author_id = $1", [alice.id])).toBe(10);
    expect(await count("select 1 from app_public.answers where author_id = $1", [alice.id])).toBe(10);
    // Posts are a separate bucket.
    expect((await createPost(alice, { title: "Still allowed to post", body: "Body" })).authorId).toBe(alice.id);
  });

  it("lets a bulk load outside requests skip the limits, but not a request that sets agora.bulk_load", async () => {
    const alice = await createTestUser();
    await bulkLoad(async (c) => {
      for (let i = 0; i < 15; i++) {
        await c.query("insert into app_public.posts (author_id, title, body, status) values ($1, $2, 'Imported', 'published')", [alice.id, `Imported ${i}`]);
      }
    });
    expect(await count("select 1 from app_public.posts where author_id = $1", [alice.id])).toBe(15);

    const bob = await createTestUser();
    await asRole(asUser(bob), async (c) => {
      await c.query("set local agora.bulk_load = 'on'");
      for (let i = 1; i <= 10; i++) await c.query("insert into app_public.posts (title, body) values ($1, 'Body')", [`Sneaky ${i}`]);
      const code = await sqlErrorCode(inSavepoint(c, () => c.query("insert into app_public.posts (title, body) values ('Sneaky 11', 'Body')")));
      expect(code).toBe("RLIMT");
    });
  });
});

//==============================================================================

describe("banned words", () => {
  async function withBannedWord(fn: (word: string) => Promise<void>): Promise<void> {
    const word = `zq${uniqueName("").replace(/[^a-z0-9]/gi, "").toLowerCase()}`;
    await rootDb().query("insert into app_private.banned_words (word) values ($1)", [word]);
    try {
      await fn(word);
    } finally {
      await rootDb().query("delete from app_private.banned_words where word = $1", [word]);
    }
  }

  it("refuses a post containing a banned word (any case, whole word) with BANND naming it; nothing is saved", async () => {
    await withBannedWord(async (word) => {
      const alice = await createTestUser();
      const attempts = [
        { title: "Innocent title", body: `This is ${word.toUpperCase()} in capitals.` },
        { title: `A ${word} title`, body: "Innocent body" },
        { title: "Mixed case", body: `(${word[0].toUpperCase()}${word.slice(1)})` },
      ];
      for (const post of attempts) {
        const res = await gql(alice, CREATE_POST, { post: { ...post, status: "published" } });
        expect({ post, code: errorCode(res) }).toEqual({ post, code: "BANND" });
        expect(res.errors![0].message).toContain(word);
      }
      expect(await count("select 1 from app_public.posts where author_id = $1", [alice.id])).toBe(0);

      // A word that merely contains it is fine.
      const fine = await createPost(alice, { title: "Longer words pass", body: `pre${word} and ${word}ish and ${word}_x` });
      expect(fine.body).toContain(`${word}ish`);
    });
  });

  it("matches any case beyond ASCII too (a banned word with an accent, written in capitals)", async () => {
    const word = `zé${uniqueName("").replace(/[^a-z0-9]/gi, "").toLowerCase()}`;
    await rootDb().query("insert into app_private.banned_words (word) values ($1)", [word]);
    try {
      const alice = await createTestUser();
      const lower = await gql(alice, CREATE_POST, { post: { title: "Accented", body: `Quel ${word} !`, status: "published" } });
      expect(errorCode(lower)).toBe("BANND");
      const upper = await gql(alice, CREATE_POST, { post: { title: "Accented", body: `Quel ${word.toUpperCase()} !`, status: "published" } });
      expect({ body: `Quel ${word.toUpperCase()} !`, code: errorCode(upper) }).toEqual({ body: `Quel ${word.toUpperCase()} !`, code: "BANND" });
      expect(await count("select 1 from app_public.posts where author_id = $1", [alice.id])).toBe(0);
    } finally {
      await rootDb().query("delete from app_private.banned_words where word = $1", [word]);
    }
  });

  it("refuses edits, comments and suggested edits that bring one in, and changes nothing", async () => {
    await withBannedWord(async (word) => {
      const alice = await createTestUser();
      const bob = await createTestUser();
      const post = await createPost(alice, { title: "Clean post", body: "Clean body" });

      const edit = await gql(alice, UPDATE_POST, { rowId: post.rowId, patch: { body: `Now with ${word}` } });
      expect(errorCode(edit)).toBe("BANND");
      expect((await postRow(post.rowId))!.body).toBe("Clean body");

      const comment = await gql(bob, CREATE_COMMENT, { comment: { postId: post.rowId, body: `${word}!` } });
      expect(errorCode(comment)).toBe("BANND");
      const suggestion = await gql(bob, CREATE_CONTRIBUTION, { c: { postId: post.rowId, body: `Better: ${word}` } });
      expect(errorCode(suggestion)).toBe("BANND");
      expect(await count("select 1 from app_public.comments where author_id = $1 union all select 1 from app_public.contributions where contributor_id = $1", [bob.id])).toBe(0);
    });
  });
});

//==============================================================================

describe("edit history", () => {
  it("records the previous version whenever a post's title or body changes, with the editor", async () => {
    const alice = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    const post = await createPost(alice, { title: "Version one", body: "Body one" });
    ok(await gql(alice, UPDATE_POST, { rowId: post.rowId, patch: { body: "Body two" } }));
    ok(await gql(alice, UPDATE_POST, { rowId: post.rowId, patch: { tags: ["history"] } })); // no text change: no revision
    ok(await gql(moderator, UPDATE_POST, { rowId: post.rowId, patch: { title: "Version three", body: "Body three" } }));

    expect(await revisionsOf("post_id", post.rowId)).toEqual([
      { title: "Version one", body: "Body one", editor_id: alice.id },
      { title: "Version one", body: "Body two", editor_id: moderator.id },
    ]);
    const res = ok(await gql<{ postByRowId: { body: string; contentRevisionsByPostId: { nodes: Array<{ body: string; editorId: string }> } } }>(
      await createTestUser(),
      `query($id: UUID!) { postByRowId(rowId: $id) { body contentRevisionsByPostId(orderBy: CREATED_AT_ASC) { nodes { body editorId } } } }`,
      { id: post.rowId },
    ));
    expect(res.postByRowId).toEqual({
      body: "Body three",
      contentRevisionsByPostId: { nodes: [{ body: "Body one", editorId: alice.id }, { body: "Body two", editorId: moderator.id }] },
    });
  });
});

//==============================================================================

describe("suggested edits (contributions)", () => {
  it("are made to someone else's post (one's own is refused); reviewing needs a reviewer (FORBD); accepting applies the edit with history", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const reviewer = await createTestUser({ roles: ["reviewer"] });
    const post = await createPost(alice, { title: "Needs work", body: "Teh original body" });

    const own = await gql(alice, CREATE_CONTRIBUTION, { c: { postId: post.rowId, body: "Self-suggestion" } });
    expect(errorCode(own)).toBe("FORBD");
    expect(await sqlErrorCode(
      asRole(asUser(alice), (c) => c.query("insert into app_public.contributions (post_id, body) values ($1, 'Self')", [post.rowId])),
    )).toBe("42501");
    expect(await count("select 1 from app_public.contributions where post_id = $1", [post.rowId])).toBe(0);

    const created = ok(await gql<{ createContribution: { contribution: { rowId: string; contributorId: string; status: string } } }>(
      bob, CREATE_CONTRIBUTION, { c: { postId: post.rowId, body: "The corrected body", message: "Fixed a typo" } }));
    const contribution = created.createContribution.contribution;
    expect(contribution).toMatchObject({ contributorId: bob.id, status: "pending" });

    for (const [who, user] of [["the contributor", bob], ["the post's author", alice]] as const) {
      const res = await gql(user, REVIEW, { id: contribution.rowId, accept: true });
      expect({ who, code: errorCode(res) }).toEqual({ who, code: "FORBD" });
    }
    expect(errorCode(await gql(null, REVIEW, { id: contribution.rowId, accept: true }))).toBe("FORBD");
    expect((await postRow(post.rowId))!.body).toBe("Teh original body");

    const accepted = ok(await gql<{ reviewContribution: { result: { status: string; reviewerId: string; reviewedAt: string | null } } }>(
      reviewer, REVIEW, { id: contribution.rowId, accept: true }));
    expect(accepted.reviewContribution.result).toMatchObject({ status: "accepted", reviewerId: reviewer.id, reviewedAt: expect.any(String) });
    expect(await postRow(post.rowId)).toMatchObject({ title: "Needs work", body: "The corrected body", author_id: alice.id });
    expect(await revisionsOf("post_id", post.rowId)).toEqual([{ title: "Needs work", body: "Teh original body", editor_id: reviewer.id }]);

    const again = await gql(reviewer, REVIEW, { id: contribution.rowId, accept: false, reason: "Changed my mind" });
    expect(errorCode(again)).toBe("INVAL");
    expect(await row("select status::text from app_public.contributions where id = $1", [contribution.rowId])).toEqual({ status: "accepted" });
  });

  it("are rejected only with a reason (INVAL without), which leaves the post as it was; a second review is INVAL", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    const post = await createPost(alice, { title: "Fine as it is", body: "Original" });
    const { createContribution } = ok(await gql<{ createContribution: { contribution: { rowId: string } } }>(
      bob, CREATE_CONTRIBUTION, { c: { postId: post.rowId, title: "Worse title", body: "Worse body" } }));
    const id = createContribution.contribution.rowId;

    for (const reason of [null, "", "   "]) {
      const res = await gql(moderator, REVIEW, { id, accept: false, reason });
      expect({ reason, code: errorCode(res) }).toEqual({ reason, code: "INVAL" });
    }
    const rejected = ok(await gql<{ reviewContribution: { result: { status: string; reviewReason: string; reviewerId: string } } }>(
      moderator, REVIEW, { id, accept: false, reason: "The original reads better" }));
    expect(rejected.reviewContribution.result).toMatchObject({ status: "rejected", reviewReason: "The original reads better", reviewerId: moderator.id });
    expect(await postRow(post.rowId)).toMatchObject({ title: "Fine as it is", body: "Original" });
    expect(await revisionsOf("post_id", post.rowId)).toEqual([]);

    const twice = await gql(moderator, REVIEW, { id, accept: true });
    expect(errorCode(twice)).toBe("INVAL");
    expect(await postRow(post.rowId)).toMatchObject({ body: "Original" });
  });
});

//==============================================================================

describe("reactions through react()", () => {
  it("like, like again removes it; like then dislike switches; the counters follow", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const carol = await createTestUser();
    const postId = await arrangePost(alice);
    type R = { react: { result: { kind: string; userId: string; postId: string } | null } };
    const counts = async () => {
      const p = (await postRow(postId))!;
      return { like: p.like_count, dislike: p.dislike_count };
    };
    const reactionsOf = (user: TestUser) =>
      rootDb().query("select kind::text from app_public.reactions where user_id = $1 and post_id = $2", [user.id, postId]).then((r) => r.rows);

    const liked = ok(await gql<R>(bob, REACT, { kind: "like", postId }));
    expect(liked.react.result).toMatchObject({ kind: "like", userId: bob.id, postId });
    expect(await counts()).toEqual({ like: 1, dislike: 0 });

    const removed = ok(await gql<R>(bob, REACT, { kind: "like", postId }));
    expect(removed.react.result).toBeNull();
    expect(await reactionsOf(bob)).toEqual([]);
    expect(await counts()).toEqual({ like: 0, dislike: 0 });

    ok(await gql<R>(bob, REACT, { kind: "like", postId }));
    ok(await gql<R>(carol, REACT, { kind: "like", postId }));
    expect(await counts()).toEqual({ like: 2, dislike: 0 });
    const switched = ok(await gql<R>(bob, REACT, { kind: "dislike", postId }));
    expect(switched.react.result).toMatchObject({ kind: "dislike", userId: bob.id });
    expect(await reactionsOf(bob)).toEqual([{ kind: "dislike" }]);
    expect(await counts()).toEqual({ like: 1, dislike: 1 });

    const seen = ok(await gql<{ postByRowId: PostData }>(null, POST_BY_ID, { id: postId }));
    expect(seen.postByRowId).toMatchObject({ likeCount: 1, dislikeCount: 1 });
  });

  it.each(["post", "question", "answer", "comment"])("works the same way when the target is a %s, with its counters (SQL)", async (kind) => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const questionId = await arrangeQuestion(alice);
    const target = {
      post: () => arrangePost(alice),
      question: async () => questionId,
      answer: () => arrangeAnswer(alice, questionId),
      comment: async () => arrangeComment(alice, { postId: await arrangePost(alice) }),
    }[kind]!;
    const id = await target();
    const table = `${kind}s`;
    await asRole(asUser(bob), async (c) => {
      const react = async (reaction: string) => {
        const r = await c.query(`select r.kind::text as kind from app_public.react($1::app_public.reaction_kind, ${kind}_id => $2::uuid) r`, [reaction, id]);
        const n = await c.query(`select like_count, dislike_count from app_public.${table} where id = $1`, [id]);
        return { result: r.rows[0].kind as string | null, ...n.rows[0] };
      };
      expect(await react("like")).toEqual({ result: "like", like_count: 1, dislike_count: 0 });
      expect(await react("dislike")).toEqual({ result: "dislike", like_count: 0, dislike_count: 1 });
      expect(await react("dislike")).toEqual({ result: null, like_count: 0, dislike_count: 0 });
    });
  });

  it("refuses a draft or unknown target with NOTFD, and anonymous callers (LOGIN / FORBD)", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const draftId = await arrangePost(alice, { status: "draft" });
    const publishedId = await arrangePost(alice);

    expect(errorCode(await gql(bob, REACT, { kind: "like", postId: draftId }))).toBe("NOTFD");
    expect(errorCode(await gql(alice, REACT, { kind: "like", postId: draftId }))).toBe("NOTFD"); // not even by its author
    expect(errorCode(await gql(bob, REACT, { kind: "like", postId: "00000000-0000-4000-8000-000000000000" }))).toBe("NOTFD");
    expect(errorCode(await gql(null, REACT, { kind: "like", postId: publishedId }))).toBe("FORBD");

    // SQL: anonymous may not call it; the authenticated role without a live session is told to sign in.
    expect(await sqlErrorCode(asRole({ role: "anonymous" }, (c) => c.query("select app_public.react('like', $1)", [publishedId])))).toBe("42501");
    expect(await sqlErrorCode(asRole({ role: "authenticated" }, (c) => c.query("select app_public.react('like', $1)", [publishedId])))).toBe("LOGIN");
    expect(await count("select 1 from app_public.reactions where post_id = any($1)", [[draftId, publishedId]])).toBe(0);
    expect(await postRow(draftId)).toMatchObject({ like_count: 0 });
  });
});

//==============================================================================

describe("follows", () => {
  it("refuses following oneself (INVAL; SQL 23514)", async () => {
    const alice = await createTestUser();
    expect(errorCode(await gql(alice, FOLLOW, { followeeId: alice.id }))).toBe("INVAL");
    expect(await sqlErrorCode(asRole(asUser(alice), (c) => c.query("insert into app_public.follows (followee_id) values ($1)", [alice.id])))).toBe("23514");
    expect(await row("select follower_count, following_count from app_public.users where id = $1", [alice.id])).toEqual({ follower_count: 0, following_count: 0 });
  });

  it("keeps follower_count and following_count in step with follows and unfollows", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const carol = await createTestUser();
    const countsOf = async (user: TestUser) =>
      ok(await gql<{ userByRowId: { followerCount: number; followingCount: number } }>(null, FOLLOW_COUNTS, { id: user.id })).userByRowId;

    ok(await gql(bob, FOLLOW, { followeeId: alice.id }));
    ok(await gql(carol, FOLLOW, { followeeId: alice.id }));
    ok(await gql(bob, FOLLOW, { followeeId: carol.id }));
    expect(await countsOf(alice)).toEqual({ followerCount: 2, followingCount: 0 });
    expect(await countsOf(bob)).toEqual({ followerCount: 0, followingCount: 2 });
    expect(await countsOf(carol)).toEqual({ followerCount: 1, followingCount: 1 });

    expect(errorCode(await gql(bob, FOLLOW, { followeeId: alice.id }))).toBe("NUNIQ"); // once is enough
    // Alice cannot undo bob's follow; bob can.
    expect(errorCode(await gql(alice, UNFOLLOW, { followerId: bob.id, followeeId: alice.id }))).toBe("NOTFD");
    ok(await gql(bob, UNFOLLOW, { followerId: bob.id, followeeId: alice.id }));
    expect(await countsOf(alice)).toEqual({ followerCount: 1, followingCount: 0 });
    expect(await countsOf(bob)).toEqual({ followerCount: 0, followingCount: 1 });
  });
});

//==============================================================================

describe("slugs", () => {
  it("are made from the title, unique even for the same title, and kept when the title changes", async () => {
    const alice = await createTestUser();
    const a = await createPost(alice, { title: "Hello, World!  Ünïcode & more", body: "One" });
    const b = await createPost(alice, { title: "Hello, World!  Ünïcode & more", body: "Two" });
    for (const slug of [a.slug, b.slug]) expect(slug).toMatch(/^hello-world-n-code-more-[0-9a-f]{8}$/);
    expect(a.slug).not.toBe(b.slug);

    const renamed = ok(await gql<{ updatePostByRowId: { post: PostData } }>(alice, UPDATE_POST, { rowId: a.rowId, patch: { title: "Something else" } }));
    expect(renamed.updatePostByRowId.post.slug).toBe(a.slug);
    const found = ok(await gql<{ postBySlug: { rowId: string } }>(null, `query($slug: String!) { postBySlug(slug: $slug) { rowId } }`, { slug: b.slug }));
    expect(found.postBySlug.rowId).toBe(b.rowId);

    const q = ok(await gql<{ createQuestion: { question: { slug: string } } }>(alice, CREATE_QUESTION, { question: { title: "How do I?", body: "Body" } }));
    expect(q.createQuestion.question.slug).toMatch(/^how-do-i-[0-9a-f]{8}$/);
    // Clients cannot choose one.
    expect(await sqlErrorCode(asRole(asUser(alice), (c) => c.query("insert into app_public.posts (title, body, slug) values ('Mine', 'x', 'my-slug')")))).toBe("42501");
  });
});

//==============================================================================

describe("tags", () => {
  const unique = () => `t-${uniqueName("").replace(/[^a-z0-9]/gi, "").toLowerCase()}`;

  it("are normalised: trimmed, lower-case, de-duplicated; more than 5 is INVAL and saves nothing", async () => {
    const alice = await createTestUser();
    const t = unique();
    const post = await createPost(alice, { title: "Tagged", body: "Body", tags: [` ${t.toUpperCase()} `, t, "PostgreSQL", "postgresql", "  "] });
    expect([...post.tags].sort()).toEqual(["postgresql", t].sort());

    const six = ["a1", "b2", "c3", "d4", "e5", "f6"];
    const res = await gql(alice, CREATE_POST, { post: { title: "Too many tags", body: "Body", status: "published", tags: six } });
    expect(errorCode(res)).toBe("INVAL");
    expect(await count("select 1 from app_public.posts where author_id = $1 and title = 'Too many tags'", [alice.id])).toBe(0);
    // Six that are five once de-duplicated are fine.
    const five = await createPost(alice, { title: "Five tags", body: "Body", tags: ["a1", "B2", "c3", "d4", "e5", "A1"] });
    expect([...five.tags].sort()).toEqual(["a1", "b2", "c3", "d4", "e5"]);
  });

  it("app_public.tags counts the published posts and questions carrying each tag", async () => {
    const alice = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    const t = unique();
    const tag = async () => ok(await gql<{ tagByName: { name: string; postCount: number; questionCount: number } | null }>(null, TAG, { name: t })).tagByName;

    const draft = await createPost(alice, { title: "Draft with tag", body: "Body", tags: [t], status: "draft" });
    expect((await tag())?.postCount ?? 0).toBe(0);

    const one = await createPost(alice, { title: "Published with tag", body: "Body", tags: [t.toUpperCase()] });
    expect(await tag()).toEqual({ name: t, postCount: 1, questionCount: 0 });

    ok(await gql(alice, UPDATE_POST, { rowId: draft.rowId, patch: { status: "published" } }));
    ok(await gql(alice, CREATE_QUESTION, { question: { title: "Question with tag?", body: "Body", tags: [t] } }));
    expect(await tag()).toEqual({ name: t, postCount: 2, questionCount: 1 });

    ok(await gql(alice, UPDATE_POST, { rowId: one.rowId, patch: { tags: [] } }));
    expect(await tag()).toEqual({ name: t, postCount: 1, questionCount: 1 });
    ok(await gql(moderator, UPDATE_POST, { rowId: draft.rowId, patch: { status: "hidden" } }));
    expect(await tag()).toMatchObject({ postCount: 0, questionCount: 1 });
  });
});

/**
 * Counters stay exact under concurrency: many members reacting, commenting,
 * replying, answering and bookmarking at the same moment through the real
 * HTTP API. Every counter is compared with count(*) of the rows it counts.
 */
import { closeSqlHelpers, rootDb, bulkLoad } from "../helpers/sql";
import { startTestServer, type GraphQLResponse, type TestServer } from "../helpers/server";
import { errorCode } from "../helpers/auth";
import { createTestUser, type TestUser } from "../helpers/users";

let server: TestServer;
let author: TestUser;
let crowd: TestUser[];
const CROWD_SIZE = 24;

beforeAll(async () => {
  server = await startTestServer();
  author = await createTestUser();
  crowd = [];
  for (let i = 0; i < CROWD_SIZE; i += 4) {
    crowd.push(...(await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser()])));
  }
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});



const newPost = () =>
  bulkLoad(async (c) =>
    (await c.query<{ id: string }>(
      "insert into app_public.posts (author_id, title, body, status) values ($1, 'Counted post', 'Body.', 'published') returning id",
      [author.id],
    )).rows[0].id,
  );
const newQuestion = () =>
  bulkLoad(async (c) =>
    (await c.query<{ id: string }>(
      "insert into app_public.questions (author_id, title, body, status) values ($1, 'Counted question?', 'Body.', 'published') returning id",
      [author.id],
    )).rows[0].id,
  );

function expectNoErrors(responses: GraphQLResponse[]): void {
  const errors = responses.flatMap((r) => r.errors ?? []);
  expect(errors).toEqual([]);
}

const REACT = `mutation($kind: ReactionKind!, $postId: UUID, $questionId: UUID, $answerId: UUID, $commentId: UUID) {
  react(input: { kind: $kind, postId: $postId, questionId: $questionId, answerId: $answerId, commentId: $commentId }) { result { rowId kind } }
}`;
type Target = { postId: string } | { questionId: string } | { answerId: string } | { commentId: string };
const react = (user: TestUser, kind: "like" | "dislike", target: Target) => server.graphql(REACT, { kind, ...target }, { token: server.tokenFor(user) });

const CREATE_COMMENT = `mutation($c: CommentInput!) { createComment(input: { comment: $c }) { comment { rowId depth } } }`;
async function comment(user: TestUser, input: Record<string, string>): Promise<GraphQLResponse<{ createComment: { comment: { rowId: string } } }>> {
  return server.graphql(CREATE_COMMENT, { c: { body: "A comment.", ...input } }, { token: server.tokenFor(user) });
}

/** Counters of a content row next to count(*) of what they count. */
async function reactionCounts(table: "posts" | "questions" | "answers" | "comments", id: string) {
  const column = { posts: "post_id", questions: "question_id", answers: "answer_id", comments: "comment_id" }[table];
  const { rows } = await rootDb().query<{ like_count: number; dislike_count: number; likes: number; dislikes: number }>(
    `select t.like_count, t.dislike_count,
            (select count(*) from app_public.reactions r where r.${column} = t.id and r.kind = 'like')::int as likes,
            (select count(*) from app_public.reactions r where r.${column} = t.id and r.kind = 'dislike')::int as dislikes
       from app_public.${table} t where t.id = $1`,
    [id],
  );
  return rows[0];
}

async function postCounts(postId: string) {
  const { rows } = await rootDb().query<{ comment_count: number; comments: number; bookmark_count: number; bookmarks: number }>(
    `select p.comment_count,
            (select count(*) from app_public.comments c where c.post_id = p.id and c.status <> 'deleted')::int as comments,
            p.bookmark_count,
            (select count(*) from app_public.bookmarks b where b.post_id = p.id)::int as bookmarks
       from app_public.posts p where p.id = $1`,
    [postId],
  );
  return rows[0];
}

async function replyCounts(commentId: string) {
  const { rows } = await rootDb().query<{ reply_count: number; replies: number }>(
    `select c.reply_count,
            (select count(*) from app_public.comments r where r.parent_id = c.id and r.status <> 'deleted')::int as replies
       from app_public.comments c where c.id = $1`,
    [commentId],
  );
  return rows[0];
}

async function questionCounts(questionId: string) {
  const { rows } = await rootDb().query<{ answer_count: number; answers: number; bookmark_count: number; bookmarks: number; comment_count: number; comments: number }>(
    `select q.answer_count,
            (select count(*) from app_public.answers a where a.question_id = q.id and a.status <> 'deleted')::int as answers,
            q.bookmark_count,
            (select count(*) from app_public.bookmarks b where b.question_id = q.id)::int as bookmarks,
            q.comment_count,
            (select count(*) from app_public.comments c where c.question_id = q.id and c.status <> 'deleted')::int as comments
       from app_public.questions q where q.id = $1`,
    [questionId],
  );
  return rows[0];
}

describe("reactions", () => {
  it(`counts ${CROWD_SIZE} members liking the same post at the same moment`, async () => {
    const postId = await newPost();
    const responses = await Promise.all(crowd.map((user) => react(user, "like", { postId })));
    expectNoErrors(responses);
    expect(await reactionCounts("posts", postId)).toEqual({ like_count: CROWD_SIZE, dislike_count: 0, likes: CROWD_SIZE, dislikes: 0 });
    const api = await server.graphql<{ postByRowId: { likeCount: number; dislikeCount: number } }>(
      `query($id: UUID!) { postByRowId(rowId: $id) { likeCount dislikeCount } }`,
      { id: postId },
    );
    expect(api.data?.postByRowId).toEqual({ likeCount: CROWD_SIZE, dislikeCount: 0 });
  });

  it("returns to zero when every member likes and then unlikes, all at once", async () => {
    const postId = await newPost();
    const responses = await Promise.all(
      crowd.map(async (user) => {
        const liked = await react(user, "like", { postId });
        const unliked = await react(user, "like", { postId });
        return [liked, unliked];
      }),
    );
    expectNoErrors(responses.flat());
    for (const [liked, unliked] of responses) {
      expect((liked.data as { react: { result: { kind: string } | null } }).react.result?.kind).toBe("like");
      expect((unliked.data as { react: { result: unknown } }).react.result).toBeNull();
    }
    expect(await reactionCounts("posts", postId)).toEqual({ like_count: 0, dislike_count: 0, likes: 0, dislikes: 0 });
  });

  it("keeps likes and dislikes exact when members switch sides concurrently", async () => {
    const postId = await newPost();
    const half = CROWD_SIZE / 2;
    expectNoErrors(await Promise.all(crowd.map((user, i) => react(user, i < half ? "like" : "dislike", { postId }))));
    expect(await reactionCounts("posts", postId)).toEqual({ like_count: half, dislike_count: half, likes: half, dislikes: half });
    // Everyone switches; a quarter of them then take their reaction back.
    expectNoErrors(
      await Promise.all(
        crowd.map(async (user, i) => {
          const kind = i < half ? "dislike" : "like";
          const switched = await react(user, kind, { postId });
          return i % 4 === 0 ? [switched, await react(user, kind, { postId })] : [switched];
        }),
      ).then((r) => r.flat()),
    );
    const counts = await reactionCounts("posts", postId);
    expect(counts.like_count).toBe(counts.likes);
    expect(counts.dislike_count).toBe(counts.dislikes);
    expect(counts.likes + counts.dislikes).toBe(CROWD_SIZE - CROWD_SIZE / 4);
  });

  it("counts concurrent reactions on a question, an answer and a comment", async () => {
    const questionId = await newQuestion();
    const postId = await newPost();
    const { answerId, commentId } = await bulkLoad(async (c) => ({
      answerId: (await c.query<{ id: string }>(
        "insert into app_public.answers (question_id, author_id, body) values ($1, $2, 'An answer.') returning id",
        [questionId, author.id],
      )).rows[0].id,
      commentId: (await c.query<{ id: string }>(
        "insert into app_public.comments (post_id, author_id, body) values ($1, $2, 'A comment.') returning id",
        [postId, author.id],
      )).rows[0].id,
    }));
    const responses = await Promise.all(
      crowd.flatMap((user, i) => {
        const kind = i % 3 === 0 ? "dislike" : "like";
        return [react(user, kind, { questionId }), react(user, kind, { answerId }), react(user, kind, { commentId })];
      }),
    );
    expectNoErrors(responses);
    const dislikes = crowd.filter((_, i) => i % 3 === 0).length;
    const expected = { like_count: CROWD_SIZE - dislikes, dislike_count: dislikes, likes: CROWD_SIZE - dislikes, dislikes };
    expect(await reactionCounts("questions", questionId)).toEqual(expected);
    expect(await reactionCounts("answers", answerId)).toEqual(expected);
    expect(await reactionCounts("comments", commentId)).toEqual(expected);
  });

  it("keeps the counter equal to the rows when one member double-clicks like", async () => {
    const postId = await newPost();
    const [user] = crowd;
    const responses = await Promise.all([react(user, "like", { postId }), react(user, "like", { postId })]);
    // Either both ran in turn (like, then unlike) or one was told to retry; never two likes.
    for (const res of responses) {
      if (res.errors) expect(errorCode(res)).toBe("RETRY");
    }
    const counts = await reactionCounts("posts", postId);
    expect(counts.like_count).toBe(counts.likes);
    expect(counts.likes).toBeLessThanOrEqual(1);
  });
});

describe("comments and replies", () => {
  it(`counts ${CROWD_SIZE} members commenting on the same post at the same moment`, async () => {
    const postId = await newPost();
    const responses = await Promise.all(crowd.map((user) => comment(user, { postId })));
    expectNoErrors(responses);
    expect(await postCounts(postId)).toMatchObject({ comment_count: CROWD_SIZE, comments: CROWD_SIZE });
    const api = await server.graphql<{ postByRowId: { commentCount: number } }>(
      `query($id: UUID!) { postByRowId(rowId: $id) { commentCount } }`,
      { id: postId },
    );
    expect(api.data?.postByRowId.commentCount).toBe(CROWD_SIZE);
  });

  it("counts concurrent replies on their parent and on the post, and follows deletes", async () => {
    const postId = await newPost();
    const root = (await comment(author, { postId })).data!.createComment.comment.rowId;
    const repliers = crowd.slice(0, 12);
    const replies = await Promise.all(repliers.map((user) => comment(user, { postId, parentId: root })));
    expectNoErrors(replies);
    const replyIds = replies.map((r) => r.data!.createComment.comment.rowId);
    expect(await replyCounts(root)).toEqual({ reply_count: 12, replies: 12 });
    expect(await postCounts(postId)).toMatchObject({ comment_count: 13, comments: 13 });

    // A reply to a reply counts on its own parent only (and on the post).
    const nested = await comment(crowd[12], { postId, parentId: replyIds[0] });
    expect(nested.errors).toBeUndefined();
    expect(await replyCounts(replyIds[0])).toEqual({ reply_count: 1, replies: 1 });
    expect(await replyCounts(root)).toEqual({ reply_count: 12, replies: 12 });
    expect(await postCounts(postId)).toMatchObject({ comment_count: 14, comments: 14 });

    // Their authors soft-delete three replies at once.
    const deleted = await Promise.all(
      [1, 2, 3].map((i) =>
        server.graphql(
          `mutation($id: UUID!) { updateCommentByRowId(input: { rowId: $id, commentPatch: { status: deleted } }) { comment { status body } } }`,
          { id: replyIds[i] },
          { token: server.tokenFor(repliers[i]) },
        ),
      ),
    );
    expectNoErrors(deleted);
    expect(await replyCounts(root)).toEqual({ reply_count: 9, replies: 9 });
    expect(await postCounts(postId)).toMatchObject({ comment_count: 11, comments: 11 });

    // A hard delete (a DBA, or a cascade) counts too.
    await rootDb().query("delete from app_public.comments where id = $1", [replyIds[4]]);
    expect(await replyCounts(root)).toEqual({ reply_count: 8, replies: 8 });
    expect(await postCounts(postId)).toMatchObject({ comment_count: 10, comments: 10 });
  });

  it("stops counting a soft-deleted comment, once, however often it is deleted", async () => {
    const postId = await newPost();
    const commenters = crowd.slice(0, 6);
    const created = await Promise.all(commenters.map((user) => comment(user, { postId })));
    expectNoErrors(created);
    const ids = created.map((r) => r.data!.createComment.comment.rowId);
    const DELETE = `mutation($id: UUID!) { updateCommentByRowId(input: { rowId: $id, commentPatch: { status: deleted } }) { comment { rowId status body } } }`;
    const first = await server.graphql<{ updateCommentByRowId: { comment: { status: string; body: string } } }>(
      DELETE, { id: ids[0] }, { token: server.tokenFor(commenters[0]) },
    );
    expect(first.data?.updateCommentByRowId.comment).toMatchObject({ status: "deleted", body: "" });
    expect(await postCounts(postId)).toMatchObject({ comment_count: 5, comments: 5 });
    // Deleting it again (e.g. a second click) changes nothing.
    await server.graphql(DELETE, { id: ids[0] }, { token: server.tokenFor(commenters[0]) });
    expect(await postCounts(postId)).toMatchObject({ comment_count: 5, comments: 5 });
    // Concurrent deletes of the others by their authors.
    expectNoErrors(await Promise.all(ids.slice(1).map((id, i) => server.graphql(DELETE, { id }, { token: server.tokenFor(commenters[i + 1]) }))));
    expect(await postCounts(postId)).toMatchObject({ comment_count: 0, comments: 0 });
  });

  it("accepts a reply that names only its parent (the thread is taken from the parent) and counts it", async () => {
    const postId = await newPost();
    const root = (await comment(author, { postId })).data!.createComment.comment.rowId;
    const reply = await comment(crowd[0], { parentId: root });
    expect(reply.errors).toBeUndefined();
    expect(await replyCounts(root)).toEqual({ reply_count: 1, replies: 1 });
    expect(await postCounts(postId)).toMatchObject({ comment_count: 2, comments: 2 });
  });

  it("keeps the post's count exact when a thread is removed with its replies (cascade)", async () => {
    const postId = await newPost();
    const root = (await comment(author, { postId })).data!.createComment.comment.rowId;
    expectNoErrors(await Promise.all(crowd.slice(0, 8).map((user) => comment(user, { postId, parentId: root }))));
    const other = await comment(crowd[9], { postId });
    expect(other.errors).toBeUndefined();
    expect(await postCounts(postId)).toMatchObject({ comment_count: 10, comments: 10 });
    await rootDb().query("delete from app_public.comments where id = $1", [root]);
    expect(await postCounts(postId)).toMatchObject({ comment_count: 1, comments: 1 });
  });
});

describe("answers", () => {
  const CREATE_ANSWER = `mutation($a: AnswerInput!) { createAnswer(input: { answer: $a }) { answer { rowId } } }`;

  it("counts concurrent answers and follows soft and hard deletes", async () => {
    const questionId = await newQuestion();
    const answerers = crowd.slice(0, 12);
    const created = await Promise.all(
      answerers.map((user) =>
        server.graphql<{ createAnswer: { answer: { rowId: string } } }>(
          CREATE_ANSWER,
          { a: { questionId, body: "Here is how." } },
          { token: server.tokenFor(user) },
        ),
      ),
    );
    expectNoErrors(created);
    const ids = created.map((r) => r.data!.createAnswer.answer.rowId);
    expect(await questionCounts(questionId)).toMatchObject({ answer_count: 12, answers: 12 });
    const api = await server.graphql<{ questionByRowId: { answerCount: number } }>(
      `query($id: UUID!) { questionByRowId(rowId: $id) { answerCount } }`,
      { id: questionId },
    );
    expect(api.data?.questionByRowId.answerCount).toBe(12);

    const soft = await Promise.all(
      [0, 1].map((i) =>
        server.graphql(
          `mutation($id: UUID!) { updateAnswerByRowId(input: { rowId: $id, answerPatch: { status: deleted } }) { answer { status } } }`,
          { id: ids[i] },
          { token: server.tokenFor(answerers[i]) },
        ),
      ),
    );
    expectNoErrors(soft);
    expect(await questionCounts(questionId)).toMatchObject({ answer_count: 10, answers: 10 });
    await rootDb().query("delete from app_public.answers where id = $1", [ids[2]]);
    expect(await questionCounts(questionId)).toMatchObject({ answer_count: 9, answers: 9 });
  });

  it("counts comments on an answer on the answer, not on its question", async () => {
    const questionId = await newQuestion();
    const answer = await server.graphql<{ createAnswer: { answer: { rowId: string } } }>(
      CREATE_ANSWER, { a: { questionId, body: "An answer." } }, { token: server.tokenFor(crowd[0]) },
    );
    const answerId = answer.data!.createAnswer.answer.rowId;
    expectNoErrors(await Promise.all(crowd.slice(1, 11).map((user) => comment(user, { answerId }))));
    const { rows } = await rootDb().query<{ comment_count: number; comments: number }>(
      `select a.comment_count, (select count(*) from app_public.comments c where c.answer_id = a.id and c.status <> 'deleted')::int as comments
         from app_public.answers a where a.id = $1`,
      [answerId],
    );
    expect(rows[0]).toEqual({ comment_count: 10, comments: 10 });
    expect(await questionCounts(questionId)).toMatchObject({ comment_count: 0, comments: 0, answer_count: 1, answers: 1 });
  });
});

describe("bookmarks", () => {
  const CREATE = `mutation($b: BookmarkInput!) { createBookmark(input: { bookmark: $b }) { bookmark { rowId } } }`;
  const DELETE = `mutation($id: UUID!) { deleteBookmarkByRowId(input: { rowId: $id }) { bookmark { rowId } } }`;

  it("counts concurrent bookmarks of a post and a question, and follows concurrent removals", async () => {
    const postId = await newPost();
    const questionId = await newQuestion();
    const savers = crowd.slice(0, 20);
    const created = await Promise.all(
      savers.flatMap((user) => [
        server.graphql<{ createBookmark: { bookmark: { rowId: string } } }>(CREATE, { b: { postId } }, { token: server.tokenFor(user) }),
        server.graphql<{ createBookmark: { bookmark: { rowId: string } } }>(CREATE, { b: { questionId } }, { token: server.tokenFor(user) }),
      ]),
    );
    expectNoErrors(created);
    expect(await postCounts(postId)).toMatchObject({ bookmark_count: 20, bookmarks: 20 });
    expect(await questionCounts(questionId)).toMatchObject({ bookmark_count: 20, bookmarks: 20 });
    const api = await server.graphql<{ postByRowId: { bookmarkCount: number } }>(
      `query($id: UUID!) { postByRowId(rowId: $id) { bookmarkCount } }`,
      { id: postId },
    );
    expect(api.data?.postByRowId.bookmarkCount).toBe(20);

    // Half of them remove both bookmarks at once.
    const removals = created
      .map((res, i) => ({ id: res.data!.createBookmark.bookmark.rowId, user: savers[Math.floor(i / 2)] }))
      .filter((_, i) => Math.floor(i / 2) % 2 === 0);
    expectNoErrors(await Promise.all(removals.map(({ id, user }) => server.graphql(DELETE, { id }, { token: server.tokenFor(user) }))));
    expect(await postCounts(postId)).toMatchObject({ bookmark_count: 10, bookmarks: 10 });
    expect(await questionCounts(questionId)).toMatchObject({ bookmark_count: 10, bookmarks: 10 });
  });

  it("does not count a second bookmark of the same post by the same member", async () => {
    const postId = await newPost();
    const [user] = crowd;
    const responses = await Promise.all([
      server.graphql(CREATE, { b: { postId } }, { token: server.tokenFor(user) }),
      server.graphql(CREATE, { b: { postId } }, { token: server.tokenFor(user) }),
    ]);
    expect(responses.filter((r) => !r.errors)).toHaveLength(1);
    expect(errorCode(responses.find((r) => r.errors)!)).toBe("NUNIQ");
    expect(await postCounts(postId)).toMatchObject({ bookmark_count: 1, bookmarks: 1 });
  });

  it("cannot remove someone else's bookmark, and the count stays", async () => {
    const postId = await newPost();
    const created = await server.graphql<{ createBookmark: { bookmark: { rowId: string } } }>(
      CREATE, { b: { postId } }, { token: server.tokenFor(crowd[0]) },
    );
    const id = created.data!.createBookmark.bookmark.rowId;
    const foreign = await server.graphql(DELETE, { id }, { token: server.tokenFor(crowd[1]) });
    expect(foreign.errors).toBeDefined();
    expect(await postCounts(postId)).toMatchObject({ bookmark_count: 1, bookmarks: 1 });
  });
});

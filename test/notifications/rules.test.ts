/**
 * The rules every wired type obeys, reviewed against causes that change after
 * the notification exists: content hidden or deleted takes back what it
 * caused, nothing is created under content the recipient may not see, and a
 * reaction aggregate does not come back for a member who turned reactions off.
 */
import { bulkLoad, closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer, ok } from "../helpers/server";
import { createTestUser, type TestUser } from "../helpers/users";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const gql = <T = Record<string, unknown>>(user: TestUser, query: string, variables: Record<string, unknown> = {}) => server.as<T>(user, query, variables);

const arrangePost = (author: TestUser) =>
  bulkLoad(async (c) =>
    (await c.query<{ id: string }>("insert into app_public.posts (author_id, title, body, status) values ($1, 'Rules post', 'Body', 'published') returning id", [author.id])).rows[0].id,
  );
const arrangeQuestion = (author: TestUser) =>
  bulkLoad(async (c) =>
    (await c.query<{ id: string }>("insert into app_public.questions (author_id, title, body, status) values ($1, 'Rules question?', 'Body', 'published') returning id", [author.id])).rows[0].id,
  );

/** The notifications of `user` but badges (arranged posts earn first_post), oldest first. */
async function typesOf(user: TestUser): Promise<string[]> {
  const { rows } = await rootDb().query<{ type_id: string }>(
    "select type_id from app_public.notifications where recipient_id = $1 and type_id <> 'badge_earned' order by created_at, id", [user.id],
  );
  return rows.map((r) => r.type_id);
}

const COMMENT = `mutation($comment: CommentInput!) { createComment(input: { comment: $comment }) { comment { rowId } } }`;
const UPDATE_COMMENT = `mutation($rowId: UUID!, $status: ContentStatus!) { updateCommentByRowId(input: { rowId: $rowId, commentPatch: { status: $status } }) { comment { status } } }`;
const UPDATE_POST = `mutation($rowId: UUID!, $status: ContentStatus!) { updatePostByRowId(input: { rowId: $rowId, postPatch: { status: $status } }) { post { status } } }`;
const ANSWER = `mutation($questionId: UUID!) { createAnswer(input: { answer: { questionId: $questionId, body: "An answer" } }) { answer { rowId } } }`;
const UPDATE_ANSWER = `mutation($rowId: UUID!, $status: ContentStatus!) { updateAnswerByRowId(input: { rowId: $rowId, answerPatch: { status: $status } }) { answer { status } } }`;
const REACT = `mutation($postId: UUID) { react(input: { kind: like, postId: $postId }) { result { rowId } } }`;
const SET_PREFERENCE = `mutation($typeId: String!, $channel: NotificationChannel!, $enabled: Boolean!) {
  setNotificationPreference(input: { typeId: $typeId, channel: $channel, enabled: $enabled }) { result { enabled } }
}`;

const comment = async (user: TestUser, c: Record<string, unknown>) =>
  ok(await gql<{ createComment: { comment: { rowId: string } } }>(user, COMMENT, { comment: { body: "A comment", ...c } })).createComment.comment.rowId;

describe("content the recipient may not see", () => {
  test("a reply under a post hidden since is refused and notifies nobody", async () => {
    const [ana, bo, cy, mod] = await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser({ roles: ["moderator"] })]);
    const postId = await arrangePost(ana);
    const cyComment = await comment(cy, { postId });
    ok(await gql(mod, UPDATE_POST, { rowId: postId, status: "hidden" }));
    const before = [await typesOf(ana), await typesOf(cy)];
    const res = await gql(bo, COMMENT, { comment: { postId, parentId: cyComment, body: "Reply" } });
    expect(res.errors?.[0]?.extensions?.code).toBeDefined();
    expect([await typesOf(ana), await typesOf(cy)]).toEqual(before);
    expect(await typesOf(cy)).toEqual([]);
  });

  test("a comment hidden by a moderator takes back its comment and reply notifications; restoring it does not bring them back", async () => {
    const [ana, bo, cy, mod] = await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser({ roles: ["moderator"] })]);
    const postId = await arrangePost(ana);
    const boComment = await comment(bo, { postId });
    const cyReply = await comment(cy, { postId, parentId: boComment });
    const cyOther = await comment(cy, { postId });
    expect(await typesOf(bo)).toEqual(["reply_to_comment"]);
    expect(await typesOf(ana)).toEqual(["comment_on_content", "comment_on_content", "comment_on_content"]);

    ok(await gql(mod, UPDATE_COMMENT, { rowId: cyReply, status: "hidden" }));
    expect(await typesOf(bo)).toEqual([]);
    const { rows } = await rootDb().query<{ comment_id: string }>(
      "select comment_id from app_public.notifications where recipient_id = $1 and type_id = 'comment_on_content' order by created_at, id", [ana.id],
    );
    expect(rows.map((r) => r.comment_id)).toEqual([boComment, cyOther]);
    ok(await gql(mod, UPDATE_COMMENT, { rowId: cyReply, status: "published" }));
    expect(await typesOf(bo)).toEqual([]);
    // Its author deleting a comment (status deleted) takes its notification back too.
    ok(await gql(cy, UPDATE_COMMENT, { rowId: cyOther, status: "deleted" }));
    expect((await rootDb().query("select 1 from app_public.notifications where comment_id = $1", [cyOther])).rowCount).toBe(0);
    expect(await typesOf(ana)).toEqual(["comment_on_content"]);
  });

  test("a post hidden by a moderator takes back the notifications about it sent to others, not its author's", async () => {
    const [ana, bo, cy, mod] = await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser({ roles: ["moderator"] })]);
    const postId = await arrangePost(ana);
    const boComment = await comment(bo, { postId });
    await comment(cy, { postId, parentId: boComment });
    expect(await typesOf(bo)).toEqual(["reply_to_comment"]);
    ok(await gql(mod, UPDATE_POST, { rowId: postId, status: "hidden" }));
    expect(await typesOf(bo)).toEqual([]);
    expect(await typesOf(ana)).toEqual(["comment_on_content", "comment_on_content"]);
  });

  test("an answer deleted by its author takes back the question author's notification", async () => {
    const [ana, bo] = await Promise.all([createTestUser(), createTestUser()]);
    const questionId = await arrangeQuestion(ana);
    const answerId = ok(await gql<{ createAnswer: { answer: { rowId: string } } }>(bo, ANSWER, { questionId })).createAnswer.answer.rowId;
    expect(await typesOf(ana)).toEqual(["answer_to_question"]);
    ok(await gql(bo, UPDATE_ANSWER, { rowId: answerId, status: "deleted" }));
    expect(await typesOf(ana)).toEqual([]);
  });
});

describe("reaction aggregates", () => {
  test("a member who turned reactions off is not brought the old aggregate back; unlikes still withdraw", async () => {
    const [ana, bo, cy, di] = await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser()]);
    const postId = await arrangePost(ana);
    ok(await gql(bo, REACT, { postId }));
    const { rows: [n] } = await rootDb().query<{ id: string }>("select id from app_public.notifications where recipient_id = $1 and type_id = 'reaction'", [ana.id]);
    await rootDb().query("update app_public.notifications set read_at = now() where id = $1", [n.id]);
    ok(await gql(ana, SET_PREFERENCE, { typeId: "reaction", channel: "in_app", enabled: false }));
    ok(await gql(cy, REACT, { postId }));
    const after = await rootDb().query("select actor_count, read_at from app_public.notifications where id = $1", [n.id]);
    expect(after.rows[0].actor_count).toBe(1);
    expect(after.rows[0].read_at).not.toBeNull();
    // Turned on again: the next like joins it and makes it unread.
    ok(await gql(ana, SET_PREFERENCE, { typeId: "reaction", channel: "in_app", enabled: true }));
    ok(await gql(di, REACT, { postId }));
    const back = await rootDb().query("select actor_count, read_at, actor_id from app_public.notifications where id = $1", [n.id]);
    expect(back.rows[0]).toMatchObject({ actor_count: 2, read_at: null, actor_id: di.id });
    ok(await gql(di, REACT, { postId })); // unlike
    expect((await rootDb().query("select actor_count from app_public.notifications where id = $1", [n.id])).rows[0].actor_count).toBe(1);
  });
});

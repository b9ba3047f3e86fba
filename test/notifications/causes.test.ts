/**
 * Notifications are created by the database in the transaction of their
 * cause: every type wired today, produced by its real cause through the API
 * (GraphQL mutations as members), and not produced in the negative cases
 * (self-action, content the recipient may not see, preferences off).
 * Reaction aggregation and withdrawal; deleted targets leave the item.
 */
import { bulkLoad, closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type GraphQLResponse, type TestServer, ok } from "../helpers/server";
import { createTestUser, type TestUser } from "../helpers/users";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

function gql<T = Record<string, unknown>>(user: TestUser | null, query: string, variables: Record<string, unknown> = {}, ip?: string): Promise<GraphQLResponse<T>> {
  return server.graphql<T>(query, variables, { ...(user ? { token: server.tokenFor(user) } : {}), ...(ip ? { ip } : {}) });
}

async function arrange(sql: string, values: unknown[]): Promise<string> {
  return bulkLoad(async (c) => (await c.query<{ id: string }>(sql, values)).rows[0].id);
}
const arrangePost = (author: TestUser) =>
  arrange("insert into app_public.posts (author_id, title, body, status) values ($1, 'A post to notify about', 'Body', 'published') returning id", [author.id]);
const arrangeQuestion = (author: TestUser) =>
  arrange("insert into app_public.questions (author_id, title, body, status) values ($1, 'A question to notify about?', 'Body', 'published') returning id", [author.id]);

interface Row {
  id: string;
  type_id: string;
  actor_id: string | null;
  actor_count: number;
  last_actor_ids: string[];
  post_id: string | null;
  question_id: string | null;
  answer_id: string | null;
  comment_id: string | null;
  detail: Record<string, unknown>;
  read_at: Date | null;
}

/** The notifications of `user` (read as the superuser), oldest first. */
async function notificationsOf(user: TestUser, type?: string): Promise<Row[]> {
  const { rows } = await rootDb().query<Row>(
    "select * from app_public.notifications where recipient_id = $1 and ($2::text is null or type_id = $2) order by created_at, id",
    [user.id, type ?? null],
  );
  return rows;
}

const FOLLOW = `mutation($followeeId: UUID!) { createFollow(input: { follow: { followeeId: $followeeId } }) { follow { followerId } } }`;
const COMMENT = `mutation($comment: CommentInput!) { createComment(input: { comment: $comment }) { comment { rowId } } }`;
const ANSWER = `mutation($answer: AnswerInput!) { createAnswer(input: { answer: $answer }) { answer { rowId } } }`;
const UPDATE_ANSWER = `mutation($rowId: UUID!, $patch: AnswerPatch!) { updateAnswerByRowId(input: { rowId: $rowId, answerPatch: $patch }) { answer { rowId status } } }`;
const ACCEPT = `mutation($answerId: UUID!) { acceptAnswer(input: { answerId: $answerId }) { result { rowId acceptedAnswerId } } }`;
const REACT = `mutation($kind: ReactionKind!, $postId: UUID) { react(input: { kind: $kind, postId: $postId }) { result { rowId } } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;
const CHANGE_PASSWORD = `mutation($old: String!, $new: String!) { changePassword(input: { oldPassword: $old, newPassword: $new }) { clientMutationId } }`;
const SET_PREFERENCE = `mutation($typeId: String!, $channel: NotificationChannel!, $enabled: Boolean!) {
  setNotificationPreference(input: { typeId: $typeId, channel: $channel, enabled: $enabled }) { result { typeId channel enabled } }
}`;

const comment = async (user: TestUser, c: Record<string, unknown>) =>
  ok(await gql<{ createComment: { comment: { rowId: string } } }>(user, COMMENT, { comment: { body: "A comment", ...c } })).createComment.comment.rowId;

describe("follows", () => {
  test("a new follower notifies the followee, naming the follower", async () => {
    const [ana, bo] = await Promise.all([createTestUser(), createTestUser()]);
    ok(await gql(bo, FOLLOW, { followeeId: ana.id }));
    const rows = await notificationsOf(ana, "new_follower");
    expect(rows.map((r) => [r.actor_id, r.actor_count])).toEqual([[bo.id, 1]]);
    expect(await notificationsOf(bo)).toEqual([]);
  });
});

describe("comments and replies", () => {
  test("a comment notifies the post's author; the author's own comment does not", async () => {
    const [ana, bo] = await Promise.all([createTestUser(), createTestUser()]);
    const postId = await arrangePost(ana);
    const commentId = await comment(bo, { postId });
    await comment(ana, { postId });
    const rows = await notificationsOf(ana, "comment_on_content");
    expect(rows.map((r) => [r.actor_id, r.post_id, r.comment_id])).toEqual([[bo.id, postId, commentId]]);
  });

  test("a reply notifies the parent's author and the target's author, never the replier", async () => {
    const [ana, bo, cy] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const postId = await arrangePost(ana);
    const boComment = await comment(bo, { postId });
    const cyReply = await comment(cy, { postId, parentId: boComment });
    expect((await notificationsOf(bo, "reply_to_comment")).map((r) => [r.actor_id, r.comment_id, r.post_id])).toEqual([[cy.id, cyReply, postId]]);
    expect((await notificationsOf(ana, "comment_on_content")).map((r) => r.comment_id)).toEqual([boComment, cyReply]);
    expect(await notificationsOf(cy)).toEqual([]);
    // The post's author replying under their own post: only the parent's author hears of it.
    await comment(ana, { postId, parentId: boComment });
    expect(await notificationsOf(bo, "reply_to_comment")).toHaveLength(2);
    expect(await notificationsOf(ana, "comment_on_content")).toHaveLength(2);
    // Replying to one's own comment on someone's post: one notification to the post's author, none to oneself.
    await comment(bo, { postId, parentId: boComment });
    expect(await notificationsOf(bo, "reply_to_comment")).toHaveLength(2);
    expect(await notificationsOf(ana, "comment_on_content")).toHaveLength(3);
  });

  test("a comment on a question or an answer notifies its author", async () => {
    const [ana, bo, cy] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const questionId = await arrangeQuestion(ana);
    const answerId = ok(await gql<{ createAnswer: { answer: { rowId: string } } }>(bo, ANSWER, { answer: { questionId, body: "An answer" } })).createAnswer.answer.rowId;
    await comment(cy, { questionId });
    await comment(cy, { answerId });
    expect((await notificationsOf(ana, "comment_on_content")).map((r) => r.question_id)).toEqual([questionId]);
    expect((await notificationsOf(bo, "comment_on_content")).map((r) => r.answer_id)).toEqual([answerId]);
  });
});

describe("answers", () => {
  test("a published answer notifies the question's author; a draft does not until it is published", async () => {
    const [ana, bo] = await Promise.all([createTestUser(), createTestUser()]);
    const questionId = await arrangeQuestion(ana);
    const draft = ok(await gql<{ createAnswer: { answer: { rowId: string } } }>(bo, ANSWER, { answer: { questionId, body: "Draft", status: "draft" } })).createAnswer.answer.rowId;
    expect(await notificationsOf(ana, "answer_to_question")).toEqual([]);
    ok(await gql(bo, UPDATE_ANSWER, { rowId: draft, patch: { status: "published" } }));
    // Editing it later (archive, republish) does not notify again.
    ok(await gql(bo, UPDATE_ANSWER, { rowId: draft, patch: { body: "Edited" } }));
    const rows = await notificationsOf(ana, "answer_to_question");
    expect(rows.map((r) => [r.actor_id, r.question_id, r.answer_id])).toEqual([[bo.id, questionId, draft]]);
    // The author answering their own question: nothing.
    ok(await gql(ana, ANSWER, { answer: { questionId, body: "Self answer" } }));
    expect(await notificationsOf(ana, "answer_to_question")).toHaveLength(1);
  });

  test("an accepted answer notifies its author; accepting one's own answer does not", async () => {
    const [ana, bo] = await Promise.all([createTestUser(), createTestUser()]);
    const questionId = await arrangeQuestion(ana);
    const boAnswer = ok(await gql<{ createAnswer: { answer: { rowId: string } } }>(bo, ANSWER, { answer: { questionId, body: "Mine" } })).createAnswer.answer.rowId;
    const anaAnswer = ok(await gql<{ createAnswer: { answer: { rowId: string } } }>(ana, ANSWER, { answer: { questionId, body: "Self" } })).createAnswer.answer.rowId;
    ok(await gql(ana, ACCEPT, { answerId: boAnswer }));
    expect((await notificationsOf(bo, "answer_accepted")).map((r) => [r.actor_id, r.question_id, r.answer_id])).toEqual([[ana.id, questionId, boAnswer]]);
    ok(await gql(ana, ACCEPT, { answerId: anaAnswer }));
    expect(await notificationsOf(ana, "answer_accepted")).toEqual([]);
  });
});

describe("reactions", () => {
  test("likes on one target aggregate into one notification; unlikes update and finally withdraw it", async () => {
    const users = await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser(), createTestUser()]);
    const [ana, bo, cy, di, ed] = users;
    const postId = await arrangePost(ana);
    for (const u of [bo, cy, di, ed]) ok(await gql(u, REACT, { kind: "like", postId }));
    let rows = await notificationsOf(ana, "reaction");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_id: ed.id, actor_count: 4, post_id: postId, last_actor_ids: [ed.id, di.id, cy.id] });

    // Ana reads it; another like brings it back as unread.
    await rootDb().query("update app_public.notifications set read_at = now() where id = $1", [rows[0].id]);
    ok(await gql(ed, REACT, { kind: "like", postId })); // unlike
    rows = await notificationsOf(ana, "reaction");
    expect(rows[0]).toMatchObject({ actor_id: di.id, actor_count: 3, last_actor_ids: [di.id, cy.id] });
    ok(await gql(ed, REACT, { kind: "like", postId })); // like again
    rows = await notificationsOf(ana, "reaction");
    expect(rows[0]).toMatchObject({ actor_id: ed.id, actor_count: 4, read_at: null });

    // A switch to dislike withdraws the like; a dislike alone never notifies.
    ok(await gql(ed, REACT, { kind: "dislike", postId }));
    expect((await notificationsOf(ana, "reaction"))[0].actor_count).toBe(3);
    for (const u of [bo, cy, di]) ok(await gql(u, REACT, { kind: "like", postId }));
    expect(await notificationsOf(ana, "reaction")).toEqual([]);

    // Liking one's own post: nothing.
    ok(await gql(ana, REACT, { kind: "like", postId }));
    expect(await notificationsOf(ana, "reaction")).toEqual([]);
  });

  test("after the window a new like starts a new notification", async () => {
    const [ana, bo, cy] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const postId = await arrangePost(ana);
    ok(await gql(bo, REACT, { kind: "like", postId }));
    await rootDb().query("update app_public.notifications set created_at = now() - interval '2 days' where recipient_id = $1", [ana.id]);
    ok(await gql(cy, REACT, { kind: "like", postId }));
    const rows = await notificationsOf(ana, "reaction");
    expect(rows.map((r) => [r.actor_id, r.actor_count])).toEqual([[bo.id, 1], [cy.id, 1]]);
    // Bo's unlike withdraws the old notification, not the new one.
    ok(await gql(bo, REACT, { kind: "like", postId }));
    expect((await notificationsOf(ana, "reaction")).map((r) => r.actor_id)).toEqual([cy.id]);
  });
});

describe("security alerts", () => {
  test("a sign-in from a new IP alerts; the first sign-in and a known IP do not", async () => {
    const ana = await createTestUser();
    const login = (ip: string) => gql(null, LOGIN, { input: { identifier: ana.username, password: ana.password } }, ip);
    ok(await login("10.77.1.1"));
    ok(await login("10.77.1.1"));
    expect(await notificationsOf(ana, "security_alert")).toEqual([]);
    ok(await login("10.77.2.2"));
    const rows = await notificationsOf(ana, "security_alert");
    expect(rows.map((r) => r.detail)).toEqual([{ event: "new_sign_in", ip: "10.77.2.2" }]);
    expect(rows[0].actor_id).toBeNull();
  });

  test("a password change alerts, although the member did it themself", async () => {
    const ana = await createTestUser();
    ok(await gql(ana, CHANGE_PASSWORD, { old: ana.password, new: "Another-Horse-10" }));
    expect((await notificationsOf(ana, "security_alert")).map((r) => r.detail.event)).toEqual(["password_changed"]);
  });

  test("a reused refresh token and a primary e-mail change alert", async () => {
    const ana = await createTestUser();
    await rootDb().query("select app_private.record_security_event('refresh_token_reused', $1)", [ana.id]);
    await rootDb().query("select app_private.record_security_event('primary_email_changed', $1)", [ana.id]);
    await rootDb().query("select app_private.record_security_event('logout', $1)", [ana.id]);
    expect((await notificationsOf(ana, "security_alert")).map((r) => r.detail.event)).toEqual(["session_revoked_reuse", "email_changed"]);
  });
});

describe("preferences", () => {
  test("a type turned off on every channel is not created; in-app off with e-mail on keeps it out of the list", async () => {
    const [ana, bo, cy] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    ok(await gql(ana, SET_PREFERENCE, { typeId: "new_follower", channel: "in_app", enabled: false }));
    ok(await gql(bo, FOLLOW, { followeeId: ana.id }));
    expect(await notificationsOf(ana, "new_follower")).toEqual([]);
    ok(await gql(ana, SET_PREFERENCE, { typeId: "new_follower", channel: "email", enabled: true }));
    ok(await gql(cy, FOLLOW, { followeeId: ana.id }));
    const rows = await rootDb().query("select is_in_app from app_public.notifications where recipient_id = $1 and type_id = 'new_follower'", [ana.id]);
    expect(rows.rows).toEqual([{ is_in_app: false }]);
    const count = await gql<{ currentUserUnreadNotificationCount: number }>(ana, "{ currentUserUnreadNotificationCount }");
    expect(ok(count).currentUserUnreadNotificationCount).toBe(0);
  });

  test("security alerts cannot be turned off in the app (INVAL), but can by e-mail", async () => {
    const ana = await createTestUser();
    const res = await gql(ana, SET_PREFERENCE, { typeId: "security_alert", channel: "in_app", enabled: false });
    expect(res.errors?.[0]?.extensions?.code).toBe("INVAL");
    ok(await gql(ana, SET_PREFERENCE, { typeId: "security_alert", channel: "email", enabled: false }));
    ok(await gql(ana, SET_PREFERENCE, { typeId: "security_alert", channel: "in_app", enabled: true }));
  });
});

describe("targets", () => {
  test("a deleted target leaves the notification with a null reference", async () => {
    const [ana, bo] = await Promise.all([createTestUser(), createTestUser()]);
    const postId = await arrangePost(ana);
    ok(await gql(bo, REACT, { kind: "like", postId }));
    await bulkLoad((c) => c.query("delete from app_public.posts where id = $1", [postId]));
    // The reaction went with the post (cascade), but the notification stays as "no longer available".
    const rows = await notificationsOf(ana, "reaction");
    expect(rows.map((r) => [r.post_id, r.actor_count])).toEqual([[null, 1]]);
  });
});

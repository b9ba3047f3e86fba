/**
 * `viewerReaction` ("my reaction") on posts, questions, answers and comments
 * reads past the reactions' row-level security (security definer, one probe
 * of the (target, user) index): so it must show each member only their own
 * reaction — never another member's, nothing to anonymous visitors or to a
 * session that is absent, null, unknown or revoked.
 */
import { asRole, bulkLoad, closeSqlHelpers, rootDb, type As } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { asUser, createTestUser, type TestUser } from "../helpers/users";

let server: TestServer;
let author: TestUser;
let reactor: TestUser;
let other: TestUser;
const target: Record<"post" | "question" | "answer" | "comment", string> = { post: "", question: "", answer: "", comment: "" };

const MINE = `select app_public.posts_viewer_reaction(p) as post,
                     (select app_public.questions_viewer_reaction(q) from app_public.questions q where q.id = $2) as question,
                     (select app_public.answers_viewer_reaction(a) from app_public.answers a where a.id = $3) as answer,
                     (select app_public.comments_viewer_reaction(c) from app_public.comments c where c.id = $4) as comment
                from app_public.posts p where p.id = $1`;
const mine = (as: As) => asRole(as, async (db) => (await db.query(MINE, [target.post, target.question, target.answer, target.comment])).rows[0]);

beforeAll(async () => {
  server = await startTestServer();
  [author, reactor, other] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
  await bulkLoad(async (db) => {
    target.post = (await db.query("insert into app_public.posts (author_id, title, body, status) values ($1, 'Reacted post', 'Body', 'published') returning id", [author.id])).rows[0].id;
    target.question = (await db.query("insert into app_public.questions (author_id, title, body, status) values ($1, 'Reacted question?', 'Body', 'published') returning id", [author.id])).rows[0].id;
    target.answer = (await db.query("insert into app_public.answers (author_id, question_id, body, status) values ($1, $2, 'An answer', 'published') returning id", [author.id, target.question])).rows[0].id;
    target.comment = (await db.query("insert into app_public.comments (author_id, post_id, body) values ($1, $2, 'A comment') returning id", [author.id, target.post])).rows[0].id;
    for (const [kind, id] of Object.entries(target)) {
      await db.query(`insert into app_public.reactions (user_id, kind, ${kind}_id) values ($1, $2, $3)`, [reactor.id, kind === "comment" ? "like" : "dislike", id]);
    }
  });
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

describe("viewerReaction", () => {
  it("shows a member their own reaction on every kind", async () => {
    expect(await mine(asUser(reactor))).toEqual({ post: "dislike", question: "dislike", answer: "dislike", comment: "like" });
  });

  it("shows nothing of another member's reaction, to another member or to anonymous visitors", async () => {
    const none = { post: null, question: null, answer: null, comment: null };
    expect(await mine(asUser(other))).toEqual(none);
    expect(await mine(asUser(author))).toEqual(none);
    expect(await mine({ role: "anonymous" })).toEqual(none);
  });

  it("shows nothing to a session that is absent, null, unknown or revoked (the reactor's own id as subject)", async () => {
    const none = { post: null, question: null, answer: null, comment: null };
    expect(await mine({ role: "authenticated", userId: reactor.id })).toEqual(none);
    expect(await mine({ role: "authenticated", userId: reactor.id, sessionId: null })).toEqual(none);
    expect(await mine({ role: "authenticated", userId: reactor.id, sessionId: "00000000-0000-4000-8000-000000000000" })).toEqual(none);
    const revoked = await createTestUser();
    await rootDb().query("insert into app_public.reactions (user_id, kind, post_id) values ($1, 'like', $2)", [revoked.id, target.post]);
    expect((await mine(asUser(revoked))).post).toBe("like");
    await rootDb().query("update app_private.sessions set revoked_at = now() where id = $1", [revoked.sessionId]);
    expect((await mine(asUser(revoked))).post).toBeNull();
  });

  it("answers the same through GraphQL: the reactor sees theirs, another member and anonymous visitors null", async () => {
    const query = `query($id: UUID!) { postByRowId(rowId: $id) { viewerReaction commentsByPostId { nodes { viewerReaction } } } }`;
    const as = async (user: TestUser | null) => (await server.graphql(query, { id: target.post }, user ? { token: server.tokenFor(user) } : {})).data;
    expect(await as(reactor)).toEqual({ postByRowId: { viewerReaction: "dislike", commentsByPostId: { nodes: [{ viewerReaction: "like" }] } } });
    expect(await as(other)).toEqual({ postByRowId: { viewerReaction: null, commentsByPostId: { nodes: [{ viewerReaction: null }] } } });
    expect(await as(null)).toEqual({ postByRowId: { viewerReaction: null, commentsByPostId: { nodes: [{ viewerReaction: null }] } } });
  });
});

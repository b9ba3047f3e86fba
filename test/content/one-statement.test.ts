/**
 * No N+1: the feed page and the post page each cost exactly one data
 * statement (besides the transaction/settings wrapper), however many rows
 * and relations they show.
 */
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { createTestUser, uniqueName, type TestUser } from "../helpers/users";
import { dataStatements, recordStatements } from "../helpers/statements";

export const FEED = `query Feed {
  allPosts(first: 20, condition: { inMyFeed: true }, orderBy: [PUBLISHED_AT_DESC]) {
    nodes {
      rowId title slug tags likeCount dislikeCount commentCount bookmarkCount publishedAt viewerReaction
      userByAuthorId { username displayName avatarUrl }
      categoryByCategoryId { name slug color }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const POST_PAGE = `query Post($id: UUID!) {
  postByRowId(rowId: $id) {
    title bodyHtml tags likeCount commentCount viewerReaction
    userByAuthorId { username displayName }
    categoryByCategoryId { name }
    commentsByPostId(first: 50, orderBy: [CREATED_AT_ASC]) {
      totalCount
      nodes { rowId body depth parentId likeCount createdAt userByAuthorId { username avatarUrl } }
    }
  }
}`;

let server: TestServer;
let viewer: TestUser;
let postId: string;
let recorder: ReturnType<typeof recordStatements>;

beforeAll(async () => {
  server = await startTestServer();
  recorder = recordStatements(server.agora.authPool);
  viewer = await createTestUser();
  const authors = await Promise.all(Array.from({ length: 5 }, () => createTestUser()));
  const db = await rootDb().connect();
  try {
    await db.query("begin");
    await db.query("set local agora.bulk_load = 'on'");
    const category = (await db.query("insert into app_public.categories (slug, name) values ($1, 'Feed test') returning id", [uniqueName("cat").replace(/_/g, "-").toLowerCase()])).rows[0].id;
    for (const a of authors) await db.query("insert into app_public.follows (follower_id, followee_id) values ($1, $2)", [viewer.id, a.id]);
    const posts = await db.query(
      `insert into app_public.posts (author_id, category_id, title, body, tags, status)
       select (array[$1, $2, $3, $4, $5]::uuid[])[1 + i % 5], $6, 'Feed post ' || i, 'Body ' || i, array['feed', 'n' || (i % 3)], 'published'
         from generate_series(1, 30) i returning id`,
      [...authors.map((a) => a.id), category],
    );
    postId = posts.rows[0].id;
    await db.query(
      `insert into app_public.comments (post_id, author_id, body) select $1, (array[$2, $3, $4]::uuid[])[1 + i % 3], 'Comment ' || i from generate_series(1, 60) i`,
      [postId, ...authors.slice(0, 3).map((a) => a.id)],
    );
    await db.query("insert into app_public.reactions (user_id, kind, post_id) select $1, 'like', id from unnest($2::uuid[]) id", [
      viewer.id,
      posts.rows.map((r) => r.id),
    ]);
    await db.query("commit");
  } finally {
    db.release();
  }
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

describe("one SQL statement per GraphQL read", () => {
  it("the feed page: 20 posts with author, category, counts, tags and my reaction", async () => {
    const token = server.agora.tokens.sign({ sub: viewer.id, sid: viewer.sessionId });
    let res: Awaited<ReturnType<typeof server.graphql>> | undefined;
    const statements = await recorder.during(async () => {
      res = await server.graphql(FEED, {}, { token });
    });
    expect(res!.errors).toBeUndefined();
    const feed = (res!.data as { allPosts: { nodes: Array<{ userByAuthorId: unknown; viewerReaction: string | null; rowId: string }> } }).allPosts;
    expect(feed.nodes).toHaveLength(20);
    expect(feed.nodes.every((n) => n.userByAuthorId)).toBe(true);
    expect(feed.nodes.map((n) => n.viewerReaction)).toEqual(Array(20).fill("like"));
    expect(dataStatements(statements)).toHaveLength(1);
  });

  it("the post page: post, author, and its first 50 comments with their authors", async () => {
    let res: Awaited<ReturnType<typeof server.graphql>> | undefined;
    const statements = await recorder.during(async () => {
      res = await server.graphql(POST_PAGE, { id: postId });
    });
    expect(res!.errors).toBeUndefined();
    const post = (res!.data as { postByRowId: { viewerReaction: null; commentsByPostId: { totalCount: number; nodes: Array<{ userByAuthorId: unknown }> } } }).postByRowId;
    expect(post.commentsByPostId.totalCount).toBe(60);
    expect(post.commentsByPostId.nodes).toHaveLength(50);
    expect(post.commentsByPostId.nodes.every((c) => c.userByAuthorId)).toBe(true);
    expect(dataStatements(statements)).toHaveLength(1);
  });
});

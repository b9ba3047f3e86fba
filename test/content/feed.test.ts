/**
 * The personal feed, `allPosts(condition: { inMyFeed: true })`: the
 * published posts by the members and in the categories I follow, newest
 * first. It is read from a maintained timeline (app_hidden.feed_entries), so
 * these tests drive every event that changes a feed (publishing, unpublishing,
 * hiding, re-dating, moving, deleting a post; following and unfollowing
 * members and categories) and check the feed against the rule stated here,
 * independently of the triggers that keep it. One exception to the rule is
 * by design: a new follow brings only the newest `feed.backfill` earlier
 * posts (tested on its own; the other tests stay below it).
 */
import { asRole, bulkLoad, closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { createTestUser, uniqueName, asUser, type TestUser } from "../helpers/users";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

interface FeedPage {
  allPosts: { totalCount: number; nodes: Array<{ rowId: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const FEED = `query($first: Int!, $after: Cursor) {
  allPosts(first: $first, after: $after, condition: { inMyFeed: true }, orderBy: [PUBLISHED_AT_DESC]) {
    totalCount nodes { rowId } pageInfo { hasNextPage endCursor }
  }
}`;

/** The whole feed of `user` through the API, page by page (20 a page). */
async function feed(user: TestUser | null): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const res: { data?: FeedPage | null; errors?: unknown } = await server.as<FeedPage>(user, FEED, { first: 20, after });
    expect(res.errors).toBeUndefined();
    ids.push(...res.data!.allPosts.nodes.map((n) => n.rowId));
    if (!res.data!.allPosts.pageInfo.hasNextPage) break;
    after = res.data!.allPosts.pageInfo.endCursor;
  }
  return ids;
}

/** The rule, stated on its own: published posts by my followees or in my followed categories, newest first. */
async function expectedFeed(user: TestUser): Promise<string[]> {
  const { rows } = await rootDb().query<{ id: string }>(
    `select p.id from app_public.posts p
      where p.status = 'published'
        and (p.author_id in (select followee_id from app_public.follows where follower_id = $1)
             or p.category_id in (select category_id from app_public.category_follows where user_id = $1))
      order by p.published_at desc, p.id desc`,
    [user.id],
  );
  return rows.map((r) => r.id);
}

/** A post by `author` (a member or a member's id), written as the superuser. */
async function post(author: TestUser | string, fields: { status?: string; categoryId?: string | null; publishedAt?: string } = {}): Promise<string> {
  const authorId = typeof author === "string" ? author : author.id;
  return bulkLoad(async (c) => {
    const { rows } = await c.query<{ id: string }>(
      `insert into app_public.posts (author_id, category_id, title, body, status, published_at)
       values ($1, $2, 'A post for the feed', 'Its body', $3, $4) returning id`,
      [authorId, fields.categoryId ?? null, fields.status ?? "published", fields.publishedAt ?? null],
    );
    return rows[0].id;
  });
}

const setPost = (id: string, column: "status" | "published_at" | "category_id", value: string | null) =>
  bulkLoad((c) => c.query(`update app_public.posts set ${column} = $2 where id = $1`, [id, value]));

async function newCategory(): Promise<string> {
  const slug = uniqueName("feed-cat").toLowerCase().replace(/_/g, "-");
  const { rows } = await rootDb().query<{ id: string }>("insert into app_public.categories (slug, name) values ($1, $2) returning id", [slug, slug]);
  return rows[0].id;
}

const follow = (user: TestUser, followee: TestUser) =>
  server.as(user, `mutation($id: UUID!) { createFollow(input: { follow: { followeeId: $id } }) { clientMutationId } }`, { id: followee.id });
const unfollow = (user: TestUser, followee: TestUser) =>
  server.as(user, `mutation($a: UUID!, $b: UUID!) { deleteFollowByFollowerIdAndFolloweeId(input: { followerId: $a, followeeId: $b }) { clientMutationId } }`, {
    a: user.id,
    b: followee.id,
  });
const followCategory = (user: TestUser, categoryId: string) =>
  server.as(user, `mutation($id: UUID!) { createCategoryFollow(input: { categoryFollow: { categoryId: $id } }) { clientMutationId } }`, { id: categoryId });
const unfollowCategory = (user: TestUser, categoryId: string) =>
  server.as(user, `mutation($u: UUID!, $c: UUID!) { deleteCategoryFollowByUserIdAndCategoryId(input: { userId: $u, categoryId: $c }) { clientMutationId } }`, {
    u: user.id,
    c: categoryId,
  });

async function expectFeed(user: TestUser, ids: string[]): Promise<void> {
  const got = await feed(user);
  expect(got).toEqual(ids);
  expect(got).toEqual(await expectedFeed(user));
}

describe("the feed", () => {
  it("shows the published posts of members I follow, newest first, through every change of a post's life", async () => {
    const [reader, alice, bob] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const older = await post(alice, { publishedAt: "2026-01-01T00:00:00Z" });
    const newer = await post(alice, { publishedAt: "2026-02-01T00:00:00Z" });
    const draft = await post(alice, { status: "draft" });
    await post(bob);
    await expectFeed(reader, []);

    expect((await follow(reader, alice)).errors).toBeUndefined();
    await expectFeed(reader, [newer, older]); // the followee's earlier posts come in; the draft and bob's post do not

    // Published through the API, by the author: at the top.
    const created = await server.as<{ createPost: { post: { rowId: string } } }>(
      alice,
      `mutation { createPost(input: { post: { title: "Fresh from the API", body: "Hello" , status: published } }) { post { rowId } } }`,
    );
    expect(created.errors).toBeUndefined();
    const fresh = created.data!.createPost.post.rowId;
    await expectFeed(reader, [fresh, newer, older]);

    await setPost(draft, "status", "published"); // the draft is published now: newest
    await expectFeed(reader, [draft, fresh, newer, older]);
    await setPost(newer, "status", "archived"); // archived: still readable, no longer in feeds
    await expectFeed(reader, [draft, fresh, older]);
    await setPost(newer, "status", "published");
    await setPost(fresh, "status", "hidden"); // hidden by a moderator
    await expectFeed(reader, [draft, newer, older]);
    await setPost(older, "published_at", "2027-01-01T00:00:00Z"); // re-dated: its place follows
    await expectFeed(reader, [older, draft, newer]);
    await bulkLoad((c) => c.query("delete from app_public.posts where id = $1", [draft]));
    await expectFeed(reader, [older, newer]);
    const { rows } = await rootDb().query("select post_id from app_hidden.feed_entries where post_id = any($1)", [[draft, fresh]]);
    expect(rows).toEqual([]); // nothing kept of a deleted or hidden post

    expect((await unfollow(reader, alice)).errors).toBeUndefined();
    await expectFeed(reader, []);
  });

  it("shows the posts in categories I follow; a post that is both counts once; unfollowing keeps what another follow still brings", async () => {
    const [reader, alice, carol] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const category = await newCategory();
    const other = await newCategory();
    const byCarol = await post(carol, { categoryId: category, publishedAt: "2026-03-01T00:00:00Z" });
    const byAliceIn = await post(alice, { categoryId: category, publishedAt: "2026-02-01T00:00:00Z" });
    const byAliceOut = await post(alice, { categoryId: other, publishedAt: "2026-01-01T00:00:00Z" });

    expect((await followCategory(reader, category)).errors).toBeUndefined();
    await expectFeed(reader, [byCarol, byAliceIn]);
    expect((await follow(reader, alice)).errors).toBeUndefined();
    await expectFeed(reader, [byCarol, byAliceIn, byAliceOut]); // byAliceIn once, though both follows bring it

    expect((await unfollowCategory(reader, category)).errors).toBeUndefined();
    await expectFeed(reader, [byAliceIn, byAliceOut]); // alice's post in the category stays: I still follow her

    expect((await followCategory(reader, category)).errors).toBeUndefined();
    expect((await unfollow(reader, alice)).errors).toBeUndefined();
    await expectFeed(reader, [byCarol, byAliceIn]); // and the other way round

    await setPost(byAliceOut, "category_id", category); // moved into the category I follow
    await expectFeed(reader, [byCarol, byAliceIn, byAliceOut]);
    await setPost(byCarol, "category_id", other); // moved out
    await expectFeed(reader, [byAliceIn, byAliceOut]);
    await bulkLoad((c) => c.query("delete from app_public.categories where id = $1", [category])); // its posts lose their category
    await expectFeed(reader, []);
  });

  it("pages through a long feed with cursors, in published_at order, with ties broken by id", async () => {
    const [reader, alice, bob] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    await bulkLoad((c) =>
      c.query(
        `insert into app_public.posts (author_id, title, body, status, published_at)
         select (array[$1, $2]::uuid[])[1 + i % 2], 'Paged post ' || i, 'Body', 'published', timestamptz '2026-06-01' - ((i / 3) || ' hours')::interval
           from generate_series(1, 45) i`,
        [alice.id, bob.id],
      ),
    );
    await follow(reader, alice);
    await follow(reader, bob);
    const first = await server.as<FeedPage>(reader, FEED, { first: 20, after: null });
    expect(first.data!.allPosts.totalCount).toBe(45);
    expect(first.data!.allPosts.pageInfo.hasNextPage).toBe(true);
    const all = await feed(reader);
    expect(all).toHaveLength(45);
    expect(all).toEqual(await expectedFeed(reader));
  });

  it("leaves no rows behind a deleted member or a deleted author (the triggers keep what foreign keys would)", async () => {
    // Members without e-mail addresses (deleting those is audited against the member): rows written as the superuser.
    const db = rootDb();
    const member = async (name: string) =>
      (await db.query<{ id: string }>("insert into app_public.users (username) values ($1) returning id", [uniqueName(name)])).rows[0].id;
    const [reader, alice, bob] = [await member("reader"), await member("alice"), await member("bob")];
    const category = await newCategory();
    const byAlice = await post(alice, { categoryId: category });
    const byBob = await post(bob);
    await db.query(
      "insert into app_public.follows (follower_id, followee_id) values ($1, $2), ($1, $3), ($3, $2)",
      [reader, alice, bob],
    );
    await db.query("insert into app_public.category_follows (user_id, category_id) values ($1, $2)", [reader, category]);
    const rowsOf = async (column: "user_id" | "post_id", id: string) =>
      (await db.query(`select post_id from app_hidden.feed_entries where ${column} = $1`, [id])).rows.map((r) => r.post_id);
    expect((await rowsOf("user_id", reader)).sort()).toEqual([byAlice, byBob].sort());
    expect(await rowsOf("post_id", byAlice)).toHaveLength(2); // reader's feed and bob's

    await db.query("delete from app_public.users where id = $1", [alice]); // her posts go with her
    expect(await rowsOf("post_id", byAlice)).toEqual([]);
    expect(await rowsOf("user_id", reader)).toEqual([byBob]);
    await db.query("delete from app_public.users where id = $1", [reader]);
    expect(await rowsOf("user_id", reader)).toEqual([]);
  });

  it("a new follow brings at most the newest feed.backfill earlier posts; later ones all come", async () => {
    const [reader, alice] = await Promise.all([createTestUser(), createTestUser()]);
    const category = await newCategory();
    const earlier: string[] = [];
    for (let i = 1; i <= 5; i++) earlier.unshift(await post(alice, { categoryId: category, publishedAt: `2026-0${i}-01T00:00:00Z` }));
    const client = await rootDb().connect();
    try {
      await client.query("begin"); // the setting is changed for this transaction only: other tests keep theirs
      await client.query("update app_private.settings set value = '2' where key = 'feed.backfill'");
      await client.query(
        "select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)",
        [reader.id, reader.sessionId],
      );
      const mine = async () =>
        (await client.query<{ post_id: string }>("select post_id from app_hidden.feed_entries order by published_at desc, post_id desc")).rows.map((r) => r.post_id);
      await client.query("insert into app_public.follows (followee_id) values ($1)", [alice.id]);
      expect(await mine()).toEqual(earlier.slice(0, 2));
      await client.query("insert into app_public.category_follows (category_id) values ($1)", [category]);
      expect(await mine()).toEqual(earlier.slice(0, 2)); // the same two: nothing twice
      await client.query("delete from app_public.follows where followee_id = $1", [alice.id]);
      expect(await mine()).toEqual(earlier.slice(0, 2)); // still brought by the category
      await client.query("delete from app_public.category_follows where category_id = $1", [category]);
      expect(await mine()).toEqual([]);
    } finally {
      await client.query("rollback");
      client.release();
    }
    await follow(reader, alice);
    await expectFeed(reader, earlier); // with the default (200) all five
  });

  it("is readable only by its member: other members, anonymous visitors and missing claims see none of it, and nobody writes it", async () => {
    const [reader, alice, other] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const p = await post(alice);
    await follow(reader, alice);
    await expectFeed(reader, [p]);
    expect(await feed(other)).toEqual([]);
    expect(await feed(null)).toEqual([]);

    const visible = (as: Parameters<typeof asRole>[0]) =>
      asRole(as, async (c) => (await c.query("select post_id from app_hidden.feed_entries where post_id = $1", [p])).rows.length);
    expect(await visible(asUser(reader))).toBe(1);
    expect(await visible(asUser(other))).toBe(0);
    expect(await visible({ role: "anonymous" })).toBe(0);
    expect(await visible({ role: "authenticated", userId: null, sessionId: null })).toBe(0);
    expect(await visible({ role: "authenticated", userId: reader.id, sessionId: "00000000-0000-0000-0000-000000000000" })).toBe(0); // a session that is not theirs

    for (const statement of [
      "insert into app_hidden.feed_entries (user_id, published_at, post_id) values ($1, now(), $2)",
      "delete from app_hidden.feed_entries where user_id = $1 and post_id = $2",
    ]) {
      const code = await asRole(asUser(reader), async (c) => sqlErrorCode(c.query(statement, [reader.id, p])));
      expect(code).toBe("42501");
    }
    // Not in the GraphQL schema at all.
    const res = await server.as(reader, "{ __type(name: \"FeedEntry\") { name } }");
    expect(res.data).toEqual({ __type: null });
  });
});

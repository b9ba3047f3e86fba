/**
 * A category page's totals come from the maintained per-day statistics
 * (app_public.category_daily_stats): exact after every kind of change to a
 * post, hidden where the category is, and served with the page of posts in
 * one SQL statement.
 */
import { asRole, bulkLoad, closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { asUser, createTestUser, uniqueName, type TestUser } from "../helpers/users";
import { dataStatements, recordStatements } from "../helpers/statements";

export const CATEGORY_PAGE = `query Category($category: UUID!, $after: Datetime!, $since: Date!) {
  categoryByRowId(rowId: $category) {
    name
    postStats(since: $since) { postCount likeCount commentCount likeAverage }
    postsByCategoryId(first: 20, condition: { publishedAfter: $after }, orderBy: [LIKE_COUNT_DESC]) {
      nodes { rowId title likeCount commentCount publishedAt userByAuthorId { rowId username } }
    }
  }
}`;

interface Stats {
  postCount: number;
  likeCount: string;
  commentCount: string;
  likeAverage: string | null;
}

let server: TestServer;
let recorder: ReturnType<typeof recordStatements>;
let author: TestUser;
let fans: TestUser[];
let categoryId: string;
let otherCategoryId: string;

const slug = () => uniqueName("cat").replace(/_/g, "-").toLowerCase();

/** The statistics recomputed from the posts themselves, per category and day. */
async function truth(categories: string[]) {
  const { rows } = await rootDb().query(
    `select category_id, (published_at at time zone 'UTC')::date::text as day, count(*)::int as posts, sum(like_count)::int as likes, sum(comment_count)::int as comments
       from app_public.posts where category_id = any($1) and status in ('published', 'archived') and published_at is not null
      group by 1, 2 order by 1, 2`,
    [categories],
  );
  return rows;
}
async function maintained(categories: string[]) {
  const { rows } = await rootDb().query(
    `select category_id, day::text, post_count as posts, like_count::int as likes, comment_count::int as comments
       from app_public.category_daily_stats where category_id = any($1) and post_count > 0 order by 1, 2`,
    [categories],
  );
  return rows;
}

beforeAll(async () => {
  server = await startTestServer();
  recorder = recordStatements(server.agora.authPool);
  author = await createTestUser();
  fans = await Promise.all(Array.from({ length: 3 }, () => createTestUser()));
  [categoryId, otherCategoryId] = await bulkLoad(async (db) => {
    const ids: string[] = [];
    for (const name of ["Stats test", "Stats other"]) {
      ids.push((await db.query("insert into app_public.categories (slug, name) values ($1, $2) returning id", [slug(), name])).rows[0].id);
    }
    // 30 published posts over the last 60 days, two drafts, each with i % 4 likes.
    await db.query(
      `insert into app_public.posts (author_id, category_id, title, body, status, published_at)
       select $1, $2, 'Stats post ' || i, 'Body ' || i, case when i > 30 then 'draft' else 'published' end::app_public.content_status,
              case when i <= 30 then now() - make_interval(days => i * 2) end
         from generate_series(1, 32) i`,
      [author.id, ids[0]],
    );
    return ids;
  });
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

describe("category statistics", () => {
  it("stay equal to the posts through likes, comments, edits, moves, hiding and deletion", async () => {
    const posts = (await rootDb().query<{ id: string }>("select id from app_public.posts where category_id = $1 and status = 'published' order by published_at desc", [categoryId])).rows.map((r) => r.id);
    // Likes and a comment (the reaction and comment triggers move the post's counters), an unlike.
    const db = rootDb();
    for (const [i, fan] of fans.entries()) {
      await db.query("insert into app_public.reactions (user_id, kind, post_id) select $1, 'like', unnest($2::uuid[])", [fan.id, posts.slice(0, 5 + i)]);
    }
    await db.query("insert into app_public.comments (post_id, author_id, body) values ($1, $2, 'Nice')", [posts[0], fans[0].id]);
    await db.query("delete from app_public.reactions where user_id = $1 and post_id = $2", [fans[1].id, posts[1]]);
    expect(await maintained([categoryId])).toEqual(await truth([categoryId]));

    // An edit, a move to another category, a draft published, archiving, deleting, hiding, a new publication time, a hard delete.
    await db.query("update app_public.posts set title = 'Edited title' where id = $1", [posts[0]]);
    await db.query("update app_public.posts set category_id = $2 where id = $1", [posts[2], otherCategoryId]);
    await db.query("update app_public.posts set status = 'published' where category_id = $1 and status = 'draft' and title = 'Stats post 31'", [categoryId]);
    await db.query("update app_public.posts set status = 'archived' where id = $1", [posts[3]]);
    await db.query("update app_public.posts set status = 'deleted' where id = $1", [posts[4]]);
    await db.query("update app_public.posts set status = 'hidden' where id = $1", [posts[5]]);
    await db.query("update app_public.posts set published_at = published_at - interval '3 days' where id = $1", [posts[6]]);
    await db.query("delete from app_public.posts where id = $1", [posts[7]]);
    const both = [categoryId, otherCategoryId];
    const expected = await truth(both);
    expect(await maintained(both)).toEqual(expected);
    expect(expected.find((r) => r.category_id === otherCategoryId)?.posts).toBe(1);

    // The rebuild (the seed's path) writes the same rows.
    await rootDb().query("select app_private.category_stats_rebuild()");
    expect(await maintained(both)).toEqual(expected);
  });

  it("are served with the category's page of posts in one SQL statement", async () => {
    const since = new Date(Date.now() - 30 * 86400_000);
    const variables = { category: categoryId, after: since.toISOString(), since: since.toISOString().slice(0, 10) };
    let res: Awaited<ReturnType<typeof server.graphql>> | undefined;
    const statements = await recorder.during(async () => {
      res = await server.graphql(CATEGORY_PAGE, variables);
    });
    expect(res!.errors).toBeUndefined();
    const category = (res!.data as { categoryByRowId: { postStats: Stats; postsByCategoryId: { nodes: Array<{ likeCount: number; publishedAt: string }> } } }).categoryByRowId;
    const { rows } = await rootDb().query(
      `select count(*)::int as posts, coalesce(sum(like_count), 0)::text as likes, coalesce(sum(comment_count), 0)::text as comments,
              round(avg(like_count), 2)::text as average
         from app_public.posts
        where category_id = $1 and status in ('published', 'archived') and published_at >= $2::date`,
      [categoryId, variables.since],
    );
    expect(category.postStats).toEqual({ postCount: rows[0].posts, likeCount: rows[0].likes, commentCount: rows[0].comments, likeAverage: rows[0].average });
    expect(category.postStats.postCount).toBeGreaterThan(5);
    const likes = category.postsByCategoryId.nodes.map((n) => n.likeCount);
    expect(likes).toEqual([...likes].sort((a, b) => b - a));
    expect(category.postsByCategoryId.nodes.every((n) => new Date(n.publishedAt) >= since)).toBe(true);
    expect(dataStatements(statements)).toHaveLength(1);
  });

  it("count only public posts: all-time when since is omitted, zeros for an empty window", async () => {
    const res = await server.graphql(`query($c: UUID!) { categoryByRowId(rowId: $c) { all: postStats { postCount } none: postStats(since: "2999-01-01") { postCount likeCount likeAverage } } }`, { c: categoryId });
    expect(res.errors).toBeUndefined();
    const { rows } = await rootDb().query("select count(*)::int as n from app_public.posts where category_id = $1 and status in ('published', 'archived')", [categoryId]);
    expect(res.data).toEqual({ categoryByRowId: { all: { postCount: rows[0].n }, none: { postCount: 0, likeCount: "0", likeAverage: null } } });
  });

  it("are hidden with an inactive category from anonymous visitors and members, shown to category managers", async () => {
    const hiddenId = await bulkLoad(async (db) => {
      const id = (await db.query("insert into app_public.categories (slug, name, is_active) values ($1, 'Inactive stats', false) returning id", [slug()])).rows[0].id;
      await db.query("insert into app_public.posts (author_id, category_id, title, body, status) values ($1, $2, 'Secret plan', 'Body', 'published')", [author.id, id]);
      return id;
    });
    const read = "select count(*)::int as n from app_public.category_daily_stats where category_id = $1";
    expect((await asRole({ role: "anonymous" }, (db) => db.query(read, [hiddenId]))).rows[0].n).toBe(0);
    expect((await asRole(asUser(fans[0]), (db) => db.query(read, [hiddenId]))).rows[0].n).toBe(0);
    const manager = await createTestUser({ roles: ["admin"] });
    expect((await asRole(asUser(manager), (db) => db.query(read, [hiddenId]))).rows[0].n).toBe(1);
    // Through GraphQL: by the connection and its aggregates, by key, by node and through the category. The manager sees the row …
    const paths = `query($c: UUID!, $day: Date!, $node: ID!) {
      allCategoryDailyStats(condition: { categoryId: $c }) { totalCount nodes { postCount } aggregates { sum { postCount } } }
      categoryDailyStatByCategoryIdAndDay(categoryId: $c, day: $day) { postCount }
      node(id: $node) { __typename }
      categoryByRowId(rowId: $c) { postStats { postCount } }
    }`;
    const managerToken = server.tokenFor(manager);
    const day = new Date().toISOString().slice(0, 10);
    const own = await server.graphql(`query($c: UUID!) { allCategoryDailyStats(condition: { categoryId: $c }) { nodes { id day } } }`, { c: hiddenId }, { token: managerToken });
    const row = (own.data as { allCategoryDailyStats: { nodes: Array<{ id: string; day: string }> } }).allCategoryDailyStats.nodes[0];
    expect(row.day).toBe(day);
    const variables = { c: hiddenId, day, node: row.id };
    expect((await server.graphql(paths, variables, { token: managerToken })).data).toEqual({
      allCategoryDailyStats: { totalCount: 1, nodes: [{ postCount: 1 }], aggregates: { sum: { postCount: "1" } } },
      categoryDailyStatByCategoryIdAndDay: { postCount: 1 },
      node: { __typename: "CategoryDailyStat" },
      categoryByRowId: { postStats: { postCount: 1 } },
    });
    // … anonymous visitors and members get nothing through any of those paths.
    for (const token of [undefined, server.tokenFor(fans[0])]) {
      const res = await server.graphql(paths, variables, token ? { token } : {});
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({
        allCategoryDailyStats: { totalCount: 0, nodes: [], aggregates: { sum: { postCount: "0" } } },
        categoryDailyStatByCategoryIdAndDay: null,
        node: null,
        categoryByRowId: null,
      });
    }
    // Nobody writes them but the database.
    const write = await server.graphql(`mutation { createCategoryDailyStat(input: {}) { clientMutationId } }`, {}, { token: managerToken });
    expect(write.errors?.[0]?.message).toMatch(/Cannot query field|Unknown type/);
    await expect(asRole(asUser(manager), (db) => db.query("update app_public.category_daily_stats set post_count = 1000"))).rejects.toThrow(/permission denied/);
  });
});

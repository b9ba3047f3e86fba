/**
 * Leaderboards and trending on a small fixed data set: the materialized
 * views' contents, ranks and ties, the formula, the GraphQL Relay lists, and a
 * concurrent refresh that does not block a reader.
 */
import { closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { startTestServer, type TestServer } from "../helpers/server";
import { arrangePost, arrangeQuestion, newClient, setStatus } from "./fixtures";
import { dataStatements, recordStatements } from "../helpers/statements";

let server: TestServer;
let recorder: ReturnType<typeof recordStatements>;
beforeAll(async () => {
  server = await startTestServer();
  recorder = recordStatements(server.agora.authPool);
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const ago = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();

async function ledgerAt(user: TestUser, points: number, hoursAgo: number): Promise<void> {
  await rootDb().query(
    "insert into app_public.reputation_events (user_id, points, reason, is_vote, created_at) values ($1, $2, 'answer_liked', true, $3)",
    [user.id, points, ago(hoursAgo)],
  );
}

async function refresh(): Promise<void> {
  await rootDb().query("select app_private.refresh_rankings()");
}

describe("leaderboards", () => {
  it("rank reputation gained in the last week, month and ever; ties go to the lower user id", async () => {
    const [a, b, c, d] = await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser()]);
    await ledgerAt(a, 50, 1);
    await ledgerAt(a, 100, 20 * 24);
    await ledgerAt(a, 1000, 60 * 24);
    await ledgerAt(b, 50, 2);
    await ledgerAt(c, 30, 3 * 24);
    await ledgerAt(c, -10, 1);
    await refresh();
    const { rows } = await rootDb().query<{ period: string; user_id: string; points: number; rank: number }>(
      "select period, user_id, points, rank from app_public.leaderboard_entries where user_id = any($1) order by period, rank",
      [[a.id, b.id, c.id, d.id]],
    );
    const board = (period: string) => rows.filter((r) => r.period === period).map((r) => [r.user_id, r.points]);
    const [first, second] = [a.id, b.id].sort();
    expect(board("week")).toEqual([[first, 50], [second, 50], [c.id, 20]]);
    expect(board("month")).toEqual([[a.id, 150], [b.id, 50], [c.id, 20]]);
    expect(board("all")).toEqual([[a.id, 1150], [b.id, 50], [c.id, 20]]);
    // Ranks are 1..n without gaps, per period.
    const gaps = await rootDb().query(
      "select period from app_private.leaderboard_scores group by period having max(rank) <> count(*) or min(rank) <> 1",
    );
    expect(gaps.rows).toEqual([]);
    // A deactivated member drops out at once, before the next refresh.
    await rootDb().query("update app_public.users set is_active = false where id = $1", [a.id]);
    const after = await rootDb().query("select 1 from app_public.leaderboard_entries where user_id = $1", [a.id]);
    expect(after.rows).toEqual([]);
  });
});

describe("trending", () => {
  it("scores by time-decayed engagement, per the formula and its settings", async () => {
    const author = await createTestUser();
    const fresh = await arrangePost(author, { likes: 10, publishedAt: ago(1) });
    const old = await arrangePost(author, { likes: 1000, publishedAt: ago(48) });
    const discussed = await arrangePost(author, { comments: 5, views: 100, publishedAt: ago(2) });
    const hidden = await arrangePost(author, { likes: 5000, publishedAt: ago(1) });
    const tooOld = await arrangePost(author, { likes: 5000, publishedAt: ago(40 * 24) });
    const question = await arrangeQuestion(author, { answers: 4, likes: 2, publishedAt: ago(5) });
    await setStatus("posts", hidden, "hidden");
    await refresh();
    const { rows } = await rootDb().query<{ kind: string; id: string; score: number; rank: number; computed_at: Date; published_at: Date }>(
      `select t.kind, t.id, t.score, t.rank, t.computed_at, coalesce(p.published_at, q.published_at) as published_at
         from app_public.trending_items t
         left join app_public.posts p on p.id = t.post_id left join app_public.questions q on q.id = t.question_id
        where t.id = any($1) order by t.kind, t.rank`,
      [[fresh, old, discussed, hidden, tooOld, question]],
    );
    expect(rows.map((r) => r.id)).toEqual([old, fresh, discussed, question]); // 1000/50^1.5 > 10/3^1.5 > 11.3/4^1.5
    const hours = (r: (typeof rows)[number]) => (r.computed_at.getTime() - r.published_at.getTime()) / 3600_000;
    const expected = (r: (typeof rows)[number], engagement: number) => engagement / Math.pow(hours(r) + 2, 1.5);
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[fresh].score).toBeCloseTo(expected(byId[fresh], 10), 6);
    expect(byId[old].score).toBeCloseTo(expected(byId[old], 1000), 6);
    expect(byId[discussed].score).toBeCloseTo(expected(byId[discussed], 2 * 5 + 0.5 * Math.log(101)), 6);
    expect(byId[question].score).toBeCloseTo(expected(byId[question], 2 + 3 * 4), 6);
    // Hidden after the refresh: gone from the list at once.
    await setStatus("posts", fresh, "hidden");
    const still = await rootDb().query("select 1 from app_public.trending_items where id = $1", [fresh]);
    expect(still.rows).toEqual([]);
  });
});

describe("GraphQL", () => {
  it("serves leaderboards and trending as Relay connections, and reputation and level on users", async () => {
    const [u, author] = await Promise.all([createTestUser(), createTestUser()]);
    await ledgerAt(u, 60, 1);
    const post = await arrangePost(author, { likes: 100000, title: "Most trending", publishedAt: ago(0) });
    await refresh();
    const res = await server.graphql<{
      leaderboard: { nodes: { rank: number; points: number; user: { rowId: string; reputation: number; level: string } }[]; pageInfo: { hasNextPage: boolean } };
      trending: { edges: { cursor: string; node: { rank: number; post: { rowId: string; title: string } } }[] };
    }>(
      `query { leaderboard(period: "week", first: 100) { nodes { rank points user { rowId reputation level } } pageInfo { hasNextPage } }
               trending(kind: "post", first: 1) { edges { cursor node { rank post { rowId title } } } } }`,
    );
    expect(res.errors).toBeUndefined();
    const mine = res.data!.leaderboard.nodes.find((n) => n.user.rowId === u.id);
    expect(mine).toMatchObject({ points: 60, user: { reputation: 61, level: "beginner" } });
    const ranks = res.data!.leaderboard.nodes.map((n) => n.rank);
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    expect(res.data!.trending.edges[0].node).toEqual({ rank: 1, post: { rowId: post, title: "Most trending" } });
    expect(typeof res.data!.trending.edges[0].cursor).toBe("string");
  });

  it("pages by cursor in rank order (keyset on rank, no gaps or repeats)", async () => {
    const users = await Promise.all([1, 2, 3, 4, 5].map(() => createTestUser()));
    for (const [i, u] of users.entries()) await ledgerAt(u, 1000 + i, 1);
    await refresh();
    type Page = { leaderboard: { edges: { cursor: string; node: { rank: number } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const page = (after: string | null) =>
      server.graphql<Page>(`query ($after: Cursor) { leaderboard(period: "week", first: 2, after: $after) { edges { cursor node { rank } } pageInfo { hasNextPage endCursor } } }`, { after });
    const ranks: number[] = [];
    let after: string | null = null;
    for (let i = 0; i < 3; i++) {
      const res: Awaited<ReturnType<typeof page>> = await page(after);
      expect(res.errors).toBeUndefined();
      ranks.push(...res.data!.leaderboard.edges.map((e) => e.node.rank));
      after = res.data!.leaderboard.pageInfo.endCursor;
    }
    // At least these five are on the board (other test files may add more): ranks 1, 2, 3… in order, none skipped or repeated.
    expect(ranks.length).toBeGreaterThanOrEqual(5);
    expect(ranks).toEqual(ranks.map((_, i) => i + 1));
  });

  // The bench's pages (bench/scenarios.ts), as a member: one data statement each, users and content included.
  it.each([
    ["leaderboard", `query { leaderboard(period: "week", first: 20) { nodes { rank points user { rowId username displayName reputation level } } pageInfo { hasNextPage endCursor } } }`],
    ["trending", `query { trending(kind: "post", first: 20) { nodes { rank score post { rowId title slug likeCount commentCount publishedAt userByAuthorId { rowId username } } } pageInfo { hasNextPage endCursor } } }`],
    ["trending questions", `query { trending(kind: "question", first: 20) { nodes { rank score question { rowId title answerCount userByAuthorId { rowId username } } } pageInfo { hasNextPage endCursor } } }`],
  ])("a %s page is one SQL statement", async (_name, query) => {
    const [viewer, author] = await Promise.all([createTestUser(), createTestUser()]);
    await ledgerAt(author, 30, 2);
    await arrangePost(author, { likes: 50, title: "Counted", publishedAt: ago(1) });
    await arrangeQuestion(author, { likes: 50, title: "Counted too", publishedAt: ago(1) });
    await refresh();
    const token = server.agora.tokens.sign({ sub: viewer.id, sid: viewer.sessionId });
    let res: Awaited<ReturnType<typeof server.graphql>> | undefined;
    const statements = await recorder.during(async () => {
      res = await server.graphql(query, {}, { token });
    });
    expect(res!.errors).toBeUndefined();
    const nodes = Object.values(res!.data as Record<string, { nodes: unknown[] }>)[0].nodes;
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((n) => Object.values(n as object).every((v) => v !== null))).toBe(true);
    expect(dataStatements(statements).map((s) => s.text)).toHaveLength(1);
  });
});

describe("refresh", () => {
  it("runs concurrently with a reader: neither waits for the other", async () => {
    await refresh();
    const reader = await newClient();
    const refresher = await newClient();
    try {
      await reader.query("begin");
      const before = await reader.query("select count(*)::int as n from app_public.leaderboard_entries");
      expect(before.rows[0].n).toBeGreaterThanOrEqual(0);
      // The reader's transaction is open and holds its lock on the materialized view.
      await refresher.query("set lock_timeout = '3s'");
      await refresher.query("select app_private.refresh_rankings()"); // completes: not blocked by the reader
      const during = await reader.query("select count(*)::int as n from app_public.trending_items");
      expect(during.rows[0].n).toBeGreaterThanOrEqual(0);
      // A plain (non-concurrent) refresh would wait for the reader: proof the reader holds a lock.
      await refresher.query("set lock_timeout = '300ms'");
      expect(await sqlErrorCode(refresher.query("refresh materialized view app_private.leaderboard_scores"))).toBe("55P03");
      await reader.query("commit");
    } finally {
      await reader.end();
      await refresher.end();
    }
  });
});

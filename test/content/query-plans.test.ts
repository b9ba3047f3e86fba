/**
 * On a database with 100k posts, the feed, the filtered lists, search and "my
 * reaction" use their indexes: EXPLAIN of the exact SQL PostGraphile sends
 * (with the same role and claims) shows no sequential scan of the big tables.
 * The plans' index names are printed for the record.
 */
import { autoExplainNested, explainAs, plansDuring, type PlanNode } from "../helpers/plans";
import pg from "pg";
import { startTestServer, type TestServer } from "../helpers/server";
import { dataStatements, recordStatements, type Statement } from "../helpers/statements";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/scratch";

jest.setTimeout(300_000);

const POSTS = 100_000;
const USERS = 2_000;
// users has only 2k rows here: a sequential scan of it is the planner's right choice.
const BIG_TABLES = ["posts", "questions", "answers", "comments", "search_entries"];

let server: TestServer;
let scratch: ScratchDatabase;
let root: pg.Pool;
let viewer: { id: string; sessionId: string };
let category: string;

beforeAll(async () => {
  scratch = await createScratchDatabase(`agora_plans_${process.pid}`);
  root = scratch.root;
  const client = await root.connect();
  try {
    await client.query("begin");
    // A fixture, not a user flow: rows are written complete (slug, counters,
    // normalised tags), so per-row triggers are switched off for the load.
    await client.query("set local session_replication_role = replica");
    await client.query(
      `insert into app_public.users (username, display_name, bio)
       select 'plan_user_' || i, 'Plan User ' || i, 'Writes about topic ' || (i % 50) from generate_series(1, $1) i`,
      [USERS],
    );
    await client.query(
      `insert into app_public.categories (slug, name) select 'plan-cat-' || i, 'Category ' || i from generate_series(1, 20) i`,
    );
    await client.query(
      `with u as (select array_agg(id order by username) ids from app_public.users),
            c as (select array_agg(id order by slug) ids from app_public.categories)
       insert into app_public.posts (author_id, category_id, title, slug, body, tags, status, published_at, like_count, comment_count)
       select u.ids[1 + (i % $2)], c.ids[1 + (i % 20)],
              'Post ' || i || ' about ' || (array['postgres', 'graphql', 'typescript', 'rust', 'design'])[1 + i % 5],
              'post-' || i,
              'Body of post ' || i || ' discussing indexing, planning and performance number ' || (i % 997),
              array[(array['postgres', 'graphql', 'typescript', 'rust', 'design'])[1 + i % 5], 't' || (i % 40)],
              case when i % 50 = 0 then 'draft'::app_public.content_status else 'published' end,
              now() - (i || ' minutes')::interval, i % 113, i % 37
         from generate_series(1, $1) i, u, c`,
      [POSTS, USERS],
    );
    await client.query(
      `with u as (select array_agg(id order by username) ids from app_public.users),
            c as (select array_agg(id order by slug) ids from app_public.categories)
       insert into app_public.questions (author_id, category_id, title, slug, body, tags, status, published_at)
       select u.ids[1 + (i % $1)], c.ids[1 + (i % 20)], 'Question ' || i || ' on replication lag', 'question-' || i,
              'How do I measure replication lag number ' || (i % 991), array['q' || (i % 30)], 'published', now() - (i || ' minutes')::interval
         from generate_series(1, 20000) i, u, c`,
      [USERS],
    );
    await client.query(
      `insert into app_public.answers (question_id, author_id, body, status)
       select q.id, q.author_id, 'Answer about lag measurement ' || q.slug, 'published' from app_public.questions q, generate_series(1, 2)`,
    );
    await client.query(
      `insert into app_public.comments (post_id, author_id, body)
       select p.id, p.author_id, 'Comment on ' || p.slug from app_public.posts p where p.like_count < 40`,
    );
    const v = await client.query("select id from app_public.users where username = 'plan_user_1'");
    viewer = { id: v.rows[0].id, sessionId: "" };
    // Ten followees (500 of the 100k posts): at 2.5% and more the planner rightly prefers one sequential scan of posts.
    await client.query(
      `insert into app_public.follows (follower_id, followee_id)
       select $1, id from app_public.users where username <> 'plan_user_1' order by username limit 10`,
      [viewer.id],
    );
    await client.query(
      `insert into app_public.posts (author_id, title, slug, body, status, published_at)
       select id, 'Kubernetes autoscaling deep dive', 'kubernetes-autoscaling', 'Horizontal pod autoscalers explained', 'published', now()
         from app_public.users where username = 'plan_user_2'`,
    );
    viewer.sessionId = (await client.query("select app_private.start_session($1, null, 'plans') as id", [viewer.id])).rows[0].id;
    category = (await client.query("select id from app_public.categories where slug = 'plan-cat-3'")).rows[0].id;
    // Triggers were off: fill the search table in one statement, as the seed does.
    await client.query("select app_private.search_rebuild()");
    await client.query("select app_private.feed_rebuild()"); // the feeds too
    await client.query("commit");
    await client.query("vacuum analyze"); // as autovacuum would: merges the GIN pending lists, gathers statistics
  } finally {
    client.release();
  }
  server = await startTestServer(scratch.env);
  await server.graphql("{ __typename }"); // the schema's first use introspects: keep that out of the recordings
});

afterAll(async () => {
  await server?.stop();
  await scratch?.drop();
});

/**
 * EXPLAINs the request's one data statement as the request ran it: same
 * role, same claims. `nested`: also the plans of the statements it ran
 * inside functions (search candidates inside a security-definer function).
 */
async function explainRequest(query: string, variables: Record<string, unknown> = {}, nested = false): Promise<PlanNode[]> {
  const recorder = recordStatements(server.agora.authPool);
  const token = server.agora.tokens.sign({ sub: viewer.id, sid: viewer.sessionId });
  let errors: unknown;
  const statements: Statement[] = dataStatements(
    await recorder.during(async () => {
      errors = (await server.graphql(query, variables, { token })).errors;
    }),
  );
  expect(errors).toBeUndefined();
  expect(statements).toHaveLength(1);
  return explainAs(root, viewer, statements[0].text, statements[0].values, { nested, analyze: true });
}

function expectIndexed(name: string, nodes: PlanNode[], expectedIndex: RegExp) {
  const seqScans = nodes.filter((n) => n["Node Type"] === "Seq Scan" && BIG_TABLES.includes(n["Relation Name"] ?? ""));
  const indexes = [...new Set(nodes.map((n) => n["Index Name"]).filter(Boolean))];
  if (process.env.DEBUG_PLANS) console.log(nodes.map((n) => `${n["Node Type"]} ${n["Relation Name"] ?? ""} ${n["Index Name"] ?? ""}`).join("\n"));
  console.log(`${name}: indexes ${indexes.join(", ")}`);
  expect(seqScans.map((n) => n["Relation Name"])).toEqual([]);
  expect(indexes.some((i) => expectedIndex.test(i!))).toBe(true);
}

describe(`query plans on ${POSTS.toLocaleString("en")} posts`, () => {
  it("the feed walks my timeline's key in order: no sort, no scan of my followees' posts", async () => {
    const nodes = await explainRequest(
      `{ allPosts(first: 20, condition: { inMyFeed: true }, orderBy: [PUBLISHED_AT_DESC]) { nodes { title likeCount viewerReaction userByAuthorId { username } categoryByCategoryId { name } } } }`,
    );
    expectIndexed("feed", nodes, /^feed_entries_pkey$/);
    expect(nodes.filter((n) => n["Node Type"] === "Sort" || n["Node Type"] === "Incremental Sort")).toEqual([]);
    expect(nodes.filter((n) => /^posts_(author|category)_published_idx$/.test(n["Index Name"] ?? ""))).toEqual([]);
  });

  it("a category list sorted by newest uses an index", async () => {
    const nodes = await explainRequest(
      `query($c: UUID!) { allPosts(first: 20, condition: { categoryId: $c }, orderBy: [PUBLISHED_AT_DESC]) { nodes { title } } }`,
      { c: category },
    );
    // (category_id, published_at), or the published_at order filtered by category: both indexed.
    expectIndexed("category list", nodes, /^posts_(category_published|published_at)_idx$/);
  });

  it("a tag list uses the GIN index on tags, or the published_at order", async () => {
    const nodes = await explainRequest(`{ allPosts(first: 20, condition: { tag: "t7" }, orderBy: [PUBLISHED_AT_DESC]) { nodes { title } } }`);
    expectIndexed("tag list", nodes, /^posts_(tags_idx|published_at_idx)$/);
  });

  it("an author list and a date range use their indexes", async () => {
    const author = await explainRequest(
      `query($a: UUID!) { allPosts(first: 20, condition: { authorId: $a }, orderBy: [PUBLISHED_AT_DESC]) { nodes { title } } }`,
      { a: viewer.id },
    );
    expectIndexed("author list", author, /^posts_author_published_idx$/);
    const range = await explainRequest(
      `query($after: Datetime!) { allPosts(first: 20, condition: { publishedAfter: $after }, orderBy: [PUBLISHED_AT_DESC]) { nodes { title } } }`,
      { after: new Date(Date.now() - 3600_000).toISOString() },
    );
    expectIndexed("date range", range, /^posts_published_at_idx$/);
  });

  it("most liked and most commented use their counter indexes", async () => {
    expectIndexed("most liked", await explainRequest(`{ allPosts(first: 20, orderBy: [LIKE_COUNT_DESC]) { nodes { title } } }`), /^posts_like_count_idx$/);
    expectIndexed(
      "most commented",
      await explainRequest(`{ allPosts(first: 20, orderBy: [COMMENT_COUNT_DESC]) { nodes { title } } }`),
      /^posts_comment_count_idx$/,
    );
  });

  it("search for a rare word reads its matches from the full-text GIN index", async () => {
    const nodes = await explainRequest(`{ search(query: "4242", first: 20) { nodes { kind title snippet rank } } }`, {}, true);
    expectIndexed("search", nodes, /^search_entries_doc_idx$/);
  });

  it("search for words in every document answers from a small tier, never the whole table", async () => {
    type Scan = PlanNode & { "Actual Rows": number; "Actual Loops": number };
    for (const query of ["performance", "indexing performance"]) {
      const nodes = await explainRequest(`query($q: String!) { search(query: $q, first: 20) { nodes { kind title snippet rank } } }`, { q: query }, true);
      expectIndexed(`common search "${query}"`, nodes, /^search_entries_doc_tier[12]_idx$/);
      // The ranked set is bounded by search.candidates (100): the answering
      // tier (≈ 1,000 entries) holds a few hundred of the 100k matches …
      const tiers = nodes.filter((n) => /^search_entries_doc_tier\d_idx$/.test(n["Index Name"] ?? "")) as Scan[];
      expect(Math.max(...tiers.map((n) => n["Actual Rows"]))).toBeLessThan(2_000);
      // … and they are provably the best 100, so neither the whole table nor the similar titles are searched.
      const whole = nodes.filter((n) => /^search_entries_(score|doc|title_trgm_tier2)_idx$/.test(n["Index Name"] ?? ""));
      expect(whole).toEqual([]);
    }
  });

  it("search ranks through the tiers exactly the candidates the whole table gives (up to ties at the cut-off score)", async () => {
    const client = await root.connect();
    // The candidates with their static score, as the viewer searches (search_candidates reads the claims).
    const candidates = async (q: string) => {
      const { rows } = await client.query<{ key: string; score: number }>(
        `select c.kind || ':' || c.id as key, e.score
           from app_hidden.search_candidates($1, null, null, null, null, null, null, null, true) c
           join app_private.search_entries e on e.kind = c.kind and e.id = c.id`,
        [q],
      );
      const cut = Math.min(...rows.map((r) => r.score));
      // Which of several entries tied at the last score make the cut is arbitrary, with or without the tiers.
      return { count: rows.length, atCut: rows.filter((r) => r.score === cut).length, above: rows.filter((r) => r.score > cut).map((r) => r.key).sort() };
    };
    // (Not a word with fewer full-text matches than search.fuzzy_threshold: the similar titles added then are any 100, tier or not.)
    const queries = ["performance", "indexing performance", "replication lag", "lag measurement", "kubernetes", "autoscal"];
    try {
      await client.query("begin");
      await client.query("select set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [viewer.id, viewer.sessionId]);
      const { rows: tiers } = await client.query<{ tier: number; entries: number }>(
        "select tier, count(*)::int as entries from app_private.search_entries group by tier order by tier",
      );
      // The tiers are placed: each about ten times the one inside it, all of them a small part of the table.
      const size = (k: number) => tiers.filter((t) => t.tier <= k).reduce((sum, t) => sum + t.entries, 0);
      expect(size(1)).toBeGreaterThan(0);
      expect(size(2)).toBeGreaterThan(5 * size(1));
      expect(size(3)).toBeGreaterThan(5 * size(2));
      expect(size(3)).toBeLessThan(size(4) / 10);
      const tiered = [];
      for (const q of queries) tiered.push(await candidates(q));
      expect(tiered.slice(0, 2).map((t) => t.count)).toEqual([100, 100]); // common words: a tier answers
      expect(tiered.every((t) => t.count > 0)).toBe(true);
      // No tiers: every entry in tier 1, floors -infinity (as for entries written since the tiers were placed).
      await client.query("update app_private.search_entries set tier = 1 where tier > 1");
      await client.query("update app_private.search_tiers set floor = '-infinity'");
      const whole = [];
      for (const q of queries) whole.push(await candidates(q));
      expect(tiered).toEqual(whole);
    } finally {
      await client.query("rollback");
      client.release();
    }
  });

  it("a changed entry comes in tier 1 (found first) until the tier refresh places it by its score", async () => {
    const client = await root.connect();
    try {
      await client.query("begin");
      // The oldest post: far below every floor.
      const { rows: old } = await client.query<{ id: string }>("select id from app_public.posts where status = 'published' order by published_at limit 1");
      const tierOf = async () =>
        (await client.query<{ tier: number }>("select tier from app_private.search_entries where kind = 'post' and id = $1", [old[0].id])).rows[0].tier;
      expect(await tierOf()).toBe(4);
      await client.query("update app_public.posts set title = title || ' (edited)' where id = $1", [old[0].id]);
      expect(await tierOf()).toBe(1);
      const { rows } = await client.query<{ floors: number[] }>("select app_private.search_tiers_refresh() as floors");
      expect(rows[0].floors).toHaveLength(3);
      expect(rows[0].floors[0]).toBeGreaterThanOrEqual(rows[0].floors[1]);
      expect(rows[0].floors[1]).toBeGreaterThanOrEqual(rows[0].floors[2]);
      expect(await tierOf()).toBe(4);
      // Every entry sits in the smallest tier whose floor its score reaches.
      const { rows: misplaced } = await client.query(
        `select count(*)::int as n from app_private.search_entries e
          where e.tier <> case when e.score >= $1 then 1 when e.score >= $2 then 2 when e.score >= $3 then 3 else 4 end`,
        rows[0].floors,
      );
      expect(misplaced[0].n).toBe(0);
    } finally {
      await client.query("rollback");
      client.release();
    }
  });

  it("a misspelling finds titles of tier 2 (new, changed, popular), an old title only by its words; tier shares must be three", async () => {
    const client = await root.connect();
    const found = async (q: string) =>
      (await client.query<{ title: string }>("select title from app_hidden.search_candidates($1, null, null, null, null, null, null, null, true)", [q])).rows.map(
        (r) => r.title,
      );
    try {
      await client.query("begin");
      const { rows } = await client.query<{ id: string }>(
        `insert into app_public.posts (author_id, title, body, status, published_at)
         values ($1, 'Zebrafish telemetry pipelines', 'Notes.', 'published', '2015-01-01') returning id`,
        [viewer.id],
      );
      await client.query("select set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [viewer.id, viewer.sessionId]);
      // New: in tier 1 until the tiers are placed, so a misspelling finds it.
      expect(await found("zebrafsh telemetri")).toContain("Zebrafish telemetry pipelines");
      await client.query("select app_private.search_tiers_refresh()");
      expect((await client.query("select tier from app_private.search_entries where kind = 'post' and id = $1", [rows[0].id])).rows[0].tier).toBe(4);
      // Placed by its 2015 score outside the tiers: found by its words, no longer by the misspelling.
      expect(await found("zebrafish telemetry")).toContain("Zebrafish telemetry pipelines");
      expect(await found("zebrafsh telemetri")).not.toContain("Zebrafish telemetry pipelines");
      await client.query("savepoint shares");
      await client.query("update app_private.settings set value = '[0.01]' where key = 'search.tier_shares'");
      const refused = await client.query("select app_private.search_tiers_refresh()").catch((error: { code?: string }) => error.code);
      expect(refused).toBe("INVAL");
      await client.query("rollback to savepoint shares");
    } finally {
      await client.query("rollback");
      client.release();
    }
  });

  it("my reaction is one probe of the (target, user) key for every kind, also as a cached generic plan for a member with very many reactions", async () => {
    // PostgreSQL 18 caches the plans of SQL functions; a generic plan knows
    // neither the target nor the member, so it must still pick the unique
    // (target, user) index and never walk the member's reactions
    // (reactions_user_id_idx) — for this member, most of the table.
    const client = await root.connect();
    let plans: Array<{ text: string; nodes: PlanNode[] }> = [];
    try {
      await client.query("begin");
      await client.query("set local session_replication_role = replica"); // a fixture: no counters
      for (const kind of ["post", "question", "answer", "comment"]) {
        await client.query(
          `insert into app_public.reactions (user_id, kind, ${kind}_id) select $1, 'like', t.id from app_public.${kind}s t`,
          [viewer.id],
        );
      }
      await client.query("analyze app_public.reactions");
      await autoExplainNested(client);
      await client.query("set local plan_cache_mode = force_generic_plan");
      await client.query(
        "select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)",
        [viewer.id, viewer.sessionId],
      );
      let mine: unknown;
      plans = await plansDuring(client, async () => {
        mine = (
          await client.query(
            `select (select array_agg(app_public.posts_viewer_reaction(t))::text[] from (select * from app_public.posts limit 3) t) as posts,
                    (select array_agg(app_public.questions_viewer_reaction(t))::text[] from (select * from app_public.questions limit 3) t) as questions,
                    (select array_agg(app_public.answers_viewer_reaction(t))::text[] from (select * from app_public.answers limit 3) t) as answers,
                    (select array_agg(app_public.comments_viewer_reaction(t))::text[] from (select * from app_public.comments limit 3) t) as comments`,
          )
        ).rows[0];
      });
      expect(mine).toEqual({ posts: ["like", "like", "like"], questions: ["like", "like", "like"], answers: ["like", "like", "like"], comments: ["like", "like", "like"] });
    } finally {
      await client.query("rollback");
      client.release();
    }
    for (const kind of ["post", "question", "answer", "comment"]) {
      const lookups = plans.filter((p) => p.text.includes(`r.${kind}_id = `) && p.text.includes("from app_public.reactions r"));
      const indexes = (p: { nodes: PlanNode[] }) => p.nodes.map((n) => n["Index Name"]).filter(Boolean);
      console.log(`${kind} viewerReaction (generic plan): indexes ${[...new Set(lookups.flatMap(indexes))].join(", ")}`);
      expect(lookups.length).toBeGreaterThanOrEqual(3);
      for (const lookup of lookups) expect(indexes(lookup)).toEqual([`reactions_user_${kind}_key`]);
    }
  });

  it("typo-tolerant search uses the trigram index on the titles of tier 2", async () => {
    const nodes = await explainRequest(`{ search(query: "kubernetse autoscalling", first: 20) { nodes { kind title rank } } }`, {}, true);
    expectIndexed("typo search", nodes, /^search_entries_title_trgm_tier2_idx$/);
  });
});

/**
 * The analyst's views (app_analytics): what they show on a small data set,
 * every column an analyst can reach (no e-mail, secret, token, IP or session
 * data), and that the analyst reads no other schema.
 */
import { asRole, bulkLoad, closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { createTestUser, uniqueName } from "../helpers/users";
import { arrangeAnswer, arrangePost, arrangeQuestion, react } from "./fixtures";

afterAll(closeSqlHelpers);

const asAnalyst = <T>(fn: Parameters<typeof asRole<T>>[1]) => asRole<T>({ role: "analyst" }, fn);

describe("what analysts can reach", () => {
  it("is exactly these columns, none of them an e-mail, secret, token, IP or session", async () => {
    const { rows } = await rootDb().query<{ col: string; type: string; name: string }>(
      `select n.nspname || '.' || c.relname || '.' || a.attname as col, a.attname as name, format_type(a.atttypid, a.atttypmod) as type
         from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where c.relkind in ('r', 'p', 'v', 'm', 'f')
          and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
          and has_schema_privilege('analyst', n.oid, 'usage')
          and has_column_privilege('analyst', c.oid, a.attnum, 'select')
        order by 1`,
    );
    const forbidden = rows.filter(
      (r) => /e_?mail|token|password|passw|secret|hash|(^|_)ips?($|_)|session|user_agent|jwt|otp/i.test(r.name) || /^(inet|cidr)/.test(r.type),
    );
    expect(forbidden).toEqual([]);
    // Every column, listed: a new one is reviewed here before analysts see it.
    expect(rows.map((r) => `${r.col} ${r.type}`)).toEqual([
      "app_analytics.content_per_category_day.answers integer",
      "app_analytics.content_per_category_day.category_id uuid",
      "app_analytics.content_per_category_day.category_slug text",
      "app_analytics.content_per_category_day.comments integer",
      "app_analytics.content_per_category_day.day date",
      "app_analytics.content_per_category_day.likes integer",
      "app_analytics.content_per_category_day.posts integer",
      "app_analytics.content_per_category_day.questions integer",
      "app_analytics.daily_active_users.active_members integer",
      "app_analytics.daily_active_users.day date",
      "app_analytics.job_funnel.applications integer",
      "app_analytics.job_funnel.category_id uuid",
      "app_analytics.job_funnel.job_id uuid",
      "app_analytics.job_funnel.status app_public.job_application_status",
      "app_analytics.job_funnel.week timestamp with time zone",
      "app_analytics.leaderboards.computed_at timestamp with time zone",
      "app_analytics.leaderboards.period text",
      "app_analytics.leaderboards.points integer",
      "app_analytics.leaderboards.rank integer",
      "app_analytics.leaderboards.user_id uuid",
      "app_analytics.leaderboards.username text",
      "app_analytics.reputation_distribution.level text",
      "app_analytics.reputation_distribution.max_reputation integer",
      "app_analytics.reputation_distribution.median_reputation double precision",
      "app_analytics.reputation_distribution.members integer",
      "app_analytics.reputation_distribution.min_reputation integer",
      "app_analytics.trending.computed_at timestamp with time zone",
      "app_analytics.trending.id uuid",
      "app_analytics.trending.kind text",
      "app_analytics.trending.rank integer",
      "app_analytics.trending.score double precision",
    ]);
  });

  it("includes no function of ours", async () => {
    const { rows } = await rootDb().query(
      `select p.oid::regprocedure::text as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname like 'app\\_%' and has_function_privilege('analyst', p.oid, 'execute')`,
    );
    expect(rows).toEqual([]);
  });

  it("refuses the analyst every other schema's tables", async () => {
    for (const sql of [
      "select email from app_public.user_emails limit 1",
      "select username from app_public.users limit 1",
      "select points from app_public.reputation_events limit 1",
      "select ip from app_private.sessions limit 1",
      "select rank from app_private.leaderboard_scores limit 1",
      "select 1 from app_hidden.search_documents limit 1",
      "select 1 from graphile_worker.jobs limit 1",
    ]) {
      expect({ sql, code: await sqlErrorCode(asAnalyst((c) => c.query(sql))) }).toEqual({ sql, code: "42501" });
    }
    const writable = await rootDb().query(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'app_analytics' and (has_table_privilege('analyst', c.oid, 'INSERT')
           or has_table_privilege('analyst', c.oid, 'UPDATE') or has_table_privilege('analyst', c.oid, 'DELETE'))`,
    );
    expect(writable.rows).toEqual([]);
  });

  it("lets the analyst read every app_analytics view", async () => {
    const { rows } = await rootDb().query<{ name: string }>(
      "select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'app_analytics' order by 1",
    );
    expect(rows.map((r) => r.name)).toEqual(["content_per_category_day", "daily_active_users", "job_funnel", "leaderboards", "reputation_distribution", "trending"]);
    for (const { name } of rows) {
      await asAnalyst((c) => c.query(`select * from app_analytics.${name} limit 5`));
    }
  });
});

describe("what the views say", () => {
  it("counts content and likes per category and day, and active members per day", async () => {
    const [author, voter] = await Promise.all([createTestUser(), createTestUser()]);
    const category = await bulkLoad(async (c) => {
      const slug = uniqueName("cat").replace(/_/g, "-");
      const { rows } = await c.query<{ id: string }>("insert into app_public.categories (slug, name) values ($1, 'Analytics') returning id", [slug]);
      return rows[0].id;
    });
    const post = await arrangePost(author, { categoryId: category });
    await arrangePost(author, { categoryId: category, status: "draft" });
    const q = await arrangeQuestion(author, { categoryId: category });
    const a = await arrangeAnswer(voter, q);
    await react(voter, "like", { post });
    await react(author, "like", { answer: a });
    await react(voter, "dislike", { question: q });
    const { rows } = await asAnalyst((c) =>
      c.query(
        `select posts, questions, answers, comments, likes from app_analytics.content_per_category_day
          where category_id = $1 and day = (now() at time zone 'UTC')::date`,
        [category],
      ),
    );
    expect(rows).toEqual([{ posts: 1, questions: 1, answers: 1, comments: 0, likes: 2 }]);
    const dau = await asAnalyst((c) =>
      c.query("select active_members from app_analytics.daily_active_users where day = (now() at time zone 'UTC')::date"),
    );
    expect(dau.rows[0].active_members).toBeGreaterThanOrEqual(2);
  });

  it("distributes active members over the levels, and mirrors the leaderboards", async () => {
    await rootDb().query("select app_private.refresh_rankings()");
    const [dist, total, boards, source] = await Promise.all([
      asAnalyst((c) => c.query<{ level: string; members: number }>("select level, members from app_analytics.reputation_distribution")),
      rootDb().query<{ n: number }>("select count(*)::int as n from app_public.users where is_active"),
      asAnalyst((c) => c.query<{ n: number }>("select count(*)::int as n from app_analytics.leaderboards")),
      rootDb().query<{ n: number }>("select count(*)::int as n from app_private.leaderboard_scores"),
    ]);
    expect(dist.rows.every((r) => ["newcomer", "beginner", "intermediate", "advanced", "expert"].includes(r.level))).toBe(true);
    // Other test files add members meanwhile: the distribution counts at least those active a moment before.
    expect(dist.rows.reduce((s, r) => s + r.members, 0)).toBeLessThanOrEqual(total.rows[0].n);
    expect(dist.rows.reduce((s, r) => s + r.members, 0)).toBeGreaterThan(0);
    expect(boards.rows[0].n).toBe(source.rows[0].n);
  });
});

/**
 * npm run seed: deterministic (same arguments, same rows), consistent
 * (counters equal the rows they count, the reputation ledger passes the
 * DBA check), realistic (Zipf-distributed text over the vocabulary; chat,
 * jobs and reputation at every scale) and usable (the printed demo login
 * works through the real API).
 */
import pg from "pg";
import { seed, vacuumAnalyze } from "../../src/seed";
import { SCALES } from "../../src/seed/scales";
import { DEMO_PASSWORD } from "../../src/seed/steps";
import { VOCABULARY, termsByFrequency, vocabularyRank } from "../../src/seed/vocabulary";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/scratch";
import { startTestServer } from "../helpers/server";
import { login } from "../helpers/auth";

jest.setTimeout(120_000);

const TABLES = [
  "users", "user_emails", "categories", "posts", "questions", "answers", "comments", "reactions", "follows", "bookmarks", "tags",
  "rooms", "room_members", "messages", "message_reactions", "message_reaction_counts", "message_mentions",
  "job_postings", "job_applications", "job_application_events", "reputation_events", "user_badges", "user_roles",
];
/** Columns whose value depends on when the seed ran (now() - …). */
const TIMES = [
  "created_at", "updated_at", "published_at", "last_reply_at", "joined_at", "application_deadline", "closed_at", "starts_on",
  "status_changed_at", "awarded_at", "granted_at",
];
/** Tables whose ids the database draws (identity, gen_random_uuid), not the seed. */
const DRAWN_IDS = ["reputation_events", "job_application_events", "user_badges"];

async function fingerprint(db: ScratchDatabase): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const { rows } = await db.root.query(
      `select count(*) || ':' || coalesce(md5(string_agg(t::text, ',' order by t::text)), '') as f
         from (select to_jsonb(x) - $1::text[] as t from app_public.${table} x) s`,
      [DRAWN_IDS.includes(table) ? [...TIMES, "id"] : TIMES],
    );
    out[table] = rows[0].f;
  }
  return out;
}

/** Every index and constraint of the application schemas with its comment (smart tags live there), and whether triggers are on. */
async function schemaShape(db: ScratchDatabase): Promise<string[]> {
  const { rows } = await db.root.query(`
    select indexdef || ' ' || coalesce(obj_description(format('%I.%I', schemaname, indexname)::regclass, 'pg_class'), '') as d
      from pg_indexes where schemaname in ('app_public', 'app_private')
    union all
    select conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
           || ' ' || coalesce(obj_description(oid, 'pg_constraint'), '') from pg_constraint
     where connamespace in ('app_public'::regnamespace, 'app_private'::regnamespace)
    union all
    select tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text from pg_trigger
     where not tgisinternal and tgrelid::regclass::text like 'app_%'
    order by 1`);
  return rows.map((r) => r.d);
}

let a: ScratchDatabase;
let b: ScratchDatabase;
beforeAll(async () => {
  [a, b] = await Promise.all([createScratchDatabase(`agora_seed_a_${process.pid}`), createScratchDatabase(`agora_seed_b_${process.pid}`)]);
});
afterAll(async () => {
  await a?.drop();
  await b?.drop();
});

describe("the seed", () => {
  it("makes the same rows from the same arguments, and other rows from another seed", async () => {
    const before = await schemaShape(a);
    await seed(a.ownerUrl, SCALES.tiny, 7, false);
    expect(await schemaShape(a)).toEqual(before); // keys, indexes and foreign keys dropped for the load, all rebuilt
    await seed(b.ownerUrl, SCALES.tiny, 7, false);
    const first = await fingerprint(a);
    expect(first.posts.startsWith(`${SCALES.tiny.posts}:`)).toBe(true);
    expect(await fingerprint(b)).toEqual(first);
    await seed(b.ownerUrl, SCALES.tiny, 8, true);
    expect((await fingerprint(b)).posts).not.toEqual(first.posts);
  });

  it("refuses a database that already has members unless told to replace them", async () => {
    await expect(seed(a.ownerUrl, SCALES.tiny, 7, false)).rejects.toThrow(/--replace/);
  });

  it("leaves the database as it was when the load fails part-way", async () => {
    const before = await schemaShape(a);
    const posts = await fingerprint(a);
    // A rule the seed's 13th post breaks (rows already there are exempt).
    await a.root.query(`alter table app_public.posts add constraint seed_test_no_13 check (slug <> 'post-13') not valid`);
    try {
      await expect(seed(a.ownerUrl, SCALES.tiny, 9, true)).rejects.toThrow(/seed_test_no_13/);
    } finally {
      await a.root.query(`alter table app_public.posts drop constraint seed_test_no_13`);
    }
    expect(await fingerprint(a)).toEqual(posts);
    expect(await schemaShape(a)).toEqual(before);
  });

  it("stops its final vacuum analyze on every connection when told to, and leaves none running", async () => {
    // A session holds a lock vacuum needs on one table: that lane waits until it is cancelled.
    const holder = await a.root.connect();
    const owner = new pg.Client({ connectionString: a.ownerUrl });
    await owner.connect();
    try {
      await holder.query("begin");
      await holder.query("lock table app_public.posts in share update exclusive mode");
      const stop = new AbortController();
      const vacuuming = vacuumAnalyze(owner, a.ownerUrl, stop.signal);
      const waiting = async () =>
        (await a.root.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and query ilike 'vacuum analyze%'`)).rows[0].n;
      for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await waiting()).toBeGreaterThan(0);
      stop.abort();
      // Cancelled while the lock is still held (uncancelled, it would wait for the lock forever); a
      // lane that had not yet sent its statement refuses to start ("aborted") — either is a stop.
      await expect(vacuuming).rejects.toThrow(/canceling statement due to user request|aborted/);
      expect(await waiting()).toBe(0);
    } finally {
      await holder.query("rollback");
      holder.release();
      await owner.end();
    }
  });

  it("leaves every counter equal to the rows it counts", async () => {
    const { rows } = await a.root.query(`
      select
        (select count(*) from app_public.posts p where like_count <> (select count(*) from app_public.reactions r where r.post_id = p.id and r.kind = 'like'))
        + (select count(*) from app_public.comments c left join app_public.comments pc on pc.id = c.parent_id
            where c.depth <> coalesce(pc.depth + 1, 1) or c.post_id is distinct from coalesce(pc.post_id, c.post_id))
        + (select count(*) from app_public.posts p where dislike_count <> (select count(*) from app_public.reactions r where r.post_id = p.id and r.kind = 'dislike'))
        + (select count(*) from app_public.posts p where bookmark_count <> (select count(*) from app_public.bookmarks b where b.post_id = p.id))
        + (select count(*) from app_public.comments c where reply_count <> (select count(*) from app_public.comments r where r.parent_id = c.id))
        + (select count(*) from app_public.users u where following_count <> (select count(*) from app_public.follows f where f.follower_id = u.id))
        + (select count(*) from app_public.posts p where comment_count <> (select count(*) from app_public.comments c where c.post_id = p.id))
        + (select count(*) from app_public.questions q where answer_count <> (select count(*) from app_public.answers x where x.question_id = q.id))
        + (select count(*) from app_public.users u where follower_count <> (select count(*) from app_public.follows f where f.followee_id = u.id))
        as wrong`);
    expect(Number(rows[0].wrong)).toBe(0);
  });

  it("keeps the chat's, the jobs board's, the ledger's and the categories' maintained values equal to the rows they summarise", async () => {
    const { rows } = await a.root.query(`
      select
        (select count(*) from app_public.rooms r where member_count <> (select count(*) from app_public.room_members m where m.room_id = r.id)) as member_counts,
        (select count(*) from app_public.messages p where reply_count <> (select count(*) from app_public.messages c where c.parent_id = p.id and c.deleted_at is null)
            or last_reply_at is distinct from (select max(c.created_at) from app_public.messages c where c.parent_id = p.id)) as threads,
        (select count(*) from app_public.messages c join app_public.messages p on p.id = c.parent_id
          where p.room_id <> c.room_id or p.parent_id is not null or p.created_at >= c.created_at) as bad_replies,
        (select count(*) from app_public.messages m where m.kind = 'text'
            and not exists (select 1 from app_public.room_members rm where rm.room_id = m.room_id and rm.user_id = m.author_id)) as outsiders,
        (select count(*) from app_public.message_reactions x join app_public.messages m on m.id = x.message_id
          where not exists (select 1 from app_public.room_members rm where rm.room_id = m.room_id and rm.user_id = x.user_id)) as outside_reactions,
        (select count(*) from (select message_id, emoji, count(*) n from app_public.message_reactions group by 1, 2) g
           full join app_public.message_reaction_counts c using (message_id, emoji) where g.n is distinct from c.count) as reaction_counts,
        (select count(*) from app_public.rooms r where r.kind = 'direct'
            and (select count(*) from app_public.room_members m where m.room_id = r.id and m.user_id in (r.direct_low_id, r.direct_high_id)) <> 2) as direct_pairs,
        (select count(*) from app_public.rooms r where r.kind <> 'direct'
            and (select count(*) from app_public.room_members m where m.room_id = r.id and m.role = 'owner' and m.user_id = r.created_by) <> 1) as owners,
        (select count(*) from app_public.job_postings j
          where application_count <> (select count(*) from app_public.job_applications x where x.job_id = j.id and x.status <> 'withdrawn')) as application_counts,
        (select count(*) from app_public.job_applications x join app_public.job_postings j on j.id = x.job_id
          where j.status = 'draft' or j.employer_id = x.applicant_id
             or not exists (select 1 from app_public.user_roles r where r.user_id = j.employer_id and r.role_id = 'employer')) as bad_applications,
        (select count(*) from app_public.job_applications x
          where x.status <> (select e.to_status from app_public.job_application_events e where e.application_id = x.id order by e.id desc limit 1)) as histories,
        (select count(*) from app_public.answers x where like_count <> (select count(*) from app_public.reactions r where r.answer_id = x.id and r.kind = 'like')
            or dislike_count <> (select count(*) from app_public.reactions r where r.answer_id = x.id and r.kind = 'dislike')) as answer_counts,
        (select count(*) from app_public.questions x where like_count <> (select count(*) from app_public.reactions r where r.question_id = x.id and r.kind = 'like')) as question_counts,
        (select count(*) from app_public.questions q join app_public.answers x on x.id = q.accepted_answer_id where x.question_id <> q.id) as foreign_accepts,
        (select count(*) from (select category_id, (published_at at time zone 'UTC')::date as day, count(*) as n, sum(like_count) as likes, sum(comment_count) as comments
                                 from app_public.posts where status in ('published', 'archived') and published_at is not null and category_id is not null group by 1, 2) g
           full join app_public.category_daily_stats s using (category_id, day)
          where g.n is distinct from s.post_count or g.likes is distinct from s.like_count or g.comments is distinct from s.comment_count) as category_stats`);
    expect(rows[0]).toEqual({
      member_counts: "0", threads: "0", bad_replies: "0", outsiders: "0", outside_reactions: "0", reaction_counts: "0", direct_pairs: "0",
      owners: "0", application_counts: "0", bad_applications: "0", histories: "0", answer_counts: "0", question_counts: "0", foreign_accepts: "0",
      category_stats: "0",
    });
  });

  it("fills every domain at the smallest scale: a long #general history, threads, reactions, jobs, a ledger, badges, rankings", async () => {
    const { rows } = await a.root.query(`
      select (select count(*)::int from app_public.messages m join app_public.rooms r on r.id = m.room_id where r.slug = 'general') as general,
             (select count(*)::int from app_public.messages where parent_id is not null) as replies,
             (select count(*)::int from app_public.message_reactions) as message_reactions,
             (select count(*)::int from app_public.message_mentions) as mentions,
             (select count(distinct kind)::int from app_public.rooms) as room_kinds,
             (select count(distinct status)::int from app_public.job_postings) as job_statuses,
             (select count(distinct status)::int from app_public.job_applications) as application_statuses,
             (select count(distinct reason)::int from app_public.reputation_events) as reasons,
             (select count(*)::int from app_public.user_badges) as badges,
             (select count(*)::int from app_public.leaderboard('all')) as leaders,
             (select count(*)::int from app_public.trending('post')) as trending`);
    expect(rows[0].general).toBe(SCALES.tiny.bigRoomMessages);
    expect(rows[0].replies).toBeGreaterThan(0);
    expect(rows[0].message_reactions).toBeGreaterThan(SCALES.tiny.messageReactions / 2);
    expect(rows[0].mentions).toBeGreaterThan(0);
    expect(rows[0].room_kinds).toBe(3);
    expect(rows[0].job_statuses).toBeGreaterThanOrEqual(3);
    expect(rows[0].application_statuses).toBeGreaterThanOrEqual(5);
    expect(rows[0].reasons).toBe(8); // every cause of the ledger
    expect(rows[0].badges).toBeGreaterThan(0);
    expect(rows[0].leaders).toBeGreaterThan(0);
    expect(rows[0].trending).toBeGreaterThan(0);
  });

  it("fills the search table from its sources (its triggers were off for the load)", async () => {
    const { rows } = await a.root.query(`
      select (select count(*)::int from app_private.search_entries) as entries,
             (select count(*)::int from app_private.search_sources) as sources,
             (select count(*)::int from app_private.search_entries e
               where not exists (select 1 from app_private.search_sources s where s.kind = e.kind and s.id = e.id)) as stray`);
    expect(rows[0].entries).toBeGreaterThan(0);
    expect(rows[0].entries).toBe(rows[0].sources);
    expect(rows[0].stray).toBe(0);
  });

  it("fills every member's feed from the posts and follows (its triggers were off for the load)", async () => {
    const { rows } = await a.root.query(`
      with expected as (
        select f.follower_id as user_id, p.published_at, p.id as post_id
          from app_public.follows f join app_public.posts p on p.author_id = f.followee_id where p.status = 'published'
        union
        select cf.user_id, p.published_at, p.id
          from app_public.category_follows cf join app_public.posts p on p.category_id = cf.category_id where p.status = 'published')
      select (select count(*)::int from expected) as expected,
             (select count(*)::int from app_hidden.feed_entries) as entries,
             (select count(*)::int from (select * from expected except select user_id, published_at, post_id from app_hidden.feed_entries) x) as missing`);
    expect(rows[0].expected).toBeGreaterThan(0);
    expect(rows[0].entries).toBe(rows[0].expected);
    expect(rows[0].missing).toBe(0);
  });

  it("rebuilds the feeds into exactly the rows their triggers keep, with category follows and posts brought twice", async () => {
    const client = await a.root.connect();
    try {
      await client.query("begin");
      // Members follow the category of a post by someone they already follow (that post is brought twice), and another category.
      const { rowCount } = await client.query(`
        insert into app_public.category_follows (user_id, category_id)
        select distinct on (f.follower_id) f.follower_id, p.category_id
          from app_public.follows f join app_public.posts p on p.author_id = f.followee_id
         where p.status = 'published' and p.category_id is not null
         order by f.follower_id, p.id limit 20`);
      expect(rowCount).toBe(20);
      await client.query(`
        insert into app_public.category_follows (user_id, category_id)
        select cf.user_id, c.id from app_public.category_follows cf, lateral (
          select id from app_public.categories where id <> cf.category_id order by id limit 1) c`);
      await client.query("create temporary table kept on commit drop as select * from app_hidden.feed_entries");
      await client.query("select app_private.feed_rebuild()");
      const { rows } = await client.query(`
        select (select count(*)::int from app_hidden.feed_entries) as rebuilt, (select count(*)::int from kept) as kept,
               (select count(*)::int from (select * from kept except select * from app_hidden.feed_entries) x) as lost,
               (select count(*)::int from (select * from app_hidden.feed_entries except select * from kept) x) as added,
               (select count(*)::int from app_hidden.feed_entries e join app_public.category_follows cf using (user_id)
                  join app_public.posts p on p.id = e.post_id and p.category_id = cf.category_id
                 where exists (select 1 from app_public.follows f where f.follower_id = e.user_id and f.followee_id = p.author_id)) as twice`);
      expect(rows[0].twice).toBeGreaterThan(0);
      expect(rows[0]).toEqual({ rebuilt: rows[0].kept, kept: rows[0].kept, lost: 0, added: 0, twice: rows[0].twice });
    } finally {
      await client.query("rollback");
      client.release();
    }
  });

  it("backfills the reputation ledger so that the DBA check passes", async () => {
    const { rows } = await a.root.query("select * from app_private.check_reputation()");
    expect(rows).toEqual([]);
    // Not vacuous: the totals vary, and a broken total is caught.
    const { rows: spread } = await a.root.query("select count(distinct reputation)::int as n, min(reputation) as low from app_public.users");
    expect(spread[0].n).toBeGreaterThan(5);
    expect(spread[0].low).toBeGreaterThanOrEqual(1);
    const client = await a.root.connect();
    try {
      await client.query("begin");
      await client.query("update app_public.users set reputation = reputation + 1 where username = 'demo'");
      const { rows: broken } = await client.query("select u.username from app_private.check_reputation() c join app_public.users u on u.id = c.user_id");
      expect(broken).toEqual([{ username: "demo" }]);
    } finally {
      await client.query("rollback");
      client.release();
    }
  });

  it("keeps the daily vote cap and the floor on every member's ledger", async () => {
    const { rows } = await a.root.query(`
      select (select coalesce(max(s), 0) from (select sum(points) s from app_public.reputation_events where is_vote and points > 0
                group by user_id, (created_at at time zone 'UTC')::date) d) as most_in_a_day,
             (select count(*) from (select sum(points) over (partition by user_id order by created_at, reaction_id, reason, answer_id) as running from app_public.reputation_events) r
               where running < 1) as below_floor`);
    expect(Number(rows[0].most_in_a_day)).toBeLessThanOrEqual(200);
    expect(Number(rows[0].below_floor)).toBe(0);
  });

  it("applies the cap and the floor where they bind (a low cap, a high floor)", async () => {
    // Database b with rules that bind for many members: 10 points of votes a day, and a floor that dislikes run into.
    await b.root.query(`update app_private.settings set value = '10' where key = 'reputation.daily_vote_cap'`);
    await b.root.query(`update app_private.settings set value = '-500' where key = 'reputation.dislike_answer_voter'`);
    try {
      await seed(b.ownerUrl, SCALES.tiny, 11, true);
      const { rows } = await b.root.query(`
        select (select count(*)::int from app_private.check_reputation()) as wrong,
               (select max(s)::int from (select sum(points) s from app_public.reputation_events where is_vote and points > 0
                  group by user_id, (created_at at time zone 'UTC')::date) d) as most_in_a_day,
               (select count(*)::int from (select user_id from app_public.reputation_events where is_vote and points > 0
                  group by user_id, (created_at at time zone 'UTC')::date having sum(points) = 10) d) as capped_days,
               (select count(*)::int from app_public.reputation_events where reason = 'disliked_an_answer' and points > -500) as cut_losses,
               (select count(*)::int from (select sum(points) over (partition by user_id order by created_at, reaction_id, reason, answer_id) as running
                  from app_public.reputation_events) r where running < 1) as below_floor`);
      expect(rows[0]).toEqual({ wrong: 0, most_in_a_day: 10, capped_days: expect.any(Number), cut_losses: expect.any(Number), below_floor: 0 });
      expect(rows[0].capped_days).toBeGreaterThan(0);
      expect(rows[0].cut_losses).toBeGreaterThan(0);
    } finally {
      await b.root.query(`update app_private.settings set value = '200' where key = 'reputation.daily_vote_cap'`);
      await b.root.query(`update app_private.settings set value = '-1' where key = 'reputation.dislike_answer_voter'`);
    }
  });

  it("writes text with a natural word distribution over a vocabulary of thousands of words", async () => {
    expect(VOCABULARY.length).toBeGreaterThan(5_000);
    expect(new Set(VOCABULARY).size).toBe(VOCABULARY.length);
    for (const band of ["common", "medium", "rare"] as const) expect(termsByFrequency(band).length).toBeGreaterThan(40);
    expect(vocabularyRank("postgres")).toBeLessThan(500);
    // Word frequencies in post bodies: the most frequent word is far more frequent than the 100th (Zipf: ~100×),
    // thousands of distinct words occur, and a word's count falls with its vocabulary rank.
    const { rows } = await a.root.query(`
      with words as (select lower(w) w from app_public.posts, regexp_split_to_table(body, '[^A-Za-z]+') w where w <> ''),
           counts as (select w, count(*) n from words group by w)
      select (select count(*)::int from counts) as distinct_words,
             (select n from counts order by n desc limit 1 offset 0)::float / (select n from counts order by n desc limit 1 offset 99) as top_to_100th`,
    );
    expect(rows[0].distinct_words).toBeGreaterThan(2_000);
    expect(rows[0].top_to_100th).toBeGreaterThan(20);
    const { rows: ranked } = await a.root.query(
      `select w, count(*)::int n from app_public.posts, regexp_split_to_table(lower(body), '[^a-z]+') w where w = any($1::text[]) group by w`,
      [[VOCABULARY[1], VOCABULARY[99], VOCABULARY[1999]]],
    );
    const n = Object.fromEntries(ranked.map((r) => [r.w, r.n]));
    expect(n[VOCABULARY[1]]).toBeGreaterThan(5 * (n[VOCABULARY[99]] ?? 0));
    expect(n[VOCABULARY[99]] ?? 0).toBeGreaterThan(n[VOCABULARY[1999]] ?? 0);
    // Titles read like titles: capitalised, short, no vocabulary soup.
    const { rows: titles } = await a.root.query(`select title from app_public.posts union all select title from app_public.questions`);
    for (const { title } of titles) expect(title).toMatch(/^[A-Z][^\n]{5,120}$/);
  });

  it("spreads reactions over the members (no member reacts to a large share of all posts)", async () => {
    const { rows } = await a.root.query(
      `select max(n)::int as most, avg(n)::float as mean from (select count(*) n from app_public.reactions group by user_id) t`,
    );
    expect(rows[0].most).toBeLessThan(rows[0].mean * 3);
  });

  it("prints a demo login that works through the API", async () => {
    const server = await startTestServer(a.env);
    try {
      const tokens = await login(server, "demo", DEMO_PASSWORD);
      expect(tokens.user.username).toBe("demo");
    } finally {
      await server.stop();
    }
  });
});

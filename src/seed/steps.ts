/**
 * The seed, as set-based SQL. Every value is a function of the row number
 * and the seed (hashtext/md5), ids included, so the same arguments give the
 * same rows. Per-row triggers are switched off during the load (the owner
 * may do that for its tables) and everything they would have maintained —
 * slugs, publication times, counters, tags, the reputation ledger — is
 * written directly or computed set-based (src/seed/domains.ts for chat,
 * jobs and reputation). Text comes from src/seed/corpus.ts.
 *
 * Order: rows that are counted come before the rows that carry the count
 * (reactions before answers, questions and posts), so counters are written
 * on insert and never updated.
 */
import type pg from "pg";
import type { SeedCounts } from "./scales";
import { longBody, oneSentence, postTitle, questionTitle, shortBody, tags } from "./corpus";
import { CHAT_STEPS, JOB_STEPS, LEDGER_STEP } from "./domains";

export interface SeedStep {
  name: string;
  total: (c: SeedCounts) => number;
  /** Runs once before the first chunk. */
  prepare?: (db: pg.PoolClient, c: SeedCounts, seed: number) => Promise<void>;
  /** Inserts rows [from, to) of this step ($1 = from + 1, $2 = to + 1, $3 = seed, $4 = users). */
  run: (db: pg.PoolClient, from: number, to: number, c: SeedCounts, seed: number) => Promise<void>;
}

export const DEMO_PASSWORD = "Demo-Password-1";

/** Deterministic pseudo-random integer in [0, mod) for row i, the seed ($3) and a salt. */
export const h = (salt: string, mod: string | number = "$4") => `(abs(hashtext($3::text || '${salt}' || i)::bigint) % ${mod})::int`;
/** Deterministic uuid of row n of a kind. */
export const id = (kind: string, n: string) => `md5($3::text || '${kind}' || (${n}))::uuid`;
/**
 * Runs a step's statement with the parameters it uses: the standard ones
 * ($1 = from + 1, $2 = to + 1, $3 = seed, $4 = users) are passed to every
 * statement, and PostgreSQL refuses parameters a statement never mentions.
 */
export function query(db: pg.PoolClient, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const used = Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  return db.query(sql, params.slice(0, used));
}
/** The standard parameters of a chunk. */
export const chunk = (from: number, to: number, seed: number, c: SeedCounts) => [from + 1, to + 1, seed, c.users];

const FIRST = `array['Ada','Grace','Linus','Barbara','Ken','Margaret','Dennis','Frances','Guido','Radia','Tim','Sophie','Anders','Hedy','Edsger',
  'Aiko','Kwame','Priya','Mateo','Ingrid','Chen','Fatima','Olu','Sven','Lucia','Ravi','Yuki','Amara','Jonas','Noor']`;
const LAST = `array['Lovelace','Hopper','Torvalds','Liskov','Thompson','Hamilton','Ritchie','Allen','Rossum','Perlman','Berners','Wilson','Hejlsberg',
  'Lamarr','Dijkstra','Okafor','Tanaka','Sharma','García','Johansson','Wang','Haddad','Adeyemi','Lindqvist','Rossi','Iyer','Sato','Mensah','Becker','Khan']`;
const COMPETENCES = `array['postgres','graphql','typescript','rust','design','testing','security','performance','kubernetes','careers',
  'hiring','remote','leadership','data','ml','frontend','backend','devops','observability','architecture']`;

/** Share of questions with an accepted answer, in percent. */
const ACCEPTED_PERCENT = 40;
/** Answers a question has (for the answer numbering: answer a belongs to question 1 + (a - 1) / answersPerQuestion). */
const answerOf = (c: SeedCounts, q: string, k: string) => `(${q} - 1) * ${c.answersPerQuestion} + 1 + ${k}`;

/** Reaction rounds over targets: reaction k to target 1 + (k - 1) % targets by a member that differs every round. */
function reactionsTo(kind: "answer" | "question", targets: (c: SeedCounts) => number, likePercent: number): SeedStep {
  return {
    name: `${kind} reactions`,
    total: (c) => Math.min(kind === "answer" ? c.answerReactions : c.questionReactions, targets(c) * c.users),
    async run(db, from, to, c, seed) {
      const n = targets(c);
      await query(db, 
        `insert into app_public.reactions (id, user_id, kind, ${kind}_id, created_at)
         select ${id(`${kind}-reaction`, "i")}, ${id("user", `1 + ((i - 1) / ${n} + abs(hashtext($3::text || '${kind}rp' || (i - 1) % ${n})::bigint)) % $4`)},
                (case when ${h(`${kind}rk`, 100)} < ${likePercent} then 'like' else 'dislike' end)::app_public.reaction_kind,
                ${id(kind, `1 + (i - 1) % ${n}`)}, now() - make_interval(mins => ${h(`${kind}rt`, 100000)})
           from generate_series($1::int, $2::int - 1) i`,
        chunk(from, to, seed, c),
      );
    },
  };
}

export const STEPS: SeedStep[] = [
  {
    name: "users",
    total: (c) => c.users,
    async run(db, from, to, c, seed) {
      // Joined 13 to 36 months ago: before everything they wrote (content goes back a year).
      await query(db, 
        `insert into app_public.users (id, username, display_name, bio, job_title, affiliation, years_of_experience, expertise_level, core_competencies, created_at)
         select ${id("user", "i")},
                case when i = 1 then 'demo' else 'user_' || lpad(i::text, 7, '0') end,
                (${FIRST})[1 + ${h("fn", 30)}] || ' ' || (${LAST})[1 + ${h("ln", 30)}],
                ${oneSentence("bio", "i")},
                (array['Engineer','Senior Engineer','Staff Engineer','Engineering Manager','Data Scientist','Designer','SRE','Product Manager'])[1 + ${h("jt", 8)}],
                (array['Acme','Globex','Initech','Umbrella','Hooli','Stark','Pied Piper','Vandelay'])[1 + ${h("af", 8)}],
                ${h("ye", 30)},
                (array['beginner','intermediate','advanced','expert'])[1 + ${h("ex", 4)}]::app_public.expertise_level,
                array(select distinct x from unnest(array[(${COMPETENCES})[1 + ${h("c1", 20)}], (${COMPETENCES})[1 + ${h("c2", 20)}]]) x order by x),
                now() - make_interval(days => 400 + ${h("ca", 700)})
           from generate_series($1::int, $2::int - 1) i`,
        chunk(from, to, seed, c),
      );
      await query(db, 
        `insert into app_public.user_emails (id, user_id, email, is_verified, is_primary)
         select ${id("email", "i")}, ${id("user", "i")}, case when i = 1 then 'demo' else 'user_' || lpad(i::text, 7, '0') end || '@example.test', true, true
           from generate_series($1::int, $2::int - 1) i`,
        chunk(from, to, seed, c),
      );
      await query(db, 
        `insert into app_private.user_secrets (user_id, password_hash, password_changed_at)
         select ${id("user", "i")}, (select password_hash from seed_password), now() from generate_series($1::int, $2::int - 1) i`,
        chunk(from, to, seed, c),
      );
    },
  },
  reactionsTo("answer", (c) => c.questions * c.answersPerQuestion, 85),
  reactionsTo("question", (c) => c.questions, 95),
  {
    name: "questions",
    total: (c) => c.questions,
    async prepare(db) {
      await query(db, 
        `create temporary table seed_target_counts on commit drop as
         select coalesce(answer_id, question_id) as target_id, count(*) filter (where kind = 'like')::int likes,
                count(*) filter (where kind = 'dislike')::int dislikes
           from app_public.reactions where answer_id is not null or question_id is not null group by 1`,
      );
      await query(db, "alter table seed_target_counts add primary key (target_id)");
      await query(db, "analyze seed_target_counts");
    },
    async run(db, from, to, c, seed) {
      // ACCEPTED_PERCENT of the questions (with answers) have one of their answers accepted.
      await query(db, 
        `insert into app_public.questions (id, author_id, category_id, title, slug, body, tags, status, published_at, created_at, answer_count,
                                           accepted_answer_id, view_count, like_count, dislike_count)
         select x.question_id, ${id("user", `1 + ${h("qa")}`)}, md5('category' || (1 + ${h("qc", 12)}))::uuid,
                ${questionTitle("i")}, 'question-' || i,
                concat_ws(E'\\n\\n', ${longBody("qb", "i", 2)}, case when ${h("qq", 2)} = 0 then ${oneSentence("qs", "i")} end),
                ${tags("qg", "i", 2)}, 'published', now() - make_interval(mins => ${h("qt", 525600)}),
                now() - make_interval(mins => ${h("qt", 525600)}), ${c.answersPerQuestion},
                case when ${c.answersPerQuestion} > 0 and ${h("qx", 100)} < ${ACCEPTED_PERCENT}
                     then ${id("answer", answerOf(c, "i", h("qy", Math.max(1, c.answersPerQuestion))))} end,
                ${h("qv", 3000)}, coalesce(k.likes, 0), coalesce(k.dislikes, 0)
           from generate_series($1::int, $2::int - 1) i
           cross join lateral (select ${id("question", "i")} as question_id) x
           left join seed_target_counts k on k.target_id = x.question_id`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    name: "answers",
    total: (c) => c.questions * c.answersPerQuestion,
    async run(db, from, to, c, seed) {
      await query(db, 
        `insert into app_public.answers (id, question_id, author_id, body, status, created_at, like_count, dislike_count)
         select x.answer_id, ${id("question", `1 + (i - 1) / ${c.answersPerQuestion}`)}, ${id("user", `1 + ${h("aa")}`)},
                ${longBody("ab", "i", 3)}, 'published', now() - make_interval(mins => ${h("at", 100000)}),
                coalesce(k.likes, 0), coalesce(k.dislikes, 0)
           from generate_series($1::int, $2::int - 1) i
           cross join lateral (select ${id("answer", "i")} as answer_id) x
           left join seed_target_counts k on k.target_id = x.answer_id`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    name: "comments",
    total: (c) => c.comments,
    async run(db, from, to, c, seed) {
      // A tenth of the comments gather on the hottest 1% of posts (long
      // threads); the rest go round every post, and in every other round a
      // fifth of them reply to the top-level comment one round earlier.
      const hot = Math.floor(c.comments / 10);
      const hotPosts = Math.max(1, Math.floor(c.posts / 100));
      await query(db, 
        `insert into app_public.comments (id, post_id, parent_id, depth, author_id, body, created_at, reply_count)
         select ${id("comment", "i")},
                ${id("post", `case when i <= ${hot} then 1 + (i - 1) % ${hotPosts} else 1 + (j - 1) % ${c.posts} end`)},
                case when reply then ${id("comment", `i - ${c.posts}`)} end, case when reply then 2 else 1 end,
                ${id("user", `1 + ${h("ca")}`)}, ${shortBody("cb", "i")},
                now() - make_interval(mins => ${h("ct", 100000)}),
                -- the reply one round later, if there is one
                case when j >= 1 and ((j - 1) / ${c.posts}) % 2 = 0 and j + ${c.posts} <= ${c.comments - hot} and (j + ${c.posts}) % 5 = 0 then 1 else 0 end
           from generate_series($1::int, $2::int - 1) i,
                lateral (select i - ${hot} as j) s,
                lateral (select j > ${c.posts} and j % 5 = 0 and ((j - 1) / ${c.posts}) % 2 = 1 as reply) r`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    name: "reactions",
    total: (c) => Math.min(c.reactions, c.posts * c.users),
    async run(db, from, to, c, seed) {
      // Reaction k: post 1 + k % posts, by a member that differs for every
      // round over the posts (offset by a hash of the post, so every member
      // reacts about as often) — never twice the same pair.
      await query(db, 
        `insert into app_public.reactions (id, user_id, kind, post_id, created_at)
         select ${id("reaction", "i")}, ${id("user", `1 + ((i - 1) / ${c.posts} + abs(hashtext($3::text || 'rp' || (i - 1) % ${c.posts})::bigint)) % $4`)},
                (case when ${h("rk", 100)} < 88 then 'like' else 'dislike' end)::app_public.reaction_kind,
                ${id("post", `1 + (i - 1) % ${c.posts}`)}, now() - make_interval(mins => ${h("rt", 100000)})
           from generate_series($1::int, $2::int - 1) i`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    name: "follows",
    total: (c) => c.users * followsPerUser(c),
    async run(db, from, to, c, seed) {
      // Member f follows followsPerUser others at distinct offsets 1..users-1
      // from itself (spaced evenly, rotated by a hash of f): no self-follow, no pair twice.
      const per = followsPerUser(c);
      const spacing = Math.max(1, Math.floor((c.users - 1) / per));
      await query(db, 
        `insert into app_public.follows (follower_id, followee_id, created_at)
         select ${id("user", "f")}, ${id("user", `1 + (f - 1 + 1 + (abs(hashtext($3::text || 'fo' || f)::bigint) + j * ${spacing}) % ($4 - 1)) % $4`)},
                now() - make_interval(mins => ${h("ft", 525600)})
           from generate_series($1::int, $2::int - 1) i, lateral (select 1 + (i - 1) / ${per} as f, (i - 1) % ${per} as j) s`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    name: "bookmarks",
    total: (c) => Math.min(c.bookmarks, c.posts * c.users),
    async run(db, from, to, c, seed) {
      // Bookmark b: post 1 + b % posts by a member that differs for every round over the posts.
      await query(db, 
        `insert into app_public.bookmarks (id, user_id, post_id, created_at)
         select ${id("bookmark", "i")}, ${id("user", `1 + ((i - 1) / ${c.posts} + abs(hashtext($3::text || 'bp' || (i - 1) % ${c.posts})::bigint)) % $4`)},
                ${id("post", `1 + (i - 1) % ${c.posts}`)}, now() - make_interval(mins => ${h("bt", 100000)})
           from generate_series($1::int, $2::int - 1) i`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    // After the rows it counts: its counters are counted from them (no update, no dead rows).
    name: "posts",
    total: (c) => c.posts,
    async prepare(db) {
      await query(db, 
        `create temporary table seed_post_counts on commit drop as
         select post_id, sum(likes)::int likes, sum(dislikes)::int dislikes, sum(comments)::int comments, sum(bookmarks)::int bookmarks
           from (select post_id, count(*) filter (where kind = 'like') likes, count(*) filter (where kind = 'dislike') dislikes, 0 comments, 0 bookmarks
                   from app_public.reactions where post_id is not null group by post_id
                 union all
                 select post_id, 0, 0, count(*), 0 from app_public.comments where post_id is not null and status in ('published', 'archived') group by post_id
                 union all
                 select post_id, 0, 0, 0, count(*) from app_public.bookmarks where post_id is not null group by post_id) t
          group by post_id`,
      );
      await query(db, "alter table seed_post_counts add primary key (post_id)");
      await query(db, "analyze seed_post_counts");
    },
    async run(db, from, to, c, seed) {
      await query(db, 
        `insert into app_public.posts (id, author_id, category_id, title, slug, body, tags, status, published_at, view_count, created_at,
                                       like_count, dislike_count, comment_count, bookmark_count)
         select x.post_id, ${id("user", `1 + ${h("pa")}`)}, md5('category' || (1 + ${h("pc", 12)}))::uuid,
                ${postTitle("i")}, 'post-' || i, ${longBody("pb", "i")}, ${tags("pg", "i")},
                (case when ${h("st", 100)} < 97 then 'published' when ${h("st", 100)} < 99 then 'draft' else 'archived' end)::app_public.content_status,
                case when ${h("st", 100)} < 97 or ${h("st", 100)} >= 99 then now() - make_interval(mins => ${h("pt", 525600)}) end,
                ${h("vc", 5000)},
                now() - make_interval(mins => ${h("pt", 525600)}),
                coalesce(k.likes, 0), coalesce(k.dislikes, 0), coalesce(k.comments, 0), coalesce(k.bookmarks, 0)
           from generate_series($1::int, $2::int - 1) i
           cross join lateral (select ${id("post", "i")} as post_id) x
           left join seed_post_counts k on k.post_id = x.post_id`,
        chunk(from, to, seed, c),
      );
    },
  },
  ...CHAT_STEPS,
  ...JOB_STEPS,
  LEDGER_STEP,
];

function followsPerUser(c: SeedCounts): number {
  return Math.min(c.followsPerUser, c.users - 1);
}

/**
 * Computed set-based once everything is in: follower counts and each
 * member's reputation (the sum of their ledger rows) in one pass over the
 * members, and the tag table.
 */
export const RECOUNT = [
  `update app_public.users u set follower_count = coalesce(i.n, 0), following_count = coalesce(o.n, 0), reputation = coalesce(r.points, 0)
     from app_public.users x
     left join (select followee_id, count(*) n from app_public.follows group by followee_id) i on i.followee_id = x.id
     left join (select follower_id, count(*) n from app_public.follows group by follower_id) o on o.follower_id = x.id
     left join (select user_id, sum(points)::int points from app_public.reputation_events group by user_id) r on r.user_id = x.id
    where x.id = u.id`,
  `insert into app_public.tags (name, post_count, question_count)
   select name, sum(p), sum(q) from (
     select unnest(tags) name, 1 p, 0 q from app_public.posts where status = 'published'
     union all select unnest(tags), 0, 1 from app_public.questions where status = 'published') t
   group by name
   on conflict (name) do update set post_count = excluded.post_count, question_count = excluded.question_count`,
];

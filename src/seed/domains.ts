/**
 * The seed's chat rooms, jobs board and reputation ledger, set-based like
 * the content (src/seed/steps.ts): per-row triggers are off, so what they
 * maintain (member counts, thread counters, reaction counts, mentions,
 * application counts and history, the ledger and the totals) is written
 * here directly, one statement per chunk or per cause.
 *
 * Numbering: room 1 is #general (every member; the long history of
 * `bigRoomMessages`), rooms 2..rooms are public (every fourth private) with
 * `membersPerRoom` members each — member j of room r is user
 * 1 + (hash(r) + j) % users, j = 0 the owner, j = 1 an admin; direct room d
 * pairs user a = 1 + (d - 1) % users with a + 1 + (d - 1) / users. Messages
 * come in blocks of five in one room: the fifth replies to one of the four
 * before it. Employers are the last `employers` members.
 */
import type { SeedCounts } from "./scales";
import { query, type SeedStep } from "./steps";
import { chatBody, COMPANIES, hashOf, jobTitle, longBody, oneSentence, roomName, sqlArray, tags } from "./corpus";

const id = (kind: string, n: string) => `md5($3::text || '${kind}' || (${n}))::uuid`;
const h = (salt: string, mod: string | number = "$4") => `(abs(hashtext($3::text || '${salt}' || i)::bigint) % ${mod})::int`;
const chunk = (from: number, to: number, seed: number, c: SeedCounts) => [from + 1, to + 1, seed, c.users];

const membersPer = (c: SeedCounts) => Math.max(1, Math.min(c.membersPerRoom, c.users));
/** Direct rooms: at most users · floor((users - 1) / 2) distinct pairs with this numbering. */
const directRooms = (c: SeedCounts) => Math.min(c.directRooms, c.users * Math.floor((c.users - 1) / 2));
/** #general's messages, a whole number of blocks of five. */
const bigRoom = (c: SeedCounts) => (c.rooms < 2 && directRooms(c) === 0 ? c.messages : Math.min(c.messages, Math.ceil(c.bigRoomMessages / 5) * 5));
/** A year of chat, message i at a fixed step (so a room's history is in message order). */
const CHAT_SPAN_SECONDS = 365 * 86400;

/** The user number of member j of group room r (r ≥ 2). */
const groupMember = (r: string, j: string) => `(1 + (${hashOf("ro", r, "$4")} + ${j}) % $4)`;
/** The two user numbers of direct room d. */
const directA = (d: string) => `(1 + (${d} - 1) % $4)`;
const directB = (d: string) => `(1 + ((${d} - 1) % $4 + 1 + (${d} - 1) / $4) % $4)`;

/**
 * For message i: where (0 #general, 1 a group room, 2 a direct room), the
 * room's number, its uuid and the author's user number — a lateral
 * subquery shared by the messages and their reactions.
 */
function messagePlace(c: SeedCounts): string {
  const groups = Math.max(0, c.rooms - 1);
  const directs = directRooms(c);
  const inGroup = directs === 0 ? "true" : groups === 0 ? "false" : `${hashOf("mw", "(i - 1) / 5", 10)} < 7`;
  return `cross join lateral (select case when i <= ${bigRoom(c)} then 0 when ${inGroup} then 1 else 2 end as place) w
    cross join lateral (select case w.place when 0 then 1 when 1 then 2 + ${hashOf("mg", "(i - 1) / 5", Math.max(1, groups))}
                                    else 1 + ${hashOf("md", "(i - 1) / 5", Math.max(1, directs))} end as room_no) rn
    cross join lateral (select case when w.place = 2 then ${id("droom", "rn.room_no")} else ${id("room", "rn.room_no")} end as room_id,
                               case w.place when 0 then 1 + ${h("ma")}
                                            when 1 then ${groupMember("rn.room_no", h("ma", membersPer(c)))}
                                            else case when ${h("ma", 2)} = 0 then ${directA("rn.room_no")} else ${directB("rn.room_no")} end end as author_no) m`;
}

const EMOJIS = ["👍", "🎉", "😄", "🚀", "👀", "❤️", "🙏", "💯"];
const messageTime = (c: SeedCounts, n: string) => `now() - make_interval(secs => (${c.messages} - (${n}))::float8 * ${CHAT_SPAN_SECONDS / Math.max(1, c.messages)})`;

export const CHAT_STEPS: SeedStep[] = [
  {
    name: "rooms",
    total: (c) => c.rooms + directRooms(c),
    async run(db, from, to, c, seed) {
      const groups = c.rooms;
      // Rooms 1..rooms: #general (all members), then public and private rooms; then the direct rooms.
      await query(db, 
        `insert into app_public.rooms (id, kind, name, slug, description, topic, is_archived, member_count, created_by, created_at, updated_at)
         select ${id("room", "i")}, case when i > 1 and i % 4 = 0 then 'private' else 'public' end::app_public.room_kind,
                case when i = 1 then 'general' else n.name end,
                case when i = 1 then 'general' else lower(regexp_replace(n.name, '[^A-Za-z0-9]+', '-', 'g')) || '-' || i end,
                case when i = 1 then 'Everyone is here: introductions, announcements and questions that fit nowhere else.' else ${oneSentence("rd", "i")} end,
                case when ${h("rt", 3)} = 0 then ${oneSentence("rtp", "i")} else '' end,
                i > 1 and i % 25 = 0,
                case when i = 1 then $4 else ${membersPer(c)} end,
                case when i = 1 then ${id("user", "1")} else ${id("user", groupMember("i", "0"))} end,
                now() - interval '400 days', now() - interval '400 days'
           from generate_series($1::int, least($2::int - 1, ${groups})) i
           cross join lateral (select ${roomName("i")} as name) n`,
        chunk(from, to, seed, c),
      );
      await query(db, 
        `insert into app_public.rooms (id, kind, member_count, created_by, direct_low_id, direct_high_id, created_at, updated_at)
         select ${id("droom", "d")}, 'direct', 2, a, least(a, b), greatest(a, b), now() - interval '400 days', now() - interval '400 days'
           from generate_series(greatest($1::int, ${groups + 1}), $2::int - 1) i
           cross join lateral (select i - ${groups} as d) x
           cross join lateral (select ${id("user", directA("x.d"))} as a, ${id("user", directB("x.d"))} as b) p`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    name: "room members",
    total: (c) => c.users + Math.max(0, c.rooms - 1) * membersPer(c) + 2 * directRooms(c),
    async run(db, from, to, c, seed) {
      const general = c.users;
      const groups = Math.max(0, c.rooms - 1) * membersPer(c);
      const per = membersPer(c);
      // Rows 1..users: #general (user 1 owns it, users 2 and 3 are admins); then group rooms; then two per direct room.
      await query(db, 
        `insert into app_public.room_members (room_id, user_id, role, joined_at)
         select case when i <= ${general} then ${id("room", "1")}
                     when i <= ${general + groups} then ${id("room", `2 + (i - ${general} - 1) / ${per}`)}
                     else ${id("droom", `1 + (i - ${general + groups} - 1) / 2`)} end,
                ${id("user", `case when i <= ${general} then i
                     when i <= ${general + groups} then ${groupMember(`2 + (i - ${general} - 1) / ${per}`, `(i - ${general} - 1) % ${per}`)}
                     when (i - ${general + groups}) % 2 = 1 then ${directA(`1 + (i - ${general + groups} - 1) / 2`)}
                     else ${directB(`1 + (i - ${general + groups} - 1) / 2`)} end`)},
                (case when i <= ${general} then case when i = 1 then 'owner' when i <= 3 then 'admin' else 'member' end
                      when i <= ${general + groups} then case (i - ${general} - 1) % ${per} when 0 then 'owner' when 1 then 'admin' else 'member' end
                      else 'member' end)::app_public.room_role,
                now() - interval '400 days' + make_interval(mins => ${h("rj", 1440)})
           from generate_series($1::int, $2::int - 1) i`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    name: "messages",
    total: (c) => c.messages,
    async run(db, from, to, c, seed) {
      // Message i with i % 5 = 0 replies to one of the four before it (same block, same room, top-level);
      // a top-level message p has the reply of the next multiple of five if that one chose p.
      await query(db, 
        `insert into app_public.messages (id, room_id, author_id, parent_id, kind, body, reply_count, last_reply_at, created_at, updated_at)
         select ${id("message", "i")}, m.room_id, ${id("user", "m.author_no")},
                case when i % 5 = 0 then ${id("message", `i - 1 - ${h("mp", 4)}`)} end, 'text',
                case when w.place = 0 and i % 10 = 1 and mention_no <> m.author_no
                     then '@' || case when mention_no = 1 then 'demo' else 'user_' || lpad(mention_no::text, 7, '0') end || ' ' else '' end
                  || ${chatBody("mb", "i")},
                r.replied::int, case when r.replied then ${messageTime(c, "ch.child")} end,
                ${messageTime(c, "i")}, ${messageTime(c, "i")}
           from generate_series($1::int, $2::int - 1) i
           ${messagePlace(c)}
           cross join lateral (select 1 + ${h("mm")} as mention_no) mn
           cross join lateral (select i + 5 - i % 5 as child) ch
           cross join lateral (select i % 5 <> 0 and ch.child <= ${c.messages}
                                      and ch.child - 1 - (abs(hashtext($3::text || 'mp' || ch.child)::bigint) % 4) = i as replied) r`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    name: "message reactions",
    total: (c) => c.messages,
    async run(db, from, to, c, seed) {
      // Per message, a geometrically distributed number of reactions (mean messageReactions / messages),
      // each by a different member of the room: at most 20 in #general and in group rooms (and their size), 2 in direct rooms.
      const mean = c.messageReactions / Math.max(1, c.messages);
      await query(db, 
        `insert into app_public.message_reactions (message_id, user_id, emoji, created_at)
         select ${id("message", "i")},
                ${id("user", `case w.place when 0 then 1 + (${h("xu")} + t * 7919) % $4
                                    when 1 then ${groupMember("rn.room_no", `(${h("xu", membersPer(c))} + t) % ${membersPer(c)}`)}
                                    else case when (${h("xu", 2)} + t) % 2 = 0 then ${directA("rn.room_no")} else ${directB("rn.room_no")} end end`)},
                (${sqlArray(EMOJIS)})[1 + (abs(hashtext($3::text || 'xe' || i || ':' || t)::bigint) % ${EMOJIS.length})::int],
                ${messageTime(c, "i")} + make_interval(secs => 1 + t * 60)
           from generate_series($1::int, $2::int - 1) i
           ${messagePlace(c)}
           cross join lateral generate_series(0, least(
               ${mean > 0 ? `floor(ln(1 - ${h("xn", 1_000_000)}::float8 / 1e6) / ln(${mean / (1 + mean)}))::int` : "0"},
               case w.place when 0 then least(20, $4) when 1 then least(20, ${membersPer(c)}) else 2 end) - 1) t`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    name: "chat counters",
    total: () => 1,
    async run(db) {
      await query(db, 
        `insert into app_public.message_reaction_counts (message_id, emoji, count)
         select message_id, emoji, count(*) from app_public.message_reactions group by message_id, emoji`,
      );
      // The mentions the messages trigger would have parsed: "@name " at the start of #general messages.
      await query(db, 
        `insert into app_public.message_mentions (message_id, user_id, room_id, created_at)
         select m.id, u.id, m.room_id, m.created_at
           from app_public.messages m join app_public.users u on u.username = substring(m.body from '^@([A-Za-z0-9_]+) ')::citext
          where m.body like '@%' and u.id is distinct from m.author_id`,
      );
    },
  },
];

const LOCATIONS = [
  "Berlin, Germany", "London, UK", "Amsterdam, Netherlands", "Paris, France", "New York, USA", "San Francisco, USA", "Toronto, Canada",
  "Lisbon, Portugal", "Warsaw, Poland", "Stockholm, Sweden", "Zurich, Switzerland", "Austin, USA", "Dublin, Ireland", "Singapore",
  "Bangalore, India", "Tokyo, Japan", "Barcelona, Spain", "Munich, Germany",
];
const CURRENCIES = ["EUR", "USD", "GBP", "CHF"];

/** Job j: a draft when j % 12 = 0; j % 10 = 1 gets no applications (the benchmark applies to those). */
const jobPublished = (j: string) => `now() - make_interval(days => ${hashOf("jp", j, 120)}, hours => ${hashOf("jh", j, 24)})`;
const jobEmployer = (c: SeedCounts, j: string) => `(${c.users - employersOf(c)} + 1 + ${hashOf("je", j, employersOf(c))})`;
const employersOf = (c: SeedCounts) => Math.max(1, Math.min(c.employers, c.users - 1));
/** Jobs that take applications in the seed: neither drafts (j % 12 = 0) nor kept free for the benchmark (j % 10 = 1). */
const openJobs = (c: SeedCounts) => Array.from({ length: c.jobs }, (_, k) => k + 1).filter((j) => j % 12 !== 0 && j % 10 !== 1).length;
/** The status path of an application to its current status. */
const PATHS = `case s.status when 'pending' then array['pending'] when 'reviewing' then array['pending','reviewing']
  when 'shortlisted' then array['pending','reviewing','shortlisted'] when 'interviewed' then array['pending','reviewing','shortlisted','interviewed']
  when 'accepted' then array['pending','reviewing','shortlisted','interviewed','accepted'] when 'rejected' then array['pending','reviewing','rejected']
  else array['pending','withdrawn'] end::app_public.job_application_status[]`;

export const JOB_STEPS: SeedStep[] = [
  {
    name: "applications",
    total: (c) => Math.min(c.applications, openJobs(c) * (c.users - employersOf(c))),
    async prepare(db, c, seed) {
      await query(db, 
        `create temporary table seed_open_jobs on commit drop as
         select row_number() over (order by j)::int as n, j from generate_series(1, $1::int) j where j % 12 <> 0 and j % 10 <> 1`,
        [c.jobs],
      );
      await query(db, "alter table seed_open_jobs add primary key (n)");
      await query(db, 
        `insert into app_public.user_roles (user_id, role_id) select md5($3::text || 'user' || u)::uuid, 'employer' from generate_series($1::int, $2::int) u`,
        [c.users - employersOf(c) + 1, c.users, String(seed)],
      );
    },
    async run(db, from, to, c, seed) {
      const applicants = c.users - employersOf(c);
      await query(db, 
        `with a as (
           select i, o.j, ${id("application", "i")} as app_id, ${id("user", `1 + (${hashOf("ja", "o.j", applicants)} + (i - 1) / cnt.n) % ${applicants}`)} as applicant,
                  ${jobPublished("o.j")} + make_interval(hours => ${h("ah", 24 * 30)}) as applied
             from generate_series($1::int, $2::int - 1) i
             cross join (select count(*)::int as n from seed_open_jobs) cnt
             join seed_open_jobs o on o.n = 1 + (i - 1) % cnt.n
         ), s as (
           select a.*, least(a.applied, now() - interval '1 hour') as created,
                  (case when ${h("as", 100)} < 45 then 'pending' when ${h("as", 100)} < 65 then 'reviewing' when ${h("as", 100)} < 75 then 'shortlisted'
                        when ${h("as", 100)} < 80 then 'interviewed' when ${h("as", 100)} < 82 then 'accepted' when ${h("as", 100)} < 95 then 'rejected'
                        else 'withdrawn' end)::app_public.job_application_status as status
             from a
         ), ins as (
           insert into app_public.job_applications (id, job_id, applicant_id, cover_letter, status, status_changed_at, created_at, updated_at)
           select s.app_id, ${id("job", "s.j")}, s.applicant, ${oneSentence("cl", "s.i")} || ' ' || ${oneSentence("cm", "s.i")}, s.status,
                  s.created + make_interval(hours => cardinality(${PATHS}) - 1), s.created, s.created + make_interval(hours => cardinality(${PATHS}) - 1)
             from s
         )
         insert into app_public.job_application_events (application_id, actor_id, from_status, to_status, created_at)
         select s.app_id, case when p.status in ('pending', 'withdrawn') then s.applicant else ${id("user", jobEmployer(c, "s.j"))} end,
                lag(p.status) over (partition by s.app_id order by p.k), p.status, s.created + make_interval(hours => p.k::int - 1)
           from s cross join lateral unnest(${PATHS}) with ordinality p(status, k)`,
        chunk(from, to, seed, c),
      );
    },
  },
  {
    // After the applications: application_count is counted from them.
    name: "jobs",
    total: (c) => c.jobs,
    async prepare(db) {
      await query(db, 
        `create temporary table seed_job_counts on commit drop as
         select job_id, count(*) filter (where status <> 'withdrawn')::int as n from app_public.job_applications group by job_id`,
      );
      await query(db, "alter table seed_job_counts add primary key (job_id)");
    },
    async run(db, from, to, c, seed) {
      await query(db, 
        `insert into app_public.job_postings (id, employer_id, organization_name, title, description, requirements, responsibilities, employment_type,
                                              location, workplace, salary_min, salary_max, salary_currency, salary_period, application_deadline,
                                              starts_on, tags, category_id, status, published_at, closed_at, view_count, application_count, created_at, updated_at)
         select x.job_id, ${id("user", jobEmployer(c, "i"))},
                case when ${h("jo", 5)} > 0 then (${sqlArray(COMPANIES)})[1 + ${h("jc", COMPANIES.length)}] end,
                ${jobTitle("i")}, ${longBody("jd", "i", 3)},
                '- ' || ${oneSentence("jr1", "i")} || E'\\n- ' || ${oneSentence("jr2", "i")} || E'\\n- ' || ${oneSentence("jr3", "i")},
                '- ' || ${oneSentence("js1", "i")} || E'\\n- ' || ${oneSentence("js2", "i")},
                t.employment_type, (${sqlArray(LOCATIONS)})[1 + ${h("jl", LOCATIONS.length)}],
                (case when ${h("jw", 100)} < 35 then 'remote' when ${h("jw", 100)} < 75 then 'hybrid' else 'on_site' end)::app_public.job_workplace,
                case when pay then base end, case when pay then base + 10000 + ${h("jx", 40)} * 1000 end,
                case when pay then (${sqlArray(CURRENCIES)})[1 + ${h("jy", CURRENCIES.length)}] end,
                case when pay then 'year'::app_public.job_salary_period end,
                case when i % 10 <> 1 and ${h("jd", 3)} > 0 then x.published + make_interval(days => 30 + ${h("jz", 60)}) end,
                case when ${h("jsd", 2)} = 0 then (x.published + make_interval(days => 60 + ${h("jsv", 60)}))::date end,
                ${tags("jg", "i")}, md5('category' || (1 + ${h("jca", 12)}))::uuid, st.status,
                case when st.status <> 'draft' then x.published end,
                case when st.status in ('closed', 'filled') then least(now(), x.published + make_interval(days => 20 + ${h("jcl", 40)})) end,
                case when st.status <> 'draft' then ${h("jv", 2000)} else 0 end, coalesce(k.n, 0),
                x.published - interval '1 day', x.published
           from generate_series($1::int, $2::int - 1) i
           cross join lateral (select ${id("job", "i")} as job_id, ${jobPublished("i")} as published) x
           cross join lateral (select ${h("jp2", 100)} < 85 as pay, (40 + ${h("jb", 80)}) * 1000 as base) p
           cross join lateral (select (case when i % 12 = 0 then 'draft' when i % 10 = 1 then 'active' when ${h("jst", 100)} < 80 then 'active'
                                            when ${h("jst", 100)} < 87 then 'paused' when ${h("jst", 100)} < 95 then 'closed' else 'filled' end)::app_public.job_status as status) st
           cross join lateral (select (case when ${h("jt", 100)} < 60 then 'full_time' when ${h("jt", 100)} < 72 then 'contract'
                                            when ${h("jt", 100)} < 80 then 'part_time' when ${h("jt", 100)} < 87 then 'freelance'
                                            when ${h("jt", 100)} < 93 then 'internship' when ${h("jt", 100)} < 97 then 'temporary'
                                            else 'volunteer' end)::app_public.job_employment_type as employment_type) t
           left join seed_job_counts k on k.job_id = x.job_id`,
        chunk(from, to, seed, c),
      );
    },
  },
];

/**
 * The reputation ledger, backfilled set-based: one statement per cause
 * into a staging table (the starting point, likes on posts, questions and
 * answers, dislikes on answers to author and voter, accepted answers to
 * both sides), then the rules of app_private.reputation_credit applied in
 * order — the daily vote cap (on the day's gross vote gains; the live rule
 * nets the day's vote losses too) and the floor (a loss stops at it: the
 * running total reflected at the floor) — leaving out rows that come to
 * nothing. Ordering every member's events is a sort of the whole ledger,
 * so it is done only for the members whom a rule can touch: those with a
 * day over the cap, and those whose gains before their first loss do not
 * cover all their losses; everyone else's rows go in as they are. The
 * totals on the members are summed from the ledger in RECOUNT.
 */
export const LEDGER_STEP: SeedStep = {
  name: "reputation",
  total: () => 1,
  async prepare(db) {
    // Statistics of what the ledger joins (a new database has none, and the planner's guesses make poor joins).
    await query(
      db,
      `analyze app_public.reactions (kind, user_id, post_id, question_id, answer_id), app_public.posts (id, author_id, status),
               app_public.questions (id, author_id, status, accepted_answer_id), app_public.answers (id, author_id, status)`,
    );
  },
  async run(db) {
    // The rules' numbers, read once: app_private.setting() called per row (it
    // is neither inlined nor parallel-safe) cost more than the joins.
    const keys = ["floor", "like_post", "like_question", "like_answer", "dislike_answer_author", "dislike_answer_voter",
      "accepted_answer", "accepted_answer_accepter", "daily_vote_cap"].map((k) => `reputation.${k}`);
    const { rows } = await db.query<{ key: string; value: number | null }>(
      "select key, (app_private.setting(key) #>> '{}')::integer as value from unnest($1::text[]) key", [keys]);
    const values = new Map(rows.map((r) => [r.key, r.value]));
    const setting = (key: string) => {
      const value = values.get(key);
      if (value === undefined || value === null) throw new Error(`setting ${key} is missing`);
      return `${value}`;
    };
    const counts = `('published', 'archived')`;
    const causes = [
      `select id, ${setting("reputation.floor")}, 'joined', false, null::uuid, null::uuid, null::uuid, null::uuid, created_at from app_public.users`,
      `select p.author_id, ${setting("reputation.like_post")}, 'post_liked', true, r.id, r.post_id, null, null, r.created_at
         from app_public.reactions r join app_public.posts p on p.id = r.post_id
        where r.kind = 'like' and p.status in ${counts} and p.author_id <> r.user_id`,
      `select q.author_id, ${setting("reputation.like_question")}, 'question_liked', true, r.id, null, r.question_id, null, r.created_at
         from app_public.reactions r join app_public.questions q on q.id = r.question_id
        where r.kind = 'like' and q.status in ${counts} and q.author_id <> r.user_id`,
      `select a.author_id, ${setting("reputation.like_answer")}, 'answer_liked', true, r.id, null, null, r.answer_id, r.created_at
         from app_public.reactions r join app_public.answers a on a.id = r.answer_id
        where r.kind = 'like' and a.status in ${counts} and a.author_id <> r.user_id`,
      `select a.author_id, ${setting("reputation.dislike_answer_author")}, 'answer_disliked', true, r.id, null, null, r.answer_id, r.created_at
         from app_public.reactions r join app_public.answers a on a.id = r.answer_id
        where r.kind = 'dislike' and a.status in ${counts} and a.author_id <> r.user_id`,
      `select r.user_id, ${setting("reputation.dislike_answer_voter")}, 'disliked_an_answer', true, r.id, null, null, r.answer_id, r.created_at
         from app_public.reactions r join app_public.answers a on a.id = r.answer_id
        where r.kind = 'dislike' and a.status in ${counts} and a.author_id <> r.user_id`,
      `select a.author_id, ${setting("reputation.accepted_answer")}, 'answer_accepted', false, null, null, q.id, a.id, greatest(q.created_at, a.created_at)
         from app_public.questions q join app_public.answers a on a.id = q.accepted_answer_id where a.author_id <> q.author_id`,
      `select q.author_id, ${setting("reputation.accepted_answer_accepter")}, 'accepted_an_answer', false, null, null, q.id, a.id, greatest(q.created_at, a.created_at)
         from app_public.questions q join app_public.answers a on a.id = q.accepted_answer_id where a.author_id <> q.author_id`,
    ];
    // One statement, so PostgreSQL can spread the joins over its parallel workers (an INSERT … SELECT is never parallel).
    await query(
      db,
      `create temporary table seed_ledger on commit drop as
       select user_id, points, reason::app_public.reputation_reason as reason, is_vote, reaction_id, post_id, question_id, answer_id, created_at
         from (${causes.join("\n union all ")}) c (user_id, points, reason, is_vote, reaction_id, post_id, question_id, answer_id, created_at)`,
    );
    await query(db, "analyze seed_ledger");
    // Members a rule can touch (hash aggregates, no sort).
    await query(
      db,
      `create temporary table seed_ledger_ordered on commit drop as
       select user_id from seed_ledger where is_vote and points > 0
        group by user_id, (created_at at time zone 'UTC')::date having sum(points) > ${setting("reputation.daily_vote_cap")}
       union
       select f.user_id
         from (select user_id, min(created_at) as first_loss, -sum(points) as losses from seed_ledger where points < 0 group by user_id) f
         left join (select l.user_id, sum(l.points) as gains
                      from seed_ledger l join (select user_id, min(created_at) as first_loss from seed_ledger where points < 0 group by user_id) x
                        on x.user_id = l.user_id and l.created_at < x.first_loss
                     where l.points > 0 group by l.user_id) g on g.user_id = f.user_id
        where coalesce(g.gains, 0) - f.losses < ${setting("reputation.floor")}`,
    );
    await query(db, "alter table seed_ledger_ordered add primary key (user_id)");
    await query(
      db,
      `insert into app_public.reputation_events (user_id, points, reason, is_vote, is_reversal, reaction_id, post_id, question_id, answer_id, created_at)
       select l.user_id, l.points, l.reason, l.is_vote, false, l.reaction_id, l.post_id, l.question_id, l.answer_id, l.created_at
         from seed_ledger l where not exists (select 1 from seed_ledger_ordered o where o.user_id = l.user_id)`,
    );
    await query(
      db,
      `insert into app_public.reputation_events (user_id, points, reason, is_vote, is_reversal, reaction_id, post_id, question_id, answer_id, created_at)
       select user_id, final, reason, is_vote, false, reaction_id, post_id, question_id, answer_id, created_at
         from (select f.*, points + reflected - coalesce(lag(reflected) over w, 0) as final
                 from (select r.*, greatest(0, max(${setting("reputation.floor")} - running) over w) as reflected
                         from (select c.*, sum(points) over w as running
                                 from (select l.user_id, l.reason, l.is_vote, l.reaction_id, l.post_id, l.question_id, l.answer_id, l.created_at, l.day,
                                              case when l.is_vote and l.points > 0
                                                   then least(gross, ${setting("reputation.daily_vote_cap")}) - least(gross - l.points, ${setting("reputation.daily_vote_cap")})
                                                   else l.points end as points
                                         from (select s.*, (s.created_at at time zone 'UTC')::date as day,
                                                      sum(case when s.is_vote and s.points > 0 then s.points else 0 end)
                                                        over (partition by s.user_id, (s.created_at at time zone 'UTC')::date
                                                              order by s.created_at, s.reaction_id, s.reason, s.answer_id rows unbounded preceding) as gross
                                                 from seed_ledger s join seed_ledger_ordered o on o.user_id = s.user_id) l) c
                               window w as (partition by c.user_id order by c.day, c.created_at, c.reaction_id, c.reason, c.answer_id rows unbounded preceding)) r
                       window w as (partition by r.user_id order by r.day, r.created_at, r.reaction_id, r.reason, r.answer_id rows unbounded preceding)) f
               window w as (partition by f.user_id order by f.day, f.created_at, f.reaction_id, f.reason, f.answer_id rows unbounded preceding)) e
        where final <> 0`,
    );
  },
};

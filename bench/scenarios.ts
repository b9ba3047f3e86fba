/**
 * The benchmark's scenarios, each written three ways over the same inputs:
 * a GraphQL document (what clients send), the hand-written SQL a minimal
 * endpoint runs for the same rows, and — derived from that SQL — the
 * pgbench transaction. Inputs ("targets") are picked from the seeded
 * database by `pick`, so all three ways read the same rows.
 */
import { searchQuery } from "./search-mix";

export type Target = Record<string, string | number>;

/** What the fixture gives a scenario to pick its targets from. */
export interface Pools {
  posts: string[];
  hotPosts: string[];
  questions: string[];
  categories: string[];
  usernames: string[];
  /** The chat room every viewer is a member of (#general, the long history). */
  rooms: string[];
  /** Messages of that room to page back from: "<createdAt ISO>|<id>". */
  historyAnchors: string[];
  /** Jobs accepting applications that no viewer applied to and no viewer posted; a count coprime with the viewers'. */
  jobs: string[];
  /** How many viewers the fixture signed in (a once-only write pairs viewer i % viewers with target i % targets). */
  viewerCount: number;
  /** The digest PostGraphile puts in a history page's cursors (learnt from the API, see learnCursorDigest). */
  historyCursorDigest: string;
}

export interface Scenario {
  name: string;
  title: string;
  /** Reads must cost one data statement; writes may cost more. */
  kind: "read" | "write";
  /**
   * Who asks: a signed-in viewer (token + settings), or the token-issuing
   * operations, which run over the owner pool like the API's auth service.
   */
  identity: "viewer" | "login" | "refresh";
  graphql: string;
  variables(t: Target): Record<string, unknown>;
  /** The hand-written SQL ($1… from params) and its parameter types, for pgbench. */
  sql: string;
  params(t: Target): Array<string | number>;
  paramTypes: string[];
  /**
   * Each target works once (an application per member and job): the load
   * walks fresh (viewer, target) pairs instead of cycling through a few.
   */
  once?: boolean;
  /** Trigger functions whose time per call the benchmark reports (pg_stat_user_functions), e.g. the ledger on react. */
  triggers?: string[];
  /** The SQL fetches one row more than the page to know whether there is a next page. */
  pageSize?: number;
  /** Columns rendered from markdown by the endpoint, as the API's bodyHtml does. */
  markdown?: string[];
  pick(pools: Pools, i: number): Target;
}

const at = <T>(list: T[], i: number): T => list[i % list.length];
/** The UTC day (YYYY-MM-DD) of a Unix time in seconds. */
const sinceDay = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 10);

/** A history page's cursor as PostGraphile encodes it: base64 of [order digest, createdAt, rowId]. */
export function historyCursor(digest: string, anchor: string): string {
  const [createdAt, id] = anchor.split("|");
  return Buffer.from(JSON.stringify([digest, createdAt, id]), "utf8").toString("base64");
}

/** Client address of request i: a different one per request, as traffic from many clients (per-address limits). */
export function clientAddress(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

export const SCENARIOS: Scenario[] = [
  {
    name: "feed",
    title: "Feed page (20 posts, author, category, counts, tags, my reaction)",
    kind: "read",
    identity: "viewer",
    graphql: `query Feed {
  allPosts(first: 20, condition: { inMyFeed: true }, orderBy: [PUBLISHED_AT_DESC]) {
    nodes {
      rowId title slug tags likeCount dislikeCount commentCount bookmarkCount publishedAt viewerReaction
      userByAuthorId { rowId username displayName avatarUrl }
      categoryByCategoryId { rowId name slug color }
    }
    pageInfo { hasNextPage endCursor }
  }
}`,
    variables: () => ({}),
    sql: `select p.id, p.title, p.slug, p.tags, p.like_count, p.dislike_count, p.comment_count, p.bookmark_count, p.published_at,
       app_public.posts_viewer_reaction(p) as viewer_reaction,
       u.id as author_id, u.username, u.display_name, u.avatar_url, c.id as category_id, c.name as category_name, c.slug as category_slug, c.color
  from app_public.posts p
  left join app_public.users u on u.id = p.author_id
  left join app_public.categories c on c.id = p.category_id
 where p.status = 'published'
   and exists (select 1 from app_hidden.feed_entries fe where fe.user_id = app_public.current_user_id() and fe.post_id = p.id and fe.published_at = p.published_at)
 order by p.published_at desc, p.id desc
 limit 21`,
    pageSize: 20,
    params: () => [],
    paramTypes: [],
    pick: () => ({}),
  },
  {
    name: "post",
    title: "Post page with its first 50 threaded comments",
    kind: "read",
    identity: "viewer",
    graphql: `query Post($id: UUID!) {
  postByRowId(rowId: $id) {
    rowId title bodyHtml tags likeCount commentCount viewerReaction
    userByAuthorId { rowId username displayName }
    categoryByCategoryId { rowId name }
    commentsByPostId(first: 50, orderBy: [CREATED_AT_ASC]) {
      totalCount
      nodes { rowId body depth parentId likeCount createdAt userByAuthorId { rowId username avatarUrl } }
    }
  }
}`,
    variables: (t) => ({ id: t.post }),
    sql: `select p.id, p.title, p.body, p.tags, p.like_count, p.comment_count, app_public.posts_viewer_reaction(p) as viewer_reaction,
       u.id as author_id, u.username, u.display_name, c.id as category_id, c.name as category_name,
       (select count(*) from app_public.comments k where k.post_id = p.id) as total_comments,
       (select json_agg(x) from (
          select k.id, k.body, k.depth, k.parent_id, k.like_count, k.created_at, ku.id as author_id, ku.username, ku.avatar_url
            from app_public.comments k left join app_public.users ku on ku.id = k.author_id
           where k.post_id = p.id order by k.created_at, k.id limit 50) x) as comments
  from app_public.posts p
  left join app_public.users u on u.id = p.author_id
  left join app_public.categories c on c.id = p.category_id
 where p.id = $1`,
    params: (t) => [t.post],
    paramTypes: ["uuid"],
    markdown: ["body"],
    pick: (pools, i) => ({ post: at(pools.hotPosts, i) }),
  },
  {
    name: "question",
    title: "Question with its answers",
    kind: "read",
    identity: "viewer",
    graphql: `query Question($id: UUID!) {
  questionByRowId(rowId: $id) {
    rowId title bodyHtml tags answerCount viewerReaction acceptedAnswerId
    userByAuthorId { rowId username displayName }
    answersByQuestionId(first: 20, orderBy: [CREATED_AT_ASC]) {
      nodes { rowId bodyHtml likeCount createdAt userByAuthorId { rowId username } }
    }
  }
}`,
    variables: (t) => ({ id: t.question }),
    sql: `select q.id, q.title, q.body, q.tags, q.answer_count, app_public.questions_viewer_reaction(q) as viewer_reaction, q.accepted_answer_id,
       u.id as author_id, u.username, u.display_name,
       (select json_agg(x) from (
          select a.id, a.body, a.like_count, a.created_at, au.id as author_id, au.username
            from app_public.answers a left join app_public.users au on au.id = a.author_id
           where a.question_id = q.id order by a.created_at, a.id limit 20) x) as answers
  from app_public.questions q
  left join app_public.users u on u.id = q.author_id
 where q.id = $1`,
    params: (t) => [t.question],
    paramTypes: ["uuid"],
    markdown: ["body"],
    pick: (pools, i) => ({ question: at(pools.questions, i) }),
  },
  {
    name: "search",
    title: "Search (mix of rare, medium and very common words, one and two, prefixes, typos; ranked, snippets)",
    kind: "read",
    identity: "viewer",
    graphql: `query Search($q: String!) {
  search(query: $q, first: 20) {
    nodes { kind rowId title snippet rank publishedAt authorId }
  }
}`,
    variables: (t) => ({ q: t.q }),
    sql: `select s.kind, s.id, s.title, s.snippet, s.rank, s.published_at, s.author_id
  from app_public.search($1) s
 limit 20`,
    params: (t) => [t.q],
    paramTypes: ["text"],
    pick: (_pools, i) => ({ q: searchQuery(i) }), // bench/search-mix.ts
  },
  {
    name: "category",
    title: "Category page: 30-day totals (maintained daily statistics) and the most liked posts of the window",
    kind: "read",
    identity: "viewer",
    graphql: `query Category($category: UUID!, $after: Datetime!, $since: Date!) {
  categoryByRowId(rowId: $category) {
    name
    postStats(since: $since) { postCount likeCount commentCount likeAverage }
    postsByCategoryId(first: 20, condition: { publishedAfter: $after }, orderBy: [LIKE_COUNT_DESC]) {
      nodes { rowId title likeCount commentCount publishedAt userByAuthorId { rowId username } }
    }
  }
}`,
    variables: (t) => ({ category: t.category, after: new Date(Number(t.after) * 1000).toISOString(), since: sinceDay(Number(t.after)) }),
    sql: `select c.name,
       to_json(app_public.categories_post_stats(c, (to_timestamp($2::float8) at time zone 'UTC')::date)) as stats,
       (select json_agg(x) from (
          select p.id, p.title, p.like_count, p.comment_count, p.published_at, u.id as author_id, u.username
            from app_public.posts p left join app_public.users u on u.id = p.author_id
           where p.category_id = c.id and p.published_at >= to_timestamp($2::float8)
           order by p.like_count desc, p.id desc limit 20) x) as posts
  from app_public.categories c where c.id = $1`,
    params: (t) => [t.category, t.after],
    paramTypes: ["uuid", "float8"],
    pick: (pools, i) => ({ category: at(pools.categories, i), after: Math.floor(Date.now() / 1000) - 30 * 86400 }),
  },
  {
    name: "profile",
    title: "Profile with stats and latest posts",
    kind: "read",
    identity: "viewer",
    graphql: `query Profile($username: String!) {
  userByUsername(username: $username) {
    rowId username displayName bio jobTitle followerCount followingCount
    postsByAuthorId(first: 10, orderBy: [PUBLISHED_AT_DESC]) {
      totalCount
      aggregates { sum { likeCount commentCount } }
      nodes { rowId title likeCount publishedAt }
    }
  }
}`,
    variables: (t) => ({ username: t.username }),
    sql: `select u.id, u.username, u.display_name, u.bio, u.job_title, u.follower_count, u.following_count,
       (select count(*) from app_public.posts p where p.author_id = u.id) as total_posts,
       (select sum(like_count) from app_public.posts p where p.author_id = u.id) as likes,
       (select sum(comment_count) from app_public.posts p where p.author_id = u.id) as comments,
       (select json_agg(x) from (
          select p.id, p.title, p.like_count, p.published_at from app_public.posts p
           where p.author_id = u.id order by p.published_at desc, p.id desc limit 10) x) as posts
  from app_public.user_by_username($1) u`,
    params: (t) => [t.username],
    paramTypes: ["text"],
    pick: (pools, i) => ({ username: at(pools.usernames, i) }),
  },
  {
    name: "comment",
    title: "Create a comment",
    kind: "write",
    identity: "viewer",
    graphql: `mutation Comment($post: UUID!, $body: String!) {
  createComment(input: { comment: { postId: $post, body: $body } }) { comment { rowId createdAt } }
}`,
    variables: (t) => ({ post: t.post, body: t.body }),
    sql: `insert into app_public.comments (post_id, body) values ($1, $2) returning id, created_at`,
    params: (t) => [t.post, t.body],
    paramTypes: ["uuid", "text"],
    pick: (pools, i) => ({ post: at(pools.posts, i), body: `Benchmark comment ${i}, measured and not guessed.` }),
  },
  {
    name: "react",
    title: "Toggle a reaction (counters, notification, reputation ledger)",
    kind: "write",
    identity: "viewer",
    graphql: `mutation React($post: UUID!) {
  react(input: { kind: like, postId: $post }) { result { rowId kind } }
}`,
    variables: (t) => ({ post: t.post }),
    sql: `select r.id, r.kind from app_public.react('like', $1) r`,
    // The reputation ledger's share of the transaction (a like credits the post's author).
    triggers: ["app_private.tg_reactions__reputation"],
    params: (t) => [t.post],
    paramTypes: ["uuid"],
    pick: (pools, i) => ({ post: at(pools.posts, i) }),
  },
  {
    name: "chat-history",
    title: "Chat history: 50 messages before a cursor, with authors and reaction counts",
    kind: "read",
    identity: "viewer",
    graphql: `query History($room: UUID!, $cursor: Cursor!) {
  roomByRowId(rowId: $room) {
    messagesByRoomId(first: 50, after: $cursor, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) {
      nodes {
        rowId kind bodyHtml parentId replyCount lastReplyAt createdAt editedAt deletedAt
        userByAuthorId { rowId username displayName avatarUrl }
        messageReactionCountsByMessageId(first: 10) { nodes { emoji count } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}`,
    variables: (t) => ({ room: t.room, cursor: t.cursor }),
    sql: `select m.id, m.kind, m.body, m.parent_id, m.reply_count, m.last_reply_at, m.created_at, m.edited_at, m.deleted_at,
       u.id as author_id, u.username, u.display_name, u.avatar_url,
       (select json_agg(x) from (
          select c.emoji, c.count from app_public.message_reaction_counts c where c.message_id = m.id order by c.emoji limit 10) x) as reactions
  from app_public.messages m
  left join app_public.users u on u.id = m.author_id
 where m.room_id = $1 and (m.created_at, m.id) < ($2::timestamptz, $3::uuid)
 order by m.created_at desc, m.id desc
 limit 51`,
    pageSize: 50,
    params: (t) => [t.room, t.at, t.id],
    paramTypes: ["uuid", "timestamptz", "uuid"],
    markdown: ["body"],
    pick: (pools, i) => {
      const anchor = at(pools.historyAnchors, i);
      const [createdAt, id] = anchor.split("|");
      return { room: at(pools.rooms, i), at: createdAt, id, cursor: historyCursor(pools.historyCursorDigest, anchor) };
    },
  },
  {
    name: "send-message",
    title: "Send a chat message (rules, rate limit, mentions, thread counters)",
    kind: "write",
    identity: "viewer",
    graphql: `mutation Send($room: UUID!, $body: String!) {
  createMessage(input: { message: { roomId: $room, body: $body } }) { message { rowId createdAt } }
}`,
    variables: (t) => ({ room: t.room, body: t.body }),
    sql: `insert into app_public.messages (room_id, body) values ($1, $2) returning id, created_at`,
    params: (t) => [t.room, t.body],
    paramTypes: ["uuid", "text"],
    pick: (pools, i) => ({ room: at(pools.rooms, i), body: `Benchmark message ${i}: measured, not guessed.` }),
  },
  {
    name: "job-search",
    title: "Job search: active jobs with a workplace filter, newest first",
    kind: "read",
    identity: "viewer",
    graphql: `query Jobs($workplace: JobWorkplace!) {
  allJobPostings(first: 20, condition: { status: active, workplace: $workplace }, orderBy: [PUBLISHED_AT_DESC, ROW_ID_DESC]) {
    nodes {
      rowId title organizationName location workplace employmentType salaryMin salaryMax salaryCurrency salaryPeriod
      tags publishedAt applicationDeadline applicationCount
      userByEmployerId { rowId username displayName }
    }
    pageInfo { hasNextPage endCursor }
  }
}`,
    variables: (t) => ({ workplace: t.workplace }),
    sql: `select j.id, j.title, j.organization_name, j.location, j.workplace, j.employment_type, j.salary_min, j.salary_max, j.salary_currency,
       j.salary_period, j.tags, j.published_at, j.application_deadline, j.application_count,
       u.id as employer_id, u.username, u.display_name
  from app_public.job_postings j
  left join app_public.users u on u.id = j.employer_id
 where j.status = 'active'
   and j.id in (select app_hidden.job_postings_with_workplace($1))
 order by j.published_at desc, j.id desc
 limit 21`,
    pageSize: 20,
    params: (t) => [t.workplace],
    paramTypes: ["app_public.job_workplace"],
    pick: (_pools, i) => ({ workplace: at(["remote", "hybrid", "on_site"], i) }),
  },
  {
    name: "apply",
    title: "Apply to a job (rules, lock on the job, history, counter)",
    kind: "write",
    identity: "viewer",
    once: true,
    graphql: `mutation Apply($job: UUID!, $letter: String!) {
  createJobApplication(input: { jobApplication: { jobId: $job, coverLetter: $letter } }) { jobApplication { rowId status } }
}`,
    variables: (t) => ({ job: t.job, letter: t.letter }),
    sql: `insert into app_public.job_applications (job_id, cover_letter) values ($1, $2) returning id, status`,
    params: (t) => [t.job, t.letter],
    paramTypes: ["uuid", "text"],
    // Viewer i % viewerCount applies to job i % jobs (pgbench: the same pairs, see requests.ts): the pool's size is coprime
    // with the viewers', so pairs repeat only after viewers × jobs requests.
    pick: (pools, i) => ({ job: at(pools.jobs, i), letter: "I would like to apply (benchmark)." }),
  },
  {
    name: "leaderboard",
    title: "Leaderboard page (20 members by reputation gained this week, month or ever)",
    kind: "read",
    identity: "viewer",
    graphql: `query Leaderboard($period: String!) {
  leaderboard(period: $period, first: 20) {
    nodes { rank points user { rowId username displayName reputation level } }
    pageInfo { hasNextPage endCursor }
  }
}`,
    variables: (t) => ({ period: t.period }),
    sql: `select e.rank, e.points, u.id as user_id, u.username, u.display_name, u.reputation, app_public.users_level(u) as level
  from app_public.leaderboard($1) e
  left join app_public.users u on u.id = e.user_id
 order by e.rank
 limit 21`,
    pageSize: 20,
    params: (t) => [t.period],
    paramTypes: ["text"],
    pick: (_pools, i) => ({ period: at(["week", "month", "all"], i) }),
  },
  {
    name: "trending",
    title: "Trending posts (20, with author and counts)",
    kind: "read",
    identity: "viewer",
    graphql: `query Trending {
  trending(kind: "post", first: 20) {
    nodes { rank score post { rowId title slug likeCount commentCount publishedAt userByAuthorId { rowId username } } }
    pageInfo { hasNextPage endCursor }
  }
}`,
    variables: () => ({}),
    sql: `select t.rank, t.score, p.id, p.title, p.slug, p.like_count, p.comment_count, p.published_at, u.id as author_id, u.username
  from app_public.trending('post') t
  left join app_public.posts p on p.id = t.post_id
  left join app_public.users u on u.id = p.author_id
 order by t.rank
 limit 21`,
    pageSize: 20,
    params: () => [],
    paramTypes: [],
    pick: () => ({}),
  },
  {
    name: "login",
    title: "Login (bcrypt cost 10)",
    kind: "write",
    identity: "login",
    graphql: `mutation Login($identifier: String!, $password: String!) {
  login(input: { identifier: $identifier, password: $password }) { accessToken refreshToken }
}`,
    variables: (t) => ({ identifier: t.username, password: t.password }),
    sql: `select * from app_private.login($1, $2, $3, 'bench')`,
    params: (t) => [t.username, t.password, t.ip],
    paramTypes: ["text", "text", "inet"],
    pick: (pools, i) => ({ username: at(pools.usernames, i * 7919), password: "Demo-Password-1", ip: clientAddress(i) }),
  },
  {
    name: "refresh",
    title: "Refresh a session (rotate the refresh token)",
    kind: "write",
    identity: "refresh",
    graphql: `mutation Refresh($token: String!) {
  refreshSession(input: { refreshToken: $token }) { accessToken refreshToken }
}`,
    variables: (t) => ({ token: t.token }),
    sql: `select * from app_private.refresh_session($1, $2, 'bench')`,
    params: (t) => [t.token, t.ip],
    paramTypes: ["text", "inet"],
    // Each refresh token works once: the fixture issues one per request (see fixtures.ts).
    pick: (_pools, i) => ({ token: `bench-refresh-${i}`, ip: clientAddress(i) }),
  },
];

/**
 * What the benchmark needs from a seeded database: signed-in viewers (one
 * session each, tokens signed with the API's own key), refresh tokens that
 * work once each, and pools of real rows to aim at. Sessions and tokens
 * have fixed ids and values, so a second run renews instead of piling up.
 */
import type pg from "pg";
import type { TokenService } from "../src/auth/jwt";
import type { Pools } from "./scenarios";
import { loadSearchMix } from "./search-mix";

export interface Viewer {
  userId: string;
  sessionId: string;
  token: string;
}

export interface Fixtures {
  viewers: Viewer[];
  pools: Pools;
  /** Refresh tokens `bench-refresh-<k>` exist for k in [0, refreshTokens). */
  refreshTokens: number;
}

const REFRESH_SESSIONS = 1000;

/**
 * Per-member and per-address limits the benchmark's load would reach when
 * run several times within their windows. They are raised for the run (the
 * limiter still runs and is measured) and put back afterwards; a copy is
 * kept in agora_bench.saved_settings so an interrupted run is undone by the next.
 */
const LIMITS = [
  "rate_limit.comment:create",
  "rate_limit.message:send",
  "rate_limit.login:account",
  "rate_limit.login:ip",
  // The edge's classes (src/server/rate-limit.ts): still checked on every request, never refusing.
  "rate_limit.api_read:member",
  "rate_limit.api_read:ip",
  "rate_limit.api_write:member",
  "rate_limit.api_write:ip",
  "rate_limit.api_search:member",
  "rate_limit.api_search:ip",
  "rate_limit.api_auth:ip",
  "rate_limit.ws_connect:ip",
];

export async function raiseLimits(db: pg.PoolClient): Promise<void> {
  await db.query("create schema if not exists agora_bench");
  await db.query("create table if not exists agora_bench.saved_settings (key text primary key, value jsonb not null)");
  await restoreLimits(db);
  await db.query(
    `with saved as (insert into agora_bench.saved_settings select key, value from app_private.settings where key = any($1) returning key)
     update app_private.settings s set value = jsonb_set(s.value, '{max}', '1000000000') from saved where saved.key = s.key`,
    [LIMITS],
  );
}

export async function restoreLimits(db: pg.PoolClient | pg.Client): Promise<void> {
  if ((await db.query("select to_regclass('agora_bench.saved_settings') as t")).rows[0].t === null) return;
  await db.query(
    `with saved as (delete from agora_bench.saved_settings returning key, value)
     update app_private.settings s set value = saved.value from saved where saved.key = s.key`,
  );
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Learns the digest PostGraphile writes into history cursors (it hashes the
 * page's ordering), from one history page through the API, so the
 * benchmark can aim each request at its own place in the history.
 */
export async function learnCursorDigest(apiUrl: string, fixtures: Fixtures): Promise<void> {
  const res = await fetch(`${apiUrl}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${fixtures.viewers[0].token}`, "X-Forwarded-For": "10.255.255.2" },
    body: JSON.stringify({
      query: `query ($room: UUID!) { roomByRowId(rowId: $room) {
        messagesByRoomId(first: 1, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { pageInfo { endCursor } } } }`,
      variables: { room: fixtures.pools.rooms[0] },
    }),
  });
  const body = (await res.json()) as { data?: { roomByRowId?: { messagesByRoomId?: { pageInfo?: { endCursor?: string } } } } };
  const cursor = body.data?.roomByRowId?.messagesByRoomId?.pageInfo?.endCursor;
  if (!cursor) throw new Error(`Could not read a history cursor from the API: ${JSON.stringify(body).slice(0, 300)}`);
  fixtures.pools.historyCursorDigest = (JSON.parse(Buffer.from(cursor, "base64").toString("utf8")) as string[])[0];
}

export async function prepareFixtures(
  db: pg.PoolClient,
  tokens: TokenService,
  options: { viewers: number; refreshTokens: number; authenticatorRole: string },
): Promise<Fixtures> {
  const { rows: members } = await db.query<{ n: number }>("select count(*)::int as n from app_public.users");
  if (members[0].n < 100) {
    throw new Error(`The database has ${members[0].n} members; seed it first (npm run seed -- --scale large --replace)`);
  }
  const { rows: viewerRows } = await db.query<{ user_id: string; session_id: string }>(
    `insert into app_private.sessions (id, user_id, expires_at, user_agent)
     select md5('bench-session-' || u.id)::uuid, u.id, now() + interval '1 day', 'bench'
       from (select id from app_public.users where username like 'user\\_%' order by username limit $1) u
     on conflict (id) do update set revoked_at = null, revoke_reason = null, expires_at = excluded.expires_at
     returning user_id, id as session_id`,
    [options.viewers],
  );
  const viewers = viewerRows.map((r) => ({ userId: r.user_id, sessionId: r.session_id, token: tokens.sign({ sub: r.user_id, sid: r.session_id }, 86_400) }));
  // pgbench's viewers: the settings the API would send for each, looked up
  // by number (a literal of thousands of them would cost pgbench more than the query).
  await db.query("create schema if not exists agora_bench");
  await db.query("drop table if exists agora_bench.viewers");
  await db.query("create table agora_bench.viewers (n int primary key, settings json not null)");
  await db.query(
    `insert into agora_bench.viewers (n, settings)
     select n, json_build_array(json_build_array('role', 'authenticated'), json_build_array('agora.client_ip', '127.0.0.1'),
                                json_build_array('jwt.claims.sub', v.user_id), json_build_array('jwt.claims.sid', v.session_id),
                                json_build_array('jwt.claims.role', 'authenticated'))
       from unnest($1::uuid[], $2::uuid[]) with ordinality v(user_id, session_id, n)`,
    [viewers.map((v) => v.userId), viewers.map((v) => v.sessionId)],
  );
  await db.query(`grant usage on schema agora_bench to ${options.authenticatorRole}`);
  await db.query(`grant select on agora_bench.viewers to ${options.authenticatorRole}`);

  await db.query(
    `insert into app_private.sessions (id, user_id, expires_at, user_agent)
     select md5('bench-refresh-session-' || k)::uuid, ($1::uuid[])[1 + k % cardinality($1::uuid[])], now() + interval '1 day', 'bench'
       from generate_series(0, $2 - 1) k
     on conflict (id) do update set revoked_at = null, revoke_reason = null, expires_at = excluded.expires_at`,
    [viewers.map((v) => v.userId), REFRESH_SESSIONS],
  );
  await db.query(
    `insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
     select sha256(convert_to('bench-refresh-' || k, 'UTF8')), md5('bench-refresh-session-' || (k % $2))::uuid, now() + interval '1 day'
       from generate_series(0, $1 - 1) k
     on conflict (token_hash) do update set rotated_at = null, expires_at = excluded.expires_at`,
    [options.refreshTokens, REFRESH_SESSIONS],
  );

  const list = async (sql: string, params: unknown[] = []) => (await db.query<{ v: string }>(sql, params)).rows.map((r) => r.v);
  // #general: the room every member is in, with the long history.
  const rooms = await list(
    `select r.id::text v from app_public.rooms r where r.kind = 'public' and not r.is_archived
      order by (select count(*) from app_public.room_members m where m.room_id = r.id) desc, r.id limit 1`,
  );
  // The applications an earlier run made (the apply scenario marks its cover letters), so that its jobs are free again.
  await db.query(
    `delete from app_public.job_applications a using app_private.sessions s
      where s.user_id = a.applicant_id and s.user_agent = 'bench' and a.cover_letter = 'I would like to apply (benchmark).'`,
  );
  // Jobs to apply to: accepting applications, none from a viewer yet, not posted by a viewer; as many as is coprime with the viewers' count.
  const jobs = await list(
    `select j.id::text v from app_public.job_postings j
      where j.status = 'active' and (j.application_deadline is null or j.application_deadline > now() + interval '1 day')
        and not exists (select 1 from app_public.job_applications a join app_private.sessions s on s.user_id = a.applicant_id and s.user_agent = 'bench'
                         where a.job_id = j.id)
        and not exists (select 1 from app_private.sessions s where s.user_id = j.employer_id and s.user_agent = 'bench')
      order by md5(j.id::text) limit 200`,
  );
  while (jobs.length > 1 && gcd(jobs.length, viewers.length) !== 1) jobs.pop();
  const pools: Pools = {
    posts: await list(`select id::text v from app_public.posts where status = 'published' order by md5(id::text) limit 5000`),
    hotPosts: await list(`select id::text v from app_public.posts where status = 'published' and comment_count >= 50 order by md5(id::text) limit 500`),
    questions: await list(`select id::text v from app_public.questions where status = 'published' and answer_count > 0 order by md5(id::text) limit 2000`),
    categories: await list(`select id::text v from app_public.categories order by position`),
    usernames: await list(`select username v from app_public.users where username like 'user\\_%' order by md5(username) limit 10000`),
    rooms,
    historyAnchors: await list(
      `select to_char(m.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' || m.id v
         from app_public.messages m where m.room_id = $1
        order by md5(m.id::text) limit 200`,
      [rooms[0]],
    ),
    jobs,
    viewerCount: viewers.length,
    historyCursorDigest: "",
  };
  await loadSearchMix(db); // the search scenario's words, from this database (bench/search-mix.ts)
  for (const [name, values] of Object.entries(pools)) {
    if (Array.isArray(values) && values.length === 0) throw new Error(`The seeded database has no rows for the benchmark's "${name}"; seed it again`);
  }
  return { viewers, pools, refreshTokens: options.refreshTokens };
}

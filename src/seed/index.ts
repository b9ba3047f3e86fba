/**
 * `npm run seed -- [--scale tiny|small|medium|large] [--seed N] [--users N --posts N …] [--replace]`
 *
 * Realistic, deterministic data (same arguments, same rows) through
 * set-based SQL in chunks, with a progress bar and a summary. Refuses a
 * database that already has members unless --replace (which empties the
 * content and member tables first).
 */
import "../runtime";
import os from "node:os";
import pg from "pg";
import { loadConfigOrExit } from "../config";
import { openDatabase } from "../db/connections";
import { withSessionSettings } from "../db/session-settings";
import { makeLogger } from "../logger";
import { abortOnSignal } from "../signals";
import { progress } from "./progress";
import { SCALES, type SeedCounts } from "./scales";
import { DEMO_PASSWORD, RECOUNT, STEPS } from "./steps";
import { corpusSize, prepareCorpus } from "./corpus";

const CHUNK = 50_000;
/** Local buffers of the seed's session: room for the text pools (≈ 110 MB on `large`) and the steps' temporary tables. */
const SEED_TEMP_BUFFERS = "512MB";
/** The tables the seed fills, in the order the summary lists them. */
const TABLES = [
  "app_public.users", "app_public.user_emails", "app_private.user_secrets", "app_public.posts", "app_public.questions",
  "app_public.answers", "app_public.comments", "app_public.reactions", "app_public.follows", "app_public.bookmarks",
  "app_public.rooms", "app_public.room_members", "app_public.messages", "app_public.message_reactions", "app_public.message_reaction_counts",
  "app_public.message_mentions", "app_public.job_postings", "app_public.job_applications", "app_public.job_application_events",
  "app_public.reputation_events",
  // Not loaded by a step: refilled from its sources after the counters, before the indexes are built (a GIN index
  // built once from 8.6M documents is much cheaper than one kept up to date while they are inserted).
  "app_private.search_entries",
  // Not loaded by a step either: the feeds, refilled from the posts and follows right after the search table.
  "app_hidden.feed_entries",
];
/** Filled after the load, through the application's own set-based functions (with their keys in place). */
const DERIVED = ["app_public.user_badges", "app_private.leaderboard_scores", "app_private.trending_scores"];

function parseArgs(argv: string[]): { counts: SeedCounts; seed: number; replace: boolean; scale: string } {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const scale = flag("scale") ?? "small";
  const base = SCALES[scale];
  if (!base) throw new Error(`--scale must be one of ${Object.keys(SCALES).join(", ")}`);
  const counts = { ...base };
  for (const key of Object.keys(counts) as Array<keyof SeedCounts>) {
    const value = flag(key);
    if (value !== undefined) {
      if (!/^\d+$/.test(value)) throw new Error(`--${key} must be a whole number`);
      counts[key] = Number(value);
    }
  }
  if (counts.users < 2 || counts.posts < 1) throw new Error("--users must be at least 2 and --posts at least 1");
  return { counts, seed: Number(flag("seed") ?? 42), replace: argv.includes("--replace"), scale };
}

/**
 * From now until the returned function is called (and awaited), a stop
 * cancels whatever `client`'s session is running.
 */
function cancelOnStop(client: pg.ClientBase, ownerUrl: string, signal?: AbortSignal): () => Promise<void> {
  const pid = (client as unknown as { processID: number }).processID;
  let cancelling: Promise<void> | null = null;
  const onAbort = () => {
    cancelling = cancelBackend(ownerUrl, pid);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  return async () => {
    signal?.removeEventListener("abort", onAbort);
    await cancelling;
  };
}

/** Cancels what the session `pid` is running (a stopped seed then rolls back). */
async function cancelBackend(ownerUrl: string, pid: number): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  try {
    await client.connect();
    await client.query("select pg_cancel_backend($1)", [pid]);
  } catch {
    // the seed's own query reports what went wrong
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function seed(
  ownerUrl: string,
  counts: SeedCounts,
  seedValue: number,
  replace: boolean,
  signal?: AbortSignal,
): Promise<Record<string, number>> {
  // temp_buffers: the text pools and the steps' other temporary tables are
  // looked up once per generated row; with the default 8 MB of local buffers
  // they no longer fit, and each lookup read its page back (a sentence cost
  // 8.3 µs instead of 2.6). Set at connection start: it cannot change once
  // the session has used a temporary table.
  const pool = new pg.Pool({ connectionString: withSessionSettings(ownerUrl, { temp_buffers: SEED_TEMP_BUFFERS }), max: 1 });
  const db = await pool.connect();
  const timings: Record<string, number> = {};
  // A stop request cancels the running statement; the transaction below then rolls back.
  const stopCancelling = cancelOnStop(db, ownerUrl, signal);
  try {
    const { rows } = await db.query("select count(*)::int as n from app_public.users");
    if (rows[0].n > 0 && !replace) {
      throw new Error(`The database already has ${rows[0].n} members; pass --replace to empty it first (or npm run db:reset)`);
    }
    // One transaction: a seed that fails or is stopped leaves the database
    // exactly as it was, constraints and indexes included. The tables are
    // truncated inside it, which also lets PostgreSQL skip the WAL for their
    // new files when wal_level is minimal (the embedded cluster's setting).
    await db.query("begin");
    try {
      await db.query("set local work_mem = '256MB'");
      await db.query("set local maintenance_work_mem = '1GB'");
      await db.query(`truncate app_public.users, app_public.categories, app_public.tags, app_private.rate_limits, app_private.login_failures cascade`);
      await db.query(
        `insert into app_public.categories (id, slug, name, description, color, position)
         select md5('category' || i)::uuid, 'category-' || i,
                (array['Engineering','Data','Design','Careers','DevOps','Security','Product','Frontend','Backend','Mobile','AI','Community'])[i],
                'Everything about ' || lower((array['Engineering','Data','Design','Careers','DevOps','Security','Product','Frontend','Backend','Mobile','AI','Community'])[i]),
                '#' || lpad(to_hex(i * 1193046 % 16777215), 6, '0'), i
           from generate_series(1, 12) i`,
      );
      const cost = (await db.query("select app_private.setting('password.bcrypt_cost') #>> '{}' as c")).rows[0].c;
      await db.query(`create temporary table seed_password on commit drop as select crypt($1, gen_salt('bf', $2::int)) as password_hash`, [DEMO_PASSWORD, cost]);
      // Bulk-load practice: keys, constraints and indexes are dropped for the
      // load and built once at the end (a sort per index and one join per
      // foreign key instead of a lookup per row); per-row triggers are off and
      // what they maintain is written directly or recomputed below.
      const text = progress("text pools", 1);
      await prepareCorpus(db, seedValue, corpusSize(counts.posts + counts.comments / 10 + counts.questions * (1 + counts.answersPerQuestion)));
      timings["text pools"] = text.done();
      const rebuild = await dropKeysAndIndexes(db);
      for (const table of TABLES) await db.query(`alter table ${table} disable trigger user`);
      for (const step of STEPS) {
        const total = step.total(counts);
        const bar = progress(step.name, total);
        await step.prepare?.(db, counts, seedValue);
        for (let from = 0; from < total; from += CHUNK) {
          signal?.throwIfAborted();
          await step.run(db, from, Math.min(total, from + CHUNK), counts, seedValue);
          bar.update(Math.min(total, from + CHUNK));
        }
        timings[step.name] = bar.done();
      }
      const recount = progress("counters", RECOUNT.length);
      for (const [i, statement] of RECOUNT.entries()) {
        await db.query(statement);
        recount.update(i + 1);
      }
      timings.counters = recount.done();
      // Statistics before the set-based rebuilds below: without them (a new
      // database has none; a re-seed keeps the last seed's) the planner guesses
      // 0.5 % for every equality and IS NULL, estimates a handful of published
      // comments, and joins them to posts, questions and answers, which have no
      // index during the load, by nested loops: the search step took 84 minutes
      // on the first large seed of a new machine instead of about two. Only the
      // columns the rebuilds, the feed and the badge criteria read (statistics
      // of the tsvector columns are slow to compute; vacuum analyze does them after).
      const statistics = progress("statistics", 1);
      await db.query(
        `analyze app_public.users (id, is_active, reputation, follower_count),
                 app_public.posts (id, author_id, category_id, status, published_at, like_count),
                 app_public.questions (id, author_id, status, accepted_answer_id, answer_count),
                 app_public.answers (id, question_id, author_id, status),
                 app_public.comments (status, document_id, post_id, question_id, answer_id),
                 app_public.follows (follower_id, followee_id),
                 app_public.messages (room_id, kind, deleted_at, hidden_at), app_public.rooms (id, kind),
                 app_public.job_postings (hidden_at)`,
      );
      timings.statistics = statistics.done();
      // Search entries are kept by per-row triggers, which are off for the
      // load: the search table is filled from its sources in one statement.
      const search = progress("search", 1);
      await db.query("select app_private.search_rebuild()");
      timings.search = search.done();
      // The feeds likewise (their triggers on posts and follows are off for the load).
      const feed = progress("feeds", 1);
      await db.query("select app_private.feed_rebuild()");
      timings.feeds = feed.done();
      const keys = progress("indexes", rebuild.keysAndIndexes.length);
      for (const [i, statement] of rebuild.keysAndIndexes.entries()) {
        await db.query(statement);
        keys.update(i + 1);
      }
      timings.indexes = keys.done();
      for (const table of TABLES) await db.query(`alter table ${table} enable trigger user`);
      // Badges through the scheduled job's own set-based function (its per-row
      // side effects, such as notifications of a badge earned, are not wanted
      // for history), then the leaderboards and trending, as the cron task does.
      // The foreign keys come back after the badges: checked per inserted row,
      // the first award of every badge took 20 s on medium and over half an hour
      // on large; added afterwards, each is validated by one join.
      const badges = progress("badges", 1);
      // (The statistics the badge criteria need were taken before the search step.)
      await db.query("alter table app_public.user_badges disable trigger user");
      await db.query("select app_private.award_badges()");
      await db.query("alter table app_public.user_badges enable trigger user");
      timings.badges = badges.done();
      const foreignKeys = progress("foreign keys", rebuild.foreignKeys.length);
      for (const [i, statement] of rebuild.foreignKeys.entries()) {
        await db.query(statement);
        foreignKeys.update(i + 1);
      }
      timings["foreign keys"] = foreignKeys.done();
      const rankings = progress("rankings", 1);
      await db.query("refresh materialized view app_private.leaderboard_scores");
      await db.query("refresh materialized view app_private.trending_scores");
      await db.query("select app_private.category_stats_rebuild()"); // kept by a per-row trigger, off for the load
      timings.rankings = rankings.done();
      signal?.throwIfAborted();
      await db.query("commit");
    } catch (error) {
      await db.query("rollback");
      throw error;
    }
    const vacuum = progress("analyze", 1);
    try {
      await vacuumAnalyze(db, ownerUrl, signal);
    } catch (error) {
      if (signal?.aborted) throw new StoppedAfterCommit();
      throw error;
    }
    timings.analyze = vacuum.done();
    return timings;
  } finally {
    await stopCancelling();
    db.release();
    await pool.end();
  }
}

/**
 * Drops every key, constraint-backed and plain index of the seeded tables,
 * and the foreign keys that point at them from elsewhere, returning the
 * statements that put them back (keys first, then indexes, then foreign
 * keys, which are validated by one join each), each with its comment: the
 * smart tags on constraints (e.g. `@behavior -single`) shape the GraphQL
 * schema, so a seeded database must keep them.
 */
async function dropKeysAndIndexes(db: pg.PoolClient): Promise<{ keysAndIndexes: string[]; foreignKeys: string[] }> {
  const tables = `(select unnest($1::regclass[]))`;
  const { rows: constraints } = await db.query<{ tbl: string; name: string; def: string; is_foreign: boolean; comment: string | null }>(
    `select conrelid::regclass::text tbl, quote_ident(conname) as name, pg_get_constraintdef(oid) def, contype = 'f' as is_foreign,
            case when obj_description(oid, 'pg_constraint') is not null
              then format('comment on constraint %I on %s is %L', conname, conrelid::regclass, obj_description(oid, 'pg_constraint')) end as comment
       from pg_constraint
      where (contype in ('p', 'u', 'x') and conrelid in ${tables})
         or (contype = 'f' and (conrelid in ${tables} or confrelid in ${tables}))
      order by 1, 2`,
    [TABLES],
  );
  const foreign = constraints.filter((c) => c.is_foreign);
  const keys = constraints.filter((c) => !c.is_foreign);
  const { rows: indexes } = await db.query<{ name: string; def: string; comment: string | null }>(
    `select indexrelid::regclass::text as name, pg_get_indexdef(indexrelid) def,
            case when obj_description(indexrelid, 'pg_class') is not null
              then format('comment on index %s is %L', indexrelid::regclass, obj_description(indexrelid, 'pg_class')) end as comment
       from pg_index i
      where indrelid in ${tables} and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid) order by 1`,
    [TABLES],
  );
  for (const f of foreign) await db.query(`alter table ${f.tbl} drop constraint ${f.name}`);
  for (const i of indexes) await db.query(`drop index ${i.name}`);
  for (const k of keys) await db.query(`alter table ${k.tbl} drop constraint ${k.name}`);
  const withComment = (create: string, comment: string | null) => (comment ? [create, comment] : [create]);
  return {
    keysAndIndexes: [
      ...keys.flatMap((k) => withComment(`alter table ${k.tbl} add constraint ${k.name} ${k.def}`, k.comment)),
      ...indexes.flatMap((i) => withComment(i.def, i.comment)),
    ],
    foreignKeys: foreign.flatMap((f) => withComment(`alter table ${f.tbl} add constraint ${f.name} ${f.def}`, f.comment)),
  };
}

/** A stop during the final vacuum analyze: the seed itself is already committed. */
export class StoppedAfterCommit extends Error {
  constructor() {
    super("Seed stopped during its final vacuum analyze; the seeded data is committed (autovacuum analyzes it later).");
  }
}

/**
 * vacuum analyze of the application's tables (visibility maps for
 * index-only scans, statistics for the planner), spread over one connection
 * per core like `vacuumdb --jobs`: each table to the least-loaded connection,
 * largest first. One connection did it in 55 s on large; the tables are
 * independent, so the cores share it. A stop cancels every connection's
 * statement; all are closed before this returns or throws.
 */
export async function vacuumAnalyze(db: pg.ClientBase, ownerUrl: string, signal?: AbortSignal): Promise<void> {
  const { rows } = await db.query<{ name: string; size: string }>(
    `select c.oid::regclass::text as name, pg_total_relation_size(c.oid) as size
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'm') and c.relpersistence = 'p' and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
      order by 2 desc, 1`,
  );
  const lanes = Array.from({ length: Math.min(4, os.availableParallelism()) }, () => ({ size: 0, tables: [] as string[] }));
  for (const table of rows) {
    const lane = lanes.reduce((least, next) => (next.size < least.size ? next : least));
    lane.tables.push(table.name);
    lane.size += Number(table.size);
  }
  const outcomes = await Promise.allSettled(
    lanes
      .filter((lane) => lane.tables.length > 0)
      .map(async (lane) => {
        const client = new pg.Client({ connectionString: ownerUrl });
        await client.connect();
        const stopCancelling = cancelOnStop(client, ownerUrl, signal);
        try {
          signal?.throwIfAborted();
          await client.query(`vacuum analyze ${lane.tables.join(", ")}`);
        } finally {
          await stopCancelling();
          await client.end();
        }
      }),
  );
  const failed = outcomes.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason;
}

async function main(signal: AbortSignal) {
  const args = parseArgs(process.argv.slice(2));
  const config = loadConfigOrExit();
  const logger = makeLogger("warn");
  const database = await openDatabase(config, logger);
  const started = Date.now();
  try {
    process.stderr.write(`Seeding scale "${args.scale}" with seed ${args.seed}\n`);
    const timings = await seed(database.ownerUrl, args.counts, args.seed, args.replace, signal);
    const client = new pg.Client({ connectionString: database.ownerUrl });
    await client.connect();
    const counts: Record<string, number> = {};
    for (const table of [...TABLES, ...DERIVED]) {
      counts[table] = (await client.query(`select count(*)::int as n from ${table}`)).rows[0].n;
    }
    await client.end();
    console.log("\nSeeded:");
    const seconds = (ms: number | undefined) => (ms === undefined ? "" : (ms / 1000).toFixed(1));
    console.table(Object.fromEntries([...TABLES, ...DERIVED].map((t) => [t, { rows: counts[t] }])));
    console.table(Object.fromEntries(Object.entries(timings).map(([phase, ms]) => [phase, { seconds: seconds(ms) }])));
    console.log(`Total ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    console.log(`Demo login: username "demo" (or any user_NNNNNNN), password "${DEMO_PASSWORD}".`);
  } finally {
    await database.embedded?.stop();
  }
}

if (require.main === module) {
  // SIGINT/SIGTERM: the seed rolls back, the embedded database stops, and the exit code says which signal (130/143).
  const interrupt = abortOnSignal();
  main(interrupt.signal).then(
    () => {
      const code = interrupt.exitCode();
      if (code !== null) process.exit(code);
    },
    (error) => {
      const code = interrupt.exitCode();
      if (code !== null) {
        console.error(error instanceof StoppedAfterCommit ? error.message : "Seed stopped; the database is unchanged.");
        process.exit(code);
      }
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}

/**
 * `npm run seed -- [--scale tiny|small|medium|large] [--seed N] [--users N --posts N …] [--replace]`
 *
 * Realistic, deterministic data (same arguments, same rows) through
 * set-based SQL in chunks, with a progress bar and a summary. Refuses a
 * database that already has members unless --replace (which empties the
 * content and member tables first).
 */
import "../runtime";
import pg from "pg";
import { loadConfigOrExit } from "../config";
import { openDatabase } from "../db/connections";
import { makeLogger } from "../logger";
import { progress } from "./progress";
import { SCALES, type SeedCounts } from "./scales";
import { DEMO_PASSWORD, RECOUNT, STEPS } from "./steps";

const CHUNK = 50_000;
const TABLES = ["users", "posts", "questions", "answers", "comments", "reactions", "follows", "bookmarks", "user_emails"];

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

export async function seed(ownerUrl: string, counts: SeedCounts, seedValue: number, replace: boolean): Promise<Record<string, number>> {
  const pool = new pg.Pool({ connectionString: ownerUrl, max: 1 });
  const db = await pool.connect();
  const timings: Record<string, number> = {};
  try {
    const { rows } = await db.query("select count(*)::int as n from app_public.users");
    if (rows[0].n > 0 && !replace) {
      throw new Error(`The database already has ${rows[0].n} members; pass --replace to empty it first (or npm run db:reset)`);
    }
    if (replace) {
      await db.query(`truncate app_public.users, app_public.categories, app_public.tags, app_private.rate_limits, app_private.login_failures cascade`);
    }
    await db.query(
      `insert into app_public.categories (id, slug, name, description, color, position)
       select md5('category' || i)::uuid, 'category-' || i,
              (array['Engineering','Data','Design','Careers','DevOps','Security','Product','Frontend','Backend','Mobile','AI','Community'])[i],
              'Everything about ' || lower((array['Engineering','Data','Design','Careers','DevOps','Security','Product','Frontend','Backend','Mobile','AI','Community'])[i]),
              '#' || lpad(to_hex(i * 1193046 % 16777215), 6, '0'), i
         from generate_series(1, 12) i`,
    );
    // Bulk-load practice: secondary indexes are dropped for the load and
    // rebuilt once at the end (far cheaper than maintaining them row by row).
    const indexes = await dropSecondaryIndexes(db);
    try {
      const cost = (await db.query("select app_private.setting('password.bcrypt_cost') #>> '{}' as c")).rows[0].c;
      await db.query(`create temporary table seed_password as select crypt($1, gen_salt('bf', $2::int)) as password_hash`, [DEMO_PASSWORD, cost]);
      for (const step of STEPS) {
        const total = step.total(counts);
        const bar = progress(step.name, total);
        const table = step.name === "users" ? ["users", "user_emails"] : [step.name];
        for (const t of table) await db.query(`alter table app_public.${t} disable trigger user`);
        try {
          for (let from = 0; from < total; from += CHUNK) {
            await db.query("begin");
            try {
              await step.run(db, from, Math.min(total, from + CHUNK), counts, seedValue);
              await db.query("commit");
            } catch (error) {
              await db.query("rollback");
              throw error;
            }
            bar.update(Math.min(total, from + CHUNK));
          }
        } finally {
          for (const t of table) await db.query(`alter table app_public.${t} enable trigger user`);
        }
        timings[step.name] = bar.done();
      }
      const recount = progress("counters", RECOUNT.length);
      for (const [i, statement] of RECOUNT.entries()) {
        await db.query(statement);
        recount.update(i + 1);
      }
      timings.counters = recount.done();
    } finally {
      // Rebuilt even when the load fails, so the database is never left without them.
      const rebuild = progress("indexes", indexes.length);
      await db.query("set maintenance_work_mem = '256MB'");
      for (const [i, definition] of indexes.entries()) {
        await db.query(definition);
        rebuild.update(i + 1);
      }
      timings.indexes = rebuild.done();
    }
    const vacuum = progress("analyze", 1);
    await db.query("vacuum analyze");
    timings.analyze = vacuum.done();
    return timings;
  } finally {
    db.release();
    await pool.end();
  }
}

/**
 * Drops the non-unique, non-constraint indexes of the tables the seed fills
 * and returns their definitions, to be run again after the load. (Unique
 * indexes stay: they guard the data being loaded.)
 */
async function dropSecondaryIndexes(db: pg.PoolClient): Promise<string[]> {
  const { rows } = await db.query<{ name: string; definition: string }>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = 'app_public' and t.relname = any($1) and not i.indisunique and not i.indisprimary
        and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`,
    [TABLES],
  );
  for (const row of rows) await db.query(`drop index ${row.name}`);
  return rows.map((r) => r.definition);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const config = loadConfigOrExit();
  const logger = makeLogger("warn");
  const database = await openDatabase(config, logger);
  const started = Date.now();
  try {
    process.stderr.write(`Seeding scale "${args.scale}" with seed ${args.seed}\n`);
    const timings = await seed(database.ownerUrl, args.counts, args.seed, args.replace);
    const client = new pg.Client({ connectionString: database.ownerUrl });
    await client.connect();
    const counts: Record<string, number> = {};
    for (const table of TABLES) {
      counts[table] = (await client.query(`select count(*)::int as n from app_public.${table}`)).rows[0].n;
    }
    await client.end();
    console.log("\nSeeded:");
    console.table(Object.fromEntries(TABLES.map((t) => [t, { rows: counts[t], seconds: ((timings[t] ?? 0) / 1000).toFixed(1) }])));
    console.log(`Total ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    console.log(`Demo login: username "demo" (or any user_NNNNNNN), password "${DEMO_PASSWORD}".`);
  } finally {
    await database.embedded?.stop();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}

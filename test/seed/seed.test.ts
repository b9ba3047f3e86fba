/**
 * npm run seed: deterministic (same arguments, same rows), consistent
 * (counters equal the rows they count), and usable (the printed demo login
 * works through the real API).
 */
import { seed } from "../../src/seed";
import { SCALES } from "../../src/seed/scales";
import { DEMO_PASSWORD } from "../../src/seed/steps";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/scratch";
import { startTestServer } from "../helpers/server";
import { login } from "../helpers/auth";

jest.setTimeout(120_000);

const TABLES = ["users", "user_emails", "categories", "posts", "questions", "answers", "comments", "reactions", "follows", "bookmarks", "tags"];

async function fingerprint(db: ScratchDatabase): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const { rows } = await db.root.query(
      `select count(*) || ':' || coalesce(md5(string_agg(t::text, ',' order by t::text)), '') as f
         from (select to_jsonb(x) - 'created_at' - 'updated_at' - 'published_at' as t from app_public.${table} x) s`,
    );
    out[table] = rows[0].f;
  }
  return out;
}

/** Every index and constraint of the application schemas, and whether triggers are on. */
async function schemaShape(db: ScratchDatabase): Promise<string[]> {
  const { rows } = await db.root.query(`
    select indexdef as d from pg_indexes where schemaname in ('app_public', 'app_private')
    union all
    select conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated from pg_constraint
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

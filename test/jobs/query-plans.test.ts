/**
 * On a scratch database with a few thousand job postings (inserted
 * set-based), every filter and order the jobs list offers uses its index:
 * EXPLAIN of the exact SQL PostGraphile sends, as the request's role and
 * claims, shows no sequential scan of job_postings and names the index.
 */
import { explainAs, type PlanNode } from "../helpers/plans";
import pg from "pg";
import { startTestServer, type TestServer } from "../helpers/server";
import { dataStatements, recordStatements } from "../helpers/statements";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/scratch";

jest.setTimeout(120_000);

const JOBS = 30_000;
let server: TestServer;
let scratch: ScratchDatabase;
let root: pg.Pool;
let viewer: { id: string; sessionId: string };
let category: string;

beforeAll(async () => {
  scratch = await createScratchDatabase(`agora_job_plans_${process.pid}`);
  root = scratch.root;
  const client = await root.connect();
  try {
    await client.query("begin");
    // A fixture, not a user flow: rows are written complete (normalised tags, published_at), so triggers are off for the load.
    await client.query("set local session_replication_role = replica");
    await client.query(
      "insert into app_public.users (username, display_name) select 'job_user_' || i, 'Job User ' || i from generate_series(1, 50) i",
    );
    await client.query("insert into app_public.categories (slug, name) select 'job-cat-' || i, 'Category ' || i from generate_series(1, 50) i");
    await client.query(
      `with u as (select array_agg(id order by username) ids from app_public.users),
            c as (select array_agg(id order by slug) ids from app_public.categories)
       insert into app_public.job_postings (employer_id, category_id, title, description, employment_type, workplace, location,
                                            salary_min, salary_max, salary_currency, salary_period, application_deadline, tags,
                                            status, published_at)
       select u.ids[1 + i % 50], c.ids[1 + i % 50], 'Job ' || i, 'Description of job ' || i,
              case when i % 100 = 1 then 'volunteer' else (array['full_time', 'part_time', 'contract', 'freelance'])[1 + i % 4] end::app_public.job_employment_type,
              case when i % 100 = 2 then 'hybrid' else (array['remote', 'on_site'])[1 + i % 2] end::app_public.job_workplace,
              'City ' || (i % 200),
              20000 + (i % 1000) * 100, 30000 + (i % 1000) * 100, 'EUR', 'year',
              now() + (i || ' hours')::interval,
              array['t' || (i % 1000)],
              case when i % 100 = 0 then 'draft'::app_public.job_status else 'active' end,
              case when i % 100 = 0 then null else now() - (i || ' hours')::interval end
         from generate_series(1, $1) i, u, c`,
      [JOBS],
    );
    const v = await client.query("select id from app_public.users where username = 'job_user_1'");
    viewer = { id: v.rows[0].id, sessionId: "" };
    viewer.sessionId = (await client.query("select app_private.start_session($1, null, 'plans') as id", [viewer.id])).rows[0].id;
    category = (await client.query("select id from app_public.categories where slug = 'job-cat-7'")).rows[0].id;
    await client.query(
      "insert into app_public.category_follows (user_id, category_id) select $1, id from app_public.categories where slug in ('job-cat-7', 'job-cat-8')",
      [viewer.id],
    );
    await client.query("commit");
    await client.query("vacuum analyze app_public.job_postings");
  } finally {
    client.release();
  }
  server = await startTestServer(scratch.env);
  await server.graphql("{ __typename }");
});

afterAll(async () => {
  await server?.stop();
  await scratch?.drop();
});

/**
 * EXPLAINs the one data statement the request sent, as the request ran it,
 * and runs it once under auto_explain to add the plans of the statements
 * inside the filter functions (app_hidden.job_postings_*).
 */
async function plan(query: string): Promise<{ nodes: PlanNode[]; count: number }> {
  const recorder = recordStatements(server.agora.authPool);
  const token = server.agora.tokens.sign({ sub: viewer.id, sid: viewer.sessionId });
  let count = -1;
  // On each new pool connection @dataplan/pg first sends `set jit_optimize_above_cost = -1;`: a setting, not data.
  const statements = dataStatements(
    await recorder.during(async () => {
      const res = await server.graphql<Record<string, { nodes: unknown[] }>>(query, {}, { token });
      expect(res.errors).toBeUndefined();
      count = Object.values(res.data!)[0].nodes.length;
    }),
  ).filter((s) => !/^\s*set\s+jit_/i.test(s.text));
  expect(statements).toHaveLength(1);
  return { nodes: await explainAs(root, viewer, statements[0].text, statements[0].values, { nested: true }), count };
}

const list = (args: string) => `{ allJobPostings(first: 20, ${args}) { nodes { title } } }`;

const CASES: Array<[string, string, RegExp]> = [
  ["newest", list("orderBy: [PUBLISHED_AT_DESC]"), /^job_postings_published_at_idx$/],
  ["deadline soonest", list("orderBy: [APPLICATION_DEADLINE_ASC]"), /^job_postings_deadline_idx$/],
  ["highest salary", list("orderBy: [SALARY_MAX_DESC]"), /^job_postings_salary_max_idx$/],
  ["lowest salary", list("orderBy: [SALARY_MIN_ASC]"), /^job_postings_salary_min_idx$/],
  ["employment type, newest", list("condition: { employmentType: volunteer }, orderBy: [PUBLISHED_AT_DESC]"), /^job_postings_employment_type_published_idx$/],
  ["workplace, newest", list("condition: { workplace: hybrid }, orderBy: [PUBLISHED_AT_DESC]"), /^job_postings_workplace_published_idx$/],
  ["location", list(`condition: { location: "City 7" }`), /^job_postings_location_idx$/],
  ["salary overlap", list("condition: { salaryOverlaps: { from: 129000, to: 140000 }, salaryCurrency: \"EUR\" }, orderBy: [SALARY_MAX_DESC]"), /^job_postings_salary_range_idx$/],
  ["tag", list(`condition: { tag: "t7" }`), /^job_postings_tags_idx$/],
  ["category, newest", list("condition: { categoryId: $CATEGORY }, orderBy: [PUBLISHED_AT_DESC]"), /^job_postings_category_published_idx$/],
  ["posted since", list(`condition: { postedSince: "$SINCE" }`), /^job_postings_published_at_idx$/],
  // Newest first through either index: per followed category, or down the newest until the page is full (the
  // planner picks by how much of the board the followed categories hold); never a scan of every posting.
  ["jobs in categories I follow", "{ jobsInFollowedCategories(first: 20) { nodes { title } } }", /^job_postings_(category_published|published_at)_idx$/],
];

describe(`job list plans on ${JOBS.toLocaleString("en")} postings`, () => {
  it.each(CASES)("%s uses its index", async (name, template, expected) => {
    const query = template
      .replace("$CATEGORY", `"${category}"`)
      .replace("$SINCE", new Date(Date.now() - 10 * 3600_000).toISOString());
    const { nodes, count } = await plan(query);
    const indexes = [...new Set(nodes.map((n) => n["Index Name"]).filter(Boolean))];
    console.log(`${name}: ${count} rows; indexes ${indexes.join(", ")}`);
    expect(count).toBeGreaterThan(0);
    expect(nodes.filter((n) => n["Node Type"] === "Seq Scan" && n["Relation Name"] === "job_postings")).toEqual([]);
    expect(indexes.some((i) => expected.test(i!))).toBe(true);
  });
});

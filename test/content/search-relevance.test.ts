/**
 * A small relevance set: a fixed corpus (every text carries one random
 * marker word, so other files' rows never interfere) and queries with the
 * results a reader expects on top. A change to ranking that reorders these
 * is a regression, not a tuning detail.
 */
import { bulkLoad, closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { createTestUser } from "../helpers/users";

let server: TestServer;
// Consonants only: never an English word, no stemming surprises.
const m = Array.from({ length: 10 }, () => "bcdfghjklmnpqrstvwxz"[Math.floor(Math.random() * 20)]).join("");
const doc: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer();
  const author = await createTestUser();
  const member = await createTestUser();
  await rootDb().query("update app_public.users set display_name = $2, bio = 'Works on the query planner.' where id = $1", [
    member.id,
    `Ingrid ${m}`,
  ]);
  doc.member = member.id;
  await bulkLoad(async (c) => {
    const post = async (key: string, title: string, body: string, publishedAt?: string) => {
      doc[key] = (
        await c.query<{ id: string }>(
          `insert into app_public.posts (author_id, title, body, status, published_at)
           values ($1, $2, $3, 'published', coalesce($4::timestamptz, now())) returning id`,
          [author.id, title, body, publishedAt ?? null],
        )
      ).rows[0].id;
    };
    await post("tuning", `Tuning ${m} autovacuum for large tables`, `Lower the scale factor ${m} so vacuum runs before bloat grows.`);
    await post("basics", `${m} autovacuum basics`, `What vacuum does and when ${m} runs it.`, "2019-03-01T00:00:00Z");
    await post("pooling", `${m} connection pooling with pgbouncer`, `Transaction pooling ${m} needs care with prepared statements.`);
    await post("unrelated", `Release notes ${m}`, `Nothing about pooling here, only ${m} release notes and a word on autovacuum.`);
    const question = (
      await c.query<{ id: string }>(
        `insert into app_public.questions (author_id, title, body, status) values ($1, $2, $3, 'published') returning id`,
        [author.id, `How do I ${m} partition a table by month?`, `The table grows by ${m} millions of rows.`],
      )
    ).rows[0].id;
    doc.question = question;
    doc.answer = (
      await c.query<{ id: string }>(
        "insert into app_public.answers (question_id, author_id, body, status) values ($1, $2, $3, 'published') returning id",
        [question, member.id, `Use declarative ${m} partitioning: one range partition per month.`],
      )
    ).rows[0].id;
    doc.comment = (
      await c.query<{ id: string }>("insert into app_public.comments (post_id, author_id, body) values ($1, $2, $3) returning id", [
        doc.tuning,
        member.id,
        `Great ${m} autovacuum tips, thanks.`,
      ])
    ).rows[0].id;
    doc.job = (
      await c.query<{ id: string }>(
        `insert into app_public.job_postings (employer_id, title, description, status)
         values ($1, $2, $3, 'active') returning id`,
        [author.id, `Senior ${m} database engineer`, `You will own autovacuum tuning and ${m} partitioning.`],
      )
    ).rows[0].id;
  });
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

async function top(query: string, n: number): Promise<string[]> {
  const res = await server.graphql<{ search: { nodes: Array<{ rowId: string }> } }>(
    `query($q: String!) { search(query: $q, first: 20) { nodes { rowId } } }`,
    { q: query },
  );
  expect(res.errors).toBeUndefined();
  const name = Object.fromEntries(Object.entries(doc).map(([k, v]) => [v, k]));
  return res.data!.search.nodes.slice(0, n).map((node) => name[node.rowId] ?? node.rowId);
}

describe("relevance set (queries → expected top results)", () => {
  const cases: Array<[string, string, (q: string) => Promise<void>]> = [
    ["two title matches lead, old or new; a comment and a body mention follow", `${m} autovacuum`, async (q) => {
      expect((await top(q, 2)).sort()).toEqual(["basics", "tuning"]);
      const all = await top(q, 20);
      expect(all.indexOf("comment")).toBeGreaterThan(1);
      expect(all).toContain("unrelated");
    }],
    ["the exact title comes first", `${m} autovacuum basics`, async (q) => {
      expect(await top(q, 1)).toEqual(["basics"]);
    }],
    ["the post with the word in its title beats a body mention", `${m} pooling`, async (q) => {
      expect(await top(q, 2)).toEqual(["pooling", "unrelated"]);
    }],
    ["the question whose title has the words, then its answer", `${m} partition month`, async (q) => {
      expect(await top(q, 2)).toEqual(["question", "answer"]);
    }],
    ["a member by name", `Ingrid ${m}`, async (q) => {
      expect(await top(q, 1)).toEqual(["member"]);
    }],
    ["a job by its title", `${m} database engineer`, async (q) => {
      expect(await top(q, 1)).toEqual(["job"]);
    }],
    ["a misspelt title word still finds the titles", `${m} autovacum`, async (q) => {
      expect((await top(q, 2)).sort()).toEqual(["basics", "tuning"]);
    }],
  ];
  it.each(cases)("%s", async (_what, query, check) => {
    await check(query);
  });
});

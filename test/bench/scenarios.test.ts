/**
 * The benchmark compares like with like: for every read scenario the
 * GraphQL document and the hand-written endpoint return the same rows, and
 * every write scenario succeeds both ways, on a seeded database.
 */
import pg from "pg";
import { seed } from "../../src/seed";
import { SCALES } from "../../src/seed/scales";
import { benchRouter } from "../../bench/endpoint";
import { learnCursorDigest, prepareFixtures, type Fixtures } from "../../bench/fixtures";
import { SCENARIOS } from "../../bench/scenarios";
import { verifySameRows } from "../../bench/verify";
import { LAYERS, profileSearchShapes, shapesMarkdown } from "../../bench/search-shapes";
import { searchQuery, SHAPES } from "../../bench/search-mix";
import { pgbenchScript, wrkLines } from "../../bench/requests";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/scratch";
import { startTestServer, type TestServer } from "../helpers/server";

jest.setTimeout(120_000);

let db: ScratchDatabase;
let server: TestServer;
let fixtures: Fixtures;

beforeAll(async () => {
  db = await createScratchDatabase(`agora_bench_${process.pid}`);
  // Enough comments for the post page's hot posts (a tenth of them on the hottest 1% of posts).
  await seed(db.ownerUrl, { ...SCALES.tiny, users: 120, posts: 2_000, comments: 12_000 }, 3, false);
  server = await startTestServer(db.env, benchRouter);
  const pool = new pg.Pool({ connectionString: db.ownerUrl, max: 1 });
  const client = await pool.connect();
  try {
    fixtures = await prepareFixtures(client, server.agora.tokens, { viewers: 100, refreshTokens: 20, authenticatorRole: server.agora.db.authenticatorRole });
  } finally {
    client.release();
    await pool.end();
  }
  await learnCursorDigest(server.url, fixtures);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** Sends request line `i` of a scenario (as wrk would) and returns the JSON answer. */
async function send(name: string, mode: "graphql" | "endpoint", i: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const scenario = SCENARIOS.find((s) => s.name === name)!;
  const [path, headerText, body] = wrkLines(scenario, mode, fixtures, i, 1).trimEnd().split("\t");
  const headers = Object.fromEntries(headerText.split("|").map((h) => h.split(": ")));
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("benchmark scenarios", () => {
  it("read the same rows through GraphQL and through the hand-written endpoint", async () => {
    await expect(verifySameRows(server.url, SCENARIOS, fixtures)).resolves.toBeUndefined();
  });

  it("refuses a mismatch (a different target gives different rows)", async () => {
    const post = SCENARIOS.find((s) => s.name === "post")!;
    const other = { ...post, pick: (pools: Fixtures["pools"], i: number) => ({ post: pools.posts[i + 1] }), variables: () => ({ id: fixtures.pools.posts[0] }) };
    await expect(verifySameRows(server.url, [other], fixtures)).rejects.toThrow(/different rows/);
  });

  it.each(SCENARIOS.filter((s) => s.kind === "write").map((s) => s.name))("%s succeeds through both", async (name) => {
    for (const [i, mode] of [[1, "graphql"], [2, "endpoint"]] as const) {
      const { status, body } = await send(name, mode, i);
      expect({ status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
    }
  });

  it("counts the endpoint against the same shared budget as the GraphQL operation, and refuses it alike when spent (the same edge)", async () => {
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      const counter = async (bucket: string, key: string) =>
        (await owner.query<{ hits: number; started: string }>(
          "select hits, window_started_at::text as started from app_private.rate_limits where bucket = $1 and key = $2",
          [bucket, key],
        )).rows[0] ?? null;
      for (const [name, bucket] of [["feed", "api_read:member"], ["search", "api_search:member"]] as const) {
        for (const mode of ["endpoint", "graphql"] as const) {
          const i = 7;
          const viewer = fixtures.viewers[i % fixtures.viewers.length];
          const before = await counter(bucket, viewer.userId);
          const { status } = await send(name, mode, i);
          expect(status).toBe(200);
          const after = await counter(bucket, viewer.userId);
          // One hit more in the same window (or the first hit of a new one).
          expect(after).not.toBeNull();
          expect(after!.hits).toBe(before && before.started === after!.started ? before.hits + 1 : 1);
        }
      }
      // A spent budget refuses both ways alike: 429 with RLIMT.
      const viewer = fixtures.viewers[7 % fixtures.viewers.length];
      await owner.query(
        `update app_private.rate_limits
            set hits = (app_private.setting('rate_limit.api_read:member') ->> 'max')::int, window_started_at = now()
          where bucket = 'api_read:member' and key = $1`,
        [viewer.userId],
      );
      for (const mode of ["endpoint", "graphql"] as const) {
        const { status, body } = await send("feed", mode, 7);
        expect(status).toBe(429);
        expect((body.errors as Array<{ extensions: { code: string } }>)[0].extensions.code).toBe("RLIMT");
      }
      await owner.query("delete from app_private.rate_limits where bucket = 'api_read:member' and key = $1", [viewer.userId]);
    } finally {
      await owner.end();
    }
  });

  it("covers chat, jobs, reputation and trending three ways", () => {
    const names = SCENARIOS.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["chat-history", "send-message", "job-search", "apply", "leaderboard", "trending", "react"]));
    for (const s of SCENARIOS) expect(s.name).toMatch(/^[a-z-]+$/); // a URL path segment and a file name
  });

  it("pages chat history from a cursor: the page is the 50 messages before the anchor, newest first", async () => {
    const { status, body } = await send("chat-history", "endpoint", 3);
    expect(status).toBe(200);
    const { rows, hasNextPage } = (body.data as { rows: Array<{ id: string; created_at: string; author_id: string }>; hasNextPage: boolean });
    const [at] = fixtures.pools.historyAnchors[3].split("|");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(50);
    expect(rows.every((r) => new Date(r.created_at) <= new Date(at))).toBe(true);
    expect(rows.map((r) => r.created_at)).toEqual([...rows.map((r) => r.created_at)].sort().reverse());
    expect(typeof hasNextPage).toBe("boolean");
  });

  it("apply: every (viewer, job) pair of a run is new, and the pgbench transaction walks fresh pairs too", async () => {
    const apply = SCENARIOS.find((s) => s.name === "apply")!;
    const lines = wrkLines(apply, "graphql", fixtures, 0, fixtures.viewers.length * fixtures.pools.jobs.length).trimEnd().split("\n");
    const viewer = (line: string) => line.split("\t")[1].split("|").find((h) => h.startsWith("Authorization"));
    const pairs = new Set(lines.map((l) => `${viewer(l)}|${JSON.parse(l.split("\t")[2]).variables.job}`));
    expect(pairs.size).toBe(lines.length);
    const script = pgbenchScript(apply, fixtures, 0);
    expect(script).toContain(":base + :n * :c + :client_id");
    // The same pair again is refused, so a repeated pair would show up as errors.
    const again = await send("apply", "graphql", 1);
    expect((again.body.errors as Array<{ extensions: { code: string } }>)[0].extensions.code).toBe("APPEX");
  });

  it("react reports the reputation ledger's time (the trigger it names exists)", async () => {
    const react = SCENARIOS.find((s) => s.name === "react")!;
    const { rows } = await db.root.query("select count(*)::int as n from pg_proc where oid::regprocedure::text like any($1::text[])", [
      react.triggers!.map((t) => `${t}(%`),
    ]);
    expect(rows[0].n).toBe(react.triggers!.length);
  });

  it("the search profile times every shape of the mix in each layer, as a viewer", async () => {
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    const viewer = new pg.Client({ connectionString: db.env.AUTH_DATABASE_URL });
    await owner.connect();
    await viewer.connect();
    try {
      const profile = await profileSearchShapes(owner, viewer, { queries: 20, rounds: 1 });
      expect(profile.layers.map((l) => l.name)).toEqual(LAYERS.map((l) => l.name));
      for (const layer of profile.layers) {
        expect(layer.shapes.map((s) => [s.shape, s.queries])).toEqual(SHAPES.map((shape) => [shape, 2]));
        // Every shape has as many queries, so the layer's average is the average of its shapes'.
        expect(layer.avgMs).toBeCloseTo(layer.shapes.reduce((sum, s) => sum + s.avgMs, 0) / layer.shapes.length, 6);
      }
      // The slowest are queries of the mix with their own shape, slowest first.
      const pairs = Array.from({ length: 20 }, (_, i) => `${SHAPES[i % SHAPES.length]}|${searchQuery(i)}`);
      expect(profile.slowest).toHaveLength(10);
      for (const q of profile.slowest) expect(pairs).toContain(`${q.shape}|${q.query}`);
      expect(profile.slowest.map((q) => q.ms)).toEqual(profile.slowest.map((q) => q.ms).sort((a, b) => b - a));
      expect(shapesMarkdown(profile)).toContain("| **all** |");
      // It refuses to time searches as an anonymous visitor once the viewer's session has ended.
      const session = fixtures.viewers[0].sessionId;
      await db.root.query("update app_private.sessions set revoked_at = now() where id = $1", [session]);
      try {
        await expect(profileSearchShapes(owner, viewer, { queries: 1, rounds: 1 })).rejects.toThrow(/not signed in/);
      } finally {
        await db.root.query("update app_private.sessions set revoked_at = null where id = $1", [session]);
      }
    } finally {
      await owner.end();
      await viewer.end();
    }
  });

  it("the endpoint sits behind the same bearer check as GraphQL", async () => {
    const res = await fetch(`${server.url}/bench/feed`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer not-a-token" },
      body: JSON.stringify({ params: [] }),
    });
    expect(res.status).toBe(401);
  });
});

/**
 * The varied-traffic tool (bench/traffic) and the bounded GraphQL caches it
 * exists to check: documents are valid, distinct and reproducible; a run
 * against the real server completes and leaves it healthy; the plan and
 * document caches hold no more than configured.
 */
import { parse, validate, type GraphQLSchema } from "graphql";
import { OperationGenerator, ValuePool } from "../../bench/traffic/generate";
import { fetchSchema, runTraffic, withDefaults } from "../../bench/traffic/run";
import { startTestServer, type TestServer } from "../helpers/server";
import { createTestUser } from "../helpers/users";

describe("the varied-traffic tool", () => {
  let server: TestServer;
  let schema: GraphQLSchema;
  beforeAll(async () => {
    server = await startTestServer({ GRAPHQL_PLAN_CACHE_SIZE: "5", GRAPHQL_DOCUMENT_CACHE_SIZE: "5" });
    schema = await fetchSchema(`${server.url}/graphql`);
  });
  afterAll(() => server.stop());

  const documents = (seed: number, count: number) => {
    const generator = new OperationGenerator(schema, new ValuePool(), { seed });
    const ops = Array.from({ length: count }, () => generator.next());
    return { ops, discarded: generator.discarded };
  };

  it("generates valid, distinct documents, the same ones for the same seed", () => {
    const first = documents(7, 300);
    for (const op of first.ops) expect(validate(schema, parse(op.query))).toEqual([]);
    // Drafts that fail validation are replaced; they must stay rare.
    expect(first.discarded).toBeLessThan(15);
    expect(new Set(first.ops.map((op) => op.query)).size).toBeGreaterThan(285);
    // Many root fields, mutations among them, and variables, aliases and fragments.
    expect(new Set(first.ops.map((op) => op.root)).size).toBeGreaterThan(80);
    expect(first.ops.filter((op) => op.query.startsWith("mutation")).length).toBeGreaterThan(10);
    expect(first.ops.filter((op) => Object.keys(op.variables).length > 0).length).toBeGreaterThan(30);
    expect(first.ops.filter((op) => /\w+_\d: /.test(op.query)).length).toBeGreaterThan(30);
    expect(first.ops.filter((op) => op.query.includes("\nfragment ")).length).toBeGreaterThan(10);

    expect(documents(7, 300).ops).toEqual(first.ops);
    expect(documents(8, 300).ops.map((op) => op.query)).not.toEqual(first.ops.map((op) => op.query));
  });

  it("sends 200 operations, signed in and not, and the server stays up", async () => {
    const user = await createTestUser();
    const result = await runTraffic(
      withDefaults({
        url: `${server.url}/graphql`,
        ops: 200,
        concurrency: 2,
        seed: 3,
        login: `${user.username}:${user.password}`,
        pid: process.pid, // the test server runs in this process
        checkpointEvery: 50,
        idleSeconds: 0,
      }),
    );
    expect(result.ops).toBe(200);
    expect(result.failedRequests).toBe(0);
    expect(Object.keys(result.statuses).filter((status) => Number(status) >= 500)).toEqual([]);
    expect(result.errorCodes.GRAPHQL_VALIDATION_FAILED).toBeUndefined();
    // Random arguments miss rows and rules refuse some writes, but most answers are plain data.
    expect(result.ok).toBeGreaterThan(100);
    expect(result.rss.checkpoints.map((c) => c.ops)).toEqual([0, 50, 100, 150, 200]);
    expect(result.rss.peakMb).toBeGreaterThan(0);

    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    const after = await server.graphql<{ __typename: string }>("{ __typename }");
    expect(after.data).toEqual({ __typename: "Query" });
  });

  it("keeps no more operation plans than GRAPHQL_PLAN_CACHE_SIZE", async () => {
    const { ops } = documents(11, 40);
    for (const op of ops.filter((o) => !o.query.startsWith("mutation")).slice(0, 20)) {
      await server.graphql(op.query, op.variables);
    }
    const served = await server.agora.graphqlSchema();
    const grafast = served.extensions.grafast;
    expect(grafast?.operationsCacheMaxLength).toBe(5);
    // grafast keeps the cache under a symbol it does not export.
    const key = Object.getOwnPropertySymbols(grafast ?? {}).find((symbol) => symbol.description === "cacheByOperation");
    const cache = (key ? (grafast as Record<symbol, unknown>)[key] : undefined) as { c: Map<unknown, unknown> } | undefined;
    expect(cache).toBeDefined();
    // @graphile/lru keeps its entries in the map `c`.
    expect(cache?.c.size).toBeGreaterThan(0);
    expect(cache?.c.size).toBeLessThanOrEqual(5);
  });
});

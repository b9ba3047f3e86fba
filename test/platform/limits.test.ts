/**
 * Bounded work per request (docs/limits.md): every documented operation
 * passes the document limits with room to spare; each limit passes at its
 * value and refuses one past it, over HTTP and WebSocket; introspection and
 * the response cap; allow-listed operations.
 */
import fs from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { Lexer, Source, TokenKind, buildSchema, parse, validate, type GraphQLSchema } from "postgraphile/graphql";
import { loadConfig } from "../../src/config";
import { PROJECT_ROOT } from "../../src/paths";
import { measureDocument, type DocumentLimits } from "../../plugins/limits";
import { operationHash } from "../../plugins/persisted";
import { DOCUMENTED_OPERATIONS } from "../../bench/operations/documented";
import { buildManifest, MANIFEST_FILE } from "../../bench/operations/manifest";
import { ISSUE_10_QUERY } from "../../bench/attack-corpus";
import { MAX_PAGE_SIZE } from "../../plugins/page-size";
import { startTestServer, type TestServer, type GraphQLResponse } from "../helpers/server";
import { recordStatements, dataStatements } from "../helpers/statements";
import { wsClient, wsExecute } from "../helpers/ws";

const defaults = loadConfig({}).limits.graphql;
const LIMITS: DocumentLimits = { ...defaults, defaultListSize: MAX_PAGE_SIZE };

const codeOf = (res: GraphQLResponse) => res.errors?.[0]?.extensions?.code;
const limitOf = (res: GraphQLResponse) => res.errors?.[0]?.extensions?.limit;

function expectRefused(res: GraphQLResponse, limit: string): void {
  expect(res.data ?? null).toBeNull();
  expect(codeOf(res)).toBe("QLIMT");
  expect(limitOf(res)).toBe(limit);
}

function expectPassed(res: GraphQLResponse): void {
  expect(res.errors).toBeUndefined();
  expect(res.data).toBeTruthy();
}

/** user → posts → author … nested to exactly `depth` field levels (leaf included), one row per level. */
function queryOfDepth(depth: number): string {
  // allUsers(1) nodes(2) then [postsByAuthorId, nodes, userByAuthorId] repeating, then a leaf.
  const chain = ["postsByAuthorId(first: 1)", "nodes", "userByAuthorId"];
  let levels = ["allUsers(first: 1)", "nodes"];
  for (let i = 0; levels.length < depth - 1; i++) levels = [...levels, chain[i % 3]];
  const leaf = levels[levels.length - 1] === "nodes" || levels[levels.length - 1] === "userByAuthorId" ? "rowId" : "totalCount";
  return `{ ${levels.map((l) => `${l} {`).join(" ")} ${leaf} ${"}".repeat(levels.length)} }`;
}

describe("the documented operations", () => {
  let schema: GraphQLSchema;
  beforeAll(() => {
    schema = buildSchema(fs.readFileSync(path.join(PROJECT_ROOT, "schema.graphql"), "utf8"));
  });

  it.each(DOCUMENTED_OPERATIONS.map((op) => [op.name, op.document]))("%s is valid and within every limit with room to spare", (_name, document) => {
    const ast = parse(document);
    expect(validate(schema, ast)).toEqual([]);
    const measure = measureDocument(schema, ast, LIMITS);
    expect(measure.aliases).toBeLessThanOrEqual(LIMITS.maxAliases / 2);
    expect(measure.directives).toBeLessThanOrEqual(LIMITS.maxDirectives / 2);
    for (const op of measure.operations) {
      expect(op.cost).toBeLessThanOrEqual(LIMITS.maxCost / 4);
      expect(op.depth).toBeLessThanOrEqual(LIMITS.maxDepth - 3);
      expect(op.rootFields).toBeLessThanOrEqual(LIMITS.maxRootFields / 2);
    }
    expect(document.length).toBeLessThanOrEqual(LIMITS.maxQueryLength / 10);
  });

  it("measures the issue-10 query far over the cost limit", () => {
    const [op] = measureDocument(schema, parse(ISSUE_10_QUERY), LIMITS).operations;
    expect(op.cost).toBeGreaterThan(LIMITS.maxCost);
  });

  it("are the content of the committed allow-list manifest", () => {
    expect(fs.readFileSync(MANIFEST_FILE, "utf8")).toBe(buildManifest());
  });
});

describe("document limits over HTTP", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.graphql("{ __typename }"); // the first request waits for the schema
  });
  afterAll(() => server?.stop());

  it("refuses the issue-10 query at once, before any SQL", async () => {
    const statements = recordStatements(server.agora.authPool);
    let res: GraphQLResponse = { status: 0, headers: new Headers() };
    const started = Date.now();
    const sent = await statements.during(async () => {
      res = await server.graphql(ISSUE_10_QUERY);
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expectRefused(res, "cost");
    expect(res.errors?.[0].message).toMatch(/GRAPHQL_MAX_COST/);
    expect(dataStatements(sent)).toEqual([]);
  });

  it("depth: passes at the limit, refuses one past it", async () => {
    expect(queryOfDepth(LIMITS.maxDepth)).toBeTruthy();
    expectPassed(await server.graphql(queryOfDepth(LIMITS.maxDepth)));
    const res = await server.graphql(queryOfDepth(LIMITS.maxDepth + 1));
    expectRefused(res, "depth");
    expect(res.errors?.[0].extensions).toMatchObject({ max: LIMITS.maxDepth, actual: LIMITS.maxDepth + 1 });
  });

  it("aliases: passes at the limit, refuses one past it", async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    expectPassed(await server.graphql(aliases(LIMITS.maxAliases)));
    expectRefused(await server.graphql(aliases(LIMITS.maxAliases + 1)), "aliases");
  });

  it("root fields: passes at the limit, refuses one past it", async () => {
    const roots = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `r${i}: allCategories(first: 1) { totalCount }`).join(" ")} }`;
    expectPassed(await server.graphql(roots(LIMITS.maxRootFields)));
    expectRefused(await server.graphql(roots(LIMITS.maxRootFields + 1)), "rootFields");
  });

  it("directives: passes at the limit, refuses one past it", async () => {
    const directives = (n: number) => `{ ${Array.from({ length: n }, () => "... @include(if: true) { __typename }").join(" ")} }`;
    expectPassed(await server.graphql(directives(LIMITS.maxDirectives)));
    expectRefused(await server.graphql(directives(LIMITS.maxDirectives + 1)), "directives");
  });

  it("tokens: passes at the limit, refuses one past it, before parsing", async () => {
    // A list literal: one token per value (commas do not count). 21 tokens around it.
    const tokens = (n: number) => `{ search(query: "x", first: 1, tags: [${Array.from({ length: n - 21 }, () => '"t"').join(", ")}]) { nodes { rowId } } }`;
    let count = 0;
    const lexer = new Lexer(new Source(tokens(LIMITS.maxTokens)));
    while (lexer.advance().kind !== TokenKind.EOF) count++;
    expect(count).toBe(LIMITS.maxTokens);
    expectPassed(await server.graphql(tokens(LIMITS.maxTokens)));
    const res = await server.graphql(tokens(LIMITS.maxTokens + 1));
    expect(res.status).toBe(400);
    expectRefused(res, "tokens");
  });

  it("length: passes at the limit, refuses one past it", async () => {
    const sized = (n: number) => {
      const base = "{ __typename }\n#";
      return base + "x".repeat(n - base.length);
    };
    expect(sized(LIMITS.maxQueryLength)).toHaveLength(LIMITS.maxQueryLength);
    expectPassed(await server.graphql(sized(LIMITS.maxQueryLength)));
    expectRefused(await server.graphql(sized(LIMITS.maxQueryLength + 1)), "length");
  });

  it("cost: passes at the limit, refuses one past it", async () => {
    // allUsers(100) → nodes 100 → postsByAuthorId 100 → nodes 100 × 47: 1 + 100 + 100 + 4,700 = 4,901;
    // allPosts(first: n) → nodes n: 1 + n. n = 98 makes 5,000.
    const cost = (n: number) =>
      `{ allUsers(first: 100) { nodes { postsByAuthorId(first: 47) { nodes { rowId } } } } allPosts(first: ${n}) { nodes { rowId } } }`;
    const schema = buildSchema(fs.readFileSync(path.join(PROJECT_ROOT, "schema.graphql"), "utf8"));
    expect(measureDocument(schema, parse(cost(98)), LIMITS).operations[0].cost).toBe(LIMITS.maxCost);
    expectPassed(await server.graphql(cost(98)));
    const res = await server.graphql(cost(99));
    expectRefused(res, "cost");
    expect(res.errors?.[0].extensions).toMatchObject({ max: LIMITS.maxCost, actual: LIMITS.maxCost + 1 });
  });

  it("counts rows skipped by offset: passes at the limit, refuses one past it", async () => {
    // allPosts 1 + nodes (first + offset) = 5,000 at offset 4,998.
    const offset = (n: number) => `{ allPosts(first: 1, offset: ${n}) { nodes { rowId } } }`;
    expectPassed(await server.graphql(offset(LIMITS.maxCost - 2)));
    expectRefused(await server.graphql(offset(LIMITS.maxCost - 1)), "cost");
  });

  it("checks page variables before any SQL: first/last over the page cap (INVAL), offset over the cost limit (QLIMT)", async () => {
    const statements = recordStatements(server.agora.authPool);
    const page = "query($n: Int, $o: Int) { allPosts(first: $n, offset: $o) { nodes { rowId } } }";
    expectPassed(await server.graphql(page, { n: MAX_PAGE_SIZE, o: LIMITS.maxCost }));
    let over: GraphQLResponse = { status: 0, headers: new Headers() };
    let skipped: GraphQLResponse = { status: 0, headers: new Headers() };
    const sent = await statements.during(async () => {
      over = await server.graphql(page, { n: MAX_PAGE_SIZE + 1 });
      skipped = await server.graphql(page, { n: 1, o: LIMITS.maxCost + 1 });
    });
    expect(over.status).toBe(400);
    expect(codeOf(over)).toBe("INVAL");
    expect(over.errors?.[0].message).toBe(`$n is ${MAX_PAGE_SIZE + 1}: first and last may be at most ${MAX_PAGE_SIZE}`);
    expectRefused(skipped, "cost");
    expect(dataStatements(sent)).toEqual([]);
  });

  it("counts fragments as what they expand to, and refuses fragment bombs and cycles", async () => {
    // The same cost as the 5,001 query, hidden in fragments.
    const viaFragments = `{ ...Users allPosts(first: 99) { nodes { rowId } } }
      fragment Users on Query { allUsers(first: 100) { nodes { ...Posts } } }
      fragment Posts on User { postsByAuthorId(first: 47) { nodes { rowId } } }`;
    expectRefused(await server.graphql(viaFragments), "cost");
    const bomb = [
      "{ allUsers(first: 1) { nodes { ...F20 } } }",
      "fragment F0 on User { username }",
      ...Array.from({ length: 20 }, (_, i) => `fragment F${i + 1} on User { ...F${i} ...F${i} }`),
    ].join("\n");
    expectRefused(await server.graphql(bomb), "fragments");
    const cycle = await server.graphql("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }");
    expect(codeOf(cycle)).toBe("QUERY");
    expect(cycle.errors?.[0].message).toMatch(/Cannot spread fragment "A" within itself/);
  });

  it("gives syntax and validation errors the code QUERY", async () => {
    const syntax = await server.graphql("{ __typename ");
    expect(codeOf(syntax)).toBe("QUERY");
    expect(syntax.errors?.[0].message).toMatch(/Syntax Error/);
    const unknown = await server.graphql("{ noSuchField }");
    expect(codeOf(unknown)).toBe("QUERY");
    expect(unknown.errors?.[0].message).toMatch(/Cannot query field "noSuchField"/);
  });

  it("allows introspection outside production", async () => {
    const res = await server.graphql("{ __schema { queryType { name } } }");
    expect(res.data).toEqual({ __schema: { queryType: { name: "Query" } } });
  });
});

describe("document limits over WebSocket; message and response caps", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WS_MAX_MESSAGE_BYTES: "4096", GRAPHQL_MAX_RESPONSE_BYTES: "2048" });
  });
  afterAll(() => server?.stop());

  it("refuses the issue-10 query and a depth past the limit, and still serves", async () => {
    const client = wsClient(server.url, undefined, { lazy: false });
    try {
      const refusal = (query: string) =>
        wsExecute(client, query).then(
          () => null,
          (errors: Array<{ extensions?: { code?: string; limit?: string } }>) => errors[0]?.extensions,
        );
      expect(await refusal(ISSUE_10_QUERY)).toMatchObject({ code: "QLIMT", limit: "cost" });
      expect(await refusal(queryOfDepth(LIMITS.maxDepth + 1))).toMatchObject({ code: "QLIMT", limit: "depth" });
      expect(await wsExecute(client, "{ __typename }")).toEqual({ data: { __typename: "Query" } });
    } finally {
      await client.dispose();
    }
  });

  it("closes a socket that sends a message over WS_MAX_MESSAGE_BYTES with 1009", async () => {
    const socket = new WebSocket(`${server.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.on("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
    socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: `{ __typename } #${"x".repeat(5000)}` } }));
    expect(await closed).toBe(1009);
  });

  it("replaces a response over GRAPHQL_MAX_RESPONSE_BYTES with RSIZE", async () => {
    const big = await server.graphql("{ __schema { types { name description } } }");
    expect(big.status).toBe(200);
    expect(big.data ?? null).toBeNull();
    expect(codeOf(big)).toBe("RSIZE");
    expect(big.errors?.[0].extensions).toMatchObject({ max: 2048 });
    expect(big.errors?.[0].extensions?.bytes as number).toBeGreaterThan(2048);
    expect((await server.graphql("{ __schema { queryType { name } } }")).data).toEqual({ __schema: { queryType: { name: "Query" } } });
  });
});

describe("production defaults", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: "production", HOST: "127.0.0.1" });
  });
  afterAll(() => server?.stop());

  it("turns introspection off but keeps __typename", async () => {
    const res = await server.graphql("{ __schema { queryType { name } } }");
    expectRefused(res, "introspection");
    expect(res.errors?.[0].message).toMatch(/GRAPHQL_INTROSPECTION/);
    expect((await server.graphql("{ __typename }")).data).toEqual({ __typename: "Query" });
  });
});

describe("allow-listed operations (GRAPHQL_OPERATIONS=allow-list)", () => {
  let server: TestServer;
  const tags = DOCUMENTED_OPERATIONS.find((op) => op.name === "Tags")!.document;
  beforeAll(async () => {
    server = await startTestServer({ GRAPHQL_OPERATIONS: "allow-list" });
  });
  afterAll(() => server?.stop());

  async function post(body: unknown): Promise<{ status: number; data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
    const res = await fetch(`${server.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, ...((await res.json()) as object) };
  }

  it("runs a listed document sent in full, by documentId, by id, or by Apollo's persistedQuery hash", async () => {
    const hash = operationHash(tags);
    for (const body of [
      { query: tags },
      { documentId: `sha256:${hash}` },
      { id: hash },
      { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
    ]) {
      const res = await post(body);
      expect(res.errors).toBeUndefined();
      expect(res.data).toHaveProperty("allTags.nodes");
    }
  });

  it("refuses anything else with ALLOW, over HTTP and WebSocket", async () => {
    for (const body of [{ query: "{ __typename }" }, { documentId: "sha256:0123" }, { query: "{ allTags { totalCount } }", documentId: operationHash(tags) }]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0].extensions?.code).toBe("ALLOW");
    }
    const client = wsClient(server.url);
    try {
      await expect(wsExecute(client, "{ __typename }")).rejects.toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "ALLOW" }) })]);
      expect(await wsExecute(client, tags)).toHaveProperty("data.allTags");
    } finally {
      await client.dispose();
    }
  });
});

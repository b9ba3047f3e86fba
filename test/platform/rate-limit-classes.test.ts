/**
 * The edge's rate-limit classes: reads, writes, searches, auth and
 * WebSocket connects, each with its budget from app_private.settings,
 * counted per member or per IP in the database — so two API instances
 * (two servers here, one database) share one budget.
 */
import WebSocket from "ws";
import { classifyOperation } from "../../src/server/rate-limit";
import { asRole, closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { randomIp, startTestServer, type GraphQLResponse, type TestServer } from "../helpers/server";
import { createTestUser } from "../helpers/users";
import { wsClient, wsExecute } from "../helpers/ws";

let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await closeSqlHelpers();
});

async function budget(bucket: string): Promise<{ max: number; windowSeconds: number }> {
  const { rows } = await rootDb().query<{ max: number; w: number }>(
    "select (value->>'max')::int as max, extract(epoch from (value->>'window')::interval)::int as w from app_private.settings where key = $1",
    [`rate_limit.${bucket}`],
  );
  if (!rows[0]) throw new Error(`no setting rate_limit.${bucket}`);
  return { max: rows[0].max, windowSeconds: rows[0].w };
}

type Send = (server: TestServer) => Promise<GraphQLResponse>;

/** Spends `max` requests alternately on both servers (all admitted), then expects the next to be refused on either. */
async function expectBoundary(bucket: string, send: Send): Promise<void> {
  const { max, windowSeconds } = await budget(bucket);
  const policy = `"${bucket.replace(/[^A-Za-z0-9_]/g, "_")}"; q=${max}; w=${windowSeconds}`;
  const statuses: number[] = [];
  for (let i = 0; i < max; i++) {
    const res = await send(i % 2 ? b : a);
    statuses.push(res.status);
    if (i === 0 || i === max - 1) {
      expect(res.headers.get("ratelimit-policy")).toBe(policy);
      expect(res.headers.get("ratelimit")).toMatch(new RegExp(`^"[a-z_]+"; r=${max - i - 1}; t=\\d+$`));
    }
  }
  expect(statuses.filter((s) => s === 429)).toEqual([]);
  for (const server of [a, b]) {
    const refused = await send(server);
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0].extensions?.code).toBe("RLIMT");
    const retry = refused.errors?.[0].extensions?.retryAfterSeconds as number;
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(windowSeconds);
    expect(refused.headers.get("retry-after")).toBe(String(retry));
    expect(refused.headers.get("ratelimit-policy")).toBe(policy);
    expect(refused.headers.get("ratelimit")).toMatch(/; r=0; t=\d+$/);
  }
}

describe("classifying operations", () => {
  it("puts auth mutations in auth, other mutations in write, searches in search, the rest in read", () => {
    expect(classifyOperation(`mutation { login(input: {identifier: "a", password: "b"}) { accessToken } }`)).toBe("auth");
    expect(classifyOperation(`mutation M { x: __typename ...F } fragment F on Mutation { register(input: {username: "a", email: "b", password: "c"}) { accessToken } }`)).toBe("auth");
    expect(classifyOperation(`mutation { createPost(input: {}) { clientMutationId } }`)).toBe("write");
    expect(classifyOperation(`{ currentUser { id } posts: search(query: "x") { totalCount } }`)).toBe("search");
    expect(classifyOperation(`query { ... on Query { searchSuggestions(prefix: "ab") { nodes { text } } } }`)).toBe("search");
    expect(classifyOperation(`{ search: allPosts { totalCount } }`)).toBe("read"); // an alias is not the field
    expect(classifyOperation(`query A { __typename } mutation B { login(input: {}) { accessToken } }`, "A")).toBe("read");
    expect(classifyOperation(`query A { __typename } mutation B { login(input: {}) { accessToken } }`, "B")).toBe("auth");
    expect(classifyOperation(`{ unbalanced`)).toBe("read");
    expect(classifyOperation(undefined)).toBe("read");
  });
});

describe("the SQL limiter behind the classes", () => {
  it("is callable by the authenticator only, not by the roles requests run as", async () => {
    for (const role of ["anonymous", "authenticated"] as const) {
      const code = await sqlErrorCode(asRole({ role }, (c) => c.query("select * from app_hidden.take_rate_limit('api_read:ip', '192.0.2.1')")));
      expect(code).toBe("42501");
    }
    const { rows } = await asRole({ role: "agora_authenticator" }, (c) => c.query("select * from app_hidden.take_rate_limit('api_read:ip', $1)", [randomIp()]));
    expect(rows[0]).toMatchObject({ allowed: true, remaining: expect.any(Number), window_seconds: 60 });
  });

  it("answers nulls for a budget without a setting row (the edge then lets the request through and logs it)", async () => {
    const { rows } = await asRole({ role: "agora_authenticator" }, (c) => c.query("select * from app_hidden.take_rate_limit('no_such:budget', 'k')"));
    expect(rows).toEqual([{ allowed: null, max_hits: null, remaining: null, reset_seconds: null, window_seconds: null }]);
  });
});

describe("budgets shared by two API instances, refused at exactly their boundary", () => {
  it("reads per IP (anonymous)", async () => {
    const ip = randomIp();
    await expectBoundary("api_read:ip", (server) => server.graphql("{ __typename }", {}, { ip }));
  });

  it("reads per member, whatever the address", async () => {
    const user = await createTestUser();
    const token = a.tokenFor(user);
    await expectBoundary("api_read:member", (server) => server.graphql("{ __typename }", {}, { token }));
  });

  it("writes per IP and per member", async () => {
    const ip = randomIp();
    await expectBoundary("api_write:ip", (server) => server.graphql("mutation { __typename }", {}, { ip }));
    const user = await createTestUser();
    const token = a.tokenFor(user);
    await expectBoundary("api_write:member", (server) => server.graphql("mutation { __typename }", {}, { token }));
  });

  it("searches per IP and per member, apart from reads", async () => {
    const search = `query S($p: String!) { searchSuggestions(prefix: $p, first: 1) { __typename } }`;
    const ip = randomIp();
    await expectBoundary("api_search:ip", (server) => server.graphql(search, { p: "zz" }, { ip }));
    expect((await a.graphql("{ __typename }", {}, { ip })).status).toBe(200); // reads are another budget
    const user = await createTestUser();
    const token = a.tokenFor(user);
    await expectBoundary("api_search:member", (server) => server.graphql(search, { p: "zz" }, { token }));
  });

  it("auth per IP, even with a token, and before validation (a malformed login still counts)", async () => {
    const ip = randomIp();
    const user = await createTestUser();
    const token = a.tokenFor(user);
    await expectBoundary("api_auth:ip", (server) => server.graphql("mutation { login }", {}, { ip, token }));
  });
});

describe("WebSocket", () => {
  function connect(server: TestServer, ip: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${server.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws", { headers: { "x-forwarded-for": ip } });
      socket.once("open", () => {
        socket.close();
        resolve({ status: 101, headers: {}, body: "" });
      });
      socket.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      socket.once("error", (error) => reject(error));
    });
  }

  it("counts connects per IP across both instances and answers 429 with the headers past the budget", async () => {
    const { max, windowSeconds } = await budget("ws_connect:ip");
    const ip = randomIp();
    const statuses: number[] = [];
    for (let i = 0; i < max; i++) statuses.push((await connect(i % 2 ? b : a, ip)).status);
    expect(statuses).toEqual(Array(max).fill(101));
    for (const server of [a, b]) {
      const refused = await connect(server, ip);
      expect(refused.status).toBe(429);
      expect(refused.headers["ratelimit-policy"]).toBe(`"ws_connect_ip"; q=${max}; w=${windowSeconds}`);
      expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
      expect(JSON.parse(refused.body).errors[0].extensions.code).toBe("RLIMT");
    }
    expect((await connect(a, randomIp())).status).toBe(101); // another address
  });

  it("counts operations over a socket in the member's classes, shared with HTTP", async () => {
    const { max } = await budget("api_write:member");
    const user = await createTestUser();
    const token = a.tokenFor(user);
    for (let i = 0; i < max; i++) expect((await (i % 2 ? b : a).graphql("mutation { __typename }", {}, { token })).status).toBe(200);
    const client = wsClient(b.url, token);
    try {
      const refusal = await wsExecute(client, "mutation { __typename }").then(
        () => null,
        (errors: Array<{ extensions?: unknown }>) => errors,
      );
      expect(refusal?.[0].extensions).toEqual({ code: "RLIMT", retryAfterSeconds: expect.any(Number) });
      expect(await wsExecute(client, "{ __typename }")).toEqual({ data: { __typename: "Query" } }); // reads: another budget
    } finally {
      await client.dispose();
    }
  });
});

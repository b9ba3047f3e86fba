/** The server as a client meets it: GraphQL, health, request ids, limits, tokens. */
import { startTestServer, type TestServer } from "../helpers/server";

describe("the API server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WORKER: "on" });
  });
  afterAll(() => server.stop());

  it("answers GraphQL over HTTP", async () => {
    const res = await server.graphql<{ __typename: string }>("{ __typename }");
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ __typename: "Query" });
  });

  it("reports live and ready, naming every check", async () => {
    const live = await fetch(`${server.url}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ok",
      failing: [],
      checks: { database: { ok: true }, migrations: { ok: true }, worker: { ok: true } },
    });
  });

  it("echoes a caller's X-Request-Id and makes one up otherwise", async () => {
    const given = await fetch(`${server.url}/health/live`, { headers: { "X-Request-Id": "trace-123" } });
    expect(given.headers.get("x-request-id")).toBe("trace-123");
    const made = await fetch(`${server.url}/health/live`);
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const hostile = await fetch(`${server.url}/health/live`, { headers: { "X-Request-Id": "x".repeat(500) } });
    expect(hostile.headers.get("x-request-id")).not.toBe("x".repeat(500));
  });

  it("sends security headers", async () => {
    const res = await fetch(`${server.url}/health/live`);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-powered-by")).toBeNull();
  });

  it("serves the Ruru explorer in development with a policy that lets it load", async () => {
    const res = await fetch(`${server.url}/ruru`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<html");
    expect(res.headers.get("content-security-policy")).toContain("'unsafe-eval'");
  });

  it("answers unknown paths with a JSON 404", async () => {
    const res = await fetch(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ errors: [{ message: "Not found", extensions: { code: "NOTFD" } }] });
  });

  it("gives GraphQL syntax errors as errors, not 500s", async () => {
    const res = await server.graphql("{ __typename ");
    expect(res.status).toBeLessThan(500);
    expect(res.errors?.[0].message).toMatch(/Syntax Error/);
  });

  it("refuses a request body over the limit without losing the server", async () => {
    const res = await server.graphql(`{ __typename # ${"x".repeat(200_000)}\n }`);
    expect(res.status).toBe(413);
    expect((await server.graphql("{ __typename }")).data).toEqual({ __typename: "Query" });
  });

  it("is not ready once the worker has stopped, and says so", async () => {
    await server.agora.worker!.stop();
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { failing: string[]; checks: Record<string, { ok: boolean; error?: string }> };
    expect(body.failing).toEqual(["worker"]);
    expect(body.checks.worker).toEqual({ ok: false, error: "worker is not running" });
  });
});

describe("readiness without a database", () => {
  it("is 503 naming the database when it cannot be reached", async () => {
    const server = await startTestServer();
    try {
      await server.agora.authPool.end(); // the database is now unreachable for the API
      const ready = await fetch(`${server.url}/health/ready`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { failing: string[]; checks: Record<string, { ok: boolean; error?: string }> };
      expect(body.failing).toContain("database");
      expect(body.checks.database.ok).toBe(false);
    } finally {
      await server.agora.ownerPool.end();
      (server.agora.authPool as unknown as { end: () => Promise<void> }).end = async () => undefined;
      (server.agora.ownerPool as unknown as { end: () => Promise<void> }).end = async () => undefined;
      await server.stop();
    }
  });
});

describe("rate limiting", () => {
  it("answers 429 with RLIMT past the per-IP limit, but never limits health checks", async () => {
    const server = await startTestServer({ RATE_LIMIT_MAX: "3" });
    try {
      const ip = "198.51.100.9";
      for (let i = 0; i < 3; i++) expect((await server.graphql("{ __typename }", {}, { ip })).status).toBe(200);
      const limited = await server.graphql("{ __typename }", {}, { ip });
      expect(limited.status).toBe(429);
      expect(limited.errors?.[0].extensions?.code).toBe("RLIMT");
      expect(limited.headers.get("ratelimit-policy")).toBeTruthy();
      expect((await fetch(`${server.url}/health/live`, { headers: { "x-forwarded-for": ip } })).status).toBe(200);
      expect((await server.graphql("{ __typename }", {}, { ip: "198.51.100.10" })).status).toBe(200); // another client
    } finally {
      await server.stop();
    }
  });
});

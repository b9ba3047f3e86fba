/**
 * GET /metrics: protected (separate listener, or a bearer token on the API
 * port), in the Prometheus text format, with the series the dashboard uses.
 */
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import pg from "pg";
import { PROJECT_ROOT } from "../../src/paths";
import { Logger as WorkerLogger, run, type Runner } from "graphile-worker";
import { loadConfig } from "../../src/config";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { randomIp, startTestServer, type TestServer } from "../helpers/server";
import { testDatabase } from "../helpers/testDatabase";
import { uniqueName } from "../helpers/users";
import { freePort } from "../helpers/globalSetup";
import { wsClient, wsExecute } from "../helpers/ws";

const TOKEN = "metrics-token-for-tests-0123456789abcdef";

afterAll(closeSqlHelpers);

/** The value of one series, by name and exact labels (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe("configuration", () => {
  it("refuses a short token and a metrics port equal to the API port, naming the variable", () => {
    expect(() => loadConfig({ METRICS_TOKEN: "short" })).toThrow("METRICS_TOKEN must be at least 32 characters");
    expect(() => loadConfig({ PORT: "4000", METRICS_PORT: "4000" })).toThrow(/METRICS_PORT must differ from PORT/);
    expect(() => loadConfig({ METRICS_PORT: "70000" })).toThrow(/METRICS_PORT must be between 0 and 65535/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://x" })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT must be an http/);
    expect(loadConfig({}).metrics).toEqual({ token: null, port: null, host: "127.0.0.1", onApiPort: false });
    expect(loadConfig({}).tracing).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).tracing).toEqual({
      endpoint: "http://collector:4318/v1/traces",
      serviceName: "agora",
    });
  });
});

describe("without METRICS_PORT or METRICS_TOKEN", () => {
  it("serves no /metrics at all", async () => {
    const server = await startTestServer();
    try {
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(404);
      expect(server.agora.metricsUrl).toBeNull();
    } finally {
      await server.stop();
    }
  });
});

describe("a scrape", () => {
  let server: TestServer;
  let worker: Runner | null = null;
  beforeAll(async () => {
    server = await startTestServer({ METRICS_PORT: "0", METRICS_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
  });

  async function scrape(url = `${server.agora.metricsUrl}/metrics`): Promise<string> {
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  }

  /**
   * HTTP series are counted when the response has finished, which the server
   * may notice just after the client has read it: scrape until they are there.
   */
  async function scrapeUntil(ready: (text: string) => boolean): Promise<string> {
    const deadline = Date.now() + 5000;
    let text = await scrape();
    while (!ready(text) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      text = await scrape();
    }
    return text;
  }

  it("requires the token, on the API port and on the metrics listener", async () => {
    for (const url of [`${server.url}/metrics`, `${server.agora.metricsUrl}/metrics`]) {
      const none = await fetch(url);
      expect(none.status).toBe(401);
      expect(((await none.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code).toBe("TOKEN");
      expect((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    }
    expect((await fetch(`${server.agora.metricsUrl}/graphql`)).status).toBe(404); // the listener serves metrics only
  });

  it("counts HTTP requests and GraphQL operations by name and outcome, with durations", async () => {
    const name = `Probe${Date.now()}`;
    await server.graphql(`query ${name} { __typename }`);
    await server.graphql(`query ${name} { __typename }`);
    await server.graphql(`mutation ${name}Fail { logout(input: {}) { clientMutationId } }`); // permission denied (42501)
    const weak = `mutation ${name}Weak { register(input: {username: "${name.toLowerCase()}", email: "${name}@example.com", password: "short"}) { accessToken } }`;
    expect((await server.graphql(weak)).errors?.[0].extensions?.code).toBe("WEAKP");
    const text = await scrapeUntil((t) => (sample(t, "agora_http_requests_total", { method: "POST", route: "/graphql", status: "200" }) ?? 0) >= 4);
    expect(sample(text, "agora_http_requests_total", { method: "POST", route: "/graphql", status: "200" })).toBeGreaterThanOrEqual(4);
    expect(sample(text, "agora_http_request_duration_seconds_count", { method: "POST", route: "/graphql", status: "200" })).toBeGreaterThanOrEqual(4);
    expect(sample(text, "agora_graphql_operations_total", { operation: name, type: "query", outcome: "ok" })).toBe(2);
    expect(sample(text, "agora_graphql_operation_duration_seconds_count", { operation: name, type: "query", outcome: "ok" })).toBe(2);
    expect(sample(text, "agora_graphql_operation_duration_seconds_bucket", { operation: name, type: "query", outcome: "ok", le: "+Inf" })).toBe(2);
    // Outcomes are labelled before the error mask: our own codes as clients see them, standard SQLSTATEs by class.
    expect(sample(text, "agora_graphql_operations_total", { operation: `${name}Weak`, type: "mutation", outcome: "WEAKP" })).toBe(1);
    expect(sample(text, "agora_graphql_operations_total", { operation: `${name}Fail`, type: "mutation", outcome: "SQL_42" })).toBe(1);
    expect(sample(text, "agora_http_requests_total", { method: "GET", route: "other", status: "404" })).toBeUndefined();
    await fetch(`${server.url}/no/such/${name}`);
    const after = await scrapeUntil((t) => sample(t, "agora_http_requests_total", { method: "GET", route: "other", status: "404" }) !== undefined);
    expect(sample(after, "agora_http_requests_total", { method: "GET", route: "other", status: "404" })).toBe(1); // unknown paths share one label
  });

  it("reports pools, WebSockets, rate-limit refusals and process metrics", async () => {
    const client = wsClient(server.url, undefined, { lazy: false });
    try {
      await wsExecute(client, "{ __typename }");
      const ip = randomIp();
      const { rows } = await rootDb().query<{ max: number }>("select (value->>'max')::int as max from app_private.settings where key = 'rate_limit.api_auth:ip'");
      for (let i = 0; i <= rows[0].max; i++) await server.graphql("mutation { login }", {}, { ip });
      const text = await scrape();
      expect(sample(text, "agora_websocket_connections")).toBeGreaterThanOrEqual(1);
      expect(sample(text, "agora_rate_limit_refusals_total", { bucket: "api_auth:ip" })).toBe(1);
      expect(sample(text, "agora_rate_limit_check_duration_seconds_count", { bucket: "api_auth:ip" })).toBeGreaterThanOrEqual(rows[0].max + 1);
      expect(sample(text, "agora_graphql_operations_total", { operation: "anonymous", type: "query", outcome: "ok" })).toBeGreaterThanOrEqual(1); // the WebSocket query
      for (const state of ["in_use", "idle", "waiting", "max"]) {
        expect(sample(text, "agora_db_pool_clients", { pool: "auth", state })).toEqual(expect.any(Number));
        expect(sample(text, "agora_db_pool_clients", { pool: "owner", state })).toEqual(expect.any(Number));
      }
      expect(sample(text, "agora_db_pool_clients", { pool: "auth", state: "max" })).toBe(10);
      expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThan(0);
      expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
      expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    } finally {
      await client.dispose();
    }
  });

  it("has every series the committed Grafana dashboard queries", async () => {
    const dashboard = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "observability", "grafana-dashboard.json"), "utf8");
    const names = new Set([...dashboard.matchAll(/\b((?:agora|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, "")));
    expect(names.size).toBeGreaterThanOrEqual(10);
    const text = await scrape();
    for (const name of names) expect(`${name}: ${text.includes(`# TYPE ${name} `)}`).toBe(`${name}: true`);
  });

  it("caps operation names: past the cap, new names are counted as other", async () => {
    const names = Array.from({ length: 210 }, (_, i) => `Cap${process.pid}N${i}`);
    for (const name of names) server.agora.metrics.operation(name, "query", "ok", 0.001);
    const text = await scrape();
    const distinct = new Set([...text.matchAll(/agora_graphql_operations_total\{operation="([^"]+)"/g)].map((m) => m[1]));
    expect(distinct.size).toBeLessThanOrEqual(202); // 200 names + "anonymous" + "other"
    expect(sample(text, "agora_graphql_operations_total", { operation: "other", type: "query", outcome: "ok" })).toBeGreaterThanOrEqual(10);
    server.agora.metrics.operation("not a name{}", "query", "ok", 0.001);
    expect(await scrape()).not.toContain("not a name");
  });

  it("reports the job queue by task and state, and job outcomes by task from worker events", async () => {
    const ok = uniqueName("metrics_ok");
    const bad = uniqueName("metrics_bad");
    const later = uniqueName("metrics_later");
    const owner = new pg.Pool({ connectionString: testDatabase().ownerUrl, max: 4 });
    try {
      await owner.query(`select graphile_worker.add_job($1, run_at := now() + interval '1 hour')`, [later]);
      const queued = await scrape();
      expect(sample(queued, "agora_jobs_queue_depth", { task: later, state: "scheduled" })).toBe(1);
      expect(sample(queued, "agora_jobs_queue_depth", { task: later, state: "ready" })).toBe(0);

      // A worker that knows only these two tasks, so it takes no other test's jobs.
      worker = await run({
        pgPool: owner,
        concurrency: 1,
        noHandleSignals: true,
        pollInterval: 100,
        logger: new WorkerLogger(() => () => undefined),
        taskList: {
          [ok]: async () => undefined,
          [bad]: async () => {
            throw new Error("planned failure");
          },
        },
      });
      server.agora.metrics.watchWorker(worker.events);
      await owner.query(`select graphile_worker.add_job($1), graphile_worker.add_job($1), graphile_worker.add_job($2, max_attempts := 1)`, [ok, bad]);
      const deadline = Date.now() + 20_000;
      let text = "";
      while (Date.now() < deadline) {
        text = await scrape();
        if (sample(text, "agora_jobs_total", { task: ok, outcome: "success" }) === 2 && sample(text, "agora_jobs_total", { task: bad, outcome: "failed" }) === 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(sample(text, "agora_jobs_total", { task: ok, outcome: "success" })).toBe(2);
      expect(sample(text, "agora_jobs_total", { task: bad, outcome: "error" })).toBe(1);
      expect(sample(text, "agora_jobs_total", { task: bad, outcome: "failed" })).toBe(1);
      expect(sample(text, "agora_job_duration_seconds_count", { task: ok })).toBe(2);
    } finally {
      await worker?.stop();
      worker = null;
      await rootDb().query("delete from graphile_worker._private_jobs j using graphile_worker._private_tasks t where t.id = j.task_id and t.identifier = any($1)", [[ok, bad, later]]);
      await owner.end();
    }
  });
});

describe("the worker alone (npm run worker) with METRICS_PORT", () => {
  it("serves its job metrics and stops cleanly", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "dist", "src", "worker-main.js")], {
      env: { ...process.env, ...testDatabase().env, NODE_ENV: "test", LOG_LEVEL: "info", WORKER_CONCURRENCY: "1", METRICS_PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes("Agora worker is running")) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(output).toContain(`http://127.0.0.1:${port}/metrics`);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const name of ["agora_jobs_total", "agora_job_duration_seconds", "agora_jobs_queue_depth", "process_resident_memory_bytes"]) {
        expect(text).toContain(`# TYPE ${name} `);
      }
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});

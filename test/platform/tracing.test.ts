/**
 * Tracing, end to end: the compiled server (`node dist/src/main.js`, as
 * `npm start` runs it) with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a real
 * OTLP/HTTP receiver in this test, which collects the JSON the exporter
 * posts. Proves: an HTTP span continuing the caller's `traceparent`, a
 * GraphQL operation span under it, SQL spans under that, the request id on
 * every one of them, and trace ids on the log lines of the request.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/paths";
import { freePort } from "../helpers/globalSetup";
import { testDatabase } from "../helpers/testDatabase";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;
}

const spans: OtlpSpan[] = [];
let receiver: http.Server;
let receiverUrl: string;
let child: ChildProcess;
let output = "";
let apiUrl: string;

function attribute(span: OtlpSpan, key: string): string | undefined {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : String(value.intValue));
}

/** OTLP ids arrive hex-encoded in the JSON protocol. */
const hex = (id: string) => id.toLowerCase();

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      if (req.url === "/v1/traces" && req.headers["content-type"]?.startsWith("application/json")) {
        const payload = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const rs of payload.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", () => resolve()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [path.join(PROJECT_ROOT, "dist", "src", "main.js")], {
    env: {
      ...process.env,
      ...testDatabase().env,
      NODE_ENV: "test",
      PORT: String(port),
      WORKER: "off",
      LOG_LEVEL: "info",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
      OTEL_BSP_SCHEDULE_DELAY: "50",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes("Agora is ready")) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

async function waitForSpans(predicate: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`spans did not arrive; got ${JSON.stringify(spans.map((s) => s.name))}\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("tracing with an OTLP endpoint", () => {
  it("continues the caller's traceparent: HTTP span → GraphQL operation → SQL, each with the request id", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpanId = "00f067aa0ba902b7";
    const requestId = `trace-test-${Date.now()}`;
    const res = await fetch(`${apiUrl}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: `00-${traceId}-${callerSpanId}-01`,
        "x-request-id": requestId,
      },
      body: JSON.stringify({ query: "query TracedFeed { allPosts(first: 1) { totalCount } }" }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();

    const inTrace = () => spans.filter((s) => hex(s.traceId) === traceId);
    await waitForSpans(() => inTrace().some((s) => s.name.startsWith("graphql.query")) && inTrace().some((s) => /^pg\.query/.test(s.name)));
    const trace = inTrace();
    const byId = new Map(trace.map((s) => [hex(s.spanId), s]));

    const httpSpan = trace.find((s) => s.parentSpanId !== undefined && hex(s.parentSpanId) === callerSpanId);
    expect(httpSpan?.name).toMatch(/^POST/);
    const operation = trace.find((s) => s.name === "graphql.query TracedFeed")!;
    expect(operation).toBeDefined();
    expect(attribute(operation, "graphql.operation.name")).toBe("TracedFeed");
    expect(attribute(operation, "graphql.outcome")).toBe("ok");
    // The operation's ancestors lead to the HTTP span.
    const ancestors = (span: OtlpSpan): string[] => {
      const chain: string[] = [];
      for (let p = span.parentSpanId; p && byId.has(hex(p)); p = byId.get(hex(p))!.parentSpanId) chain.push(hex(p));
      return chain;
    };
    expect(ancestors(operation)).toContain(hex(httpSpan!.spanId));
    // SQL sent for the operation is under the operation span.
    const sql = trace.filter((s) => /^pg\.query/.test(s.name) && ancestors(s).includes(hex(operation.spanId)));
    expect(sql.length).toBeGreaterThanOrEqual(1);
    // The rate limiter's SQL runs before GraphQL: under the HTTP span, not under the operation.
    const limiterSql = trace.filter((s) => /^pg\.query/.test(s.name) && !ancestors(s).includes(hex(operation.spanId)));
    expect(limiterSql.length).toBeGreaterThanOrEqual(1);
    for (const span of [httpSpan!, operation, ...sql, ...limiterSql]) expect(attribute(span, "agora.request_id")).toBe(requestId);
  });

  it("starts a new trace without traceparent, and puts trace ids and the request id on the request's log lines", async () => {
    const requestId = `trace-test-log-${Date.now()}`;
    await fetch(`${apiUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": requestId },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    await waitForSpans(() => spans.some((s) => s.name === "graphql.query" && attribute(s, "agora.request_id") === requestId));
    const span = spans.find((s) => s.name === "graphql.query" && attribute(s, "agora.request_id") === requestId)!;
    expect(span.parentSpanId).toBeTruthy(); // under its HTTP span
    const deadline = Date.now() + 5000;
    while (!output.includes(requestId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const line = output.split("\n").find((l) => l.includes(`"id":"${requestId}"`));
    expect(line).toBeDefined();
    const log = JSON.parse(line!) as { trace_id?: string; span_id?: string };
    expect(log.trace_id).toBe(hex(span.traceId));
    expect(log.span_id).toMatch(/^[0-9a-f]{16}$/);
  });
});

/**
 * Sends the attack corpus (attack-corpus.ts) to a running server and reports,
 * per entry, the answer and the time to answer, whether the server still
 * answers afterwards, and (with --pid) its RSS.
 *
 *   npm run bench:attack -- --url http://127.0.0.1:3000 [--pid 1234] [--timeout-ms 30000] [--only name,name]
 */
import fs from "node:fs";
import net from "node:net";
import WebSocket from "ws";
import { ATTACK_CORPUS, type AttackEntry } from "./attack-corpus";

export interface AttackResult {
  name: string;
  /** What came back: an error code, `OK`, `HTTP <status>`, `WS <close code>`, `closed`, `timeout` or `connection error`. */
  answer: string;
  ms: number;
  detail: string;
  /** The answer's body (HTTP) or messages (WebSocket), as received: tests check what leaks. */
  body: string;
}

interface Outcome {
  answer: string;
  detail: string;
  body?: string;
}

const GRAPHQL_JSON = "application/graphql-response+json, application/json";

/** The code a GraphQL response carries: the first error's extensions.code, else OK (data) or the status. */
function codeOf(status: number, text: string): { answer: string; detail: string } {
  type Body = { errors?: Array<{ message?: string; extensions?: { code?: string } }>; data?: unknown } | null;
  let body: Body;
  try {
    body = JSON.parse(text) as Body;
  } catch {
    return { answer: `HTTP ${status}`, detail: text.slice(0, 160) };
  }
  const error = body?.errors?.[0];
  if (error) return { answer: error.extensions?.code ?? `HTTP ${status}`, detail: String(error.message ?? "").slice(0, 160) };
  return { answer: status === 200 ? "OK" : `HTTP ${status}`, detail: `${text.length} bytes` };
}

async function post(url: string, body: Buffer, contentType: string, signal: AbortSignal): Promise<Outcome> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": contentType, accept: GRAPHQL_JSON },
    body,
    signal,
  });
  const text = await res.text();
  return { ...codeOf(res.status, text), body: text.slice(0, 200_000) };
}

/** Drips a request one byte at a time; resolves with the status line the server answers, or "closed". */
function slowloris(url: string, part: "headers" | "body", intervalMs: number, timeoutMs: number): Promise<Outcome> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const head = `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n`;
    const drip = part === "headers" ? head : "{".padEnd(10_000, " ");
    let i = 0;
    let received = "";
    let timer: NodeJS.Timeout | null = null;
    const finish = (answer: string, detail: string) => {
      if (timer) clearInterval(timer);
      clearTimeout(overall);
      socket.destroy();
      resolve({ answer, detail });
    };
    const overall = setTimeout(() => finish("timeout", `still open after ${timeoutMs} ms, ${i} bytes sent`), timeoutMs);
    socket.on("connect", () => {
      if (part === "body") socket.write(head);
      timer = setInterval(() => {
        if (i < drip.length && !socket.destroyed) socket.write(drip[i++]);
      }, intervalMs);
    });
    socket.on("data", (d) => (received += d.toString()));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      finish(status ? `HTTP ${status}` : "closed", `${i} bytes sent before the server ended it`);
    });
  });
}

/** graphql-ws by hand: connection_init, then one message; resolves with the first error code, OK, or the close code. */
function ws(url: string, message: (socket: WebSocket) => void, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    let received = "";
    const finish = (answer: string, detail: string) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.terminate();
      resolve({ answer, detail, body: received });
    };
    const timer = setTimeout(() => finish("timeout", `no answer within ${timeoutMs} ms`), timeoutMs);
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: {} })));
    socket.on("message", (data) => {
      received += `${data.toString().slice(0, 200_000)}\n`;
      const msg = JSON.parse(data.toString()) as { type: string; payload?: unknown };
      if (msg.type === "connection_ack") return message(socket);
      if (msg.type === "error") {
        const errors = msg.payload as Array<{ message?: string; extensions?: { code?: string } }>;
        return finish(errors[0]?.extensions?.code ?? "error", String(errors[0]?.message ?? "").slice(0, 160));
      }
      if (msg.type === "next") {
        const payload = msg.payload as { errors?: Array<{ message?: string; extensions?: { code?: string } }> };
        const error = payload.errors?.[0];
        return finish(error ? (error.extensions?.code ?? "error") : "OK", String(error?.message ?? "").slice(0, 160));
      }
    });
    socket.on("close", (code, reason) => finish(`WS ${code}`, reason.toString().slice(0, 160)));
    socket.on("error", (error) => finish("connection error", error.message));
  });
}

export async function runAttack(url: string, entry: AttackEntry, timeoutMs: number): Promise<AttackResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  let outcome: Outcome;
  try {
    const r = entry.request;
    switch (r.kind) {
      case "json":
        outcome = await post(url, Buffer.from(JSON.stringify(r.body)), "application/json", signal);
        break;
      case "raw":
        outcome = await post(url, r.bytes, r.contentType, signal);
        break;
      case "flood": {
        const body = Buffer.from(JSON.stringify(r.body));
        const all = await Promise.all(Array.from({ length: r.count }, () => post(url, body, "application/json", signal)));
        const counts = new Map<string, number>();
        for (const one of all) counts.set(one.answer, (counts.get(one.answer) ?? 0) + 1);
        const worst = all.find((one) => one.answer !== "OK") ?? all[0];
        outcome = { answer: worst.answer, detail: [...counts].map(([k, v]) => `${v}× ${k}`).join(", "), body: all.map((one) => one.body ?? "").join("\n") };
        break;
      }
      case "slowloris":
        outcome = await slowloris(url, r.part, r.intervalMs, timeoutMs);
        break;
      case "ws":
        outcome = await ws(url, (socket) => socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: r.payload })), timeoutMs);
        break;
      case "ws-raw": {
        const padding = "x".repeat(r.bytes);
        outcome = await ws(url, (socket) => socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: `{ __typename } #${padding}` } })), timeoutMs);
        break;
      }
    }
  } catch (error) {
    const name = (error as Error).name;
    outcome = name === "TimeoutError" || name === "AbortError"
      ? { answer: "timeout", detail: `no answer within ${timeoutMs} ms` }
      : { answer: "connection error", detail: String((error as Error).cause ?? (error as Error).message).slice(0, 160) };
  }
  return { name: entry.name, answer: outcome.answer, detail: outcome.detail, body: outcome.body ?? "", ms: Math.round(performance.now() - started) };
}

/** Resident set size of a process, in MB, from /proc (Linux). */
export function rssMb(pid: number): number | null {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

async function alive(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(5000) })).ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const url = (flag("url") ?? "http://127.0.0.1:3000").replace(/\/$/, "");
  const pid = flag("pid") ? Number(flag("pid")) : null;
  const timeoutMs = Number(flag("timeout-ms") ?? 30_000);
  const only = flag("only")?.split(",");
  const rows: string[] = ["| entry | answer | time | server after | RSS after | detail |", "|---|---|---|---|---|---|"];
  for (const entry of ATTACK_CORPUS) {
    if (only && !only.includes(entry.name)) continue;
    const result = await runAttack(url, entry, timeoutMs);
    const up = await alive(url);
    const rss = pid ? rssMb(pid) : null;
    const row = `| ${entry.name} | ${result.answer} | ${result.ms} ms | ${up ? "up" : "**down**"} | ${rss ?? "-"} MB | ${result.detail.replace(/\|/g, "\\|").replace(/\n/g, " ")} |`;
    rows.push(row);
    process.stdout.write(`${row}\n`);
    if (!up) {
      process.stdout.write("the server no longer answers; stopping\n");
      break;
    }
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}

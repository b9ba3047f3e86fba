/**
 * API_PROCESSES=2 (src/cluster.ts): `npm start`'s server as a primary with
 * two API processes on one port. Both serve requests, each is an instance of
 * its own (its own LISTEN connection), a crashed one is replaced while the
 * other keeps serving, and SIGTERM stops everything, leaving no process
 * behind. Own embedded cluster, so nothing here disturbs other tests.
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { PROJECT_ROOT } from "../../src/paths";
import { loadOrCreateDevSecrets } from "../../src/db/secrets";
import { freePort } from "../helpers/globalSetup";
import { descendants, processTable, spawnRun, waitFor, type Run } from "../helpers/processes";

jest.setTimeout(180_000);

let dataDir: string;
let run: Run;
let port: number;
let pgPort: number;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "agora-processes-"));
  fs.chmodSync(dataDir, 0o755);
  pgPort = await freePort();
  port = await freePort();
  run = spawnRun(process.execPath, [path.join(PROJECT_ROOT, "dist", "src", "main.js")], {
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    PORT: String(port),
    API_PROCESSES: "2",
    DATABASE_URL: "",
    AUTH_DATABASE_URL: "",
    SMTP_URL: "",
    MAIL_OUTBOX_DIR: path.join(dataDir, "mail"),
    LOG_LEVEL: "info",
  });
  await waitFor(run, "Agora is ready: 2 API processes");
  await waitFor(run, "Worker connected and looking for jobs");
});

afterAll(async () => {
  if (run.child.exitCode === null) {
    run.child.kill("SIGKILL");
    await run.exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The API processes: node children of the primary (the embedded PostgreSQL's processes are not node). */
const apiProcesses = () => descendants(run.child.pid!).filter((p) => p.cmdline.includes("main.js"));

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** One GraphQL request on a connection of its own (so the cluster hands each to the next process). */
function query(): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query: "{ allCategories(first: 1) { totalCount } }" });
    const req = http.request(
      { host: "127.0.0.1", port, path: "/graphql", method: "POST", agent: false, headers: { "content-type": "application/json", connection: "close" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function listeners(): Promise<number> {
  const password = encodeURIComponent(loadOrCreateDevSecrets(dataDir).postgresPassword);
  const client = new pg.Client({ connectionString: `postgres://postgres:${password}@127.0.0.1:${pgPort}/agora` });
  await client.connect();
  try {
    const { rows } = await client.query("select count(*)::int as n from pg_stat_activity where application_name = 'agora realtime listener'");
    return rows[0].n;
  } finally {
    await client.end();
  }
}

describe("API_PROCESSES=2", () => {
  it("serves from both processes, each an instance with its own LISTEN connection", async () => {
    const children = apiProcesses();
    expect(children).toHaveLength(2);
    expect(await listeners()).toBe(2);
    const before = children.map((c) => cpuSeconds(c.pid));
    for (let i = 0; i < 10; i++) {
      expect(await Promise.all(Array.from({ length: 20 }, () => query()))).toEqual(Array(20).fill(200));
    }
    const used = children.map((c, i) => cpuSeconds(c.pid) - before[i]);
    // Round-robin: each took about half of the 200 requests; an idle process uses next to nothing.
    expect(Math.min(...used)).toBeGreaterThanOrEqual(0.05);
  });

  it("replaces an API process that dies, the other serving meanwhile", async () => {
    const [victim, survivor] = apiProcesses();
    process.kill(victim.pid, "SIGKILL");
    await waitFor(run, "an API process exited; starting another");
    expect(await query()).toBe(200);
    const deadline = Date.now() + 60_000;
    while (!(apiProcesses().length === 2 && !apiProcesses().some((p) => p.pid === victim.pid))) {
      if (Date.now() > deadline) throw new Error(`no replacement:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(apiProcesses().map((p) => p.pid)).toContain(survivor.pid);
    // The replacement is an instance like the first: its own LISTEN connection comes up.
    while ((await listeners()) !== 2) {
      if (Date.now() > deadline) throw new Error(`the replacement did not LISTEN:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it("stops everything on SIGTERM and exits by itself, leaving no process behind", async () => {
    const pids = descendants(run.child.pid!).map((p) => p.pid);
    run.child.kill("SIGTERM");
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.output()).not.toMatch(/second signal|open handles kept the process alive|shutdown failed/);
    expect(processTable().filter((p) => pids.includes(p.pid))).toEqual([]);
  });
});

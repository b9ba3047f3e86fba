/**
 * PostgreSQL restarted under a running server (`pg_ctl restart -m fast`, as
 * an operator or a crash-restart would): requests after the restart succeed,
 * the worker's LISTEN connection comes back and a job enqueued after the
 * restart runs; each lost connection is logged as one short line naming the
 * pool, the message and the SQLSTATE (never the `pg` client object). The
 * server runs with its own embedded cluster, so restarting it disturbs no
 * other test.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { PROJECT_ROOT } from "../../src/paths";
import { loadOrCreateDevSecrets } from "../../src/db/secrets";
import { freePort } from "../helpers/globalSetup";
import { spawnRun, waitFor, warningsIn, type Run } from "../helpers/processes";

jest.setTimeout(180_000);

let dataDir: string;
let outbox: string;
let run: Run;
let url: string;
let root: () => Promise<pg.Client>;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "agora-restart-"));
  fs.chmodSync(dataDir, 0o755);
  outbox = path.join(dataDir, "mail");
  const pgPort = await freePort();
  const port = await freePort();
  run = spawnRun(process.execPath, [path.join(PROJECT_ROOT, "dist", "src", "main.js")], {
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    PORT: String(port),
    DATABASE_URL: "",
    AUTH_DATABASE_URL: "",
    SMTP_URL: "",
    MAIL_OUTBOX_DIR: outbox,
    LOG_LEVEL: "info",
  });
  // Both: the worker may connect before the HTTP server listens, or after.
  await waitFor(run, "Agora is ready");
  await waitFor(run, "Worker connected and looking for jobs");
  url = `http://127.0.0.1:${port}`;
  const password = encodeURIComponent(loadOrCreateDevSecrets(dataDir).postgresPassword);
  root = async () => {
    const client = new pg.Client({ connectionString: `postgres://postgres:${password}@127.0.0.1:${pgPort}/agora` });
    await client.connect();
    return client;
  };
});

afterAll(async () => {
  if (run.child.exitCode === null) {
    run.child.kill("SIGTERM");
    await run.exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function query(): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ allCategories(first: 1) { totalCount } }" }),
  });
  return { status: response.status, body: await response.json() };
}

/** The worker's LISTEN session, as PostgreSQL sees it (pid), or null. */
async function listenSession(): Promise<number | null> {
  const db = await root();
  try {
    const { rows } = await db.query<{ pid: number }>(
      `select pid from pg_stat_activity where usename = 'agora_owner' and query ilike 'listen%jobs%' limit 1`,
    );
    return rows[0]?.pid ?? null;
  } finally {
    await db.end();
  }
}

async function until<T>(what: string, probe: () => Promise<T | null>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${run.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("recovers from a PostgreSQL restart: requests succeed, the worker listens again and runs a new job, and the log stays short", async () => {
  // Open connections in every pool before the restart.
  const before = await Promise.all(Array.from({ length: 6 }, query));
  for (const answer of before) expect(answer).toEqual({ status: 200, body: { data: { allCategories: { totalCount: 0 } } } });
  const listenBefore = await until("the worker's LISTEN session", listenSession);
  const logBefore = run.output().length;

  // `pg_ctl restart -m fast` against the server's own cluster, with its binaries and as its OS user.
  const pgDir = path.join(dataDir, "pg");
  const postmaster = Number(fs.readFileSync(path.join(pgDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const binDir = path.dirname(fs.readlinkSync(`/proc/${postmaster}/exe`));
  const owner = fs.statSync(pgDir);
  const restart = spawnSync(path.join(binDir, "pg_ctl"), ["restart", "-m", "fast", "-w", "-D", pgDir], {
    uid: owner.uid,
    gid: owner.gid,
    stdio: "ignore", // the new postmaster inherits pg_ctl's output; a pipe would never close
    timeout: 60_000,
  });
  expect(restart.status).toBe(0);

  // Requests after the restart succeed, every one of them.
  const after: Array<{ status: number; body: unknown }> = [];
  for (let i = 0; i < 12; i++) after.push(await query());
  for (const answer of after) expect(answer).toEqual({ status: 200, body: { data: { allCategories: { totalCount: 0 } } } });

  // The worker's LISTEN connection is back (a new session), and a job enqueued now runs.
  const listenAfter = await until("the worker's LISTEN session after the restart", listenSession);
  expect(listenAfter).not.toBe(listenBefore);
  const db = await root();
  let jobId: string;
  try {
    const { rows } = await db.query<{ id: string }>(
      `select id from graphile_worker.add_job('send_email', json_build_object('template', 'verify_email', 'to', 'restart@example.com',
         'variables', json_build_object('email', 'restart@example.com', 'token', 'after-restart')))`,
    );
    jobId = rows[0].id;
    await until("the job to run", async () => {
      const { rows: left } = await db.query("select last_error from graphile_worker.jobs where id = $1", [jobId]);
      if (left[0]?.last_error) throw new Error(`the job failed: ${left[0].last_error}`);
      return left.length === 0 ? true : null;
    });
  } finally {
    await db.end();
  }
  expect(fs.readdirSync(outbox).map((f) => fs.readFileSync(path.join(outbox, f), "utf8")).some((m) => m.includes("after-restart"))).toBe(true);

  // What the restart logged: one short warning per lost connection, naming the pool and the SQLSTATE.
  const warnings = warningsIn(run.output().slice(logBefore)).filter((line) => line.includes('"database connection error"'));
  expect(warnings.length).toBeGreaterThan(0);
  for (const line of warnings) {
    expect(line.length).toBeLessThan(400);
    const entry = JSON.parse(line) as { pool: string; error: { message: string; code?: string } };
    expect(["auth", "owner", "worker", "realtime"]).toContain(entry.pool);
    // PostgreSQL's FATAL 57P01 reaches the client before its socket closes, or the close wins that race and
    // node-postgres reports the connection terminated (no SQLSTATE): both are the restart, in one short line.
    expect([
      { message: "terminating connection due to administrator command", code: "57P01" },
      { message: "Connection terminated unexpectedly" },
    ]).toContainEqual(entry.error);
  }
  expect(run.output()).not.toContain("_events");

  // And the server still stops cleanly, cluster included (it is no longer the process the server started).
  run.child.kill("SIGTERM");
  expect(await run.exited).toEqual({ code: 0, signal: null });
  expect(fs.existsSync(path.join(pgDir, "postmaster.pid"))).toBe(false);
});

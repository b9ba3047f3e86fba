/**
 * `npm start` as a user runs it: the npm script, the compiled server and its
 * own embedded PostgreSQL in a fresh data directory. Ready line, reuse of the
 * data on a second run, and a clean stop when SIGTERM or SIGINT reaches the
 * `npm` process alone (as from a process manager, `timeout` or a CI runner;
 * a terminal's Ctrl-C signals the whole group and hides a broken chain):
 * WebSockets closed, exit 0, no warning logged, nothing left running.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/paths";
import { freePort } from "../helpers/globalSetup";
import { descendants, leftovers, npmRun, waitFor, warningsIn, type Run } from "../helpers/processes";
import { wsClient, wsExecute } from "../helpers/ws";

/** Sends `signal` to the npm process only, and checks that npm exits as expected and leaves nothing behind. */
async function stopWith(run: Run, signal: NodeJS.Signals, dataDir: string, expectedCode = 0): Promise<void> {
  const below = descendants(run.child.pid!);
  expect(below.some((p) => p.cmdline.includes(path.join(dataDir, "pg")))).toBe(true); // the cluster is ours
  run.child.kill(signal);
  const exit = await run.exited;
  if (exit.code !== expectedCode) throw new Error(`expected exit ${expectedCode}, got ${JSON.stringify(exit)}; output:\n${run.output().slice(-6000)}`);
  // Once npm has returned, the server and every PostgreSQL process of the data directory are gone.
  expect(leftovers(below.map((p) => p.pid), dataDir)).toEqual([]);
}

async function graphql(url: string, query: string): Promise<{ status: number; body: { data?: unknown; errors?: unknown[] } }> {
  const response = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: unknown[] } };
}

describe("npm start, npm run worker, seed and db:watch under SIGTERM/SIGINT", () => {
  jest.setTimeout(180_000);
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "agora-lifecycle-"));
    fs.chmodSync(dataDir, 0o755);
    env = {
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      PORT: String(await freePort()),
      DATABASE_URL: "",
      AUTH_DATABASE_URL: "",
    };
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("npm start: starts on a new embedded database, serves, and stops cleanly when npm gets SIGTERM", async () => {
    const run = npmRun("start", env);
    await waitFor(run, "Agora is ready");
    expect(run.output()).toContain(`GraphQL http://127.0.0.1:${env.PORT}/graphql`);
    expect(run.output()).toContain("initialised a new cluster");

    const url = `http://127.0.0.1:${env.PORT}`;
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    // Several requests at once, so the pool holds several open connections when the stop comes.
    const answers = await Promise.all(Array.from({ length: 8 }, () => graphql(url, "{ allCategories(first: 1) { totalCount } }")));
    for (const answer of answers) expect(answer).toEqual({ status: 200, body: { data: { allCategories: { totalCount: 0 } } } });
    const client = wsClient(url, undefined, { lazy: false });
    expect(await wsExecute(client, "{ __typename }")).toEqual({ data: { __typename: "Query" } });
    const closed = new Promise<number>((resolve) => client.on("closed", (event) => resolve((event as { code: number }).code)));

    await stopWith(run, "SIGTERM", dataDir);
    expect(await closed).toBe(1001); // "going away"
    expect(run.output()).toContain('"msg":"shutting down"');
    expect(run.output()).toContain('"msg":"stopped"');
    // Pools, the worker and its LISTEN connection end before PostgreSQL stops:
    // no "terminating connection due to administrator command", no warning at all.
    expect(warningsIn(run.output())).toEqual([]);
    expect(run.output()).toContain("received smart shutdown request");
    await client.dispose();
  });

  it("npm start: reuses the same data on the next start, and stops cleanly when npm gets SIGINT", async () => {
    const run = npmRun("start", env);
    await waitFor(run, "Agora is ready");
    expect(run.output()).not.toContain("initialised a new cluster");
    expect(run.output()).toContain("Already up to date");
    await stopWith(run, "SIGINT", dataDir);
    expect(run.output()).toContain('"msg":"stopped"');
    expect(warningsIn(run.output())).toEqual([]);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("npm run worker: stops cleanly when npm gets %s", async (signal) => {
    const run = npmRun("worker", env);
    await waitFor(run, "Worker connected and looking for jobs");
    await stopWith(run, signal, dataDir);
    expect(run.output()).toContain('"msg":"stopped"');
    expect(warningsIn(run.output())).toEqual([]);
  });

  it("npm run db:watch (npm running npm): SIGTERM ends it with exit 0", async () => {
    const run = npmRun("db:watch", env);
    await waitFor(run, /Finished \(\d+ms\)/);
    await stopWith(run, "SIGTERM", dataDir);
    expect(warningsIn(run.output())).toEqual([]);
  });

  it("npm run seed: SIGTERM stops the seed, rolls it back and stops the database; exit 143", async () => {
    const run = npmRun("seed", env, ["--scale", "medium"]);
    await waitFor(run, /users +\S+ +\d+%/); // the first progress line: the seed is writing
    await stopWith(run, "SIGTERM", dataDir, 143);
    expect(run.output()).toContain("Seed stopped; the database is unchanged.");
    expect(run.output()).not.toContain("Seeded:");
  });
});

describe("package.json scripts", () => {
  it("hand their process to the command they run (exec), so npm's signals reach it", () => {
    const { scripts } = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    // `sh -c "a && node b"` keeps the shell between npm and node: npm signals
    // the shell, which dies without passing the signal on.
    const shellInTheWay = Object.entries(scripts)
      .filter(([, command]) => /\b(node|npm run|npx)\s/.test(command))
      .filter(([, command]) => !/^exec\s/.test(command.split("&&").at(-1)!.trim()))
      .map(([name]) => name);
    expect(shellInTheWay).toEqual([]);
  });
});

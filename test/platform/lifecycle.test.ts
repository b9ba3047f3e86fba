/**
 * `npm start` as a user runs it: the compiled server with its own embedded
 * PostgreSQL in a fresh data directory. Ready line, reuse of the data on a
 * second run, and a clean stop on SIGTERM/SIGINT: WebSockets closed, exit 0,
 * nothing left running or holding the process open.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/paths";
import { freePort } from "../helpers/globalSetup";
import { wsClient, wsExecute } from "../helpers/ws";

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startMain(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "dist", "src", "main.js")], {
    env: { ...process.env, NODE_ENV: "development", LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(run: Run, text: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!run.output().includes(text)) {
    if (run.child.exitCode !== null) throw new Error(`server exited early:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${text}":\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function expectCleanExit(run: Run): Promise<void> {
  const exit = await run.exited;
  if (exit !== 0) throw new Error(`expected exit 0, got ${exit}; output:\n${run.output().slice(-6000)}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the server process", () => {
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

  it("starts on a new embedded database, serves, and stops cleanly on SIGTERM", async () => {
    const run = startMain(env);
    await waitFor(run, "Agora is ready");
    expect(run.output()).toContain(`GraphQL http://127.0.0.1:${env.PORT}/graphql`);
    expect(run.output()).toContain("initialised a new cluster");
    const postmasterPid = Number(fs.readFileSync(path.join(dataDir, "pg", "postmaster.pid"), "utf8").split("\n")[0]);
    expect(processAlive(postmasterPid)).toBe(true);

    const url = `http://127.0.0.1:${env.PORT}`;
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    const client = wsClient(url, undefined, { lazy: false });
    expect(await wsExecute(client, "{ __typename }")).toEqual({ data: { __typename: "Query" } });
    const closed = new Promise<number>((resolve) => client.on("closed", (event) => resolve((event as { code: number }).code)));

    run.child.kill("SIGTERM");
    await expectCleanExit(run);
    expect(await closed).toBe(1001); // "going away"
    expect(run.output()).toContain('"msg":"stopped"');
    expect(run.output()).not.toContain("open handles kept the process alive");
    expect(processAlive(postmasterPid)).toBe(false);
    await client.dispose();
  });

  it("reuses the same data on the next start, and stops on SIGINT (Ctrl-C)", async () => {
    const run = startMain(env);
    await waitFor(run, "Agora is ready");
    expect(run.output()).not.toContain("initialised a new cluster");
    expect(run.output()).toContain("Already up to date");
    run.child.kill("SIGINT");
    await expectCleanExit(run);
  });
});

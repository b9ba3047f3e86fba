/**
 * A server that dies without stopping its embedded PostgreSQL (kill -9, or
 * out of memory: no exit handler runs) leaves the cluster running. The next
 * start notices (the dead owner's pid is recorded beside postmaster.pid),
 * stops the orphan, and starts the cluster afresh; a clean stop then leaves
 * nothing running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/paths";
import { freePort } from "../helpers/globalSetup";

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startMain(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "dist", "src", "main.js")], {
    env: { ...process.env, NODE_ENV: "development", LOG_LEVEL: "info", WORKER: "off", ...env },
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const postmasterPid = (dataDir: string) => Number(fs.readFileSync(path.join(dataDir, "pg", "postmaster.pid"), "utf8").split("\n")[0]);

describe("an embedded cluster left behind by a dead server", () => {
  let dataDir: string;
  let env: Record<string, string>;
  const started: number[] = [];
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "agora-orphan-"));
    fs.chmodSync(dataDir, 0o755);
    env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), PORT: String(await freePort()), DATABASE_URL: "", AUTH_DATABASE_URL: "" };
  });
  afterAll(() => {
    for (const pid of started) if (alive(pid)) process.kill(pid, "SIGINT"); // only if a step failed
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("is stopped and replaced by the next start", async () => {
    const first = startMain(env);
    await waitFor(first, "Agora is ready");
    const orphan = postmasterPid(dataDir);
    started.push(orphan);
    first.child.kill("SIGKILL");
    await first.exited;
    expect(alive(orphan)).toBe(true); // nothing stopped it: the orphan

    const second = startMain(env);
    await waitFor(second, "Agora is ready");
    expect(second.output()).toMatch(new RegExp(`"level":40.*stopping the embedded cluster \\(pid ${orphan}\\) left running by Agora process ${first.child.pid}, which died`));
    expect(alive(orphan)).toBe(false);
    const fresh = postmasterPid(dataDir);
    started.push(fresh);
    expect(fresh).not.toBe(orphan);
    expect((await fetch(`http://127.0.0.1:${env.PORT}/health/ready`)).status).toBe(200);

    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(alive(fresh)).toBe(false);
  });
});

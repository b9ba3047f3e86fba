/**
 * Child processes as an operator starts them (`npm start`, `npm run …`), and
 * what they leave behind: the process table read from /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { PROJECT_ROOT } from "../../src/paths";

export interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `command args` in the project root with output captured. */
export function spawnRun(command: string, args: string[], env: Record<string, string>): Run {
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_ENV: "development", LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** `npm run <script> [-- args]`, the way an operator, a CI runner or a process manager starts it. */
export function npmRun(script: string, env: Record<string, string>, args: string[] = []): Run {
  return spawnRun("npm", ["run", script, ...(args.length ? ["--", ...args] : [])], env);
}

export async function waitFor(run: Run, text: string | RegExp, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  const seen = () => (typeof text === "string" ? run.output().includes(text) : text.test(run.output()));
  while (!seen()) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) throw new Error(`exited early:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${text}":\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  state: string;
  cmdline: string;
}

/** Every live (not zombie) process on the machine. */
export function processTable(): ProcessInfo[] {
  const table: ProcessInfo[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z" || state === "X") continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      table.push({ pid: Number(entry), ppid: Number(ppid), state, cmdline });
    } catch {
      // ended while we looked
    }
  }
  return table;
}

/** The processes below `pid` (children, grandchildren …), now. */
export function descendants(pid: number): ProcessInfo[] {
  const table = processTable();
  const found: ProcessInfo[] = [];
  let parents = new Set([pid]);
  while (parents.size > 0) {
    const next = table.filter((p) => parents.has(p.ppid));
    found.push(...next);
    parents = new Set(next.map((p) => p.pid));
  }
  return found;
}

/** Which of `pids` still run, and which processes mention `text` (a data directory) on their command line. */
export function leftovers(pids: number[], text: string): string[] {
  const table = processTable();
  return table
    .filter((p) => pids.includes(p.pid) || p.cmdline.includes(text))
    .filter((p) => p.pid !== process.pid)
    .map((p) => `${p.pid} ${p.cmdline.slice(0, 160)}`);
}

/** Log lines at warn level or above (pino: 40 warn, 50 error, 60 fatal), and non-JSON lines that look like errors. */
export function warningsIn(output: string): string[] {
  return output.split("\n").filter((line) => {
    if (line.startsWith("{")) {
      try {
        return (JSON.parse(line) as { level?: number }).level! >= 40;
      } catch {
        return true;
      }
    }
    return /error|warn/i.test(line);
  });
}

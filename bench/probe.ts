/**
 * CPU and memory of the processes under test, read from /proc (Linux):
 * the API's node process (with its API processes when API_PROCESSES > 1)
 * and every PostgreSQL process on this machine.
 */
import fs from "node:fs";

const TICKS = 100; // USER_HZ on Linux

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, in seconds. */
  own: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const f = text.slice(close + 2).split(" ");
    // f[0] is field 3 (state); utime is field 14 → f[11].
    return { pid, ppid: Number(f[1]), comm, own: (Number(f[11]) + Number(f[12])) / TICKS };
  } catch {
    return null; // gone
  }
}

function allStats(): Stat[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readStat(Number(d)))
    .filter((s): s is Stat => s !== null);
}

/**
 * CPU seconds PostgreSQL uses while it runs: /proc is sampled every 100 ms
 * and each postgres process counts from its first to its last sample, so
 * backends that start or exit during the run (pgbench's, the API pool's
 * idle ones) count only for the time they were seen. (A postmaster's
 * "children" time would add the whole life of every backend that exits.)
 */
export function meterPostgresCpu(): { stop(): number } {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = () => {
    for (const s of allStats()) {
      if (s.comm !== "postgres") continue;
      if (!first.has(s.pid)) first.set(s.pid, s.own);
      last.set(s.pid, s.own);
    }
  };
  sample();
  const initial = new Set(first.keys());
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      let total = 0;
      for (const [pid, seconds] of last) total += seconds - (initial.has(pid) ? first.get(pid)! : 0);
      return total;
    },
  };
}

/** The process and its descendants now alive (with API_PROCESSES > 1: the primary and its API processes), from one read of /proc. */
function processTree(pid: number): Stat[] {
  const stats = allStats();
  const tree = stats.filter((s) => s.pid === pid);
  for (let i = 0; i < tree.length; i++) tree.push(...stats.filter((s) => s.ppid === tree[i].pid));
  return tree;
}

/** CPU seconds used so far by the process and its descendants now alive. */
export function processCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, s) => sum + s.own, 0);
}

/** The largest resident set of the process and its descendants (per process, not their sum), in MB. */
export function largestRssMb(pid: number, which: "VmRSS" | "VmHWM" = "VmRSS"): number {
  return Math.max(0, ...processTree(pid).map((s) => rssMb(s.pid, which)));
}

/** Resident set size in MB (VmRSS), or the peak since start (VmHWM). */
export function rssMb(pid: number, which: "VmRSS" | "VmHWM" = "VmRSS"): number {
  try {
    const match = new RegExp(`${which}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS (the largest of its tree's) while `work` runs and returns the work's result with the largest RSS seen. */
export async function withPeakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakRssMb: number }> {
  let peak = largestRssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, largestRssMb(pid))), 200);
  try {
    const result = await work();
    return { result, peakRssMb: Math.max(peak, largestRssMb(pid)) };
  } finally {
    clearInterval(timer);
  }
}

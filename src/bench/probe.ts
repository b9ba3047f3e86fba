/**
 * CPU and memory of the processes under test, read from /proc (Linux):
 * the API's node process, and PostgreSQL — the postmaster with the time of
 * its exited children (backends that closed during the run) plus every
 * live backend.
 */
import fs from "node:fs";

const TICKS = 100; // USER_HZ on Linux

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, and cutime + cstime (exited, waited-for children), in seconds. */
  own: number;
  children: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const f = text.slice(close + 2).split(" ");
    // f[0] is field 3 (state); utime is field 14 → f[11].
    return { pid, ppid: Number(f[1]), comm, own: (Number(f[11]) + Number(f[12])) / TICKS, children: (Number(f[13]) + Number(f[14])) / TICKS };
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

/** CPU seconds used so far by all of PostgreSQL running on this machine (0 when it runs elsewhere). */
export function postgresCpuSeconds(): number {
  const stats = allStats().filter((s) => s.comm === "postgres");
  const pids = new Set(stats.map((s) => s.pid));
  return stats.reduce((sum, s) => sum + s.own + (pids.has(s.ppid) ? 0 : s.children), 0);
}

export function processCpuSeconds(pid: number): number {
  return readStat(pid)?.own ?? 0;
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

/** Samples a process's RSS while `work` runs and returns the work's result with the largest RSS seen. */
export async function withPeakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakRssMb: number }> {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 200);
  try {
    const result = await work();
    return { result, peakRssMb: Math.max(peak, rssMb(pid)) };
  } finally {
    clearInterval(timer);
  }
}

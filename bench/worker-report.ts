/** The worker benchmark's results as markdown, and their files in bench/results/. */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../src/paths";
import type { DrainResult, Latency, Spread, TrickleResult } from "./worker-measure";

export interface ScenarioResult {
  key: string;
  title: string;
  task: string;
  enqueueAll: string;
  enqueueOne: string;
  /** Each round's drain and trickle (without the raw latencies). */
  rounds: Array<{ drain: DrainResult; trickle: Omit<TrickleResult, "samples"> }>;
  drainJobsPerSecond: Spread;
  drainJobsPerSecondFromEnqueue: Spread;
  /** Trickle latency over the jobs of every round. */
  trickleLatency: Latency;
  verified: string | null;
}

export interface WorkerBenchReport {
  date: string;
  environment: Record<string, string | number | null>;
  options: { jobs: number; concurrency: number; trickleRate: number; trickleSeconds: number; warmupJobs: number; rounds: number };
  results: ScenarioResult[];
}

/** Times are taken with Date.now() and run_at comes back from PostgreSQL in whole ms: 1 ms resolution. */
const ms = (value: number) => value.toFixed(0);
const rate = (value: number) => Math.round(value).toLocaleString("en");
/** SQL as written in the source, its continuation lines indented by two spaces. */
function dedent(sql: string): string {
  const [first, ...rest] = sql.split("\n");
  const indent = Math.min(...rest.map((line) => line.search(/\S/)).filter((n) => n >= 0));
  return [first, ...rest.map((line) => `  ${line.slice(indent)}`)].join("\n");
}
const row = (cells: Array<string | number>) => `| ${cells.join(" | ")} |`;

const withRange = (s: Spread) => (s.min === s.max ? rate(s.median) : `${rate(s.median)} (${rate(s.min)}–${rate(s.max)})`);

/** The summary table (also printed on stdout): medians over the rounds, with their range. */
export function summaryTable(report: WorkerBenchReport): string {
  const { jobs, trickleRate } = report.options;
  return [
    row(["Configuration", `Drain ${jobs}: jobs/s`, "Drain incl. enqueue + start: jobs/s", `Trickle ${trickleRate}/s: p50 ms`, "p95 ms", "p99 ms", "max ms"]),
    row(["---", "---:", "---:", "---:", "---:", "---:", "---:"]),
    ...report.results.map((r) =>
      row([
        r.title,
        withRange(r.drainJobsPerSecond),
        withRange(r.drainJobsPerSecondFromEnqueue),
        ms(r.trickleLatency.p50),
        ms(r.trickleLatency.p95),
        ms(r.trickleLatency.p99),
        ms(r.trickleLatency.max),
      ]),
    ),
  ].join("\n");
}

function detailTable(report: WorkerBenchReport): string {
  return [
    row(["Configuration", "Round", "Enqueue (ms)", "Worker start (ms)", "First start → empty (s)", "Enqueue → empty (s)", "Queue wait p50 / max (s)", "Trickle rate (/s)", "Trickle p50 / p99 (ms)"]),
    row(["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]),
    ...report.results.flatMap((r) =>
      r.rounds.map(({ drain, trickle }, i) =>
        row([
          r.title,
          i + 1,
          ms(drain.enqueueMs),
          ms(drain.workerStartMs),
          (drain.drainMs / 1000).toFixed(2),
          (drain.totalMs / 1000).toFixed(2),
          `${(drain.queueWait.p50 / 1000).toFixed(2)} / ${(drain.queueWait.max / 1000).toFixed(2)}`,
          trickle.achievedRate.toFixed(1),
          `${ms(trickle.latency.p50)} / ${ms(trickle.latency.p99)}`,
        ]),
      ),
    ),
  ].join("\n");
}

export function renderMarkdown(report: WorkerBenchReport): string {
  const o = report.options;
  return [
    `# Worker benchmark, ${report.date}`,
    "",
    "Command: `node dist-bench/bench/worker.js" +
      ` --jobs ${o.jobs} --concurrency ${o.concurrency} --rounds ${o.rounds} --rate ${o.trickleRate} --seconds ${o.trickleSeconds} --warmup ${o.warmupJobs}\``,
    "",
    ...Object.entries(report.environment).map(([k, v]) => `- ${k}: ${v ?? "unknown"}`),
    `- ${o.rounds} round(s), each running every configuration in turn: an untimed warm-up drain of ${o.warmupJobs} jobs;` +
      ` a drain of ${o.jobs} jobs enqueued by one statement before the worker starts; a trickle of` +
      ` ${Math.round(o.trickleRate * o.trickleSeconds)} jobs, one statement each, at ${o.trickleRate}/s for ${o.trickleSeconds} s into an idle worker.` +
      " Every phase starts with a new worker and a vacuumed, analysed queue table.",
    "- jobs/s: median over the rounds (range in brackets); latency percentiles: over the trickled jobs of all rounds",
    "- latency: from the job's `run_at` (the enqueuing transaction's `now()`) to the start of the task function, to the millisecond",
    "- done: the task's rows are gone from `graphile_worker.jobs`",
    "",
    summaryTable(report),
    "",
    "## Details",
    "",
    detailTable(report),
    "",
    ...report.results.flatMap((r) => [
      `### ${r.title}`,
      "",
      `Task \`${r.task}\`.${r.verified ? ` Checked: ${r.verified}.` : ""}`,
      "",
      "Drain enqueue:",
      "",
      "```sql",
      dedent(r.enqueueAll),
      "```",
      "",
      "Trickle enqueue (one per job):",
      "",
      "```sql",
      dedent(r.enqueueOne),
      "```",
      "",
    ]),
  ].join("\n");
}

/** Writes bench/results/worker-<YYYY-MM-DDTHH-MM>.json and .md; returns their paths. */
export function writeResults(report: WorkerBenchReport, startedAt: Date): string[] {
  const dir = path.join(PROJECT_ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().slice(0, 16).replace(":", "-");
  const base = path.join(dir, `worker-${stamp}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(`${base}.md`, renderMarkdown(report));
  return [`${base}.json`, `${base}.md`];
}

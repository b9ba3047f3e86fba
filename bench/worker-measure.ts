/**
 * The two measurements of the worker benchmark, for any worker setup:
 * - drain: N jobs enqueued by one statement, then a worker is started and
 *   runs them all (throughput);
 * - trickle: jobs added one by one at a steady rate while an idle worker
 *   waits for them (enqueue-to-start latency).
 * Start times are recorded in memory by a wrapper inside each task function;
 * "done" means the job rows are gone from graphile_worker.jobs.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import type { Job, TaskList } from "graphile-worker";
import { progress } from "../src/seed/progress";

/** A worker started for one phase. */
export interface BenchWorker {
  stop(): Promise<void>;
}

/** One configuration under test. */
export interface Scenario {
  key: string;
  title: string;
  /** The task identifier its jobs use; no other job may use it while it runs. */
  task: string;
  /** One statement that enqueues $1 jobs and returns their number as `n`. */
  enqueueAll: string;
  /** One statement that enqueues job number $1. */
  enqueueOne: string;
  /** Starts a worker whose tasks report to the recorder. */
  start(recorder: Recorder): Promise<BenchWorker>;
  /** Checks the side effects of all the jobs run so far; throws if they are wrong. */
  verify?(jobsRun: number): string;
}

export interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface DrainResult {
  jobs: number;
  /** The enqueue statement, committed. */
  enqueueMs: number;
  /** run() / startWorker() until it resolved. */
  workerStartMs: number;
  /** First task start until the queue was empty. */
  drainMs: number;
  /** Enqueue statement sent until the queue was empty. */
  totalMs: number;
  jobsPerSecond: number;
  jobsPerSecondFromEnqueue: number;
  /** Time each job waited in the pre-filled queue (not a latency figure). */
  queueWait: Latency;
}

export interface TrickleResult {
  jobs: number;
  targetRate: number;
  achievedRate: number;
  latency: Latency;
  /** Every job's latency (ms), to pool several rounds. */
  samples: number[];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Start times and latencies of the jobs run since the last reset. */
export class Recorder {
  starts: number[] = [];
  latencies: number[] = [];
  errors: string[] = [];

  reset(): void {
    this.starts = [];
    this.latencies = [];
    this.errors = [];
  }

  get started(): number {
    return this.starts.length;
  }

  record(job: Job): void {
    const now = Date.now();
    this.starts.push(now);
    this.latencies.push(now - job.run_at.getTime());
  }

  /** The same tasks, each noting its start first. A task that throws is an error of the run. */
  instrument(taskList: TaskList): TaskList {
    const wrapped: TaskList = {};
    for (const [name, task] of Object.entries(taskList)) {
      if (!task) continue;
      wrapped[name] = async (payload, helpers) => {
        this.record(helpers.job);
        try {
          return await task(payload, helpers);
        } catch (error) {
          this.errors.push(`${name} job ${helpers.job.id}: ${error instanceof Error ? error.message : String(error)}`);
          throw error;
        }
      };
    }
    return wrapped;
  }
}

export function summarize(values: number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]);
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** Each phase starts from a vacuumed, analysed queue, whatever the previous phase left. */
export async function settleQueue(db: pg.Client): Promise<void> {
  await db.query("vacuum (analyze) graphile_worker._private_jobs, graphile_worker._private_tasks");
}

/** Jobs of this task still to run or running (permanently failed ones, which never run again, excepted). */
export async function remaining(db: pg.Client, task: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from graphile_worker.jobs
      where task_identifier = $1 and (locked_at is not null or attempts < max_attempts)`,
    [task],
  );
  return rows[0].n;
}

/**
 * Waits until `expected` jobs have started and none of the task is left in
 * the queue; returns the time (Date.now()) of the check that found it empty.
 */
async function waitUntilDone(
  db: pg.Client,
  scenario: Scenario,
  recorder: Recorder,
  expected: number,
  bar: ReturnType<typeof progress>,
  signal: AbortSignal,
): Promise<number> {
  let lastStarted = -1;
  let lastProgressAt = Date.now();
  for (;;) {
    signal.throwIfAborted();
    if (recorder.errors.length > 0) throw new Error(`${recorder.errors.length} job(s) failed, first: ${recorder.errors[0]}`);
    const started = recorder.started;
    bar.update(Math.min(started, expected));
    if (started > expected) throw new Error(`${started} ${scenario.task} jobs ran, ${expected} expected: something else enqueued this task`);
    if (started === expected) {
      const at = Date.now();
      if ((await remaining(db, scenario.task)) === 0) {
        bar.done();
        return at;
      }
      await sleep(2);
      continue;
    }
    if (started !== lastStarted) {
      lastStarted = started;
      lastProgressAt = Date.now();
    } else if (Date.now() - lastProgressAt > 60_000) {
      const left = await remaining(db, scenario.task);
      throw new Error(`stalled: ${started} of ${expected} ${scenario.task} jobs started in the last minute, ${left} still queued (another worker taking them?)`);
    }
    await sleep(20);
  }
}

export async function drain(db: pg.Client, scenario: Scenario, recorder: Recorder, jobs: number, label: string, signal: AbortSignal): Promise<DrainResult> {
  recorder.reset();
  await settleQueue(db);
  const t0 = Date.now();
  const { rows } = await db.query<{ n: number }>(scenario.enqueueAll, [jobs]);
  const enqueuedAt = Date.now();
  if (rows[0]?.n !== jobs) throw new Error(`enqueue statement added ${rows[0]?.n} jobs, ${jobs} expected`);
  const worker = await scenario.start(recorder);
  const startedAt = Date.now();
  let doneAt: number;
  try {
    doneAt = await waitUntilDone(db, scenario, recorder, jobs, progress(label, jobs), signal);
  } finally {
    await worker.stop();
  }
  const firstStart = recorder.starts.reduce((a, b) => Math.min(a, b), Infinity);
  const drainMs = doneAt - firstStart;
  const totalMs = doneAt - t0;
  return {
    jobs,
    enqueueMs: enqueuedAt - t0,
    workerStartMs: startedAt - enqueuedAt,
    drainMs,
    totalMs,
    jobsPerSecond: (jobs * 1000) / drainMs,
    jobsPerSecondFromEnqueue: (jobs * 1000) / totalMs,
    queueWait: summarize(recorder.latencies),
  };
}

export async function trickle(
  db: pg.Client,
  scenario: Scenario,
  recorder: Recorder,
  rate: number,
  seconds: number,
  label: string,
  signal: AbortSignal,
): Promise<TrickleResult> {
  const jobs = Math.max(1, Math.round(rate * seconds));
  recorder.reset();
  await settleQueue(db);
  const worker = await scenario.start(recorder);
  try {
    // Let every worker find the queue empty and go idle, LISTENing.
    await sleep(500);
    const bar = progress(label, jobs);
    const t0 = performance.now();
    for (let i = 0; i < jobs; i++) {
      signal.throwIfAborted();
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      await db.query(scenario.enqueueOne, [i + 1]);
      bar.update(recorder.started);
    }
    const enqueueMs = performance.now() - t0;
    await waitUntilDone(db, scenario, recorder, jobs, bar, signal);
    const samples = [...recorder.latencies];
    return { jobs, targetRate: rate, achievedRate: (jobs * 1000) / enqueueMs, latency: summarize(samples), samples };
  } finally {
    await worker.stop();
  }
}

/**
 * `node dist-bench/bench/worker.js [--jobs N] [--concurrency N] [--rounds N] [--rate N] [--seconds N] [--warmup N]`
 *
 * Background-job throughput and latency, for bare graphile-worker and for
 * Agora's runner (a no-op task, then the real send_email task writing .eml
 * files to a temporary outbox). Each configuration drains --jobs jobs
 * enqueued beforehand (throughput), then receives --rate jobs/s for
 * --seconds s while idle (enqueue-to-start latency). Rounds run every
 * configuration in turn, so a slow moment of a shared machine does not
 * fall on one of them only. Progress goes to stderr, the table to stdout
 * and to bench/results/worker-<date>.{json,md}.
 */
import "../src/runtime";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import pg from "pg";
import { loadConfigOrExit, type Config } from "../src/config";
import { openDatabase } from "../src/db/connections";
import { makeLogger } from "../src/logger";
import { PROJECT_ROOT } from "../src/paths";
import { abortOnSignal } from "../src/signals";
import { drain, Recorder, remaining, spread, summarize, trickle, type DrainResult, type Scenario, type TrickleResult } from "./worker-measure";
import { summaryTable, writeResults, type ScenarioResult, type WorkerBenchReport } from "./worker-report";
import { agoraNoop, agoraSendEmail, bareNoop, BENCH_MAIL_DOMAIN, discardedAgoraLogger } from "./worker-scenarios";

interface Args {
  jobs: number;
  concurrency: number | null;
  rate: number;
  seconds: number;
  warmup: number;
  rounds: number;
}

function parseArgs(argv: string[]): Args {
  const known = ["jobs", "concurrency", "rounds", "rate", "seconds", "warmup"];
  const values: Record<string, number> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    const value = argv[i + 1];
    if (!argv[i].startsWith("--") || !known.includes(name)) throw new Error(`Unknown argument ${argv[i]}; expected ${known.map((k) => `--${k} N`).join(" ")}`);
    if (value === undefined || !/^\d+$/.test(value)) throw new Error(`--${name} needs a whole number`);
    values[name] = Number(value);
  }
  const args = {
    jobs: values.jobs ?? 5000,
    concurrency: values.concurrency ?? null,
    rounds: values.rounds ?? 3,
    rate: values.rate ?? 200,
    seconds: values.seconds ?? 5,
    warmup: values.warmup ?? 200,
  };
  if ([args.jobs, args.rounds, args.rate, args.seconds].some((n) => n < 1) || args.concurrency === 0) {
    throw new Error("--jobs, --concurrency, --rounds, --rate and --seconds must be at least 1");
  }
  return args;
}

/** Removes jobs a previous, interrupted run of this benchmark left behind. */
async function removeLeftovers(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with gone as (
       delete from graphile_worker._private_jobs j using graphile_worker._private_tasks t
        where t.id = j.task_id
          and (t.identifier like 'bench\\_noop\\_%' or (t.identifier = 'send_email' and j.payload ->> 'to' like '%@' || $1))
       returning 1)
     select count(*)::int as n from gone`,
    [BENCH_MAIL_DOMAIN],
  );
  return rows[0].n;
}

/** Other graphile-worker processes on this database (each keeps a LISTEN connection). */
async function otherWorkers(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and query like 'LISTEN "jobs:insert"%'`,
  );
  return rows[0].n;
}

/** A configuration may only start on an empty queue, and send_email only when nobody else can take its jobs. */
async function checkReady(db: pg.Client, scenario: Scenario): Promise<void> {
  const queued = await remaining(db, scenario.task);
  if (queued > 0) {
    throw new Error(`${queued} ${scenario.task} jobs are already queued; the benchmark would run them. Let a worker finish them first.`);
  }
  const others = await otherWorkers(db);
  if (others === 0) return;
  const message = `${others} other graphile-worker process(es) use this database (an API with WORKER=on?)`;
  if (scenario.task === "send_email") throw new Error(`${message}: they would take the send_email jobs. Stop them first.`);
  process.stderr.write(`  warning: ${message}; they share the CPU and answer every NOTIFY.\n`);
}

async function environment(db: pg.Client, config: Config, embedded: boolean): Promise<Record<string, string | number | null>> {
  const { rows } = await db.query<{ v: string }>("select current_setting('server_version') as v");
  let commit: string | null = null;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: PROJECT_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    commit = null;
  }
  return {
    commit,
    node: process.version,
    postgresql: rows[0].v,
    database: embedded ? `embedded, DATA_DIR ${config.embedded.dataDir}, port ${config.embedded.port}` : "DATABASE_URL",
    cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "unknown"}`,
    "Agora log level": `${config.logLevel} (pino JSON to /dev/null; bare graphile-worker logs nothing)`,
  };
}

interface Round {
  drain: DrainResult;
  trickle: TrickleResult;
}

/** One configuration's warm-up, drain and trickle. */
async function runRound(db: pg.Client, scenario: Scenario, args: Args, signal: AbortSignal): Promise<Round> {
  await checkReady(db, scenario);
  const recorder = new Recorder();
  if (args.warmup > 0) await drain(db, scenario, recorder, args.warmup, "warm-up", signal);
  const drained = await drain(db, scenario, recorder, args.jobs, "drain", signal);
  process.stderr.write(
    `  drain: enqueue ${drained.enqueueMs} ms, worker start ${drained.workerStartMs} ms, ` +
      `${(drained.drainMs / 1000).toFixed(2)} s from first start to empty: ${Math.round(drained.jobsPerSecond)} jobs/s\n`,
  );
  const trickled = await trickle(db, scenario, recorder, args.rate, args.seconds, "trickle", signal);
  const l = trickled.latency;
  process.stderr.write(`  trickle: ${trickled.jobs} jobs at ${trickled.achievedRate.toFixed(0)}/s, latency p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms\n`);
  return { drain: drained, trickle: trickled };
}

function summarizeScenario(scenario: Scenario, rounds: Round[], verified: string | null): ScenarioResult {
  const { key, title, task, enqueueAll, enqueueOne } = scenario;
  return {
    key,
    title,
    task,
    enqueueAll,
    enqueueOne,
    rounds: rounds.map(({ drain, trickle: { samples: _samples, ...trickle } }) => ({ drain, trickle })),
    drainJobsPerSecond: spread(rounds.map((r) => r.drain.jobsPerSecond)),
    drainJobsPerSecondFromEnqueue: spread(rounds.map((r) => r.drain.jobsPerSecondFromEnqueue)),
    trickleLatency: summarize(rounds.flatMap((r) => r.trickle.samples)),
    verified,
  };
}

async function main(signal: AbortSignal) {
  const args = parseArgs(process.argv.slice(2));
  const config = loadConfigOrExit();
  const concurrency = args.concurrency ?? config.worker.concurrency;
  const startedAt = new Date();
  const database = await openDatabase(config, makeLogger("warn"));
  const outbox = fs.mkdtempSync(path.join(os.tmpdir(), "agora-bench-mail-"));
  const db = new pg.Client({ connectionString: database.ownerUrl });
  try {
    await db.connect();
    const removed = await removeLeftovers(db);
    if (removed > 0) process.stderr.write(`Removed ${removed} jobs left by an interrupted run\n`);
    const agoraConfig: Config = { ...config, worker: { ...config.worker, concurrency }, mail: { ...config.mail, smtpUrl: null, outboxDir: outbox } };
    const agoraLogger = discardedAgoraLogger(config.logLevel);
    const scenarios = [
      bareNoop(database.ownerUrl, concurrency),
      agoraNoop(agoraConfig, database.ownerUrl, agoraLogger),
      agoraSendEmail(agoraConfig, database.ownerUrl, agoraLogger),
    ];
    const rounds: Round[][] = scenarios.map(() => []);
    for (let round = 1; round <= args.rounds; round++) {
      for (const [i, scenario] of scenarios.entries()) {
        process.stderr.write(`[round ${round}/${args.rounds}, ${i + 1}/${scenarios.length}] ${scenario.title} (concurrency ${concurrency})\n`);
        rounds[i].push(await runRound(db, scenario, args, signal));
      }
    }
    const results = scenarios.map((scenario, i) => {
      const jobsRun = rounds[i].reduce((n, r) => n + args.warmup + r.drain.jobs + r.trickle.jobs, 0);
      const verified = scenario.verify?.(jobsRun) ?? null;
      if (verified) process.stderr.write(`${scenario.title}: ${verified}\n`);
      return summarizeScenario(scenario, rounds[i], verified);
    });
    const report: WorkerBenchReport = {
      date: startedAt.toISOString(),
      environment: await environment(db, config, database.embedded !== null),
      options: { jobs: args.jobs, concurrency, trickleRate: args.rate, trickleSeconds: args.seconds, warmupJobs: args.warmup, rounds: args.rounds },
      results,
    };
    const files = writeResults(report, startedAt);
    console.log(summaryTable(report));
    process.stderr.write(`Wrote ${files.map((f) => path.relative(process.cwd(), f)).join(" and ")}\n`);
  } finally {
    await db.end().catch(() => undefined);
    fs.rmSync(outbox, { recursive: true, force: true });
    await database.embedded?.stop();
  }
}

if (require.main === module) {
  // SIGINT/SIGTERM: stop the workers and the database, then exit 130/143.
  const interrupt = abortOnSignal();
  const exitIfInterrupted = () => {
    const code = interrupt.exitCode();
    if (code !== null) process.exit(code);
  };
  main(interrupt.signal).then(exitIfInterrupted, (error) => {
    exitIfInterrupted();
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}

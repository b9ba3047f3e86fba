/**
 * `npm run bench -- [--duration 10] [--warmup 3] [--connections 16,64] [--scenarios feed,search] [--viewers 10000] [--processes 1] [--profile] [--no-worker]`
 *
 * Starts the API in production mode (plus the hand-written endpoint) on the
 * seeded database and runs every scenario three ways in the same run —
 * GraphQL over HTTP, the hand-written endpoint, pgbench on the same SQL —
 * at each concurrency, after a warm-up. Records requests/s, latency
 * percentiles, errors, statements per request (pg_stat_statements), the CPU
 * split and the API's peak RSS; writes bench/results/<date>.json, .md and
 * .svg. See README "Performance".
 */
import "../src/runtime";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { loadConfigOrExit, type Config } from "../src/config";
import { openDatabase, withDatabase } from "../src/db/connections";
import { loadOrCreateDevSecrets } from "../src/db/secrets";
import { appTokenService } from "../src/app";
import { makeLogger } from "../src/logger";
import { PROJECT_ROOT } from "../src/paths";
import { learnCursorDigest, prepareFixtures, raiseLimits, restoreLimits, type Fixtures } from "./fixtures";
import { runPgbench, runWrk, type LoadResult } from "./load";
import { largestRssMb, meterPostgresCpu, processCpuSeconds, withPeakRss } from "./probe";
import { summariseProfile } from "./profile";
import { progress } from "../src/seed/progress";
import { markdown, ratiosOf, svgChart, type Results, type Run } from "./report";
import { pgbenchScript, targetCount, wrkLines, type Mode } from "./requests";
import { SCENARIOS, type Scenario } from "./scenarios";
import { verifySameRows } from "./verify";
import { abortOnSignal } from "../src/signals";

interface Options {
  duration: number;
  warmup: number;
  connections: number[];
  scenarios: Scenario[];
  viewers: number;
  /** Directory for a V8 CPU profile of the API (--profile), summarised into the results. */
  profileDir: string | null;
  /** API_PROCESSES of the server under test (--processes). */
  processes: number;
  /**
   * --no-worker: the API without its job worker, so no scheduled job (the
   * 5-minutely rankings refresh: ≈ 13 s of PostgreSQL on `large`) lands in
   * a measured run; for comparing builds. Jobs that writes enqueue wait.
   */
  worker: boolean;
}

/** Refresh tokens a load run may use up per second (they work once each): above any rate seen here. */
const REFRESH_PER_SECOND_WRK = 2_000;
const REFRESH_PER_SECOND_PGBENCH = 6_000;
const MODES: Mode[] = ["graphql", "endpoint", "pgbench"];

function parseArgs(argv: string[]): Options {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const names = flag("scenarios")?.split(",") ?? SCENARIOS.map((s) => s.name);
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`Unknown scenario ${unknown.join(", ")}; choose from ${SCENARIOS.map((s) => s.name).join(", ")}`);
  const processes = Number(flag("processes") ?? 1);
  if (!Number.isInteger(processes) || processes < 1) throw new Error("--processes takes a whole number, 1 or more");
  if (processes > 1 && argv.includes("--profile")) throw new Error("--profile profiles one API process: use it with --processes 1");
  return {
    processes,
    worker: !argv.includes("--no-worker"),
    duration: Number(flag("duration") ?? 10),
    warmup: Number(flag("warmup") ?? 3),
    connections: (flag("connections") ?? "16,64").split(",").map(Number),
    scenarios: SCENARIOS.filter((s) => names.includes(s.name)),
    viewers: Number(flag("viewers") ?? 10_000),
    profileDir: argv.includes("--profile") ? fs.mkdtempSync(path.join(os.tmpdir(), "agora-profile-")) : null,
  };
}

function requireTool(name: string, debianPackage: string): void {
  if (spawnSync("which", [name]).status !== 0) {
    throw new Error(`The benchmark needs ${name}: install it with \`apt-get install ${debianPackage}\` (Debian/Ubuntu)`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** The API as deployed: NODE_ENV=production, JSON logs (to /dev/null), helmet, rate limits per client address. */
async function startServer(
  config: Config,
  urls: { owner: string; auth: string },
  profileDir: string | null,
  processes: number,
  worker: boolean,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const secret = config.jwt.algorithm === "HS256" ? (config.jwt.secret ?? loadOrCreateDevSecrets(config.embedded.dataDir).jwtSecret) : undefined;
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "dist-bench/bench/server.js")], {
    env: {
      ...process.env,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_URL: urls.owner,
      AUTH_DATABASE_URL: urls.auth,
      TRUST_PROXY: "1",
      API_PROCESSES: String(processes),
      WORKER: worker ? "on" : "off",
      LOG_LEVEL: "info",
      SMTP_URL: process.env.SMTP_URL ?? "smtp://127.0.0.1:2525",
      ...(secret ? { JWT_SECRET: secret } : {}),
      ...(profileDir ? { BENCH_PROFILE_DIR: profileDir } : {}),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`The API exited during start: ${stderr}`);
    const ready = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false);
    if (ready) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`The API did not become ready: ${stderr}`);
}

/** Statements the database ran since the last reset, all and without the wrapper, and the mean time of the data statements. */
// Wrapper, not data: the transaction and settings around each request, and the edge's rate-limit check (take_rate_limit).
async function statementCounts(root: pg.Client | null): Promise<{ all: number; data: number; dataMs: number } | null> {
  if (!root) return null;
  const { rows } = await root.query<{ all: string; data: string; data_ms: string }>(
    `with s as (
       select calls, total_exec_time, query ~* '^\\s*(begin|commit|rollback|savepoint|release|set |deallocate|select set_config\\(|select allowed, max_hits)' as wrapper
         from pg_stat_statements s join pg_database d on d.oid = s.dbid
        where d.datname = current_database() and query !~* 'graphile_worker|pg_stat_statements|pg_database')
     select coalesce(sum(calls), 0) as all, coalesce(sum(calls) filter (where not wrapper), 0) as data,
            coalesce(sum(total_exec_time) filter (where not wrapper) / nullif(sum(calls) filter (where not wrapper), 0), 0) as data_ms
       from s`,
  );
  return { all: Number(rows[0].all), data: Number(rows[0].data), dataMs: Number(rows[0].data_ms) };
}

/** Calls and total ms so far of the given functions (pg_stat_user_functions; needs track_functions). */
async function functionTime(root: pg.Client | null, names: string[] | undefined): Promise<{ calls: number; ms: number } | null> {
  if (!root || !names?.length) return null;
  const { rows } = await root.query<{ calls: string; ms: string }>(
    `select coalesce(sum(calls), 0) as calls, coalesce(sum(total_time), 0) as ms from pg_stat_user_functions
      where schemaname || '.' || funcname = any($1::text[])`,
    [names],
  );
  return { calls: Number(rows[0].calls), ms: Number(rows[0].ms) };
}

/**
 * Reads every application table and index once (pg_prewarm, into the OS
 * page cache), so that no scenario pays for the first reads from disk and
 * the order of the runs does not favour the later ones.
 */
async function prewarm(root: pg.Client): Promise<void> {
  await root.query("create extension if not exists pg_prewarm");
  const { rows } = await root.query<{ oid: number; bytes: string }>(
    `select c.oid, pg_relation_size(c.oid) as bytes from pg_class c
      where c.relnamespace in ('app_public'::regnamespace, 'app_private'::regnamespace) and c.relkind in ('r', 'i')
      order by pg_relation_size(c.oid) desc`,
  );
  const total = rows.reduce((sum, r) => sum + Number(r.bytes), 0);
  const bar = progress("prewarm", Math.round(total / 2 ** 20));
  let done = 0;
  for (const row of rows) {
    await root.query("select pg_prewarm($1::regclass, 'read')", [row.oid]);
    done += Number(row.bytes);
    bar.update(Math.round(done / 2 ** 20));
  }
  bar.done();
}

interface Plan {
  refreshOffset: number;
  /** Where each once-only scenario's next requests start (targets used up by earlier runs). */
  onceOffsets: Record<string, number>;
}

/** Request lines written per second for once-only writes (each (viewer, target) pair works once): above any rate seen here. */
const ONCE_PER_SECOND = 3_000;

async function runOnce(
  scenario: Scenario,
  mode: Mode,
  connections: number,
  seconds: number,
  ctx: { fixtures: Fixtures; apiUrl: string; ownerUrl: string; authUrl: string; workDir: string; plan: Plan },
): Promise<LoadResult> {
  const { fixtures, plan } = ctx;
  if (scenario.once) {
    // Fresh pairs from where the last run of this scenario stopped; the offset moves by what the run used.
    const base = plan.onceOffsets[scenario.name] ?? 0;
    if (mode === "pgbench") {
      const result = await runPgbench({
        url: ctx.authUrl,
        connections,
        seconds,
        script: pgbenchScript(scenario, fixtures, 0),
        workDir: ctx.workDir,
        defines: { n: 0, base, c: connections },
      });
      // Client c's n-th transaction used pair base + n · connections + c.
      plan.onceOffsets[scenario.name] = base + ((result.maxPerClient ?? 0) + 1) * connections;
      return result;
    }
    const file = path.join(ctx.workDir, `${scenario.name}-${mode}.tsv`);
    fs.writeFileSync(file, wrkLines(scenario, mode, fixtures, base, seconds * ONCE_PER_SECOND));
    const result = await runWrk({ url: ctx.apiUrl, connections, seconds, requestsFile: file, workDir: ctx.workDir });
    // wrk takes the lines in order; requests cut off at the end may still have been sent.
    plan.onceOffsets[scenario.name] = base + result.requests + connections;
    return result;
  }
  if (mode === "pgbench") {
    const budget = seconds * REFRESH_PER_SECOND_PGBENCH;
    const per = Math.floor(budget / connections);
    const base = plan.refreshOffset;
    if (scenario.identity === "refresh") plan.refreshOffset += budget;
    return runPgbench({
      url: scenario.identity === "viewer" ? ctx.authUrl : ctx.ownerUrl,
      connections,
      seconds,
      script: pgbenchScript(scenario, fixtures, 0),
      workDir: ctx.workDir,
      defines: scenario.identity === "refresh" ? { n: 0, base, per } : {},
    });
  }
  const count = scenario.identity === "refresh" ? seconds * REFRESH_PER_SECOND_WRK : targetCount(scenario, fixtures);
  const offset = scenario.identity === "refresh" ? plan.refreshOffset : 0;
  if (scenario.identity === "refresh") plan.refreshOffset += count;
  const file = path.join(ctx.workDir, `${scenario.name}-${mode}.tsv`);
  fs.writeFileSync(file, wrkLines(scenario, mode, fixtures, offset, count));
  return runWrk({ url: ctx.apiUrl, connections, seconds, requestsFile: file, workDir: ctx.workDir });
}

async function main(signal: AbortSignal) {
  const options = parseArgs(process.argv.slice(2));
  requireTool("wrk", "wrk");
  requireTool("pgbench", "postgresql-client");
  const config = loadConfigOrExit();
  const logger = makeLogger(process.env.BENCH_LOG_LEVEL ?? "warn");
  const database = await openDatabase(config, logger);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "agora-bench-"));
  // pg_stat_statements needs a superuser (or pg_read_all_stats) in the application database.
  const root = database.rootUrl ? new pg.Client({ connectionString: withDatabase(database.rootUrl, database.database) }) : null;
  let server: { child: ChildProcess; url: string } | null = null;
  try {
    if (root) {
      root.on("error", (error) => process.stderr.write(`monitoring connection: ${error.message}\n`));
      await root.connect();
      await root.query("create extension if not exists pg_stat_statements");
      // Per-function timing for the scenarios that report a trigger's share (the ledger on react); sessions opened from now on.
      await root.query(`alter database ${pg.escapeIdentifier(database.database)} set track_functions = 'pl'`);
    }
    const refreshSeconds = options.scenarios.some((s) => s.identity === "refresh") ? options.connections.length * (options.warmup + options.duration) : 0;
    const owner = new pg.Pool({ connectionString: database.ownerUrl, max: 1 });
    owner.on("error", () => undefined); // reported by the query that fails
    const ownerClient = await owner.connect();
    let fixtures: Fixtures;
    let sizes: Array<Record<string, string>>;
    try {
      process.stderr.write("Preparing viewers, sessions and targets…\n");
      await raiseLimits(ownerClient);
      fixtures = await prepareFixtures(ownerClient, appTokenService(config), {
        viewers: options.viewers,
        refreshTokens: refreshSeconds * (2 * REFRESH_PER_SECOND_WRK + REFRESH_PER_SECOND_PGBENCH),
        authenticatorRole: database.authenticatorRole,
      });
      sizes = (
        await ownerClient.query(
          `select (select count(*) from app_public.users) users, (select count(*) from app_public.posts) posts,
                  (select count(*) from app_public.comments) comments, (select count(*) from app_public.reactions) reactions, version() as version`,
        )
      ).rows;
    } finally {
      ownerClient.release();
      await owner.end();
    }

    signal.throwIfAborted();
    if (root) await prewarm(root);
    server = await startServer(config, { owner: database.ownerUrl, auth: database.authUrl }, options.profileDir, options.processes, options.worker);
    process.stderr.write(`API (production mode) on ${server.url}, pid ${server.child.pid}\n`);
    await learnCursorDigest(server.url, fixtures);
    await verifySameRows(server.url, options.scenarios, fixtures);

    const plan: Plan = { refreshOffset: 0, onceOffsets: {} };
    const ctx = { fixtures, apiUrl: server.url, ownerUrl: database.ownerUrl, authUrl: database.authUrl, workDir, plan };
    const runs: Run[] = [];
    const total = options.scenarios.length * options.connections.length * MODES.length;
    for (const scenario of options.scenarios) {
      for (const connections of options.connections) {
        for (const mode of MODES) {
          signal.throwIfAborted(); // a stop request ends the benchmark between runs
          const label = `[${runs.length + 1}/${total}] ${scenario.name} c=${connections} ${mode}`;
          process.stderr.write(`${label}: warm-up ${options.warmup}s… `);
          await runOnce(scenario, mode, connections, options.warmup, ctx);
          await root?.query("select pg_stat_statements_reset()");
          const pid = server.child.pid!;
          const triggersBefore = await functionTime(root, scenario.triggers);
          const nodeBefore = processCpuSeconds(pid);
          const postgresMeter = meterPostgresCpu();
          process.stderr.write(`measuring ${options.duration}s… `);
          const profiling = options.profileDir !== null && mode === "graphql";
          if (profiling) server.child.kill("SIGUSR2");
          const { result, peakRssMb } = await withPeakRss(pid, () => runOnce(scenario, mode, connections, options.duration, ctx));
          if (profiling) server.child.kill("SIGUSR2");
          const postgresCpu = postgresMeter.stop();
          const nodeCpu = processCpuSeconds(pid) - nodeBefore;
          const statements = await statementCounts(root);
          const triggersAfter = await functionTime(root, scenario.triggers);
          const triggerCalls = triggersBefore && triggersAfter ? triggersAfter.calls - triggersBefore.calls : 0;
          const run: Run = {
            scenario: scenario.name,
            mode,
            connections,
            requests: result.requests,
            rps: result.rps,
            p50: result.p50,
            p95: result.p95,
            p99: result.p99,
            errors: result.errors,
            statementsPerRequest: statements && result.requests > 0 ? statements.all / result.requests : null,
            dataStatementsPerRequest: statements && result.requests > 0 ? statements.data / result.requests : null,
            sqlMs: statements?.dataMs ?? null,
            triggerMs: triggerCalls > 0 ? (triggersAfter!.ms - triggersBefore!.ms) / triggerCalls : null,
            cpu: {
              node: mode === "pgbench" ? 0 : nodeCpu / result.seconds,
              postgres: postgresCpu / result.seconds,
              load: result.cpuSeconds / result.seconds,
            },
            peakRssMb,
          };
          runs.push(run);
          process.stderr.write(`${run.rps.toFixed(0)} req/s, p95 ${run.p95.toFixed(1)} ms, errors ${run.errors}\n`);
        }
      }
    }

    const apiPeakRssMb = Math.round(largestRssMb(server.child.pid!, "VmHWM"));
    server.child.kill("SIGTERM");
    await new Promise((resolve) => server!.child.once("exit", resolve));
    server = null;
    // One profile per measured GraphQL run, in run order.
    const profiles = options.profileDir
      ? fs.readdirSync(options.profileDir).filter((f) => f.endsWith(".cpuprofile")).sort((a, b) => parseInt(a.slice(4)) - parseInt(b.slice(4)))
      : [];
    const graphqlRuns = runs.filter((r) => r.mode === "graphql");
    const profile = profiles
      .map((f, i) => `### ${graphqlRuns[i]?.scenario} c=${graphqlRuns[i]?.connections}, GraphQL\n\n${summariseProfile(path.join(options.profileDir!, f))}`)
      .join("\n");

    const date = new Date().toISOString().slice(0, 16).replace(":", "-");
    const results: Results = {
      date,
      machine: {
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model ?? "?",
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        postgres: String(sizes[0].version).split(" ").slice(0, 2).join(" "),
      },
      settings: {
        durationSeconds: options.duration,
        warmupSeconds: options.warmup,
        poolMax: config.db.poolMax,
        apiProcesses: options.processes,
        worker: options.worker ? "on" : "off",
        viewers: fixtures.viewers.length,
        users: Number(sizes[0].users),
        posts: Number(sizes[0].posts),
        comments: Number(sizes[0].comments),
        reactions: Number(sizes[0].reactions),
        apiPeakRssMb,
        nodeOptions: process.env.NODE_OPTIONS ?? "",
        profiled: options.profileDir ? "yes (GraphQL runs; the profiler slows them)" : "no",
      },
      runs,
      ratios: ratiosOf(runs),
    };
    const outDir = path.join(PROJECT_ROOT, "bench", "results");
    fs.mkdirSync(outDir, { recursive: true });
    const base = path.join(outDir, date);
    fs.writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
    fs.writeFileSync(`${base}.md`, markdown(results) + (profile ? `\n## Where the API's main thread spends its time (GraphQL runs)\n\n${profile}` : ""));
    fs.writeFileSync(`${base}.svg`, svgChart(results));
    console.log(markdown(results));
    if (profile) console.log(profile);
    console.log(`Written: ${path.relative(process.cwd(), base)}.{json,md,svg}`);
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill("SIGTERM");
      await new Promise((resolve) => server!.child.once("exit", resolve));
    }
    const owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner
      .connect()
      .then(() => restoreLimits(owner))
      .catch((error: Error) => process.stderr.write(`Could not put the rate limits back (run the benchmark again to do so): ${error.message}\n`))
      .finally(() => owner.end());
    await root
      ?.query(`alter database ${pg.escapeIdentifier(database.database)} reset track_functions`)
      .catch(() => undefined);
    await root?.end();
    fs.rmSync(workDir, { recursive: true, force: true });
    if (options.profileDir) fs.rmSync(options.profileDir, { recursive: true, force: true });
    await database.embedded?.stop();
  }
}

// SIGINT/SIGTERM: finish the current run, stop the API and the database, then exit 130/143.
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

/**
 * The two load generators: wrk for HTTP (≈ 0.04 core at these rates, so
 * the CPU it takes is not the server's) and pgbench for the database's own
 * limit. Both run under `bash -c '…; times'` so their CPU time is known.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  /** CPU seconds the load generator itself used. */
  cpuSeconds: number;
  /** pgbench: the most transactions one client started (from the per-transaction log). */
  maxPerClient?: number;
}

/**
 * One request per line: `path \t extra headers (name: value|…) \t body`.
 * Each request takes the next line; responses that are not 200 or carry
 * GraphQL `errors` count as errors.
 */
const WRK_SCRIPT = `
-- Each wrk thread has its own Lua state: setup() keeps the threads so that
-- done() (in the main state) can add up what each counted.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  requests = {}
  n = 0
  errors = 0
  for line in io.lines(args[1]) do
    local p, h, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
    local headers = { ["Content-Type"] = "application/json" }
    for name, value in h:gmatch("([^:|]+): ([^|]+)") do headers[name] = value end
    n = n + 1
    requests[n] = wrk.format("POST", p, headers, body)
  end
  i = 0
end
function request()
  i = i + 1
  if i > n then i = 1 end
  return requests[i]
end
function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("ERROR " .. status .. " " .. body:sub(1, 300) .. "\\n") end
  end
end
function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("errors") end
  io.write(string.format('BENCH {"requests":%d,"micros":%d,"p50":%d,"p95":%d,"p99":%d,"socket":%d,"status":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status, failed))
end
`;

/** Runs a command under bash and returns stdout, stderr and the CPU seconds of its children. */
function timed(command: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string; cpuSeconds: number; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", '"$@"; rc=$?; times >&2; exit $rc', "bash", ...command], {
      cwd: options.cwd,
      env: options.env ?? process.env,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      // `times` prints the shell's and then its children's user/system time, e.g. "0m1.234s 0m0.567s".
      const lines = stderr.trimEnd().split("\n");
      const children = lines.pop() ?? "";
      lines.pop();
      const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
      resolve({ stdout, stderr: lines.join("\n"), cpuSeconds: seconds, code: code ?? 1 });
    });
  });
}

export async function runWrk(options: { url: string; connections: number; seconds: number; requestsFile: string; workDir: string }): Promise<LoadResult> {
  const script = path.join(options.workDir, "bench.lua");
  fs.writeFileSync(script, WRK_SCRIPT);
  const out = await timed([
    "wrk", "-t1", `-c${options.connections}`, `-d${options.seconds}s`, "--timeout", "10s", "-s", script, options.url, "--", options.requestsFile,
  ]);
  const line = /BENCH (\{.*\})/.exec(out.stdout);
  if (!line) throw new Error(`wrk failed (exit ${out.code}): ${out.stderr || out.stdout}`);
  const r = JSON.parse(line[1]) as Record<string, number>;
  const seconds = r.micros / 1e6;
  if (r.errors > 0 && out.stderr) process.stderr.write(`${out.stderr}\n`);
  return {
    requests: r.requests,
    seconds,
    rps: r.requests / seconds,
    p50: r.p50 / 1000,
    p95: r.p95 / 1000,
    p99: r.p99 / 1000,
    errors: r.errors + r.socket,
    cpuSeconds: out.cpuSeconds,
  };
}

export async function runPgbench(options: {
  url: string;
  connections: number;
  seconds: number;
  script: string;
  workDir: string;
  defines?: Record<string, string | number>;
}): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(options.workDir, "pgbench-"));
  const file = path.join(dir, "script.sql");
  fs.writeFileSync(file, options.script);
  const defines = Object.entries(options.defines ?? {}).flatMap(([k, v]) => ["-D", `${k}=${v}`]);
  const out = await timed(
    ["pgbench", "-n", "-M", "prepared", "-c", String(options.connections), "-j", "2", "-T", String(options.seconds), "-l", "-f", file, ...defines, options.url],
    { cwd: dir, env: { ...process.env, PGOPTIONS: "-c jit_optimize_above_cost=-1" } },
  );
  const processed = /number of transactions actually processed: (\d+)/.exec(out.stdout);
  const failed = /number of failed transactions: (\d+)/.exec(out.stdout);
  if (out.code !== 0 && !processed) throw new Error(`pgbench failed (exit ${out.code}): ${out.stderr || out.stdout}`);
  // Per-transaction log lines: client_id transaction_no time_us script_no epoch_s epoch_us
  const latencies: number[] = [];
  let maxPerClient = 0;
  for (const name of fs.readdirSync(dir).filter((f) => f.startsWith("pgbench_log"))) {
    for (const line of fs.readFileSync(path.join(dir, name), "utf8").split("\n")) {
      const fields = line.split(" ");
      if (fields.length >= 3) {
        latencies.push(Number(fields[2]) / 1000);
        maxPerClient = Math.max(maxPerClient, Number(fields[1]) + 1);
      }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  const requests = Number(processed?.[1] ?? 0);
  const errorLines = out.stderr.split("\n").filter((l) => /ERROR|error/.test(l));
  if (errorLines.length > 0) process.stderr.write(`${errorLines.slice(0, 3).join("\n")}\n`);
  return {
    requests,
    seconds: options.seconds,
    rps: requests / options.seconds,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    errors: Number(failed?.[1] ?? 0) + (out.code === 0 ? 0 : 1),
    cpuSeconds: out.cpuSeconds,
    maxPerClient,
  };
}

/**
 * Upload throughput and peak memory of the server for one large file
 * (docs/files.md, "Measurements"): `npm run bench:upload`.
 *
 * Starts `npm start`'s server (dist/src/main.js) as its own process, with a
 * throwaway embedded database and local storage under a temporary DATA_DIR,
 * registers a member, then for each run reserves a document upload of
 * UPLOAD_BENCH_MB (10) MiB and PUTs the bytes from this process, streamed in
 * 64 KiB chunks with backpressure. Meanwhile it reads the server's resident
 * set size from /proc/<pid>/status every 5 ms (Linux only). Growth that does
 * not scale with the file is what streaming looks like; a server that held
 * the file would grow by at least its size.
 *
 * Then UPLOAD_BENCH_CONCURRENT (8) uploads of the same size at once, by
 * another member: the server's peak growth must stay far below their sum.
 *
 * Environment: UPLOAD_BENCH_MB (10), UPLOAD_BENCH_RUNS (5), UPLOAD_BENCH_KEEP=1
 * keeps the data directory. Runs × size must fit the member's quota
 * (files.quota_bytes, 100 MiB): at most 9 runs, or 9 concurrent uploads, of 10 MiB.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const MB = Number(process.env.UPLOAD_BENCH_MB ?? 10);
const RUNS = Number(process.env.UPLOAD_BENCH_RUNS ?? 5);
const CONCURRENT = Number(process.env.UPLOAD_BENCH_CONCURRENT ?? 8);
const MAIN = path.resolve(__dirname, "..", "..", "dist", "src", "main.js");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in bytes, from /proc. */
function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

async function graphql<T>(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors || !body.data) throw new Error(`GraphQL failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the server did not become ready within 2 minutes");
}

/** PUTs `size` bytes (a PDF header, then spaces) in 64 KiB chunks with backpressure. */
function put(uploadUrl: string, size: number): Promise<{ status: number; body: string }> {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  Buffer.from("%PDF-1.7\n").copy(chunk);
  const rest = Buffer.alloc(64 * 1024, 0x20);
  return new Promise((resolve, reject) => {
    const req = http.request(uploadUrl, { method: "PUT", headers: { "content-length": String(size) } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    let sent = 0;
    const write = () => {
      while (sent < size) {
        const part = (sent === 0 ? chunk : rest).subarray(0, Math.min(64 * 1024, size - sent));
        sent += part.length;
        if (!req.write(part)) return void req.once("drain", write);
      }
      req.end();
    };
    write();
  });
}

async function main() {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "agora-upload-bench-"));
  const [port, pgPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: String(port), PUBLIC_URL: url, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), WORKER: "off", LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    await waitReady(url, child);
    /** A new member's access token. The first request plans the schema; on a loaded machine it may time out (TIMEO): try again. */
    const member = async (): Promise<string> => {
      const name = `bench${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      for (let attempt = 1; ; attempt += 1) {
        try {
          const { register } = await graphql<{ register: { accessToken: string } }>(
            url,
            "mutation ($u: String!, $e: String!) { register(input: { username: $u, email: $e, password: \"Correct-Horse-9-bench\" }) { accessToken } }",
            { u: `${name}${attempt}`, e: `${name}${attempt}@example.com` },
          );
          return register.accessToken;
        } catch (error) {
          if (attempt >= 3) throw error;
        }
      }
    };
    const size = MB * 1024 * 1024;
    const reserve = async (token: string) =>
      (
        await graphql<{ createUpload: { result: { uploadUrl: string } } }>(
          url,
          "mutation ($s: BigInt!) { createUpload(input: { purpose: document, fileName: \"bench.pdf\", size: $s }) { result { uploadUrl } } }",
          { s: String(size) },
          token,
        )
      ).createUpload.result.uploadUrl;
    const pid = child.pid!;
    const token = await member();
    const results = [];
    for (let run = 0; run < RUNS; run += 1) {
      const uploadUrl = await reserve(token);
      const before = rssOf(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 5);
      const started = process.hrtime.bigint();
      const res = await put(uploadUrl, size);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearInterval(sampler);
      peak = Math.max(peak, rssOf(pid));
      if (res.status !== 200) throw new Error(`upload refused: ${res.status} ${res.body}`);
      results.push({
        run: run + 1,
        ms: Math.round(ms),
        mibPerSecond: Number((MB / (ms / 1000)).toFixed(1)),
        serverRssBeforeMiB: Number((before / 1048576).toFixed(1)),
        serverRssPeakMiB: Number((peak / 1048576).toFixed(1)),
        serverRssGrowthMiB: Number(((peak - before) / 1048576).toFixed(1)),
      });
    }
    // Then CONCURRENT uploads at once (another member, for the quota): a server that held whole
    // files would need CONCURRENT × the file size at the same moment.
    const second = await member();
    const urls = await Promise.all(Array.from({ length: CONCURRENT }, () => reserve(second)));
    const before = rssOf(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 5);
    const started = process.hrtime.bigint();
    const answers = await Promise.all(urls.map((u) => put(u, size)));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    clearInterval(sampler);
    const refused = answers.filter((a) => a.status !== 200);
    if (refused.length > 0) throw new Error(`uploads refused: ${JSON.stringify(refused)}`);
    const concurrent = {
      uploads: CONCURRENT,
      inFlightMiB: CONCURRENT * MB,
      ms: Math.round(ms),
      mibPerSecond: Number(((CONCURRENT * MB) / (ms / 1000)).toFixed(1)),
      serverRssBeforeMiB: Number((before / 1048576).toFixed(1)),
      serverRssPeakMiB: Number((peak / 1048576).toFixed(1)),
      serverRssGrowthMiB: Number(((peak - before) / 1048576).toFixed(1)),
    };
    process.stdout.write(
      `${JSON.stringify({ fileMiB: MB, runs: results, concurrent, cpus: os.cpus().length, loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))) }, null, 2)}\n`,
    );
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    if (process.env.UPLOAD_BENCH_KEEP !== "1") fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

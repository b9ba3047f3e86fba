/**
 * `npm run bench:realtime`: live delivery measured end to end (docs/realtime.md).
 *
 * Subscribers (real graphql-ws clients, signed in, one connection each) spread
 * over rooms (all members), a sender posting messages through the GraphQL API
 * at a fixed rate, round-robin over the rooms. For each run: commit-to-receipt
 * latency (from the mutation's response to the event's arrival; "send" adds
 * the mutation's own time), deliveries per second, lost, duplicated and wrongly
 * delivered events (every subscriber must receive exactly the messages of its
 * room), CPU of the API process and of PostgreSQL, and the API's RSS.
 * Side by side ("ws"): a minimal hand-written fan-out (bench/realtime-fanout.ts)
 * of the same NOTIFY payloads to the same number of sockets, no GraphQL, no
 * per-event authorisation. Options: --subscribers 1000 --rooms 50
 * --rates 200[,400,…] --seconds 20 --modes graphql,ws, and --profile (a V8
 * CPU profile of the API during each GraphQL run, summarised in the results).
 */
import "../src/runtime";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import WebSocket from "ws";
import { createClient, type Client } from "graphql-ws";
import { loadConfigOrExit, type Config } from "../src/config";
import { openDatabase } from "../src/db/connections";
import { dbaCommands } from "../src/db/migrate";
import { loadOrCreateDevSecrets } from "../src/db/secrets";
import { makeLogger } from "../src/logger";
import { PROJECT_ROOT } from "../src/paths";
import { appTokenService } from "../src/app";
import { raiseLimits, restoreLimits } from "./fixtures";
import { largestRssMb, meterPostgresCpu, processCpuSeconds } from "./probe";
import { summariseProfile } from "./profile";

interface Options {
  subscribers: number;
  rooms: number;
  rates: number[];
  seconds: number;
  modes: Array<"graphql" | "ws">;
  /** Directory for the API's CPU profiles (--profile). */
  profileDir: string | null;
}

function parseOptions(argv: string[]): Options {
  const get = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : fallback;
  };
  return {
    subscribers: Number(get("subscribers", "1000")),
    rooms: Number(get("rooms", "50")),
    rates: get("rates", "200").split(",").map(Number),
    seconds: Number(get("seconds", "20")),
    modes: get("modes", "graphql,ws").split(",") as Options["modes"],
    profileDir: argv.includes("--profile") ? fs.mkdtempSync(path.join(os.tmpdir(), "agora-realtime-profile-")) : null,
  };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`;

async function startChild(script: string, env: Record<string, string>, ready: (url: string) => Promise<boolean>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, script)], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${script} exited during start: ${stderr}`);
    if (await ready(url).catch(() => false)) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${script} did not become ready: ${stderr}`);
}

interface Fixture {
  rooms: string[];
  /** Subscriber i: user, session, room index. */
  members: Array<{ userId: string; sessionId: string; room: number }>;
  sender: { userId: string; sessionId: string };
}

/** Users with sessions, private rooms, memberships: set-based, as the owner (no bcrypt per user). */
async function prepare(db: pg.PoolClient, options: Options): Promise<Fixture> {
  const run = Date.now().toString(36);
  const users = await db.query<{ id: string }>(
    `insert into app_public.users (username) select 'rt_' || $1 || '_' || g from generate_series(0, $2) g returning id`,
    [run, options.subscribers],
  );
  const ids = users.rows.map((r) => r.id);
  const sessions = await db.query<{ id: string; user_id: string }>(
    `insert into app_private.sessions (user_id, expires_at) select u, now() + interval '1 day' from unnest($1::uuid[]) u returning id, user_id`,
    [ids],
  );
  const sessionOf = new Map(sessions.rows.map((s) => [s.user_id, s.id]));
  const senderId = ids[0];
  const rooms = await db.query<{ id: string }>(
    `insert into app_public.rooms (kind, name, created_by) select 'private', 'rt ' || $1 || ' ' || g, $2 from generate_series(1, $3) g returning id`,
    [run, senderId, options.rooms],
  );
  const roomIds = rooms.rows.map((r) => r.id);
  const members = ids.slice(1).map((userId, i) => ({ userId, sessionId: sessionOf.get(userId)!, room: i % options.rooms }));
  await db.query(
    `insert into app_public.room_members (room_id, user_id) select r, u from unnest($1::uuid[], $2::uuid[]) as t(r, u)`,
    [members.map((m) => roomIds[m.room]), members.map((m) => m.userId)],
  );
  return { rooms: roomIds, members, sender: { userId: senderId, sessionId: sessionOf.get(senderId)! } };
}

interface Received {
  /** message row id → receipt time, per subscriber. */
  seen: Array<Map<string, number>>;
  duplicates: number;
  wrong: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

async function measure(
  mode: "graphql" | "ws",
  rate: number,
  options: Options,
  fixture: Fixture,
  urls: { api: string; fanout: string | null },
  tokenOf: (m: { userId: string; sessionId: string }) => string,
  pid: number,
  apiPid: number,
) {
  const received: Received = { seen: fixture.members.map(() => new Map()), duplicates: 0, wrong: 0 };
  const roomOfMessage = new Map<string, number>();
  const onEvent = (i: number, rowId: string, room: string | null) => {
    const now = performance.now();
    if (room !== null && room !== fixture.rooms[fixture.members[i].room]) received.wrong += 1;
    if (received.seen[i].has(rowId)) received.duplicates += 1;
    else received.seen[i].set(rowId, now);
  };
  const closers: Array<() => void> = [];
  // Subscribe everyone.
  let subscribed = 0;
  await Promise.all(
    fixture.members.map(
      (member, i) =>
        new Promise<void>((resolve, reject) => {
          if (mode === "graphql") {
            const client: Client = createClient({
              url: `${urls.api.replace(/^http/, "ws")}/graphql`,
              webSocketImpl: class extends WebSocket {
                constructor(address: string, protocols?: string | string[]) {
                  super(address, protocols, { headers: { "x-forwarded-for": ip(i) } });
                }
              },
              connectionParams: { authorization: `Bearer ${tokenOf(member)}` },
              lazy: false,
              retryAttempts: 0,
              on: { connected: () => (subscribed += 1, resolve()), closed: () => resolve() },
            });
            client.subscribe<{ roomEvents: { kind: string; roomId: string; message: { rowId: string } | null } }>(
              { query: `subscription ($r: UUID!) { roomEvents(roomId: $r) { kind roomId message { rowId } } }`, variables: { r: fixture.rooms[member.room] } },
              {
                next: ({ data }) => {
                  if (data?.roomEvents.kind === "MESSAGE_CREATED" && data.roomEvents.message) onEvent(i, data.roomEvents.message.rowId, data.roomEvents.roomId);
                },
                error: () => undefined,
                complete: () => undefined,
              },
            );
            closers.push(() => void client.dispose());
          } else {
            const socket = new WebSocket(urls.fanout!.replace(/^http/, "ws"));
            socket.once("open", () => socket.send(JSON.stringify({ room: fixture.rooms[member.room] })));
            socket.on("message", (data) => {
              const payload = JSON.parse(data.toString()) as { subscribed?: string; k?: string; r?: string; i?: string };
              if (payload.subscribed) return (subscribed += 1, resolve());
              if (payload.k === "message_created" && payload.i) onEvent(i, payload.i, payload.r ?? null);
            });
            socket.once("error", reject);
            closers.push(() => socket.terminate());
          }
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 1000)); // subscriptions registered on the server
  // Send at a fixed rate, round-robin over the rooms.
  const token = tokenOf(fixture.sender);
  const sent: Array<{ rowId: string; room: number; start: number; committed: number }> = [];
  let failed = 0;
  /** Refused sends by the error's code (e.g. TIMEOUT at the request deadline), or "network". */
  const failures = new Map<string, number>();
  const fail = (code: string) => {
    failed += 1;
    failures.set(code, (failures.get(code) ?? 0) + 1);
  };
  const total = rate * options.seconds;
  const started = performance.now();
  const cpuBefore = processCpuSeconds(pid);
  const loadBefore = process.cpuUsage();
  const apiBefore = processCpuSeconds(apiPid);
  const postgres = meterPostgresCpu();
  let peakRss = largestRssMb(pid);
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, largestRssMb(pid))), 250);
  const profiling = options.profileDir !== null && mode === "graphql";
  if (profiling) process.kill(pid, "SIGUSR2"); // bench/server.ts starts a CPU profile
  const inflight: Array<Promise<void>> = [];
  for (let k = 0; k < total; k++) {
    const due = started + (k * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const room = k % options.rooms;
    const start = performance.now();
    inflight.push(
      fetch(`${urls.api}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, // One client address per 256 messages: the edge's per-instance flood guard
          // (RATE_LIMIT_MAX per IP and window) is not what this measures.
          "x-forwarded-for": `10.255.${(k >> 8) & 255}.${k & 255}` },
        body: JSON.stringify({
          query: `mutation ($r: UUID!, $b: String!) { createMessage(input: { message: { roomId: $r, body: $b } }) { message { rowId } } }`,
          variables: { r: fixture.rooms[room], b: `bench message ${k}` },
        }),
      })
        .then((res) => res.json() as Promise<{ data?: { createMessage: { message: { rowId: string } } }; errors?: Array<{ extensions?: { code?: string } }> }>)
        .then((body) => {
          const rowId = body.data?.createMessage.message.rowId;
          if (!rowId) return void fail(body.errors?.[0]?.extensions?.code ?? "no code");
          roomOfMessage.set(rowId, room);
          sent.push({ rowId, room, start, committed: performance.now() });
        }, () => void fail("network")),
    );
  }
  await Promise.all(inflight);
  const sendSeconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 3000)); // the last deliveries
  if (profiling) process.kill(pid, "SIGUSR2"); // … and writes it
  clearInterval(rssTimer);
  const apiCpu = processCpuSeconds(pid) - cpuBefore;
  const load = process.cpuUsage(loadBefore);
  const apiAll = processCpuSeconds(apiPid) - apiBefore;
  const loadCpu = (load.user + load.system) / 1e6;
  const postgresCpu = postgres.stop();
  const elapsed = (performance.now() - started) / 1000;
  // Check every subscriber against what it should have received.
  const latencies: number[] = [];
  const sendLatencies: number[] = [];
  let lost = 0;
  let deliveries = 0;
  const byRoom = fixture.rooms.map(() => [] as typeof sent);
  for (const s of sent) byRoom[s.room].push(s);
  for (const [i, member] of fixture.members.entries()) {
    for (const s of byRoom[member.room]) {
      const at = received.seen[i].get(s.rowId);
      if (at === undefined) lost += 1;
      else {
        deliveries += 1;
        latencies.push(Math.max(0, at - s.committed));
        sendLatencies.push(at - s.start);
      }
    }
    for (const rowId of received.seen[i].keys()) {
      const room = roomOfMessage.get(rowId);
      if (room !== undefined && room !== member.room) received.wrong += 1;
    }
  }
  closers.forEach((close) => close());
  latencies.sort((x, y) => x - y);
  sendLatencies.sort((x, y) => x - y);
  return {
    mode,
    rate,
    subscribers: fixture.members.length,
    subscribed,
    rooms: options.rooms,
    sent: sent.length,
    failedSends: failed,
    failedBy: Object.fromEntries(failures),
    sendSeconds,
    deliveries,
    deliveriesPerSecond: deliveries / sendSeconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    sendP95: percentile(sendLatencies, 95),
    lost,
    duplicates: received.duplicates,
    wrong: received.wrong,
    cpu: { api: apiCpu / elapsed, apiProcess: apiAll / elapsed, postgres: postgresCpu / elapsed, load: loadCpu / elapsed },
    peakRssMb: Math.round(peakRss),
  };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const config: Config = loadConfigOrExit();
  const logger = makeLogger(process.env.BENCH_LOG_LEVEL ?? "warn");
  const db = await openDatabase(config, logger);
  // Work in progress too (empty once committed), as the tests' global set-up does.
  await dbaCommands.watch(db, logger, true);
  const owner = new pg.Pool({ connectionString: db.ownerUrl, max: 1 });
  const client = await owner.connect();
  let api: { child: ChildProcess; url: string } | null = null;
  let fanout: { child: ChildProcess; url: string } | null = null;
  try {
    await raiseLimits(client);
    await client.query(
      `insert into agora_bench.saved_settings select key, value from app_private.settings where key = 'rate_limit.message:send' on conflict do nothing;
       update app_private.settings set value = jsonb_set(value, '{max}', '1000000000') where key = 'rate_limit.message:send'`,
    );
    process.stderr.write(`Preparing ${options.subscribers} members in ${options.rooms} rooms…\n`);
    const fixture = await prepare(client, options);
    const tokens = appTokenService(config);
    const tokenOf = (m: { userId: string; sessionId: string }) => tokens.sign({ sub: m.userId, sid: m.sessionId }, 3600);
    const secret = config.jwt.algorithm === "HS256" ? (config.jwt.secret ?? loadOrCreateDevSecrets(config.embedded.dataDir).jwtSecret) : undefined;
    const healthy = async (url: string) => (await fetch(`${url}/health/ready`)).ok;
    api = await startChild("dist-bench/bench/server.js", {
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      DATABASE_URL: db.ownerUrl,
      AUTH_DATABASE_URL: db.authUrl,
      TRUST_PROXY: "1",
      LOG_LEVEL: "warn",
      WORKER: "off", SMTP_URL: process.env.SMTP_URL ?? "smtp://127.0.0.1:2525",
      ...(secret ? { JWT_SECRET: secret } : {}),
      ...(options.profileDir ? { BENCH_PROFILE_DIR: options.profileDir } : {}),
    }, healthy);
    if (options.modes.includes("ws")) {
      fanout = await startChild("dist-bench/bench/realtime-fanout.js", { DATABASE_URL: db.ownerUrl }, async (url) =>
        new Promise<boolean>((resolve) => {
          const socket = new WebSocket(url.replace(/^http/, "ws"));
          socket.once("open", () => (socket.terminate(), resolve(true)));
          socket.once("error", () => resolve(false));
        }),
      );
    }
    const runs = [];
    for (const rate of options.rates) {
      for (const mode of options.modes) {
        process.stderr.write(`${mode} at ${rate} msg/s for ${options.seconds}s… `);
        const pid = mode === "graphql" ? api.child.pid! : fanout!.child.pid!;
        const run = await measure(mode, rate, options, fixture, { api: api.url, fanout: fanout?.url ?? null }, tokenOf, pid, api.child.pid!);
        runs.push(run);
        process.stderr.write(
          `p50 ${run.p50.toFixed(1)} p95 ${run.p95.toFixed(1)} p99 ${run.p99.toFixed(1)} ms, ${run.deliveriesPerSecond.toFixed(0)} deliveries/s, lost ${run.lost}, dup ${run.duplicates}, wrong ${run.wrong}, failed sends ${run.failedSends}${run.failedSends ? ` ${JSON.stringify(run.failedBy)}` : ""}\n`,
        );
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    const stamp = new Date().toISOString().slice(0, 16).replace(":", "-");
    const dir = path.join(PROJECT_ROOT, "bench", "results");
    fs.mkdirSync(dir, { recursive: true });
    const result = { kind: "realtime", at: new Date().toISOString(), options, cpus: (await import("node:os")).cpus().length, runs };
    fs.writeFileSync(path.join(dir, `realtime-${stamp}.json`), JSON.stringify(result, null, 2));
    const lines = [
      `# Realtime benchmark ${result.at}`,
      "",
      `${options.subscribers} subscribers in ${options.rooms} rooms, ${options.seconds} s per run, API_PROCESSES ${process.env.API_PROCESSES ?? "1"} (the hand-written fan-out is one process; CPU is summed over the API's processes, RSS is the largest one's). Latency: from the mutation's response (commit) to the event's arrival at each subscriber.`,
      "",
      "| mode | msg/s | sent | deliveries/s | p50 ms | p95 ms | p99 ms | lost | dup | wrong | delivering process CPU | API process CPU (sends + delivery) | PostgreSQL CPU | load generator CPU | peak RSS MB |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
      ...runs.map(
        (r) =>
          `| ${r.mode} | ${r.rate} | ${r.sent} | ${r.deliveriesPerSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.lost} | ${r.duplicates} | ${r.wrong} | ${r.cpu.api.toFixed(2)} | ${r.cpu.apiProcess.toFixed(2)} | ${r.cpu.postgres.toFixed(2)} | ${r.cpu.load.toFixed(2)} | ${r.peakRssMb} |`,
      ),
    ];
    if (options.profileDir) {
      await new Promise((r) => setTimeout(r, 1000)); // the last profile is written
      const files = fs.readdirSync(options.profileDir).filter((f) => f.endsWith(".cpuprofile")).sort((a, b) => parseInt(a.slice(4)) - parseInt(b.slice(4)));
      const graphqlRuns = runs.filter((r) => r.mode === "graphql");
      for (const [i, f] of files.entries()) {
        lines.push("", `## API CPU profile: GraphQL at ${graphqlRuns[i]?.rate} msg/s`, "", summariseProfile(path.join(options.profileDir, f)));
      }
    }
    fs.writeFileSync(path.join(dir, `realtime-${stamp}.md`), lines.join("\n") + "\n");
    process.stdout.write(lines.join("\n") + "\n");
  } finally {
    api?.child.kill("SIGTERM");
    fanout?.child.kill("SIGTERM");
    await restoreLimits(client).catch(() => undefined);
    client.release();
    await owner.end();
    await db.embedded?.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`bench:realtime failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

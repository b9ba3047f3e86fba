/**
 * `npm run bench:realtime-idle -- --connections 10000`: the API process's
 * memory with N idle graphql-ws connections (acknowledged, one roomEvents
 * subscription each to a public room, nothing sent). Prints RSS before, after
 * and per connection; writes bench/results/realtime-idle-<time>.json.
 * Run it small on a busy machine (e.g. --connections 200). --heap-snapshot
 * also writes a heap snapshot of the API with the connections open.
 */
import "../src/runtime";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import WebSocket from "ws";
import { createClient, type Client } from "graphql-ws";
import { loadConfigOrExit } from "../src/config";
import { openDatabase } from "../src/db/connections";
import { dbaCommands } from "../src/db/migrate";
import { makeLogger } from "../src/logger";
import { PROJECT_ROOT } from "../src/paths";
import { raiseLimits, restoreLimits } from "./fixtures";
import { rssMb } from "./probe";
import { loadOrCreateDevSecrets } from "../src/db/secrets";

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

async function main() {
  const argv = process.argv.slice(2);
  const n = Number(argv[argv.indexOf("--connections") + 1] || 10_000);
  const config = loadConfigOrExit();
  const logger = makeLogger("warn");
  const db = await openDatabase(config, logger);
  await dbaCommands.watch(db, logger, true);
  const owner = new pg.Pool({ connectionString: db.ownerUrl, max: 1 });
  const client = await owner.connect();
  await raiseLimits(client);
  const room = (await client.query<{ id: string }>("insert into app_public.rooms (kind, name) values ('public', 'idle ' || now()) returning id")).rows[0].id;
  const port = await freePort();
  const secret = config.jwt.algorithm === "HS256" ? (config.jwt.secret ?? loadOrCreateDevSecrets(config.embedded.dataDir).jwtSecret) : "";
  const child = spawn(process.execPath, ["--expose-gc", path.join(PROJECT_ROOT, "dist-bench/bench/server.js")], {
    env: { ...process.env, NODE_ENV: "production", HOST: "127.0.0.1", PORT: String(port), DATABASE_URL: db.ownerUrl, AUTH_DATABASE_URL: db.authUrl, TRUST_PROXY: "1", LOG_LEVEL: "warn", WORKER: "off", JWT_SECRET: secret, SMTP_URL: process.env.SMTP_URL ?? "smtp://127.0.0.1:2525" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const clients: Client[] = [];
  try {
    for (let i = 0; !(await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)); i++) {
      if (child.exitCode !== null || i > 600) throw new Error("the API did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
    // One connection first, so the schema and plan are built before "before" is read.
    const open = (i: number) =>
      new Promise<void>((resolve) => {
        const c = createClient({
          url: `${url.replace(/^http/, "ws")}/graphql`,
          webSocketImpl: class extends WebSocket {
            constructor(address: string, protocols?: string | string[]) {
              super(address, protocols, { headers: { "x-forwarded-for": `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}` } });
            }
          },
          lazy: false,
          retryAttempts: 0,
          on: { connected: () => resolve(), closed: () => resolve() },
        });
        c.subscribe({ query: `subscription ($r: UUID!) { roomEvents(roomId: $r) { kind } }`, variables: { r: room } }, { next: () => undefined, error: () => undefined, complete: () => undefined });
        clients.push(c);
      });
    /** The API's memory after a full garbage collection (bench/endpoint.ts), in MB. */
    const snapshotDir = argv.includes("--heap-snapshot") ? fs.mkdtempSync(path.join(os.tmpdir(), "agora-heap-")) : null;
    const collected = async (snapshot = false) => {
      const query = snapshot && snapshotDir ? `?snapshot=${encodeURIComponent(snapshotDir)}` : "";
      const usage = (await (await fetch(`${url}/bench-gc${query}`, { method: "POST" })).json()) as { rss: number; heapUsed: number; external: number; snapshot: string | null };
      if (usage.snapshot) process.stderr.write(`heap snapshot: ${usage.snapshot}\n`);
      return { rss: usage.rss / 2 ** 20, heap: usage.heapUsed / 2 ** 20, external: usage.external / 2 ** 20 };
    };
    await open(0);
    await new Promise((r) => setTimeout(r, 2000));
    const baseline = await collected();
    const before = rssMb(child.pid!);
    for (let i = 1; i <= n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i + 1) }, (_, k) => open(i + k)));
    await new Promise((r) => setTimeout(r, 3000));
    const after = rssMb(child.pid!);
    // After the connections are open the process also holds the garbage of opening them; a full collection shows what they keep.
    const settled = await collected(true);
    const result = {
      kind: "realtime-idle", at: new Date().toISOString(), connections: n, rssBeforeMb: before, rssAfterMb: after, kbPerConnection: ((after - before) * 1024) / n,
      afterGc: { rssBeforeMb: baseline.rss, rssAfterMb: settled.rss, heapBeforeMb: baseline.heap, heapAfterMb: settled.heap, kbPerConnection: ((settled.rss - baseline.rss) * 1024) / n, heapKbPerConnection: ((settled.heap - baseline.heap) * 1024) / n },
    };
    const dir = path.join(PROJECT_ROOT, "bench", "results");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `realtime-idle-${result.at.slice(0, 16).replace(":", "-")}.json`), JSON.stringify(result, null, 2));
    process.stdout.write(`${n} idle connections: API RSS ${before.toFixed(0)} MB → ${after.toFixed(0)} MB (${result.kbPerConnection.toFixed(1)} KB each)\n`);
    process.stdout.write(
      `after a full GC: RSS ${baseline.rss.toFixed(0)} MB → ${settled.rss.toFixed(0)} MB (${result.afterGc.kbPerConnection.toFixed(1)} KB each), ` +
        `JS heap ${baseline.heap.toFixed(0)} MB → ${settled.heap.toFixed(0)} MB (${result.afterGc.heapKbPerConnection.toFixed(1)} KB each)\n`,
    );
  } finally {
    for (const c of clients) void c.dispose();
    child.kill("SIGTERM");
    await restoreLimits(client).catch(() => undefined);
    client.release();
    await owner.end();
    await db.embedded?.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`bench:realtime-idle failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

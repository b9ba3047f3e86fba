/**
 * How the embedded PostgreSQL stops: it waits for open sessions to end
 * ("smart" shutdown) instead of cutting them off, so a pool whose sockets are
 * still closing (graphile-migrate's, graphile-worker's schema installer's,
 * ours) never sees "terminating connection due to administrator command";
 * only a session still open after the grace period is cut off, with a warning.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../../src/db/embedded";
import { freePort } from "../helpers/globalSetup";

jest.setTimeout(120_000);

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "agora-embedded-stop-"));
  fs.chmodSync(dir, 0o755);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function start(smartShutdownMs: number, warnings: string[]) {
  return startEmbeddedPostgres({
    dataDir: path.join(dir, "pg"),
    port: await freePort(),
    superuserPassword: "stop-test",
    settings: { fsync: "off", shared_buffers: "16MB" },
    warn: (line) => warnings.push(line),
    smartShutdownMs,
  });
}

async function connect(url: string): Promise<{ client: pg.Client; errors: Error[] }> {
  const client = new pg.Client({ connectionString: url, application_name: randomBytes(4).toString("hex") });
  const errors: Error[] = [];
  client.on("error", (error) => errors.push(error));
  await client.connect();
  return { client, errors };
}

it("waits for an open session to end, serving it meanwhile, then stops without an error on the client", async () => {
  const warnings: string[] = [];
  const cluster = await start(60_000, warnings);
  const { client, errors } = await connect(cluster.rootUrl());
  let stopped = false;
  const stopping = cluster.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 300));
  expect(stopped).toBe(false);
  expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
  await client.end();
  await stopping;
  expect(errors).toEqual([]);
  expect(warnings).toEqual([]);
  expect(fs.existsSync(path.join(dir, "pg", "postmaster.pid"))).toBe(false);
});

it("cuts off a session still open after the grace period, and says so", async () => {
  const warnings: string[] = [];
  const cluster = await start(300, warnings);
  const { client, errors } = await connect(cluster.rootUrl());
  await cluster.stop();
  expect(warnings).toEqual([expect.stringContaining("sessions were still connected 300 ms after the shutdown request")]);
  await new Promise((r) => setTimeout(r, 100));
  expect(errors.map((e) => (e as Error & { code?: string }).code)).toContain("57P01");
  await client.end().catch(() => undefined);
  expect(fs.existsSync(path.join(dir, "pg", "postmaster.pid"))).toBe(false);
});

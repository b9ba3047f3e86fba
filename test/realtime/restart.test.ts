/**
 * PostgreSQL stopped and started again under live subscriptions: the API's
 * one LISTEN connection reports itself down in /health/ready, reconnects by
 * itself, LISTENs again and gives every subscriber a GAP event (refetch), and
 * events after the restart are delivered again to the members who may see
 * them, and to nobody else. The server runs with its own embedded cluster,
 * so stopping it disturbs no other test.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { PROJECT_ROOT } from "../../src/paths";
import { loadOrCreateDevSecrets } from "../../src/db/secrets";
import { freePort } from "../helpers/globalSetup";
import { spawnRun, waitFor, type Run } from "../helpers/processes";
import { subscribe, ROOM_EVENTS, type LiveConnection, type RoomEvent } from "./live";
import { wsClient } from "../helpers/ws";

jest.setTimeout(180_000);

let dataDir: string;
let run: Run;
let url: string;
let root: pg.Pool;
let pgDir: string;
let pgPort: number;
const open: LiveConnection[] = [];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "agora-realtime-restart-"));
  fs.chmodSync(dataDir, 0o755);
  pgPort = await freePort();
  const port = await freePort();
  run = spawnRun(process.execPath, [path.join(PROJECT_ROOT, "dist", "src", "main.js")], {
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    PORT: String(port),
    DATABASE_URL: "",
    AUTH_DATABASE_URL: "",
    WORKER: "off",
    LOG_LEVEL: "info",
    TRUST_PROXY: "1",
  });
  await waitFor(run, "Agora is ready");
  url = `http://127.0.0.1:${port}`;
  pgDir = path.join(dataDir, "pg");
  const password = encodeURIComponent(loadOrCreateDevSecrets(dataDir).postgresPassword);
  root = new pg.Pool({ connectionString: `postgres://postgres:${password}@127.0.0.1:${pgPort}/agora`, max: 1 });
  root.on("error", () => undefined); // its idle connection dies with the stop
  // `npm start` applies committed migrations only; the work in progress (migrations/current.sql) is applied
  // here as the test database's globalSetup does it (a no-op once it is committed).
  const current = fs.readFileSync(path.join(PROJECT_ROOT, "migrations", "current.sql"), "utf8");
  await root.query(`set role agora_owner;\n${current};\nreset role;`);
});

afterAll(async () => {
  for (const connection of open) await connection.client.dispose();
  await root?.end().catch(() => undefined);
  if (run.child.exitCode === null) {
    run.child.kill("SIGTERM");
    await run.exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function graphql<T>(query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function register(name: string): Promise<{ id: string; token: string }> {
  const data = await graphql<{ register: { accessToken: string; user: { rowId: string } } }>(
    `mutation ($u: String!, $e: String!) { register(input: { username: $u, email: $e, password: "Correct-Horse-9" }) { accessToken user { rowId } } }`,
    { u: name, e: `${name}@example.com` },
  );
  return { id: data.register.user.rowId, token: data.register.accessToken };
}

async function ready(): Promise<{ status: number; failing: string[] }> {
  const response = await fetch(`${url}/health/ready`);
  return { status: response.status, failing: ((await response.json()) as { failing: string[] }).failing };
}

let binDir: string | undefined;
function pgCtl(...args: string[]): void {
  // The cluster's own binaries, found from its running postmaster (before it is stopped).
  binDir ??= path.dirname(fs.readlinkSync(`/proc/${Number(fs.readFileSync(path.join(pgDir, "postmaster.pid"), "utf8").split("\n")[0])}/exe`));
  const owner = fs.statSync(pgDir);
  const result = spawnSync(path.join(binDir, "pg_ctl"), [...args, "-w", "-D", pgDir], {
    uid: owner.uid,
    gid: owner.gid,
    stdio: "ignore", // a started postmaster inherits pg_ctl's output; a pipe would never close
    timeout: 60_000,
  });
  expect(result.status).toBe(0);
}

async function eventually<T>(probe: () => Promise<T | null>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out:\n${run.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("survives a PostgreSQL stop and start: health reports the LISTEN connection, subscribers get a GAP, delivery resumes to the right members only", async () => {
  const [owner, member, stranger] = [await register("rt_owner"), await register("rt_member"), await register("rt_stranger")];
  const { rows } = await root.query<{ id: string }>("insert into app_public.rooms (kind, name, created_by) values ('private', 'ops', $1) returning id", [owner.id]);
  const roomId = rows[0].id;
  const other = await root.query<{ id: string }>("insert into app_public.rooms (kind, name, created_by) values ('private', 'elsewhere', $1) returning id", [stranger.id]);
  await root.query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [roomId, member.id]);
  const live = (token: string): LiveConnection => {
    const client = wsClient(url, token, { lazy: false });
    const connection = { client, closed: new Promise<number>(() => undefined), closeCode: () => null };
    open.push(connection);
    return connection;
  };
  const memberSub = subscribe<RoomEvent>(live(member.token), ROOM_EVENTS, { roomId });
  const strangerSub = subscribe<RoomEvent>(live(stranger.token), ROOM_EVENTS, { roomId: other.rows[0].id });
  const SEND = `mutation ($roomId: UUID!, $body: String!) { createMessage(input: { message: { roomId: $roomId, body: $body } }) { message { rowId } } }`;
  const send = (body: string) => graphql<{ createMessage: { message: { rowId: string } } }>(SEND, { roomId, body }, owner.token);
  // Subscribed once a message sent now arrives.
  const before = await eventually(async () => {
    const id = (await send("before")).createMessage.message.rowId;
    return (await memberSub.next((e) => e.message?.rowId === id, 1000).catch(() => null)) ?? null;
  });
  expect(before.kind).toBe("MESSAGE_CREATED");
  expect(await ready()).toEqual({ status: 200, failing: [] });

  await root.end();
  pgCtl("stop", "-m", "fast");
  const down = await eventually(async () => {
    const answer = await ready();
    return answer.failing.includes("realtime") ? answer : null;
  });
  expect(down.status).toBe(503);
  pgCtl("start", "-o", `-p ${pgPort}`);

  const gap = await memberSub.next((e) => e.kind === "GAP", 30_000);
  expect(gap).toMatchObject({ roomId, seq: null });
  expect(await eventually(async () => ((await ready()).status === 200 ? true : null))).toBe(true);
  const after = (await eventually(async () => send("after"))).createMessage.message.rowId;
  const received = await memberSub.next((e) => e.message?.rowId === after, 10_000);
  expect(BigInt(received.seq!)).toBeGreaterThan(BigInt(before.seq!));
  // Nothing of the private room reaches the stranger; what reaches them in their own room is
  // the GAP and, when their connection re-registers after the restart, their own presence.
  expect(strangerSub.events.filter((e) => e.roomId === roomId || e.message)).toEqual([]);
  expect(strangerSub.events.filter((e) => e.kind !== "GAP" && !(e.kind === "PRESENCE" && e.userId === stranger.id))).toEqual([]);
  expect(memberSub.errors).toEqual([]);
});

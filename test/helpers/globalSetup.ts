/**
 * Once per `npm test`: a fresh PostgreSQL with Agora's roles and a migrated
 * database. By default an embedded cluster on a free port in a temporary
 * directory; with TEST_DATABASE_URL (a superuser URL) a new database on that
 * server instead. Connection details reach the test files through
 * AGORA_TEST_DB (JSON in an environment variable).
 */
import "../../src/runtime";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/db/connections";
import { makeLogger } from "../../src/logger";
import { dbaCommands } from "../../src/db/migrate";
import { startEmbeddedPostgres, type EmbeddedCluster } from "../../src/db/embedded";
import type { TestDatabase } from "./testDatabase";
import { startSmtpSink } from "./mail";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

declare global {
  var __AGORA_TEST_CLUSTER__:
    | {
        cluster: EmbeddedCluster | null;
        tmpDir: string;
        serverRootUrl: string;
        database: string;
        smtp: { close(): Promise<void> };
      }
    | undefined;
}

export default async function globalSetup(): Promise<void> {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "agora-test-"));
  fs.chmodSync(tmpDir, 0o755);
  let cluster: EmbeddedCluster | null = null;
  let rootUrl: string;
  const database = `agora_test_${process.pid}`;
  if (process.env.TEST_DATABASE_URL) {
    rootUrl = process.env.TEST_DATABASE_URL;
  } else {
    cluster = await startEmbeddedPostgres({
      dataDir: path.join(tmpDir, "pg"),
      port: await freePort(),
      superuserPassword: randomBytes(12).toString("hex"),
      // A throwaway cluster: durability buys nothing here.
      settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off" },
    });
    rootUrl = cluster.rootUrl("postgres");
  }
  const mailDir = path.join(tmpDir, "mail");
  const smtp = await startSmtpSink(mailDir);
  globalThis.__AGORA_TEST_CLUSTER__ = { cluster, tmpDir, serverRootUrl: rootUrl, database, smtp };

  const root = new URL(rootUrl);
  const at = (user: string, password: string, db: string) => {
    const u = new URL(rootUrl);
    u.username = user;
    u.password = password;
    u.pathname = `/${db}`;
    return u.toString();
  };
  const ownerPassword = randomBytes(12).toString("hex");
  const authPassword = randomBytes(12).toString("hex");
  const env = {
    NODE_ENV: "test",
    DATABASE_URL: at("agora_owner", ownerPassword, database),
    AUTH_DATABASE_URL: at("agora_authenticator", authPassword, database),
    ROOT_DATABASE_URL: rootUrl,
    DATA_DIR: tmpDir,
    SMTP_URL: smtp.url,
    PUBLIC_URL: "https://agora.test",
  };
  const logger = makeLogger("warn");
  const db = await openDatabase(loadConfig(env), logger);
  // Work in progress in migrations/current.sql is tested too (it is empty on main).
  await dbaCommands.watch(db, logger, true);
  const rootInDb = new URL(rootUrl);
  rootInDb.pathname = `/${database}`;
  const info: TestDatabase = {
    env: { ...env, JWT_SECRET: randomBytes(32).toString("hex") },
    ownerUrl: db.ownerUrl,
    authUrl: db.authUrl,
    rootUrl: rootInDb.toString(),
    serverRootUrl: root.toString(),
    database,
    tmpDir,
    mailDir,
  };
  process.env.AGORA_TEST_DB = JSON.stringify(info);
}

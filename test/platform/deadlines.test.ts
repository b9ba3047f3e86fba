/**
 * Deadlines below GraphQL: the API's sessions carry statement_timeout and
 * idle_in_transaction_session_timeout (also after `set role`), a statement
 * past its timeout is cancelled by PostgreSQL and answered TIMEO, and the
 * edge answers TIMEO (503) past REQUEST_TIMEOUT_MS.
 */
import pg from "pg";
import { loadConfig } from "../../src/config";
import { makeLogger } from "../../src/logger";
import { startAgora, type Agora } from "../../src/app";
import { startTestServer, type TestServer } from "../helpers/server";
import { testDatabase } from "../helpers/testDatabase";

/**
 * A statement as slow as we like, on any data: it reads a table another
 * session holds locked (a lock wait counts toward statement_timeout).
 */
const SLOW = { query: "{ allPermissions { totalCount } }" };

async function lockPermissions(): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: testDatabase().rootUrl });
  await client.connect();
  await client.query("begin");
  await client.query("lock table app_public.permissions in access exclusive mode");
  return {
    release: async () => {
      await client.query("rollback");
      await client.end();
    },
  };
}

/** The API's statements on permissions running (or waiting) for more than `ms`. */
async function activeLongerThan(root: pg.Client, ms: number): Promise<number> {
  const { rows } = await root.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where usename = 'agora_authenticator' and state = 'active' and query ilike '%permissions%'
        and now() - query_start > make_interval(secs => $1::float8 / 1000)`,
    [ms],
  );
  return rows[0].n;
}

describe("statement timeout", () => {
  let server: TestServer;
  let root: pg.Client;
  beforeAll(async () => {
    server = await startTestServer({ DB_STATEMENT_TIMEOUT_MS: "300", REQUEST_TIMEOUT_MS: "20000" });
    root = new pg.Client({ connectionString: testDatabase().rootUrl });
    await root.connect();
    await server.agora.graphqlSchema();
  });
  afterAll(async () => {
    await root?.end();
    await server?.stop();
  });

  it("is set on the API's sessions, survives set role, and is longer for the owner", async () => {
    const client = await server.agora.authPool.connect();
    try {
      await client.query("begin");
      await client.query("set local role anonymous");
      const { rows } = await client.query("select current_setting('statement_timeout') as st, current_setting('idle_in_transaction_session_timeout') as idle");
      expect(rows[0]).toEqual({ st: "300ms", idle: "10s" });
      await client.query("rollback");
    } finally {
      client.release();
    }
    const { rows } = await server.agora.ownerPool.query("select current_setting('statement_timeout') as st");
    expect(rows[0].st).toBe("1min");
  });

  it("does not cut the schema's introspection short: it runs with the owner's timeout, not the requests'", async () => {
    // Introspection of this schema takes longer than the shortest statement
    // timeout allowed (100 ms) on a busy machine; cancelled, it would leave
    // the API answering 500 to everything.
    const tight = await startTestServer({ DB_STATEMENT_TIMEOUT_MS: "100", REQUEST_TIMEOUT_MS: "60000" });
    try {
      const res = await tight.graphql("{ __typename }");
      expect(res.errors ?? null).toBeNull();
      expect(res.data).toEqual({ __typename: "Query" });
      const client = await tight.agora.authPool.connect();
      try {
        const { rows } = await client.query("select current_setting('statement_timeout') as st");
        expect(rows[0].st).toBe("100ms"); // the requests' timeout is still the short one
      } finally {
        client.release();
      }
    } finally {
      await tight.stop();
    }
  });

  it("cancels a slow statement and answers TIMEO; nothing is left running", async () => {
    const lock = await lockPermissions();
    const started = Date.now();
    const res = await server.graphql(SLOW.query).finally(() => undefined);
    const elapsed = Date.now() - started;
    const leftRunning = await activeLongerThan(root, 0);
    await lock.release();
    expect(res.status).toBe(200);
    expect(res.data?.allPermissions ?? null).toBeNull();
    expect(res.errors?.[0].extensions?.code).toBe("TIMEO");
    expect(res.errors?.[0].message).toMatch(/DB_STATEMENT_TIMEOUT_MS/);
    expect(JSON.stringify(res.errors)).not.toMatch(/canceling statement|select |app_public/i);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
    expect(leftRunning).toBe(0); // cancelled by PostgreSQL, not waiting on behind the lock
  });
});

describe("without a short statement timeout (the control)", () => {
  let agora: Agora;
  let root: pg.Client;
  beforeAll(async () => {
    const config = loadConfig({ ...testDatabase().env, PORT: "0", WORKER: "off", DB_STATEMENT_TIMEOUT_MS: "60000", REQUEST_TIMEOUT_MS: "120000" });
    // The edge deadline below the statement timeout, which configuration refuses: only to show the edge alone.
    config.limits.requestTimeoutMs = 400;
    agora = await startAgora(config, makeLogger(config.logLevel));
    root = new pg.Client({ connectionString: testDatabase().rootUrl });
    await root.connect();
  });
  afterAll(async () => {
    await root?.end();
    await agora?.stop();
  });

  it("the same read waits on past the deadline in the database, and the edge answers TIMEO (503)", async () => {
    // The schema first: built within the 400 ms deadline or not, it is not what this measures.
    await agora.graphqlSchema();
    const warm = await fetch(`${agora.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"query":"{ __typename }"}' });
    expect(warm.status).toBe(200);
    const lock = await lockPermissions();
    const started = Date.now();
    const res = await fetch(`${agora.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(SLOW) });
    const stillRunning = await activeLongerThan(root, 0);
    await lock.release();
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const body = (await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0].extensions.code).toBe("TIMEO");
    expect(body.errors[0].message).toMatch(/REQUEST_TIMEOUT_MS/);
    expect(Date.now() - started).toBeLessThan(2000);
    // Without a statement timeout below it, the statement is still waiting: why REQUEST_TIMEOUT_MS must exceed DB_STATEMENT_TIMEOUT_MS.
    expect(stillRunning).toBeGreaterThanOrEqual(1);
  });
});

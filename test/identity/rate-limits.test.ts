/**
 * The SQL rate limiter (app_private.check_rate_limit): a fixed window per
 * (bucket, key) in the database, so it holds across API instances; and the
 * limits it puts on register, login, forgot-password and resend-verification.
 */
import pg from "pg";
import { closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { errorCode, LOGIN, REGISTER } from "../helpers/auth";
import { createTestUser, uniqueName } from "../helpers/users";
import { testDatabase } from "../helpers/testDatabase";
import { runQueuedJobs } from "../helpers/jobs";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const hit = (db: pg.Pool, bucket: string, key: string, max = 3, per = "1 hour") =>
  db.query("select app_private.check_rate_limit($1, $2, $3, $4::interval)", [bucket, key, max, per]);

describe("the SQL rate limiter", () => {
  it("allows max hits per window, then raises RLIMT saying when to retry", async () => {
    const key = uniqueName("k");
    for (let i = 0; i < 3; i++) await hit(rootDb(), "test", key);
    let error: { code?: string; message?: string; detail?: string } = {};
    try {
      await hit(rootDb(), "test", key);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe("RLIMT");
    expect(error.message).toMatch(/try again in \d+ seconds/);
    expect(JSON.parse(error.detail!).retryAfterSeconds).toBeGreaterThan(3500);
    // Other keys and buckets are unaffected.
    await hit(rootDb(), "test", `${key}-other`);
    await hit(rootDb(), "other", key);
  });

  it("starts a new window once the old one has passed", async () => {
    const key = uniqueName("k");
    for (let i = 0; i < 3; i++) await hit(rootDb(), "test", key);
    await rootDb().query("update app_private.rate_limits set window_started_at = now() - interval '61 minutes' where bucket = 'test' and key = $1", [key]);
    await hit(rootDb(), "test", key);
    const { rows } = await rootDb().query("select hits from app_private.rate_limits where bucket = 'test' and key = $1", [key]);
    expect(rows[0].hits).toBe(1);
  });

  it("counts exactly under concurrency from separate connections (as separate API instances would)", async () => {
    const key = uniqueName("k");
    const a = new pg.Pool({ connectionString: testDatabase().ownerUrl, max: 5 });
    const b = new pg.Pool({ connectionString: testDatabase().ownerUrl, max: 5 });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => hit(i % 2 ? a : b, "concurrent", key, 7)),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(7);
      expect(results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(
        Array(13).fill("RLIMT"),
      );
    } finally {
      await a.end();
      await b.end();
    }
  });

  it("is not callable by the API roles directly", async () => {
    const code = await sqlErrorCode(
      (async () => {
        const client = await rootDb().connect();
        try {
          await client.query("begin; set local role authenticated");
          await client.query("select app_private.check_rate_limit('x', 'y', 1, '1 hour')");
        } finally {
          await client.query("rollback");
          client.release();
        }
      })(),
    );
    expect(code).toBe("42501");
  });

  it("shares one counter table and one window rule with the edge's classes, and prunes counters whose window has passed", async () => {
    const db = rootDb();
    const key = uniqueName("prune");
    // The edge's limiter counts through the same rule, in the same table.
    await db.query("select * from app_hidden.take_rate_limit('api_read:ip', $1)", [key]);
    await hit(db, "test:prune", key);
    const rows = async () =>
      (await db.query<{ bucket: string }>("select bucket from app_private.rate_limits where key = $1 order by bucket", [key])).rows.map((r) => r.bucket);
    expect(await rows()).toEqual(["api_read:ip", "test:prune"]);
    const persistence = await db.query("select relpersistence from pg_class where oid = 'app_private.rate_limits'::regclass");
    expect(persistence.rows[0].relpersistence).toBe("u");
    // Fresh counters survive a prune; the edge's (1-minute window) goes once its window has passed, an unknown bucket's after a day.
    await db.query("select graphile_worker.add_job('prune_rate_limits')");
    await runQueuedJobs();
    expect(await rows()).toEqual(["api_read:ip", "test:prune"]);
    await db.query("update app_private.rate_limits set window_started_at = now() - interval '2 minutes' where key = $1", [key]);
    await db.query("select graphile_worker.add_job('prune_rate_limits')");
    await runQueuedJobs();
    expect(await rows()).toEqual(["test:prune"]);
    await db.query("update app_private.rate_limits set window_started_at = now() - interval '25 hours' where key = $1", [key]);
    expect((await db.query("select app_private.prune_rate_limits() as n")).rows[0].n).toBeGreaterThanOrEqual(1);
    expect(await rows()).toEqual([]);
  });
});

describe("limits on identity operations", () => {
  it("limits registrations per IP address, with retryAfterSeconds in the error", async () => {
    const ip = "203.0.113.10";
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 11; i++) {
      const name = uniqueName("rl");
      codes.push(errorCode(await server.graphql(REGISTER, { input: { username: name, email: `${name}@example.com`, password: "Tr0ub4dor&3" } }, { ip })));
    }
    expect(codes.slice(0, 10)).toEqual(Array(10).fill(undefined));
    expect(codes[10]).toBe("RLIMT");
    const last = await server.graphql(REGISTER, { input: { username: uniqueName("rl"), email: "x@example.com", password: "Tr0ub4dor&3" } }, { ip });
    expect(last.errors?.[0].extensions?.retryAfterSeconds).toBeGreaterThan(0);
    // A different address may still register.
    const name = uniqueName("rl");
    expect(errorCode(await server.graphql(REGISTER, { input: { username: name, email: `${name}@example.com`, password: "Tr0ub4dor&3" } }, { ip: "203.0.113.11" }))).toBeUndefined();
  });

  it("limits login attempts per account name, whatever the address", async () => {
    const user = await createTestUser();
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 11; i++) {
      await rootDb().query("delete from app_private.login_failures where account_key = $1", [user.id]); // keep lockout out of the way
      codes.push(errorCode(await server.graphql(LOGIN, { input: { identifier: user.username, password: "wrong-password-1" } })));
    }
    expect(codes.slice(0, 10)).toEqual(Array(10).fill("CREDS"));
    expect(codes[10]).toBe("RLIMT");
  });

  it("limits login attempts per IP address", async () => {
    const ip = "203.0.113.20";
    const codes = new Set<string | undefined>();
    for (let i = 0; i < 31; i++) {
      codes.add(errorCode(await server.graphql(LOGIN, { input: { identifier: uniqueName("nobody"), password: "x" } }, { ip })));
    }
    expect([...codes]).toEqual(["CREDS", "RLIMT"]);
  });

  it("keeps answering forgot-password the same way past its limit (and sends nothing more)", async () => {
    const user = await createTestUser();
    const results: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await server.graphql<{ forgotPassword: { result: boolean } }>(
        `mutation($e: String!) { forgotPassword(input: { email: $e }) { result } }`, { e: user.email });
      results.push(res.data);
    }
    expect(results).toEqual(Array(5).fill({ forgotPassword: { result: true } }));
    const { rows } = await rootDb().query("select count(*)::int as n from app_private.password_reset_tokens where user_id = $1", [user.id]);
    expect(rows[0].n).toBe(3);
  });

  it("limits re-sending the verification mail per user", async () => {
    const user = await createTestUser({ verified: false });
    const token = server.agora.tokens.sign({ sub: user.id, sid: user.sessionId });
    const { rows } = await rootDb().query("select id from app_public.user_emails where user_id = $1", [user.id]);
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 4; i++) {
      codes.push(errorCode(await server.graphql(`mutation($id: UUID!) { resendEmailVerification(input: { emailId: $id }) { result } }`, { id: rows[0].id }, { token })));
    }
    expect(codes).toEqual([undefined, undefined, undefined, "RLIMT"]);
  });
});

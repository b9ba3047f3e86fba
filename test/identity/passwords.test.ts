/** Changing, forgetting and resetting passwords, over HTTP with a real SMTP server. */
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { mailTo, tokenFromMail, waitForMail } from "../helpers/mail";
import { runQueuedJobs } from "../helpers/jobs";
import { currentUserId, errorCode, login, LOGIN } from "../helpers/auth";
import { createTestUser } from "../helpers/users";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const sendMail = () => runQueuedJobs();
const CHANGE = `mutation($old: String!, $new: String!) { changePassword(input: { oldPassword: $old, newPassword: $new }) { result } }`;
const FORGOT = `mutation($email: String!) { forgotPassword(input: { email: $email }) { result } }`;
const RESET = `mutation($token: String!, $password: String!) { resetPassword(input: { token: $token, newPassword: $password }) { result } }`;

describe("changing a password", () => {
  it("needs the current password, refuses weak ones, and ends my other sessions only", async () => {
    const user = await createTestUser();
    const here = await login(server, user.username, user.password);
    const elsewhere = await login(server, user.username, user.password);

    const wrong = await server.graphql(
      CHANGE,
      { old: "not-it-123", new: "Another-Pass-1" },
      { token: here.accessToken },
    );
    expect(errorCode(wrong)).toBe("CREDS");
    const weak = await server.graphql(
      CHANGE,
      { old: user.password, new: "aaaaaaaaaa" },
      { token: here.accessToken },
    );
    expect(errorCode(weak)).toBe("WEAKP");
    expect(await currentUserId(server, elsewhere.accessToken)).toBe(user.id); // nothing changed yet

    const ok = await server.graphql(
      CHANGE,
      { old: user.password, new: "Another-Pass-1" },
      { token: here.accessToken },
    );
    expect(ok.errors).toBeUndefined();
    expect(await currentUserId(server, here.accessToken)).toBe(user.id);
    expect(await currentUserId(server, elsewhere.accessToken)).toBeNull();
    expect(
      errorCode(
        await server.graphql(LOGIN, {
          input: { identifier: user.username, password: user.password },
        }),
      ),
    ).toBe("CREDS");
    await login(server, user.username, "Another-Pass-1");
  });

  it("refuses a missing current password — absent, null, empty or wrong — changing nothing (GraphQL and SQL)", async () => {
    const user = await createTestUser();
    const here = await login(server, user.username, user.password);
    const elsewhere = await login(server, user.username, user.password);
    const attempts = [
      // Absent and null: the schema requires it (String!), so the request is refused before any SQL runs.
      server.graphql(
        `mutation { changePassword(input: { newPassword: "ALLUPPERCASE1" }) { result } }`,
        {},
        { token: here.accessToken },
      ),
      server.graphql(
        `mutation { changePassword(input: { oldPassword: null, newPassword: "ALLUPPERCASE1" }) { result } }`,
        {},
        { token: here.accessToken },
      ),
      server.graphql(
        `mutation($old: String, $new: String!) { changePassword(input: { oldPassword: $old, newPassword: $new }) { result } }`,
        { old: null, new: "ALLUPPERCASE1" },
        { token: here.accessToken },
      ),
      server.graphql(
        CHANGE,
        { old: "", new: "ALLUPPERCASE1" },
        { token: here.accessToken },
      ),
      server.graphql(
        CHANGE,
        { old: "Wrong-Password-1", new: "ALLUPPERCASE1" },
        { token: here.accessToken },
      ),
    ];
    const answers = await Promise.all(attempts);
    for (const res of answers) {
      expect(res.errors).toBeDefined();
      expect(res.data?.changePassword ?? null).toBeNull();
    }
    expect(errorCode(answers[3])).toBe("CREDS");
    expect(errorCode(answers[4])).toBe("CREDS");
    // SQL, as the API role would call it: NULL is a wrong password, not a skipped check.
    const db = await rootDb().connect();
    try {
      await db.query("begin");
      await db.query(
        "select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)",
        [user.id, user.sessionId],
      );
      await expect(
        db.query("select app_public.change_password(null, 'ALLUPPERCASE1')"),
      ).rejects.toMatchObject({ code: "CREDS" });
    } finally {
      await db.query("rollback");
      db.release();
    }
    // Nothing changed: the old password still signs in, the new one does not, no session ended.
    expect(await currentUserId(server, elsewhere.accessToken)).toBe(user.id);
    expect(
      errorCode(
        await server.graphql(LOGIN, {
          input: { identifier: user.username, password: "ALLUPPERCASE1" },
        }),
      ),
    ).toBe("CREDS");
    await login(server, user.username, user.password);
  });

  it("is refused to anonymous visitors", async () => {
    const res = await server.graphql(CHANGE, {
      old: "x",
      new: "Another-Pass-1",
    });
    expect(res.errors).toBeDefined();
    expect(errorCode(res)).toBe("FORBD");
  });
});

describe("secrets and tokens compared in SQL refuse NULL", () => {
  // The NULL trap: `crypt(NULL, hash) <> hash` and `token_hash = NULL` are NULL, not true.
  // Every function that checks a secret or token is called with NULL and must refuse.
  it("login, refresh, reset and verification refuse a NULL secret", async () => {
    const user = await createTestUser();
    const db = rootDb();
    const login0 = await db.query(
      "select (app_private.login($1, null, '10.0.0.1', 'test')).status",
      [user.username],
    );
    expect(login0.rows[0].status).toBe("invalid");
    const login1 = await db.query(
      "select (app_private.login(null, $1, '10.0.0.1', 'test')).status",
      [user.password],
    );
    expect(login1.rows[0].status).toBe("invalid");
    const refresh = await db.query(
      "select (app_private.refresh_session(null, '10.0.0.1', 'test')).status",
    );
    expect(refresh.rows[0].status).toBe("invalid");
    await expect(
      db.query("select app_public.reset_password(null, 'Another-Pass-1')"),
    ).rejects.toMatchObject({ code: "TOKEN" });
    await expect(
      db.query("select app_public.verify_email(null)"),
    ).rejects.toMatchObject({ code: "TOKEN" });
    await expect(
      db.query("select app_public.reset_password('', 'Another-Pass-1')"),
    ).rejects.toMatchObject({ code: "TOKEN" });
    await expect(
      db.query("select app_public.verify_email('')"),
    ).rejects.toMatchObject({ code: "TOKEN" });
  });
});

describe("one rule, one place: the numbers come from app_private.settings", () => {
  it("the password rule and its message read password.min_length", async () => {
    const db = await rootDb().connect();
    try {
      await db.query("begin");
      await expect(db.query("select app_private.assert_strong_password('Abcdefgh1')")).resolves.toBeDefined();
      await db.query("update app_private.settings set value = '12' where key = 'password.min_length'");
      await expect(db.query("select app_private.assert_strong_password('Abcdefgh1')")).rejects.toMatchObject({
        code: "WEAKP",
        message: expect.stringContaining("at least 12 characters"),
      });
    } finally {
      await db.query("rollback");
      db.release();
    }
  });
});

describe("forgotten passwords", () => {
  it("answers the same whether or not the address exists, and mails only real accounts", async () => {
    const user = await createTestUser();
    const known = await server.graphql<{ forgotPassword: { result: boolean } }>(
      FORGOT,
      { email: user.email },
    );
    const unknown = await server.graphql<{
      forgotPassword: { result: boolean };
    }>(FORGOT, { email: "nobody-here@example.com" });
    expect(known).toMatchObject({
      status: 200,
      data: { forgotPassword: { result: true } },
    });
    expect(unknown).toMatchObject({
      status: 200,
      data: { forgotPassword: { result: true } },
    });
    expect(known.errors).toBeUndefined();
    expect(unknown.errors).toBeUndefined();
    await sendMail();
    await waitForMail(user.email, /Reset your password/);
    expect(await mailTo("nobody-here@example.com")).toEqual([]);
  });

  it("resets with the mailed token once, ends every session, and clears a lockout", async () => {
    const user = await createTestUser();
    const session = await login(server, user.username, user.password);
    await rootDb().query(
      "insert into app_private.login_failures (account_key, failures, first_failure_at, locked_until) values ($1, 5, now(), now() + interval '15 minutes')",
      [user.id],
    );
    await server.graphql(FORGOT, { email: user.email });
    await sendMail();
    const mail = await waitForMail(user.email, /Reset your password/);
    expect(mail.html).toContain("/reset-password?token=");
    // How long the link works is read from password.reset_ttl, not written into the template.
    const ttl = (await rootDb().query("select value #>> '{}' as v from app_private.settings where key = 'password.reset_ttl'")).rows[0].v;
    expect(mail.text).toContain(`The link works once, for ${ttl}.`);
    const token = tokenFromMail(mail);

    expect(
      errorCode(await server.graphql(RESET, { token, password: "short" })),
    ).toBe("WEAKP");
    const done = await server.graphql<{ resetPassword: { result: boolean } }>(
      RESET,
      { token, password: "Brand-New-Pass-7" },
    );
    expect(done.data?.resetPassword.result).toBe(true);
    expect(await currentUserId(server, session.accessToken)).toBeNull();
    await login(server, user.username, "Brand-New-Pass-7");
    expect(
      errorCode(
        await server.graphql(RESET, { token, password: "Brand-New-Pass-8" }),
      ),
    ).toBe("TOKEN");
  });

  it("refuses an expired or made-up reset token, changing nothing", async () => {
    const user = await createTestUser();
    await server.graphql(FORGOT, { email: user.email });
    await sendMail();
    const token = tokenFromMail(
      await waitForMail(user.email, /Reset your password/),
    );
    await rootDb().query(
      "update app_private.password_reset_tokens set expires_at = now() - interval '1 second' where user_id = $1",
      [user.id],
    );
    expect(
      errorCode(
        await server.graphql(RESET, { token, password: "Brand-New-Pass-7" }),
      ),
    ).toBe("EXPRD");
    expect(
      errorCode(
        await server.graphql(RESET, {
          token: "made-up",
          password: "Brand-New-Pass-7",
        }),
      ),
    ).toBe("TOKEN");
    await login(server, user.username, user.password); // the old password still works
  });
});

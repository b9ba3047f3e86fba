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

    const wrong = await server.graphql(CHANGE, { old: "not-it-123", new: "Another-Pass-1" }, { token: here.accessToken });
    expect(errorCode(wrong)).toBe("CREDS");
    const weak = await server.graphql(CHANGE, { old: user.password, new: "aaaaaaaaaa" }, { token: here.accessToken });
    expect(errorCode(weak)).toBe("WEAKP");
    expect(await currentUserId(server, elsewhere.accessToken)).toBe(user.id); // nothing changed yet

    const ok = await server.graphql(CHANGE, { old: user.password, new: "Another-Pass-1" }, { token: here.accessToken });
    expect(ok.errors).toBeUndefined();
    expect(await currentUserId(server, here.accessToken)).toBe(user.id);
    expect(await currentUserId(server, elsewhere.accessToken)).toBeNull();
    expect(errorCode(await server.graphql(LOGIN, { input: { identifier: user.username, password: user.password } }))).toBe("CREDS");
    await login(server, user.username, "Another-Pass-1");
  });

  it("is refused to anonymous visitors", async () => {
    const res = await server.graphql(CHANGE, { old: "x", new: "Another-Pass-1" });
    expect(res.errors).toBeDefined();
    expect(errorCode(res)).toBe("FORBD");
  });
});

describe("forgotten passwords", () => {
  it("answers the same whether or not the address exists, and mails only real accounts", async () => {
    const user = await createTestUser();
    const known = await server.graphql<{ forgotPassword: { result: boolean } }>(FORGOT, { email: user.email });
    const unknown = await server.graphql<{ forgotPassword: { result: boolean } }>(FORGOT, { email: "nobody-here@example.com" });
    expect(known).toMatchObject({ status: 200, data: { forgotPassword: { result: true } } });
    expect(unknown).toMatchObject({ status: 200, data: { forgotPassword: { result: true } } });
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
    const token = tokenFromMail(mail);

    expect(errorCode(await server.graphql(RESET, { token, password: "short" }))).toBe("WEAKP");
    const done = await server.graphql<{ resetPassword: { result: boolean } }>(RESET, { token, password: "Brand-New-Pass-7" });
    expect(done.data?.resetPassword.result).toBe(true);
    expect(await currentUserId(server, session.accessToken)).toBeNull();
    await login(server, user.username, "Brand-New-Pass-7");
    expect(errorCode(await server.graphql(RESET, { token, password: "Brand-New-Pass-8" }))).toBe("TOKEN");
  });

  it("refuses an expired or made-up reset token, changing nothing", async () => {
    const user = await createTestUser();
    await server.graphql(FORGOT, { email: user.email });
    await sendMail();
    const token = tokenFromMail(await waitForMail(user.email, /Reset your password/));
    await rootDb().query("update app_private.password_reset_tokens set expires_at = now() - interval '1 second' where user_id = $1", [user.id]);
    expect(errorCode(await server.graphql(RESET, { token, password: "Brand-New-Pass-7" }))).toBe("EXPRD");
    expect(errorCode(await server.graphql(RESET, { token: "made-up", password: "Brand-New-Pass-7" }))).toBe("TOKEN");
    await login(server, user.username, user.password); // the old password still works
  });
});

/**
 * The account life cycle over the real HTTP API with a real SMTP server:
 * register → verification mail → verify → login → refresh → reuse of an
 * old refresh token ends the session → its access token stops working.
 */
import { rootDb, closeSqlHelpers } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { tokenFromMail, waitForMail } from "../helpers/mail";
import { runQueuedJobs } from "../helpers/jobs";
import { currentUserId, errorCode, login, LOGIN, ME, REFRESH, REGISTER, type Tokens } from "../helpers/auth";
import { uniqueName } from "../helpers/users";

let server: TestServer;
const PUBLIC_URL = "https://agora.test"; // set for the whole run by globalSetup

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const sendMail = () => runQueuedJobs();

describe("registration and e-mail verification", () => {
  it("registers, mails a working link, verifies the address, and signs in by username and by e-mail", async () => {
    const username = uniqueName("reg");
    const email = `${username}@Example.com`;
    const res = await server.graphql<{ register: Tokens }>(REGISTER, {
      input: { username, email, password: "Tr0ub4dor&3", displayName: "Reg User" },
    });
    expect(res.errors).toBeUndefined();
    const tokens = res.data!.register;
    expect(tokens.user).toMatchObject({ username, isVerified: false });
    expect(await currentUserId(server, tokens.accessToken)).toBe(tokens.user.rowId);

    await sendMail();
    const mail = await waitForMail(email, /Confirm your e-mail address/);
    expect(mail.text).toContain(`${PUBLIC_URL}/verify-email?token=`);
    expect(mail.html).toContain(`href="${PUBLIC_URL}/verify-email?token=`);
    const token = tokenFromMail(mail);
    // The token is stored only as a hash.
    const stored = await rootDb().query("select count(*)::int as n from app_private.email_verification_tokens where token_hash = sha256(convert_to($1, 'UTF8'))", [token]);
    expect(stored.rows[0].n).toBe(1);
    const plain = await rootDb().query("select count(*)::int as n from app_private.email_verification_tokens where encode(token_hash, 'escape') like '%' || $1 || '%'", [token]);
    expect(plain.rows[0].n).toBe(0);

    const verified = await server.graphql<{ verifyEmail: { result: boolean } }>(
      `mutation($token: String!) { verifyEmail(input: { token: $token }) { result } }`,
      { token },
    );
    expect(verified.data?.verifyEmail.result).toBe(true);
    const me = await server.graphql<{ currentUser: { isVerified: boolean } }>(ME, {}, { token: tokens.accessToken });
    expect(me.data?.currentUser.isVerified).toBe(true);

    // Single use.
    const again = await server.graphql(`mutation($token: String!) { verifyEmail(input: { token: $token }) { result } }`, { token });
    expect(errorCode(again)).toBe("TOKEN");

    expect((await login(server, username.toUpperCase(), "Tr0ub4dor&3")).user.rowId).toBe(tokens.user.rowId);
    expect((await login(server, email.toLowerCase(), "Tr0ub4dor&3")).user.rowId).toBe(tokens.user.rowId);
  });

  it("refuses an expired verification token with EXPRD", async () => {
    const username = uniqueName("exp");
    const res = await server.graphql<{ register: Tokens }>(REGISTER, {
      input: { username, email: `${username}@example.com`, password: "Tr0ub4dor&3" },
    });
    await sendMail();
    const token = tokenFromMail(await waitForMail(`${username}@example.com`, /Confirm/));
    await rootDb().query(
      "update app_private.email_verification_tokens set expires_at = now() - interval '1 second' where token_hash = sha256(convert_to($1, 'UTF8'))",
      [token],
    );
    const expired = await server.graphql(`mutation($token: String!) { verifyEmail(input: { token: $token }) { result } }`, { token });
    expect(errorCode(expired)).toBe("EXPRD");
    const me = await server.graphql<{ currentUser: { isVerified: boolean } }>(ME, {}, { token: res.data!.register.accessToken });
    expect(me.data?.currentUser.isVerified).toBe(false);
  });
});

describe("sessions and refresh tokens", () => {
  let username: string;
  beforeAll(async () => {
    username = uniqueName("ses");
    await server.graphql(REGISTER, { input: { username, email: `${username}@example.com`, password: "Tr0ub4dor&3" } });
  });

  it("rotates the refresh token on every refresh; re-using an old one ends the whole session", async () => {
    const first = await login(server, username, "Tr0ub4dor&3");
    const second = (await server.graphql<{ refreshSession: Tokens }>(REFRESH, { token: first.refreshToken })).data!.refreshSession;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(await currentUserId(server, second.accessToken)).toBe(first.user.rowId);

    const reuse = await server.graphql(REFRESH, { token: first.refreshToken });
    expect(errorCode(reuse)).toBe("TOKEN");
    expect(reuse.errors?.[0].message).toMatch(/already used/);

    // The session is gone: its access token and its newest refresh token stop working at once.
    expect(await currentUserId(server, second.accessToken)).toBeNull();
    expect(errorCode(await server.graphql(REFRESH, { token: second.refreshToken }))).toBe("EXPRD");
    const audit = await rootDb().query(
      "select count(*)::int as n from app_private.security_events where kind = 'refresh_token_reused' and user_id = $1",
      [first.user.rowId],
    );
    expect(audit.rows[0].n).toBe(1);
  });

  it("refuses an unknown refresh token", async () => {
    expect(errorCode(await server.graphql(REFRESH, { token: "made-up" }))).toBe("TOKEN");
  });

  it("lists my sessions, ends one of them, logs out, and logs out everywhere", async () => {
    const a = (await server.graphql<{ login: Tokens }>(LOGIN, { input: { identifier: username, password: "Tr0ub4dor&3" } }, { ip: "192.0.2.7" })).data!.login;
    const b = await login(server, username, "Tr0ub4dor&3");
    const c = await login(server, username, "Tr0ub4dor&3");
    const list = await server.graphql<{ currentUserSessions: { nodes: Array<{ sessionId: string; isCurrent: boolean; ip: string }> } }>(
      `{ currentUserSessions { nodes { sessionId isCurrent ip userAgent lastActiveAt } } }`,
      {},
      { token: a.accessToken },
    );
    const sessions = list.data!.currentUserSessions.nodes;
    expect(sessions.length).toBeGreaterThanOrEqual(3);
    expect(sessions.filter((s) => s.isCurrent)).toHaveLength(1);
    const current = sessions.find((s) => s.isCurrent)!;
    expect(current.ip).toBe("192.0.2.7");

    const bSession = (
      await server.graphql<{ currentUserSessions: { nodes: Array<{ sessionId: string; isCurrent: boolean }> } }>(
        `{ currentUserSessions { nodes { sessionId isCurrent } } }`, {}, { token: b.accessToken })
    ).data!.currentUserSessions.nodes.find((s) => s.isCurrent)!.sessionId;
    const revoked = await server.graphql(`mutation($id: UUID!) { revokeSession(input: { sessionId: $id }) { result } }`, { id: bSession }, { token: a.accessToken });
    expect(revoked.errors).toBeUndefined();
    expect(await currentUserId(server, b.accessToken)).toBeNull();
    expect(await currentUserId(server, a.accessToken)).not.toBeNull();

    // Another user cannot end my session.
    const other = uniqueName("oth");
    const otherTokens = (await server.graphql<{ register: Tokens }>(REGISTER, { input: { username: other, email: `${other}@example.com`, password: "Tr0ub4dor&3" } })).data!.register;
    const foreign = await server.graphql(`mutation($id: UUID!) { revokeSession(input: { sessionId: $id }) { result } }`, { id: current.sessionId }, { token: otherTokens.accessToken });
    expect(errorCode(foreign)).toBe("NOTFD");
    expect(await currentUserId(server, a.accessToken)).not.toBeNull();

    const out = await server.graphql<{ logout: { result: boolean } }>(`mutation { logout(input: {}) { result } }`, {}, { token: a.accessToken });
    expect(out.data?.logout.result).toBe(true);
    expect(await currentUserId(server, a.accessToken)).toBeNull();
    expect(await currentUserId(server, c.accessToken)).not.toBeNull();

    const everywhere = await server.graphql<{ logoutEverywhere: { result: number } }>(`mutation { logoutEverywhere(input: {}) { result } }`, {}, { token: c.accessToken });
    expect(everywhere.data?.logoutEverywhere.result).toBeGreaterThanOrEqual(1);
    expect(await currentUserId(server, c.accessToken)).toBeNull();
    expect(errorCode(await server.graphql(REFRESH, { token: c.refreshToken }))).toBe("EXPRD");
  });
});

describe("e-mail addresses", () => {
  it("adds a second address, verifies it, makes it primary, and removes the old one", async () => {
    const username = uniqueName("mail");
    const t = (await server.graphql<{ register: Tokens }>(REGISTER, { input: { username, email: `${username}@example.com`, password: "Tr0ub4dor&3" } })).data!.register;
    const added = await server.graphql<{ createUserEmail: { userEmail: { id: string; rowId: string; isPrimary: boolean } } }>(
      `mutation($email: String!) { createUserEmail(input: { userEmail: { email: $email } }) { userEmail { id rowId isPrimary isVerified } } }`,
      { email: `${username}.work@example.com` },
      { token: t.accessToken },
    );
    expect(added.errors).toBeUndefined();
    const second = added.data!.createUserEmail.userEmail;
    expect(second.isPrimary).toBe(false);

    const notYet = await server.graphql(`mutation($id: UUID!) { makeEmailPrimary(input: { emailId: $id }) { result { isPrimary } } }`, { id: second.rowId }, { token: t.accessToken });
    expect(errorCode(notYet)).toBe("VERFY");

    await sendMail();
    const token = tokenFromMail(await waitForMail(`${username}.work@example.com`, /Confirm/));
    await server.graphql(`mutation($token: String!) { verifyEmail(input: { token: $token }) { result } }`, { token });
    const primary = await server.graphql<{ makeEmailPrimary: { result: { isPrimary: boolean } } }>(
      `mutation($id: UUID!) { makeEmailPrimary(input: { emailId: $id }) { result { isPrimary } } }`, { id: second.rowId }, { token: t.accessToken });
    expect(primary.data?.makeEmailPrimary.result.isPrimary).toBe(true);

    const emails = await server.graphql<{ allUserEmails: { nodes: Array<{ id: string; email: string; isPrimary: boolean }> } }>(
      `{ allUserEmails { nodes { id email isPrimary } } }`, {}, { token: t.accessToken });
    const old = emails.data!.allUserEmails.nodes.find((e) => !e.isPrimary)!;
    const removed = await server.graphql(`mutation($id: ID!) { deleteUserEmail(input: { id: $id }) { deletedUserEmailId } }`, { id: old.id }, { token: t.accessToken });
    expect(removed.errors).toBeUndefined();
    // The primary address cannot be removed.
    const primaryNode = emails.data!.allUserEmails.nodes.find((e) => e.isPrimary)!;
    const refused = await server.graphql(`mutation($id: ID!) { deleteUserEmail(input: { id: $id }) { deletedUserEmailId } }`, { id: primaryNode.id }, { token: t.accessToken });
    expect(errorCode(refused)).toBe("NOTFD");
  });

  it("refuses an address another user has verified, with NUNIQ", async () => {
    const a = uniqueName("ua");
    await rootDb().query("select app_private.create_user($1, $2, 'Tr0ub4dor&3', null, true)", [a, `${a}@example.com`]);
    const b = uniqueName("ub");
    const res = await server.graphql(REGISTER, { input: { username: b, email: `${a}@example.com`, password: "Tr0ub4dor&3" } });
    expect(errorCode(res)).toBe("NUNIQ");
    const created = await rootDb().query("select count(*)::int as n from app_public.users where username = $1", [b]);
    expect(created.rows[0].n).toBe(0);
  });
});

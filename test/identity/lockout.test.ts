/**
 * Lockout: five failed logins within an hour lock the account for fifteen
 * minutes; an unknown name behaves exactly the same, so the answers never
 * reveal whether an account exists. The counters are written by SQL that
 * does not raise, so they survive the failing request.
 */
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { errorCode, login, LOGIN } from "../helpers/auth";
import { createTestUser, uniqueName } from "../helpers/users";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const attempt = (identifier: string, password: string) => server.graphql(LOGIN, { input: { identifier, password } });

describe("login lockout", () => {
  it("locks after five failures, for real and unknown accounts alike", async () => {
    const user = await createTestUser();
    const ghost = uniqueName("ghost");
    const real: Array<string | undefined> = [];
    const fake: Array<string | undefined> = [];
    for (let i = 0; i < 6; i++) {
      real.push(errorCode(await attempt(user.username, "wrong-password-1")));
      fake.push(errorCode(await attempt(ghost, "wrong-password-1")));
    }
    expect(real).toEqual(["CREDS", "CREDS", "CREDS", "CREDS", "CREDS", "LOCKD"]);
    expect(fake).toEqual(real);

    // Even the right password is refused while locked, with the time to wait.
    const locked = await attempt(user.username, user.password);
    expect(errorCode(locked)).toBe("LOCKD");
    expect(locked.errors?.[0].extensions?.retryAfterSeconds).toBeGreaterThan(14 * 60);

    const counters = await rootDb().query("select failures, locked_until > now() as locked from app_private.login_failures where account_key = $1", [user.id]);
    expect(counters.rows[0]).toEqual({ failures: 5, locked: true });
    const events = await rootDb().query(
      "select kind from app_private.security_events where user_id = $1 and kind in ('login_failed', 'login_locked') order by id",
      [user.id],
    );
    expect(events.rows.map((r) => r.kind)).toEqual(["login_failed", "login_failed", "login_failed", "login_failed", "login_locked"]);
  });

  it("lifts the lock when it lapses, and a success clears the count", async () => {
    const user = await createTestUser();
    for (let i = 0; i < 5; i++) await attempt(user.username, "wrong-password-1");
    expect(errorCode(await attempt(user.username, user.password))).toBe("LOCKD");
    await rootDb().query("update app_private.login_failures set locked_until = now() - interval '1 second' where account_key = $1", [user.id]);
    await login(server, user.username, user.password);
    const left = await rootDb().query("select count(*)::int as n from app_private.login_failures where account_key = $1", [user.id]);
    expect(left.rows[0].n).toBe(0);
  });

  it("forgets failures older than the window", async () => {
    const user = await createTestUser();
    for (let i = 0; i < 4; i++) await attempt(user.username, "wrong-password-1");
    await rootDb().query("update app_private.login_failures set first_failure_at = now() - interval '61 minutes' where account_key = $1", [user.id]);
    expect(errorCode(await attempt(user.username, "wrong-password-1"))).toBe("CREDS");
    expect(errorCode(await attempt(user.username, "wrong-password-1"))).toBe("CREDS");
    const counters = await rootDb().query("select failures from app_private.login_failures where account_key = $1", [user.id]);
    expect(counters.rows[0].failures).toBe(2);
  });

  it("refuses deactivated accounts like unknown ones", async () => {
    const user = await createTestUser();
    await rootDb().query("update app_public.users set is_active = false where id = $1", [user.id]);
    expect(errorCode(await attempt(user.username, user.password))).toBe("CREDS");
  });
});

/**
 * Who sees and changes what in the identity tables: row-level security,
 * column privileges and the private schema, checked as the database roles
 * the API uses (SQL, rolled back) and over the real HTTP API (committed).
 */
import pg from "pg";
import { testDatabase } from "../helpers/testDatabase";
import { asRole, closeSqlHelpers, inSavepoint, rootDb, sqlErrorCode, type DbRole } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { errorCode } from "../helpers/auth";
import { createTestUser, uniqueName, type TestUser, asUser } from "../helpers/users";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});


/** Adds an address for `user` as the superuser (as a test arrangement, committed). */
async function addEmail(user: TestUser): Promise<string> {
  const email = `${uniqueName("extra")}@example.org`;
  await rootDb().query("insert into app_public.user_emails (user_id, email) values ($1, $2)", [user.id, email]);
  return email;
}

async function emailsOf(userId: string): Promise<string[]> {
  const { rows } = await rootDb().query<{ email: string }>(
    "select email::text from app_public.user_emails where user_id = $1 order by email",
    [userId],
  );
  return rows.map((r) => r.email);
}

async function profileOf(userId: string) {
  const { rows } = await rootDb().query(
    `select username::text, display_name, bio, years_of_experience, is_verified, is_active, created_at
       from app_public.users where id = $1`,
    [userId],
  );
  return rows[0] as {
    username: string;
    display_name: string | null;
    bio: string | null;
    years_of_experience: number | null;
    is_verified: boolean;
    is_active: boolean;
    created_at: Date;
  };
}

const ALL_EMAILS = `{ allUserEmails(orderBy: EMAIL_ASC) { nodes { email userId isPrimary } } }`;
const UPDATE_USER = `mutation($rowId: UUID!, $patch: UserPatch!) {
  updateUserByRowId(input: { rowId: $rowId, userPatch: $patch }) { user { rowId displayName bio yearsOfExperience expertiseLevel } }
}`;

describe("e-mail addresses are seen by their owner only", () => {
  let alice: TestUser;
  let bob: TestUser;
  let aliceEmails: string[];

  beforeAll(async () => {
    alice = await createTestUser();
    bob = await createTestUser();
    await addEmail(alice); // two addresses, so "exactly my own" means more than one row
    aliceEmails = await emailsOf(alice.id);
    expect(aliceEmails).toHaveLength(2);
  });

  it("shows the owner exactly their own addresses (SQL)", async () => {
    const rows = await asRole(asUser(alice), async (c) =>
      (await c.query<{ user_id: string; email: string }>("select user_id, email::text from app_public.user_emails order by email")).rows,
    );
    expect(rows.map((r) => r.email)).toEqual(aliceEmails);
    expect(rows.every((r) => r.user_id === alice.id)).toBe(true);
  });

  it("shows another signed-in user none of them (SQL)", async () => {
    await asRole(asUser(bob), async (c) => {
      const theirs = await c.query("select * from app_public.user_emails where user_id = $1", [alice.id]);
      expect(theirs.rowCount).toBe(0);
      const byAddress = await c.query("select * from app_public.user_emails where email = $1", [alice.email]);
      expect(byAddress.rowCount).toBe(0);
      const notMine = await c.query("select count(*)::int as n from app_public.user_emails where user_id <> $1", [bob.id]);
      expect(notMine.rows[0].n).toBe(0);
      // …while the profile itself is public, so the user is there to be joined.
      const joined = await c.query(
        "select e.email from app_public.users u left join app_public.user_emails e on e.user_id = u.id where u.id = $1",
        [alice.id],
      );
      expect(joined.rows).toEqual([{ email: null }]);
    });
  });

  it("shows anonymous visitors no address, and refuses the analyst any read of user_emails (SQL, 42501)", async () => {
    // Anonymous: the table answers (so a profile query selecting it works), with no rows.
    const anonymous = await asRole({ role: "anonymous" }, (c) => c.query("select count(*)::int as n from app_public.user_emails"));
    expect(anonymous.rows[0].n).toBe(0);
    const code0 = await sqlErrorCode(asRole({ role: "analyst" }, (c) => c.query("select * from app_public.user_emails")));
    expect(code0).toBe("42501");
    // Not even through the profile's primary key, by claiming to be the owner without a session.
    const code = await sqlErrorCode(
      asRole({ role: "analyst", userId: alice.id, sessionId: alice.sessionId }, (c) => c.query("select * from app_public.user_emails")),
    );
    expect(code).toBe("42501");
  });

  it("gives the same answers over HTTP", async () => {
    const own = await server.graphql<{ allUserEmails: { nodes: Array<{ email: string; userId: string }> } }>(
      ALL_EMAILS, {}, { token: server.tokenFor(alice) });
    expect(own.errors).toBeUndefined();
    expect(own.data!.allUserEmails.nodes.map((n) => n.email).sort()).toEqual([...aliceEmails].sort());
    expect(own.data!.allUserEmails.nodes.every((n) => n.userId === alice.id)).toBe(true);

    const other = await server.graphql<{
      allUserEmails: { nodes: unknown[] };
      userByRowId: { rowId: string; userEmailsByUserId: { totalCount: number; nodes: unknown[] } } | null;
    }>(
      `query($id: UUID!) {
         allUserEmails(condition: { userId: $id }) { nodes { email } }
         userByRowId(rowId: $id) { rowId userEmailsByUserId { totalCount nodes { email } } }
       }`,
      { id: alice.id },
      { token: server.tokenFor(bob) },
    );
    expect(other.errors).toBeUndefined();
    expect(other.data!.allUserEmails.nodes).toEqual([]);
    expect(other.data!.userByRowId).toEqual({ rowId: alice.id, userEmailsByUserId: { totalCount: 0, nodes: [] } });

    const anonymous = await server.graphql<{
      allUserEmails: { nodes: unknown[] };
      userByRowId: { userEmailsByUserId: { totalCount: number; nodes: unknown[] } } | null;
    }>(
      `query($id: UUID!) {
         allUserEmails { nodes { email } }
         userByRowId(rowId: $id) { userEmailsByUserId { totalCount nodes { email } } }
       }`,
      { id: alice.id },
    );
    expect(anonymous.errors).toBeUndefined();
    expect(anonymous.data!.allUserEmails.nodes).toEqual([]);
    expect(anonymous.data!.userByRowId).toEqual({ userEmailsByUserId: { totalCount: 0, nodes: [] } });
    expect(JSON.stringify(anonymous)).not.toContain(alice.email);
  });
});

describe("app_private is out of reach of every API role", () => {
  const PRIVATE_TABLES = [
    "user_secrets",
    "sessions",
    "refresh_tokens",
    "email_verification_tokens",
    "password_reset_tokens",
    "security_events",
    "login_failures",
    "rate_limits",
    "settings",
  ];
  const API_ROLES: DbRole[] = ["anonymous", "authenticated", "analyst", "agora_authenticator"];
  let user: TestUser;

  beforeAll(async () => {
    user = await createTestUser();
  });

  it("the tables exist and hold rows (so a refusal below is a refusal, not a typo)", async () => {
    for (const table of PRIVATE_TABLES) {
      const { rows } = await rootDb().query<{ t: string | null }>("select to_regclass($1)::text as t", [`app_private.${table}`]);
      expect(rows[0].t).toBe(`app_private.${table}`);
    }
    const secrets = await rootDb().query("select 1 from app_private.user_secrets where user_id = $1", [user.id]);
    expect(secrets.rowCount).toBe(1);
  });

  it.each(PRIVATE_TABLES)("refuses a select from app_private.%s with 42501", async (table) => {
    for (const role of API_ROLES) {
      const claims = role === "authenticated" ? { userId: user.id, sessionId: user.sessionId } : {};
      const code = await sqlErrorCode(asRole({ role, ...claims }, (c) => c.query(`select * from app_private.${table} limit 1`)));
      expect({ role, table, code }).toEqual({ role, table, code: "42501" });
    }
  });

  it("refuses writes to app_private too", async () => {
    const attempts = [
      "update app_private.sessions set revoked_at = null",
      "delete from app_private.login_failures",
      "update app_private.settings set value = '1000' where key = 'login.max_failures'",
      "insert into app_private.user_secrets (user_id, password_hash) values (gen_random_uuid(), 'x')",
    ];
    for (const sql of attempts) {
      const code = await sqlErrorCode(asRole(asUser(user), (c) => c.query(sql)));
      expect({ sql, code }).toEqual({ sql, code: "42501" });
    }
  });
});

describe("profiles: everyone reads, only the owner edits, and only the editable fields", () => {
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    alice = await createTestUser();
    bob = await createTestUser();
    await rootDb().query("update app_public.users set display_name = 'Alice Original', bio = 'original bio' where id = $1", [alice.id]);
  });

  it("does not let a user update someone else's profile (SQL: 0 rows, row unchanged)", async () => {
    await asRole(asUser(bob), async (c) => {
      const res = await c.query("update app_public.users set display_name = 'Hacked', bio = 'pwned' where id = $1", [alice.id]);
      expect(res.rowCount).toBe(0);
      const all = await c.query("update app_public.users set bio = 'everyone' where true");
      expect(all.rowCount).toBe(1); // only bob's own row
      const seen = await c.query("select display_name, bio from app_public.users where id = $1", [alice.id]);
      expect(seen.rows).toEqual([{ display_name: "Alice Original", bio: "original bio" }]);
    });
  });

  it("lets a user update their own editable fields (SQL)", async () => {
    await asRole(asUser(alice), async (c) => {
      const res = await c.query(
        `update app_public.users
            set display_name = 'Alice A.', bio = 'Distributed systems', avatar_url = 'https://img.example/a.png',
                affiliation = 'ACME', job_title = 'Engineer', years_of_experience = 12, expertise_level = 'advanced',
                core_competencies = '{postgres,typescript}', website_url = 'https://alice.example',
                linkedin_url = 'https://linkedin.example/alice', x_url = 'https://x.example/alice'
          where id = $1
          returning display_name, years_of_experience, expertise_level::text, core_competencies`,
        [alice.id],
      );
      expect(res.rows).toEqual([
        { display_name: "Alice A.", years_of_experience: 12, expertise_level: "advanced", core_competencies: ["postgres", "typescript"] },
      ]);
    });
  });

  it.each([
    ["is_verified", "true"],
    ["is_active", "false"],
    ["username", "'renamed_user'"],
    ["created_at", "now() - interval '10 years'"],
    ["updated_at", "now()"],
    ["id", "gen_random_uuid()"],
  ])("refuses a user's update of their own %s with 42501 (SQL)", async (column, value) => {
    const code = await sqlErrorCode(
      asRole(asUser(alice), (c) => c.query(`update app_public.users set ${column} = ${value} where id = $1`, [alice.id])),
    );
    expect(code).toBe("42501");
  });

  it("rejects a constraint violation on one's own profile cleanly (SQL: 23514)", async () => {
    await asRole(asUser(alice), async (c) => {
      for (const patch of ["years_of_experience = 101", "years_of_experience = -1", "website_url = 'javascript:alert(1)'", "display_name = ''"]) {
        const code = await sqlErrorCode(inSavepoint(c, () => c.query(`update app_public.users set ${patch} where id = $1`, [alice.id])));
        expect({ patch, code }).toEqual({ patch, code: "23514" });
      }
    });
  });

  it("over HTTP: another user's profile cannot be changed, by another user or by anonymous", async () => {
    const before = await profileOf(alice.id);

    const foreign = await server.graphql<{ updateUserByRowId: { user: unknown } | null }>(
      UPDATE_USER, { rowId: alice.id, patch: { displayName: "Hacked", bio: "pwned" } }, { token: server.tokenFor(bob) });
    expect(foreign.data?.updateUserByRowId?.user ?? null).toBeNull(); // nothing of alice's comes back
    expect(await profileOf(alice.id)).toEqual(before);

    const anonymous = await server.graphql(UPDATE_USER, { rowId: alice.id, patch: { displayName: "Hacked" } });
    expect(errorCode(anonymous)).toBe("FORBD");
    expect(await profileOf(alice.id)).toEqual(before);
  });

  // PRODUCT BUG (reported): @dataplan/pg 1.1.x returns a null payload when an UPDATE
  // matches no row (it only throws "No values were deleted…" for deletes), so
  // plugins/errors.ts never turns a hidden/missing row into NOTFD for updates.
  it("over HTTP: updating another user's profile answers NOTFD", async () => {
    const foreign = await server.graphql(UPDATE_USER, { rowId: alice.id, patch: { displayName: "Hacked" } }, { token: server.tokenFor(bob) });
    expect(errorCode(foreign)).toBe("NOTFD");
  });

  it("over HTTP: my own profile updates; my own bad value is INVAL and changes nothing", async () => {
    const own = await server.graphql<{ updateUserByRowId: { user: Record<string, unknown> } }>(
      UPDATE_USER,
      { rowId: alice.id, patch: { displayName: "Alice HTTP", bio: "Updated over HTTP", yearsOfExperience: 7, expertiseLevel: "expert" } },
      { token: server.tokenFor(alice) },
    );
    expect(own.errors).toBeUndefined();
    expect(own.data!.updateUserByRowId.user).toEqual({
      rowId: alice.id, displayName: "Alice HTTP", bio: "Updated over HTTP", yearsOfExperience: 7, expertiseLevel: "expert",
    });
    const after = await profileOf(alice.id);
    expect(after).toMatchObject({ display_name: "Alice HTTP", bio: "Updated over HTTP", years_of_experience: 7 });

    const invalid = await server.graphql(
      UPDATE_USER,
      { rowId: alice.id, patch: { displayName: "Should Not Stick", yearsOfExperience: 101 } },
      { token: server.tokenFor(alice) },
    );
    expect(errorCode(invalid)).toBe("INVAL");
    expect(invalid.errors![0].message).not.toMatch(/select|update|app_public/i); // no SQL leaks out
    expect(await profileOf(alice.id)).toEqual(after);
  });

  it.each(["isVerified", "isActive", "username", "createdAt"])(
    "over HTTP: UserPatch has no %s, so GraphQL refuses the mutation and nothing changes",
    async (field) => {
      const before = await profileOf(alice.id);
      const value = field === "createdAt" ? "2000-01-01T00:00:00Z" : field === "username" ? uniqueName("ren") : field === "isActive" ? false : true;
      const res = await server.graphql(UPDATE_USER, { rowId: alice.id, patch: { displayName: "Sneaky", [field]: value } }, { token: server.tokenFor(alice) });
      expect(res.errors).toBeDefined();
      expect(res.errors![0].message).toContain(field);
      expect(res.data ?? null).toBeNull();
      expect(await profileOf(alice.id)).toEqual(before);
    },
  );
});

describe("writes to users and user_emails", () => {
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    alice = await createTestUser();
    bob = await createTestUser();
  });

  it("refuses anonymous any insert, update or delete on users and user_emails (42501)", async () => {
    const attempts = [
      `insert into app_public.users (username) values ('${uniqueName("anon")}')`,
      `update app_public.users set display_name = 'x' where id = '${alice.id}'`,
      `delete from app_public.users where id = '${alice.id}'`,
      `insert into app_public.user_emails (user_id, email) values ('${alice.id}', 'anon@example.com')`,
      `insert into app_public.user_emails (email) values ('anon@example.com')`,
      `update app_public.user_emails set is_verified = true`,
      `delete from app_public.user_emails`,
    ];
    for (const sql of attempts) {
      const code = await sqlErrorCode(asRole({ role: "anonymous" }, (c) => c.query(sql)));
      expect({ sql, code }).toEqual({ sql, code: "42501" });
    }
    expect(await emailsOf(alice.id)).toEqual([alice.email]);
  });

  it("refuses a signed-in user an insert into users, or a delete of users (42501)", async () => {
    const insert = await sqlErrorCode(
      asRole(asUser(alice), (c) => c.query("insert into app_public.users (username) values ($1)", [uniqueName("ins")])),
    );
    expect(insert).toBe("42501");
    const del = await sqlErrorCode(asRole(asUser(alice), (c) => c.query("delete from app_public.users where id = $1", [alice.id])));
    expect(del).toBe("42501");
  });

  it("lets a user add an address for themselves only, with is_verified and is_primary chosen by the database", async () => {
    await asRole(asUser(alice), async (c) => {
      // The allowed path, as a control: only the email column, user_id defaults to me.
      const email = `${uniqueName("mine")}@example.org`;
      const ok = await inSavepoint(c, () =>
        c.query<{ user_id: string; is_verified: boolean; is_primary: boolean }>(
          "insert into app_public.user_emails (email) values ($1) returning user_id, is_verified, is_primary", [email]),
      );
      expect(ok.rows).toEqual([{ user_id: alice.id, is_verified: false, is_primary: false }]);

      const forOther = await sqlErrorCode(inSavepoint(c, () =>
        c.query("insert into app_public.user_emails (user_id, email) values ($1, $2)", [bob.id, `${uniqueName("oth")}@example.org`])));
      expect(forOther).toBe("42501");
      const verified = await sqlErrorCode(inSavepoint(c, () =>
        c.query("insert into app_public.user_emails (email, is_verified) values ($1, true)", [`${uniqueName("ver")}@example.org`])));
      expect(verified).toBe("42501");
      const primary = await sqlErrorCode(inSavepoint(c, () =>
        c.query("insert into app_public.user_emails (email, is_primary) values ($1, true)", [`${uniqueName("pri")}@example.org`])));
      expect(primary).toBe("42501");
    });
    expect(await emailsOf(bob.id)).toEqual([bob.email]);
  });

  it("refuses the row-level check when the session has ended, even with only the email column (42501)", async () => {
    // With no live session, user_id defaults to null and the insert policy refuses the row.
    let message = "";
    const code = await sqlErrorCode(
      asRole({ role: "authenticated", userId: alice.id, sessionId: null }, (c) =>
        c.query("insert into app_public.user_emails (email) values ($1)", [`${uniqueName("nosess")}@example.org`])).catch((error: Error) => {
        message = error.message;
        throw error;
      }),
    );
    expect(code).toBe("42501");
    expect(message).toMatch(/row-level security/);
  });

  it("refuses a signed-in user any update of user_emails, their own included (42501)", async () => {
    for (const set of ["is_verified = true", "is_primary = true", `email = '${uniqueName("chg")}@example.org'`, "user_id = user_id"]) {
      const code = await sqlErrorCode(
        asRole(asUser(alice), (c) => c.query(`update app_public.user_emails set ${set} where user_id = $1`, [alice.id])),
      );
      expect({ set, code }).toEqual({ set, code: "42501" });
    }
  });

  it("lets a user delete neither someone else's address nor their own primary one", async () => {
    await asRole(asUser(alice), async (c) => {
      const other = await c.query("delete from app_public.user_emails where user_id = $1", [bob.id]);
      expect(other.rowCount).toBe(0);
      const primary = await c.query("delete from app_public.user_emails where user_id = $1 and is_primary", [alice.id]);
      expect(primary.rowCount).toBe(0);
    });
  });
});

describe("deactivated accounts", () => {
  let carol: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    carol = await createTestUser();
    bob = await createTestUser();
    await rootDb().query("update app_public.users set is_active = false where id = $1", [carol.id]);
  });

  it("are invisible to everyone, and their own sessions stop working (SQL)", async () => {
    const count = (as_: Parameters<typeof asRole>[0]) =>
      asRole(as_, async (c) => (await c.query("select id from app_public.users where id = $1", [carol.id])).rowCount);
    expect(await count(asUser(bob))).toBe(0);
    expect(await count({ role: "anonymous" })).toBe(0);
    expect(await count(asUser(carol))).toBe(0);
    expect(await asRole(asUser(carol), async (c) => (await c.query("select app_public.current_user_id() as id")).rows[0].id)).toBeNull();
    // Claiming carol's id without her live session does not help.
    expect(await count({ role: "authenticated", userId: carol.id, sessionId: bob.sessionId })).toBe(0);
    // Control: an active user is visible to anonymous.
    expect(await asRole({ role: "anonymous" }, async (c) =>
      (await c.query("select id from app_public.users where id = $1", [bob.id])).rowCount)).toBe(1);
  });

  it("are invisible over HTTP too, and their access tokens stop working", async () => {
    const Q = `query($id: UUID!, $username: String!) {
      userByRowId(rowId: $id) { rowId }
      allUsers(condition: { username: $username }) { nodes { rowId } }
    }`;
    const vars = { id: carol.id, username: carol.username };
    type R = { userByRowId: { rowId: string } | null; allUsers: { nodes: Array<{ rowId: string }> } };
    for (const token of [undefined, server.tokenFor(bob)]) {
      const res = await server.graphql<R>(Q, vars, { token });
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ userByRowId: null, allUsers: { nodes: [] } });
    }
    const self = await server.graphql<R & { currentUser: { rowId: string } | null }>(
      `query($id: UUID!, $username: String!) { currentUser { rowId } userByRowId(rowId: $id) { rowId } allUsers(condition: { username: $username }) { nodes { rowId } } }`,
      vars,
      { token: server.tokenFor(carol) },
    );
    expect(self.errors).toBeUndefined();
    expect(self.data).toEqual({ currentUser: null, userByRowId: null, allUsers: { nodes: [] } });
  });
});

describe("the current user", () => {
  it("is the sub claim only when both claims name one live session: absent, null, swapped or another member's are refused", async () => {
    const [fay, gus] = [await createTestUser(), await createTestUser()];
    const current = (as: { userId?: string | null; sessionId?: string | null }) =>
      asRole({ role: "authenticated", ...as }, async (c) =>
        (await c.query("select app_public.current_user_id() as id")).rows[0].id as string | null);
    expect(await current({ userId: fay.id, sessionId: fay.sessionId })).toBe(fay.id);
    expect(await current({ userId: gus.id, sessionId: fay.sessionId })).toBeNull(); // fay's session claimed for gus
    expect(await current({ userId: fay.id, sessionId: gus.sessionId })).toBeNull();
    expect(await current({ userId: fay.id, sessionId: null })).toBeNull(); // an empty session claim
    expect(await current({ userId: null, sessionId: fay.sessionId })).toBeNull(); // an empty user claim
    expect(await current({ userId: fay.id, sessionId: "00000000-0000-0000-0000-000000000000" })).toBeNull();
    // Claims never set at all (current_setting gives NULL, not ''): a fresh connection, where only one is set.
    for (const [claim, value] of [["jwt.claims.sub", fay.id], ["jwt.claims.sid", fay.sessionId]] as const) {
      const fresh = new pg.Client({ connectionString: testDatabase().rootUrl });
      await fresh.connect();
      try {
        await fresh.query("begin");
        await fresh.query("select set_config('role', 'authenticated', true), set_config($1, $2, true)", [claim, value]);
        const { rows } = await fresh.query("select current_setting($1, true) as missing, app_public.current_user_id() as id", [
          claim === "jwt.claims.sub" ? "jwt.claims.sid" : "jwt.claims.sub",
        ]);
        expect(rows[0]).toEqual({ missing: null, id: null });
      } finally {
        await fresh.end();
      }
    }
  });
});

describe("an ended session", () => {
  it("leaves the user anonymous in all but role: no current user, no e-mail addresses, no profile edits", async () => {
    const dave = await createTestUser();
    const token = server.tokenFor(dave);
    // Control: while the session is live.
    await asRole(asUser(dave), async (c) => {
      expect((await c.query("select app_public.current_user_id() as id")).rows[0].id).toBe(dave.id);
      expect((await c.query("select email::text from app_public.user_emails")).rows).toEqual([{ email: dave.email }]);
    });

    await rootDb().query("update app_private.sessions set revoked_at = now() where id = $1", [dave.sessionId]);

    await asRole(asUser(dave), async (c) => {
      expect((await c.query("select app_public.current_user_id() as id")).rows[0].id).toBeNull();
      expect((await c.query("select app_public.current_session_id() as id")).rows[0].id).toBeNull();
      expect((await c.query("select * from app_public.user_emails")).rowCount).toBe(0);
      expect((await c.query("update app_public.users set bio = 'ghost' where id = $1", [dave.id])).rowCount).toBe(0);
    });

    const res = await server.graphql<{ currentUser: unknown; allUserEmails: { nodes: unknown[] } | null }>(
      `{ currentUser { rowId } allUserEmails { nodes { email } } }`, {}, { token });
    expect(res.data?.currentUser ?? null).toBeNull();
    expect(res.data?.allUserEmails?.nodes ?? []).toEqual([]);
    expect(JSON.stringify(res)).not.toContain(dave.email);
  });

  it("does the same once the session has expired", async () => {
    const erin = await createTestUser();
    await rootDb().query("update app_private.sessions set expires_at = now() - interval '1 second' where id = $1", [erin.sessionId]);
    await asRole(asUser(erin), async (c) => {
      expect((await c.query("select app_public.current_user_id() as id")).rows[0].id).toBeNull();
      expect((await c.query("select * from app_public.user_emails")).rowCount).toBe(0);
    });
  });
});

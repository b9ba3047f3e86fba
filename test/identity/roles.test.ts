/**
 * Roles and permissions: the implicit "user" role, grants and revocations
 * through grantRole/revokeRole (admins only), expiring grants, and the
 * audit trail they leave. SQL-level checks roll back; HTTP checks commit.
 */
import { asRole, closeSqlHelpers, rootDb, sqlErrorCode, type As } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { errorCode } from "../helpers/auth";
import { createTestUser, type TestUser, asUser } from "../helpers/users";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});


/** The permissions the given caller holds, per app_public.current_user_has_permission (SQL). */
async function permissionsAt(caller: As): Promise<string[]> {
  return asRole(caller, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      "select id from app_public.permissions where app_public.current_user_has_permission(id) order by id",
    );
    return rows.map((r) => r.id);
  });
}

async function hasPermissionSql(user: TestUser, permission: string): Promise<boolean> {
  return asRole(asUser(user), async (c) => {
    const { rows } = await c.query<{ ok: boolean }>("select app_public.current_user_has_permission($1) as ok", [permission]);
    return rows[0].ok;
  });
}

const PERMS = `{
  jobPost: currentUserHasPermission(permission: "job:post")
  postModerate: currentUserHasPermission(permission: "post:moderate")
  roleGrant: currentUserHasPermission(permission: "role:grant")
  contributionReview: currentUserHasPermission(permission: "contribution:review")
}`;
type Perms = { jobPost: boolean; postModerate: boolean; roleGrant: boolean; contributionReview: boolean };

async function permsOverHttp(token?: string): Promise<Perms> {
  const res = await server.graphql<Perms>(PERMS, {}, { token });
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const GRANT = `mutation($userId: UUID!, $roleId: String!, $expiresAt: Datetime) {
  grantRole(input: { userId: $userId, roleId: $roleId, expiresAt: $expiresAt }) { result { userId roleId grantedBy expiresAt } }
}`;
const REVOKE = `mutation($userId: UUID!, $roleId: String!) { revokeRole(input: { userId: $userId, roleId: $roleId }) { result } }`;
const USER_ROLES = `query($userId: UUID!) { allUserRoles(condition: { userId: $userId }) { nodes { roleId expiresAt } } }`;

async function grantRows(userId: string, roleId: string): Promise<Array<{ granted_by: string | null; expires_at: Date | null }>> {
  const { rows } = await rootDb().query("select granted_by, expires_at from app_public.user_roles where user_id = $1 and role_id = $2", [
    userId,
    roleId,
  ]);
  return rows;
}

async function securityEvents(kind: string, userId: string) {
  const { rows } = await rootDb().query<{ actor_id: string | null; detail: { role?: string } }>(
    "select actor_id, detail from app_private.security_events where kind = $1 and user_id = $2 order by id",
    [kind, userId],
  );
  return rows;
}

describe("permissions of plain users and anonymous", () => {
  it("gives a plain user the implicit user permissions only (SQL)", async () => {
    const plain = await createTestUser();
    expect(await permissionsAt(asUser(plain))).toEqual([]);
    // job:post belongs to the employer role (docs/jobs.md), not to every member.
    expect(await hasPermissionSql(plain, "job:post")).toBe(false);
    expect(await hasPermissionSql(plain, "post:moderate")).toBe(false);
    expect(await hasPermissionSql(plain, "role:grant")).toBe(false);
    expect(await hasPermissionSql(plain, "no:such_permission")).toBe(false);
  });

  it("gives anonymous, the authenticated role without a live session, and a forged session nothing (SQL)", async () => {
    const admin = await createTestUser({ roles: ["admin"] });
    const other = await createTestUser();
    expect(await permissionsAt({ role: "anonymous" })).toEqual([]);
    expect(await permissionsAt({ role: "anonymous", userId: admin.id, sessionId: null })).toEqual([]);
    expect(await permissionsAt({ role: "authenticated", userId: admin.id, sessionId: other.sessionId })).toEqual([]);
    // Control: the admin's real session holds every permission.
    const all = await rootDb().query<{ id: string }>("select id from app_public.permissions order by id");
    expect(await permissionsAt(asUser(admin))).toEqual(all.rows.map((r) => r.id));
  });

  it("answers currentUserHasPermission the same way over HTTP", async () => {
    const plain = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    expect(await permsOverHttp(server.tokenFor(plain))).toEqual({ jobPost: false, postModerate: false, roleGrant: false, contributionReview: false });
    expect(await permsOverHttp()).toEqual({ jobPost: false, postModerate: false, roleGrant: false, contributionReview: false });
    expect(await permsOverHttp(server.tokenFor(moderator))).toEqual({ jobPost: false, postModerate: true, roleGrant: false, contributionReview: true });
  });
});

describe("granting roles", () => {
  it("refuses a plain user and a moderator with FORBD, and creates no grant", async () => {
    const target = await createTestUser();
    const plain = await createTestUser();
    const moderator = await createTestUser({ roles: ["moderator"] });
    for (const caller of [plain, moderator]) {
      for (const roleId of ["moderator", "admin"]) {
        const res = await server.graphql(GRANT, { userId: target.id, roleId }, { token: server.tokenFor(caller) });
        expect(errorCode(res)).toBe("FORBD");
      }
    }
    // Nor may they promote themselves.
    const self = await server.graphql(GRANT, { userId: moderator.id, roleId: "admin" }, { token: server.tokenFor(moderator) });
    expect(errorCode(self)).toBe("FORBD");
    const anonymous = await server.graphql(GRANT, { userId: target.id, roleId: "admin" });
    expect(errorCode(anonymous)).toBe("FORBD"); // anonymous may not even execute grant_role

    const { rows } = await rootDb().query<{ role_id: string }>("select role_id from app_public.user_roles where user_id = any($1)", [
      [target.id, plain.id],
    ]);
    expect(rows).toEqual([]);
    expect(await grantRows(moderator.id, "admin")).toEqual([]);
    expect(await securityEvents("role_granted", target.id)).toEqual([]);
    expect(await permsOverHttp(server.tokenFor(target))).toMatchObject({ postModerate: false, roleGrant: false });
  });

  it("lets an admin grant a role: the grantee gains its permissions, and the grant is audited with the admin as actor", async () => {
    const admin = await createTestUser({ roles: ["admin"] });
    const target = await createTestUser();
    expect(await hasPermissionSql(target, "post:moderate")).toBe(false);

    const res = await server.graphql<{ grantRole: { result: { userId: string; roleId: string; grantedBy: string; expiresAt: string | null } } }>(
      GRANT, { userId: target.id, roleId: "moderator" }, { token: server.tokenFor(admin) });
    expect(res.errors).toBeUndefined();
    expect(res.data!.grantRole.result).toEqual({ userId: target.id, roleId: "moderator", grantedBy: admin.id, expiresAt: null });

    expect(await grantRows(target.id, "moderator")).toEqual([{ granted_by: admin.id, expires_at: null }]);
    expect(await hasPermissionSql(target, "post:moderate")).toBe(true);
    expect(await hasPermissionSql(target, "role:grant")).toBe(false);
    expect(await permsOverHttp(server.tokenFor(target))).toEqual({ jobPost: false, postModerate: true, roleGrant: false, contributionReview: true });

    const events = await securityEvents("role_granted", target.id);
    expect(events).toHaveLength(1);
    expect(events[0].actor_id).toBe(admin.id);
    expect(events[0].detail.role).toBe("moderator");
  });

  it("refuses a grant that expires in the past with INVAL, and an unknown role or user with INVAL", async () => {
    const admin = await createTestUser({ roles: ["admin"] });
    const target = await createTestUser();
    const past = await server.graphql(
      GRANT, { userId: target.id, roleId: "moderator", expiresAt: new Date(Date.now() - 60_000).toISOString() }, { token: server.tokenFor(admin) });
    expect(errorCode(past)).toBe("INVAL");
    expect(await grantRows(target.id, "moderator")).toEqual([]);
    expect(await hasPermissionSql(target, "post:moderate")).toBe(false);

    const unknownRole = await server.graphql(GRANT, { userId: target.id, roleId: "overlord" }, { token: server.tokenFor(admin) });
    expect(errorCode(unknownRole)).toBe("INVAL");
    const unknownUser = await server.graphql(GRANT, { userId: "00000000-0000-4000-8000-000000000000", roleId: "moderator" }, { token: server.tokenFor(admin) });
    expect(errorCode(unknownUser)).toBe("INVAL");
    expect(await securityEvents("role_granted", target.id)).toEqual([]);
  });

  it("lets a grant lapse at its expiry: the permission goes, and the grant disappears from allUserRoles", async () => {
    const admin = await createTestUser({ roles: ["admin"] });
    const target = await createTestUser();
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const res = await server.graphql<{ grantRole: { result: { expiresAt: string } } }>(
      GRANT, { userId: target.id, roleId: "reviewer", expiresAt }, { token: server.tokenFor(admin) });
    expect(res.errors).toBeUndefined();
    expect(new Date(res.data!.grantRole.result.expiresAt).getTime()).toBe(new Date(expiresAt).getTime());

    expect(await hasPermissionSql(target, "contribution:review")).toBe(true);
    expect((await permsOverHttp(server.tokenFor(target))).contributionReview).toBe(true);
    const live = await server.graphql<{ allUserRoles: { nodes: Array<{ roleId: string }> } }>(USER_ROLES, { userId: target.id }, { token: server.tokenFor(target) });
    expect(live.data!.allUserRoles.nodes.map((n) => n.roleId)).toEqual(["reviewer"]);

    await rootDb().query(
      "update app_public.user_roles set expires_at = now() - interval '1 second' where user_id = $1 and role_id = 'reviewer'",
      [target.id],
    );

    expect(await hasPermissionSql(target, "contribution:review")).toBe(false);
    expect(await permissionsAt(asUser(target))).toEqual([]);
    expect(await permsOverHttp(server.tokenFor(target))).toEqual({ jobPost: false, postModerate: false, roleGrant: false, contributionReview: false });
    for (const token of [server.tokenFor(target), server.tokenFor(admin), undefined]) {
      const lapsed = await server.graphql<{ allUserRoles: { nodes: unknown[] } }>(USER_ROLES, { userId: target.id }, { token });
      expect(lapsed.errors).toBeUndefined();
      expect(lapsed.data!.allUserRoles.nodes).toEqual([]);
    }
    // The row is still there (for the record); it just no longer counts.
    expect(await grantRows(target.id, "reviewer")).toHaveLength(1);
  });
});

describe("revoking roles", () => {
  it("lets an admin revoke a role: the permission goes at once, and the revocation is audited", async () => {
    const admin = await createTestUser({ roles: ["admin"] });
    const target = await createTestUser({ roles: ["moderator"] });
    expect(await hasPermissionSql(target, "post:moderate")).toBe(true);

    const res = await server.graphql<{ revokeRole: { result: boolean } }>(REVOKE, { userId: target.id, roleId: "moderator" }, { token: server.tokenFor(admin) });
    expect(res.errors).toBeUndefined();
    expect(res.data!.revokeRole.result).toBe(true);

    expect(await grantRows(target.id, "moderator")).toEqual([]);
    expect(await hasPermissionSql(target, "post:moderate")).toBe(false);
    expect(await permsOverHttp(server.tokenFor(target))).toMatchObject({ jobPost: false, postModerate: false });
    const events = await securityEvents("role_revoked", target.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor_id: admin.id, detail: { role: "moderator" } });
  });

  it("answers NOTFD for a role the user does not hold", async () => {
    const admin = await createTestUser({ roles: ["admin"] });
    const target = await createTestUser({ roles: ["reviewer"] });
    const res = await server.graphql(REVOKE, { userId: target.id, roleId: "moderator" }, { token: server.tokenFor(admin) });
    expect(errorCode(res)).toBe("NOTFD");
    // The implicit "user" role is not a row either.
    expect(errorCode(await server.graphql(REVOKE, { userId: target.id, roleId: "user" }, { token: server.tokenFor(admin) }))).toBe("NOTFD");
    expect(await grantRows(target.id, "reviewer")).toHaveLength(1);
    expect(await securityEvents("role_revoked", target.id)).toEqual([]);
  });

  it("refuses a non-admin with FORBD and leaves the role in place", async () => {
    const moderator = await createTestUser({ roles: ["moderator"] });
    const target = await createTestUser({ roles: ["moderator"] });
    for (const caller of [moderator, target]) {
      const res = await server.graphql(REVOKE, { userId: target.id, roleId: "moderator" }, { token: server.tokenFor(caller) });
      expect(errorCode(res)).toBe("FORBD");
    }
    expect(await grantRows(target.id, "moderator")).toHaveLength(1);
    expect(await hasPermissionSql(target, "post:moderate")).toBe(true);
    expect(await securityEvents("role_revoked", target.id)).toEqual([]);
  });
});

describe("user_roles cannot be written directly", () => {
  it("refuses an insert as authenticated with 42501, even for an admin granting themselves", async () => {
    const plain = await createTestUser();
    const admin = await createTestUser({ roles: ["admin"] });
    for (const caller of [plain, admin]) {
      const code = await sqlErrorCode(
        asRole(asUser(caller), (c) => c.query("insert into app_public.user_roles (user_id, role_id) values ($1, 'admin')", [plain.id])),
      );
      expect(code).toBe("42501");
    }
    const anonymous = await sqlErrorCode(
      asRole({ role: "anonymous" }, (c) => c.query("insert into app_public.user_roles (user_id, role_id) values ($1, 'admin')", [plain.id])),
    );
    expect(anonymous).toBe("42501");
    expect(await grantRows(plain.id, "admin")).toEqual([]);
  });

  it("refuses updates and deletes of user_roles, and writes to roles and role_permissions (42501)", async () => {
    const moderator = await createTestUser({ roles: ["moderator"] });
    const attempts = [
      "update app_public.user_roles set role_id = 'admin' where user_id = $1",
      "update app_public.user_roles set expires_at = null where user_id = $1",
      "delete from app_public.user_roles where user_id = $1",
      "insert into app_public.role_permissions (role_id, permission_id) select 'user', 'role:grant' where $1::uuid is not null",
      "delete from app_public.role_permissions where $1::uuid is not null",
      "insert into app_public.roles (id, description) select 'superuser', 'x' where $1::uuid is not null",
    ];
    for (const sql of attempts) {
      const code = await sqlErrorCode(asRole(asUser(moderator), (c) => c.query(sql, [moderator.id])));
      expect({ sql, code }).toEqual({ sql, code: "42501" });
    }
    expect(await hasPermissionSql(moderator, "post:moderate")).toBe(true);
    expect(await hasPermissionSql(moderator, "role:grant")).toBe(false);
  });
});

/** The operator command that creates the first administrator. */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/paths";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { testDatabase } from "../helpers/testDatabase";
import { uniqueName } from "../helpers/users";

afterAll(closeSqlHelpers);

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [path.join(PROJECT_ROOT, "dist", "src", "cli.js"), ...args], {
    env: { ...process.env, ...testDatabase().env, LOG_LEVEL: "warn", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });

describe("npm run cli -- create-admin", () => {
  it("creates a verified administrator who holds role:grant", async () => {
    const username = uniqueName("admin");
    const result = cli(["create-admin", "--username", username, "--email", `${username}@example.com`], {
      AGORA_ADMIN_PASSWORD: "Adm1n-Password!",
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`created administrator ${username}`);
    const { rows } = await rootDb().query(
      `select u.is_verified, array_agg(ur.role_id) as roles from app_public.users u
         join app_public.user_roles ur on ur.user_id = u.id where u.username = $1 group by u.is_verified`,
      [username],
    );
    expect(rows[0]).toEqual({ is_verified: true, roles: ["admin"] });
  });

  it("refuses a weak password with its code and no stack trace", () => {
    const username = uniqueName("admin");
    const result = cli(["create-admin", "--username", username, "--email", `${username}@example.com`, "--password", "weak"]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^WEAKP: Password is too weak/);
  });

  it("explains its usage when arguments are missing", () => {
    const result = cli(["create-admin", "--username", "x"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("usage: npm run cli -- create-admin");
  });
});

/** Arranging users for tests, through the same SQL functions the API uses. */
import { randomBytes } from "node:crypto";
import { rootDb, type As } from "./sql";

let counter = 0;

export interface TestUser {
  id: string;
  username: string;
  email: string;
  password: string;
  /** A live session, for asRole({ role: "authenticated", userId, sessionId }). */
  sessionId: string;
}

/**
 * A name no other test takes. The counter restarts with every test file (jest
 * loads modules afresh per file) while the process, and so its pid, serves
 * many files against one database: the random part must carry the
 * uniqueness (40 bits; 4 base-36 characters collided in CI).
 */
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}_${randomBytes(5).toString("hex")}`;
}

export async function createTestUser(options: { verified?: boolean; roles?: string[] } = {}): Promise<TestUser> {
  const username = uniqueName();
  const email = `${username}@example.com`;
  const password = "Correct-Horse-9";
  const db = rootDb();
  const { rows } = await db.query<{ id: string }>("select id from app_private.create_user($1, $2, $3, null, $4)", [
    username,
    email,
    password,
    options.verified ?? true,
  ]);
  const id = rows[0].id;
  for (const role of options.roles ?? []) {
    await db.query("insert into app_public.user_roles (user_id, role_id) values ($1, $2)", [id, role]);
  }
  const session = await db.query<{ id: string }>("select app_private.start_session($1, null, 'test') as id", [id]);
  return { id, username, email, password, sessionId: session.rows[0].id };
}

/** How asRole runs as this user in their live session. */
export const asUser = (user: TestUser): As => ({ role: "authenticated", userId: user.id, sessionId: user.sessionId });

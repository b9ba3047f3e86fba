/**
 * Register, login and refresh: the three operations that hand out tokens.
 * The rules (credentials, lockout, rate limits, rotation, reuse detection)
 * are SQL functions in app_private; this module calls them over the owner
 * pool — outside the request's transaction, so the failure counters and
 * revocations they write are committed even when the request then fails —
 * and signs the access token for a successful outcome.
 */
import type pg from "pg";
import { codedError } from "../../plugins/errors";
import type { AuthResult, AuthService, ClientInfo } from "../../plugins/services";
import type { TokenService } from "./jwt";

export type { AuthResult, AuthService, ClientInfo };

interface UserSessionRow {
  status: "ok" | "invalid" | "locked" | "expired" | "reused";
  user_id: string | null;
  session_id: string | null;
  refresh_token: string | null;
  refresh_token_expires_at: Date | null;
  retry_at: Date | null;
}

const FAILURES: Record<Exclude<UserSessionRow["status"], "ok">, (row: UserSessionRow) => Error> = {
  invalid: () => codedError("CREDS", "Incorrect username, e-mail or password"),
  locked: (row) => {
    const retryAfterSeconds = Math.max(1, Math.ceil(((row.retry_at?.getTime() ?? Date.now()) - Date.now()) / 1000));
    return codedError("LOCKD", `Too many failed attempts; try again in ${Math.ceil(retryAfterSeconds / 60)} minutes`, {
      retryAfterSeconds,
    });
  },
  expired: () => codedError("EXPRD", "The session has ended; sign in again"),
  reused: () => codedError("TOKEN", "This refresh token was already used; the session has been ended for safety"),
};

export function makeAuthService(ownerPool: pg.Pool, tokens: TokenService): AuthService {
  async function complete(sqlText: string, params: unknown[], invalid = FAILURES.invalid): Promise<AuthResult> {
    const { rows } = await ownerPool.query<UserSessionRow>(sqlText, params);
    const row = rows[0];
    if (!row || row.status === "invalid") throw invalid(row);
    if (row.status !== "ok") throw FAILURES[row.status](row);
    const accessToken = tokens.sign({ sub: row.user_id!, sid: row.session_id! });
    return {
      userId: row.user_id!,
      accessToken,
      accessTokenExpiresAt: new Date(Date.now() + tokens.ttlSeconds * 1000).toISOString(),
      refreshToken: row.refresh_token!,
      refreshTokenExpiresAt: row.refresh_token_expires_at!.toISOString(),
    };
  }
  return {
    register: (input, client) =>
      complete("select * from app_private.register($1, $2, $3, $4, $5, $6)", [
        input.username,
        input.email,
        input.password,
        input.displayName ?? null,
        client.ip,
        client.userAgent,
      ]),
    login: (input, client) =>
      complete("select * from app_private.login($1, $2, $3, $4)", [input.identifier, input.password, client.ip, client.userAgent]),
    refresh: (input, client) =>
      complete(
        "select * from app_private.refresh_session($1, $2, $3)",
        [input.refreshToken, client.ip, client.userAgent],
        () => codedError("TOKEN", "The refresh token is not valid"),
      ),
  };
}

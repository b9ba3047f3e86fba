/** GraphQL documents and small flows every identity test uses, as a client app would. */
import type { TestServer } from "./server";

export const AUTH_FIELDS = "accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { rowId username isVerified }";

export const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`;
export const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
export const REFRESH = `mutation Refresh($token: String!) { refreshSession(input: { refreshToken: $token }) { ${AUTH_FIELDS} } }`;
export const ME = `{ currentUser { rowId username isVerified } }`;

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  user: { rowId: string; username: string; isVerified: boolean };
}

export async function login(server: TestServer, identifier: string, password: string): Promise<Tokens> {
  const res = await server.graphql<{ login: Tokens }>(LOGIN, { input: { identifier, password } });
  if (!res.data?.login) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
  return res.data.login;
}

export async function currentUserId(server: TestServer, accessToken: string): Promise<string | null> {
  const res = await server.graphql<{ currentUser: { rowId: string } | null }>(ME, {}, { token: accessToken });
  return res.data?.currentUser?.rowId ?? null;
}

export function errorCode(res: { errors?: Array<{ extensions?: { code?: string } }> }): string | undefined {
  return res.errors?.[0]?.extensions?.code;
}

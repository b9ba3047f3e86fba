/** Bearer tokens are checked before GraphQL runs: bad ones get 401 with a code, never 500. */
import { createSecretKey } from "node:crypto";
import jwt from "jsonwebtoken";
import { startTestServer, type TestServer } from "../helpers/server";
import { testDatabase } from "../helpers/testDatabase";

describe("bearer tokens", () => {
  let server: TestServer;
  const secret = () => testDatabase().env.JWT_SECRET;
  const claims = { sid: "00000000-0000-0000-0000-000000000001", role: "authenticated" };
  const options = { subject: "00000000-0000-0000-0000-000000000002", issuer: "agora", audience: "agora-api" };

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const ask = (token: string) => server.graphql("{ __typename }", undefined, { token });

  it("accepts a valid token and runs the request as authenticated", async () => {
    const token = server.agora.tokens.sign({ sub: options.subject, sid: claims.sid }, 60);
    const res = await ask(token);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ __typename: "Query" });
  });

  it.each([
    ["garbage", () => "not-a-jwt", "TOKEN"],
    ["a wrong signature", () => jwt.sign(claims, "another-secret-that-is-long-enough-000", options), "TOKEN"],
    ["alg: none", () => jwt.sign(claims, null as unknown as string, { ...options, algorithm: "none" }), "TOKEN"],
    ["a wrong audience", () => jwt.sign(claims, secret(), { ...options, audience: "someone-else" }), "TOKEN"],
    ["a wrong issuer", () => jwt.sign(claims, secret(), { ...options, issuer: "evil" }), "TOKEN"],
    ["missing claims", () => jwt.sign({ role: "authenticated" }, secret(), options), "TOKEN"],
    ["an elevated role claim", () => jwt.sign({ ...claims, role: "agora_owner" }, secret(), options), "TOKEN"],
    ["an expired token", () => jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, createSecretKey(Buffer.from(secret())), options), "EXPRD"],
  ])("refuses %s with 401", async (_name, make, code) => {
    const res = await ask(make());
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("invalid_token");
    expect(res.errors).toEqual([{ message: expect.any(String), extensions: { code } }]);
  });

  it("refuses a malformed Authorization header", async () => {
    const res = await server.graphql("{ __typename }", undefined, { headers: { authorization: "Basic abc" } });
    expect(res.status).toBe(401);
    expect(res.errors?.[0].extensions?.code).toBe("TOKEN");
  });
});

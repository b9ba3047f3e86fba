/** The RS256 option: tokens carry a kid and verify against the published JWKS document. */
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import jwt from "jsonwebtoken";
import { closeSqlHelpers } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { currentUserId, errorCode, login } from "../helpers/auth";
import { createTestUser } from "../helpers/users";
import { testDatabase } from "../helpers/testDatabase";

let server: TestServer;
let hs: TestServer;
beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(testDatabase().tmpDir, "keys-"));
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  fs.writeFileSync(path.join(dir, "private.pem"), privateKey.export({ type: "pkcs8", format: "pem" }));
  fs.writeFileSync(path.join(dir, "public.pem"), publicKey.export({ type: "spki", format: "pem" }));
  server = await startTestServer({
    JWT_ALGORITHM: "RS256",
    JWT_PRIVATE_KEY_FILE: path.join(dir, "private.pem"),
    JWT_PUBLIC_KEY_FILE: path.join(dir, "public.pem"),
    JWT_KEY_ID: "test-key-1",
  });
  hs = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await hs.stop();
  await closeSqlHelpers();
});

describe("RS256 access tokens", () => {
  it("are signed with the key id and verify against /.well-known/jwks.json", async () => {
    const user = await createTestUser();
    const tokens = await login(server, user.username, user.password);
    const header = jwt.decode(tokens.accessToken, { complete: true })!.header;
    expect(header).toMatchObject({ alg: "RS256", kid: "test-key-1" });

    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "RSA", kid: "test-key-1", alg: "RS256", use: "sig" });
    expect(jwks.keys[0]).not.toHaveProperty("d"); // never the private part
    const key = createPublicKey({ key: jwks.keys[0], format: "jwk" });
    const claims = jwt.verify(tokens.accessToken, key, { algorithms: ["RS256"], audience: "agora-api", issuer: "agora" }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: user.id, role: "authenticated" });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(await currentUserId(server, tokens.accessToken)).toBe(user.id);
  });

  it("refuses an HS256 token signed with the shared secret (no algorithm confusion)", async () => {
    const user = await createTestUser();
    const forged = jwt.sign({ sid: user.sessionId, role: "authenticated" }, testDatabase().env.JWT_SECRET, {
      subject: user.id,
      audience: "agora-api",
      issuer: "agora",
    });
    const res = await server.graphql("{ __typename }", {}, { token: forged });
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe("TOKEN");
  });

  it("publishes no keys for HS256, whose key is secret", async () => {
    expect(await (await fetch(`${hs.url}/.well-known/jwks.json`)).json()).toEqual({ keys: [] });
  });
});

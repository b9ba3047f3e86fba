/** Bad input gets a stable code and a message a client can show, and changes nothing. */
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { errorCode, REGISTER } from "../helpers/auth";
import { createTestUser, uniqueName } from "../helpers/users";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

/** What a registration of `input` could have written (scoped to it: other test files run at the same time). */
const traces = async (input: { username: string; email: string }) =>
  (
    await rootDb().query(
      `select (select count(*) from app_public.users where username = $1::citext)::int as users,
              (select count(*) from app_public.user_emails where email = $2::citext)::int as emails,
              (select count(*) from app_private.sessions s join app_public.users u on u.id = s.user_id where u.username = $1::citext)::int as sessions,
              (select count(*) from graphile_worker._private_jobs where payload::text like '%' || $2 || '%')::int as jobs`,
      [input.username, input.email],
    )
  ).rows[0];

describe("registration refuses bad input", () => {
  let taken: Awaited<ReturnType<typeof createTestUser>>;
  beforeAll(async () => {
    taken = await createTestUser();
  });

  it.each([
    ["a too-short username", { username: "ab" }, "INVAL", /Username/],
    ["a username with spaces", { username: "bad name" }, "INVAL", /Username/],
    ["a username that is too long", { username: "x".repeat(51) }, "INVAL", /Username/],
    ["a malformed e-mail", { email: "not-an-email" }, "INVAL", /e-mail/],
    ["a short password", { password: "Ab1" }, "WEAKP", /too weak/],
    ["a one-class password", { password: "abcdefghijkl" }, "WEAKP", /too weak/],
    ["a taken username (any case)", { username: "TAKEN" }, "NUNIQ", /already taken/],
    ["a taken verified e-mail (any case)", { email: "TAKEN_EMAIL" }, "NUNIQ", /already/],
  ])("%s", async (_name, override: Record<string, string>, code, message) => {
    const fresh = uniqueName("bad");
    const input = { username: fresh, email: `${fresh}@example.com`, password: "Tr0ub4dor&3", ...override };
    if (input.username === "TAKEN") input.username = taken.username.toUpperCase();
    if (input.email === "TAKEN_EMAIL") input.email = taken.email.toUpperCase();
    const before = await traces(input);
    const res = await server.graphql(REGISTER, { input });
    expect(res.status).toBe(200);
    expect(errorCode(res)).toBe(code);
    expect(res.errors?.[0].message).toMatch(message);
    expect(JSON.stringify(res.errors)).not.toMatch(/app_private|select |insert |\bat \w+ \(/i); // no SQL, no stack
    expect(await traces(input)).toEqual(before);
  });

  it("refuses a missing field through GraphQL validation", async () => {
    const res = await server.graphql(REGISTER, { input: { username: uniqueName("bad"), password: "Tr0ub4dor&3" } });
    expect(res.errors?.[0].message).toMatch(/email/);
  });
});

/** GraphQL over WebSocket (graphql-ws), with the token in connectionParams. */
import { startTestServer, type TestServer } from "../helpers/server";
import { wsClient, wsExecute } from "../helpers/ws";
import { createTestUser } from "../helpers/users";
import { LOGIN, type Tokens } from "../helpers/auth";
import { closeSqlHelpers } from "../helpers/sql";

describe("GraphQL over WebSocket", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
    await closeSqlHelpers();
  });

  it("answers an anonymous client", async () => {
    const client = wsClient(server.url);
    try {
      expect(await wsExecute(client, "{ __typename }")).toEqual({ data: { __typename: "Query" } });
    } finally {
      await client.dispose();
    }
  });

  it("answers a client with a valid token", async () => {
    // A live session: a token of an ended session is refused at connection_init (4102, docs/realtime.md).
    const user = await createTestUser();
    const token = server.agora.tokens.sign({ sub: user.id, sid: user.sessionId }, 60);
    const client = wsClient(server.url, token);
    try {
      expect(await wsExecute(client, "{ __typename }")).toEqual({ data: { __typename: "Query" } });
    } finally {
      await client.dispose();
    }
  });

  it("runs operations with the client's address from the upgrade request (TRUST_PROXY): a login over the socket records it on the session", async () => {
    const user = await createTestUser();
    const client = wsClient(server.url, undefined, { ip: "198.51.100.23" });
    try {
      const result = await wsExecute<{ login: Tokens }>(client, LOGIN, { input: { identifier: user.username, password: "Correct-Horse-9" } });
      const list = await server.graphql<{ currentUserSessions: { nodes: Array<{ isCurrent: boolean; ip: string }> } }>(
        `{ currentUserSessions { nodes { isCurrent ip } } }`,
        {},
        { token: result.data!.login.accessToken },
      );
      expect(list.data!.currentUserSessions.nodes.find((s) => s.isCurrent)?.ip).toBe("198.51.100.23");
    } finally {
      await client.dispose();
    }
  });

  it("refuses a client with a bad token, with the TOKEN code", async () => {
    const client = wsClient(server.url, "not-a-token");
    try {
      const outcome = await wsExecute(client, "{ __typename }").then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      expect(outcome).toEqual({
        error: [{ message: "The access token is invalid", extensions: { code: "TOKEN" } }],
      });
    } finally {
      await client.dispose();
    }
  });
});

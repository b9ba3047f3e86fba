/** GraphQL over WebSocket (graphql-ws), with the token in connectionParams. */
import { startTestServer, type TestServer } from "../helpers/server";
import { wsClient, wsExecute } from "../helpers/ws";

describe("GraphQL over WebSocket", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it("answers an anonymous client", async () => {
    const client = wsClient(server.url);
    try {
      expect(await wsExecute(client, "{ __typename }")).toEqual({ data: { __typename: "Query" } });
    } finally {
      await client.dispose();
    }
  });

  it("answers a client with a valid token", async () => {
    const token = server.agora.tokens.sign({ sub: "00000000-0000-0000-0000-000000000002", sid: "00000000-0000-0000-0000-000000000001" }, 60);
    const client = wsClient(server.url, token);
    try {
      expect(await wsExecute(client, "{ __typename }")).toEqual({ data: { __typename: "Query" } });
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

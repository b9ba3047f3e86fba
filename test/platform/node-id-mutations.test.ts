/**
 * Every update and delete by node id answers an error for an id that cannot
 * name one of its rows — never a silent null. The mutations are read from the
 * schema, so a new table is covered the day it is created.
 */
import { introspectTypes, namedType, type SchemaType } from "../helpers/introspection";
import { startTestServer, type GraphQLResponse, type TestServer } from "../helpers/server";
import { closeSqlHelpers } from "../helpers/sql";
import { createTestUser } from "../helpers/users";

const base64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");
const ZERO = "00000000-0000-0000-0000-000000000000";

interface NodeIdMutation {
  field: string;
  /** The node type it changes: updatePost → Post. */
  typeName: string;
  patchField: string | null;
  patchType: string | null;
}

let server: TestServer;
/** A member per mutation: each sends a few dozen writes, well inside the per-member write budget (rate_limit.api_write:member). */
const memberTokens = new Map<string, string>();
let types: Map<string, SchemaType>;
let mutations: NodeIdMutation[];

beforeAll(async () => {
  server = await startTestServer();
  types = await introspectTypes(server);
  mutations = [];
  for (const field of types.get("Mutation")!.fields!) {
    const name = /^(?:update|delete)([A-Z]\w*)$/.exec(field.name);
    const input = field.args.find((arg) => arg.name === "input");
    const inputType = name && input ? types.get(namedType(input.type)) : undefined;
    const id = inputType?.inputFields?.find((f) => f.name === "id");
    if (!id || id.type.kind !== "NON_NULL" || namedType(id.type) !== "ID") continue;
    const patch = inputType!.inputFields!.find((f) => f.name.endsWith("Patch"));
    memberTokens.set(field.name, server.tokenFor(await createTestUser()));
    mutations.push({
      field: field.name,
      typeName: name![1],
      patchField: patch?.name ?? null,
      patchType: patch ? namedType(patch.type) : null,
    });
  }
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

/** The one error of an answer whose data is null: its code. */
function refusal(res: GraphQLResponse, field: string): string | undefined {
  expect([field, res.data?.[field], res.errors?.length]).toEqual([field, null, 1]);
  return res.errors![0].extensions?.code;
}

/** A one-field patch a client could send: the first field of a simple type. */
function patchFor(mutation: NodeIdMutation): Record<string, unknown> | undefined {
  if (!mutation.patchType) return undefined;
  const sample: Record<string, unknown> = { String: "x", Int: 1, Boolean: true, Datetime: "2025-01-01T00:00:00Z", UUID: ZERO };
  for (const field of types.get(mutation.patchType)!.inputFields!) {
    const type = types.get(namedType(field.type))!;
    if (type.kind === "ENUM") return { [field.name]: type.enumValues![0].name };
    if (type.name in sample) return { [field.name]: sample[type.name] };
  }
  throw new Error(`no simple field in ${mutation.patchType}`);
}

function send(mutation: NodeIdMutation, id: string, token?: string) {
  const patch = patchFor(mutation);
  const document = patch
    ? `mutation($id: ID!, $patch: ${mutation.patchType}!) { ${mutation.field}(input: { id: $id, ${mutation.patchField}: $patch }) { __typename } }`
    : `mutation($id: ID!) { ${mutation.field}(input: { id: $id }) { __typename } }`;
  return server.graphql(document, { id, patch }, { token });
}

it("finds every update and delete by node id in the schema", () => {
  expect(mutations.length).toBeGreaterThanOrEqual(14);
  expect(mutations.map((m) => m.field)).toEqual(expect.arrayContaining(["deleteFollow", "updatePost", "updateUser", "deleteUserEmail"]));
  for (const mutation of mutations) {
    expect([mutation.field, types.get(mutation.typeName)?.fields?.some((f) => f.name === "id")]).toEqual([mutation.field, true]);
  }
});

it("answers INVAL for a garbage id, an id of another type and a malformed key — to anyone", async () => {
  for (const mutation of mutations) {
    const other = mutation.typeName === "Post" ? "Question" : "Post";
    const ids: Record<string, string[]> = {
      garbage: ["Ww==", "!!!!", "", base64({ a: 1 }), base64(mutation.typeName), base64([])],
      "another type": [base64([other, ZERO]), base64(["Query"])],
      "malformed key": [
        base64([mutation.typeName]),
        base64([mutation.typeName, { a: 1 }]),
        base64([mutation.typeName, null]),
        base64([mutation.typeName, ZERO, ZERO, ZERO]),
        base64([mutation.typeName, "not-a-uuid"]),
      ],
    };
    for (const [kind, list] of Object.entries(ids)) {
      for (const id of list) {
        for (const token of [undefined, memberTokens.get(mutation.field)]) {
          const context = `${mutation.field}, ${kind} id ${JSON.stringify(id)}, ${token ? "member" : "anonymous"}`;
          expect([context, refusal(await send(mutation, id, token), mutation.field)]).toEqual([context, "INVAL"]);
        }
      }
    }
  }
});

it("answers NOTFD for a well-formed id of a missing row, and accepts exactly one key length", async () => {
  for (const mutation of mutations) {
    const codes: Array<string | undefined> = [];
    for (const length of [1, 2, 3]) {
      const id = base64([mutation.typeName, ...Array<string>(length).fill(ZERO)]);
      codes.push(refusal(await send(mutation, id, memberTokens.get(mutation.field)), mutation.field));
    }
    expect([mutation.field, [...codes].sort()]).toEqual([mutation.field, ["INVAL", "INVAL", "NOTFD"]]);
  }
});

/**
 * Every GraphQL example in README.md and docs/ runs against the real API,
 * as a signed-in member, with the variables it declares filled from a small
 * fixture (`$postId`, `$questionId`, …). An example documented to fail
 * starts with `# expect: CODE`. Documentation cannot drift from the schema.
 */
import { parse, type OperationDefinitionNode } from "postgraphile/graphql";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { createTestUser, uniqueName, type TestUser } from "../helpers/users";
import { graphqlExamples } from "../../bench/operations/doc-examples";

let server: TestServer;
let member: TestUser;
const fixture: Record<string, unknown> = {};

beforeAll(async () => {
  server = await startTestServer();
  member = await createTestUser();
  const author = await createTestUser();
  const db = rootDb();
  const one = async (text: string, values: unknown[]) => (await db.query<{ id: string }>(text, values)).rows[0].id;
  const slug = uniqueName("docs").toLowerCase().replace(/_/g, "-");
  const categoryId = await one("insert into app_public.categories (slug, name) values ($1, $2) returning id", [slug, slug]);
  const postId = await one(
    "insert into app_public.posts (author_id, category_id, title, body, status, tags) values ($1, $2, 'Docs example post', 'A **markdown** body', 'published', '{docs}') returning id",
    [author.id, categoryId],
  );
  const questionId = await one(
    "insert into app_public.questions (author_id, category_id, title, body, status) values ($1, $2, 'Docs example question', 'Why?', 'published') returning id",
    [member.id, categoryId],
  );
  const answerId = await one("insert into app_public.answers (question_id, author_id, body) values ($1, $2, 'Because.') returning id", [
    questionId,
    author.id,
  ]);
  const commentId = await one("insert into app_public.comments (post_id, author_id, body) values ($1, $2, 'Nice post') returning id", [
    postId,
    author.id,
  ]);
  Object.assign(fixture, {
    categoryId,
    postId,
    questionId,
    answerId,
    commentId,
    userId: author.id,
    username: author.username,
    query: "docs example",
    prefix: "doc",
    newUsername: uniqueName("new"),
    newEmail: `${uniqueName("new")}@example.com`,
  });
});

afterAll(async () => {
  await server?.stop();
  await closeSqlHelpers();
});

test("the documentation has GraphQL examples to run", () => {
  expect(graphqlExamples().length).toBeGreaterThanOrEqual(5);
});

test.each(graphqlExamples().map((e) => [e.where, e] as const))("%s runs as documented", async (_where, example) => {
  const operation = parse(example.document).definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition");
  expect(operation).toBeDefined();
  const variables: Record<string, unknown> = {};
  for (const definition of operation!.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    expect({ variable: name, known: name in fixture }).toEqual({ variable: name, known: true });
    variables[name] = fixture[name];
  }
  const res = await server.graphql(example.document, variables, { token: server.tokenFor(member) });
  if (example.expectCode) {
    expect(res.errors?.map((e) => e.extensions?.code)).toContain(example.expectCode);
  } else {
    expect(res.errors).toBeUndefined();
    expect(res.data).toBeTruthy();
  }
});

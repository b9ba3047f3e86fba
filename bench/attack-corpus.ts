/**
 * Hostile requests, as an attacker would send them to the public API. Each
 * names what a safe server answers: a code (our `extensions.code`, or an
 * HTTP status for what never reaches GraphQL) within a short time, and the
 * process stays up. `npm run bench:attack` times them against a running
 * server; test/platform/attack-corpus.test.ts asserts them.
 */

/** How the request travels. */
export type AttackRequest =
  /** A JSON body POSTed to /graphql. */
  | { kind: "json"; body: unknown }
  /** Raw bytes POSTed to /graphql with a content type. */
  | { kind: "raw"; contentType: string; bytes: Buffer }
  /** The same JSON body sent `count` times at once. */
  | { kind: "flood"; body: unknown; count: number }
  /** Headers (or a body) dripped one byte at a time, `intervalMs` apart. */
  | { kind: "slowloris"; part: "headers" | "body"; intervalMs: number }
  /** One graphql-ws `subscribe` message with this payload. */
  | { kind: "ws"; payload: unknown }
  /** One WebSocket text message of `bytes` bytes after connection_init. */
  | { kind: "ws-raw"; bytes: number };

export interface AttackEntry {
  name: string;
  what: string;
  request: AttackRequest;
  /** What a safe answer carries: one of these codes (GraphQL `extensions.code`, `HTTP <status>`, or `WS <close code>`). */
  expect: string[];
}

/** The request of issue 10: 300 bytes, 87 s, then the API process died. */
export const ISSUE_10_QUERY =
  "{ allPosts(first:100, orderBy: COMMENT_COUNT_DESC){ nodes { commentsByPostId(first:100){ nodes { userByAuthorId { commentsByAuthorId(first:100){ nodes { postByPostId { commentsByPostId(first:100) { nodes { id body } } } } } } } } } } }";

/** user → posts → author → posts … `levels` times, one row per level (cheap, deep). */
function deepQuery(levels: number): string {
  let inner = "username";
  for (let i = 0; i < levels; i++) inner = `postsByAuthorId(first: 1) { nodes { userByAuthorId { ${inner} } } }`;
  return `{ allUsers(first: 1) { nodes { ${inner} } } }`;
}

/** Every relation of a post at every level, default page sizes: few levels, enormous breadth. */
const WIDE_QUERY = `{ allPosts { nodes {
  commentsByPostId { nodes {
    commentsByParentId { nodes { body } }
    userByAuthorId { commentsByAuthorId { nodes { body } } postsByAuthorId { nodes { title body } } }
  } }
  userByAuthorId { postsByAuthorId { nodes { commentsByPostId { nodes { body } } } } }
} } }`;

function aliases(count: number, field: string): string {
  return `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(" ")} }`;
}

/** Fragments that each spread the previous one twice: 2^levels expansions of a short document. */
function fragmentBomb(levels: number): string {
  const parts = ["fragment F0 on User { username }"];
  for (let i = 1; i <= levels; i++) parts.push(`fragment F${i} on User { ...F${i - 1} ...F${i - 1} }`);
  return `{ allUsers(first: 1) { nodes { ...F${levels} } } } ${parts.join(" ")}`;
}

const INTROSPECTION = `query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }
  types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue } interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`;

export const INTROSPECTION_QUERY = INTROSPECTION;

const SEARCH = `query S($q: String!, $tags: [String], $ids: [UUID]) { search(query: $q, tags: $tags, categoryIds: $ids, first: 20) { nodes { rowId title } } }`;

export const ATTACK_CORPUS: AttackEntry[] = [
  {
    name: "issue-10-query",
    what: "The 300-byte anonymous query of issue 10: four nested pages of 100 (10^8 rows)",
    request: { kind: "json", body: { query: ISSUE_10_QUERY } },
    expect: ["QLIMT"],
  },
  {
    name: "deep-nesting",
    what: "user → posts → author 15 times, one row per level (depth 47)",
    request: { kind: "json", body: { query: deepQuery(15) } },
    expect: ["QLIMT"],
  },
  {
    name: "wide-nesting",
    what: "Every relation of a post at every level with the default page of 100",
    request: { kind: "json", body: { query: WIDE_QUERY } },
    expect: ["QLIMT"],
  },
  {
    name: "alias-bomb-search",
    what: "100 aliases of search(first: 100), the most expensive query",
    request: { kind: "json", body: { query: aliases(100, 'search(query: "postgres", first: 100) { nodes { title snippet } }') } },
    expect: ["QLIMT"],
  },
  {
    name: "alias-bomb-typename",
    what: "2,000 aliases of __typename (cheap fields, huge document)",
    request: { kind: "json", body: { query: aliases(2000, "__typename") } },
    expect: ["QLIMT"],
  },
  {
    name: "fragment-cycle",
    what: "Two fragments spreading each other",
    request: { kind: "json", body: { query: "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }" } },
    expect: ["QUERY"],
  },
  {
    name: "fragment-bomb",
    what: "30 fragments, each spreading the previous one twice (2^30 expansions)",
    request: { kind: "json", body: { query: fragmentBomb(30) } },
    expect: ["QLIMT"],
  },
  {
    name: "huge-first",
    what: "allPosts(first: 1000000)",
    request: { kind: "json", body: { query: "{ allPosts(first: 1000000) { nodes { title } } }" } },
    expect: ["QLIMT", "INVAL"],
  },
  {
    name: "huge-first-variable",
    what: "allPosts(first: $n) with n = 1000000",
    request: { kind: "json", body: { query: "query($n: Int) { allPosts(first: $n) { nodes { title } } }", variables: { n: 1_000_000 } } },
    expect: ["INVAL"],
  },
  {
    name: "huge-offset",
    what: "allPosts(first: 1, offset: 90000): one row, 90,000 read",
    request: { kind: "json", body: { query: "{ allPosts(first: 1, offset: 90000, orderBy: LIKE_COUNT_DESC) { nodes { title } } }" } },
    expect: ["QLIMT"],
  },
  {
    name: "huge-offset-variable",
    what: "The same offset through a variable",
    request: {
      kind: "json",
      body: { query: "query($o: Int) { allPosts(first: 1, offset: $o, orderBy: LIKE_COUNT_DESC) { nodes { title } } }", variables: { o: 90_000 } },
    },
    expect: ["QLIMT"],
  },
  {
    name: "huge-string-variable",
    what: "search with a 90 kB query string",
    request: { kind: "json", body: { query: SEARCH, variables: { q: "postgres ".repeat(10_000) } } },
    expect: ["TLONG"], // search.max_query_length (docs/limits.md)
  },
  {
    name: "huge-array-variable",
    what: "search with 9,000 tags",
    request: { kind: "json", body: { query: SEARCH, variables: { q: "postgres", tags: Array.from({ length: 9000 }, (_, i) => `t${i}`) } } },
    expect: ["OK", "INVAL"],
  },
  {
    name: "body-over-limit",
    what: "A 2 MB body",
    request: { kind: "json", body: { query: `{ __typename } #${"x".repeat(2_000_000)}` } },
    expect: ["INVAL"],
  },
  {
    name: "invalid-utf8",
    what: "A JSON body with bytes that are not UTF-8 inside the query",
    request: {
      kind: "raw",
      contentType: "application/json",
      bytes: Buffer.concat([Buffer.from('{"query":"{ allPosts { nodes { title } } '), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')]),
    },
    expect: ["QUERY"],
  },
  {
    name: "invalid-json",
    what: "A body that is not JSON",
    request: { kind: "raw", contentType: "application/json", bytes: Buffer.from('{"query": "{ __typename }"') },
    expect: ["INVAL"],
  },
  {
    name: "batched-operations",
    what: "A JSON array of 500 operations",
    request: { kind: "json", body: Array.from({ length: 500 }, () => ({ query: "{ allPosts { nodes { title body } } }" })) },
    expect: ["INVAL"],
  },
  {
    name: "introspection-aliases",
    what: "20 aliases of the full __schema in one document",
    request: { kind: "json", body: { query: aliases(20, "__schema { types { name fields { name type { name ofType { name ofType { name } } } } } }") } },
    expect: ["QLIMT"],
  },
  {
    name: "introspection-flood",
    what: "40 full introspection queries at once",
    request: { kind: "flood", body: { query: INTROSPECTION }, count: 40 },
    expect: ["OK", "QLIMT"],
  },
  {
    name: "slowloris-headers",
    what: "Request headers dripped one byte every 500 ms",
    request: { kind: "slowloris", part: "headers", intervalMs: 500 },
    expect: ["HTTP 408", "closed"],
  },
  {
    name: "slowloris-body",
    what: "A 10 kB body dripped one byte every 500 ms",
    request: { kind: "slowloris", part: "body", intervalMs: 500 },
    expect: ["HTTP 408", "closed"],
  },
  {
    name: "ws-issue-10-query",
    what: "The issue-10 query over graphql-ws",
    request: { kind: "ws", payload: { query: ISSUE_10_QUERY } },
    expect: ["QLIMT"],
  },
  {
    name: "ws-alias-bomb",
    what: "100 search aliases over graphql-ws",
    request: { kind: "ws", payload: { query: aliases(100, 'search(query: "postgres", first: 100) { nodes { title snippet } }') } },
    expect: ["QLIMT"],
  },
  {
    name: "ws-oversized-message",
    what: "One 8 MB WebSocket message",
    request: { kind: "ws-raw", bytes: 8 * 1024 * 1024 },
    expect: ["WS 1009"],
  },
];

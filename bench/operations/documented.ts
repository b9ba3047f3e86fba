/**
 * The GraphQL operations the product documents: the benchmark's scenarios
 * (what the front end sends on its main pages) and the README's examples,
 * written out as complete documents. They must all pass the document limits
 * with room to spare (test/platform/limits.test.ts), and they are the
 * allow-list's content (`npm run operations:manifest` → operations/manifest.json).
 */
import { SCENARIOS } from "../scenarios";
import { graphqlExamples } from "./doc-examples";

export interface DocumentedOperation {
  name: string;
  document: string;
}

/** README examples (Identity, Content, Lists, Search), as a client would send them. */
const README_OPERATIONS: DocumentedOperation[] = [
  {
    name: "Register",
    document: `mutation Register($username: String!, $email: String!, $password: String!, $displayName: String) {
  register(input: { username: $username, email: $email, password: $password, displayName: $displayName }) {
    accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { rowId username displayName }
  }
}`,
  },
  { name: "Logout", document: `mutation Logout { logout(input: {}) { clientMutationId } }` },
  { name: "LogoutEverywhere", document: `mutation LogoutEverywhere { logoutEverywhere(input: {}) { result } }` },
  {
    name: "CurrentUser",
    document: `query CurrentUser {
  currentUser { rowId username displayName bio avatarUrl jobTitle affiliation followerCount followingCount }
  currentUserSessions { nodes { sessionId userAgent ip createdAt lastActiveAt expiresAt isCurrent } }
}`,
  },
  {
    name: "ChangePassword",
    document: `mutation ChangePassword($old: String!, $new: String!) { changePassword(input: { oldPassword: $old, newPassword: $new }) { clientMutationId } }`,
  },
  { name: "ForgotPassword", document: `mutation ForgotPassword($email: String!) { forgotPassword(input: { email: $email }) { result } }` },
  {
    name: "CreatePost",
    document: `mutation CreatePost($title: String!, $body: String!, $categoryId: UUID!, $tags: [String]) {
  createPost(input: { post: { title: $title, body: $body, categoryId: $categoryId, tags: $tags, status: published } }) {
    post { rowId slug title bodyHtml tags publishedAt }
  }
}`,
  },
  {
    name: "Aggregates",
    document: `query Aggregates {
  allPosts {
    aggregates { sum { likeCount } distinctCount { authorId } }
    groupedAggregates(groupBy: [CATEGORY_ID]) { keys distinctCount { authorId } }
  }
}`,
  },
  { name: "Tags", document: `query Tags { allTags(first: 100) { nodes { name postCount questionCount } } }` },
  {
    name: "SearchFiltered",
    document: `query SearchFiltered($q: String!, $kinds: [String], $tags: [String], $after: Datetime) {
  search(query: $q, kinds: $kinds, tags: $tags, publishedAfter: $after, matchAll: true, first: 20) {
    nodes { kind rowId title snippet rank authorId categoryId publishedAt }
  }
}`,
  },
  {
    name: "SearchSuggestions",
    document: `query SearchSuggestions($prefix: String!) { searchSuggestions(prefix: $prefix, first: 10) { nodes { kind rowId value } } }`,
  },
];

export const DOCUMENTED_OPERATIONS: DocumentedOperation[] = [
  ...SCENARIOS.map((s) => ({ name: `bench:${s.name}`, document: s.graphql })),
  ...README_OPERATIONS,
  // The fenced examples of README.md and docs/ (also run by test/docs/examples.test.ts).
  ...graphqlExamples().map((e) => ({ name: `docs:${e.where}`, document: e.document })),
];

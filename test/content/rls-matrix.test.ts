/**
 * Who sees and writes what in the content tables: for every table of the
 * content schema, anonymous, the author/owner, another member, a moderator
 * and an admin (plus, for suggested edits, the contributor and a reviewer)
 * × select / insert / update / delete, at the SQL level as the API's
 * database roles. Every statement runs in its own transaction that rolls
 * back, so a case never changes what the next one sees.
 *
 * Outcomes: the exact fixture rows a select returns, the number of rows a
 * write touched (0 = row-level security hid the row), or the SQLSTATE it
 * failed with (42501 = privileges or a policy refused).
 */
import { asRole, closeSqlHelpers, rootDb, type As } from "../helpers/sql";
import { createTestUser, uniqueName, type TestUser } from "../helpers/users";

type Actor = "anonymous" | "owner" | "other" | "moderator" | "admin" | "contributor" | "reviewer";
const BASE_ACTORS: Actor[] = ["anonymous", "owner", "other", "moderator", "admin"];
type Outcome = number | string; // rows touched, or the SQLSTATE of the refusal

interface Sql {
  text: string;
  values?: unknown[];
}

/** Ids (or keys) of everything the fixtures created, by label, e.g. "post:draft". */
type Keys = Record<string, string>;

interface Users {
  owner: TestUser; // alice: writes the content, owns the bookmarks, collections and follows
  other: TestUser; // bob: an uninvolved member (author of one published post)
  contributor: TestUser; // carol: suggests an edit to alice's post
  moderator: TestUser;
  admin: TestUser;
  reviewer: TestUser;
  followee: TestUser; // dave: someone nobody follows yet
}

let users: Users;
let keys: Keys;
const labelOf = new Map<string, string>();
const suffix = uniqueName("m").replace(/_/g, "-").toLowerCase();

function caller(actor: Actor): As {
  if (actor === "anonymous") return { role: "anonymous" };
  const user = users[actor];
  return { role: "authenticated", userId: user.id, sessionId: user.sessionId };
}

/** Arranges every fixture row as the superuser, in one committed transaction (posting limits skipped). */
async function arrange(u: Users): Promise<Keys> {
  const client = await rootDb().connect();
  const k: Keys = {};
  const one = async (label: string, text: string, values: unknown[]) => {
    const { rows } = await client.query<{ key: string }>(text, values);
    k[label] = rows[0].key;
  };
  const alice = u.owner.id;
  try {
    await client.query("begin");
    await client.query("set local agora.bulk_load = 'on'");

    // Categories: two active, one inactive.
    for (const [label, active] of [["category:active", true], ["category:other", true], ["category:inactive", false]] as const) {
      await one(label, "insert into app_public.categories (slug, name, is_active) values ($1, $2, $3) returning id::text as key", [
        `${label.replace(":", "-")}-${suffix}`,
        `Matrix ${label}`,
        active,
      ]);
    }

    // Posts by alice in every status (+ one published post by bob).
    const tagPublished = `pub-${suffix}`;
    const tagDraft = `draft-${suffix}`;
    k["tagname:published"] = tagPublished;
    k["tagname:draft"] = tagDraft;
    for (const status of ["published", "draft", "hidden", "deleted", "archived"]) {
      await one(
        `post:${status}`,
        `insert into app_public.posts (author_id, title, body, status, tags)
         values ($1, $2, 'Body of the matrix post', $3, $4) returning id::text as key`,
        [alice, `Matrix ${status} post`, status, [status === "draft" ? tagDraft : tagPublished]],
      );
      await one(
        `question:${status}`,
        `insert into app_public.questions (author_id, title, body, status)
         values ($1, $2, 'Body of the matrix question', $3) returning id::text as key`,
        [alice, `Matrix ${status} question?`, status],
      );
    }
    await one("post:bob", "insert into app_public.posts (author_id, title, body, status) values ($1, 'Bob''s post', 'Hello', 'published') returning id::text as key", [
      u.other.id,
    ]);

    // Answers by alice on her published question.
    for (const status of ["published", "draft", "hidden", "deleted"]) {
      await one(
        `answer:${status}`,
        "insert into app_public.answers (question_id, author_id, body, status) values ($1, $2, $3, $4) returning id::text as key",
        [k["question:published"], alice, `Matrix ${status} answer`, status],
      );
    }

    // Comments by alice on her published post; the deleted one is soft-deleted the normal way.
    for (const status of ["published", "hidden", "deleted"]) {
      await one(
        `comment:${status}`,
        "insert into app_public.comments (post_id, author_id, body, status) values ($1, $2, $3, $4) returning id::text as key",
        [k["post:published"], alice, `Matrix ${status} comment`, status === "deleted" ? "published" : status],
      );
    }
    await client.query("update app_public.comments set status = 'deleted' where id = $1", [k["comment:deleted"]]);

    // Edit history: one revision each of the published post, the draft and the deleted comment.
    await client.query("update app_public.posts set body = 'Edited body' where id = any($1)", [[k["post:published"], k["post:draft"]]]);
    for (const [label, column, id] of [
      ["revision:published-post", "post_id", k["post:published"]],
      ["revision:draft-post", "post_id", k["post:draft"]],
      ["revision:deleted-comment", "comment_id", k["comment:deleted"]],
    ]) {
      await one(label, `select id::text as key from app_public.content_revisions where ${column} = $1`, [id]);
    }

    await one("reaction:alice-likes-bob", "insert into app_public.reactions (user_id, kind, post_id) values ($1, 'like', $2) returning id::text as key", [
      alice,
      k["post:bob"],
    ]);
    await one("bookmark:alice", "insert into app_public.bookmarks (user_id, post_id) values ($1, $2) returning id::text as key", [alice, k["post:bob"]]);

    for (const [label, isPublic] of [["collection:public", true], ["collection:private", false]] as const) {
      await one(label, "insert into app_public.collections (owner_id, name, is_public) values ($1, $2, $3) returning id::text as key", [
        alice,
        `Matrix ${label}`,
        isPublic,
      ]);
      await one(
        label.replace("collection:", "item:"),
        "insert into app_public.collection_items (collection_id, post_id) values ($1, $2) returning id::text as key",
        [k[label], k["post:bob"]],
      );
    }

    await one(
      "contribution:carol",
      "insert into app_public.contributions (post_id, contributor_id, body) values ($1, $2, 'A better body') returning id::text as key",
      [k["post:published"], u.contributor.id],
    );

    await one(
      "follow:alice>bob",
      "insert into app_public.follows (follower_id, followee_id) values ($1, $2) returning follower_id::text || '>' || followee_id::text as key",
      [alice, u.other.id],
    );
    await one(
      "category_follow:alice",
      "insert into app_public.category_follows (user_id, category_id) values ($1, $2) returning user_id::text || '>' || category_id::text as key",
      [alice, k["category:active"]],
    );

    const tag = await client.query<{ name: string }>("select name from app_public.tags where name = any($1)", [[tagPublished, tagDraft]]);
    expect(tag.rows).toEqual([{ name: tagPublished }]); // a draft's tags are not "in use"
    k["tag:published"] = tagPublished;

    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
  return k;
}

beforeAll(async () => {
  users = {
    owner: await createTestUser(),
    other: await createTestUser(),
    contributor: await createTestUser(),
    moderator: await createTestUser({ roles: ["moderator"] }),
    admin: await createTestUser({ roles: ["admin"] }),
    reviewer: await createTestUser({ roles: ["reviewer"] }),
    followee: await createTestUser(),
  };
  keys = await arrange(users);
  for (const [label, key] of Object.entries(keys)) if (!label.startsWith("tagname:")) labelOf.set(key, label);
});

afterAll(async () => {
  await closeSqlHelpers();
});

/** How each table names a row in the fixtures (a uuid, or a composite key). */
const KEY_EXPR: Record<string, string> = {
  tags: "name",
  follows: "follower_id::text || '>' || followee_id::text",
  category_follows: "user_id::text || '>' || category_id::text",
};
const keyExpr = (table: string) => KEY_EXPR[table] ?? "id::text";

/** The fixture rows (by label) of `table` that `actor` can select, or the SQLSTATE of the refusal. */
async function visible(actor: Actor, table: string): Promise<string[] | string> {
  const mine = Object.entries(keys)
    .filter(([label]) => tableOfLabel(label) === table)
    .map(([, key]) => key);
  try {
    return await asRole(caller(actor), async (c) => {
      const { rows } = await c.query<{ key: string }>(
        `select ${keyExpr(table)} as key from app_public.${table} where ${keyExpr(table)} = any($1::text[])`,
        [mine],
      );
      return rows.map((r) => labelOf.get(r.key) ?? r.key).sort();
    });
  } catch (error) {
    return sqlState(error);
  }
}

/** Rows a statement touched as `actor` (rolled back), or the SQLSTATE it failed with. */
async function attempt(actor: Actor, sql: Sql): Promise<Outcome> {
  try {
    return await asRole(caller(actor), async (c) => (await c.query(sql.text, sql.values)).rowCount ?? 0);
  } catch (error) {
    return sqlState(error);
  }
}

function sqlState(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (!code) throw error;
  return code;
}

const TABLE_OF_PREFIX: Record<string, string> = {
  category: "categories",
  tag: "tags",
  follow: "follows",
  category_follow: "category_follows",
  post: "posts",
  question: "questions",
  answer: "answers",
  comment: "comments",
  reaction: "reactions",
  bookmark: "bookmarks",
  collection: "collections",
  item: "collection_items",
  revision: "content_revisions",
  contribution: "contributions",
};
function tableOfLabel(label: string): string | undefined {
  return TABLE_OF_PREFIX[label.split(":")[0]];
}

//------------------------------------------------------------------------------
// The matrix.

type Expect<T> = Partial<Record<Actor, T>>;
interface WriteCase {
  op: "insert" | "update" | "delete";
  what: string;
  sql: (k: Keys, u: Users) => Sql;
  expect: Expect<Outcome>;
}
interface TableSpec {
  table: string;
  select: Expect<string[] | string>;
  writes: WriteCase[];
}

const DENIED = "42501";
const ALL_DENIED: Expect<Outcome> = { anonymous: DENIED, owner: DENIED, other: DENIED, moderator: DENIED, admin: DENIED };
const SIGNED_IN_ONLY: Expect<Outcome> = { anonymous: DENIED, owner: 1, other: 1, moderator: 1, admin: 1 };
const OWNER_ONLY: Expect<Outcome> = { anonymous: DENIED, owner: 1, other: 0, moderator: 0, admin: 0 };
const AUTHOR_OR_MODERATOR: Expect<Outcome> = { anonymous: DENIED, owner: 1, other: 0, moderator: 1, admin: 1 };

const sql = (text: string, ...names: string[]) => (k: Keys) => ({ text, values: names.map((n) => k[n]) });

const MATRIX: TableSpec[] = [
  {
    table: "categories",
    select: {
      anonymous: ["category:active", "category:other"],
      owner: ["category:active", "category:other"],
      other: ["category:active", "category:other"],
      moderator: ["category:active", "category:other"],
      admin: ["category:active", "category:inactive", "category:other"],
    },
    writes: [
      {
        op: "insert",
        what: "a new category",
        sql: () => ({ text: "insert into app_public.categories (slug, name) values ($1, 'Matrix new')", values: [`new-${suffix}`] }),
        expect: { anonymous: DENIED, owner: DENIED, other: DENIED, moderator: DENIED, admin: 1 },
      },
      {
        op: "update",
        what: "an active category",
        sql: sql("update app_public.categories set name = 'Renamed' where id = $1", "category:active"),
        expect: { anonymous: DENIED, owner: 0, other: 0, moderator: 0, admin: 1 },
      },
      {
        op: "update",
        what: "an inactive category",
        sql: sql("update app_public.categories set is_active = true where id = $1", "category:inactive"),
        expect: { anonymous: DENIED, owner: 0, other: 0, moderator: 0, admin: 1 },
      },
      {
        op: "delete",
        what: "a category (nobody deletes: deactivate instead)",
        sql: sql("delete from app_public.categories where id = $1", "category:other"),
        expect: ALL_DENIED,
      },
    ],
  },
  {
    table: "tags",
    select: {
      anonymous: ["tag:published"],
      owner: ["tag:published"],
      other: ["tag:published"],
      moderator: ["tag:published"],
      admin: ["tag:published"],
    },
    writes: [
      { op: "insert", what: "a tag", sql: () => ({ text: `insert into app_public.tags (name) values ('t-${suffix}')` }), expect: ALL_DENIED },
      { op: "update", what: "a tag's count", sql: sql("update app_public.tags set post_count = 1000 where name = $1", "tag:published"), expect: ALL_DENIED },
      { op: "delete", what: "a tag", sql: sql("delete from app_public.tags where name = $1", "tag:published"), expect: ALL_DENIED },
    ],
  },
  {
    table: "follows",
    select: {
      anonymous: ["follow:alice>bob"],
      owner: ["follow:alice>bob"],
      other: ["follow:alice>bob"],
      moderator: ["follow:alice>bob"],
      admin: ["follow:alice>bob"],
    },
    writes: [
      {
        op: "insert",
        what: "following someone (as oneself)",
        sql: (_k, u) => ({ text: "insert into app_public.follows (followee_id) values ($1)", values: [u.followee.id] }),
        expect: SIGNED_IN_ONLY,
      },
      {
        op: "insert",
        what: "a follow in alice's name",
        sql: (_k, u) => ({ text: "insert into app_public.follows (follower_id, followee_id) values ($1, $2)", values: [u.owner.id, u.followee.id] }),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "alice's follow",
        sql: (_k, u) => ({ text: "update app_public.follows set followee_id = $2 where follower_id = $1", values: [u.owner.id, u.followee.id] }),
        expect: ALL_DENIED,
      },
      {
        op: "delete",
        what: "alice's follow",
        sql: (_k, u) => ({ text: "delete from app_public.follows where follower_id = $1 and followee_id = $2", values: [u.owner.id, u.other.id] }),
        expect: OWNER_ONLY,
      },
    ],
  },
  {
    table: "category_follows",
    select: { anonymous: [], owner: ["category_follow:alice"], other: [], moderator: [], admin: [] },
    writes: [
      {
        op: "insert",
        what: "following a category (as oneself)",
        sql: sql("insert into app_public.category_follows (category_id) values ($1)", "category:other"),
        expect: SIGNED_IN_ONLY,
      },
      {
        op: "insert",
        what: "a category follow in alice's name",
        sql: (k, u) => ({ text: "insert into app_public.category_follows (user_id, category_id) values ($1, $2)", values: [u.owner.id, k["category:other"]] }),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "alice's category follow",
        sql: (k, u) => ({ text: "update app_public.category_follows set category_id = $2 where user_id = $1", values: [u.owner.id, k["category:other"]] }),
        expect: ALL_DENIED,
      },
      {
        op: "delete",
        what: "alice's category follow",
        sql: (k, u) => ({ text: "delete from app_public.category_follows where user_id = $1 and category_id = $2", values: [u.owner.id, k["category:active"]] }),
        expect: OWNER_ONLY,
      },
    ],
  },
  {
    table: "posts",
    select: {
      anonymous: ["post:archived", "post:bob", "post:published"],
      owner: ["post:archived", "post:bob", "post:deleted", "post:draft", "post:hidden", "post:published"],
      other: ["post:archived", "post:bob", "post:published"],
      moderator: ["post:archived", "post:bob", "post:deleted", "post:draft", "post:hidden", "post:published"],
      admin: ["post:archived", "post:bob", "post:deleted", "post:draft", "post:hidden", "post:published"],
    },
    writes: [
      {
        op: "insert",
        what: "a post of one's own",
        sql: () => ({ text: "insert into app_public.posts (title, body) values ('Matrix insert', 'Body')" }),
        expect: SIGNED_IN_ONLY,
      },
      {
        op: "insert",
        what: "a post in alice's name",
        sql: (_k, u) => ({ text: "insert into app_public.posts (author_id, title, body) values ($1, 'Forged', 'Body')", values: [u.owner.id] }),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "alice's published post",
        sql: sql("update app_public.posts set title = 'Changed title' where id = $1", "post:published"),
        expect: AUTHOR_OR_MODERATOR,
      },
      {
        op: "update",
        what: "alice's draft",
        sql: sql("update app_public.posts set body = 'Changed body' where id = $1", "post:draft"),
        expect: AUTHOR_OR_MODERATOR,
      },
      {
        op: "update",
        what: "alice's hidden post",
        sql: sql("update app_public.posts set body = 'Changed body' where id = $1", "post:hidden"),
        expect: AUTHOR_OR_MODERATOR,
      },
      {
        op: "update",
        what: "a post's counters",
        sql: sql("update app_public.posts set like_count = 1000 where id = $1", "post:published"),
        expect: ALL_DENIED,
      },
      {
        op: "delete",
        what: "a post (deleting is a status)",
        sql: sql("delete from app_public.posts where id = $1", "post:published"),
        expect: ALL_DENIED,
      },
    ],
  },
  {
    table: "questions",
    select: {
      anonymous: ["question:archived", "question:published"],
      owner: ["question:archived", "question:deleted", "question:draft", "question:hidden", "question:published"],
      other: ["question:archived", "question:published"],
      moderator: ["question:archived", "question:deleted", "question:draft", "question:hidden", "question:published"],
      admin: ["question:archived", "question:deleted", "question:draft", "question:hidden", "question:published"],
    },
    writes: [
      {
        op: "insert",
        what: "a question of one's own",
        sql: () => ({ text: "insert into app_public.questions (title, body) values ('Matrix insert?', 'Body')" }),
        expect: SIGNED_IN_ONLY,
      },
      {
        op: "insert",
        what: "a question in alice's name",
        sql: (_k, u) => ({ text: "insert into app_public.questions (author_id, title, body) values ($1, 'Forged?', 'Body')", values: [u.owner.id] }),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "alice's published question",
        sql: sql("update app_public.questions set body = 'Changed body' where id = $1", "question:published"),
        expect: AUTHOR_OR_MODERATOR,
      },
      {
        op: "update",
        what: "alice's draft question",
        sql: sql("update app_public.questions set body = 'Changed body' where id = $1", "question:draft"),
        expect: AUTHOR_OR_MODERATOR,
      },
      {
        op: "update",
        what: "the accepted answer directly",
        sql: sql("update app_public.questions set accepted_answer_id = $2 where id = $1", "question:published", "answer:published"),
        expect: ALL_DENIED,
      },
      { op: "delete", what: "a question", sql: sql("delete from app_public.questions where id = $1", "question:published"), expect: ALL_DENIED },
    ],
  },
  {
    table: "answers",
    select: {
      anonymous: ["answer:published"],
      owner: ["answer:deleted", "answer:draft", "answer:hidden", "answer:published"],
      other: ["answer:published"],
      moderator: ["answer:deleted", "answer:draft", "answer:hidden", "answer:published"],
      admin: ["answer:deleted", "answer:draft", "answer:hidden", "answer:published"],
    },
    writes: [
      {
        op: "insert",
        what: "an answer of one's own",
        sql: sql("insert into app_public.answers (question_id, body) values ($1, 'Matrix answer')", "question:published"),
        expect: SIGNED_IN_ONLY,
      },
      {
        op: "insert",
        what: "an answer in alice's name",
        sql: (k, u) => ({
          text: "insert into app_public.answers (question_id, author_id, body) values ($1, $2, 'Forged')",
          values: [k["question:published"], u.owner.id],
        }),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "alice's published answer",
        sql: sql("update app_public.answers set body = 'Changed' where id = $1", "answer:published"),
        expect: AUTHOR_OR_MODERATOR,
      },
      {
        op: "update",
        what: "alice's draft answer",
        sql: sql("update app_public.answers set body = 'Changed' where id = $1", "answer:draft"),
        expect: AUTHOR_OR_MODERATOR,
      },
      { op: "delete", what: "an answer", sql: sql("delete from app_public.answers where id = $1", "answer:published"), expect: ALL_DENIED },
    ],
  },
  {
    table: "comments",
    select: {
      anonymous: ["comment:deleted", "comment:published"],
      owner: ["comment:deleted", "comment:hidden", "comment:published"],
      other: ["comment:deleted", "comment:published"],
      moderator: ["comment:deleted", "comment:hidden", "comment:published"],
      admin: ["comment:deleted", "comment:hidden", "comment:published"],
    },
    writes: [
      {
        op: "insert",
        what: "a comment of one's own",
        sql: sql("insert into app_public.comments (post_id, body) values ($1, 'Matrix comment')", "post:published"),
        expect: SIGNED_IN_ONLY,
      },
      {
        op: "insert",
        what: "a comment in alice's name",
        sql: (k, u) => ({ text: "insert into app_public.comments (post_id, author_id, body) values ($1, $2, 'Forged')", values: [k["post:published"], u.owner.id] }),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "alice's comment",
        sql: sql("update app_public.comments set body = 'Changed' where id = $1", "comment:published"),
        expect: AUTHOR_OR_MODERATOR,
      },
      {
        op: "update",
        what: "alice's hidden comment",
        sql: sql("update app_public.comments set body = 'Changed' where id = $1", "comment:hidden"),
        expect: AUTHOR_OR_MODERATOR,
      },
      {
        op: "update",
        what: "a comment's depth",
        sql: sql("update app_public.comments set depth = 1 where id = $1", "comment:published"),
        expect: ALL_DENIED,
      },
      { op: "delete", what: "a comment (deleting is a status)", sql: sql("delete from app_public.comments where id = $1", "comment:published"), expect: ALL_DENIED },
    ],
  },
  {
    table: "reactions",
    select: {
      anonymous: ["reaction:alice-likes-bob"],
      owner: ["reaction:alice-likes-bob"],
      other: ["reaction:alice-likes-bob"],
      moderator: ["reaction:alice-likes-bob"],
      admin: ["reaction:alice-likes-bob"],
    },
    writes: [
      {
        op: "insert",
        what: "a reaction (only through react())",
        sql: sql("insert into app_public.reactions (kind, post_id) values ('like', $1)", "post:published"),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "alice's reaction",
        sql: sql("update app_public.reactions set kind = 'dislike' where id = $1", "reaction:alice-likes-bob"),
        expect: ALL_DENIED,
      },
      {
        op: "delete",
        what: "alice's reaction",
        sql: sql("delete from app_public.reactions where id = $1", "reaction:alice-likes-bob"),
        expect: ALL_DENIED,
      },
    ],
  },
  {
    table: "bookmarks",
    select: { anonymous: [], owner: ["bookmark:alice"], other: [], moderator: [], admin: [] },
    writes: [
      {
        op: "insert",
        what: "a bookmark of one's own",
        sql: sql("insert into app_public.bookmarks (post_id) values ($1)", "post:published"),
        expect: SIGNED_IN_ONLY,
      },
      {
        op: "insert",
        what: "a bookmark in alice's name",
        sql: (k, u) => ({ text: "insert into app_public.bookmarks (user_id, post_id) values ($1, $2)", values: [u.owner.id, k["post:published"]] }),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "alice's bookmark",
        sql: sql("update app_public.bookmarks set post_id = $2 where id = $1", "bookmark:alice", "post:published"),
        expect: ALL_DENIED,
      },
      { op: "delete", what: "alice's bookmark", sql: sql("delete from app_public.bookmarks where id = $1", "bookmark:alice"), expect: OWNER_ONLY },
    ],
  },
  {
    table: "collections",
    select: {
      anonymous: ["collection:public"],
      owner: ["collection:private", "collection:public"],
      other: ["collection:public"],
      moderator: ["collection:public"],
      admin: ["collection:public"],
    },
    writes: [
      {
        op: "insert",
        what: "a collection of one's own",
        sql: () => ({ text: "insert into app_public.collections (name) values ('Matrix collection')" }),
        expect: SIGNED_IN_ONLY,
      },
      {
        op: "insert",
        what: "a collection in alice's name",
        sql: (_k, u) => ({ text: "insert into app_public.collections (owner_id, name) values ($1, 'Forged')", values: [u.owner.id] }),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "alice's public collection",
        sql: sql("update app_public.collections set name = 'Renamed' where id = $1", "collection:public"),
        expect: OWNER_ONLY,
      },
      {
        op: "update",
        what: "alice's private collection",
        sql: sql("update app_public.collections set is_public = true where id = $1", "collection:private"),
        expect: OWNER_ONLY,
      },
      { op: "delete", what: "alice's public collection", sql: sql("delete from app_public.collections where id = $1", "collection:public"), expect: OWNER_ONLY },
      { op: "delete", what: "alice's private collection", sql: sql("delete from app_public.collections where id = $1", "collection:private"), expect: OWNER_ONLY },
    ],
  },
  {
    table: "collection_items",
    select: {
      anonymous: ["item:public"],
      owner: ["item:private", "item:public"],
      other: ["item:public"],
      moderator: ["item:public"],
      admin: ["item:public"],
    },
    writes: [
      {
        op: "insert",
        what: "an item into alice's private collection",
        sql: sql("insert into app_public.collection_items (collection_id, post_id) values ($1, $2)", "collection:private", "post:published"),
        expect: { anonymous: DENIED, owner: 1, other: DENIED, moderator: DENIED, admin: DENIED },
      },
      {
        op: "insert",
        what: "an item into alice's public collection",
        sql: sql("insert into app_public.collection_items (collection_id, post_id) values ($1, $2)", "collection:public", "post:published"),
        expect: { anonymous: DENIED, owner: 1, other: DENIED, moderator: DENIED, admin: DENIED },
      },
      {
        op: "update",
        what: "an item of alice's public collection",
        sql: sql("update app_public.collection_items set note = 'Mine now' where id = $1", "item:public"),
        expect: OWNER_ONLY,
      },
      {
        op: "update",
        what: "an item of alice's private collection",
        sql: sql("update app_public.collection_items set position = 5 where id = $1", "item:private"),
        expect: OWNER_ONLY,
      },
      {
        op: "update",
        what: "an item, moving it to another collection",
        sql: sql("update app_public.collection_items set collection_id = $2 where id = $1", "item:private", "collection:public"),
        expect: ALL_DENIED,
      },
      { op: "delete", what: "an item of alice's public collection", sql: sql("delete from app_public.collection_items where id = $1", "item:public"), expect: OWNER_ONLY },
      { op: "delete", what: "an item of alice's private collection", sql: sql("delete from app_public.collection_items where id = $1", "item:private"), expect: OWNER_ONLY },
    ],
  },
  {
    table: "content_revisions",
    select: {
      anonymous: ["revision:published-post"],
      owner: ["revision:deleted-comment", "revision:draft-post", "revision:published-post"],
      other: ["revision:published-post"],
      moderator: ["revision:deleted-comment", "revision:draft-post", "revision:published-post"],
      admin: ["revision:deleted-comment", "revision:draft-post", "revision:published-post"],
    },
    writes: [
      {
        op: "insert",
        what: "a revision",
        sql: sql("insert into app_public.content_revisions (post_id, body) values ($1, 'Fake history')", "post:published"),
        expect: ALL_DENIED,
      },
      {
        op: "update",
        what: "a revision",
        sql: sql("update app_public.content_revisions set body = 'Rewritten history' where id = $1", "revision:published-post"),
        expect: ALL_DENIED,
      },
      {
        op: "delete",
        what: "a revision",
        sql: sql("delete from app_public.content_revisions where id = $1", "revision:published-post"),
        expect: ALL_DENIED,
      },
    ],
  },
  {
    table: "contributions",
    select: {
      anonymous: [], // no rows (the table answers, so a query selecting it works)
      owner: ["contribution:carol"], // the post's author
      other: [],
      contributor: ["contribution:carol"],
      reviewer: ["contribution:carol"],
      moderator: ["contribution:carol"],
      admin: ["contribution:carol"],
    },
    writes: [
      {
        op: "insert",
        what: "a suggested edit to alice's published post",
        sql: sql("insert into app_public.contributions (post_id, body) values ($1, 'Suggested body')", "post:published"),
        expect: { anonymous: DENIED, owner: DENIED, other: 1, contributor: 1, reviewer: 1, moderator: 1, admin: 1 },
      },
      {
        op: "insert",
        what: "a suggested edit to alice's draft",
        sql: sql("insert into app_public.contributions (post_id, body) values ($1, 'Suggested body')", "post:draft"),
        expect: { anonymous: DENIED, owner: DENIED, other: DENIED, contributor: DENIED, reviewer: DENIED, moderator: DENIED, admin: DENIED },
      },
      {
        op: "insert",
        what: "a suggested edit in carol's name",
        sql: (k, u) => ({
          text: "insert into app_public.contributions (post_id, contributor_id, body) values ($1, $2, 'Forged')",
          values: [k["post:published"], u.contributor.id],
        }),
        expect: { anonymous: DENIED, owner: DENIED, other: DENIED, contributor: DENIED, reviewer: DENIED, moderator: DENIED, admin: DENIED },
      },
      {
        op: "update",
        what: "carol's suggested edit (reviewing is reviewContribution)",
        sql: sql("update app_public.contributions set status = 'accepted' where id = $1", "contribution:carol"),
        expect: { anonymous: DENIED, owner: DENIED, other: DENIED, contributor: DENIED, reviewer: DENIED, moderator: DENIED, admin: DENIED },
      },
      {
        op: "delete",
        what: "carol's suggested edit",
        sql: sql("delete from app_public.contributions where id = $1", "contribution:carol"),
        expect: { anonymous: DENIED, owner: DENIED, other: DENIED, contributor: DENIED, reviewer: DENIED, moderator: DENIED, admin: DENIED },
      },
    ],
  },
];

describe.each(MATRIX)("app_public.$table", ({ table, select, writes }) => {
  it("covers every actor", () => {
    for (const actor of BASE_ACTORS) {
      expect({ table, op: "select", actor, covered: actor in select }).toEqual({ table, op: "select", actor, covered: true });
      for (const w of writes) expect({ table, what: w.what, actor, covered: actor in w.expect }).toEqual({ table, what: w.what, actor, covered: true });
    }
  });

  it("select: each actor sees exactly these fixture rows", async () => {
    const actual: Expect<string[] | string> = {};
    for (const actor of Object.keys(select) as Actor[]) actual[actor] = await visible(actor, table);
    expect(actual).toEqual(select);
  });

  const cases = writes.map((w) => [`${w.op}: ${w.what}`, w] as const);
  it.each(cases)("%s", async (_name, w) => {
    const actual: Expect<Outcome> = {};
    for (const actor of Object.keys(w.expect) as Actor[]) actual[actor] = await attempt(actor, w.sql(keys, users));
    expect(actual).toEqual(w.expect);
  });
});

//------------------------------------------------------------------------------
// Beyond the fixtures: what the matrix implies for the whole table.

describe("nothing unpublished leaks, whoever wrote it", () => {
  it.each(["posts", "questions", "answers"])(
    "anonymous and a plain member see no draft, hidden or deleted %s of anybody else",
    async (table) => {
      const anonymous = await asRole(caller("anonymous"), async (c) =>
        (await c.query(`select count(*)::int as n from app_public.${table} where status not in ('published', 'archived')`)).rows[0].n,
      );
      expect(anonymous).toBe(0);
      const other = await asRole(caller("other"), async (c) =>
        (await c.query(`select count(*)::int as n from app_public.${table} where status not in ('published', 'archived') and author_id <> $1`, [users.other.id]))
          .rows[0].n,
      );
      expect(other).toBe(0);
    },
  );

  it("shows nobody but their author and moderators a hidden comment; a deleted one stays, with an emptied body", async () => {
    for (const actor of BASE_ACTORS) {
      const rows = await asRole(caller(actor), async (c) =>
        (await c.query<{ id: string; body: string; status: string }>(
          "select id::text, body, status::text from app_public.comments where id = any($1) order by status",
          [[keys["comment:deleted"], keys["comment:hidden"], keys["comment:published"]]],
        )).rows,
      );
      const deleted = rows.find((r) => r.id === keys["comment:deleted"]);
      expect({ actor, deleted }).toEqual({ actor, deleted: { id: keys["comment:deleted"], body: "", status: "deleted" } });
      const sawHidden = rows.some((r) => r.id === keys["comment:hidden"]);
      expect({ actor, sawHidden }).toEqual({ actor, sawHidden: ["owner", "moderator", "admin"].includes(actor) });
    }
    // The old body survives only in the history, which only the author and moderators see.
    const history = await asRole(caller("owner"), async (c) =>
      (await c.query("select body from app_public.content_revisions where comment_id = $1", [keys["comment:deleted"]])).rows,
    );
    expect(history).toEqual([{ body: "Matrix deleted comment" }]);
  });

  it("shows no one else's bookmarks, category follows or private collections at all", async () => {
    for (const actor of ["other", "moderator", "admin"] as Actor[]) {
      const me = users[actor as keyof Users].id;
      const counts = await asRole(caller(actor), async (c) =>
        (await c.query(
          `select (select count(*)::int from app_public.bookmarks where user_id <> $1) as bookmarks,
                  (select count(*)::int from app_public.category_follows where user_id <> $1) as category_follows,
                  (select count(*)::int from app_public.collections where owner_id <> $1 and not is_public) as private_collections,
                  (select count(*)::int from app_public.collection_items i
                     where not exists (select 1 from app_public.collections c where c.id = i.collection_id and c.is_public)
                       and not exists (select 1 from app_public.collections c where c.id = i.collection_id and c.owner_id = $1)) as private_items`,
          [me],
        )).rows[0],
      );
      expect({ actor, counts }).toEqual({ actor, counts: { bookmarks: 0, category_follows: 0, private_collections: 0, private_items: 0 } });
    }
  });

  it("shows a plain member only the suggested edits they made or received", async () => {
    const seen = await asRole(caller("other"), async (c) =>
      (await c.query<{ n: number }>(
        `select count(*)::int as n from app_public.contributions ct
          where ct.contributor_id <> $1
            and not exists (select 1 from app_public.posts p where p.id = ct.post_id and p.author_id = $1)`,
        [users.other.id],
      )).rows[0].n,
    );
    expect(seen).toBe(0);
  });

  it("stores a soft-deleted comment emptied, not merely masked", async () => {
    const { rows } = await rootDb().query("select body, status::text from app_public.comments where id = $1", [keys["comment:deleted"]]);
    expect(rows).toEqual([{ body: "", status: "deleted" }]);
  });
});

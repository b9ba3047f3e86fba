/**
 * Search as a reader meets it, over the real HTTP API (and at the SQL level
 * for visibility): ranking, typo tolerance, filters, what is never found,
 * safe snippets, members, suggestions and paging. Every row this file
 * creates carries a random marker word, and every search asks for it, so
 * rows of other test files never change these results.
 */
import type pg from "pg";
import { asRole, closeSqlHelpers, rootDb, bulkLoad } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { errorCode } from "../helpers/auth";
import { createTestUser, type TestUser } from "../helpers/users";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});


/** A random word of lower-case letters that no other row contains. */
function marker(length = 10): string {
  const letters = "bcdfghjklmnpqrstvwxz"; // consonants only: never an English word, no stemming surprises
  return Array.from({ length }, () => letters[Math.floor(Math.random() * letters.length)]).join("");
}
const capitalise = (word: string) => word[0].toUpperCase() + word.slice(1);


interface ContentOptions {
  authorId: string;
  title: string;
  body: string;
  status?: string;
  tags?: string[];
  categoryId?: string | null;
  language?: string;
  publishedAt?: string | null;
}

async function insertPost(c: pg.PoolClient, o: ContentOptions): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    `insert into app_public.posts (author_id, title, body, status, tags, category_id, language, published_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
    [o.authorId, o.title, o.body, o.status ?? "published", o.tags ?? [], o.categoryId ?? null, o.language ?? "en", o.publishedAt ?? null],
  );
  return rows[0].id;
}

async function insertQuestion(c: pg.PoolClient, o: ContentOptions): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    `insert into app_public.questions (author_id, title, body, status, tags, category_id, language, published_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
    [o.authorId, o.title, o.body, o.status ?? "published", o.tags ?? [], o.categoryId ?? null, o.language ?? "en", o.publishedAt ?? null],
  );
  return rows[0].id;
}

async function insertAnswer(c: pg.PoolClient, questionId: string, authorId: string, body: string, status = "published"): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    "insert into app_public.answers (question_id, author_id, body, status) values ($1, $2, $3, $4) returning id",
    [questionId, authorId, body, status],
  );
  return rows[0].id;
}

async function insertComment(
  c: pg.PoolClient,
  target: { postId?: string; questionId?: string; answerId?: string },
  authorId: string,
  body: string,
): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    "insert into app_public.comments (post_id, question_id, answer_id, author_id, body) values ($1, $2, $3, $4, $5) returning id",
    [target.postId ?? null, target.questionId ?? null, target.answerId ?? null, authorId, body],
  );
  return rows[0].id;
}

async function insertCategory(c: pg.PoolClient, name: string): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    "insert into app_public.categories (slug, name) values ($1, $2) returning id",
    [name.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 60), name],
  );
  return rows[0].id;
}

interface Hit {
  kind: string;
  rowId: string;
  title: string | null;
  snippet: string | null;
  rank: number;
  authorId: string | null;
  categoryId: string | null;
  publishedAt: string | null;
}

interface SearchArgs {
  query: string;
  kinds?: string[];
  categoryIds?: string[];
  tags?: string[];
  authorId?: string;
  publishedAfter?: string;
  publishedBefore?: string;
  language?: string;
  matchAll?: boolean;
  first?: number;
  after?: string;
}

/** The search document; `first`/`after` appear only when the caller pages (see the paging tests for why). */
function searchDocument(paging: { first?: boolean; after?: boolean } = {}): string {
  const vars = [paging.first ? ", $first: Int" : "", paging.after ? ", $after: Cursor" : ""].join("");
  const args = [paging.first ? ", first: $first" : "", paging.after ? ", after: $after" : ""].join("");
  return `query Search($query: String!, $kinds: [String], $categoryIds: [UUID], $tags: [String], $authorId: UUID,
    $publishedAfter: Datetime, $publishedBefore: Datetime, $language: String, $matchAll: Boolean${vars}) {
    search(query: $query, kinds: $kinds, categoryIds: $categoryIds, tags: $tags, authorId: $authorId,
           publishedAfter: $publishedAfter, publishedBefore: $publishedBefore, language: $language, matchAll: $matchAll${args}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { kind rowId title snippet rank authorId categoryId publishedAt }
    }
  }`;
}

interface SearchPage {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: Hit[];
}

async function searchRaw(args: SearchArgs, token?: string) {
  const document = searchDocument({ first: args.first !== undefined, after: args.after !== undefined });
  return server.graphql<{ search: SearchPage }>(document, { ...args }, { token });
}

async function search(args: SearchArgs, token?: string): Promise<SearchPage> {
  const res = await searchRaw(args, token);
  expect(res.errors).toBeUndefined();
  return res.data!.search;
}

async function searchIds(args: SearchArgs, token?: string): Promise<string[]> {
  return (await search(args, token)).nodes.map((n) => n.rowId).sort();
}

const sorted = (ids: string[]) => [...ids].sort();

describe("ranking", () => {
  it("puts the document whose title is exactly the query first among several that mention the words", async () => {
    const m = marker();
    const author = await createTestUser();
    const ids = await bulkLoad(async (c) => ({
      guide: await insertPost(c, {
        authorId: author.id,
        title: `Ferment ${m} sourdough: a complete guide for home bakers`,
        body: `Ferment ${m} sourdough slowly. To ferment ${m} sourdough you need time; ferment ${m} sourdough overnight.`,
      }),
      notes: await insertPost(c, {
        authorId: author.id,
        title: "Weekend kitchen notes",
        body: Array.from({ length: 8 }, () => `ferment ${m} sourdough`).join(", "),
      }),
      question: await insertQuestion(c, {
        authorId: author.id,
        title: `Why does my ferment ${m} sourdough collapse?`,
        body: `I ferment ${m} sourdough for 12 hours.`,
      }),
      exact: await insertPost(c, { authorId: author.id, title: `Ferment ${capitalise(m)} Sourdough`, body: "Short and to the point." }),
    }));
    const { nodes } = await search({ query: `ferment ${m} sourdough` });
    expect(sorted(nodes.map((n) => n.rowId))).toEqual(sorted(Object.values(ids)));
    expect(nodes[0]).toMatchObject({ kind: "post", rowId: ids.exact });
    expect(nodes[0].rank).toBeGreaterThan(nodes[1].rank);
    // Ranks come back in order.
    const ranks = nodes.map((n) => n.rank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
  });

  it("ranks a match in the title above the same words in a body, and a body above a comment", async () => {
    const m = marker();
    const author = await createTestUser();
    const phrase = `hanging lanterns ${m} outdoors`;
    const ids = await bulkLoad(async (c) => {
      const inTitle = await insertPost(c, { authorId: author.id, title: `Hanging lanterns ${m} outdoors at dusk`, body: "Notes about the weekend." });
      const inBody = await insertPost(c, { authorId: author.id, title: "Notes about the weekend at dusk", body: `Hanging lanterns ${m} outdoors.` });
      const inComment = await insertComment(c, { postId: inTitle }, author.id, `Hanging lanterns ${m} outdoors.`);
      return { inTitle, inBody, inComment };
    });
    const { nodes } = await search({ query: phrase });
    expect(nodes.map((n) => n.rowId)).toEqual([ids.inTitle, ids.inBody, ids.inComment]);
    const [title, body, comment] = nodes;
    expect(title.rank).toBeGreaterThan(body.rank);
    expect(body.rank).toBeGreaterThan(comment.rank);
  });

  it("gives a document's static score one month per doubling of its popularity", async () => {
    // A month after 1970 is 1; popularity p adds floor(log2(1 + p)), exactly at the powers of two and far above them.
    const popularity = [0, 1, 2, 3, 6, 7, 8, 1022, 1023, 1024, 2 ** 40 - 2, 2 ** 40 - 1, 2 ** 52];
    const { rows } = await rootDb().query<{ score: number }>(
      "select app_private.search_score('1970-01-31T00:00:00Z', p) as score from unnest($1::bigint[]) with ordinality u(p, n) order by n",
      [popularity],
    );
    expect(rows.map((r) => r.score)).toEqual([1, 2, 2, 3, 3, 4, 4, 10, 11, 11, 40, 41, 53]);
    // No popularity or a negative one adds nothing; no date counts as 1970.
    const { rows: edge } = await rootDb().query<{ none: number; negative: number; undated: number }>(
      `select app_private.search_score('1970-01-31T00:00:00Z', null) as none, app_private.search_score('1970-01-31T00:00:00Z', -5) as negative,
              app_private.search_score(null, 3) as undated`,
    );
    expect(edge[0]).toEqual({ none: 1, negative: 1, undated: 2 });
  });

  it("keeps the first 5000 characters of a document's text for its snippet, counted in characters, not bytes", async () => {
    const kept = async (text: string | null) =>
      (await rootDb().query<{ body: string | null }>("select app_private.search_body($1) as body", [text])).rows[0].body;
    expect(await kept("a".repeat(6000))).toBe("a".repeat(5000));
    expect(await kept("é".repeat(4000))).toBe("é".repeat(4000)); // 8,000 bytes, 4,000 characters: all of it
    expect(await kept("é".repeat(6000))).toBe("é".repeat(5000));
    expect(await kept("short")).toBe("short");
    expect(await kept(null)).toBeNull();
  });
});

describe("typo tolerance", () => {
  /** `word` with the letter at `index` replaced by a different consonant. */
  const misspell = (word: string, index: number) =>
    word.slice(0, index) + (word[index] === "k" ? "v" : "k") + word.slice(index + 1);
  const transpose = (word: string, index: number) =>
    word.slice(0, index) + word[index + 1] + word[index] + word.slice(index + 2);

  it("finds a post by a distinctive title word with one letter wrong, in a title of several words", async () => {
    const m = marker();
    const author = await createTestUser();
    const id = await bulkLoad((c) =>
      insertPost(c, { authorId: author.id, title: `Deploying the ${capitalise(m)} scheduler on small clusters`, body: "How we run it." }),
    );
    const typo = misspell(m, 4);
    expect((await search({ query: m })).nodes.map((n) => n.rowId)).toEqual([id]); // spelt right: full text
    const { nodes } = await search({ query: typo });
    expect(nodes.map((n) => n.rowId)).toContain(id);
  });

  it("finds a short title with two adjacent letters swapped, and a question with one letter wrong", async () => {
    const m = marker();
    const m2 = marker();
    const author = await createTestUser();
    const ids = await bulkLoad(async (c) => ({
      post: await insertPost(c, { authorId: author.id, title: `${capitalise(m)} basics`, body: "An introduction." }),
      question: await insertQuestion(c, { authorId: author.id, title: `${capitalise(m2)} setup?`, body: "How?" }),
    }));
    expect((await search({ query: transpose(m, 4) })).nodes.map((n) => n.rowId)).toContain(ids.post);
    expect((await search({ query: `${misspell(m2, 5)} setup` })).nodes.map((n) => n.rowId)).toContain(ids.question);
  });

  it("finds a member by a misspelt display name", async () => {
    const m = marker();
    const user = await createTestUser();
    await rootDb().query("update app_public.users set display_name = $2 where id = $1", [user.id, `Wilhelmina ${capitalise(m)}`]);
    const { nodes } = await search({ query: `Wilhelmina ${misspell(m, 3)}`, kinds: ["user"] });
    expect(nodes.map((n) => n.rowId)).toContain(user.id);
  });

  it("lists exact full-text hits before typo-tolerant ones", async () => {
    const m = marker();
    const author = await createTestUser();
    const typo = misspell(m, 5);
    const ids = await bulkLoad(async (c) => ({
      exact: await insertPost(c, { authorId: author.id, title: "Something else entirely", body: `It mentions ${typo} once.` }),
      similar: await insertPost(c, { authorId: author.id, title: `${capitalise(m)} handbook`, body: "Nothing." }),
    }));
    const { nodes } = await search({ query: typo });
    const order = nodes.map((n) => n.rowId).filter((id) => id === ids.exact || id === ids.similar);
    expect(order).toEqual([ids.exact, ids.similar]);
  });
});

describe("filters", () => {
  const m = marker();
  let alice: TestUser;
  let bob: TestUser;
  let cat1: string;
  let cat2: string;
  const ids = { p1: "", p2: "", q1: "", a1: "", c1: "" };
  const alpha = `${m}-alpha`;
  const beta = `${m}-beta`;

  beforeAll(async () => {
    alice = await createTestUser();
    bob = await createTestUser();
    await bulkLoad(async (c) => {
      cat1 = await insertCategory(c, `Cat one ${m}`);
      cat2 = await insertCategory(c, `Cat two ${m}`);
      ids.p1 = await insertPost(c, {
        authorId: alice.id, title: `Alpha post ${m}`, body: `About ${m}.`, categoryId: cat1,
        tags: [alpha, beta], language: "en", publishedAt: "2020-01-10T00:00:00Z",
      });
      ids.p2 = await insertPost(c, {
        authorId: bob.id, title: `Zweiter Beitrag ${m}`, body: `Über ${m}.`, categoryId: cat2,
        tags: [alpha], language: "de", publishedAt: "2021-06-01T00:00:00Z",
      });
      ids.q1 = await insertQuestion(c, {
        authorId: alice.id, title: `Question about ${m}`, body: `How does ${m} work?`, categoryId: cat2,
        tags: [beta], language: "en", publishedAt: "2022-03-01T00:00:00Z",
      });
      ids.a1 = await insertAnswer(c, ids.q1, bob.id, `This is how ${m} works.`);
      ids.c1 = await insertComment(c, { postId: ids.p1 }, bob.id, `Thanks for writing about ${m}!`);
    });
  });

  it("finds all five documents with no filter", async () => {
    expect(await searchIds({ query: m })).toEqual(sorted(Object.values(ids)));
  });

  it("narrows by kind", async () => {
    expect(await searchIds({ query: m, kinds: ["post"] })).toEqual(sorted([ids.p1, ids.p2]));
    expect(await searchIds({ query: m, kinds: ["question", "answer"] })).toEqual(sorted([ids.q1, ids.a1]));
    expect(await searchIds({ query: m, kinds: ["comment"] })).toEqual([ids.c1]);
    const kinds = (await search({ query: m })).nodes.map((n) => [n.rowId, n.kind]);
    expect(Object.fromEntries(kinds)).toEqual({
      [ids.p1]: "post", [ids.p2]: "post", [ids.q1]: "question", [ids.a1]: "answer", [ids.c1]: "comment",
    });
  });

  it("narrows by category (an answer belongs to its question's category)", async () => {
    expect(await searchIds({ query: m, categoryIds: [cat1] })).toEqual([ids.p1]);
    expect(await searchIds({ query: m, categoryIds: [cat2] })).toEqual(sorted([ids.p2, ids.q1, ids.a1]));
    expect(await searchIds({ query: m, categoryIds: [cat1, cat2] })).toEqual(sorted([ids.p1, ids.p2, ids.q1, ids.a1]));
  });

  it("with several tags, needs all of them (matchAll) or any of them (matchAll: false)", async () => {
    expect(await searchIds({ query: m, tags: [alpha] })).toEqual(sorted([ids.p1, ids.p2]));
    expect(await searchIds({ query: m, tags: [alpha, beta] })).toEqual([ids.p1]);
    expect(await searchIds({ query: m, tags: [alpha, beta], matchAll: true })).toEqual([ids.p1]);
    expect(await searchIds({ query: m, tags: [alpha, beta], matchAll: false })).toEqual(sorted([ids.p1, ids.p2, ids.q1, ids.a1]));
  });

  it("narrows by author", async () => {
    expect(await searchIds({ query: m, authorId: alice.id })).toEqual(sorted([ids.p1, ids.q1]));
    expect(await searchIds({ query: m, authorId: bob.id })).toEqual(sorted([ids.p2, ids.a1, ids.c1]));
  });

  it("narrows by publication date range (after is inclusive, before exclusive)", async () => {
    expect(await searchIds({ query: m, publishedAfter: "2021-01-01T00:00:00Z", publishedBefore: "2022-01-01T00:00:00Z" })).toEqual([ids.p2]);
    expect(await searchIds({ query: m, publishedAfter: "2021-06-01T00:00:00Z", publishedBefore: "2021-06-01T00:00:01Z" })).toEqual([ids.p2]);
    expect(await searchIds({ query: m, publishedBefore: "2021-06-01T00:00:00Z" })).toEqual([ids.p1]);
    expect(await searchIds({ query: m, publishedAfter: "2022-01-01T00:00:00Z" })).toEqual(sorted([ids.q1, ids.a1, ids.c1]));
  });

  it("narrows by language (an answer has its question's language)", async () => {
    expect(await searchIds({ query: m, language: "de" })).toEqual([ids.p2]);
    expect(await searchIds({ query: m, language: "en" })).toEqual(sorted([ids.p1, ids.q1, ids.a1]));
  });

  it("combines filters with AND by default", async () => {
    expect(await searchIds({ query: m, authorId: alice.id, categoryIds: [cat2] })).toEqual([ids.q1]);
    expect(await searchIds({ query: m, authorId: alice.id, language: "de" })).toEqual([]);
    expect(await searchIds({ query: m, kinds: ["post"], tags: [alpha], language: "en" })).toEqual([ids.p1]);
  });

  it("combines filters with OR when matchAll is false, while kinds still narrow", async () => {
    expect(await searchIds({ query: m, authorId: alice.id, language: "de", matchAll: false })).toEqual(sorted([ids.p1, ids.q1, ids.p2]));
    expect(await searchIds({ query: m, categoryIds: [cat1], publishedAfter: "2022-01-01T00:00:00Z", matchAll: false })).toEqual(
      sorted([ids.p1, ids.q1, ids.a1, ids.c1]),
    );
    expect(await searchIds({ query: m, kinds: ["post"], authorId: alice.id, language: "de", matchAll: false })).toEqual(
      sorted([ids.p1, ids.p2]),
    );
    expect(await searchIds({ query: m, matchAll: false })).toEqual(sorted(Object.values(ids)));
  });

  it("returns each hit's author, category and publication time", async () => {
    const byId = Object.fromEntries((await search({ query: m })).nodes.map((n) => [n.rowId, n]));
    expect(byId[ids.p1]).toMatchObject({ authorId: alice.id, categoryId: cat1 });
    expect(new Date(byId[ids.p1].publishedAt!).toISOString()).toBe("2020-01-10T00:00:00.000Z");
    expect(byId[ids.a1]).toMatchObject({ authorId: bob.id, categoryId: cat2, title: `Question about ${m}` });
  });
});

describe("what search never shows", () => {
  const m = marker();
  let author: TestUser;
  let other: TestUser;
  let moderator: TestUser;
  let published: string;
  const hidden: Record<string, string> = {};

  beforeAll(async () => {
    author = await createTestUser();
    other = await createTestUser();
    moderator = await createTestUser({ roles: ["moderator"] });
    await bulkLoad(async (c) => {
      published = await insertPost(c, { authorId: author.id, title: `Published ${m}`, body: `Visible ${m}.` });
      hidden.draftPost = await insertPost(c, { authorId: author.id, title: `Draft ${m}`, body: `Secret ${m}.`, status: "draft" });
      hidden.hiddenPost = await insertPost(c, { authorId: author.id, title: `Hidden ${m}`, body: `Hidden ${m}.`, status: "hidden" });
      hidden.deletedPost = await insertPost(c, { authorId: author.id, title: `Deleted ${m}`, body: `Gone ${m}.`, status: "deleted" });
      hidden.draftQuestion = await insertQuestion(c, { authorId: author.id, title: `Draft question ${m}`, body: `Secret ${m}?`, status: "draft" });
      hidden.hiddenQuestion = await insertQuestion(c, { authorId: author.id, title: `Hidden question ${m}`, body: `Hidden ${m}?`, status: "hidden" });
      const question = await insertQuestion(c, { authorId: author.id, title: "Open question", body: "Anyone?" });
      hidden.hiddenAnswer = await insertAnswer(c, question, author.id, `Hidden answer ${m}.`, "hidden");
      hidden.deletedAnswer = await insertAnswer(c, question, author.id, `Deleted answer ${m}.`, "deleted");
      hidden.hiddenComment = await insertComment(c, { postId: published }, author.id, `Hidden comment ${m}.`);
      await c.query("update app_public.comments set status = 'hidden' where id = $1", [hidden.hiddenComment]);
    });
  });

  const whoSearches = () => [
    ["anonymous", undefined],
    ["another member", server.tokenFor(other)],
    ["the author", server.tokenFor(author)],
    ["a moderator", server.tokenFor(moderator)],
  ] as const;

  it("shows drafts, hidden and deleted content to nobody, not even their author or a moderator", async () => {
    for (const [who, token] of whoSearches()) {
      const found = await searchIds({ query: m }, token);
      expect({ who, found }).toEqual({ who, found: [published] });
    }
  });

  it("applies the same rules at the SQL level, as the API roles", async () => {
    for (const as of [
      { role: "anonymous" as const },
      { role: "authenticated" as const, userId: other.id, sessionId: other.sessionId },
      { role: "authenticated" as const, userId: author.id, sessionId: author.sessionId },
    ]) {
      const ids = await asRole(as, async (c) => (await c.query<{ id: string }>("select id from app_public.search($1)", [m])).rows.map((r) => r.id));
      expect(ids).toEqual([published]);
    }
  });

  it("does not find it by its title through the typo-tolerant path either", async () => {
    const found = await searchIds({ query: `Drfat ${m}` });
    expect(found).not.toContain(hidden.draftPost);
    expect((await searchIds({ query: `Hiden question ${m}` }, server.tokenFor(other)))).not.toContain(hidden.hiddenQuestion);
  });

  it("does not show comments and answers whose post or question was hidden or unpublished", async () => {
    const m2 = marker();
    const ids = await bulkLoad(async (c) => {
      const post = await insertPost(c, { authorId: author.id, title: "Soon hidden", body: "Body." });
      const draftAgain = await insertPost(c, { authorId: author.id, title: "Soon a draft again", body: "Body." });
      const question = await insertQuestion(c, { authorId: author.id, title: "Soon hidden question", body: "Body?" });
      const comment = await insertComment(c, { postId: post }, other.id, `A reply about ${m2}.`);
      const commentOnDraft = await insertComment(c, { postId: draftAgain }, other.id, `Another reply about ${m2}.`);
      const answer = await insertAnswer(c, question, other.id, `An answer about ${m2}.`);
      const commentOnQuestion = await insertComment(c, { questionId: question }, other.id, `A remark about ${m2}.`);
      await c.query("update app_public.posts set status = 'hidden' where id = $1", [post]);
      await c.query("update app_public.posts set status = 'draft' where id = $1", [draftAgain]);
      await c.query("update app_public.questions set status = 'hidden' where id = $1", [question]);
      return { comment, commentOnDraft, answer, commentOnQuestion };
    });
    const stranger = await createTestUser();
    for (const [who, token] of [["anonymous", undefined], ["another member", server.tokenFor(stranger)]] as const) {
      const found = await searchIds({ query: m2 }, token);
      // Named, so a failure says which of them leak.
      const leaked = Object.entries(ids).filter(([, id]) => found.includes(id)).map(([name]) => name);
      expect({ who, leaked, found }).toEqual({ who, leaked: [], found: [] });
    }
  });

  it("does not find deactivated members", async () => {
    const m2 = marker();
    const gone = await createTestUser();
    await rootDb().query("update app_public.users set display_name = $2, is_active = false where id = $1", [gone.id, `Gone ${capitalise(m2)}`]);
    expect(await searchIds({ query: m2 })).toEqual([]);
    expect(await searchIds({ query: m2, kinds: ["user"] }, server.tokenFor(other))).toEqual([]);
  });
});

describe("snippets", () => {
  it("marks the match and escapes HTML written in a body", async () => {
    const m = marker();
    const author = await createTestUser();
    const body = `Intro ${m} <img src=x onerror=alert(1)> & <script>alert(2)</script> end.`;
    const ids = await bulkLoad(async (c) => {
      const post = await insertPost(c, { authorId: author.id, title: "Snippet check", body });
      const comment = await insertComment(c, { postId: post }, author.id, `Look: <svg onload=alert(3)> ${m} </b> is neat.`);
      return { post, comment };
    });
    const hits = Object.fromEntries((await search({ query: m })).nodes.map((n) => [n.rowId, n]));
    const post = hits[ids.post];
    const comment = hits[ids.comment];
    expect(post.snippet).toContain(`<mark>${m}</mark>`);
    expect(post.snippet).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(post.snippet).toContain("&lt;script&gt;alert(2)");
    expect(post.snippet).toContain("&amp;");
    expect(comment.snippet).toContain(`<mark>${m}</mark>`);
    expect(comment.snippet).toContain("&lt;svg onload=alert(3)&gt;");
    for (const snippet of [post.snippet!, comment.snippet!]) {
      // The only markup left is <mark>…</mark>.
      expect(snippet.replace(/<\/?mark>/g, "")).not.toMatch(/[<>]/);
    }
  });

  it("escapes HTML in a member's profile text", async () => {
    const m = marker();
    const user = await createTestUser();
    await rootDb().query("update app_public.users set job_title = $2, bio = $3 where id = $1", [
      user.id,
      "Engineer <b>",
      `I write about <img src=x onerror=alert(1)> and ${m}.`,
    ]);
    const hit = (await search({ query: m, kinds: ["user"] })).nodes.find((n) => n.rowId === user.id);
    expect(hit).toBeDefined();
    expect(hit!.snippet).toContain(`<mark>${m}</mark>`);
    expect(hit!.snippet!.replace(/<\/?mark>/g, "")).not.toMatch(/[<>]/);
  });
});

describe("members", () => {
  it("finds a member by username and by display name", async () => {
    const m = marker();
    const user = await createTestUser();
    await rootDb().query("update app_public.users set display_name = $2, job_title = 'Platform engineer' where id = $1", [
      user.id,
      `Wilhelmina ${capitalise(m)}`,
    ]);
    const byName = await search({ query: `Wilhelmina ${m}` });
    expect(byName.nodes[0]).toMatchObject({ kind: "user", rowId: user.id, title: `Wilhelmina ${capitalise(m)}` });
    const byUsername = await search({ query: user.username, kinds: ["user"] });
    expect(byUsername.nodes.map((n) => n.rowId)).toContain(user.id);
    const anonymous = await search({ query: m });
    expect(anonymous.nodes.map((n) => n.rowId)).toEqual([user.id]);
  });

  it("finds a member by a display name English would stem, even when posts mention the same words", async () => {
    // The profile is indexed without stemming ("jennings"), so the query must not be stemmed either ("jen").
    const m = marker();
    const user = await createTestUser();
    const author = await createTestUser();
    await rootDb().query("update app_public.users set display_name = $2 where id = $1", [user.id, `Jennings ${capitalise(m)}`]);
    await bulkLoad(async (c) => {
      for (let i = 0; i < 6; i += 1) {
        await insertPost(c, { authorId: author.id, title: `Interview ${i}`, body: `We talked to Jennings ${m} about testing.` });
      }
    });
    const { nodes } = await search({ query: `Jennings ${m}` });
    expect(nodes.filter((n) => n.kind === "post")).toHaveLength(6);
    expect(nodes.map((n) => n.rowId)).toContain(user.id);
  });
});

describe("search suggestions", () => {
  const m = marker();
  let user: TestUser;
  const ids = { post: "", question: "", draft: "", hiddenQuestion: "" };

  beforeAll(async () => {
    user = await createTestUser();
    await rootDb().query("update app_public.users set username = $2 where id = $1", [user.id, `${m}_alice`]);
    await bulkLoad(async (c) => {
      ids.post = await insertPost(c, { authorId: user.id, title: `${capitalise(m)} guide to Kotlin`, body: "Body.", tags: [`${m}-kotlin`, `${m}-java`] });
      ids.question = await insertQuestion(c, { authorId: user.id, title: `${capitalise(m)} question about Java`, body: "Body?", tags: [`${m}-java`] });
      ids.draft = await insertPost(c, { authorId: user.id, title: `${capitalise(m)} secret draft`, body: "Body.", status: "draft", tags: [`${m}-drafttag`] });
      ids.hiddenQuestion = await insertQuestion(c, { authorId: user.id, title: `${capitalise(m)} hidden question`, body: "Body?", status: "hidden" });
    });
  });

  const SUGGEST = `query($prefix: String!, $max: Int) {
    searchSuggestions(prefix: $prefix, maxResults: $max) { nodes { kind value rowId } }
  }`;
  type Suggestion = { kind: string; value: string; rowId: string | null };
  async function suggest(prefix: string, max?: number, token?: string): Promise<Suggestion[]> {
    const res = await server.graphql<{ searchSuggestions: { nodes: Suggestion[] } }>(SUGGEST, { prefix, max }, { token });
    expect(res.errors).toBeUndefined();
    return res.data!.searchSuggestions.nodes;
  }
  const mine = (list: Suggestion[]) =>
    list.filter((s) => s.value.toLowerCase().startsWith(m)).map((s) => `${s.kind}:${s.value}`).sort();

  it("suggests tags, usernames and published titles by prefix, to anyone", async () => {
    const expected = [
      `tag:${m}-java`,
      `tag:${m}-kotlin`,
      `title:${capitalise(m)} guide to Kotlin`,
      `title:${capitalise(m)} question about Java`,
      `user:${m}_alice`,
    ].sort();
    expect(mine(await suggest(m))).toEqual(expected);
    expect(mine(await suggest(m, undefined, server.tokenFor(user)))).toEqual(expected);
    const all = await suggest(m);
    expect(all.find((s) => s.kind === "user")?.rowId).toBe(user.id);
    expect(all.find((s) => s.value === `${capitalise(m)} guide to Kotlin`)?.rowId).toBe(ids.post);
    expect(all.find((s) => s.value === `${capitalise(m)} question about Java`)?.rowId).toBe(ids.question);
  });

  it("matches the prefix case-insensitively and narrows as the user types", async () => {
    expect(mine(await suggest(m.toUpperCase()))).toHaveLength(5);
    expect(mine(await suggest(`  ${m}-k`))).toEqual([`tag:${m}-kotlin`]);
    expect(mine(await suggest(`${m}_AL`))).toEqual([`user:${m}_alice`]);
    expect(mine(await suggest(`${m} guide`))).toEqual([`title:${capitalise(m)} guide to Kotlin`]);
  });

  it("ranks tags by use and limits each kind to maxResults", async () => {
    const tags = (await suggest(m)).filter((s) => s.kind === "tag").map((s) => s.value);
    expect(tags).toEqual([`${m}-java`, `${m}-kotlin`]); // java: a post and a question
    const one = await suggest(m, 1);
    for (const kind of ["tag", "user", "title"]) {
      expect(one.filter((s) => s.kind === kind).length).toBeLessThanOrEqual(kind === "title" ? 2 : 1);
    }
  });

  it("suggests titles only from 3 characters on", async () => {
    expect((await suggest(m.slice(0, 2))).filter((s) => s.kind === "title")).toEqual([]);
    expect(mine(await suggest(m.slice(0, 3))).filter((s) => s.startsWith("title:"))).toHaveLength(2);
  });

  it("never suggests titles or tags of drafts and hidden content", async () => {
    const all = (await suggest(m, 50, server.tokenFor(user))).map((s) => s.value);
    expect(all).not.toContain(`${capitalise(m)} secret draft`);
    expect(all).not.toContain(`${capitalise(m)} hidden question`);
    expect(all).not.toContain(`${m}-drafttag`);
  });

  it("drops a tag once the only content carrying it is hidden", async () => {
    const tag = `${m}-fleeting`;
    const post = await bulkLoad((c) => insertPost(c, { authorId: user.id, title: "Fleeting", body: "Body.", tags: [tag] }));
    expect((await suggest(tag)).map((s) => s.value)).toContain(tag);
    await rootDb().query("update app_public.posts set status = 'hidden' where id = $1", [post]);
    expect((await suggest(tag)).map((s) => s.value)).not.toContain(tag);
  });

  it("treats % and _ in the prefix as the characters typed, not as wildcards", async () => {
    const wildcard = `_${m.slice(1)}`; // not a prefix of anything this file created
    expect(mine(await suggest(wildcard))).toEqual([]);
    expect(mine(await suggest(`${m.slice(0, 4)}%`))).toEqual([]);
  });
});

describe("paging", () => {
  const m = marker();
  let authorId: string;
  beforeAll(async () => {
    const author = await createTestUser();
    authorId = author.id;
    await bulkLoad((c) =>
      c.query(
        `insert into app_public.posts (author_id, title, body, status)
         select $1, 'Paging ' || $2 || ' number ' || g, 'Body about ' || $2 || repeat(' ' || $2, g % 4), 'published'
           from generate_series(1, 105) g`,
        [author.id, m],
      ),
    );
  });

  // 105 matches, more than search.candidates (100): search ranks the 100 best by static score.
  it("pages through results with first/after, in rank order, without gaps or repeats", async () => {
    const everything = await search({ query: m, first: 100 });
    expect(everything.totalCount).toBe(100);
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 20; page += 1) {
      const res = await search({ query: m, first: 25, after });
      expect(res.nodes.length).toBeLessThanOrEqual(25);
      seen.push(...res.nodes.map((n) => n.rowId));
      if (!res.pageInfo.hasNextPage) break;
      after = res.pageInfo.endCursor!;
    }
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);
    expect(seen).toEqual(everything.nodes.map((n) => n.rowId));
  });

  it("returns at most 100 rows when no page size is given, and counts no more than it ranks", async () => {
    const res = await search({ query: m });
    expect(res.nodes).toHaveLength(100);
    expect(res.totalCount).toBe(100);
    expect(res.pageInfo.hasNextPage).toBe(false);
    // The default page is 100 on any connection with more rows: the same 105 posts by their author.
    const posts = await server.graphql<{ allPosts: { totalCount: number; nodes: unknown[]; pageInfo: { hasNextPage: boolean } } }>(
      `query($a: UUID!) { allPosts(condition: { authorId: $a }) { totalCount nodes { rowId } pageInfo { hasNextPage } } }`,
      { a: authorId },
    );
    expect(posts.errors).toBeUndefined();
    expect(posts.data!.allPosts.nodes).toHaveLength(100);
    expect(posts.data!.allPosts.totalCount).toBe(105);
    expect(posts.data!.allPosts.pageInfo.hasNextPage).toBe(true);
  });

  it("refuses a declared $first left unset, like an explicit null: give first or last (INVAL), never an unbounded page", async () => {
    // The default page of 100 applies when the document names neither argument;
    // a variable that arrives empty cannot be told apart from null at run time.
    const res = await server.graphql<{ search: SearchPage }>(searchDocument({ first: true, after: true }), { query: m });
    expect(errorCode(res)).toBe("INVAL");
    expect(res.errors?.[0].message).toBe("Give first or last (1–100)");
  });

  it("refuses an explicit first: null with INVAL", async () => {
    const res = await server.graphql(`query($q: String!) { search(query: $q, first: null) { nodes { rowId } } }`, { q: m });
    expect(errorCode(res)).toBe("INVAL");
  });

  it("refuses first above 100 with INVAL, for search and for suggestions", async () => {
    const res = await searchRaw({ query: m, first: 101 });
    expect(errorCode(res)).toBe("INVAL");
    expect(res.data?.search ?? null).toBeNull();
    const suggestions = await server.graphql(
      `query($p: String!) { searchSuggestions(prefix: $p, first: 101) { nodes { value } } }`,
      { p: m },
    );
    expect(errorCode(suggestions)).toBe("INVAL");
    expect((await search({ query: m, first: 100 })).nodes).toHaveLength(100);
  });
});

/**
 * Answers and comments are seen only where what they respond to is seen.
 *
 * For comments on posts, questions and answers, and for answers on
 * questions: every parent status × every child status × every viewer
 * (anonymous, another member, the child's author, the parent's author, a
 * moderator), through every read path a client has — by row id, by `node`,
 * the parent's connection with `totalCount`, aggregates, and search. The
 * expected outcome is computed from the documented rule, and refusals are
 * asserted as strictly as successes: a row must be absent, not just present
 * where allowed.
 */
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { createTestUser, uniqueName, type TestUser } from "../helpers/users";

type Status = "draft" | "published" | "archived" | "hidden" | "deleted";
type Viewer =
  "anonymous" | "other" | "childAuthor" | "parentAuthor" | "moderator";
type ParentKind = "post" | "question" | "answer" | "answerUnderHiddenQuestion";

const PARENT_STATUSES: Status[] = [
  "draft",
  "published",
  "archived",
  "hidden",
  "deleted",
];
const VIEWERS: Viewer[] = [
  "anonymous",
  "other",
  "childAuthor",
  "parentAuthor",
  "moderator",
];

interface Parent {
  kind: ParentKind;
  status: Status;
  id: string;
  /** For answers: the question they answer (published, or hidden for answerUnderHiddenQuestion). */
  questionStatus?: Status;
}

interface Child {
  table: "comments" | "answers";
  parent: Parent;
  status: Status;
  id: string;
  nodeId: string;
}

let server: TestServer;
let users: Record<Exclude<Viewer, "anonymous">, TestUser>;
const token = uniqueName("vis").replace(/_/g, "x").toLowerCase(); // one searchable word for every fixture
const parents: Parent[] = [];
const children: Child[] = [];
/** The like each parent and child got, by the target's id. */
const reactionOf = new Map<string, string>();

function publicStatus(status: Status): boolean {
  return status === "published" || status === "archived";
}

/** The documented rule for the parent: its own status, then (answers) its question. */
function parentVisible(parent: Parent, viewer: Viewer): boolean {
  const privileged = viewer === "parentAuthor" || viewer === "moderator";
  const own = publicStatus(parent.status) || privileged;
  if (parent.questionStatus === undefined) return own;
  return own && (publicStatus(parent.questionStatus) || privileged);
}

function childVisible(child: Child, viewer: Viewer): boolean {
  const tombstone = child.table === "comments" && child.status === "deleted";
  const own =
    tombstone ||
    publicStatus(child.status) ||
    viewer === "childAuthor" ||
    viewer === "moderator";
  return own && parentVisible(child.parent, viewer);
}

/** Search ranks published children under published parents (and answers' questions), for every viewer alike. */
function childSearchable(child: Child): boolean {
  return (
    child.status === "published" &&
    child.parent.status === "published" &&
    (child.parent.questionStatus === undefined ||
      child.parent.questionStatus === "published")
  );
}

function tokenOf(viewer: Viewer): string | undefined {
  return viewer === "anonymous" ? undefined : server.tokenFor(users[viewer]);
}

async function arrange(): Promise<void> {
  const db = await rootDb().connect();
  const alice = users.parentAuthor.id;
  const carol = users.childAuthor.id;
  const one = async (text: string, values: unknown[]) =>
    (
      await db.query<{ id: string }>(text, values).catch((e) => {
        throw new Error(`${text} ${JSON.stringify(values)}: ${e}`);
      })
    ).rows[0].id;
  try {
    await db.query("begin");
    await db.query("set local agora.bulk_load = 'on'");
    const statusUpdates: Array<[string, string, Status]> = [];
    for (const kind of [
      "post",
      "question",
      "answer",
      "answerUnderHiddenQuestion",
    ] as ParentKind[]) {
      const statuses =
        kind === "answerUnderHiddenQuestion"
          ? (["published"] as Status[])
          : PARENT_STATUSES;
      for (const status of statuses) {
        // Everything is created published (children go on open content only), then moved to its status.
        let id: string;
        let questionStatus: Status | undefined;
        if (kind === "post") {
          id = await one(
            "insert into app_public.posts (author_id, title, body, status) values ($1, $2, 'matrix', 'published') returning id",
            [alice, `Post ${status} ${token}`],
          );
          statusUpdates.push(["posts", id, status]);
        } else {
          const questionId = await one(
            "insert into app_public.questions (author_id, title, body, status) values ($1, $2, 'matrix', 'published') returning id",
            [alice, `Question ${kind} ${status} ${token}`],
          );
          if (kind === "question") {
            id = questionId;
          } else {
            id = await one(
              "insert into app_public.answers (question_id, author_id, body, status) values ($1, $2, 'matrix', 'published') returning id",
              [questionId, alice],
            );
            questionStatus = kind === "answer" ? "published" : "hidden";
            statusUpdates.push(
              ["answers", id, status],
              ["questions", questionId, questionStatus],
            );
          }
        }
        const parent: Parent = { kind, status, id, questionStatus };
        parents.push(parent);
        const childTables: Array<Child["table"]> =
          kind === "question" ? ["comments", "answers"] : ["comments"];
        for (const table of childTables) {
          for (const childStatus of [
            "published",
            "hidden",
            "deleted",
          ] as Status[]) {
            const column =
              table === "answers" || kind === "question"
                ? "question_id"
                : kind === "post"
                  ? "post_id"
                  : "answer_id";
            const childId = await one(
              `insert into app_public.${table} (${column}, author_id, body) values ($1, $2, $3) returning id`,
              [
                id,
                carol,
                `${table} ${childStatus} under ${kind} ${status} ${token}`,
              ],
            );
            children.push({
              table,
              parent,
              status: childStatus,
              id: childId,
              nodeId: "",
            });
            statusUpdates.unshift([table, childId, childStatus]);
          }
        }
        if (kind === "question") statusUpdates.push(["questions", id, status]);
      }
    }
    // A reaction by another member on every parent and child, for the reactions' own rule.
    for (const row of [...parents, ...children]) {
      const column =
        "table" in row
          ? row.table === "comments"
            ? "comment_id"
            : "answer_id"
          : row.kind === "post"
            ? "post_id"
            : row.kind === "question"
              ? "question_id"
              : "answer_id";
      reactionOf.set(
        row.id,
        await one(
          `insert into app_public.reactions (user_id, kind, ${column}) values ($1, 'like', $2) returning id`,
          [users.other.id, row.id],
        ),
      );
    }
    // Children first (unshifted), then parents: nothing can be written under a closed parent.
    for (const [table, id, status] of statusUpdates) {
      await db.query(
        `update app_public.${table} set status = $2 where id = $1`,
        [id, status],
      );
    }
    await db.query("commit");
  } catch (error) {
    await db.query("rollback");
    throw error;
  } finally {
    db.release();
  }
}

beforeAll(async () => {
  users = {
    other: await createTestUser(),
    childAuthor: await createTestUser(),
    parentAuthor: await createTestUser(),
    moderator: await createTestUser({ roles: ["moderator"] }),
  };
  server = await startTestServer();
  await arrange();
  // Node ids as a client receives them (the moderator sees every row).
  for (const child of children) {
    const type = child.table === "comments" ? "comment" : "answer";
    const res = await server.graphql<Record<string, { id: string } | null>>(
      `query ($id: UUID!) { row: ${type}ByRowId(rowId: $id) { id } }`,
      { id: child.id },
      { token: tokenOf("moderator") },
    );
    expect(res.errors).toBeUndefined();
    child.nodeId = res.data!.row!.id;
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await closeSqlHelpers();
});

describe.each(VIEWERS)("as %s", (viewer) => {
  test("by row id and by node: exactly the rows the rule allows", async () => {
    const mismatches: string[] = [];
    for (const child of children) {
      const type = child.table === "comments" ? "comment" : "answer";
      const res = await server.graphql<{
        byId: { rowId: string } | null;
        byNode: { rowId?: string } | null;
      }>(
        `query ($id: UUID!, $nodeId: ID!) {
           byId: ${type}ByRowId(rowId: $id) { rowId }
           byNode: node(id: $nodeId) { ... on ${type === "comment" ? "Comment" : "Answer"} { rowId } }
         }`,
        { id: child.id, nodeId: child.nodeId },
        { token: tokenOf(viewer) },
      );
      expect(res.errors).toBeUndefined();
      const expected = childVisible(child, viewer);
      const label = `${child.table} ${child.status} under ${child.parent.kind} ${child.parent.status}/${child.parent.questionStatus ?? "-"}`;
      if ((res.data!.byId?.rowId === child.id) !== expected)
        mismatches.push(`byId: ${label} expected ${expected}`);
      if ((res.data!.byNode?.rowId === child.id) !== expected)
        mismatches.push(`node: ${label} expected ${expected}`);
      if (!expected && (res.data!.byId !== null || res.data!.byNode !== null))
        mismatches.push(`not null: ${label}`);
    }
    expect(mismatches).toEqual([]);
  });

  test("connections, totalCount and aggregates: exactly the rows the rule allows", async () => {
    const mismatches: string[] = [];
    for (const parent of parents) {
      const kids = children.filter((c) => c.parent === parent);
      for (const table of ["comments", "answers"] as const) {
        const mine = kids.filter((c) => c.table === table);
        if (mine.length === 0) continue;
        const field = table === "comments" ? "allComments" : "allAnswers";
        const column =
          table === "answers"
            ? "questionId"
            : parent.kind === "post"
              ? "postId"
              : parent.kind === "question"
                ? "questionId"
                : "answerId";
        const res = await server.graphql<{
          list: {
            totalCount: number;
            nodes: Array<{ rowId: string }>;
            aggregates: { distinctCount: { rowId: string } };
          };
        }>(
          `query ($id: UUID!) {
             list: ${field}(condition: { ${column}: $id }, first: 100) {
               totalCount nodes { rowId } aggregates { distinctCount { rowId } }
             }
           }`,
          { id: parent.id },
          { token: tokenOf(viewer) },
        );
        expect(res.errors).toBeUndefined();
        const expected = mine
          .filter((c) => childVisible(c, viewer))
          .map((c) => c.id)
          .sort();
        const got = res.data!.list.nodes.map((n) => n.rowId).sort();
        const label = `${table} under ${parent.kind} ${parent.status}/${parent.questionStatus ?? "-"}`;
        if (JSON.stringify(got) !== JSON.stringify(expected))
          mismatches.push(
            `nodes: ${label}: ${got.length} vs ${expected.length}`,
          );
        if (res.data!.list.totalCount !== expected.length)
          mismatches.push(`totalCount: ${label}`);
        if (
          Number(res.data!.list.aggregates.distinctCount.rowId) !==
          expected.length
        )
          mismatches.push(`aggregates: ${label}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  test("search: published children under published parents only", async () => {
    const res = await server.graphql<{
      search: { nodes: Array<{ rowId: string; kind: string }> };
    }>(
      `query ($q: String!) { search(query: $q, kinds: ["comment", "answer"], first: 100) { nodes { rowId kind } } }`,
      { q: token },
      { token: tokenOf(viewer) },
    );
    expect(res.errors).toBeUndefined();
    const got = res.data!.search.nodes.map((n) => n.rowId).sort();
    const expected = children
      .filter(childSearchable)
      .map((c) => c.id)
      .sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(got).toEqual(expected);
  });
});

describe.each(VIEWERS)("reactions as %s", (viewer) => {
  test("a reaction is seen exactly where its target is seen", async () => {
    const mismatches: string[] = [];
    const targets = [
      ...parents.map((p) => ({
        id: p.id,
        visible: parentVisible(p, viewer),
        label: `${p.kind} ${p.status}`,
      })),
      ...children.map((c) => ({
        id: c.id,
        visible: childVisible(c, viewer),
        label: `${c.table} ${c.status} under ${c.parent.kind} ${c.parent.status}`,
      })),
    ];
    for (const target of targets) {
      const res = await server.graphql<{
        byId: { rowId: string } | null;
        list: { totalCount: number };
      }>(
        `query ($id: UUID!) { byId: reactionByRowId(rowId: $id) { rowId } list: allReactions(condition: { rowId: $id }) { totalCount } }`,
        { id: reactionOf.get(target.id) },
        { token: tokenOf(viewer) },
      );
      expect(res.errors).toBeUndefined();
      if (res.data!.list.totalCount !== (target.visible ? 1 : 0))
        mismatches.push(`list: ${target.label}: expected ${target.visible}`);
      if ((res.data!.byId !== null) !== target.visible)
        mismatches.push(`byId: ${target.label}: expected ${target.visible}`);
    }
    expect(mismatches).toEqual([]);
  });
});

test("the fixture covers every parent status with every child status", () => {
  for (const kind of ["post", "question", "answer"] as ParentKind[]) {
    for (const status of PARENT_STATUSES) {
      const parent = parents.find(
        (p) => p.kind === kind && p.status === status,
      );
      expect(parent).toBeDefined();
      expect(
        children
          .filter((c) => c.parent === parent && c.table === "comments")
          .map((c) => c.status)
          .sort(),
      ).toEqual(["deleted", "hidden", "published"]);
    }
  }
  // Sanity of the rule itself: some rows are hidden from anonymous visitors, and moderators see them all.
  expect(children.some((c) => !childVisible(c, "anonymous"))).toBe(true);
  expect(children.every((c) => childVisible(c, "moderator"))).toBe(true);
});

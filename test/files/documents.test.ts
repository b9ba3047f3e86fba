/**
 * Documents at the SQL level: who sees and changes documents, their versions,
 * their files, and comments and reactions on them (row-level security matrix:
 * anonymous, another member, the owner and an admin × public/private ×
 * select/insert/update/delete); versions (history kept, exactly one current,
 * enforced by the database); the download count (once per member per day);
 * the file slots on posts, questions and job applications (FSLOT, FORBD) and
 * who reads CVs; the lifecycle (deletion queues byte removal only on commit,
 * expiry of abandoned reservations, the orphan query).
 */
import fs from "node:fs";
import type pg from "pg";
import { parseCrontab } from "graphile-worker";
import { CRONTAB_FILE } from "../../src/worker/runner";
import { makeTaskList } from "../../src/tasks";
import { localStorage } from "../../src/files/storage";
import type { Mailer } from "../../src/mail/mailer";
import { asRole, closeSqlHelpers, rootDb, sqlErrorCode, type As } from "../helpers/sql";
import { asUser, createTestUser, type TestUser } from "../helpers/users";
import { PDF, PNG } from "../../src/files/sniff";
import { insertApplication, insertJob } from "../jobs/helpers";

type Actor = "anonymous" | "owner" | "other" | "admin";
const ACTORS: Actor[] = ["anonymous", "owner", "other", "admin"];

let users: { owner: TestUser; other: TestUser; admin: TestUser };
const caller = (actor: Actor): As => (actor === "anonymous" ? { role: "anonymous" } : asUser(users[actor]));

/** Runs `fn` as `user` in a transaction that commits. */
async function committedAs<T>(user: TestUser, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await rootDb().connect();
  try {
    await client.query("begin");
    await client.query(
      "select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)",
      [user.id, user.sessionId],
    );
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A ready file of `purpose` owned by `user` (reserved as the user, finished as the upload endpoint would). */
async function readyFile(user: TestUser, purpose: string, options: { isPublic?: boolean; type?: string; ready?: boolean } = {}): Promise<string> {
  const type = options.type ?? (["avatar", "post_image"].includes(purpose) ? PNG : PDF);
  const name = type === PNG ? "picture.png" : "paper.pdf";
  const id = await committedAs(user, async (c) => {
    const { rows } = await c.query<{ id: string }>("select id from app_public.create_upload($1, $2, 1000, $3)", [purpose, name, options.isPublic ?? null]);
    return rows[0].id;
  });
  if (options.ready !== false) await rootDb().query("select app_private.finish_upload($1, $2, $3, 500)", [id, user.id, type]);
  return id;
}

async function createDocument(user: TestUser, isPublic: boolean, title = "Quarterly report"): Promise<{ documentId: string; fileId: string }> {
  const fileId = await readyFile(user, "document");
  const documentId = await committedAs(user, async (c) => {
    const { rows } = await c.query<{ id: string }>("select id from app_public.create_document($1, $2, 'A description', '{Reports, reports, Finance}', $3)", [
      title,
      fileId,
      isPublic,
    ]);
    return rows[0].id;
  });
  return { documentId, fileId };
}

const jobsFor = async (key: string) =>
  (
    await rootDb().query<{ n: number }>(
      `select count(*)::int as n from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
        where t.identifier = 'delete_file_bytes' and j.payload->>'key' = $1`,
      [key],
    )
  ).rows[0].n;
const dropJobsFor = (keys: string[]) => rootDb().query("delete from graphile_worker._private_jobs where payload->>'key' = any($1)", [keys]);

let pub: { documentId: string; fileId: string };
let priv: { documentId: string; fileId: string };
/** Every fixture row of the matrix, by label. */
const keys: Record<string, string> = {};

beforeAll(async () => {
  const [owner, other, admin] = await Promise.all([createTestUser(), createTestUser(), createTestUser({ roles: ["admin"] })]);
  users = { owner, other, admin };
  pub = await createDocument(owner, true, "Public handbook");
  priv = await createDocument(owner, false, "Private draft");
  keys["document:public"] = pub.documentId;
  keys["document:private"] = priv.documentId;
  keys["file:public"] = pub.fileId;
  keys["file:private"] = priv.fileId;
  for (const [label, documentId] of [["public", pub.documentId], ["private", priv.documentId]]) {
    const { rows } = await rootDb().query<{ id: string }>("select id from app_public.document_versions where document_id = $1", [documentId]);
    keys[`version:${label}`] = rows[0].id;
    // The owner comments and reacts on both (only possible for the owner on the private one).
    keys[`comment:${label}`] = await committedAs(owner, async (c) => {
      const { rows: comment } = await c.query<{ id: string }>("insert into app_public.comments (document_id, body) values ($1, 'Owner note') returning id", [documentId]);
      await c.query("select app_public.react_to_document($1, 'like')", [documentId]);
      return comment[0].id;
    });
    const { rows: reaction } = await rootDb().query<{ id: string }>("select id from app_public.reactions where document_id = $1", [documentId]);
    keys[`reaction:${label}`] = reaction[0].id;
  }
});

afterAll(async () => {
  await closeSqlHelpers();
});

const labelsOf = (ids: string[]) => ids.map((id) => Object.entries(keys).find(([, v]) => v === id)![0]).sort();

describe("row-level security matrix for documents", () => {
  // What each actor reads: the owner everything; everyone else (admins included) only the public document and what hangs on it.
  const visible: Record<Actor, string[]> = {
    anonymous: ["comment:public", "document:public", "file:public", "reaction:public", "version:public"],
    other: ["comment:public", "document:public", "file:public", "reaction:public", "version:public"],
    admin: ["comment:public", "document:public", "file:public", "reaction:public", "version:public"],
    owner: [
      "comment:private", "comment:public", "document:private", "document:public", "file:private", "file:public",
      "reaction:private", "reaction:public", "version:private", "version:public",
    ],
  };

  test.each(ACTORS)("%s selects exactly what the policies allow", async (actor) => {
    const seen = await asRole(caller(actor), async (c) => {
      const ids = Object.values(keys);
      const found: string[] = [];
      for (const table of ["documents", "document_versions", "files", "comments", "reactions"]) {
        const { rows } = await c.query<{ id: string }>(`select id from app_public.${table} where id = any($1)`, [ids]);
        found.push(...rows.map((r) => r.id));
      }
      return labelsOf(found);
    });
    expect(seen).toEqual(visible[actor].sort());
  });

  test.each(ACTORS)("%s cannot insert documents or versions directly (42501)", async (actor) => {
    for (const sql of [
      ["insert into app_public.documents (title) values ('Sneaky')", []],
      ["insert into app_public.document_versions (document_id, file_id, version_number) values ($1, $2, 9)", [pub.documentId, pub.fileId]],
    ] as const) {
      const code = await asRole(caller(actor), (c) => sqlErrorCode(c.query(sql[0], [...sql[1]])));
      expect({ actor, sql: sql[0], code }).toEqual({ actor, sql: sql[0], code: "42501" });
    }
  });

  test.each(ACTORS.flatMap((actor) => (["public", "private"] as const).map((kind) => [actor, kind] as const)))(
    "%s updating and deleting the %s document: only the owner",
    async (actor, kind) => {
      const id = keys[`document:${kind}`];
      const outcome = async (sql: string) =>
        asRole(caller(actor), async (c) => {
          try {
            return (await c.query(sql, [id])).rowCount;
          } catch (error) {
            return (error as { code: string }).code;
          }
        });
      const expected = actor === "anonymous" ? "42501" : actor === "owner" ? 1 : 0;
      expect(await outcome("update app_public.documents set title = 'Changed' where id = $1")).toBe(expected);
      expect(await outcome("delete from app_public.documents where id = $1")).toBe(expected);
      // Versions are changed through the functions only.
      expect(await outcome("update app_public.document_versions set is_current = false where document_id = $1")).toBe("42501");
      expect(await outcome("delete from app_public.document_versions where document_id = $1")).toBe("42501");
    },
  );

  test("comments on documents: members comment on what they can read; the private document is NOTFD for others", async () => {
    await asRole(asUser(users.other), async (c) => {
      await c.query("savepoint s");
      const { rows } = await c.query<{ id: string; depth: number }>(
        "insert into app_public.comments (document_id, body) values ($1, 'Useful, thanks') returning id, depth",
        [pub.documentId],
      );
      expect(rows[0].depth).toBe(1);
      // A reply joins the document's thread.
      const reply = await c.query<{ document_id: string }>("insert into app_public.comments (parent_id, body) values ($1, 'Agreed') returning document_id", [rows[0].id]);
      expect(reply.rows[0].document_id).toBe(pub.documentId);
      const counts = await rootDb().query("select comment_count from app_public.documents where id = $1", [pub.documentId]);
      expect(counts.rows[0].comment_count).toBe(1); // the other transaction has not committed
      const mine = await c.query("select comment_count from app_public.documents where id = $1", [pub.documentId]);
      expect(mine.rows[0].comment_count).toBe(3);
      await c.query("rollback to savepoint s");
      expect(await sqlErrorCode(c.query("insert into app_public.comments (document_id, body) values ($1, 'Let me in')", [priv.documentId]))).toBe("NOTFD");
    });
    await asRole({ role: "anonymous" }, async (c) => {
      expect(await sqlErrorCode(c.query("insert into app_public.comments (document_id, body) values ($1, 'Anon')", [pub.documentId]))).toBe("42501");
    });
  });

  test("reactions on documents: reactToDocument toggles and counts; a private document is NOTFD for others", async () => {
    await asRole(asUser(users.other), async (c) => {
      const like = await c.query<{ kind: string }>("select kind from app_public.react_to_document($1, 'like')", [pub.documentId]);
      expect(like.rows[0].kind).toBe("like");
      const counts = () => c.query("select like_count, dislike_count from app_public.documents where id = $1", [pub.documentId]).then((r) => r.rows[0]);
      expect(await counts()).toEqual({ like_count: 2, dislike_count: 0 });
      await c.query("select app_public.react_to_document($1, 'dislike')", [pub.documentId]);
      expect(await counts()).toEqual({ like_count: 1, dislike_count: 1 });
      const undone = await c.query<{ id: string | null }>("select (app_public.react_to_document($1, 'dislike')).id", [pub.documentId]);
      expect(undone.rows[0].id).toBeNull();
      expect(await counts()).toEqual({ like_count: 1, dislike_count: 0 });
      await c.query("savepoint s");
      expect(await sqlErrorCode(c.query("select app_public.react_to_document($1, 'like')", [priv.documentId]))).toBe("NOTFD");
      await c.query("rollback to savepoint s");
      expect(await sqlErrorCode(c.query("insert into app_public.reactions (kind, document_id) values ('like', $1)", [pub.documentId]))).toBe("42501");
    });
    await asRole({ role: "anonymous" }, async (c) => {
      expect(await sqlErrorCode(c.query("select app_public.react_to_document($1, 'like')", [pub.documentId]))).toBe("42501");
    });
  });
});

describe("versions", () => {
  test("adding versions keeps the history and moves the current flag; an older one can be made current again", async () => {
    const owner = users.owner;
    const doc = await createDocument(owner, false);
    const v2File = await readyFile(owner, "document");
    const v3File = await readyFile(owner, "document");
    const v2 = await committedAs(owner, (c) =>
      c.query<{ id: string; version_number: number }>("select id, version_number from app_public.add_document_version($1, $2, 'Fixed typos')", [doc.documentId, v2File]),
    );
    expect(v2.rows[0].version_number).toBe(2);
    await committedAs(owner, (c) => c.query("select app_public.add_document_version($1, $2)", [doc.documentId, v3File]));
    const history = async () =>
      (
        await rootDb().query("select version_number, is_current, file_id, note from app_public.document_versions where document_id = $1 order by version_number", [
          doc.documentId,
        ])
      ).rows;
    expect(await history()).toEqual([
      { version_number: 1, is_current: false, file_id: doc.fileId, note: null },
      { version_number: 2, is_current: false, file_id: v2File, note: "Fixed typos" },
      { version_number: 3, is_current: true, file_id: v3File, note: null },
    ]);
    await committedAs(owner, (c) => c.query("select app_public.set_current_document_version($1)", [v2.rows[0].id]));
    expect((await history()).map((v) => v.is_current)).toEqual([false, true, false]);
    const current = await asRole(asUser(owner), (c) =>
      c.query("select (app_public.documents_current_version(d)).version_number from app_public.documents d where d.id = $1", [doc.documentId]),
    );
    expect(current.rows[0].version_number).toBe(2);
  });

  test("exactly one current version, enforced by the database: two (unique index) or none (DOCVR at commit) are refused", async () => {
    const doc = await createDocument(users.owner, false);
    const file = await readyFile(users.owner, "document");
    const client = await rootDb().connect();
    try {
      await client.query("begin");
      expect(
        await sqlErrorCode(client.query("insert into app_public.document_versions (document_id, file_id, version_number, is_current) values ($1, $2, 2, true)", [doc.documentId, file])),
      ).toBe("23505");
      await client.query("rollback");
      await client.query("begin");
      await client.query("update app_public.document_versions set is_current = false where document_id = $1", [doc.documentId]);
      expect(await sqlErrorCode(client.query("commit"))).toBe("DOCVR");
      await client.query("begin");
      // A document without any version cannot commit either.
      await client.query("insert into app_public.documents (owner_id, title) values ($1, 'Empty')", [users.owner.id]);
      expect(await sqlErrorCode(client.query("commit"))).toBe("DOCVR");
    } finally {
      await client.query("rollback").catch(() => undefined);
      client.release();
    }
  });

  test("the file of a version must fit (FSLOT); only the owner adds versions (NOTFD / FORBD)", async () => {
    const { owner, other } = users;
    const doc = await createDocument(owner, true);
    const cases: Array<[string, () => Promise<string>, TestUser, string]> = [
      ["a CV, not a document", () => readyFile(owner, "cv"), owner, "FSLOT"],
      ["a public document file", () => readyFile(owner, "document", { isPublic: true }), owner, "FSLOT"],
      ["a pending upload", () => readyFile(owner, "document", { ready: false }), owner, "FSLOT"],
      ["someone else's file", () => readyFile(other, "document"), owner, "FSLOT"],
      ["a file that already is a version", async () => doc.fileId, owner, "FSLOT"],
      ["another member's document (public)", () => readyFile(other, "document"), other, "FORBD"],
    ];
    for (const [label, file, actor, code] of cases) {
      const fileId = await file();
      const got = await asRole(asUser(actor), (c) => sqlErrorCode(c.query("select app_public.add_document_version($1, $2)", [doc.documentId, fileId])));
      expect({ label, got }).toEqual({ label, got: code });
    }
    const otherFile = await readyFile(other, "document");
    expect(await asRole(asUser(other), (c) => sqlErrorCode(c.query("select app_public.add_document_version($1, $2)", [priv.documentId, otherFile])))).toBe("NOTFD");
    expect(await asRole(asUser(other), (c) => sqlErrorCode(c.query("select app_public.set_current_document_version($1)", [keys["version:private"]])))).toBe("NOTFD");
    expect(await asRole(asUser(other), (c) => sqlErrorCode(c.query("select app_public.set_current_document_version($1)", [keys["version:public"]])))).toBe("FORBD");
    const cv = await readyFile(owner, "cv");
    expect(await asRole(asUser(owner), (c) => sqlErrorCode(c.query("select app_public.create_document('CV as document', $1)", [cv])))).toBe("FSLOT");
    // A version's file cannot be deleted on its own.
    expect(await asRole(asUser(owner), (c) => sqlErrorCode(c.query("delete from app_public.files where id = $1", [doc.fileId])))).toBe("FUSED");
  });

  test("tags are normalized like post tags", async () => {
    const { rows } = await rootDb().query("select tags from app_public.documents where id = $1", [pub.documentId]);
    expect(rows[0].tags).toEqual(["finance", "reports"]);
  });
});

describe("search", () => {
  const searchAs = (actor: Actor, word: string) =>
    asRole(caller(actor), async (c) => (await c.query<{ kind: string; id: string }>("select kind, id from app_public.search($1)", [word])).rows);

  test("finds public documents by title, tags and description for everyone; private ones for nobody; follows edits and deletion", async () => {
    const word = `zq${Math.random().toString(36).slice(2, 10).replace(/[0-9]/g, "x")}`;
    const pub = await createDocument(users.owner, true, `Handbook ${word}`);
    const priv = await createDocument(users.owner, false, `Secret ${word}`);
    for (const actor of ["anonymous", "other", "owner", "admin"] as const) {
      expect(await searchAs(actor, word)).toEqual([{ kind: "document", id: pub.documentId }]);
    }
    // Made private: gone from search; public again with a new tag: found by the tag.
    await committedAs(users.owner, (c) => c.query("update app_public.documents set is_public = false where id = $1", [pub.documentId]));
    expect(await searchAs("other", word)).toEqual([]);
    const tag = `tg${word}`;
    await committedAs(users.owner, (c) => c.query("update app_public.documents set is_public = true, tags = array[$2] where id = $1", [pub.documentId, tag]));
    expect(await searchAs("anonymous", tag)).toEqual([{ kind: "document", id: pub.documentId }]);
    await committedAs(users.owner, (c) => c.query("delete from app_public.documents where id = $1", [pub.documentId]));
    expect(await searchAs("anonymous", tag)).toEqual([]);
    expect(await searchAs("owner", word)).toEqual([]);
    expect(priv.documentId).toBeTruthy();
  });
});

describe("download count", () => {
  test("counted once per member per day, only for document files", async () => {
    const doc = await createDocument(users.owner, true);
    const count = async () => (await rootDb().query("select download_count from app_public.documents where id = $1", [doc.documentId])).rows[0].download_count;
    const record = async (fileId: string, user: TestUser | null) =>
      (await rootDb().query<{ counted: boolean }>("select app_private.record_document_download($1, $2) as counted", [fileId, user?.id ?? null])).rows[0].counted;
    expect(await record(doc.fileId, users.other)).toBe(true);
    expect(await record(doc.fileId, users.other)).toBe(false);
    expect(await count()).toBe(1);
    expect(await record(doc.fileId, users.admin)).toBe(true);
    expect(await record(doc.fileId, null)).toBe(false); // anonymous: not counted
    expect(await count()).toBe(2);
    // Yesterday's download by the same member does not stop today's.
    await rootDb().query("update app_private.document_downloads set day = day - 1 where document_id = $1 and user_id = $2", [doc.documentId, users.other.id]);
    expect(await record(doc.fileId, users.other)).toBe(true);
    expect(await count()).toBe(3);
    const avatar = await readyFile(users.other, "avatar");
    expect(await record(avatar, users.other)).toBe(false);
    // The API roles cannot count downloads themselves.
    expect(await asRole(asUser(users.other), (c) => sqlErrorCode(c.query("select app_private.record_document_download($1, $2)", [doc.fileId, users.other.id])))).toBe("42501");
  });
});

describe("file slots", () => {
  test("a post cover: a ready public post image of the author; anything else FSLOT; replacing it deletes the old file after commit", async () => {
    const author = await createTestUser();
    const cover = await readyFile(author, "post_image");
    const wrong: Array<[string, string]> = [
      ["a CV", await readyFile(author, "cv")],
      ["an avatar", await readyFile(author, "avatar")],
      ["a private post image", await readyFile(author, "post_image", { isPublic: false })],
      ["someone else's post image", await readyFile(users.other, "post_image")],
      ["a pending post image", await readyFile(author, "post_image", { ready: false })],
    ];
    for (const [label, fileId] of wrong) {
      const got = await asRole(asUser(author), (c) =>
        sqlErrorCode(c.query("insert into app_public.posts (title, body, status, cover_file_id) values ('Cover', 'Body', 'draft', $1)", [fileId])),
      );
      expect({ label, got }).toEqual({ label, got: "FSLOT" });
    }
    const postId = await committedAs(author, async (c) => {
      const { rows } = await c.query<{ id: string }>("insert into app_public.posts (title, body, status, cover_file_id) values ('Cover', 'Body', 'draft', $1) returning id", [cover]);
      return rows[0].id;
    });
    // Moderators and others do not change another member's slot.
    const moderator = await createTestUser({ roles: ["admin"] });
    expect(await asRole(asUser(moderator), (c) => sqlErrorCode(c.query("update app_public.posts set cover_file_id = null where id = $1", [postId])))).toBe("FORBD");
    const next = await readyFile(author, "post_image");
    await asRole(asUser(author), (c) => c.query("update app_public.posts set cover_file_id = $2 where id = $1", [postId, next])); // rolled back
    expect(await jobsFor(`post_image/${cover}`)).toBe(0);
    await committedAs(author, (c) => c.query("update app_public.posts set cover_file_id = $2 where id = $1", [postId, next]));
    expect((await rootDb().query("select id from app_public.files where id = any($1)", [[cover, next]])).rows).toEqual([{ id: next }]);
    expect(await jobsFor(`post_image/${cover}`)).toBe(1);
    await dropJobsFor([`post_image/${cover}`]); // no bytes were stored for these fixtures
  });

  test("a question attachment: a public question_attachment file (image or pdf) of the author; a document file is FSLOT", async () => {
    const author = await createTestUser();
    const pdf = await readyFile(author, "question_attachment");
    const doc = await readyFile(author, "document");
    await asRole(asUser(author), async (c) => {
      const { rows } = await c.query<{ attachment_file_id: string }>(
        "insert into app_public.questions (title, body, status, attachment_file_id) values ('A question with a file?', 'Body', 'draft', $1) returning attachment_file_id",
        [pdf],
      );
      expect(rows[0].attachment_file_id).toBe(pdf);
      expect(
        await sqlErrorCode(c.query("insert into app_public.questions (title, body, status, attachment_file_id) values ('Another question?', 'Body', 'draft', $1)", [doc])),
      ).toBe("FSLOT");
    });
  });

  test("CV and letter: only the applicant's own cv / application_letter files; the employer reads them, other members do not", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const applicant = await createTestUser();
    const cv = await readyFile(applicant, "cv");
    const letter = await readyFile(applicant, "application_letter");
    const client = await rootDb().connect();
    let applicationId: string;
    try {
      await client.query("begin");
      await client.query("set local role authenticated");
      const jobId = await insertJob(client, employer);
      applicationId = await insertApplication(client, applicant, jobId);
      await client.query("commit");
    } finally {
      client.release();
    }
    // Wrong files for the slots.
    for (const [column, fileId] of [["cv_file_id", letter], ["letter_file_id", cv], ["cv_file_id", await readyFile(users.other, "cv")]]) {
      const got = await asRole(asUser(applicant), (c) => sqlErrorCode(c.query(`update app_public.job_applications set ${column} = $2 where id = $1`, [applicationId, fileId])));
      expect({ column, got }).toEqual({ column, got: "FSLOT" });
    }
    const hidden = async (actor: As) =>
      asRole(actor, async (c) => (await c.query<{ id: string }>("select id from app_public.files where id = any($1)", [[cv, letter]])).rows.length);
    expect(await hidden(asUser(employer))).toBe(0); // not attached yet
    await committedAs(applicant, (c) => c.query("update app_public.job_applications set cv_file_id = $2, letter_file_id = $3 where id = $1", [applicationId, cv, letter]));
    expect(await hidden(asUser(employer))).toBe(2);
    expect(await hidden(asUser(applicant))).toBe(2);
    expect(await hidden(asUser(users.admin))).toBe(2); // job moderators see applications
    expect(await hidden(asUser(users.other))).toBe(0);
    expect(await hidden({ role: "anonymous" })).toBe(0);
    // The employer may not swap or remove the applicant's files.
    expect(
      await asRole(asUser(employer), (c) => sqlErrorCode(c.query("update app_public.job_applications set cv_file_id = null where id = $1", [applicationId]))),
    ).toBe("FORBD");
  });
});

describe("lifecycle", () => {
  test("deleting a document deletes its versions and files; their bytes are queued for removal only when the delete commits", async () => {
    const owner = users.owner;
    const doc = await createDocument(owner, true);
    const v2 = await readyFile(owner, "document");
    await committedAs(owner, (c) => c.query("select app_public.add_document_version($1, $2)", [doc.documentId, v2]));
    const fileKeys = [`document/${doc.fileId}`, `document/${v2}`];
    await asRole(asUser(owner), async (c) => {
      expect((await c.query("delete from app_public.documents where id = $1", [doc.documentId])).rowCount).toBe(1);
    }); // rolled back
    for (const key of fileKeys) expect(await jobsFor(key)).toBe(0);
    expect((await rootDb().query("select count(*)::int as n from app_public.files where id = any($1)", [[doc.fileId, v2]])).rows[0].n).toBe(2);
    await committedAs(owner, (c) => c.query("delete from app_public.documents where id = $1", [doc.documentId]));
    expect((await rootDb().query("select count(*)::int as n from app_public.files where id = any($1)", [[doc.fileId, v2]])).rows[0].n).toBe(0);
    expect((await rootDb().query("select count(*)::int as n from app_public.document_versions where document_id = $1", [doc.documentId])).rows[0].n).toBe(0);
    for (const key of fileKeys) expect(await jobsFor(key)).toBe(1);
    await dropJobsFor(fileKeys);
  });

  test("abandoned reservations expire after files.pending_lifetime, without a byte-removal job; ready files stay", async () => {
    const member = await createTestUser();
    const old = await readyFile(member, "document", { ready: false });
    const recent = await readyFile(member, "document", { ready: false });
    const ready = await readyFile(member, "document");
    await rootDb().query("update app_public.files set created_at = now() - interval '2 hours' where id = any($1)", [[old, ready]]);
    const { rows } = await rootDb().query<{ n: number }>("select app_private.expire_pending_uploads() as n");
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
    const left = await rootDb().query<{ id: string }>("select id from app_public.files where id = any($1) order by created_at", [[old, recent, ready]]);
    expect(left.rows.map((r) => r.id).sort()).toEqual([recent, ready].sort());
    expect(await jobsFor(`document/${old}`)).toBe(0);
  });

  test("the crontab schedules the expiry and the sweep, and every scheduled task exists in the worker's task list", () => {
    const scheduled = parseCrontab(fs.readFileSync(CRONTAB_FILE, "utf8")).map((item) => item.task);
    expect(scheduled).toEqual(expect.arrayContaining(["expire_pending_uploads", "sweep_orphan_files"]));
    const tasks = makeTaskList({ mailer: {} as Mailer, publicUrl: "http://localhost", fileStorage: localStorage("/nonexistent") });
    expect(scheduled.filter((task) => !(task in tasks))).toEqual([]);
  });

  test("orphan keys: bytes without a ready row (originals by key, thumbnails by id)", async () => {
    const member = await createTestUser();
    const ready = await readyFile(member, "post_image");
    const pending = await readyFile(member, "post_image", { ready: false });
    const gone = "0b8f3e0c-6a50-4c36-9b3c-3f0d1f7f0c11";
    const candidates = [`post_image/${ready}`, `thumb_64/${ready}`, `post_image/${pending}`, `post_image/${gone}`, `thumb_256/${gone}`];
    const { rows } = await rootDb().query<{ key: string }>("select app_private.orphan_storage_keys($1) as key", [candidates]);
    expect(rows.map((r) => r.key).sort()).toEqual([`post_image/${gone}`, `post_image/${pending}`, `thumb_256/${gone}`].sort());
  });
});

/**
 * Documents and file slots end to end over real HTTP and GraphQL, against
 * both storage back-ends (the local disk and s3rver, a real S3-compatible
 * server started here): documents by id, by node id and in connections for
 * anonymous, another member, the owner and an admin; downloads through the
 * signed URL path counted once per member per day; the employer downloads an
 * applicant's CV, other members cannot; deleting a document or replacing a
 * cover removes the bytes only after commit; the orphan sweep.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import type { JobHelpers } from "graphile-worker";
import { startTestServer, type TestServer } from "../helpers/server";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { FIXTURES } from "../helpers/files";
import { runFileJobs } from "../helpers/fileJobs";
import { sweepOrphanFiles } from "../../src/tasks/sweep_orphan_files";
import { insertApplication, insertJob } from "../jobs/helpers";

const SECRET = "documents-test-secret-".padEnd(48, "x");
const CREATE_UPLOAD = `mutation ($purpose: FilePurpose!, $fileName: String!, $size: BigInt!) {
  createUpload(input: { purpose: $purpose, fileName: $fileName, size: $size }) { result { rowId uploadUrl } }
}`;
const CREATE_DOCUMENT = `mutation ($title: String!, $fileId: UUID!, $isPublic: Boolean, $tags: [String]) {
  createDocument(input: { title: $title, fileId: $fileId, isPublic: $isPublic, tags: $tags, description: "Shared in a test" }) {
    result { id rowId title isPublic tags currentVersion { versionNumber fileByFileId { rowId } } }
  }
}`;
const DOCUMENT = `query ($id: UUID!) {
  documentByRowId(rowId: $id) {
    rowId title downloadCount
    currentVersion { versionNumber fileByFileId { rowId downloadUrl } }
    documentVersionsByDocumentId(orderBy: VERSION_NUMBER_ASC) { nodes { versionNumber isCurrent } }
  }
}`;

afterAll(async () => {
  await closeSqlHelpers();
});

describe.each(["local", "s3"] as const)("documents on %s storage", (kind) => {
  let server: TestServer;
  let s3: S3rver | null = null;
  let root: string;
  let owner: TestUser;
  let other: TestUser;
  let admin: TestUser;

  const local = (url: string) => {
    const u = new URL(url);
    return `${server.url}${u.pathname}${u.search}`;
  };
  const token = (user: TestUser | null) => (user ? server.tokenFor(user) : undefined);

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), `agora-documents-${kind}-`));
    const env: Record<string, string> = { FILES_URL_SECRET: SECRET, FILES_DIR: path.join(root, "files"), FILES_TMP_DIR: path.join(root, "tmp") };
    if (kind === "s3") {
      s3 = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: path.join(root, "s3"), configureBuckets: [{ name: "agora-docs", configs: [] }] });
      const address = await s3.run();
      Object.assign(env, {
        FILES_STORAGE: "s3",
        S3_BUCKET: "agora-docs",
        S3_ENDPOINT: `http://127.0.0.1:${address.port}`,
        S3_ACCESS_KEY_ID: "S3RVER",
        S3_SECRET_ACCESS_KEY: "S3RVER",
      });
    }
    server = await startTestServer(env);
    [owner, other, admin] = await Promise.all([createTestUser(), createTestUser(), createTestUser({ roles: ["admin"] })]);
  });

  afterAll(async () => {
    await server?.stop();
    await s3?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function upload(user: TestUser, purpose: string, fileName: string, bytes: Buffer): Promise<string> {
    const res = await server.graphql<{ createUpload: { result: { rowId: string; uploadUrl: string } } }>(
      CREATE_UPLOAD,
      { purpose, fileName, size: String(bytes.length) },
      { token: token(user) },
    );
    expect(res.errors).toBeUndefined();
    const { rowId, uploadUrl } = res.data!.createUpload.result;
    const put = await fetch(local(uploadUrl), { method: "PUT", body: bytes });
    expect(put.status).toBe(200);
    return rowId;
  }

  async function createDocument(user: TestUser, isPublic: boolean, title: string) {
    const fileId = await upload(user, "document", `${title}.pdf`, FIXTURES.pdf);
    const res = await server.graphql<{ createDocument: { result: { id: string; rowId: string } } }>(
      CREATE_DOCUMENT,
      { title, fileId, isPublic, tags: ["Handbook"] },
      { token: token(user) },
    );
    expect(res.errors).toBeUndefined();
    return { ...res.data!.createDocument.result, fileId };
  }

  async function storedBytes(key: string): Promise<Buffer | null> {
    const object = await server.agora.fileStorage.get(key);
    if (!object) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  const runDeleteJobs = () => runFileJobs(server.agora.fileStorage, "delete_file_bytes");

  test("documents by id, by node id and in a connection: public to everyone, private to the owner only (admins included)", async () => {
    const pub = await createDocument(owner, true, "Public guide");
    const priv = await createDocument(owner, false, "Private notes");
    const viewers: Array<[string, TestUser | null]> = [["anonymous", null], ["other", other], ["admin", admin], ["owner", owner]];
    for (const [label, viewer] of viewers) {
      const expected = label === "owner" ? ["Private notes", "Public guide"] : ["Public guide"];
      const res = await server.graphql<{
        a: { title: string } | null;
        b: { title: string } | null;
        na: { title: string } | null;
        nb: { title: string } | null;
        all: { nodes: Array<{ title: string }> };
      }>(
        `query ($a: UUID!, $b: UUID!, $na: ID!, $nb: ID!, $owner: UUID!) {
          a: documentByRowId(rowId: $a) { title }
          b: documentByRowId(rowId: $b) { title }
          na: node(id: $na) { ... on Document { title } }
          nb: node(id: $nb) { ... on Document { title } }
          all: allDocuments(condition: { ownerId: $owner }) { nodes { title } }
        }`,
        { a: pub.rowId, b: priv.rowId, na: pub.id, nb: priv.id, owner: owner.id },
        { token: token(viewer) },
      );
      expect(res.errors).toBeUndefined();
      const d = res.data!;
      expect({
        label,
        byId: [d.a?.title, d.b?.title].filter(Boolean).sort(),
        byNode: [d.na?.title, d.nb?.title].filter(Boolean).sort(),
        all: d.all.nodes.map((n) => n.title).sort(), // the owner has no other documents yet
      }).toEqual({ label, byId: expected, byNode: expected, all: expected });
    }

    // Updates and deletes through GraphQL: only the owner (others: NOTFD, the row is theirs to see or not).
    for (const viewer of [other, admin]) {
      for (const doc of [pub, priv]) {
        const upd = await server.graphql(
          `mutation ($id: UUID!) { updateDocumentByRowId(input: { rowId: $id, documentPatch: { title: "Hijacked" } }) { document { title } } }`,
          { id: doc.rowId },
          { token: token(viewer) },
        );
        expect(upd.errors?.[0].extensions?.code).toBe("NOTFD");
        const del = await server.graphql(`mutation ($id: UUID!) { deleteDocumentByRowId(input: { rowId: $id }) { document { rowId } } }`, { id: doc.rowId }, { token: token(viewer) });
        expect(del.errors?.[0].extensions?.code).toBe("NOTFD");
      }
    }
    const anon = await server.graphql(
      `mutation ($id: UUID!) { updateDocumentByRowId(input: { rowId: $id, documentPatch: { title: "Hijacked" } }) { document { title } } }`,
      { id: pub.rowId },
    );
    expect(anon.errors?.[0].extensions?.code).toBe("FORBD");
    // Creating: anonymous cannot; a member cannot make a document of someone else's file.
    const anonCreate = await server.graphql(CREATE_DOCUMENT, { title: "Anon", fileId: pub.fileId, isPublic: true, tags: [] });
    expect(anonCreate.errors?.[0].extensions?.code).toBe("FORBD");
    const stolen = await server.graphql(CREATE_DOCUMENT, { title: "Mine now", fileId: priv.fileId, isPublic: true, tags: [] }, { token: token(other) });
    expect(stolen.errors?.[0].extensions?.code).toBe("FSLOT");
    const mine = await server.graphql<{ updateDocumentByRowId: { document: { title: string; tags: string[] } } }>(
      `mutation ($id: UUID!) { updateDocumentByRowId(input: { rowId: $id, documentPatch: { title: "Public guide, 2nd ed.", tags: ["Guides", "guides "] } }) { document { title tags } } }`,
      { id: pub.rowId },
      { token: token(owner) },
    );
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.updateDocumentByRowId.document).toEqual({ title: "Public guide, 2nd ed.", tags: ["guides"] });
  });

  test("versions through GraphQL; downloads through the signed URL are counted once per member per day", async () => {
    const doc = await createDocument(owner, true, "Versioned");
    const v2 = await upload(owner, "document", "Versioned v2.docx", FIXTURES.docx);
    const added = await server.graphql<{ addDocumentVersion: { result: { versionNumber: number; isCurrent: boolean } } }>(
      `mutation ($d: UUID!, $f: UUID!) { addDocumentVersion(input: { documentId: $d, fileId: $f, note: "Now in Word" }) { result { versionNumber isCurrent } } }`,
      { d: doc.rowId, f: v2 },
      { token: token(owner) },
    );
    expect(added.errors).toBeUndefined();
    expect(added.data!.addDocumentVersion.result).toEqual({ versionNumber: 2, isCurrent: true });
    const refused = await server.graphql(
      `mutation ($d: UUID!, $f: UUID!) { addDocumentVersion(input: { documentId: $d, fileId: $f }) { result { versionNumber } } }`,
      { d: doc.rowId, f: await upload(other, "document", "theirs.pdf", FIXTURES.pdf) },
      { token: token(other) },
    );
    expect(refused.errors?.[0].extensions?.code).toBe("FORBD");

    type Doc = { documentByRowId: { downloadCount: number; currentVersion: { versionNumber: number; fileByFileId: { rowId: string; downloadUrl: string } }; documentVersionsByDocumentId: { nodes: unknown[] } } };
    const read = async (viewer: TestUser | null) => (await server.graphql<Doc>(DOCUMENT, { id: doc.rowId }, { token: token(viewer) })).data!.documentByRowId;
    const mine = await read(other);
    expect(mine.currentVersion.versionNumber).toBe(2);
    expect(mine.documentVersionsByDocumentId.nodes).toEqual([{ versionNumber: 1, isCurrent: false }, { versionNumber: 2, isCurrent: true }]);
    // The member is signed into the URL.
    expect(mine.currentVersion.fileByFileId.downloadUrl).toMatch(new RegExp(`/files/${v2}\\?u=${other.id}&exp=\\d+&sig=[\\w-]{43}$`));
    for (let i = 0; i < 2; i += 1) {
      const res = await fetch(local(mine.currentVersion.fileByFileId.downloadUrl));
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(FIXTURES.docx);
      expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="Versioned v2.docx"/);
      expect(res.headers.get("cache-control")).toBe("private, no-store");
    }
    expect((await read(owner)).downloadCount).toBe(1);
    // Anonymous: a URL without a member; the download works and is not counted.
    const anonymous = await read(null);
    expect(anonymous.currentVersion.fileByFileId.downloadUrl).toMatch(new RegExp(`/files/${v2}\\?exp=\\d+&sig=[\\w-]{43}$`));
    expect((await fetch(local(anonymous.currentVersion.fileByFileId.downloadUrl))).status).toBe(200);
    // The owner with a bearer token on the plain URL: counted for the owner.
    const plain = await fetch(`${server.url}/files/${doc.fileId}`, { headers: { authorization: `Bearer ${server.tokenFor(owner)}` } });
    expect(plain.status).toBe(200);
    expect((await read(owner)).downloadCount).toBe(2);
    // Someone else's name in the URL breaks the signature.
    const forged = new URL(local(mine.currentVersion.fileByFileId.downloadUrl));
    forged.searchParams.set("u", admin.id);
    const res = await fetch(forged);
    expect(res.status).toBe(403);
    expect((await read(owner)).downloadCount).toBe(2);
  });

  test("a private document's file is out of reach for other members", async () => {
    const doc = await createDocument(owner, false, "Secret plan");
    const theirs = await server.graphql<{ documentByRowId: unknown; fileByRowId: unknown }>(
      `query ($d: UUID!, $f: UUID!) { documentByRowId(rowId: $d) { rowId } fileByRowId(rowId: $f) { downloadUrl } }`,
      { d: doc.rowId, f: doc.fileId },
      { token: token(other) },
    );
    expect(theirs.data).toEqual({ documentByRowId: null, fileByRowId: null });
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${server.tokenFor(other)}` }, { authorization: `Bearer ${server.tokenFor(admin)}` }]) {
      expect((await fetch(`${server.url}/files/${doc.fileId}`, { headers })).status).toBe(404);
    }
    const comment = await server.graphql(
      `mutation ($d: UUID!) { createComment(input: { comment: { documentId: $d, body: "Peek" } }) { comment { rowId } } }`,
      { d: doc.rowId },
      { token: token(other) },
    );
    expect(comment.errors?.[0].extensions?.code).toBe("NOTFD");
    const react = await server.graphql(`mutation ($d: UUID!) { reactToDocument(input: { documentId: $d, kind: like }) { result { rowId } } }`, { d: doc.rowId }, { token: token(other) });
    expect(react.errors?.[0].extensions?.code).toBe("NOTFD");
  });

  test("comments and reactions on a public document through GraphQL", async () => {
    const doc = await createDocument(owner, true, "Discussed");
    const comment = await server.graphql<{ createComment: { comment: { documentId: string } } }>(
      `mutation ($d: UUID!) { createComment(input: { comment: { documentId: $d, body: "Helpful" } }) { comment { documentId } } }`,
      { d: doc.rowId },
      { token: token(other) },
    );
    expect(comment.errors).toBeUndefined();
    expect(comment.data!.createComment.comment.documentId).toBe(doc.rowId);
    const react = await server.graphql(`mutation ($d: UUID!) { reactToDocument(input: { documentId: $d, kind: like }) { result { kind } } }`, { d: doc.rowId }, { token: token(other) });
    expect(react.errors).toBeUndefined();
    const seen = await server.graphql<{ documentByRowId: { commentCount: number; likeCount: number; commentsByDocumentId: { nodes: Array<{ body: string }> } } }>(
      `query ($d: UUID!) { documentByRowId(rowId: $d) { commentCount likeCount commentsByDocumentId { nodes { body } } } }`,
      { d: doc.rowId },
    );
    expect(seen.data!.documentByRowId).toEqual({ commentCount: 1, likeCount: 1, commentsByDocumentId: { nodes: [{ body: "Helpful" }] } });
  });

  test("the employer downloads the applicant's CV through the signed URL path; other members cannot", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const applicant = await createTestUser();
    const client = await rootDb().connect();
    let applicationId: string;
    try {
      await client.query("begin");
      await client.query("set local role authenticated");
      applicationId = await insertApplication(client, applicant, await insertJob(client, employer));
      await client.query("commit");
    } finally {
      client.release();
    }
    const cv = await upload(applicant, "cv", "CV.pdf", FIXTURES.pdf);
    const photo = await upload(applicant, "post_image", "me.png", FIXTURES.png);
    const APPLY = `mutation ($id: UUID!, $f: UUID!) { updateJobApplicationByRowId(input: { rowId: $id, jobApplicationPatch: { cvFileId: $f } }) { jobApplication { cvFileId } } }`;
    const wrong = await server.graphql(APPLY, { id: applicationId, f: photo }, { token: token(applicant) });
    expect(wrong.errors?.[0]).toMatchObject({ extensions: { code: "FSLOT", slot: "cv_file_id", purpose: "cv" } });
    const set = await server.graphql(APPLY, { id: applicationId, f: cv }, { token: token(applicant) });
    expect(set.errors).toBeUndefined();

    const QUERY = `query ($id: UUID!) { jobApplicationByRowId(rowId: $id) { fileByCvFileId { rowId downloadUrl } } }`;
    const seen = await server.graphql<{ jobApplicationByRowId: { fileByCvFileId: { downloadUrl: string } } | null }>(QUERY, { id: applicationId }, { token: token(employer) });
    expect(seen.errors).toBeUndefined();
    const url = seen.data!.jobApplicationByRowId!.fileByCvFileId.downloadUrl;
    expect(url).toMatch(new RegExp(`/files/${cv}\\?exp=\\d+&sig=[\\w-]{43}$`));
    const got = await fetch(local(url));
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(FIXTURES.pdf);
    expect((await fetch(`${server.url}/files/${cv}`, { headers: { authorization: `Bearer ${server.tokenFor(employer)}` } })).status).toBe(200);

    const outsider = await server.graphql<{ jobApplicationByRowId: unknown; fileByRowId: unknown }>(
      `query ($id: UUID!, $f: UUID!) { jobApplicationByRowId(rowId: $id) { rowId } fileByRowId(rowId: $f) { downloadUrl } }`,
      { id: applicationId, f: cv },
      { token: token(other) },
    );
    expect(outsider.data).toEqual({ jobApplicationByRowId: null, fileByRowId: null });
    expect((await fetch(`${server.url}/files/${cv}`, { headers: { authorization: `Bearer ${server.tokenFor(other)}` } })).status).toBe(404);
    expect((await fetch(`${server.url}/files/${cv}`)).status).toBe(404);
  });

  test("deleting a document removes the bytes of every version only after commit; a rolled-back delete keeps them", async () => {
    const doc = await createDocument(owner, true, "To be deleted");
    const v2 = await upload(owner, "document", "v2.pdf", FIXTURES.pdf);
    const add = await server.graphql(`mutation ($d: UUID!, $f: UUID!) { addDocumentVersion(input: { documentId: $d, fileId: $f }) { result { rowId } } }`, { d: doc.rowId, f: v2 }, { token: token(owner) });
    expect(add.errors).toBeUndefined();
    const keys = [`document/${doc.fileId}`, `document/${v2}`];

    const client = await rootDb().connect();
    try {
      await client.query("begin");
      await client.query("select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [owner.id, owner.sessionId]);
      expect((await client.query("delete from app_public.documents where id = $1", [doc.rowId])).rowCount).toBe(1);
      await client.query("rollback");
    } finally {
      client.release();
    }
    await runDeleteJobs();
    for (const key of keys) expect(await storedBytes(key)).toEqual(FIXTURES.pdf);

    const del = await server.graphql(`mutation ($id: UUID!) { deleteDocumentByRowId(input: { rowId: $id }) { document { rowId } } }`, { id: doc.rowId }, { token: token(owner) });
    expect(del.errors).toBeUndefined();
    for (const key of keys) expect(await storedBytes(key)).toEqual(FIXTURES.pdf); // committed, the job has not run yet
    await runDeleteJobs();
    for (const key of keys) expect(await storedBytes(key)).toBeNull();
  });

  test("replacing a post cover removes the old cover's bytes after commit; a document file is refused (FSLOT)", async () => {
    const author = await createTestUser();
    const first = await upload(author, "post_image", "first.png", FIXTURES.png);
    const second = await upload(author, "post_image", "second.gif", FIXTURES.gif);
    const created = await server.graphql<{ createPost: { post: { rowId: string; coverFileId: string } } }>(
      `mutation ($f: UUID!) { createPost(input: { post: { title: "With a cover", body: "Body", status: draft, coverFileId: $f } }) { post { rowId coverFileId } } }`,
      { f: first },
      { token: token(author) },
    );
    expect(created.errors).toBeUndefined();
    const postId = created.data!.createPost.post.rowId;
    const SET = `mutation ($id: UUID!, $f: UUID) { updatePostByRowId(input: { rowId: $id, postPatch: { coverFileId: $f } }) { post { coverFileId } } }`;
    const doc = await upload(author, "document", "not-a-cover.pdf", FIXTURES.pdf);
    expect((await server.graphql(SET, { id: postId, f: doc }, { token: token(author) })).errors?.[0].extensions?.code).toBe("FSLOT");
    expect((await server.graphql(SET, { id: postId, f: second }, { token: token(author) })).errors).toBeUndefined();
    expect(await storedBytes(`post_image/${first}`)).toEqual(FIXTURES.png);
    await runDeleteJobs();
    expect(await storedBytes(`post_image/${first}`)).toBeNull();
    expect(await storedBytes(`post_image/${second}`)).toEqual(FIXTURES.gif);
  });

  test("the orphan sweep removes bytes no ready row accounts for, and nothing younger than the grace period", async () => {
    const kept = await upload(owner, "post_image", "kept.png", FIXTURES.png);
    const orphanId = "5d1c1f38-4a0e-4e8f-9d41-7c3c2d1a9b10";
    const tmp = path.join(root, "orphan-src");
    for (const key of [`document/${orphanId}`, `thumb_64/${orphanId}`]) {
      await fsp.writeFile(tmp, FIXTURES.pdf);
      await server.agora.fileStorage.put(key, tmp, { contentType: "application/pdf", size: FIXTURES.pdf.length });
    }
    const helpers = {
      query: (text: string, values?: unknown[]) => rootDb().query(text, values),
      logger: { info: () => undefined },
    } as unknown as JobHelpers;
    const sweep = sweepOrphanFiles({ fileStorage: server.agora.fileStorage });
    await sweep({}, helpers); // files.orphan_grace (1 hour): everything here is younger
    expect(await storedBytes(`document/${orphanId}`)).toEqual(FIXTURES.pdf);
    await sweep({ graceSeconds: 0 }, helpers);
    expect(await storedBytes(`document/${orphanId}`)).toBeNull();
    expect(await storedBytes(`thumb_64/${orphanId}`)).toBeNull();
    expect(await storedBytes(`post_image/${kept}`)).toEqual(FIXTURES.png);
    const listed: string[] = [];
    for await (const page of server.agora.fileStorage.list()) listed.push(...page.map((k) => k.key));
    expect(listed).toContain(`post_image/${kept}`);
    expect(listed.filter((k) => k.endsWith(orphanId))).toEqual([]);
  });
});

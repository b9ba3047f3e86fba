/**
 * Files end to end over real HTTP, against both storage back-ends: the local
 * disk and a real S3-compatible server (s3rver, started here in-process on a
 * free port with a temporary directory). createUpload over GraphQL, PUT the
 * bytes to the signed URL, GET them back; every refusal stores nothing;
 * private files only to their owner or through a signed URL; signed URLs
 * expire and cannot be tampered with. Also measures the RSS growth of a
 * 10 MiB upload (reported, not timed).
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { startTestServer, type TestServer } from "../helpers/server";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { FIXTURES } from "../helpers/files";
import { makeUrlSigner } from "../../src/files/signing";
import { runFileJobs } from "../helpers/fileJobs";
import sharp from "sharp";

const SECRET = "files-test-secret-".padEnd(48, "x");
const CREATE = `mutation ($purpose: FilePurpose!, $fileName: String!, $size: BigInt!, $isPublic: Boolean) {
  createUpload(input: { purpose: $purpose, fileName: $fileName, size: $size, isPublic: $isPublic }) {
    result { rowId status uploadUrl downloadUrl }
  }
}`;
const FILE = `query ($id: UUID!) { file: fileByRowId(rowId: $id) { rowId status contentType byteSize fileName downloadUrl uploadUrl } }`;

type ErrorBody = { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
const errorOf = async (res: Response) => ((await res.json()) as ErrorBody).errors[0];

interface Reserved {
  id: string;
  uploadUrl: string;
}

afterAll(async () => {
  await closeSqlHelpers();
});

describe.each(["local", "s3"] as const)("files on %s storage", (kind) => {
  let server: TestServer;
  let s3: S3rver | null = null;
  let root: string;
  let owner: TestUser;
  let other: TestUser;

  /** The server's absolute URLs name PUBLIC_URL; the test server listens on a free port. */
  const local = (url: string) => {
    const u = new URL(url);
    return `${server.url}${u.pathname}${u.search}`;
  };

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), `agora-files-${kind}-`));
    const env: Record<string, string> = {
      FILES_URL_SECRET: SECRET,
      FILES_DIR: path.join(root, "files"),
      FILES_TMP_DIR: path.join(root, "tmp"),
    };
    if (kind === "s3") {
      s3 = new S3rver({
        port: 0,
        address: "127.0.0.1",
        silent: true,
        directory: path.join(root, "s3"),
        configureBuckets: [{ name: "agora-test", configs: [] }],
      });
      const address = await s3.run();
      Object.assign(env, {
        FILES_STORAGE: "s3",
        S3_BUCKET: "agora-test",
        S3_ENDPOINT: `http://127.0.0.1:${address.port}`,
        S3_ACCESS_KEY_ID: "S3RVER",
        S3_SECRET_ACCESS_KEY: "S3RVER",
        S3_FORCE_PATH_STYLE: "on",
      });
    }
    server = await startTestServer(env);
    [owner, other] = await Promise.all([createTestUser(), createTestUser()]);
  });

  afterAll(async () => {
    await server?.stop();
    await s3?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function reserve(user: TestUser, purpose: string, fileName: string, size: number, isPublic: boolean | null = null): Promise<Reserved> {
    const res = await server.graphql<{ createUpload: { result: { rowId: string; status: string; uploadUrl: string; downloadUrl: string | null } } }>(
      CREATE,
      { purpose, fileName, size: String(size), isPublic },
      { token: server.tokenFor(user) },
    );
    expect(res.errors).toBeUndefined();
    const file = res.data!.createUpload.result;
    expect(file).toMatchObject({ status: "pending", downloadUrl: null });
    expect(file.uploadUrl).toMatch(new RegExp(`/uploads/${file.rowId}\\?u=${user.id}&exp=\\d+&sig=[\\w-]{43}$`));
    return { id: file.rowId, uploadUrl: local(file.uploadUrl) };
  }

  const put = (url: string, body: Buffer) => fetch(url, { method: "PUT", body });

  async function storedBytes(purpose: string, id: string): Promise<Buffer | null> {
    const object = await server.agora.fileStorage.get(`${purpose}/${id}`);
    if (!object) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async function statusOf(id: string): Promise<string> {
    const { rows } = await rootDb().query<{ status: string }>("select status from app_public.files where id = $1", [id]);
    return rows[0].status;
  }

  test("a public avatar: reserve, PUT, then anyone GETs it with cache headers", async () => {
    const { id, uploadUrl } = await reserve(owner, "avatar", "Me at the beach.png", FIXTURES.png.length);
    const res = await put(uploadUrl, FIXTURES.png);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { id, status: "ready", contentType: "image/png", byteSize: FIXTURES.png.length } });
    expect(await storedBytes("avatar", id)).toEqual(FIXTURES.png);

    const meta = await server.graphql<{ file: Record<string, unknown> }>(FILE, { id }, { token: server.tokenFor(owner) });
    expect(meta.data!.file).toMatchObject({ status: "ready", contentType: "image/png", byteSize: String(FIXTURES.png.length), uploadUrl: null });
    expect(meta.data!.file.downloadUrl).toMatch(new RegExp(`/files/${id}$`));

    const get = await fetch(local(meta.data!.file.downloadUrl as string));
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer())).toEqual(FIXTURES.png);
    expect(get.headers.get("content-type")).toBe("image/png");
    expect(get.headers.get("x-content-type-options")).toBe("nosniff");
    expect(get.headers.get("content-disposition")).toBe(`inline; filename="Me at the beach.png"; filename*=UTF-8''Me%20at%20the%20beach.png`);
    expect(get.headers.get("cache-control")).toBe("public, max-age=86400, immutable");
    expect(get.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    expect(get.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");

    // The upload URL is spent.
    const again = await put(uploadUrl, FIXTURES.png);
    expect(again.status).toBe(409);
    expect((await errorOf(again)).extensions.code).toBe("FDONE");

    // The avatar slot takes it (GraphQL, as the owner).
    const set = await server.graphql<{ updateUserByRowId: { user: { avatarFileId: string } } }>(
      `mutation ($id: UUID!, $f: UUID!) { updateUserByRowId(input: { rowId: $id, userPatch: { avatarFileId: $f } }) { user { avatarFileId } } }`,
      { id: owner.id, f: id },
      { token: server.tokenFor(owner) },
    );
    expect(set.errors).toBeUndefined();
    expect(set.data!.updateUserByRowId.user.avatarFileId).toBe(id);
  });

  test("a private CV: only its owner (bearer) or a signed URL; others see nothing", async () => {
    const { id, uploadUrl } = await reserve(owner, "cv", "Lebenslauf Müller.pdf", FIXTURES.pdf.length);
    expect((await put(uploadUrl, FIXTURES.pdf)).status).toBe(200);
    const url = `${server.url}/files/${id}`;

    for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${server.tokenFor(other)}` }]) {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(404);
      expect((await errorOf(res)).extensions.code).toBe("NOTFD");
    }
    const bad = await fetch(url, { headers: { authorization: "Bearer garbage" } });
    expect(bad.status).toBe(401);

    const mine = await fetch(url, { headers: { authorization: `Bearer ${server.tokenFor(owner)}` } });
    expect(mine.status).toBe(200);
    expect(Buffer.from(await mine.arrayBuffer())).toEqual(FIXTURES.pdf);
    expect(mine.headers.get("cache-control")).toBe("private, no-store");
    expect(mine.headers.get("x-content-type-options")).toBe("nosniff");
    expect(mine.headers.get("content-disposition")).toBe(`attachment; filename="Lebenslauf M_ller.pdf"; filename*=UTF-8''Lebenslauf%20M%C3%BCller.pdf`);

    // Others cannot even learn a download URL: the row is invisible to them.
    const theirs = await server.graphql<{ file: unknown }>(FILE, { id }, { token: server.tokenFor(other) });
    expect(theirs.data!.file).toBeNull();
    const meta = await server.graphql<{ file: { downloadUrl: string } }>(FILE, { id }, { token: server.tokenFor(owner) });
    const signed = local(meta.data!.file.downloadUrl);
    expect(signed).toMatch(new RegExp(`/files/${id}\\?exp=\\d+&sig=[\\w-]{43}$`));
    const viaSigned = await fetch(signed);
    expect(viaSigned.status).toBe(200);
    expect(Buffer.from(await viaSigned.arrayBuffer())).toEqual(FIXTURES.pdf);
    expect(viaSigned.headers.get("cache-control")).toBe("private, no-store");

    const q = new URL(signed).searchParams;
    const sig = q.get("sig")!;
    const tampered = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    const expired = new URLSearchParams(makeUrlSigner(SECRET).sign("get", id, null, 60, Date.now() - 3_600_000));
    const cases: Array<[string, string, number, string]> = [
      ["tampered signature", `?exp=${q.get("exp")}&sig=${tampered}`, 403, "SIGNA"],
      ["signature absent", `?exp=${q.get("exp")}`, 403, "SIGNA"],
      ["signature empty", `?exp=${q.get("exp")}&sig=`, 403, "SIGNA"],
      ["expiry moved", `?exp=${Number(q.get("exp")) + 3600}&sig=${sig}`, 403, "SIGNA"],
      ["expired", `?exp=${expired.get("exp")}&sig=${expired.get("sig")}`, 403, "EXPRD"],
    ];
    for (const [label, query, status, code] of cases) {
      const res = await fetch(`${url}${query}`);
      expect({ label, status: res.status, code: (await errorOf(res)).extensions.code }).toEqual({ label, status, code });
    }
    // A valid signature for one file does not open another.
    const otherFile = await reserve(other, "document", "x.pdf", FIXTURES.pdf.length, false);
    expect((await put(otherFile.uploadUrl, FIXTURES.pdf)).status).toBe(200);
    expect((await fetch(`${server.url}/files/${otherFile.id}?${q.toString()}`)).status).toBe(403);
  });

  test.each([
    ["spoofed extension: png bytes named .jpg", "avatar", "me.jpg", "png", 415, "FMISM"],
    ["spoofed extension: docx bytes named .pdf", "document", "report.pdf", "docx", 415, "FMISM"],
    ["renamed executable as a CV", "cv", "cv.pdf", "exe", 415, "FTYPE"],
    ["HTML as a document", "document", "page.pdf", "html", 415, "FTYPE"],
    ["SVG as an avatar", "avatar", "avatar.svg", "svg", 415, "FTYPE"],
    ["a plain zip as a letter", "application_letter", "letter.docx", "zip", 415, "FTYPE"],
    ["wrong type for the slot: pdf as an avatar", "avatar", "avatar", "pdf", 415, "FTYPE"],
    ["wrong type for the slot: image as a CV", "cv", "cv", "jpeg", 415, "FTYPE"],
    ["empty", "post_image", "cover.png", "empty", 400, "FEMPT"],
    ["more bytes than reserved", "post_image", "cover.png", "double", 413, "FSIZE"],
  ] as const)("refuses %s (%s, %s) and stores nothing", async (_label, purpose, fileName, body, status, code) => {
    const bytes = body === "empty" ? Buffer.alloc(0) : body === "double" ? Buffer.concat([FIXTURES.png, FIXTURES.png]) : FIXTURES[body];
    const { id, uploadUrl } = await reserve(other, purpose, fileName, FIXTURES.png.length);
    const res = await put(uploadUrl, bytes);
    expect(res.status).toBe(status);
    expect((await errorOf(res)).extensions.code).toBe(code);
    expect(await statusOf(id)).toBe("pending");
    expect(await storedBytes(purpose.toLowerCase(), id)).toBeNull();
    expect(fs.readdirSync(path.join(root, "tmp"))).toEqual([]);
    const get = await fetch(`${server.url}/files/${id}`, { headers: { authorization: `Bearer ${server.tokenFor(other)}` } });
    expect(get.status).toBe(404);
  });

  test("a stream past the limit without Content-Length is cut off with FSIZE and nothing stored", async () => {
    const { id, uploadUrl } = await reserve(other, "post_image", "cover.png", 100_000);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(FIXTURES.png);
        for (let i = 0; i < 30; i += 1) controller.enqueue(new Uint8Array(64 * 1024));
        controller.close();
      },
    });
    const res = await fetch(uploadUrl, { method: "PUT", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect((await errorOf(res))).toEqual({ message: "The file is too large", extensions: { code: "FSIZE", maxBytes: 100_000 } });
    expect(await statusOf(id)).toBe("pending");
    expect(await storedBytes("post_image", id)).toBeNull();
    expect(fs.readdirSync(path.join(root, "tmp"))).toEqual([]);
  });

  test("reserving over the slot's limit is refused in GraphQL (FSIZE with maxBytes)", async () => {
    const res = await server.graphql(CREATE, { purpose: "avatar", fileName: "huge.png", size: String(5 * 1024 * 1024 + 1) }, { token: server.tokenFor(other) });
    expect(res.errors?.[0].extensions).toMatchObject({ code: "FSIZE", maxBytes: 5 * 1024 * 1024 });
  });

  test("upload URLs: absent, tampered, another user's or expired signatures are refused", async () => {
    const { id, uploadUrl } = await reserve(owner, "post_image", "cover.png", FIXTURES.png.length);
    const q = new URL(uploadUrl).searchParams;
    const base = `${server.url}/uploads/${id}`;
    const sig = q.get("sig")!;
    const expired = new URLSearchParams(makeUrlSigner(SECRET).sign("put", id, owner.id, 60, Date.now() - 3_600_000));
    const cases: Array<[string, string, number, string]> = [
      ["no query", "", 403, "SIGNA"],
      ["no signature", `?u=${owner.id}&exp=${q.get("exp")}`, 403, "SIGNA"],
      ["tampered", `?u=${owner.id}&exp=${q.get("exp")}&sig=${(sig[0] === "A" ? "B" : "A") + sig.slice(1)}`, 403, "SIGNA"],
      ["another user", `?u=${other.id}&exp=${q.get("exp")}&sig=${sig}`, 403, "SIGNA"],
      ["expired", `?${expired.toString()}`, 403, "EXPRD"],
    ];
    for (const [label, query, status, code] of cases) {
      const res = await put(`${base}${query}`, FIXTURES.png);
      expect({ label, status: res.status, code: (await errorOf(res)).extensions.code }).toEqual({ label, status, code });
    }
    expect(await statusOf(id)).toBe("pending");
    expect(await storedBytes("post_image", id)).toBeNull();
  });

  /** Runs the queued delete_file_bytes jobs against this back-end. */
  const runDeleteJobs = () => runFileJobs(server.agora.fileStorage, "delete_file_bytes");

  async function uploaded(user: TestUser, purpose: string, fileName: string, bytes: Buffer): Promise<string> {
    const { id, uploadUrl } = await reserve(user, purpose, fileName, bytes.length);
    expect((await put(uploadUrl, bytes)).status).toBe(200);
    return id;
  }

  test("deleting a file removes its bytes in a job after commit; a rolled-back delete keeps them", async () => {
    const id = await uploaded(owner, "document", "old.pdf", FIXTURES.pdf);
    // Rolled back: no job, the bytes stay.
    const client = await rootDb().connect();
    try {
      await client.query("begin");
      await client.query("select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [owner.id, owner.sessionId]);
      expect((await client.query("delete from app_public.files where id = $1", [id])).rowCount).toBe(1);
      await client.query("rollback");
    } finally {
      client.release();
    }
    await runDeleteJobs();
    expect(await storedBytes("document", id)).toEqual(FIXTURES.pdf);

    // Committed (through GraphQL): the bytes are still there until the job runs, then gone.
    const del = await server.graphql<{ deleteFileByRowId: { file: { rowId: string } } }>(
      `mutation ($id: UUID!) { deleteFileByRowId(input: { rowId: $id }) { file { rowId } } }`,
      { id },
      { token: server.tokenFor(owner) },
    );
    expect(del.errors).toBeUndefined();
    expect(await storedBytes("document", id)).toEqual(FIXTURES.pdf);
    await runDeleteJobs();
    expect(await storedBytes("document", id)).toBeNull();
    expect((await fetch(`${server.url}/files/${id}`, { headers: { authorization: `Bearer ${server.tokenFor(owner)}` } })).status).toBe(404);
  });

  test("someone else cannot delete a file (NOTFD) and its bytes stay", async () => {
    const id = await uploaded(owner, "post_image", "keep.png", FIXTURES.png);
    const del = await server.graphql(`mutation ($id: UUID!) { deleteFileByRowId(input: { rowId: $id }) { file { rowId } } }`, { id }, { token: server.tokenFor(other) });
    expect(del.errors?.[0].extensions?.code).toBe("NOTFD");
    await runDeleteJobs();
    expect(await storedBytes("post_image", id)).toEqual(FIXTURES.png);
  });

  test("replacing an avatar deletes the previous avatar file and, after commit, its bytes", async () => {
    const user = await createTestUser();
    const setAvatar = (f: string) =>
      server.graphql(
        `mutation ($id: UUID!, $f: UUID!) { updateUserByRowId(input: { rowId: $id, userPatch: { avatarFileId: $f } }) { user { avatarFileId } } }`,
        { id: user.id, f },
        { token: server.tokenFor(user) },
      );
    const first = await uploaded(user, "avatar", "one.png", FIXTURES.png);
    const second = await uploaded(user, "avatar", "two.gif", FIXTURES.gif);
    expect((await setAvatar(first)).errors).toBeUndefined();
    expect((await setAvatar(second)).errors).toBeUndefined();
    const { rows } = await rootDb().query("select id from app_public.files where id = any($1)", [[first, second]]);
    expect(rows).toEqual([{ id: second }]);
    await runDeleteJobs();
    expect(await storedBytes("avatar", first)).toBeNull();
    expect(await storedBytes("avatar", second)).toEqual(FIXTURES.gif);
    // Deleting the current avatar file clears the slot.
    await rootDb().query("delete from app_public.files where id = $1", [second]);
    const { rows: users } = await rootDb().query("select avatar_file_id from app_public.users where id = $1", [user.id]);
    expect(users).toEqual([{ avatar_file_id: null }]);
    await runDeleteJobs();
    expect(await storedBytes("avatar", second)).toBeNull();
  });

  const runThumbnailJobs = () => runFileJobs(server.agora.fileStorage, "make_thumbnails");

  test("thumbnails: webp 64/256/1024 made in a job, EXIF stripped, the original kept, served with ?size=", async () => {
    const photo = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .jpeg()
      .withExif({ IFD0: { Copyright: "secret-owner", Artist: "Someone" } })
      .toBuffer();
    expect((await sharp(photo).metadata()).exif).toBeDefined();
    const id = await uploaded(owner, "post_image", "holiday.jpg", photo);
    // The upload is ready before (and regardless of) the thumbnails.
    const before = await fetch(`${server.url}/files/${id}?size=256`);
    expect(before.status).toBe(404);
    expect(await errorOf(before)).toMatchObject({ extensions: { code: "NOTFD", sizes: [] } });

    await runThumbnailJobs();
    const { rows } = await rootDb().query("select thumbnail_sizes from app_public.files where id = $1", [id]);
    expect(rows[0].thumbnail_sizes).toEqual([64, 256, 1024]);
    for (const [size, width, height] of [[64, 64, 32], [256, 256, 128], [1024, 1024, 512]]) {
      const res = await fetch(`${server.url}/files/${id}?size=${size}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/webp");
      expect(res.headers.get("content-disposition")).toBe(`inline; filename="holiday-${size}.webp"; filename*=UTF-8''holiday-${size}.webp`);
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect({ format: meta.format, width: meta.width, height: meta.height, exif: meta.exif }).toEqual({ format: "webp", width, height, exif: undefined });
    }
    expect(await storedBytes("post_image", id)).toEqual(photo); // the original, EXIF and all, is kept
    expect((await fetch(`${server.url}/files/${id}?size=128`)).status).toBe(404);

    // Deleting the file removes the thumbnails too (after commit).
    await rootDb().query("delete from app_public.files where id = $1", [id]);
    await runDeleteJobs();
    for (const size of [64, 256, 1024]) expect(await server.agora.fileStorage.get(`thumb_${size}/${id}`)).toBeNull();
  });

  test("a failing thumbnail job (undecodable image) is retried and never touches the upload", async () => {
    const id = await uploaded(other, "post_image", "broken.png", FIXTURES.png); // PNG magic, garbage after
    await runThumbnailJobs();
    const { rows } = await rootDb().query<{ attempts: number; last_error: string | null }>(
      `select j.attempts, j.last_error from graphile_worker._private_jobs j where j.payload->>'id' = $1`,
      [id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].attempts).toBe(1);
    expect(rows[0].last_error).toBeTruthy();
    const file = await rootDb().query("select status, thumbnail_sizes from app_public.files where id = $1", [id]);
    expect(file.rows[0]).toEqual({ status: "ready", thumbnail_sizes: [] });
    expect((await fetch(`${server.url}/files/${id}`)).status).toBe(200);
    await rootDb().query("delete from graphile_worker._private_jobs where payload->>'id' = $1", [id]);
  });

  test("a 10 MiB document streams through (RSS growth measured and reported)", async () => {
    const size = 10 * 1024 * 1024;
    const { id, uploadUrl } = await reserve(owner, "document", "big.pdf", size, false);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const head = Buffer.from(FIXTURES.pdf);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const started = Date.now();
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(uploadUrl, { method: "PUT", headers: { "content-length": String(size) } }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("error", reject);
      let sent = 0;
      const write = () => {
        while (sent < size) {
          const part = sent === 0 ? Buffer.concat([head, chunk.subarray(head.length)]) : chunk.subarray(0, Math.min(chunk.length, size - sent));
          sent += part.length;
          if (!req.write(part)) return void req.once("drain", write);
        }
        req.end();
      };
      write();
    });
    const ms = Date.now() - started;
    clearInterval(sampler);
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body).data).toMatchObject({ byteSize: size, contentType: "application/pdf" });
    const growthMb = (peak - before) / 1024 / 1024;
    console.log(`[files:${kind}] 10 MiB upload: ${ms} ms (${((size / 1024 / 1024) / (ms / 1000)).toFixed(1)} MiB/s), RSS ${(before / 1048576).toFixed(0)} → peak ${(peak / 1048576).toFixed(0)} MiB (growth ${growthMb.toFixed(1)} MiB)`);
    const object = await server.agora.fileStorage.get(`document/${id}`);
    expect(object?.size).toBe(size);
    let stored = 0;
    for await (const chunk of object!.body) stored += (chunk as Buffer).length;
    expect(stored).toBe(size);
  });
});

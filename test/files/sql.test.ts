/**
 * Files at the SQL level: who sees which file (row-level security matrix),
 * the refusals of create_upload and finish_upload with their codes, the
 * quota and rate limit from settings, and the avatar slot. Plus the two
 * pieces of the edge that need no server: the magic-number sniffer and the
 * URL signer (expiry, tampering).
 */
import { asRole, closeSqlHelpers, rootDb, sqlErrorCode, type As } from "../helpers/sql";
import { asUser, createTestUser, type TestUser } from "../helpers/users";
import { FIXTURES } from "../helpers/files";
import { DOC, DOCX, GIF, JPEG, PDF, PNG, sniffContentType, WEBP } from "../../src/files/sniff";
import { makeUrlSigner } from "../../src/files/signing";

let owner: TestUser;
let other: TestUser;
let admin: TestUser;
const ids: Record<string, string> = {};

/** Reserves a file as `user` (committed) and, unless `ready` is false, marks it ready as the upload endpoint would. */
async function fixture(user: TestUser, purpose: string, name: string, options: { isPublic?: boolean | null; ready?: boolean; type?: string } = {}) {
  const client = await rootDb().connect();
  try {
    await client.query("begin");
    await client.query(
      "select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)",
      [user.id, user.sessionId],
    );
    const { rows } = await client.query<{ id: string }>("select id from app_public.create_upload($1, $2, 1000, $3)", [purpose, name, options.isPublic ?? null]);
    await client.query("commit");
    if (options.ready !== false) {
      await rootDb().query("select app_private.finish_upload($1, $2, $3, 500)", [rows[0].id, user.id, options.type ?? PNG]);
    }
    return rows[0].id;
  } finally {
    await client.query("rollback").catch(() => undefined);
    client.release();
  }
}

beforeAll(async () => {
  [owner, other, admin] = await Promise.all([createTestUser(), createTestUser(), createTestUser({ roles: ["admin"] })]);
  ids.publicReady = await fixture(owner, "avatar", "me.png");
  ids.publicPending = await fixture(owner, "post_image", "cover.png", { ready: false });
  ids.privateReady = await fixture(owner, "cv", "cv.pdf", { type: PDF });
  ids.privateDocument = await fixture(owner, "document", "notes.pdf", { type: PDF, isPublic: false });
});

afterAll(async () => {
  await closeSqlHelpers();
});

describe("row-level security on app_public.files", () => {
  const actors: Record<string, () => As> = {
    anonymous: () => ({ role: "anonymous" }),
    owner: () => asUser(owner),
    other: () => asUser(other),
    admin: () => asUser(admin),
  };
  // Which fixtures each actor sees: the owner all four, everyone else only the public ready one.
  const expected: Record<string, string[]> = {
    anonymous: ["publicReady"],
    owner: ["privateDocument", "privateReady", "publicPending", "publicReady"],
    other: ["publicReady"],
    admin: ["publicReady"],
  };
  test.each(Object.keys(actors))("%s sees exactly the files the policies allow", async (actor) => {
    const seen = await asRole(actors[actor](), async (c) => {
      const { rows } = await c.query<{ id: string }>("select id from app_public.files where id = any($1)", [Object.values(ids)]);
      return rows.map((r) => Object.entries(ids).find(([, id]) => id === r.id)![0]).sort();
    });
    expect(seen).toEqual(expected[actor]);
  });

  test.each(Object.keys(actors))("%s cannot insert or update files directly (42501); only the owner deletes", async (actor) => {
    await asRole(actors[actor](), async (c) => {
      await c.query("savepoint s");
      expect(
        await sqlErrorCode(
          c.query("insert into app_public.files (owner_id, purpose, file_name, declared_size, is_public, storage_key) values ($1, 'avatar', 'x.png', 1, true, 'x')", [owner.id]),
        ),
      ).toBe("42501");
      await c.query("rollback to savepoint s");
      expect(await sqlErrorCode(c.query("update app_public.files set is_public = true where id = $1", [ids.privateReady]))).toBe("42501");
      await c.query("rollback to savepoint s");
      const deleting = c.query("delete from app_public.files where id = any($1)", [[ids.publicReady, ids.privateReady]]);
      if (actor === "anonymous") expect(await sqlErrorCode(deleting)).toBe("42501");
      else expect((await deleting).rowCount).toBe(actor === "owner" ? 2 : 0);
    });
  });

  test("deleting a file queues delete_file_bytes only when the delete commits", async () => {
    const id = await fixture(other, "document", "gone.pdf", { type: PDF });
    const jobs = async () =>
      (
        await rootDb().query<{ n: number }>(
          `select count(*)::int as n from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
            where t.identifier = 'delete_file_bytes' and j.payload->>'key' = $1`,
          [`document/${id}`],
        )
      ).rows[0].n;
    await asRole(asUser(other), (c) => c.query("delete from app_public.files where id = $1", [id])); // rolled back
    expect(await jobs()).toBe(0);
    const client = await rootDb().connect();
    try {
      await client.query("begin");
      await client.query("select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [other.id, other.sessionId]);
      expect((await client.query("delete from app_public.files where id = $1", [id])).rowCount).toBe(1);
      await client.query("commit");
    } finally {
      client.release();
    }
    expect(await jobs()).toBe(1);
    // No bytes were ever stored for this fixture: drop the job rather than leave it to another test's worker.
    await rootDb().query("delete from graphile_worker._private_jobs where payload->>'key' = $1", [`document/${id}`]);
  });

  test("the API roles cannot call finish_upload or upload_target", async () => {
    await asRole(asUser(owner), async (c) => {
      await c.query("savepoint s");
      expect(await sqlErrorCode(c.query("select app_private.finish_upload($1, $2, 'image/png', 5)", [ids.publicPending, owner.id]))).toBe("42501");
      await c.query("rollback to savepoint s");
      expect(await sqlErrorCode(c.query("select * from app_private.upload_target($1, $2)", [ids.publicPending, owner.id]))).toBe("42501");
    });
  });
});

describe("create_upload", () => {
  const create = (as: As, purpose: string, name: string, size: number | null, isPublic: boolean | null = null) =>
    asRole(as, (c) => c.query("select * from app_public.create_upload($1, $2, $3, $4)", [purpose, name, size, isPublic]));

  test("reserves a pending row owned by the caller, keyed purpose/id, public by purpose", async () => {
    const row = await asRole(asUser(other), async (c) => {
      const { rows } = await c.query("select * from app_public.create_upload('question_attachment', '../../etc/passwd.png', 1234)");
      return rows[0] as Record<string, unknown>;
    }).catch((error: unknown) => error);
    // A slash in the display name is refused by the name check (never a path anyway).
    expect((row as { code?: string }).code).toBe("23514");
    const ok = await asRole(asUser(other), async (c) => {
      const { rows } = await c.query("select * from app_public.create_upload('question_attachment', 'Screen shot.png', 1234)");
      return rows[0] as Record<string, unknown>;
    });
    expect(ok).toMatchObject({ owner_id: other.id, purpose: "question_attachment", file_name: "Screen shot.png", status: "pending", is_public: true, declared_size: "1234", byte_size: null, content_type: null });
    expect(ok.storage_key).toBe(`question_attachment/${ok.id as string}`);
    const cv = await asRole(asUser(other), async (c) => (await c.query("select is_public from app_public.create_upload('cv', 'cv.pdf', 10)")).rows[0]);
    expect(cv).toEqual({ is_public: false });
  });

  test.each([
    ["anonymous", "avatar", 10, null, "42501"],
    ["a member whose session has ended", "avatar", 10, null, "LOGIN"],
    ["member", "avatar", 0, null, "FEMPT"],
    ["member", "avatar", -5, null, "FEMPT"],
    ["member", "avatar", 5 * 1024 * 1024 + 1, null, "FSIZE"],
    ["member", "cv", 10 * 1024 * 1024 + 1, null, "FSIZE"],
    ["member", "cv", 100, true, "INVAL"],
    ["member", "application_letter", 100, true, "INVAL"],
  ] as const)("%s reserving %s of %d bytes (public %s) is refused with %s", async (who, purpose, size, isPublic, code) => {
    const as: As =
      who === "anonymous"
        ? { role: "anonymous" }
        : who === "member"
          ? asUser(other)
          : { role: "authenticated", userId: other.id, sessionId: "00000000-0000-4000-8000-00000000dead" };
    expect(await sqlErrorCode(create(as, purpose, "f.png", size, isPublic))).toBe(code);
  });

  // The lowered limits below hold in the test's own transaction only: a
  // committed change would refuse the uploads of test files running beside it.
  test("the quota (files.quota_bytes) counts ready files and recent reservations; FQUOT past it", async () => {
    const user = await createTestUser();
    await asRole(
      asUser(user),
      async (c) => {
        await c.query("select app_public.create_upload('document', 'a.pdf', 2000)");
        await c.query("select app_public.create_upload('document', 'b.pdf', 1000)");
        await c.query("savepoint s");
        expect(await sqlErrorCode(c.query("select app_public.create_upload('document', 'c.pdf', 1)"))).toBe("FQUOT");
      },
      { settings: { "files.quota_bytes": 3000 } },
    );
  });

  test("the rate limit (rate_limit.file:upload) refuses with RLIMT past its max", async () => {
    const user = await createTestUser();
    await asRole(
      asUser(user),
      async (c) => {
        for (let i = 0; i < 3; i += 1) await c.query("select app_public.create_upload('avatar', 'a.png', 10)");
        expect(await sqlErrorCode(c.query("select app_public.create_upload('avatar', 'a.png', 10)"))).toBe("RLIMT");
      },
      { settings: { "rate_limit.file:upload": { max: 3, window: "1 hour" } } },
    );
    // Nothing was committed: the real limit still holds for everyone else.
    const { rows } = await rootDb().query("select value from app_private.settings where key = 'rate_limit.file:upload'");
    expect(rows[0].value).toEqual({ max: 30, window: "1 hour" });
  });
});

describe("finish_upload (as the upload endpoint runs it)", () => {
  const finish = (id: string, userId: string, type: string | null, size: number) =>
    rootDb().query("select status, content_type, byte_size from app_private.finish_upload($1, $2, $3, $4)", [id, userId, type, size]);

  test.each([
    ["an empty file", "avatar", "a.png", PNG, 0, "FEMPT"],
    ["unrecognised bytes (a renamed executable)", "cv", "cv.pdf", null, 100, "FTYPE"],
    ["a pdf in the avatar slot", "avatar", "avatar", PDF, 100, "FTYPE"],
    ["an image as a CV", "cv", "cv", PNG, 100, "FTYPE"],
    ["a png named .jpg (spoofed extension)", "avatar", "me.jpg", PNG, 100, "FMISM"],
    ["a docx named .pdf", "document", "report.pdf", DOCX, 100, "FMISM"],
    ["more bytes than declared", "avatar", "a.png", PNG, 1001, "FSIZE"],
  ] as const)("refuses %s (%s slot, named %s) and leaves the row pending", async (_label, purpose, name, type, size, code) => {
    const id = await fixture(owner, purpose, name, { ready: false });
    expect(await sqlErrorCode(finish(id, owner.id, type, size))).toBe(code);
    const { rows } = await rootDb().query("select status, byte_size, content_type from app_public.files where id = $1", [id]);
    expect(rows[0]).toEqual({ status: "pending", byte_size: null, content_type: null });
  });

  test("an image over files.max_bytes.image is refused even when declared smaller than the slot's maximum", async () => {
    // question_attachment accepts documents up to 10 MB, images only up to 5 MB.
    const client = await rootDb().connect();
    try {
      const { rows } = await client.query<{ id: string }>(
        "insert into app_public.files (id, owner_id, purpose, file_name, declared_size, is_public, storage_key) select i, $1, 'question_attachment', 'big.png', 8000000, true, 'question_attachment/' || i from gen_random_uuid() i returning id",
        [owner.id],
      );
      expect(await sqlErrorCode(finish(rows[0].id, owner.id, PNG, 6_000_000))).toBe("FSIZE");
      const ok = await finish(rows[0].id, owner.id, null, 0).catch((e: { code: string }) => e.code);
      expect(ok).toBe("FEMPT");
    } finally {
      client.release();
    }
  });

  test("someone else's upload is NOTFD; a finished one is FDONE; a good one becomes ready", async () => {
    const id = await fixture(owner, "document", "Report.DOCX", { ready: false });
    expect(await sqlErrorCode(finish(id, other.id, DOCX, 100))).toBe("NOTFD");
    const { rows } = await finish(id, owner.id, DOCX, 100);
    expect(rows[0]).toEqual({ status: "ready", content_type: DOCX, byte_size: "100" });
    expect(await sqlErrorCode(finish(id, owner.id, DOCX, 100))).toBe("FDONE");
  });
});

describe("users.avatar_file_id", () => {
  const setAvatar = (user: TestUser, fileId: string | null) =>
    asRole(asUser(user), async (c) => {
      const { rowCount } = await c.query("update app_public.users set avatar_file_id = $1 where id = $2", [fileId, user.id]);
      return rowCount;
    });

  test("a ready avatar of one's own is accepted", async () => {
    expect(await setAvatar(owner, ids.publicReady)).toBe(1);
    expect(await setAvatar(owner, null)).toBe(1);
  });

  test.each([
    ["someone else's avatar file", () => other, () => ids.publicReady],
    ["a pending file", () => owner, () => ids.publicPending],
    ["a CV", () => owner, () => ids.privateReady],
  ])("%s is refused with FSLOT", async (_label, who, file) => {
    expect(await sqlErrorCode(setAvatar(who(), file()))).toBe("FSLOT");
  });
});

describe("sniffContentType (magic numbers, never the name)", () => {
  test.each([
    ["png", PNG],
    ["jpeg", JPEG],
    ["gif", GIF],
    ["webp", WEBP],
    ["pdf", PDF],
    ["doc", DOC],
    ["docx", DOCX],
    ["zip", null],
    ["exe", null],
    ["html", null],
    ["svg", null],
  ] as const)("%s → %s", (fixtureName, type) => {
    expect(sniffContentType(FIXTURES[fixtureName])).toBe(type);
  });

  test("empty and truncated heads are nothing", () => {
    expect(sniffContentType(Buffer.alloc(0))).toBeNull();
    expect(sniffContentType(Buffer.from([0x89, 0x50, 0x4e]))).toBeNull();
    expect(sniffContentType(Buffer.from("RIFF\0\0\0\0WAVE"))).toBeNull();
  });
});

describe("signed URLs", () => {
  const signer = makeUrlSigner("s".repeat(40));
  const id = "00000000-0000-4000-8000-000000000001";
  const user = "00000000-0000-4000-8000-000000000002";
  const parse = (qs: string) => Object.fromEntries(new URLSearchParams(qs));

  test("a fresh signature verifies; the same one after its expiry is expired", () => {
    const now = Date.now();
    const q = parse(signer.sign("put", id, user, 60, now));
    expect(q.u).toBe(user);
    expect(signer.verify("put", id, user, q.exp, q.sig, now)).toBe("ok");
    expect(signer.verify("put", id, user, q.exp, q.sig, now + 61_000)).toBe("expired");
  });

  test("absent, null, malformed or tampered signatures are invalid", () => {
    const q = parse(signer.sign("put", id, user, 60));
    expect(signer.verify("put", id, user, undefined, undefined)).toBe("invalid");
    expect(signer.verify("put", id, user, q.exp, null)).toBe("invalid");
    expect(signer.verify("put", id, user, q.exp, "")).toBe("invalid");
    expect(signer.verify("put", id, user, q.exp, ["a", "b"])).toBe("invalid");
    const flipped = (q.sig[0] === "A" ? "B" : "A") + q.sig.slice(1);
    expect(signer.verify("put", id, user, q.exp, flipped)).toBe("invalid");
    // Another file, another user, another action, a later expiry, another key: all invalid.
    expect(signer.verify("put", "00000000-0000-4000-8000-000000000003", user, q.exp, q.sig)).toBe("invalid");
    expect(signer.verify("put", id, "00000000-0000-4000-8000-000000000004", q.exp, q.sig)).toBe("invalid");
    expect(signer.verify("get", id, user, q.exp, q.sig)).toBe("invalid");
    expect(signer.verify("put", id, user, String(Number(q.exp) + 3600), q.sig)).toBe("invalid");
    expect(makeUrlSigner("t".repeat(40)).verify("put", id, user, q.exp, q.sig)).toBe("invalid");
  });
});

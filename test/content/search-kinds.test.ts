/**
 * Search over chat messages and job postings, who finds what, how the search
 * table follows edits and deletions, and the length limit. Every row this
 * file creates carries a random marker word, and every search asks for it.
 */
import { asRole, bulkLoad, closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { errorCode } from "../helpers/auth";
import { asUser, createTestUser, type TestUser } from "../helpers/users";
import { arrangeDirect, arrangeMessage, arrangeRoom, createChatUsers, type ChatUsers } from "../chat/fixtures";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

function marker(length = 10): string {
  const letters = "bcdfghjklmnpqrstvwxz";
  return Array.from({ length }, () => letters[Math.floor(Math.random() * letters.length)]).join("");
}

const SEARCH = `query($q: String!, $kinds: [String]) {
  search(query: $q, kinds: $kinds, first: 50) { totalCount nodes { kind rowId title snippet } }
}`;
type Hit = { kind: string; rowId: string; title: string | null; snippet: string | null };

async function found(query: string, token?: string, kinds?: string[]): Promise<Hit[]> {
  const res = await server.graphql<{ search: { nodes: Hit[] } }>(SEARCH, { q: query, kinds }, { token });
  expect(res.errors).toBeUndefined();
  return res.data!.search.nodes;
}
const ids = (hits: Hit[]) => hits.map((h) => h.rowId).sort();
const sorted = (list: string[]) => [...list].sort();

/** The ids app_public.search returns at the SQL level, as `user` (anonymous when undefined). */
async function sqlFound(query: string, user?: TestUser): Promise<string[]> {
  const as = user ? asUser(user) : { role: "anonymous" as const };
  return asRole(as, async (c) => sorted((await c.query<{ id: string }>("select id from app_public.search($1)", [query])).rows.map((r) => r.id)));
}

describe("chat messages", () => {
  const m = marker();
  let u: ChatUsers;
  const msg = { publicByMember: "", publicByOwner: "", privateRoom: "", direct: "", system: "" };

  beforeAll(async () => {
    u = await createChatUsers();
    await bulkLoad(async (c) => {
      const publicRoom = await arrangeRoom(c, u.owner, "public", [[u.member, "member"], [u.blocker, "member"]]);
      const privateRoom = await arrangeRoom(c, u.owner, "private", [[u.member, "member"], [u.blocker, "member"]]);
      const direct = await arrangeDirect(c, u.owner, u.admin);
      await c.query("insert into app_public.user_blocks (blocker_id, blocked_id) values ($1, $2)", [u.blocker.id, u.member.id]);
      msg.publicByMember = await arrangeMessage(c, publicRoom, u.member, `Deploy notes ${m} from the member`);
      msg.publicByOwner = await arrangeMessage(c, publicRoom, u.owner, `Release plan ${m} from the owner`);
      msg.privateRoom = await arrangeMessage(c, privateRoom, u.owner, `Private budget ${m} figures`);
      msg.direct = await arrangeMessage(c, direct, u.admin, `Direct word ${m} between two`);
    });
  });

  it("finds messages of public rooms for everyone, of private and direct rooms for their members only", async () => {
    const publicOnes = sorted([msg.publicByMember, msg.publicByOwner]);
    expect(await sqlFound(m)).toEqual(publicOnes);
    expect(await sqlFound(m, u.outsider)).toEqual(publicOnes);
    expect(await sqlFound(m, u.member)).toEqual(sorted([...publicOnes, msg.privateRoom]));
    expect(await sqlFound(m, u.owner)).toEqual(sorted([...publicOnes, msg.privateRoom, msg.direct]));
    expect(await sqlFound(m, u.admin)).toEqual(sorted([...publicOnes, msg.direct]));
    // A platform moderator reads what everyone reads, no more (as the messages policy).
    expect(await sqlFound(m, u.moderator)).toEqual(publicOnes);
  });

  it("hides the messages of a member you blocked, in every room", async () => {
    expect(await sqlFound(m, u.blocker)).toEqual(sorted([msg.publicByOwner, msg.privateRoom]));
  });

  it("returns messages over the API as kind message with a highlighted snippet", async () => {
    const hits = await found(m, server.tokenFor(u.member), ["message"]);
    expect(ids(hits)).toEqual(sorted([msg.publicByMember, msg.publicByOwner, msg.privateRoom]));
    const hit = hits.find((h) => h.rowId === msg.privateRoom)!;
    expect(hit).toMatchObject({ kind: "message", title: null });
    expect(hit.snippet).toContain(`<mark>${m}</mark>`);
    expect(ids(await found(m, undefined, ["message"]))).toEqual(sorted([msg.publicByMember, msg.publicByOwner]));
  });

  it("follows edits and deletions: the new words are found, the old and the deleted are not", async () => {
    const m2 = marker();
    const m3 = marker();
    const room = await bulkLoad((c) => arrangeRoom(c, u.owner, "public"));
    const id = await bulkLoad((c) => arrangeMessage(c, room, u.owner, `First version ${m2}`));
    expect(await sqlFound(m2)).toEqual([id]);
    await rootDb().query("update app_public.messages set body = $2 where id = $1", [id, `Second version ${m3}`]);
    expect(await sqlFound(m2)).toEqual([]);
    expect(await sqlFound(m3)).toEqual([id]);
    await rootDb().query("update app_public.messages set deleted_at = now(), body = '' where id = $1", [id]);
    expect(await sqlFound(m3)).toEqual([]);
    expect((await rootDb().query("select 1 from app_private.search_entries where kind = 'message' and id = $1", [id])).rowCount).toBe(0);
  });

  it("indexes what a member writes as the API role (the triggers write the search table, not the member)", async () => {
    const m2 = marker();
    const room = await bulkLoad((c) => arrangeRoom(c, u.owner, "public", [[u.member, "member"]]));
    await asRole(asUser(u.member), async (c) => {
      const sent = await c.query<{ id: string }>("insert into app_public.messages (room_id, body) values ($1, $2) returning id", [room, `Sent ${m2}`]);
      const post = await c.query<{ id: string }>(
        "insert into app_public.posts (title, body, status) values ($1, $2, 'published') returning id",
        [`Written ${m2}`, `By a member ${m2}.`],
      );
      const hits = (await c.query<{ id: string }>("select id from app_public.search($1)", [m2])).rows.map((r) => r.id);
      expect(sorted(hits)).toEqual(sorted([sent.rows[0].id, post.rows[0].id]));
      expect(await sqlErrorCode(c.query("select count(*) from app_private.search_entries"))).toBe("42501");
    });
  });

  it("drops a message hidden by moderation from search, and finds it again when it is approved", async () => {
    const m3 = marker();
    const room = await bulkLoad((c) => arrangeRoom(c, u.owner, "public"));
    const id = await bulkLoad((c) => arrangeMessage(c, room, u.owner, `Questionable ${m3}`));
    expect(await sqlFound(m3)).toEqual([id]);
    await rootDb().query("update app_public.messages set hidden_at = now() where id = $1", [id]);
    expect(await sqlFound(m3)).toEqual([]);
    expect(await sqlFound(m3, u.owner)).toEqual([]);
    await rootDb().query("update app_public.messages set hidden_at = null where id = $1", [id]);
    expect(await sqlFound(m3)).toEqual([id]);
  });

  it("drops a room's messages from search when the room is deleted", async () => {
    const m2 = marker();
    const room = await bulkLoad((c) => arrangeRoom(c, u.owner, "public"));
    const id = await bulkLoad((c) => arrangeMessage(c, room, u.owner, `Soon gone ${m2}`));
    expect(await sqlFound(m2)).toEqual([id]);
    await rootDb().query("delete from app_public.rooms where id = $1", [room]);
    expect(await sqlFound(m2)).toEqual([]);
  });
});

describe("job postings", () => {
  const m = marker();
  let employer: TestUser;
  let other: TestUser;
  let moderator: TestUser;
  const job = { active: "", closed: "", draft: "" };

  beforeAll(async () => {
    [employer, other, moderator] = await Promise.all([createTestUser(), createTestUser(), createTestUser({ roles: ["admin"] })]); // admin holds job:moderate
    await bulkLoad(async (c) => {
      const insert = async (title: string, status: string) =>
        (
          await c.query<{ id: string }>(
            `insert into app_public.job_postings (employer_id, title, description, status)
             values ($1, $2, $3, $4::app_public.job_status) returning id`,
            [employer.id, title, `We build ${m} tooling. Requirements: patience.`, status],
          )
        ).rows[0].id;
      job.active = await insert(`Platform engineer ${m}`, "active");
      job.draft = await insert(`Draft role ${m}`, "draft");
      job.closed = await insert(`Closed role ${m}`, "active");
      await c.query("update app_public.job_postings set status = 'closed' where id = $1", [job.closed]);
    });
  });

  it("finds published postings for everyone; a draft only for its employer and job moderators", async () => {
    const published = sorted([job.active, job.closed]);
    expect(await sqlFound(m)).toEqual(published);
    expect(await sqlFound(m, other)).toEqual(published);
    expect(await sqlFound(m, employer)).toEqual(sorted([...published, job.draft]));
    expect(await sqlFound(m, moderator)).toEqual(sorted([...published, job.draft]));
  });

  it("returns a posting as kind job with its title, found by a word of its title or description", async () => {
    const hits = await found(`platform engineer ${m}`);
    expect(hits[0]).toMatchObject({ kind: "job", rowId: job.active, title: `Platform engineer ${m}` });
    expect(ids(await found(`${m} tooling`, undefined, ["job"]))).toEqual(sorted([job.active, job.closed]));
  });

  it("follows a retitle and a deletion", async () => {
    const m2 = marker();
    await rootDb().query("update app_public.job_postings set title = $2 where id = $1", [job.draft, `Renamed role ${m2}`]);
    expect(await sqlFound(m2, employer)).toEqual([job.draft]);
    expect(await sqlFound(m2)).toEqual([]);
    await rootDb().query("delete from app_public.job_postings where id = $1", [job.draft]);
    expect(await sqlFound(m2, employer)).toEqual([]);
  });
});

describe("the search text limit", () => {
  it("accepts a text of search.max_query_length characters and refuses a longer one with TLONG", async () => {
    const { rows } = await rootDb().query<{ max: number }>("select (app_private.setting('search.max_query_length') #>> '{}')::int as max");
    const max = rows[0].max;
    const atLimit = `${marker()} `.repeat(200).slice(0, max);
    expect((await server.graphql(SEARCH, { q: atLimit })).errors).toBeUndefined();
    const over = `${atLimit}x`;
    const res = await server.graphql<{ search: unknown }>(SEARCH, { q: over });
    expect(errorCode(res)).toBe("TLONG");
    expect(res.errors?.[0].message).toBe(`The search text is too long (${max + 1} characters; at most ${max})`);
    expect(res.errors?.[0].extensions).toMatchObject({ code: "TLONG", maxLength: max, length: max + 1 });
    expect(res.data?.search ?? null).toBeNull();
    expect(await sqlErrorCode(asRole({ role: "anonymous" }, (c) => c.query("select * from app_public.search($1)", [over])))).toBe("TLONG");
  });

  it("refuses 90 kB of words at once instead of working on them until the statement deadline", async () => {
    const res = await server.graphql(SEARCH, { q: "lorem ipsum dolor ".repeat(5000) });
    expect(errorCode(res)).toBe("TLONG");
    expect(res.errors?.[0].extensions).toMatchObject({ code: "TLONG", length: 90_000 });
  });
});

/**
 * Who sees and writes what in the chat tables: for every chat table,
 * anonymous, a non-member, a member, a room admin, the room owner, a platform
 * moderator (in no room) and a member who blocked another member
 * × select / insert / update / delete, at the SQL level as the API's roles.
 * Every statement runs in its own transaction that rolls back.
 *
 * Outcomes: the labels of the fixture rows a select returns, the number of
 * rows a write touched (0 = row-level security hid the row), or the SQLSTATE
 * it failed with (42501 = privileges or a policy refused; LASTO etc.: a rule).
 */
import { asRole, closeSqlHelpers, type As } from "../helpers/sql";
import { arrangeDirect, arrangeMessage, arrangeRoom, bulkLoad, createChatUsers, type ChatUsers } from "./fixtures";

type Actor = "anonymous" | "outsider" | "member" | "admin" | "owner" | "moderator" | "blocker";
const ACTORS: Actor[] = ["anonymous", "outsider", "member", "admin", "owner", "moderator", "blocker"];
type Outcome = number | string | string[];

let u: ChatUsers;
const k: Record<string, string> = {};

function caller(actor: Actor): As {
  if (actor === "anonymous") return { role: "anonymous" };
  const user = u[actor];
  return { role: "authenticated", userId: user.id, sessionId: user.sessionId };
}

beforeAll(async () => {
  u = await createChatUsers();
  await bulkLoad(async (c) => {
    const members: Array<[typeof u.owner, "admin" | "member"]> = [
      [u.admin, "admin"],
      [u.member, "member"],
      [u.blocker, "member"],
    ];
    k.pub = await arrangeRoom(c, u.owner, "public", members);
    k.priv = await arrangeRoom(c, u.owner, "private", members);
    k.dm = await arrangeDirect(c, u.owner, u.member);
    k["pub:msg"] = await arrangeMessage(c, k.pub, u.member, "by member in public");
    k["pub:msg2"] = await arrangeMessage(c, k.pub, u.owner, `by owner, hello @${u.member.username}`);
    k["pub:deleted"] = await arrangeMessage(c, k.pub, u.member, "a secret that was deleted");
    k["priv:msg"] = await arrangeMessage(c, k.priv, u.member, "by member in private");
    k["priv:msg2"] = await arrangeMessage(c, k.priv, u.owner, `by owner in private @${u.member.username}`);
    k["dm:msg"] = await arrangeMessage(c, k.dm, u.owner, "direct hello");
    await c.query("update app_public.messages set body = 'edited by member in public' where id = $1", [k["pub:msg"]]);
    await c.query("update app_public.messages set deleted_at = now() where id = $1", [k["pub:deleted"]]);
    for (const m of ["pub:msg2", "priv:msg2"]) {
      await c.query("insert into app_public.message_reactions (message_id, user_id, emoji) values ($1, $2, '👍')", [k[m], u.member.id]);
      await c.query("insert into app_public.room_pins (room_id, message_id, pinned_by) values ($1, $2, $3)", [
        k[m.split(":")[0]],
        k[m],
        u.owner.id,
      ]);
    }
    await c.query("insert into app_public.user_blocks (blocker_id, blocked_id) values ($1, $2)", [u.blocker.id, u.member.id]);
    // Link previews of one message per room (bulk loads make none by themselves).
    for (const m of ["pub:msg", "priv:msg", "dm:msg"]) {
      k[`url:${m}`] = `https://${m.split(":")[0]}.example/${k[m]}`;
      await c.query("insert into app_public.link_previews (url, status, title, fetched_at) values ($1, 'ready', 'A page', now())", [k[`url:${m}`]]);
      await c.query("insert into app_public.message_link_previews (message_id, url, position) values ($1, $2, 1)", [k[m], k[`url:${m}`]]);
    }
  });
});
afterAll(closeSqlHelpers);

/** Labels of the fixture rows among `ids`. */
function labels(ids: string[]): string[] {
  const byId = new Map(Object.entries(k).map(([label, id]) => [id, label]));
  return ids.map((id) => byId.get(id) ?? `?${id}`).sort();
}

async function run(actor: Actor, text: string, values: unknown[] = []): Promise<Outcome> {
  try {
    return await asRole(caller(actor), async (client) => {
      const res = await client.query(text, values);
      if (res.command === "SELECT") return labels(res.rows.map((r: { key: string }) => r.key));
      return res.rowCount ?? 0;
    });
  } catch (error) {
    return String((error as { code?: string }).code);
  }
}

async function matrix(text: string | ((actor: Actor) => string), values: (actor: Actor) => unknown[], expected: Record<Actor, Outcome>) {
  const got: Partial<Record<Actor, Outcome>> = {};
  for (const actor of ACTORS) got[actor] = await run(actor, typeof text === "string" ? text : text(actor), values(actor));
  expect(got).toEqual(expected);
}

const rooms = (...l: string[]) => l.sort();
const me = (actor: Actor) => (actor === "anonymous" ? null : u[actor].id);

describe("rooms", () => {
  it("select: public rooms to everyone; private and direct rooms to their members only", async () => {
    await matrix("select id as key from app_public.rooms where id = any($1)", () => [[k.pub, k.priv, k.dm]], {
      anonymous: ["pub"],
      outsider: ["pub"],
      member: rooms("pub", "priv", "dm"),
      admin: rooms("pub", "priv"),
      owner: rooms("pub", "priv", "dm"),
      moderator: ["pub"],
      blocker: rooms("pub", "priv"),
    });
  });
  it("insert: signed-in members create public and private rooms (and own them); nobody inserts a direct room", async () => {
    await matrix("insert into app_public.rooms (kind, name) values ('private', 'New room')", () => [], {
      anonymous: "42501", outsider: 1, member: 1, admin: 1, owner: 1, moderator: 1, blocker: 1,
    });
    await matrix("insert into app_public.rooms (kind, name) values ('direct', null)", () => [], {
      anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501",
    });
  });
  it("update: room admins and the owner", async () => {
    await matrix("update app_public.rooms set topic = 'new topic' where id = $1", () => [k.priv], {
      anonymous: "42501", outsider: 0, member: 0, admin: 1, owner: 1, moderator: 0, blocker: 0,
    });
  });
  it("delete: the owner only", async () => {
    await matrix("delete from app_public.rooms where id = $1", () => [k.priv], {
      anonymous: "42501", outsider: 0, member: 0, admin: 0, owner: 1, moderator: 0, blocker: 0,
    });
  });
});

describe("room_members", () => {
  it("select: a private room's member list is visible to its members only", async () => {
    await matrix("select room_id as key from app_public.room_members where room_id = $1 and user_id = $2", () => [k.priv, u.member.id], {
      anonymous: [], outsider: [], member: ["priv"], admin: ["priv"], owner: ["priv"], moderator: [], blocker: ["priv"],
    });
    await matrix("select room_id as key from app_public.room_members where room_id = $1 and user_id = $2", () => [k.pub, u.member.id], {
      anonymous: ["pub"], outsider: ["pub"], member: ["pub"], admin: ["pub"], owner: ["pub"], moderator: ["pub"], blocker: ["pub"],
    });
  });
  it("insert: anyone signed in joins a public room (as member only)", async () => {
    await matrix("insert into app_public.room_members (room_id, user_id) values ($1, $2)", (a) => [k.pub, me(a)], {
      anonymous: "42501", outsider: 1, member: "23505", admin: "23505", owner: "23505", moderator: 1, blocker: "23505",
    });
  });
  it("insert: nobody joins a private room by themselves; room admins and the owner invite", async () => {
    await matrix("insert into app_public.room_members (room_id, user_id) values ($1, $2)", (a) => [k.priv, a === "anonymous" || a === "outsider" || a === "moderator" ? me(a) : u.outsider.id], {
      anonymous: "42501", outsider: "42501", member: "42501", admin: 1, owner: 1, moderator: "42501", blocker: "42501",
    });
  });
  it("insert: nobody adds a third person to a direct room", async () => {
    await matrix("insert into app_public.room_members (room_id, user_id) values ($1, $2)", () => [k.dm, u.outsider.id], {
      anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501",
    });
  });
  it("update: nobody directly (roles, read state and mutes change through functions)", async () => {
    await matrix("update app_public.room_members set role = 'admin' where room_id = $1 and user_id = $2", () => [k.priv, u.member.id], {
      anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501",
    });
  });
  it("delete: a member leaves; admins remove members; owners remove admins; nobody leaves a direct room", async () => {
    await matrix("delete from app_public.room_members where room_id = $1 and user_id = $2", () => [k.priv, u.member.id], {
      anonymous: "42501", outsider: 0, member: 1, admin: 1, owner: 1, moderator: 0, blocker: 0,
    });
    await matrix("delete from app_public.room_members where room_id = $1 and user_id = $2", () => [k.priv, u.admin.id], {
      anonymous: "42501", outsider: 0, member: 0, admin: 1, owner: 1, moderator: 0, blocker: 0,
    });
    await matrix("delete from app_public.room_members where room_id = $1 and user_id = $2", () => [k.priv, u.owner.id], {
      anonymous: "42501", outsider: 0, member: 0, admin: 0, owner: "LASTO", moderator: 0, blocker: 0,
    });
    await matrix("delete from app_public.room_members where room_id = $1 and user_id = $2", () => [k.dm, u.member.id], {
      anonymous: "42501", outsider: 0, member: 0, admin: 0, owner: 0, moderator: 0, blocker: 0,
    });
  });
});

const MESSAGES = ["pub:msg", "pub:msg2", "pub:deleted", "priv:msg", "priv:msg2", "dm:msg"];

describe("messages", () => {
  it("select: public rooms to everyone, others to members; a blocker does not see the blocked member's messages", async () => {
    await matrix("select id as key from app_public.messages where id = any($1)", () => [MESSAGES.map((m) => k[m])], {
      anonymous: rooms("pub:msg", "pub:msg2", "pub:deleted"),
      outsider: rooms("pub:msg", "pub:msg2", "pub:deleted"),
      member: rooms(...MESSAGES),
      admin: rooms("pub:msg", "pub:msg2", "pub:deleted", "priv:msg", "priv:msg2"),
      owner: rooms(...MESSAGES),
      moderator: rooms("pub:msg", "pub:msg2", "pub:deleted"),
      blocker: rooms("pub:msg2", "priv:msg2"),
    });
  });
  it("a deleted message's body is empty for everyone", async () => {
    const bodies: Record<string, unknown> = {};
    for (const actor of ACTORS) {
      const { rows } = await asRole(caller(actor), (c) => c.query("select body, deleted_at is not null as deleted from app_public.messages where id = $1", [k["pub:deleted"]]));
      bodies[actor] = rows[0] ?? "hidden";
    }
    const gone = { body: "", deleted: true };
    expect(bodies).toEqual({ anonymous: gone, outsider: gone, member: gone, admin: gone, owner: gone, moderator: gone, blocker: "hidden" });
  });
  it("insert: members post; outsiders and moderators outside the room do not", async () => {
    await matrix("insert into app_public.messages (room_id, body) values ($1, 'hi')", () => [k.priv], {
      anonymous: "42501", outsider: "42501", member: 1, admin: 1, owner: 1, moderator: "42501", blocker: 1,
    });
    await matrix("insert into app_public.messages (room_id, body) values ($1, 'hi')", () => [k.pub], {
      anonymous: "42501", outsider: "42501", member: 1, admin: 1, owner: 1, moderator: "42501", blocker: 1,
    });
  });
  it("update: the author edits their own message only", async () => {
    await matrix("update app_public.messages set body = 'changed' where id = $1", () => [k["pub:msg"]], {
      anonymous: "42501", outsider: 0, member: 1, admin: 0, owner: 0, moderator: 0, blocker: 0,
    });
  });
  it("delete: nobody directly (deleteMessage soft-deletes)", async () => {
    await matrix("delete from app_public.messages where id = $1", () => [k["pub:msg"]], {
      anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501",
    });
  });
});

describe("message_revisions", () => {
  it("select: history of visible messages; a deleted message's history to room admins and moderators only", async () => {
    await matrix("select message_id as key from app_public.message_revisions where message_id = any($1)", () => [[k["pub:msg"], k["pub:deleted"]]], {
      anonymous: ["pub:msg"],
      outsider: ["pub:msg"],
      member: ["pub:msg"],
      admin: rooms("pub:msg", "pub:deleted"),
      owner: rooms("pub:msg", "pub:deleted"),
      moderator: rooms("pub:msg", "pub:deleted"),
      blocker: [],
    });
  });
  it("insert, update, delete: nobody", async () => {
    const all = { anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501" };
    await matrix("insert into app_public.message_revisions (message_id, body) values ($1, 'x')", () => [k["pub:msg"]], all);
    await matrix("update app_public.message_revisions set body = 'x' where message_id = $1", () => [k["pub:msg"]], all);
    await matrix("delete from app_public.message_revisions where message_id = $1", () => [k["pub:msg"]], all);
  });
});

describe("message_reactions and message_reaction_counts", () => {
  it("select: reactions and counts of visible messages", async () => {
    const expected = {
      anonymous: ["pub:msg2"], outsider: ["pub:msg2"], member: rooms("pub:msg2", "priv:msg2"), admin: rooms("pub:msg2", "priv:msg2"),
      owner: rooms("pub:msg2", "priv:msg2"), moderator: ["pub:msg2"], blocker: rooms("pub:msg2", "priv:msg2"),
    };
    const ids = () => [[k["pub:msg2"], k["priv:msg2"]]];
    await matrix("select message_id as key from app_public.message_reactions where message_id = any($1)", ids, expected);
    await matrix("select message_id as key from app_public.message_reaction_counts where message_id = any($1) and count = 1", ids, expected);
  });
  it("insert: members of the room react", async () => {
    await matrix("insert into app_public.message_reactions (message_id, emoji) values ($1, '🎉')", () => [k["priv:msg2"]], {
      anonymous: "42501", outsider: "42501", member: 1, admin: 1, owner: 1, moderator: "42501", blocker: 1,
    });
  });
  it("delete: one's own reaction only; counts are never written directly", async () => {
    await matrix("delete from app_public.message_reactions where message_id = $1", () => [k["priv:msg2"]], {
      anonymous: "42501", outsider: 0, member: 1, admin: 0, owner: 0, moderator: 0, blocker: 0,
    });
    const all = { anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501" };
    await matrix("update app_public.message_reaction_counts set count = 99 where message_id = $1", () => [k["pub:msg2"]], all);
    await matrix("insert into app_public.message_reaction_counts (message_id, emoji, count) values ($1, 'x', 1)", () => [k["pub:msg2"]], all);
    await matrix("delete from app_public.message_reaction_counts where message_id = $1", () => [k["pub:msg2"]], all);
  });
});

describe("message_mentions and room_pins", () => {
  it("select: mentions and pins of what you may read", async () => {
    const expected = {
      anonymous: ["pub:msg2"], outsider: ["pub:msg2"], member: rooms("pub:msg2", "priv:msg2"), admin: rooms("pub:msg2", "priv:msg2"),
      owner: rooms("pub:msg2", "priv:msg2"), moderator: ["pub:msg2"], blocker: rooms("pub:msg2", "priv:msg2"),
    };
    const ids = () => [[k["pub:msg2"], k["priv:msg2"]]];
    await matrix("select message_id as key from app_public.message_mentions where message_id = any($1)", ids, expected);
    await matrix("select message_id as key from app_public.room_pins where message_id = any($1)", ids, expected);
  });
  it("insert, update, delete: nobody directly (the database parses mentions; pinMessage pins)", async () => {
    const all = { anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501" };
    await matrix("insert into app_public.message_mentions (message_id, user_id, room_id, created_at) values ($1, $2, $3, now())", () => [k["pub:msg"], u.owner.id, k.pub], all);
    await matrix("delete from app_public.message_mentions where message_id = $1", () => [k["pub:msg2"]], all);
    await matrix("insert into app_public.room_pins (room_id, message_id) values ($1, $2)", () => [k.pub, k["pub:msg"]], all);
    await matrix("update app_public.room_pins set pinned_by = null where message_id = $1", () => [k["pub:msg2"]], all);
    await matrix("delete from app_public.room_pins where message_id = $1", () => [k["pub:msg2"]], all);
  });
});

describe("user_blocks", () => {
  it("select: only the blocker sees a block", async () => {
    await matrix("select blocker_id as key from app_public.user_blocks where blocked_id = $1", () => [u.member.id], {
      anonymous: [], outsider: [], member: [], admin: [], owner: [], moderator: [], blocker: [`?${u.blocker.id}`],
    });
  });
  it("insert: a member blocks someone as themselves only", async () => {
    await matrix("insert into app_public.user_blocks (blocked_id) values ($1)", () => [u.outsider.id], {
      anonymous: "42501", outsider: "23514", member: 1, admin: 1, owner: 1, moderator: 1, blocker: 1,
    });
    await matrix("insert into app_public.user_blocks (blocker_id, blocked_id) values ($1, $2)", () => [u.owner.id, u.outsider.id], {
      anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501",
    });
  });
  it("update: nobody; delete: the blocker unblocks", async () => {
    await matrix("update app_public.user_blocks set created_at = now() where blocked_id = $1", () => [u.member.id], {
      anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501",
    });
    await matrix("delete from app_public.user_blocks where blocked_id = $1", () => [u.member.id], {
      anonymous: "42501", outsider: 0, member: 0, admin: 0, owner: 0, moderator: 0, blocker: 1,
    });
  });
});

describe("link_previews and message_link_previews", () => {
  const PREVIEWED = ["pub:msg", "priv:msg", "dm:msg"];
  it("select: where a message naming the URL is readable (never past a block)", async () => {
    const expected: Record<Actor, Outcome> = {
      anonymous: ["pub:msg"],
      outsider: ["pub:msg"],
      member: rooms("pub:msg", "priv:msg", "dm:msg"),
      admin: rooms("pub:msg", "priv:msg"),
      owner: rooms("pub:msg", "priv:msg", "dm:msg"),
      moderator: ["pub:msg"],
      blocker: [],
    };
    await matrix("select message_id as key from app_public.message_link_previews where message_id = any($1)", () => [PREVIEWED.map((m) => k[m])], expected);
    const byUrl = Object.fromEntries(Object.entries(expected).map(([a, l]) => [a, (l as string[]).map((m) => `url:${m}`).sort()])) as Record<Actor, Outcome>;
    await matrix("select url as key from app_public.link_previews where url = any($1)", () => [PREVIEWED.map((m) => k[`url:${m}`])], byUrl);
  });
  it("insert, update, delete: nobody (the database and the fetch job write them)", async () => {
    const all: Record<Actor, Outcome> = { anonymous: "42501", outsider: "42501", member: "42501", admin: "42501", owner: "42501", moderator: "42501", blocker: "42501" };
    await matrix("insert into app_public.link_previews (url) values ('https://forged.example/')", () => [], all);
    await matrix("update app_public.link_previews set title = 'forged' where url = $1", () => [k["url:pub:msg"]], all);
    await matrix("delete from app_public.link_previews where url = $1", () => [k["url:pub:msg"]], all);
    await matrix("insert into app_public.message_link_previews (message_id, url, position) values ($1, $2, 2)", () => [k["pub:msg2"], k["url:pub:msg"]], all);
    await matrix("update app_public.message_link_previews set position = 9 where message_id = $1", () => [k["pub:msg"]], all);
    await matrix("delete from app_public.message_link_previews where message_id = $1", () => [k["pub:msg"]], all);
  });
});

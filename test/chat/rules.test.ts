/**
 * The chat rules as members meet them, each with its error code, at the SQL
 * level as the API's roles (transactions roll back; fixtures are committed by
 * the superuser): direct rooms, ownership, threads, edits and history, soft
 * delete, banned words, the send limit, archived rooms, mentions, reactions,
 * read state and unread counts, pins, mutes, blocks and system messages.
 */
import type pg from "pg";
import { asRole, closeSqlHelpers, inSavepoint, rootDb, sqlErrorCode } from "../helpers/sql";
import { asUser, createTestUser, uniqueName, type TestUser } from "../helpers/users";
import { arrangeDirect, arrangeMessage, arrangeRoom, bulkLoad, createChatUsers, type ChatUsers } from "./fixtures";

let u: ChatUsers;
let pub: string;
let priv: string;

beforeAll(async () => {
  u = await createChatUsers();
  await bulkLoad(async (c) => {
    const members: Array<[TestUser, "admin" | "member"]> = [
      [u.admin, "admin"],
      [u.member, "member"],
      [u.blocker, "member"],
    ];
    pub = await arrangeRoom(c, u.owner, "public", members);
    priv = await arrangeRoom(c, u.owner, "private", members);
  });
});
afterAll(closeSqlHelpers);

/** The SQLSTATE a statement fails with, inside a savepoint so the transaction goes on. */
const code = (c: pg.PoolClient, text: string, values: unknown[] = []) => sqlErrorCode(inSavepoint(c, () => c.query(text, values)));
const send = async (c: pg.PoolClient, room: string, body: string, parent: string | null = null) =>
  (await c.query<{ id: string }>("insert into app_public.messages (room_id, body, parent_id) values ($1, $2, $3) returning id", [room, body, parent])).rows[0].id;

describe("direct rooms", () => {
  it("one per pair: openDirectRoom returns the existing room from either side; not with yourself (INVAL)", async () => {
    const [a, b] = await Promise.all([createTestUser(), createTestUser()]);
    const first = await asRole(asUser(a), async (c) => {
      const id = (await c.query("select (app_public.open_direct_room($1)).id", [b.id])).rows[0].id;
      expect(await code(c, "select app_public.open_direct_room($1)", [a.id])).toBe("INVAL");
      await c.query("commit");
      return id;
    });
    const again = await asRole(asUser(b), async (c) => (await c.query("select (app_public.open_direct_room($1)).id", [a.id])).rows[0].id);
    expect(again).toBe(first);
    const { rows } = await rootDb().query("select user_id from app_public.room_members where room_id = $1 order by user_id", [first]);
    expect(rows.map((r) => r.user_id)).toEqual([a.id, b.id].sort());
    // The pair is unique in the table itself, whoever inserts.
    expect(
      await sqlErrorCode(
        rootDb().query("insert into app_public.rooms (kind, direct_low_id, direct_high_id) values ('direct', least($1::uuid, $2::uuid), greatest($1::uuid, $2::uuid))", [a.id, b.id]),
      ),
    ).toBe("23505");
  });

  it("a block (either way) refuses opening (BLOCK) and makes an existing direct room read-only for both; unblock restores", async () => {
    const [a, b, c2] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
    const dm = await bulkLoad((c) => arrangeDirect(c, a, b));
    await rootDb().query("insert into app_public.user_blocks (blocker_id, blocked_id) values ($1, $2), ($3, $1)", [a.id, b.id, c2.id]);
    await asRole(asUser(b), async (c) => {
      expect(await code(c, "insert into app_public.messages (room_id, body) values ($1, 'hi')", [dm])).toBe("BLOCK");
      expect(await code(c, "select app_public.open_direct_room($1)", [a.id])).toBe("BLOCK");
    });
    await asRole(asUser(a), async (c) => {
      expect(await code(c, "insert into app_public.messages (room_id, body) values ($1, 'hi')", [dm])).toBe("BLOCK");
      expect(await code(c, "select app_public.open_direct_room($1)", [c2.id])).toBe("BLOCK");
      expect((await c.query("delete from app_public.user_blocks where blocked_id = $1", [b.id])).rowCount).toBe(1);
      await send(c, dm, "friends again");
    });
  });
});

describe("membership and ownership", () => {
  it("the last owner cannot leave (LASTO); after transferring ownership they can; only owners transfer (FORBD)", async () => {
    const room = await bulkLoad((c) => arrangeRoom(c, u.owner, "private", [[u.member, "member"]]));
    await asRole(asUser(u.member), async (c) => {
      expect(await code(c, "select app_public.transfer_room_ownership($1, $2)", [room, u.member.id])).toBe("FORBD");
    });
    await asRole(asUser(u.owner), async (c) => {
      expect(await code(c, "delete from app_public.room_members where room_id = $1 and user_id = $2", [room, u.owner.id])).toBe("LASTO");
      expect(await code(c, "select app_public.transfer_room_ownership($1, $2)", [room, u.outsider.id])).toBe("NOTFD");
      await c.query("select app_public.transfer_room_ownership($1, $2)", [room, u.member.id]);
      const roles = await c.query("select user_id, role from app_public.room_members where room_id = $1", [room]);
      expect(Object.fromEntries(roles.rows.map((r) => [r.user_id, r.role]))).toEqual({ [u.owner.id]: "admin", [u.member.id]: "owner" });
      expect((await c.query("delete from app_public.room_members where room_id = $1 and user_id = $2", [room, u.owner.id])).rowCount).toBe(1);
    });
  });

  it("joins, leaves, removals, renames and pins post typed system messages", async () => {
    const room = await bulkLoad((c) => arrangeRoom(c, u.owner, "public", [[u.admin, "admin"]]));
    const name = uniqueName("renamed");
    await asRole(asUser(u.member), (c) => c.query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [room, u.member.id]).then(() => c.query("commit")));
    await asRole(asUser(u.outsider), (c) => c.query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [room, u.outsider.id]).then(() => c.query("commit")));
    await asRole(asUser(u.member), (c) => c.query("delete from app_public.room_members where room_id = $1 and user_id = $2", [room, u.member.id]).then(() => c.query("commit")));
    const msg = await bulkLoad((c) => arrangeMessage(c, room, u.admin, "pin me"));
    await asRole(asUser(u.admin), async (c) => {
      await c.query("delete from app_public.room_members where room_id = $1 and user_id = $2", [room, u.outsider.id]);
      await c.query("update app_public.rooms set name = $2 where id = $1", [room, name]);
      await c.query("select app_public.pin_message($1)", [msg]);
      const { rows } = await c.query(
        "select kind, author_id, subject_user_id, subject_message_id, system_data, body from app_public.messages where room_id = $1 and kind <> 'text' order by created_at, kind",
        [room],
      );
      const system = rows.map((r) => [r.kind, r.author_id, r.subject_user_id ?? r.subject_message_id ?? r.system_data?.newName, r.body]);
      expect(system).toEqual(
        expect.arrayContaining([
          ["join", u.member.id, u.member.id, ""],
          ["join", u.outsider.id, u.outsider.id, ""],
          ["leave", u.member.id, u.member.id, ""],
          ["remove", u.admin.id, u.outsider.id, ""],
          ["rename", u.admin.id, name, ""],
          ["pin", u.admin.id, msg, ""],
        ]),
      );
      expect(system.filter((s) => s[0] !== "welcome" && (s[0] !== "join" || (s[1] !== u.owner.id && s[1] !== u.admin.id)))).toHaveLength(6);
      // The outsider's first-ever join is greeted by the welcome bot; the member was in rooms already.
      expect(system.filter((s) => s[0] === "welcome").map((s) => s[2])).toEqual([u.outsider.id]);
      expect((await c.query("update app_public.messages set body = 'forged' where room_id = $1 and kind = 'rename'", [room])).rowCount).toBe(0);
      expect(await code(c, "insert into app_public.messages (room_id, body, kind) values ($1, 'x', 'join')", [room])).toBe("42501");
    });
  });
});

describe("messages", () => {
  it("threads are one level: a reply goes under a top-level message of the same room (THRED); counts and last reply time on the parent", async () => {
    await asRole(asUser(u.member), async (c) => {
      const top = await send(c, pub, "top");
      const reply = await send(c, pub, "reply", top);
      await send(c, pub, "reply 2", top);
      const otherRoomTop = await send(c, priv, "elsewhere");
      expect(await code(c, "insert into app_public.messages (room_id, body, parent_id) values ($1, 'deeper', $2)", [pub, reply])).toBe("THRED");
      expect(await code(c, "insert into app_public.messages (room_id, body, parent_id) values ($1, 'across', $2)", [pub, otherRoomTop])).toBe("THRED");
      let parent = (await c.query("select reply_count, last_reply_at is not null as has_last from app_public.messages where id = $1", [top])).rows[0];
      expect(parent).toEqual({ reply_count: 2, has_last: true });
      await c.query("select app_public.delete_message($1)", [reply]);
      parent = (await c.query("select reply_count from app_public.messages where id = $1", [top])).rows[0];
      expect(parent.reply_count).toBe(1);
    });
  });

  it("edits set editedAt and keep the previous body; a deleted message cannot be edited (DELTD)", async () => {
    await asRole(asUser(u.member), async (c) => {
      const id = await send(c, pub, "first");
      expect((await c.query("select edited_at from app_public.messages where id = $1", [id])).rows[0].edited_at).toBeNull();
      await c.query("update app_public.messages set body = 'second' where id = $1", [id]);
      await c.query("update app_public.messages set body = 'third' where id = $1", [id]);
      const m = (await c.query("select body, edited_at is not null as edited from app_public.messages where id = $1", [id])).rows[0];
      expect(m).toEqual({ body: "third", edited: true });
      const history = await c.query("select body, editor_id from app_public.message_revisions where message_id = $1 order by created_at, body", [id]);
      expect(history.rows).toEqual([
        { body: "first", editor_id: u.member.id },
        { body: "second", editor_id: u.member.id },
      ]);
      await c.query("select app_public.delete_message($1)", [id]);
      expect(await code(c, "update app_public.messages set body = 'back' where id = $1", [id])).toBe("DELTD");
    });
  });

  it("soft delete: author, room admins and moderators (FORBD for others); body gone, old body in history for moderators only", async () => {
    const id = await bulkLoad((c) => arrangeMessage(c, pub, u.member, "regrettable"));
    await asRole(asUser(u.blocker), async (c) => {
      await c.query("delete from app_public.user_blocks where blocker_id = $1", [u.blocker.id]);
      expect(await code(c, "select app_public.delete_message($1)", [id])).toBe("FORBD");
    });
    await asRole(asUser(u.outsider), async (c) => expect(await code(c, "select app_public.delete_message($1)", [id])).toBe("FORBD"));
    for (const who of [u.member, u.admin, u.moderator]) {
      await asRole(asUser(who), async (c) => {
        const row = (await c.query("select (m).body, (m).deleted_at is not null as deleted from app_public.delete_message($1) m", [id])).rows[0];
        expect(row).toEqual({ body: "", deleted: true });
        const history = await c.query("select body from app_public.message_revisions where message_id = $1", [id]);
        expect(history.rows.map((r) => r.body)).toEqual(who === u.member ? [] : ["regrettable"]);
      });
    }
  });

  it("banned words are refused (BANND) when sending and editing", async () => {
    const word = `zq${Math.random().toString(36).slice(2, 8)}`;
    await rootDb().query("insert into app_private.banned_words (word) values ($1)", [word]);
    try {
      await asRole(asUser(u.member), async (c) => {
        expect(await code(c, "insert into app_public.messages (room_id, body) values ($1, $2)", [pub, `say ${word} now`])).toBe("BANND");
        const id = await send(c, pub, "clean");
        expect(await code(c, "update app_public.messages set body = $2 where id = $1", [id, word.toUpperCase()])).toBe("BANND");
      });
    } finally {
      await rootDb().query("delete from app_private.banned_words where word = $1", [word]);
    }
  });

  it("the send limit (rate_limit.message:send) refuses the next message (RLIMT, retryAfterSeconds)", async () => {
    const sender = await createTestUser();
    await rootDb().query("insert into app_public.room_members (room_id, user_id) values ($1, $2)", [pub, sender.id]);
    await asRole(asUser(sender), async (c) => {
      const max = (await c.query("select (value ->> 'max')::int as max from app_private.settings where key = 'rate_limit.message:send'").catch(() => null))?.rows[0]?.max;
      expect(max).toBeUndefined(); // settings are not readable by the API roles
    });
    const { rows } = await rootDb().query("select (value ->> 'max')::int as max from app_private.settings where key = 'rate_limit.message:send'");
    const max: number = rows[0].max;
    await asRole(asUser(sender), async (c) => {
      await c.query("insert into app_public.messages (room_id, body) select $1, 'n' || i from generate_series(1, $2) i", [pub, max]);
      const err = await inSavepoint(c, () => c.query("insert into app_public.messages (room_id, body) values ($1, 'one too many')", [pub])).catch((e) => e);
      expect(err.code).toBe("RLIMT");
      expect(JSON.parse(err.detail).retryAfterSeconds).toBeGreaterThan(0);
    });
  });

  it("an archived room is read-only: no messages, edits or reactions (ARCHV)", async () => {
    const room = await bulkLoad((c) => arrangeRoom(c, u.owner, "public", [[u.member, "member"]]));
    const id = await bulkLoad((c) => arrangeMessage(c, room, u.member, "before archiving"));
    await asRole(asUser(u.owner), (c) => c.query("update app_public.rooms set is_archived = true where id = $1", [room]).then(() => c.query("commit")));
    await asRole(asUser(u.member), async (c) => {
      expect(await code(c, "insert into app_public.messages (room_id, body) values ($1, 'x')", [room])).toBe("ARCHV");
      expect(await code(c, "update app_public.messages set body = 'x' where id = $1", [id])).toBe("ARCHV");
      expect(await code(c, "select app_public.toggle_reaction($1, '👍')", [id])).toBe("ARCHV");
    });
  });

  it("mentions: @username of room members only, parsed at write time and again on edit", async () => {
    await asRole(asUser(u.owner), async (c) => {
      const id = await send(c, priv, `hey @${u.member.username} and @${u.outsider.username}, also @nobody_${Date.now()} and @${u.owner.username}`);
      const mentioned = async () => (await c.query("select user_id from app_public.message_mentions where message_id = $1", [id])).rows.map((r) => r.user_id);
      expect(await mentioned()).toEqual([u.member.id]);
      await c.query("update app_public.messages set body = $2 where id = $1", [id, `now @${u.admin.username} only (mail@${u.member.username} is no mention)`]);
      expect(await mentioned()).toEqual([u.admin.id]);
    });
  });
});

describe("reactions", () => {
  it("toggle on and off; one per member per emoji; counts per emoji in one statement", async () => {
    const id = await bulkLoad((c) => arrangeMessage(c, pub, u.owner, "react to me"));
    for (const who of [u.member, u.admin]) {
      await asRole(asUser(who), async (c) => {
        expect((await c.query("select app_public.toggle_reaction($1, '👍') as on", [id])).rows[0].on).toBe(true);
        expect((await c.query("select app_public.toggle_reaction($1, '🎉') as on", [id])).rows[0].on).toBe(true);
        await c.query("commit");
      });
    }
    await asRole(asUser(u.member), async (c) => {
      expect((await c.query("select app_public.toggle_reaction($1, '🎉') as on", [id])).rows[0].on).toBe(false);
      expect(await code(c, "insert into app_public.message_reactions (message_id, emoji) values ($1, '👍')", [id])).toBe("23505");
      const counts = await c.query("select emoji, count from app_public.message_reaction_counts where message_id = $1 order by emoji", [id]);
      expect(counts.rows).toEqual([
        { emoji: "🎉", count: 1 },
        { emoji: "👍", count: 2 },
      ].sort((a, b) => (a.emoji < b.emoji ? -1 : 1)));
      expect(await code(c, "insert into app_public.message_reactions (message_id, emoji) values ($1, 'two words')", [id])).toBe("23514");
    });
  });
});

describe("read state", () => {
  it("markRoomRead moves forward only; unread and mention counts for all my rooms in one statement, capped at 100", async () => {
    const reader = await createTestUser();
    const [roomA, roomB] = await bulkLoad(async (c) => [
      await arrangeRoom(c, u.owner, "private", [[reader, "member"]]),
      await arrangeRoom(c, u.owner, "public", [[reader, "member"]]),
    ]);
    const ids = await bulkLoad(async (c) => {
      const { rows } = await c.query<{ id: string }>(
        `insert into app_public.messages (room_id, author_id, body, created_at)
         select $1, $2, case when i % 10 = 0 then 'ping @' || $3 else 'm' || i end, now() - interval '1 hour' + i * interval '1 second'
           from generate_series(1, 150) i`,
        [roomA, u.owner.id, reader.username],
      );
      void rows;
      const ordered = await c.query<{ id: string }>("select id from app_public.messages where room_id = $1 and kind = 'text' order by created_at, id", [roomA]);
      await c.query("insert into app_public.messages (room_id, author_id, body) values ($1, $2, 'one')", [roomB, u.owner.id]);
      return ordered.rows.map((r) => r.id);
    });
    await asRole(asUser(reader), async (c) => {
      const unreads = async () =>
        Object.fromEntries(
          (await c.query("select room_id, unread, mentions from app_public.my_room_unreads() where room_id = any($1)", [[roomA, roomB]])).rows.map((r) => [
            r.room_id,
            [r.unread, r.mentions],
          ]),
        );
      expect(await unreads()).toEqual({ [roomA]: [100, 15], [roomB]: [1, 0] });
      await c.query("select app_public.mark_room_read($1, $2)", [roomA, ids[139]]); // read 140 of 150
      expect(await unreads()).toEqual({ [roomA]: [10, 1], [roomB]: [1, 0] });
      const back = (await c.query("select (r).last_read_message_id as id from app_public.mark_room_read($1, $2) r", [roomA, ids[5]])).rows[0];
      expect(back.id).toBe(ids[139]);
      expect(await unreads()).toEqual({ [roomA]: [10, 1], [roomB]: [1, 0] });
      expect(await code(c, "select app_public.mark_room_read($1, $2)", [roomB, ids[0]])).toBe("NOTFD");
      await send(c, roomB, "my own message is never unread");
      expect((await unreads())[roomB]).toEqual([1, 0]);
    });
  });
});

describe("pins", () => {
  it("room admins and message:pin holders pin (FORBD for members); at most chat.max_pins (PINMX)", async () => {
    const room = await bulkLoad((c) => arrangeRoom(c, u.owner, "public", [[u.admin, "admin"], [u.member, "member"]]));
    const msgs = await bulkLoad(async (c) => Promise.all([1, 2, 3, 4].map((i) => arrangeMessage(c, room, u.member, `pin ${i}`))));
    const max = (await rootDb().query("select value::int as max from app_private.settings where key = 'chat.max_pins'")).rows[0].max;
    expect(max).toBe(3);
    await asRole(asUser(u.member), async (c) => expect(await code(c, "select app_public.pin_message($1)", [msgs[0]])).toBe("FORBD"));
    await asRole(asUser(u.moderator), async (c) => {
      await c.query("select app_public.pin_message($1)", [msgs[0]]);
      await c.query("commit");
    });
    await asRole(asUser(u.admin), async (c) => {
      await c.query("select app_public.pin_message($1)", [msgs[1]]);
      await c.query("select app_public.pin_message($1)", [msgs[2]]);
      await c.query("select app_public.pin_message($1)", [msgs[2]]); // again: no change
      const err = await inSavepoint(c, () => c.query("select app_public.pin_message($1)", [msgs[3]])).catch((e) => e);
      expect([err.code, JSON.parse(err.detail)]).toEqual(["PINMX", { max: 3 }]);
      await c.query("select app_public.unpin_message($1)", [msgs[0]]);
      await c.query("select app_public.pin_message($1)", [msgs[3]]);
      expect((await c.query("select count(*)::int as n from app_public.room_pins where room_id = $1", [room])).rows[0].n).toBe(3);
    });
  });
});

describe("mutes", () => {
  it("room admins and user:mute holders mute (FORBD for members); a muted member cannot post (MUTED with the lapse time); the mute lapses by itself", async () => {
    const victim = await createTestUser();
    const room = await bulkLoad((c) => arrangeRoom(c, u.owner, "public", [[u.admin, "admin"], [u.member, "member"], [victim, "member"]]));
    await asRole(asUser(u.member), async (c) => {
      expect(await code(c, "select app_public.mute_room_member($1, $2, now() + interval '1 hour', 'spam')", [room, victim.id])).toBe("FORBD");
    });
    await asRole(asUser(u.admin), async (c) => {
      expect(await code(c, "select app_public.mute_room_member($1, $2, now() - interval '1 minute', 'spam')", [room, victim.id])).toBe("INVAL");
      expect(await code(c, "select app_public.mute_room_member($1, $2, now() + interval '1 hour', 'spam')", [room, u.owner.id])).toBe("FORBD");
    });
    await asRole(asUser(u.moderator), async (c) => {
      await c.query("select app_public.mute_room_member($1, $2, '2999-01-01T00:00:00Z', 'spam')", [room, victim.id]);
      await c.query("commit");
    });
    await asRole(asUser(victim), async (c) => {
      const err = await inSavepoint(c, () => c.query("insert into app_public.messages (room_id, body) values ($1, 'let me talk')", [room])).catch((e) => e);
      expect(err.code).toBe("MUTED");
      expect(err.message).toContain("2999");
      expect(JSON.parse(err.detail)).toEqual({ mutedUntil: expect.stringContaining("2999-01-01"), reason: "spam" });
    });
    // Lapsed: compared with now(), no job needed.
    await rootDb().query("update app_public.room_members set muted_until = now() - interval '1 second' where room_id = $1 and user_id = $2", [room, victim.id]);
    await asRole(asUser(victim), (c) => send(c, room, "free again"));
  });
});

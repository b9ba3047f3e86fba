/**
 * app_private.realtime_room_event states the select policies of rooms and
 * messages for many viewers at once. This matrix checks it against the
 * policies themselves: for every viewer and event, "delivered" must equal
 * "this viewer, as a request, can read the row" (row-level security).
 */
import { asRole, closeSqlHelpers, rootDb, bulkLoad } from "../helpers/sql";
import { createTestUser, asUser, type TestUser } from "../helpers/users";
import { arrangeMessage, arrangeRoom } from "../chat/fixtures";

afterAll(() => closeSqlHelpers());

describe("who receives a room event = who may read it", () => {
  let owner: TestUser, author: TestUser, member: TestUser, blocker: TestUser, outsider: TestUser, revoked: TestUser;
  beforeAll(async () => {
    [owner, author, member, blocker, outsider, revoked] = await Promise.all(Array.from({ length: 6 }, () => createTestUser()));
    await rootDb().query("insert into app_public.user_blocks (blocker_id, blocked_id) values ($1, $2)", [blocker.id, author.id]);
    await rootDb().query("update app_private.sessions set revoked_at = now() where id = $1", [revoked.sessionId]);
  });

  it.each(["public", "private"] as const)("in a %s room", async (kind) => {
    const { roomId, messageId } = await bulkLoad(async (c) => {
      const roomId = await arrangeRoom(c, owner, kind, [[author, "member"], [member, "member"], [blocker, "member"], [revoked, "member"]]);
      return { roomId, messageId: await arrangeMessage(c, roomId, author, "hello") };
    });
    const viewers: Array<TestUser | null> = [owner, author, member, blocker, outsider, revoked, null];
    const { rows } = await rootDb().query<{ deliver: number[]; ended: number[]; payload: { message: { rowId: string } } }>(
      "select * from app_private.realtime_room_event('message_created', $1, $2, $3, $4::uuid[], $5::uuid[])",
      [roomId, messageId, author.id, viewers.map((v) => v?.id ?? null), viewers.map((v) => v?.sessionId ?? null)],
    );
    expect(rows[0].payload.message.rowId).toBe(messageId);
    for (const [i, viewer] of viewers.entries()) {
      const as = viewer ? asUser(viewer) : { role: "anonymous" as const };
      const [canReadMessage, canReadRoom] = await asRole(as, async (c) => [
        (await c.query("select 1 from app_public.messages where id = $1", [messageId])).rowCount === 1,
        (await c.query("select 1 from app_public.rooms where id = $1", [roomId])).rowCount === 1,
      ]);
      const label = `${viewer ? [owner, author, member, blocker, outsider, revoked].indexOf(viewer) : "anonymous"}`;
      // A revoked session reads as anonymous in a request; live, it receives nothing more (its socket closes, 4102).
      const isRevoked = viewer === revoked;
      expect({ label, delivered: rows[0].deliver.includes(i + 1) }).toEqual({ label, delivered: canReadMessage && !isRevoked });
      expect({ label, ended: rows[0].ended.includes(i + 1) }).toEqual({ label, ended: !canReadRoom || isRevoked });
    }
    // The matrix is not trivial: someone is refused and someone receives, in both room kinds.
    expect(rows[0].deliver.length).toBeGreaterThan(0);
    expect(rows[0].deliver.length).toBeLessThan(viewers.length);
  });
});

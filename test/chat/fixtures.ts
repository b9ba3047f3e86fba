/**
 * Chat fixtures: a public room, a private room and a direct room with an owner,
 * an admin, members, and a member who blocked another, arranged as the
 * superuser in one committed transaction (send limits skipped by bulk_load).
 */
import type pg from "pg";
import { bulkLoad } from "../helpers/sql";
import { createTestUser, uniqueName, type TestUser } from "../helpers/users";

export interface ChatUsers {
  owner: TestUser;
  admin: TestUser;
  member: TestUser;
  blocker: TestUser; // a member of both rooms who blocked `member`
  outsider: TestUser; // signed in, in no room
  moderator: TestUser; // platform moderator (message:delete, message:pin, user:mute), in no room
}

export async function createChatUsers(): Promise<ChatUsers> {
  const [owner, admin, member, blocker, outsider, moderator] = await Promise.all([
    createTestUser(),
    createTestUser(),
    createTestUser(),
    createTestUser(),
    createTestUser(),
    createTestUser({ roles: ["moderator"] }),
  ]);
  return { owner, admin, member, blocker, outsider, moderator };
}

/** Creates a room as the superuser (the creator becomes owner) and returns its id. */
export async function arrangeRoom(
  c: pg.PoolClient,
  owner: TestUser,
  kind: "public" | "private",
  members: Array<[TestUser, "admin" | "member"]> = [],
  archived = false,
): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    "insert into app_public.rooms (kind, name, created_by, is_archived) values ($1, $2, $3, $4) returning id",
    [kind, uniqueName(`room ${kind}`), owner.id, archived],
  );
  for (const [user, role] of members) {
    await c.query("insert into app_public.room_members (room_id, user_id, role) values ($1, $2, $3)", [rows[0].id, user.id, role]);
  }
  return rows[0].id;
}

export async function arrangeMessage(c: pg.PoolClient, roomId: string, author: TestUser, body: string, parentId?: string): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    "insert into app_public.messages (room_id, author_id, body, parent_id) values ($1, $2, $3, $4) returning id",
    [roomId, author.id, body, parentId ?? null],
  );
  return rows[0].id;
}

export async function arrangeDirect(c: pg.PoolClient, a: TestUser, b: TestUser): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    `insert into app_public.rooms (kind, created_by, direct_low_id, direct_high_id)
     values ('direct', $1, least($1::uuid, $2::uuid), greatest($1::uuid, $2::uuid)) returning id`,
    [a.id, b.id],
  );
  await c.query("insert into app_public.room_members (room_id, user_id) values ($1, $2), ($1, $3)", [rows[0].id, a.id, b.id]);
  return rows[0].id;
}

/** The history page: 50 messages newest first, with authors and reaction counts (test/chat/api.test.ts, scale.test.ts). */
export const HISTORY = `query History($id: UUID!, $after: Cursor) {
  roomByRowId(rowId: $id) {
    messagesByRoomId(first: 50, after: $after, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) {
      nodes {
        rowId kind body bodyHtml createdAt editedAt deletedAt replyCount lastReplyAt parentId
        userByAuthorId { username displayName avatarUrl }
        messageReactionCountsByMessageId(first: 10) { nodes { emoji count } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

export { bulkLoad };

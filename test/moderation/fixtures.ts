/**
 * Moderation fixtures: members with enough reputation for their reports to
 * count towards auto-hide, content of every kind, and acting as a member
 * inside one transaction.
 */
import type pg from "pg";
import { bulkLoad, rootDb } from "../helpers/sql";
import { createTestUser, uniqueName, type TestUser } from "../helpers/users";

/** Switches the claims of the current transaction to `user` (null: no member, as the owner's jobs run). */
export async function actAs(client: pg.PoolClient, user: TestUser | null): Promise<void> {
  await client.query("select set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [
    user?.id ?? "",
    user?.sessionId ?? "",
  ]);
}

/** A member whose reports count towards auto-hide (reputation raised past moderation.auto_hide_min_reputation). */
export async function createReporter(): Promise<TestUser> {
  const user = await createTestUser();
  await rootDb().query(
    `insert into app_public.reputation_events (user_id, points, reason)
     select $1, (app_private.setting('moderation.auto_hide_min_reputation') #>> '{}')::int, 'joined'`,
    [user.id],
  );
  return user;
}

export type Kind = "post" | "question" | "answer" | "comment" | "message" | "job" | "document" | "user";

export interface Content {
  post: string;
  question: string;
  answer: string;
  comment: string;
  message: string;
  job: string;
  room: string;
}

/**
 * One published thing of every kind by `author` (the job needs an employer: the
 * author gets the employer role), in a public room for the message.
 */
export async function arrangeContent(author: TestUser): Promise<Content> {
  await rootDb().query("insert into app_public.user_roles (user_id, role_id) values ($1, 'employer') on conflict do nothing", [author.id]);
  return bulkLoad(async (c) => {
    await actAs(c, author);
    const one = async (sql: string, params: unknown[] = []) => (await c.query<{ id: string }>(sql, params)).rows[0].id;
    const post = await one("insert into app_public.posts (title, body, status) values ($1, 'A body', 'published') returning id", [
      uniqueName("post"),
    ]);
    const question = await one(
      "insert into app_public.questions (title, body, status) values ($1, 'Why?', 'published') returning id",
      [uniqueName("question")],
    );
    const answer = await one("insert into app_public.answers (question_id, body) values ($1, 'Because.') returning id", [question]);
    const comment = await one("insert into app_public.comments (post_id, body) values ($1, 'Nice') returning id", [post]);
    const room = await one("insert into app_public.rooms (kind, name) values ('public', $1) returning id", [uniqueName("room")]);
    const message = await one("insert into app_public.messages (room_id, body) values ($1, 'Hello all') returning id", [room]);
    const job = await one(
      `insert into app_public.job_postings (title, description, employment_type, workplace, status)
       values ('Backend engineer', 'We are hiring.', 'full_time', 'remote', 'active') returning id`,
    );
    return { post, question, answer, comment, message, job, room };
  });
}

/**
 * A shared document by `author` (public unless told otherwise) with its first
 * version: the file reserved as the author and finished as the upload endpoint
 * would, then createDocument as the author.
 */
export async function arrangeDocument(author: TestUser, isPublic = true): Promise<string> {
  const fileId = await asMember<{ id: string }>(author, "select id from app_public.create_upload('document', 'paper.pdf', 1000, null)");
  await rootDb().query("select app_private.finish_upload($1, $2, 'application/pdf', 500)", [fileId[0].id, author.id]);
  const rows = await asMember<{ id: string }>(
    author,
    "select id from app_public.create_document($1, $2, 'Notes for the team', '{handbook}', $3)",
    [uniqueName("document"), fileId[0].id, isPublic],
  );
  return rows[0].id;
}

/** The content id of `kind` for `author` (a user target is the author). */
export function idOf(content: Content, author: TestUser, kind: Exclude<Kind, "document">): string {
  return kind === "user" ? author.id : content[kind];
}

/** Files a report as `reporter` in its own committed transaction; resolves with the report id or rejects with the error. */
export async function fileReport(reporter: TestUser, kind: Kind, contentId: string, reason = "spam", note: string | null = null): Promise<string> {
  const client = await rootDb().connect();
  try {
    await client.query("begin");
    await client.query("select set_config('role', 'authenticated', true)");
    await actAs(client, reporter);
    const { rows } = await client.query<{ id: string }>(
      "insert into app_public.reports (target_kind, content_id, reason, note) values ($1, $2, $3, $4) returning id",
      [kind, contentId, reason, note],
    );
    await client.query("commit");
    return rows[0].id;
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}

/** Runs `sql` as `user` (role authenticated) in its own committed transaction. */
export async function asMember<T extends pg.QueryResultRow>(user: TestUser, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = await rootDb().connect();
  try {
    await client.query("begin");
    await client.query("select set_config('role', 'authenticated', true)");
    await actAs(client, user);
    const { rows } = await client.query<T>(sql, params);
    await client.query("commit");
    return rows;
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}

/** The content's status as the database has it (content kinds), or hidden/visible for messages and jobs. */
export async function stateOf(kind: Kind, id: string): Promise<string> {
  const table = { post: "posts", question: "questions", answer: "answers", comment: "comments" } as Record<string, string>;
  if (table[kind]) {
    const { rows } = await rootDb().query<{ status: string }>(`select status from app_public.${table[kind]} where id = $1`, [id]);
    return rows[0].status;
  }
  if (kind === "message") {
    const { rows } = await rootDb().query<{ s: string }>(
      "select case when deleted_at is not null then 'deleted' when hidden_at is not null then 'hidden' else 'visible' end as s from app_public.messages where id = $1",
      [id],
    );
    return rows[0].s;
  }
  if (kind === "job") {
    const { rows } = await rootDb().query<{ s: string }>(
      "select case when hidden_at is not null then 'hidden:' || status else status::text end as s from app_public.job_postings where id = $1",
      [id],
    );
    return rows[0].s;
  }
  if (kind === "document") {
    const { rows } = await rootDb().query<{ s: string }>(
      "select case when hidden_at is not null then 'hidden' else 'visible' end as s from app_public.documents where id = $1",
      [id],
    );
    return rows[0].s;
  }
  return "n/a";
}

/**
 * Arranging reputation scenarios: content (committed, as the superuser with
 * posting limits off), reactions and acceptances made by members through the
 * API's own functions in committed transactions, and reads of the ledger.
 */
import pg from "pg";
import { bulkLoad, rootDb } from "../helpers/sql";
import type { TestUser } from "../helpers/users";
import { testDatabase } from "../helpers/testDatabase";

export async function arrangePost(author: TestUser, fields: Record<string, unknown> = {}): Promise<string> {
  return bulkLoad(async (c) => {
    const { rows } = await c.query<{ id: string }>(
      `insert into app_public.posts (author_id, title, body, status, category_id, published_at, like_count, comment_count, view_count)
       values ($1, $2, 'Body', $3, $4, $5, coalesce($6, 0), coalesce($7, 0), coalesce($8, 0)) returning id`,
      [author.id, fields.title ?? "A reputation post", fields.status ?? "published", fields.categoryId ?? null,
        fields.publishedAt ?? null, fields.likes ?? null, fields.comments ?? null, fields.views ?? null],
    );
    return rows[0].id;
  });
}

export async function arrangeQuestion(author: TestUser, fields: Record<string, unknown> = {}): Promise<string> {
  return bulkLoad(async (c) => {
    const { rows } = await c.query<{ id: string }>(
      `insert into app_public.questions (author_id, title, body, status, category_id, published_at, like_count, comment_count, answer_count, view_count)
       values ($1, $2, 'Body', 'published', $3, $4, coalesce($5, 0), coalesce($6, 0), coalesce($7, 0), coalesce($8, 0)) returning id`,
      [author.id, fields.title ?? "A reputation question", fields.categoryId ?? null, fields.publishedAt ?? null,
        fields.likes ?? null, fields.comments ?? null, fields.answers ?? null, fields.views ?? null],
    );
    return rows[0].id;
  });
}

export async function arrangeAnswer(author: TestUser, questionId: string): Promise<string> {
  return bulkLoad(async (c) => {
    const { rows } = await c.query<{ id: string }>(
      "insert into app_public.answers (author_id, question_id, body) values ($1, $2, 'An answer') returning id",
      [author.id, questionId],
    );
    return rows[0].id;
  });
}

/** Runs `sql` as the member in their own committed transaction (as a request would). */
export async function asMemberCommitted<T extends pg.QueryResultRow = pg.QueryResultRow>(
  user: TestUser,
  sql: string,
  params: unknown[] = [],
  client?: pg.ClientBase,
): Promise<pg.QueryResult<T>> {
  const own = client ? null : await rootDb().connect();
  const c = client ?? own!;
  try {
    await c.query("begin");
    await c.query(
      "select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)",
      [user.id, user.sessionId],
    );
    const result = await c.query<T>(sql, params);
    await c.query("commit");
    return result;
  } catch (error) {
    await c.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    own?.release();
  }
}

export type Target = { post?: string; question?: string; answer?: string; comment?: string };

/** The member reacts through app_public.react (committed). */
export async function react(user: TestUser, kind: "like" | "dislike", target: Target, client?: pg.ClientBase): Promise<void> {
  await asMemberCommitted(
    user,
    "select app_public.react($1, post_id => $2, question_id => $3, answer_id => $4, comment_id => $5)",
    [kind, target.post ?? null, target.question ?? null, target.answer ?? null, target.comment ?? null],
    client,
  );
}

export async function reputationOf(user: TestUser): Promise<number> {
  const { rows } = await rootDb().query<{ reputation: number }>("select reputation from app_public.users where id = $1", [user.id]);
  return rows[0].reputation;
}

export interface LedgerRow {
  points: number;
  reason: string;
  is_vote: boolean;
  is_reversal: boolean;
}

/** The member's ledger, oldest first, without the starting point. */
export async function ledgerOf(user: TestUser): Promise<LedgerRow[]> {
  const { rows } = await rootDb().query<LedgerRow>(
    `select points, reason::text, is_vote, is_reversal from app_public.reputation_events
      where user_id = $1 and reason <> 'joined' order by id`,
    [user.id],
  );
  return rows;
}

/** Arranges earlier points on the ledger directly (the owner may append), e.g. to start above the floor. */
export async function credit(user: TestUser, points: number, reason = "post_liked", isVote = false): Promise<void> {
  await rootDb().query(
    "insert into app_public.reputation_events (user_id, points, reason, is_vote) values ($1, $2, $3, $4)",
    [user.id, points, reason, isVote],
  );
}

export async function setStatus(table: "posts" | "questions" | "answers", id: string, status: string): Promise<void> {
  await rootDb().query(`update app_public.${table} set status = $2 where id = $1`, [id, status]);
}

/** A new client of its own (for concurrency tests); the caller ends it. */
export async function newClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: testDatabase().rootUrl });
  await client.connect();
  return client;
}

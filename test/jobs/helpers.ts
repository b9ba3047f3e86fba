/** Arranging job postings and applications for the jobs tests, and acting as a member inside one transaction. */
import type pg from "pg";
import type { TestUser } from "../helpers/users";

/** Switches the claims of the current transaction to `user` (current_user_id() follows the session). */
export async function actAs(client: pg.PoolClient, user: TestUser): Promise<void> {
  await client.query("select set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [user.id, user.sessionId]);
}

export interface JobFields {
  status?: "draft" | "active";
  title?: string;
  deadline?: string | null;
  tags?: string[];
}

/** Inserts a job as `employer` (who must hold job:post) and returns its id. */
export async function insertJob(client: pg.PoolClient, employer: TestUser, f: JobFields = {}): Promise<string> {
  await actAs(client, employer);
  const { rows } = await client.query<{ id: string }>(
    `insert into app_public.job_postings (title, description, employment_type, workplace, status, application_deadline, tags)
     values ($1, 'We are hiring.', 'full_time', 'remote', $2, $3, $4) returning id`,
    [f.title ?? "Backend engineer", f.status ?? "active", f.deadline ?? null, f.tags ?? []],
  );
  return rows[0].id;
}

/** Applies to `jobId` as `applicant` and returns the application's id. */
export async function insertApplication(client: pg.PoolClient, applicant: TestUser, jobId: string): Promise<string> {
  await actAs(client, applicant);
  const { rows } = await client.query<{ id: string }>(
    "insert into app_public.job_applications (job_id, cover_letter) values ($1, 'Hello') returning id",
    [jobId],
  );
  return rows[0].id;
}

/** Sets an application's status as `actor`. */
export async function setApplicationStatus(client: pg.PoolClient, actor: TestUser, id: string, status: string): Promise<number> {
  await actAs(client, actor);
  const res = await client.query("update app_public.job_applications set status = $2 where id = $1", [id, status]);
  return res.rowCount ?? 0;
}

/** The path from pending to each status, as (actor, status) steps. */
export const PATH: Record<string, Array<["employer" | "applicant", string]>> = {
  pending: [],
  reviewing: [["employer", "reviewing"]],
  shortlisted: [["employer", "reviewing"], ["employer", "shortlisted"]],
  interviewed: [["employer", "reviewing"], ["employer", "shortlisted"], ["employer", "interviewed"]],
  accepted: [["employer", "reviewing"], ["employer", "shortlisted"], ["employer", "interviewed"], ["employer", "accepted"]],
  rejected: [["employer", "rejected"]],
  withdrawn: [["applicant", "withdrawn"]],
};

/**
 * The notification types whose sources are the jobs board and badges,
 * produced by their real causes through the API (applying, reviewing,
 * publishing a job in a followed category, earning a badge on the event or by
 * the scheduled award_badges job), and not produced in the negative cases
 * (the actor's own change, a later re-activation, a job closed before its
 * fan-out ran, the type turned off). Deleted targets leave the item.
 */
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer, ok } from "../helpers/server";
import { createTestUser, uniqueName, type TestUser } from "../helpers/users";
import { runQueuedJobs } from "../helpers/jobs";
import { mailTo, waitForMail } from "../helpers/mail";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const gql = <T = Record<string, unknown>>(user: TestUser, query: string, variables: Record<string, unknown> = {}) => server.as<T>(user, query, variables);

interface Row {
  id: string;
  type_id: string;
  actor_id: string | null;
  job_posting_id: string | null;
  job_application_id: string | null;
  badge_id: string | null;
  detail: Record<string, unknown>;
  is_in_app: boolean;
}

/** The notifications of `user` of one type (read as the superuser), oldest first. */
async function notificationsOf(user: TestUser, type: string): Promise<Row[]> {
  const { rows } = await rootDb().query<Row>(
    "select * from app_public.notifications where recipient_id = $1 and type_id = $2 order by created_at, id",
    [user.id, type],
  );
  return rows;
}

const CREATE_JOB = `mutation($job: JobPostingInput!) { createJobPosting(input: { jobPosting: $job }) { jobPosting { rowId status } } }`;
const UPDATE_JOB = `mutation($rowId: UUID!, $patch: JobPostingPatch!) { updateJobPostingByRowId(input: { rowId: $rowId, jobPostingPatch: $patch }) { jobPosting { rowId status } } }`;
const DELETE_JOB = `mutation($rowId: UUID!) { deleteJobPostingByRowId(input: { rowId: $rowId }) { deletedJobPostingId } }`;
const APPLY = `mutation($jobId: UUID!) { createJobApplication(input: { jobApplication: { jobId: $jobId, coverLetter: "Hello" } }) { jobApplication { rowId } } }`;
const SET_STATUS = `mutation($rowId: UUID!, $status: JobApplicationStatus!) {
  updateJobApplicationByRowId(input: { rowId: $rowId, jobApplicationPatch: { status: $status } }) { jobApplication { status } }
}`;
const FOLLOW_CATEGORY = `mutation($categoryId: UUID!) { createCategoryFollow(input: { categoryFollow: { categoryId: $categoryId } }) { categoryFollow { categoryId } } }`;
const SET_PREFERENCE = `mutation($typeId: String!, $channel: NotificationChannel!, $enabled: Boolean!) {
  setNotificationPreference(input: { typeId: $typeId, channel: $channel, enabled: $enabled }) { result { enabled } }
}`;
const CREATE_POST = `mutation($title: String!) { createPost(input: { post: { title: $title, body: "Body", status: published } }) { post { rowId } } }`;
const MY_NOTIFICATIONS = `query($typeId: String) {
  currentUserNotifications(first: 10, typeId: $typeId) { nodes { typeId jobPostingId jobApplicationId badgeId detail jobPostingByJobPostingId { title } } }
}`;
const FOLLOWED_JOBS = `{ jobsInFollowedCategories(first: 20) { totalCount nodes { rowId status } } }`;

/** Waits until the fan-outs of this category finished (another test file's worker run may hold the job). */
async function fanoutsFinished(column: "category_id", id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await rootDb().query<{ n: number }>(
      `select count(*)::int as n from app_private.notification_fanouts where ${column} = $1 and finished_at is null`, [id],
    );
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fan-out of ${column} ${id} did not finish`);
}

async function newCategory(): Promise<string> {
  const slug = uniqueName("jobcat").replace(/_/g, "-").toLowerCase();
  return (await rootDb().query<{ id: string }>("insert into app_public.categories (slug, name) values ($1, 'Jobs') returning id", [slug])).rows[0].id;
}

async function createJob(employer: TestUser, job: Record<string, unknown>): Promise<string> {
  const res = ok(await gql<{ createJobPosting: { jobPosting: { rowId: string } } }>(employer, CREATE_JOB, {
    job: { title: "Backend engineer", description: "We are hiring.", ...job },
  }));
  return res.createJobPosting.jobPosting.rowId;
}

const apply = async (applicant: TestUser, jobId: string) =>
  ok(await gql<{ createJobApplication: { jobApplication: { rowId: string } } }>(applicant, APPLY, { jobId })).createJobApplication.jobApplication.rowId;

describe("job applications", () => {
  test("an application notifies the job's employer, naming the applicant, the job and the application", async () => {
    const [employer, applicant] = await Promise.all([createTestUser({ roles: ["employer"] }), createTestUser()]);
    const jobId = await createJob(employer, { status: "active", title: "Data engineer" });
    const applicationId = await apply(applicant, jobId);
    const rows = await notificationsOf(employer, "job_application_received");
    expect(rows.map((r) => [r.actor_id, r.job_posting_id, r.job_application_id, r.detail])).toEqual([
      [applicant.id, jobId, applicationId, { title: "Data engineer" }],
    ]);
    expect(await notificationsOf(applicant, "job_application_received")).toEqual([]);
    // The employer reads it in GraphQL, with its deep link to the job.
    const list = ok(await gql<{ currentUserNotifications: { nodes: Array<Record<string, unknown>> } }>(employer, MY_NOTIFICATIONS, { typeId: "job_application_received" }));
    expect(list.currentUserNotifications.nodes).toEqual([
      expect.objectContaining({ jobPostingId: jobId, jobApplicationId: applicationId, jobPostingByJobPostingId: { title: "Data engineer" } }),
    ]);
  });

  test("each status change by the employer notifies the applicant; the applicant's own withdrawal notifies nobody", async () => {
    const [employer, ana, bo] = await Promise.all([createTestUser({ roles: ["employer"] }), createTestUser(), createTestUser()]);
    const jobId = await createJob(employer, { status: "active" });
    const anaApp = await apply(ana, jobId);
    const boApp = await apply(bo, jobId);
    ok(await gql(employer, SET_STATUS, { rowId: anaApp, status: "reviewing" }));
    ok(await gql(employer, SET_STATUS, { rowId: anaApp, status: "rejected" }));
    const rows = await notificationsOf(ana, "application_status_changed");
    expect(rows.map((r) => [r.actor_id, r.job_application_id, r.detail.from, r.detail.to])).toEqual([
      [employer.id, anaApp, "pending", "reviewing"],
      [employer.id, anaApp, "reviewing", "rejected"],
    ]);
    // A refused change (out of a final state) notifies nobody.
    const refused = await gql(employer, SET_STATUS, { rowId: anaApp, status: "reviewing" });
    expect(refused.errors?.[0]?.extensions?.code).toBe("APPTR");
    expect(await notificationsOf(ana, "application_status_changed")).toHaveLength(2);

    ok(await gql(bo, SET_STATUS, { rowId: boApp, status: "withdrawn" }));
    expect(await notificationsOf(bo, "application_status_changed")).toEqual([]);
    expect(await notificationsOf(employer, "application_status_changed")).toEqual([]);
    // The employer heard of both applications, and of nothing else.
    expect(await notificationsOf(employer, "job_application_received")).toHaveLength(2);
  });

  test("with both channels off, no notification; a deleted job leaves the item with a null reference", async () => {
    const [employer, applicant, admin] = await Promise.all([createTestUser({ roles: ["employer"] }), createTestUser(), createTestUser({ roles: ["admin"] })]);
    const jobId = await createJob(employer, { status: "active" });
    ok(await gql(applicant, SET_PREFERENCE, { typeId: "application_status_changed", channel: "in_app", enabled: false }));
    ok(await gql(applicant, SET_PREFERENCE, { typeId: "application_status_changed", channel: "email", enabled: false }));
    const applicationId = await apply(applicant, jobId);
    ok(await gql(employer, SET_STATUS, { rowId: applicationId, status: "reviewing" }));
    expect(await notificationsOf(applicant, "application_status_changed")).toEqual([]);

    ok(await gql(admin, DELETE_JOB, { rowId: jobId }));
    const rows = await notificationsOf(employer, "job_application_received");
    expect(rows.map((r) => [r.job_posting_id, r.job_application_id, r.detail.title])).toEqual([[null, null, "Backend engineer"]]);
  });

  test("the employer is mailed of an application and the applicant of a status change, each once", async () => {
    const [employer, applicant] = await Promise.all([createTestUser({ roles: ["employer"] }), createTestUser()]);
    const jobId = await createJob(employer, { status: "active", title: "Mail engineer" });
    const applicationId = await apply(applicant, jobId);
    ok(await gql(employer, SET_STATUS, { rowId: applicationId, status: "reviewing" }));
    await runQueuedJobs();
    const received = await waitForMail(employer.email, /applied to your job/);
    expect(received.text).toContain(`${applicant.username} applied to your job “Mail engineer”.`);
    const changed = await waitForMail(applicant.email, /Your application/);
    expect(changed.text).toContain("Your application for “Mail engineer” is now reviewing.");
    await runQueuedJobs();
    expect(await mailTo(employer.email)).toHaveLength(1);
    expect(await mailTo(applicant.email)).toHaveLength(1);
  });
});

describe("jobs posted in a followed category", () => {
  test("publishing a job fans out to the category's followers only, once, and lists it in their followed jobs", async () => {
    const [employer, follower, other, quiet] = await Promise.all([
      createTestUser({ roles: ["employer"] }), createTestUser(), createTestUser(), createTestUser(),
    ]);
    const [category, otherCategory] = await Promise.all([newCategory(), newCategory()]);
    for (const u of [follower, employer, quiet]) ok(await gql(u, FOLLOW_CATEGORY, { categoryId: category }));
    ok(await gql(other, FOLLOW_CATEGORY, { categoryId: otherCategory }));
    ok(await gql(quiet, SET_PREFERENCE, { typeId: "job_posted_in_category", channel: "in_app", enabled: false }));

    const jobId = await createJob(employer, { categoryId: category, title: "Site reliability engineer" });
    await runQueuedJobs();
    await fanoutsFinished("category_id", category);
    expect(await notificationsOf(follower, "job_posted_in_category")).toEqual([]); // a draft is news to nobody

    ok(await gql(employer, UPDATE_JOB, { rowId: jobId, patch: { status: "active" } }));
    await runQueuedJobs();
    await fanoutsFinished("category_id", category);
    const rows = await notificationsOf(follower, "job_posted_in_category");
    expect(rows.map((r) => [r.actor_id, r.job_posting_id, r.detail])).toEqual([[employer.id, jobId, { title: "Site reliability engineer" }]]);
    expect(await notificationsOf(other, "job_posted_in_category")).toEqual([]);
    expect(await notificationsOf(employer, "job_posted_in_category")).toEqual([]); // the actor follows the category too
    expect(await notificationsOf(quiet, "job_posted_in_category")).toEqual([]); // in-app off, e-mail off by default

    // Paused and active again: not news a second time.
    ok(await gql(employer, UPDATE_JOB, { rowId: jobId, patch: { status: "paused" } }));
    ok(await gql(employer, UPDATE_JOB, { rowId: jobId, patch: { status: "active" } }));
    await runQueuedJobs();
    await fanoutsFinished("category_id", category);
    expect(await notificationsOf(follower, "job_posted_in_category")).toHaveLength(1);

    const listed = ok(await gql<{ jobsInFollowedCategories: { totalCount: number; nodes: Array<{ rowId: string }> } }>(follower, FOLLOWED_JOBS));
    expect(listed.jobsInFollowedCategories.nodes.map((n) => n.rowId)).toEqual([jobId]);
    const notListed = ok(await gql<{ jobsInFollowedCategories: { totalCount: number } }>(other, FOLLOWED_JOBS));
    expect(notListed.jobsInFollowedCategories.totalCount).toBe(0);
  });

  test("a job created active fans out; one closed before its fan-out ran notifies nobody; no category, no fan-out", async () => {
    const [employer, follower] = await Promise.all([createTestUser({ roles: ["employer"] }), createTestUser()]);
    const category = await newCategory();
    ok(await gql(follower, FOLLOW_CATEGORY, { categoryId: category }));
    // Published and closed in one transaction, as the employer: its fan-out job cannot run in between
    // (another test file's worker run could, between two requests).
    const client = await rootDb().connect();
    try {
      await client.query("begin");
      await client.query("select set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)", [employer.id, employer.sessionId]);
      await client.query("set local role authenticated");
      const { rows } = await client.query<{ id: string }>(
        "insert into app_public.job_postings (title, description, category_id, status) values ('Closed quickly', 'We were hiring.', $1, 'active') returning id",
        [category],
      );
      await client.query("update app_public.job_postings set status = 'closed' where id = $1", [rows[0].id]);
      await client.query("commit");
    } finally {
      client.release();
    }
    expect((await rootDb().query("select 1 from app_private.notification_fanouts where category_id = $1", [category])).rowCount).toBe(1);
    const openJob = await createJob(employer, { categoryId: category, status: "active", title: "Still open" });
    await createJob(employer, { status: "active", title: "No category" });
    await runQueuedJobs();
    await fanoutsFinished("category_id", category);
    expect((await notificationsOf(follower, "job_posted_in_category")).map((r) => r.job_posting_id)).toEqual([openJob]);
    const listed = ok(await gql<{ jobsInFollowedCategories: { nodes: Array<{ rowId: string; status: string }> } }>(follower, FOLLOWED_JOBS));
    expect(listed.jobsInFollowedCategories.nodes).toEqual([{ rowId: openJob, status: "active" }]);
  });
});

describe("badges", () => {
  test("a badge awarded on the event notifies its member once", async () => {
    const ana = await createTestUser();
    ok(await gql(ana, CREATE_POST, { title: "My first post" }));
    ok(await gql(ana, CREATE_POST, { title: "My second post" }));
    const rows = await notificationsOf(ana, "badge_earned");
    expect(rows.map((r) => [r.badge_id, r.actor_id, r.detail])).toEqual([["first_post", null, { badge: "Author", class: "bronze" }]]);
    const list = ok(await gql<{ currentUserNotifications: { nodes: Array<{ badgeId: string }> } }>(ana, MY_NOTIFICATIONS, { typeId: "badge_earned" }));
    expect(list.currentUserNotifications.nodes.map((n) => n.badgeId)).toEqual(["first_post"]);
  });

  test("badges awarded set-based by award_badges() (what the scheduled job runs) notify; a member who turned badges off gets none", async () => {
    const [ana, bo] = await Promise.all([createTestUser(), createTestUser()]);
    ok(await gql(bo, SET_PREFERENCE, { typeId: "badge_earned", channel: "in_app", enabled: false }));
    for (const u of [ana, bo]) {
      await rootDb().query("insert into app_public.reputation_events (user_id, points, reason) values ($1, 600, 'answer_accepted')", [u.id]);
    }
    // What the award_badges task runs (called here, so that no other test file's worker run races this one).
    await rootDb().query("select app_private.award_badges()");
    expect((await notificationsOf(ana, "badge_earned")).map((r) => [r.badge_id, r.detail.badge])).toEqual([["reputation", "Trusted"]]);
    expect(await notificationsOf(bo, "badge_earned")).toEqual([]);
    expect((await rootDb().query("select 1 from app_public.user_badges where user_id = $1 and badge_id = 'reputation'", [bo.id])).rowCount).toBe(1);
    // Run again: nothing new is awarded, so nothing new is notified.
    await rootDb().query("select app_private.award_badges()");
    expect(await notificationsOf(ana, "badge_earned")).toHaveLength(1);
  });
});

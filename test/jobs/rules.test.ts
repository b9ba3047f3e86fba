/**
 * The jobs board's rules as members meet them: the posting and application
 * status workflows (every transition, allowed and refused, with its code),
 * deadlines, one application per member (also under concurrent
 * double-submits), counters, the status history and the employer's private
 * review, rendered markdown, and the analysts' funnel.
 *
 * SQL checks run as the API's roles and roll back; GraphQL checks drive the
 * real server and commit, each with its own users.
 */
import pg from "pg";
import { asRole, closeSqlHelpers, inSavepoint, rootDb, sqlErrorCode } from "../helpers/sql";
import { startTestServer, type GraphQLResponse, type TestServer, ok } from "../helpers/server";
import { createTestUser, asUser, type TestUser } from "../helpers/users";
import { testDatabase } from "../helpers/testDatabase";
import { actAs, insertApplication, insertJob, PATH, setApplicationStatus } from "./helpers";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await closeSqlHelpers();
});

const gql = <T = Record<string, unknown>>(user: TestUser | null, query: string, variables: Record<string, unknown> = {}) => server.as<T>(user, query, variables);
const codeOf = (res: GraphQLResponse<unknown>) => res.errors?.[0]?.extensions?.code;

const CREATE_JOB = `mutation ($job: JobPostingInput!) {
  createJobPosting(input: { jobPosting: $job }) { jobPosting { rowId status publishedAt tags descriptionHtml requirementsHtml } }
}`;
const SET_JOB_STATUS = `mutation ($id: UUID!, $status: JobStatus!) {
  updateJobPostingByRowId(input: { rowId: $id, jobPostingPatch: { status: $status } }) { jobPosting { status publishedAt closedAt } }
}`;
const APPLY = `mutation ($jobId: UUID!) {
  createJobApplication(input: { jobApplication: { jobId: $jobId, coverLetter: "I would love to" } }) { jobApplication { rowId status } }
}`;
const SET_APP_STATUS = `mutation ($id: UUID!, $status: JobApplicationStatus!) {
  updateJobApplicationByRowId(input: { rowId: $id, jobApplicationPatch: { status: $status } }) { jobApplication { status } }
}`;
const JOB = `query ($id: UUID!) { jobPostingByRowId(rowId: $id) { status applicationCount viewCount isAcceptingApplications } }`;

async function activeJob(employer: TestUser, extra: Record<string, unknown> = {}): Promise<string> {
  const data = ok(
    await gql<{ createJobPosting: { jobPosting: { rowId: string } } }>(employer, CREATE_JOB, {
      job: { title: "Data engineer", description: "Pipelines.", employmentType: "contract", workplace: "hybrid", status: "active", ...extra },
    }),
  );
  return data.createJobPosting.jobPosting.rowId;
}

describe("posting jobs (GraphQL)", () => {
  it("lets an employer post and publish; refuses members without job:post and anonymous", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const member = await createTestUser();
    const job = {
      title: "Platform engineer",
      description: "# Join us\n\n<script>alert(1)</script>**Kubernetes** [docs](javascript:alert(1))",
      employmentType: "full_time",
      workplace: "remote",
      salaryMin: "50000",
      salaryMax: "70000",
      salaryCurrency: "EUR",
      salaryPeriod: "year",
      tags: [" Go ", "go", "Postgres"],
    };
    const created = ok(await gql<{ createJobPosting: { jobPosting: Record<string, unknown> } }>(employer, CREATE_JOB, { job }));
    const posting = created.createJobPosting.jobPosting;
    expect(posting).toMatchObject({ status: "draft", publishedAt: null, tags: ["go", "postgres"], requirementsHtml: null });
    expect(posting.descriptionHtml).toContain("<strong>Kubernetes</strong>");
    expect(posting.descriptionHtml).not.toMatch(/<script|href="javascript:/);

    // A draft is seen only by its employer.
    const id = posting.rowId as string;
    expect(ok(await gql(member, JOB, { id })).jobPostingByRowId).toBeNull();
    expect(ok(await gql(null, JOB, { id })).jobPostingByRowId).toBeNull();

    const published = ok(await gql<{ updateJobPostingByRowId: { jobPosting: { status: string; publishedAt: string } } }>(employer, SET_JOB_STATUS, { id, status: "active" }));
    expect(published.updateJobPostingByRowId.jobPosting.status).toBe("active");
    expect(published.updateJobPostingByRowId.jobPosting.publishedAt).not.toBeNull();
    expect(ok(await gql(null, JOB, { id })).jobPostingByRowId).toMatchObject({ status: "active", isAcceptingApplications: true });

    expect(codeOf(await gql(member, CREATE_JOB, { job }))).toBe("FORBD");
    expect(codeOf(await gql(null, CREATE_JOB, { job }))).toBe("FORBD");
    // min ≤ max, and a salary needs its currency and period.
    expect(codeOf(await gql(employer, CREATE_JOB, { job: { ...job, salaryMin: "80000" } }))).toBe("INVAL");
    expect(codeOf(await gql(employer, CREATE_JOB, { job: { ...job, salaryCurrency: null } }))).toBe("INVAL");
  });

  it("counts views of public jobs only", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const id = await activeJob(employer);
    const view = `mutation ($id: UUID!) { recordJobView(input: { jobId: $id }) { result } }`;
    expect(ok(await gql<{ recordJobView: { result: number } }>(null, view, { id })).recordJobView.result).toBe(1);
    expect(ok(await gql<{ recordJobView: { result: number } }>(null, view, { id })).recordJobView.result).toBe(2);
    const draft = await activeJob(employer, { status: "draft" });
    expect(ok(await gql<{ recordJobView: { result: number | null } }>(null, view, { id: draft })).recordJobView.result).toBeNull();
  });
});

describe("the posting status workflow (SQL: every pair)", () => {
  const STATUSES = ["draft", "active", "paused", "closed", "filled"];
  const PATHS: Record<string, string[]> = { draft: [], active: ["active"], paused: ["active", "paused"], closed: ["active", "closed"], filled: ["active", "filled"] };
  const ALLOWED = new Set(["draft>active", "active>paused", "active>closed", "active>filled", "paused>active", "paused>closed", "paused>filled"]);
  let employer: TestUser;
  beforeAll(async () => {
    employer = await createTestUser({ roles: ["employer"] });
  });

  it("allows exactly draft → active → paused ⇄ active → closed | filled; refuses the rest with JOBTR", async () => {
    const outcomes: Record<string, string> = {};
    const expected: Record<string, string> = {};
    await asRole(asUser(employer), async (c) => {
      for (const from of STATUSES) {
        for (const to of STATUSES.filter((s) => s !== from)) {
          const key = `${from}>${to}`;
          expected[key] = ALLOWED.has(key) ? "ok" : "JOBTR";
          outcomes[key] = await inSavepoint(c, async () => {
            const id = await insertJob(c, employer, { status: "draft" });
            for (const step of PATHS[from]) await c.query("update app_public.job_postings set status = $2 where id = $1", [id, step]);
            return c.query("update app_public.job_postings set status = $2 where id = $1", [id, to]).then(() => "ok");
          }).catch((e: { code?: string }) => String(e.code));
        }
      }
      for (const status of ["paused", "closed", "filled"]) {
        outcomes[`new ${status}`] = await sqlErrorCode(inSavepoint(c, () => insertJob(c, employer, { status: status as "active" })));
        expected[`new ${status}`] = "JOBTR";
      }
    });
    expect(outcomes).toEqual(expected);
  });

  it("stamps closed_at and keeps published_at when a job closes (GraphQL)", async () => {
    const id = await activeJob(employer);
    const before = ok(await gql<{ updateJobPostingByRowId: { jobPosting: { publishedAt: string } } }>(employer, SET_JOB_STATUS, { id, status: "paused" }));
    const closed = ok(await gql<{ updateJobPostingByRowId: { jobPosting: { publishedAt: string; closedAt: string } } }>(employer, SET_JOB_STATUS, { id, status: "closed" }));
    expect(closed.updateJobPostingByRowId.jobPosting.publishedAt).toBe(before.updateJobPostingByRowId.jobPosting.publishedAt);
    expect(closed.updateJobPostingByRowId.jobPosting.closedAt).not.toBeNull();
    const reopen = await gql(employer, SET_JOB_STATUS, { id, status: "active" });
    expect(codeOf(reopen)).toBe("JOBTR");
    expect(reopen.errors![0].message).toBe("A job cannot go from closed to active");
    expect(reopen.errors![0].extensions).toMatchObject({ code: "JOBTR", from: "closed", to: "active" });
  });
});

describe("applying (GraphQL)", () => {
  it("runs the whole flow: apply, review to accepted, history for both parties, private review for the employer only", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const applicant = await createTestUser();
    const jobId = await activeJob(employer);
    const applied = ok(await gql<{ createJobApplication: { jobApplication: { rowId: string; status: string } } }>(applicant, APPLY, { jobId }));
    expect(applied.createJobApplication.jobApplication.status).toBe("pending");
    const id = applied.createJobApplication.jobApplication.rowId;
    expect(ok(await gql(null, JOB, { id: jobId })).jobPostingByRowId).toMatchObject({ applicationCount: 1 });

    // The applicant may only withdraw; the employer moves it forward.
    expect(codeOf(await gql(applicant, SET_APP_STATUS, { id, status: "reviewing" }))).toBe("FORBD");
    for (const status of ["reviewing", "shortlisted", "interviewed", "accepted"]) {
      expect(ok(await gql<{ updateJobApplicationByRowId: { jobApplication: { status: string } } }>(employer, SET_APP_STATUS, { id, status })).updateJobApplicationByRowId.jobApplication.status).toBe(status);
    }
    expect(codeOf(await gql(applicant, SET_APP_STATUS, { id, status: "withdrawn" }))).toBe("APPTR");

    const review = `mutation ($id: UUID!) {
      createJobApplicationReview(input: { jobApplicationReview: { applicationId: $id, notes: "Strong on SQL", rating: 5 } }) { jobApplicationReview { rating } }
    }`;
    expect(ok(await gql<{ createJobApplicationReview: { jobApplicationReview: { rating: number } } }>(employer, review, { id })).createJobApplicationReview.jobApplicationReview.rating).toBe(5);
    expect(codeOf(await gql(applicant, review, { id }))).toBe("FORBD");

    const history = `query ($id: UUID!) { jobApplicationByRowId(rowId: $id) {
      status jobApplicationReviewByApplicationId { notes rating }
      jobApplicationEventsByApplicationId(orderBy: [ROW_ID_ASC]) { nodes { fromStatus toStatus actorId } }
    } }`;
    const events = [
      { fromStatus: null, toStatus: "pending", actorId: applicant.id },
      { fromStatus: "pending", toStatus: "reviewing", actorId: employer.id },
      { fromStatus: "reviewing", toStatus: "shortlisted", actorId: employer.id },
      { fromStatus: "shortlisted", toStatus: "interviewed", actorId: employer.id },
      { fromStatus: "interviewed", toStatus: "accepted", actorId: employer.id },
    ];
    expect(ok(await gql(applicant, history, { id })).jobApplicationByRowId).toEqual({
      status: "accepted",
      jobApplicationReviewByApplicationId: null,
      jobApplicationEventsByApplicationId: { nodes: events },
    });
    expect(ok(await gql(employer, history, { id })).jobApplicationByRowId).toEqual({
      status: "accepted",
      jobApplicationReviewByApplicationId: { notes: "Strong on SQL", rating: 5 },
      jobApplicationEventsByApplicationId: { nodes: events },
    });
    const outsider = await createTestUser();
    expect(ok(await gql(outsider, history, { id })).jobApplicationByRowId).toBeNull();
  });

  it("refuses one's own job, a second application, a re-submission after withdrawing, and jobs not active", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const applicant = await createTestUser();
    const jobId = await activeJob(employer);
    expect(codeOf(await gql(employer, APPLY, { jobId }))).toBe("JOBOW");
    const id = ok(await gql<{ createJobApplication: { jobApplication: { rowId: string } } }>(applicant, APPLY, { jobId })).createJobApplication.jobApplication.rowId;
    const twice = await gql(applicant, APPLY, { jobId });
    expect([codeOf(twice), twice.errors![0].message]).toEqual(["APPEX", "You have already applied to this job"]);

    ok(await gql(applicant, SET_APP_STATUS, { id, status: "withdrawn" }));
    expect(ok(await gql(null, JOB, { id: jobId })).jobPostingByRowId).toMatchObject({ applicationCount: 0 });
    const again = await gql(applicant, APPLY, { jobId });
    expect([codeOf(again), again.errors![0].message]).toEqual(["APPEX", "You withdrew your application to this job; it cannot be submitted again"]);

    const draft = await activeJob(employer, { status: "draft" });
    expect(codeOf(await gql(applicant, APPLY, { jobId: draft }))).toBe("NOTFD");
    for (const status of ["paused", "closed"]) {
      const other = await activeJob(employer);
      if (status === "closed") ok(await gql(employer, SET_JOB_STATUS, { id: other, status: "paused" }));
      ok(await gql(employer, SET_JOB_STATUS, { id: other, status }));
      const refused = await gql(applicant, APPLY, { jobId: other });
      expect([codeOf(refused), refused.errors![0].message]).toEqual(["JOBCL", `This job is not accepting applications (it is ${status.toLowerCase()})`]);
      expect(ok(await gql(null, JOB, { id: other })).jobPostingByRowId).toMatchObject({ isAcceptingApplications: false });
    }
    expect(codeOf(await gql(null, APPLY, { jobId }))).toBe("FORBD");
  });

  it("refuses applications from the deadline on, with no job running", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const [early, late] = [await createTestUser(), await createTestUser()];
    const deadline = new Date(Date.now() + 1500).toISOString();
    const jobId = await activeJob(employer, { applicationDeadline: deadline });
    ok(await gql(early, APPLY, { jobId }));
    expect(ok(await gql(null, JOB, { id: jobId })).jobPostingByRowId).toMatchObject({ status: "active", isAcceptingApplications: true });
    await new Promise((resolve) => setTimeout(resolve, Date.parse(deadline) - Date.now() + 100));
    const refused = await gql(late, APPLY, { jobId });
    expect([codeOf(refused), refused.errors![0].message]).toEqual(["JOBDL", "The application deadline has passed"]);
    expect(ok(await gql(null, JOB, { id: jobId })).jobPostingByRowId).toMatchObject({ status: "active", isAcceptingApplications: false, applicationCount: 1 });
  });

  it("keeps one application per member under concurrent double-submits (GraphQL and parallel SQL clients)", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const jobId = await activeJob(employer);
    const applicant = await createTestUser();
    const results = await Promise.all([1, 2, 3, 4].map(() => gql(applicant, APPLY, { jobId })));
    expect(results.filter((r) => !r.errors).length).toBe(1);
    expect(results.filter((r) => r.errors).map(codeOf)).toEqual(["APPEX", "APPEX", "APPEX"]);

    // Four separate connections, each in its own transaction, released together.
    const sqlApplicant = await createTestUser();
    const pool = new pg.Pool({ connectionString: testDatabase().rootUrl, max: 4 });
    try {
      const clients = await Promise.all([1, 2, 3, 4].map(() => pool.connect()));
      for (const c of clients) {
        await c.query("begin");
        await c.query("select set_config('role', 'authenticated', true)");
        await actAs(c, sqlApplicant);
      }
      const outcomes = await Promise.all(
        clients.map((c) =>
          c
            .query("insert into app_public.job_applications (job_id) values ($1)", [jobId])
            .then(() => c.query("commit").then(() => "ok"))
            .catch(async (e: { code?: string }) => {
              await c.query("rollback");
              return String(e.code);
            })
            .finally(() => c.release()),
        ),
      );
      expect(outcomes.sort()).toEqual(["APPEX", "APPEX", "APPEX", "ok"]);
    } finally {
      await pool.end();
    }
    const { rows } = await rootDb().query(
      "select (select count(*)::int from app_public.job_applications where job_id = $1) as rows, application_count from app_public.job_postings where id = $1",
      [jobId],
    );
    expect(rows[0]).toEqual({ rows: 2, application_count: 2 });
  });
});

describe("the application status workflow (SQL: every pair, both parties)", () => {
  const STATUSES = Object.keys(PATH);
  const EMPLOYER_MOVES: Record<string, string[]> = {
    pending: ["reviewing", "rejected"],
    reviewing: ["shortlisted", "rejected"],
    shortlisted: ["interviewed", "rejected"],
    interviewed: ["accepted", "rejected"],
  };
  const FINAL = ["accepted", "rejected", "withdrawn"];
  let employer: TestUser;
  let applicant: TestUser;
  beforeAll(async () => {
    employer = await createTestUser({ roles: ["employer"] });
    applicant = await createTestUser();
  });

  function expectedOutcome(from: string, to: string, actor: "employer" | "applicant"): string {
    if (FINAL.includes(from)) return "APPTR";
    if (to === "withdrawn") return actor === "applicant" ? "ok" : "FORBD";
    if (actor === "applicant") return "FORBD";
    return EMPLOYER_MOVES[from].includes(to) ? "ok" : "APPTR";
  }

  it("allows exactly the documented moves; refuses the rest with APPTR or FORBD", async () => {
    const outcomes: Record<string, string> = {};
    const expected: Record<string, string> = {};
    await asRole(asUser(applicant), async (c) => {
      for (const from of STATUSES) {
        for (const to of STATUSES.filter((s) => s !== from)) {
          for (const actor of ["employer", "applicant"] as const) {
            const key = `${actor}: ${from}>${to}`;
            expected[key] = expectedOutcome(from, to, actor);
            outcomes[key] = await inSavepoint(c, async () => {
              const jobId = await insertJob(c, employer);
              const id = await insertApplication(c, applicant, jobId);
              for (const [who, status] of PATH[from]) await setApplicationStatus(c, who === "employer" ? employer : applicant, id, status);
              const touched = await setApplicationStatus(c, actor === "employer" ? employer : applicant, id, to);
              return touched === 1 ? "ok" : `touched ${touched}`;
            }).catch((e: { code?: string }) => String(e.code));
          }
        }
      }
    });
    expect(outcomes).toEqual(expected);
  });

  it("lets only the applicant edit the cover letter, and only while pending", async () => {
    await asRole(asUser(applicant), async (c) => {
      const jobId = await insertJob(c, employer);
      const id = await insertApplication(c, applicant, jobId);
      let n = 0;
      const edit = () => c.query("update app_public.job_applications set cover_letter = $2 where id = $1", [id, `Edited ${++n}`]);
      await actAs(c, employer);
      expect(await sqlErrorCode(inSavepoint(c, edit))).toBe("FORBD");
      await actAs(c, applicant);
      expect((await edit()).rowCount).toBe(1);
      await setApplicationStatus(c, employer, id, "reviewing");
      await actAs(c, applicant);
      expect(await sqlErrorCode(inSavepoint(c, edit))).toBe("APPTR");
    });
  });
});

describe("finding jobs (GraphQL filters)", () => {
  it("filters by tag, employment type, workplace, salary overlap, currency, location and posted since; drafts stay hidden", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const tag = `find-${Date.now().toString(36)}`;
    const job = (title: string, extra: Record<string, unknown>) =>
      activeJob(employer, { title, tags: [tag], salaryCurrency: "EUR", salaryPeriod: "year", ...extra });
    await job("Low pay", { salaryMin: "40000", salaryMax: "50000", employmentType: "part_time", location: "Lyon" });
    await job("Mid pay", { salaryMin: "60000", salaryMax: "80000", workplace: "remote", location: "Lyon" });
    await job("Open top", { salaryMin: "90000", employmentType: "freelance" });
    await job("Dollars", { salaryMin: "60000", salaryMax: "80000", salaryCurrency: "USD" });
    await job("Hidden draft", { salaryMin: "60000", salaryMax: "80000", status: "draft" });
    const titles = async (condition: string) => {
      const res = await gql<{ allJobPostings: { nodes: Array<{ title: string }> } }>(
        null,
        `{ allJobPostings(condition: { tag: "${tag}", ${condition} }, orderBy: [SALARY_MIN_ASC]) { nodes { title } } }`,
      );
      return ok(res).allJobPostings.nodes.map((n) => n.title).sort();
    };
    expect(await titles("")).toEqual(["Dollars", "Low pay", "Mid pay", "Open top"]);
    expect(await titles(`salaryOverlaps: { from: 55000, to: 95000 }, salaryCurrency: "EUR"`)).toEqual(["Mid pay", "Open top"]);
    expect(await titles(`salaryOverlaps: { from: 85000 }`)).toEqual(["Open top"]);
    expect(await titles(`salaryOverlaps: { to: 45000 }`)).toEqual(["Low pay"]);
    expect(await titles("employmentType: freelance")).toEqual(["Open top"]);
    expect(await titles("workplace: remote")).toEqual(["Mid pay"]);
    expect(await titles(`location: "Lyon"`)).toEqual(["Low pay", "Mid pay"]);
    expect(await titles(`postedSince: "${new Date(Date.now() + 60_000).toISOString()}"`)).toEqual([]);
  });
});

describe("the job funnel for analysts", () => {
  it("counts applications per job, category, week and status, with no personal data", async () => {
    const employer = await createTestUser({ roles: ["employer"] });
    const [a, b, c] = [await createTestUser(), await createTestUser(), await createTestUser()];
    const jobId = await activeJob(employer);
    for (const u of [a, b, c]) ok(await gql(u, APPLY, { jobId }));
    const { rows: apps } = await rootDb().query("select id from app_public.job_applications where job_id = $1 and applicant_id = $2", [jobId, a.id]);
    ok(await gql(employer, SET_APP_STATUS, { id: apps[0].id, status: "rejected" }));

    const funnel = await asRole({ role: "analyst" }, (db) =>
      db.query("select * from app_analytics.job_funnel where job_id = $1 order by status", [jobId]),
    );
    expect(funnel.fields.map((f) => f.name)).toEqual(["job_id", "category_id", "week", "status", "applications"]);
    expect(funnel.rows.map((r) => [r.status, r.applications])).toEqual([["pending", 2], ["rejected", 1]]);
    expect(await sqlErrorCode(asRole({ role: "analyst" }, (db) => db.query("select 1 from app_public.job_applications limit 1")))).toBe("42501");
  });
});

/**
 * Who sees and writes what on the jobs board: anonymous, an uninvolved
 * member, an applicant, another applicant, the employer, another employer
 * and an admin × job_postings, job_applications, job_application_events,
 * job_application_reviews × select / insert / update / delete, at the SQL
 * level as the API's database roles. Each statement runs in its own
 * transaction that rolls back.
 *
 * Outcomes: the fixture rows a select returns (by label), the number of
 * rows a write touched (0 = row-level security hid the row), or the
 * SQLSTATE it failed with (42501 = privileges or a policy refused; our
 * own codes where a trigger refused).
 */
import { asRole, closeSqlHelpers, rootDb, type As } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { actAs, insertApplication, insertJob, setApplicationStatus } from "./helpers";

const ACTORS = ["anonymous", "member", "applicant", "otherApplicant", "employer", "otherEmployer", "admin"] as const;
type Actor = (typeof ACTORS)[number];
type Outcome = number | string | string[];

let users: Record<Exclude<Actor, "anonymous">, TestUser>;
const keys: Record<string, string> = {};
const labelOf = new Map<string, string>();

function caller(actor: Actor): As {
  if (actor === "anonymous") return { role: "anonymous" };
  const user = users[actor];
  return { role: "authenticated", userId: user.id, sessionId: user.sessionId };
}

beforeAll(async () => {
  users = {
    member: await createTestUser(),
    applicant: await createTestUser(),
    otherApplicant: await createTestUser(),
    employer: await createTestUser({ roles: ["employer"] }),
    otherEmployer: await createTestUser({ roles: ["employer"] }),
    admin: await createTestUser({ roles: ["admin"] }),
  };
  const u = users;
  const c = await rootDb().connect();
  try {
    await c.query("begin");
    keys["job:draft"] = await insertJob(c, u.employer, { status: "draft" });
    keys["job:active"] = await insertJob(c, u.employer);
    keys["job:paused"] = await insertJob(c, u.employer);
    keys["job:closed"] = await insertJob(c, u.employer);
    keys["job:filled"] = await insertJob(c, u.employer);
    keys["job:other"] = await insertJob(c, u.otherEmployer);
    for (const [label, steps] of [["job:paused", ["paused"]], ["job:closed", ["closed"]], ["job:filled", ["filled"]]] as const) {
      for (const s of steps) await c.query("update app_public.job_postings set status = $2 where id = $1", [keys[label], s]);
    }
    keys["app:applicant"] = await insertApplication(c, u.applicant, keys["job:active"]);
    keys["app:other"] = await insertApplication(c, u.otherApplicant, keys["job:active"]);
    keys["app:otherJob"] = await insertApplication(c, u.otherApplicant, keys["job:other"]);
    await setApplicationStatus(c, u.employer, keys["app:applicant"], "reviewing");
    const events = await c.query<{ id: string; application_id: string; to_status: string }>(
      "select id::text, application_id, to_status::text from app_public.job_application_events where application_id = any($1) order by id",
      [[keys["app:applicant"], keys["app:other"], keys["app:otherJob"]]],
    );
    for (const e of events.rows) {
      const app = Object.keys(keys).find((k) => keys[k] === e.application_id)!;
      keys[`event:${app.slice(4)}:${e.to_status}`] = e.id;
    }
    await actAs(c, u.employer);
    await c.query("insert into app_public.job_application_reviews (application_id, notes, rating) values ($1, 'Good', 4)", [keys["app:applicant"]]);
    keys["review:applicant"] = keys["app:applicant"];
    await actAs(c, u.otherEmployer);
    await c.query("insert into app_public.job_application_reviews (application_id, notes, rating) values ($1, 'Maybe', 3)", [keys["app:otherJob"]]);
    keys["review:otherJob"] = keys["app:otherJob"];
    await c.query("commit");
  } finally {
    c.release();
  }
  for (const [label, key] of Object.entries(keys)) if (!label.startsWith("review:")) labelOf.set(key, label);
});

afterAll(async () => {
  await rootDb().query("delete from app_public.job_postings where id = any($1)", [
    Object.entries(keys).filter(([k]) => k.startsWith("job:")).map(([, v]) => v),
  ]);
  await closeSqlHelpers();
});

async function run(actor: Actor, text: string, values: (k: typeof keys, u: typeof users) => unknown[]): Promise<Outcome> {
  try {
    return await asRole(caller(actor), async (c) => {
      const res = await c.query<{ key: string }>(text, values(keys, users));
      if (res.command === "SELECT") return res.rows.map((r) => labelOf.get(r.key) ?? r.key).sort();
      return res.rowCount ?? 0;
    });
  } catch (error) {
    return String((error as { code?: string }).code);
  }
}

const all = (o: Outcome): Record<Actor, Outcome> => Object.fromEntries(ACTORS.map((a) => [a, o])) as Record<Actor, Outcome>;
const jobIds = (k: typeof keys) => [Object.entries(k).filter(([l]) => l.startsWith("job:")).map(([, v]) => v)];
const appIds = (k: typeof keys) => [Object.entries(k).filter(([l]) => l.startsWith("app:")).map(([, v]) => v)];
const eventIds = (k: typeof keys) => [Object.entries(k).filter(([l]) => l.startsWith("event:")).map(([, v]) => v)];

const PUBLIC_JOBS = ["job:active", "job:closed", "job:filled", "job:other", "job:paused"];
const ALL_JOBS = ["job:active", "job:closed", "job:draft", "job:filled", "job:other", "job:paused"];

interface Case {
  name: string;
  text: string;
  values: (k: typeof keys, u: typeof users) => unknown[];
  expected: Record<Actor, Outcome>;
}

const CASES: Case[] = [
  // job_postings
  {
    name: "job_postings select",
    text: "select id::text as key from app_public.job_postings where id = any($1)",
    values: jobIds,
    expected: { ...all(PUBLIC_JOBS), employer: ALL_JOBS, admin: ALL_JOBS },
  },
  {
    name: "job_postings insert",
    text: "insert into app_public.job_postings (title, description) values ('Matrix job', 'Body')",
    values: () => [],
    expected: { ...all("42501"), employer: 1, otherEmployer: 1, admin: 1 },
  },
  {
    name: "job_postings update (active)",
    text: "update app_public.job_postings set title = 'Renamed job' where id = $1",
    values: (k) => [k["job:active"]],
    expected: { ...all(0), anonymous: "42501", employer: 1, admin: 1 },
  },
  {
    name: "job_postings update (draft)",
    text: "update app_public.job_postings set title = 'Renamed draft' where id = $1",
    values: (k) => [k["job:draft"]],
    expected: { ...all(0), anonymous: "42501", employer: 1, admin: 1 },
  },
  {
    name: "job_postings update employer_id",
    text: "update app_public.job_postings set employer_id = $2 where id = $1",
    values: (k, u) => [k["job:active"], u.member.id],
    expected: all("42501"),
  },
  {
    name: "job_postings update counters",
    text: "update app_public.job_postings set application_count = 99, view_count = 99 where id = $1",
    values: (k) => [k["job:active"]],
    expected: all("42501"),
  },
  {
    name: "job_postings delete (draft)",
    text: "delete from app_public.job_postings where id = $1",
    values: (k) => [k["job:draft"]],
    expected: { ...all(0), anonymous: "42501", employer: 1, admin: 1 },
  },
  {
    name: "job_postings delete (active, with applications)",
    text: "delete from app_public.job_postings where id = $1",
    values: (k) => [k["job:active"]],
    expected: { ...all(0), anonymous: "42501", admin: 1 },
  },
  // job_applications
  {
    name: "job_applications select",
    text: "select id::text as key from app_public.job_applications where id = any($1)",
    values: appIds,
    expected: {
      ...all([]),
      applicant: ["app:applicant"],
      otherApplicant: ["app:other", "app:otherJob"],
      employer: ["app:applicant", "app:other"],
      otherEmployer: ["app:otherJob"],
      admin: ["app:applicant", "app:other", "app:otherJob"],
    },
  },
  {
    name: "job_applications insert (active job)",
    text: "insert into app_public.job_applications (job_id, cover_letter) values ($1, 'Me too')",
    values: (k) => [k["job:active"]],
    expected: { anonymous: "42501", member: 1, applicant: "APPEX", otherApplicant: "APPEX", employer: "JOBOW", otherEmployer: 1, admin: 1 },
  },
  {
    name: "job_applications insert for someone else",
    text: "insert into app_public.job_applications (job_id, applicant_id) values ($1, $2)",
    values: (k, u) => [k["job:active"], u.member.id],
    expected: all("42501"),
  },
  {
    name: "job_applications update cover letter (pending)",
    text: "update app_public.job_applications set cover_letter = 'Changed' where id = $1",
    values: (k) => [k["app:other"]],
    expected: { ...all(0), anonymous: "42501", otherApplicant: 1, employer: "FORBD" },
  },
  {
    name: "job_applications update status to reviewing",
    text: "update app_public.job_applications set status = 'reviewing' where id = $1",
    values: (k) => [k["app:other"]],
    expected: { ...all(0), anonymous: "42501", otherApplicant: "FORBD", employer: 1 },
  },
  {
    name: "job_applications delete",
    text: "delete from app_public.job_applications where id = $1",
    values: (k) => [k["app:applicant"]],
    expected: all("42501"),
  },
  // job_application_events
  {
    name: "job_application_events select",
    text: "select id::text as key from app_public.job_application_events where id = any($1::bigint[])",
    values: eventIds,
    expected: {
      ...all([]),
      applicant: ["event:applicant:pending", "event:applicant:reviewing"],
      otherApplicant: ["event:other:pending", "event:otherJob:pending"],
      employer: ["event:applicant:pending", "event:applicant:reviewing", "event:other:pending"],
      otherEmployer: ["event:otherJob:pending"],
      admin: ["event:applicant:pending", "event:applicant:reviewing", "event:other:pending", "event:otherJob:pending"],
    },
  },
  {
    name: "job_application_events insert",
    text: "insert into app_public.job_application_events (application_id, to_status) values ($1, 'accepted')",
    values: (k) => [k["app:applicant"]],
    expected: all("42501"),
  },
  {
    name: "job_application_events update",
    text: "update app_public.job_application_events set to_status = 'accepted' where id = $1",
    values: (k) => [k["event:applicant:reviewing"]],
    expected: all("42501"),
  },
  {
    name: "job_application_events delete",
    text: "delete from app_public.job_application_events where id = $1",
    values: (k) => [k["event:applicant:reviewing"]],
    expected: all("42501"),
  },
  // job_application_reviews
  {
    name: "job_application_reviews select",
    text: "select application_id::text as key from app_public.job_application_reviews where application_id = any($1)",
    values: appIds,
    expected: { ...all([]), employer: ["app:applicant"], otherEmployer: ["app:otherJob"] },
  },
  {
    name: "job_application_reviews insert (unreviewed application)",
    text: "insert into app_public.job_application_reviews (application_id, notes) values ($1, 'Notes')",
    values: (k) => [k["app:other"]],
    expected: { ...all("42501"), employer: 1 },
  },
  {
    name: "job_application_reviews update",
    text: "update app_public.job_application_reviews set notes = 'Changed', rating = 5 where application_id = $1",
    values: (k) => [k["app:applicant"]],
    expected: { ...all(0), anonymous: "42501", employer: 1 },
  },
  {
    name: "job_application_reviews delete",
    text: "delete from app_public.job_application_reviews where application_id = $1",
    values: (k) => [k["app:applicant"]],
    expected: { ...all(0), anonymous: "42501", employer: 1 },
  },
];

describe("jobs board RLS matrix", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const outcomes: Record<string, Outcome> = {};
    for (const actor of ACTORS) outcomes[actor] = await run(actor, c.text, c.values);
    expect(outcomes).toEqual(c.expected);
  });

  it("never shows an applicant the other applicants or the employer's notes through the embedded relations", async () => {
    await asRole(caller("applicant"), async (c) => {
      const { rows } = await c.query(
        `select a.id, (select count(*)::int from app_public.job_applications x where x.job_id = a.job_id) as visible_applications,
                (select count(*)::int from app_public.job_application_reviews r where r.application_id = a.id) as reviews
           from app_public.job_applications a where a.id = $1`,
        [keys["app:applicant"]],
      );
      expect(rows).toEqual([{ id: keys["app:applicant"], visible_applications: 1, reviews: 0 }]);
    });
  });
});

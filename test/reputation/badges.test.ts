/**
 * Badges: the catalogue, awards on the event (first post, first answer, first
 * accepted answer), the set-based and idempotent award_badges() run by the
 * award_badges task, once per member unless repeatable (then once per source).
 */
import fs from "node:fs";
import { parseCrontab } from "graphile-worker";
import { bulkLoad, closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { runQueuedJobs } from "../helpers/jobs";
import { awardBadges } from "../../src/tasks/award_badges";
import { CRONTAB_FILE } from "../../src/worker/runner";
import { arrangeAnswer, arrangePost, arrangeQuestion, asMemberCommitted, credit } from "./fixtures";

afterAll(closeSqlHelpers);

async function badgesOf(user: TestUser): Promise<string[]> {
  const { rows } = await rootDb().query<{ badge_id: string }>(
    "select badge_id from app_public.user_badges where user_id = $1 order by badge_id, source_id",
    [user.id],
  );
  return rows.map((r) => r.badge_id);
}

describe("the catalogue", () => {
  it("lists the badges with their classes, thresholds and repeatability", async () => {
    const { rows } = await rootDb().query(
      "select id, class::text, threshold, is_repeatable from app_public.badges order by id",
    );
    expect(rows).toEqual([
      { id: "accepted_answers", class: "silver", threshold: 10, is_repeatable: false },
      { id: "first_accepted_answer", class: "bronze", threshold: null, is_repeatable: false },
      { id: "first_answer", class: "bronze", threshold: null, is_repeatable: false },
      { id: "first_post", class: "bronze", threshold: null, is_repeatable: false },
      { id: "great_post", class: "gold", threshold: 25, is_repeatable: true },
      { id: "great_question", class: "silver", threshold: 10, is_repeatable: true },
      { id: "popular", class: "gold", threshold: 100, is_repeatable: false },
      { id: "reputation", class: "silver", threshold: 500, is_repeatable: false },
    ]);
  });
});

describe("badges on the event", () => {
  it("awards first post, first answer and first accepted answer once", async () => {
    const [asker, answerer] = await Promise.all([createTestUser(), createTestUser()]);
    const draft = await arrangePost(asker, { status: "draft" });
    expect(await badgesOf(asker)).toEqual([]);
    await rootDb().query("update app_public.posts set status = 'published' where id = $1", [draft]);
    await arrangePost(asker);
    expect(await badgesOf(asker)).toEqual(["first_post"]);
    const q1 = await arrangeQuestion(asker);
    const q2 = await arrangeQuestion(asker);
    const a1 = await arrangeAnswer(answerer, q1);
    const a2 = await arrangeAnswer(answerer, q2);
    expect(await badgesOf(answerer)).toEqual(["first_answer"]);
    await asMemberCommitted(asker, "select app_public.accept_answer($1)", [a1]);
    await asMemberCommitted(asker, "select app_public.accept_answer($1)", [a2]);
    expect(await badgesOf(answerer)).toEqual(["first_accepted_answer", "first_answer"]);
  });

  it("refuses a second award of a once-only badge, and any write by members", async () => {
    const u = await createTestUser();
    await rootDb().query("insert into app_public.user_badges (user_id, badge_id) values ($1, 'popular')", [u.id]);
    expect(await sqlErrorCode(rootDb().query("insert into app_public.user_badges (user_id, badge_id) values ($1, 'popular')", [u.id]))).toBe("23505");
    expect(
      await sqlErrorCode(asMemberCommitted(u, "insert into app_public.user_badges (user_id, badge_id) values ($1, 'reputation')", [u.id])),
    ).toBe("42501");
  });
});

describe("award_badges (scheduled, set-based)", () => {
  it("awards every met criterion once, repeatable badges once per source, and is idempotent", async () => {
    const [star, helper, asker, quiet] = await Promise.all([createTestUser(), createTestUser(), createTestUser(), createTestUser()]);
    await credit(star, 499);
    const great1 = await arrangePost(star, { likes: 25 });
    const great2 = await arrangePost(star, { likes: 30 });
    await arrangePost(star, { likes: 24 });
    const bigQuestion = await arrangeQuestion(asker, { answers: 10 });
    await arrangeQuestion(asker, { answers: 9 });
    await rootDb().query("update app_public.users set follower_count = 100 where id = $1", [star.id]);
    // Ten accepted answers for helper (asker's questions).
    await bulkLoad(async (c) => {
      for (let i = 0; i < 10; i += 1) {
        const q = await c.query<{ id: string }>(
          "insert into app_public.questions (author_id, title, body) values ($1, 'Accepted ' || $2, 'Body') returning id", [asker.id, i],
        );
        const a = await c.query<{ id: string }>(
          "insert into app_public.answers (author_id, question_id, body) values ($1, $2, 'Answer') returning id", [helper.id, q.rows[0].id],
        );
        await c.query("update app_public.questions set accepted_answer_id = $2 where id = $1", [q.rows[0].id, a.rows[0].id]);
      }
    });
    // Event badges already there; the scheduled job adds the set-based ones.
    await rootDb().query("select app_private.add_job('award_badges')");
    await runQueuedJobs({ award_badges: awardBadges });
    expect(await badgesOf(star)).toEqual(["first_post", "great_post", "great_post", "popular", "reputation"]);
    expect(await badgesOf(helper)).toEqual(["accepted_answers", "first_accepted_answer", "first_answer"]);
    expect(await badgesOf(asker)).toEqual(["great_question"]);
    expect(await badgesOf(quiet)).toEqual([]);
    const sources = await rootDb().query<{ source_id: string }>(
      "select source_id from app_public.user_badges where badge_id in ('great_post', 'great_question') and user_id = any($1) order by source_id",
      [[star.id, asker.id]],
    );
    expect(sources.rows.map((r) => r.source_id).sort()).toEqual([great1, great2, bigQuestion].sort());
    // Again: nothing new for these members.
    await rootDb().query("select app_private.award_badges()");
    const { rows } = await rootDb().query<{ n: number }>(
      "select count(*)::int as n from app_public.user_badges where user_id = any($1)",
      [[star.id, helper.id, asker.id, quiet.id]],
    );
    expect(rows[0].n).toBe(5 + 3 + 1);
  });

  it("is scheduled in the crontab, with refresh_rankings", () => {
    const items = parseCrontab(fs.readFileSync(CRONTAB_FILE, "utf8"));
    expect(items.map((i) => i.task)).toEqual(expect.arrayContaining(["award_badges", "refresh_rankings"]));
  });
});

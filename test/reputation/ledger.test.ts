/**
 * The reputation ledger against every cause (likes, dislikes, acceptances,
 * content hidden or deleted), reversal by compensating rows, the daily vote
 * cap (also under concurrent votes), the floor, append-only, sum = total.
 */
import { asRole, closeSqlHelpers, rootDb, sqlErrorCode } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import {
  arrangeAnswer, arrangePost, arrangeQuestion, asMemberCommitted, credit, ledgerOf, newClient, react, reputationOf, setStatus,
} from "./fixtures";

afterAll(closeSqlHelpers);

async function users(n: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: n }, () => createTestUser()));
}

const row = (points: number, reason: string, isVote = true, isReversal = false) => ({
  points, reason, is_vote: isVote, is_reversal: isReversal,
});

describe("the ledger", () => {
  it("starts every member at 1 with a 'joined' row, level newcomer", async () => {
    const [u] = await users(1);
    const { rows } = await rootDb().query(
      `select u.reputation, app_public.users_level(u)::text as level,
              (select json_agg(json_build_object('points', points, 'reason', reason)) from app_public.reputation_events e where e.user_id = u.id) as events
         from app_public.users u where u.id = $1`,
      [u.id],
    );
    expect(rows[0]).toEqual({ reputation: 1, level: "newcomer", events: [{ points: 1, reason: "joined" }] });
  });

  it("credits likes on answers (+10), questions and posts (+5), and reverses a removed like", async () => {
    const [author, voter] = await users(2);
    const q = await arrangeQuestion(author);
    const post = await arrangePost(author);
    const answerAuthor = (await users(1))[0];
    const a = await arrangeAnswer(answerAuthor, q);
    await react(voter, "like", { answer: a });
    await react(voter, "like", { question: q });
    await react(voter, "like", { post });
    expect(await reputationOf(answerAuthor)).toBe(11);
    expect(await reputationOf(author)).toBe(11);
    expect(await ledgerOf(author)).toEqual([row(5, "question_liked"), row(5, "post_liked")]);
    // Repeating the like removes it: a compensating row, nothing updated or deleted.
    await react(voter, "like", { answer: a });
    expect(await ledgerOf(answerAuthor)).toEqual([row(10, "answer_liked"), row(-10, "answer_liked", true, true)]);
    expect(await reputationOf(answerAuthor)).toBe(1);
    expect(await ledgerOf(voter)).toEqual([]);
  });

  it("charges a dislike on an answer −2 to the author and −1 to the voter; questions and posts cost nothing", async () => {
    const [asker, answerer, voter] = await users(3);
    await credit(answerer, 20);
    await credit(voter, 20);
    const q = await arrangeQuestion(asker);
    const a = await arrangeAnswer(answerer, q);
    await react(voter, "dislike", { answer: a });
    await react(voter, "dislike", { question: q });
    expect(await ledgerOf(answerer)).toEqual([row(20, "post_liked", false), row(-2, "answer_disliked")]);
    expect(await ledgerOf(voter)).toEqual([row(20, "post_liked", false), row(-1, "disliked_an_answer")]);
    expect(await reputationOf(asker)).toBe(1);
    // Changing the dislike to a like reverses both, then credits the like.
    await react(voter, "like", { answer: a });
    expect((await ledgerOf(answerer)).slice(2)).toEqual([row(2, "answer_disliked", true, true), row(10, "answer_liked")]);
    expect((await ledgerOf(voter)).slice(2)).toEqual([row(1, "disliked_an_answer", true, true)]);
    expect(await reputationOf(answerer)).toBe(31);
    expect(await reputationOf(voter)).toBe(21);
  });

  it("gives nothing for reacting to one's own content or to comments", async () => {
    const [author] = await users(1);
    const post = await arrangePost(author);
    await react(author, "like", { post });
    expect(await ledgerOf(author)).toEqual([]);
  });

  it("never goes below 1, and a reversal gives back only what was taken", async () => {
    const [asker, answerer, v1, v2] = await users(4);
    await credit(answerer, 1); // reputation 2
    await credit(v1, 5);
    await credit(v2, 5);
    const q = await arrangeQuestion(asker);
    const a = await arrangeAnswer(answerer, q);
    await react(v1, "dislike", { answer: a }); // −2 cut to −1
    await react(v2, "dislike", { answer: a }); // nothing left to take: no row
    expect(await reputationOf(answerer)).toBe(1);
    expect((await ledgerOf(answerer)).slice(1)).toEqual([row(-1, "answer_disliked")]);
    await react(v2, "dislike", { answer: a }); // removed: nothing to give back
    await react(v1, "dislike", { answer: a }); // removed: gives back the 1 taken
    expect((await ledgerOf(answerer)).slice(1)).toEqual([row(-1, "answer_disliked"), row(1, "answer_disliked", true, true)]);
    expect(await reputationOf(answerer)).toBe(2);
    // The voter at the floor loses nothing either.
    const [poor] = await users(1);
    await react(poor, "dislike", { answer: a });
    expect(await reputationOf(poor)).toBe(1);
    expect(await ledgerOf(poor)).toEqual([]);
  });

  it("credits an accepted answer +15 and the question's author +2 (exempt from the cap), and reverses on change and withdrawal", async () => {
    const [asker, a1Author, a2Author] = await users(3);
    const q = await arrangeQuestion(asker);
    const a1 = await arrangeAnswer(a1Author, q);
    const a2 = await arrangeAnswer(a2Author, q);
    await credit(a1Author, 200, "answer_liked", true); // today's vote cap used up: accepts still count
    await asMemberCommitted(asker, "select app_public.accept_answer($1)", [a1]);
    expect((await ledgerOf(a1Author)).slice(1)).toEqual([row(15, "answer_accepted", false)]);
    expect(await ledgerOf(asker)).toEqual([row(2, "accepted_an_answer", false)]);
    // Another answer accepted instead: the first acceptance is taken back.
    await asMemberCommitted(asker, "select app_public.accept_answer($1)", [a2]);
    expect((await ledgerOf(a1Author)).slice(1)).toEqual([row(15, "answer_accepted", false), row(-15, "answer_accepted", false, true)]);
    expect(await ledgerOf(a2Author)).toEqual([row(15, "answer_accepted", false)]);
    expect(await ledgerOf(asker)).toEqual([
      row(2, "accepted_an_answer", false), row(-2, "accepted_an_answer", false, true), row(2, "accepted_an_answer", false),
    ]);
    // The accepted answer hidden by a moderator: acceptance withdrawn (migration 000008), points reversed.
    await setStatus("answers", a2, "hidden");
    expect(await ledgerOf(a2Author)).toEqual([row(15, "answer_accepted", false), row(-15, "answer_accepted", false, true)]);
    expect(await reputationOf(asker)).toBe(1);
    expect(await reputationOf(a2Author)).toBe(1);
  });

  it("earns nothing for accepting one's own answer", async () => {
    const [asker] = await users(1);
    const q = await arrangeQuestion(asker);
    const a = await arrangeAnswer(asker, q);
    await asMemberCommitted(asker, "select app_public.accept_answer($1)", [a]);
    expect(await ledgerOf(asker)).toEqual([]);
  });

  it("reverses the vote points of content hidden or deleted, and credits them again when restored", async () => {
    const [author, v1, v2] = await users(3);
    await credit(v2, 10);
    const q = await arrangeQuestion(author);
    const a = await arrangeAnswer(author, q);
    await react(v1, "like", { answer: a });
    await react(v2, "dislike", { answer: a });
    expect(await reputationOf(author)).toBe(9);
    await setStatus("answers", a, "deleted");
    expect(await reputationOf(author)).toBe(1);
    expect(await reputationOf(v2)).toBe(11); // the voter's −1 given back too
    expect((await ledgerOf(author)).filter((r) => r.is_reversal).map((r) => r.points).sort()).toEqual([-10, 2]);
    await setStatus("answers", a, "published");
    expect(await reputationOf(author)).toBe(9);
    expect(await reputationOf(v2)).toBe(10);
    // Removing a reaction of hidden content takes nothing back twice.
    await setStatus("answers", a, "hidden");
    await react(v1, "like", { answer: a }).catch(() => undefined); // hidden: react refuses (NOTFD)
    expect(await reputationOf(author)).toBe(1);
    // A post deleted for good: its reactions go by cascade and so do their points.
    const post = await arrangePost(author);
    await react(v1, "like", { post });
    expect(await reputationOf(author)).toBe(6);
    await rootDb().query("delete from app_public.posts where id = $1", [post]);
    expect(await reputationOf(author)).toBe(1);
  });
});

describe("the daily vote cap", () => {
  it("cuts vote gains at 200 a day, net", async () => {
    const [asker, answerer, v1, v2, v3] = await users(5);
    await credit(answerer, 195, "answer_liked", true);
    const q = await arrangeQuestion(asker);
    const a = await arrangeAnswer(answerer, q);
    const post = await arrangePost(answerer);
    await react(v1, "like", { answer: a }); // +10 cut to +5
    await react(v2, "like", { post }); // nothing left
    expect((await ledgerOf(answerer)).slice(1)).toEqual([row(5, "answer_liked")]);
    // A dislike received frees room (the cap counts the day's net vote points).
    await react(v3, "dislike", { answer: a });
    await react(v2, "like", { post }); // off
    await react(v2, "like", { post }); // on again: room for 2
    expect(await reputationOf(answerer)).toBe(1 + 195 + 5 - 2 + 2);
  });

  it("holds under concurrent votes: a second vote waits for the first to commit", async () => {
    const [asker, answerer, v1, v2] = await users(4);
    await credit(answerer, 190, "answer_liked", true);
    const q = await arrangeQuestion(asker);
    const a1 = await arrangeAnswer(answerer, q);
    const a2 = await arrangeAnswer(answerer, q);
    const c1 = await newClient();
    const c2 = await newClient();
    try {
      // v1's vote, not yet committed, holds the answerer's row.
      await c1.query("begin");
      await c1.query(
        "select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)",
        [v1.id, v1.sessionId],
      );
      await c1.query("select app_public.react('like', answer_id => $1)", [a1]);
      let secondDone = false;
      const second = react(v2, "like", { answer: a2 }, c2).then(() => {
        secondDone = true;
      });
      await new Promise((r) => setTimeout(r, 400));
      expect(secondDone).toBe(false); // waiting on the lock, not racing past the cap
      const waiting = await rootDb().query(
        "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and pid = $1",
        [(c2 as unknown as { processID: number }).processID],
      );
      expect(waiting.rows[0].n).toBe(1);
      await c1.query("commit");
      await second;
      expect(await ledgerOf(answerer)).toEqual([row(190, "answer_liked"), row(10, "answer_liked")]);
      expect(await reputationOf(answerer)).toBe(201);
    } finally {
      await c1.end();
      await c2.end();
    }
  });

  it("holds with many parallel voters at the cap boundary", async () => {
    const [asker, answerer] = await users(2);
    const voters = await users(8);
    await credit(answerer, 185, "answer_liked", true);
    const q = await arrangeQuestion(asker);
    const answers = await Promise.all(voters.map(() => arrangeAnswer(answerer, q)));
    const clients = await Promise.all(voters.map(() => newClient()));
    try {
      await Promise.all(voters.map((v, i) => react(v, "like", { answer: answers[i] }, clients[i])));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    const gained = (await ledgerOf(answerer)).slice(1);
    expect(gained.reduce((s, r) => s + r.points, 0)).toBe(15);
    expect(gained.map((r) => r.points)).toEqual([10, 5]);
    expect(await reputationOf(answerer)).toBe(201);
    const { rows } = await rootDb().query<{ n: number }>(
      "select count(*)::int as n from app_public.reactions where answer_id = any($1)",
      [answers],
    );
    expect(rows[0].n).toBe(8); // every vote counted as a reaction; only the points are capped
  });
});

describe("integrity", () => {
  it("keeps every member's total equal to the ledger's sum (app_private.check_reputation)", async () => {
    const { rows } = await rootDb().query("select * from app_private.check_reputation()");
    expect(rows).toEqual([]);
  });

  it("check_reputation reports a total that drifted from the ledger", async () => {
    const [u] = await users(1);
    const found = await asRole({ role: "agora_owner" }, async (c) => {
      await c.query("update app_public.users set reputation = reputation + 5 where id = $1", [u.id]);
      return (await c.query("select user_id, reputation, ledger_sum from app_private.check_reputation() where user_id = $1", [u.id])).rows;
    });
    expect(found).toEqual([{ user_id: u.id, reputation: 6, ledger_sum: 1 }]);
  });

  it("refuses updates, deletes and truncation of the ledger, to the owner and the superuser too (APPND)", async () => {
    const [u] = await users(1);
    for (const role of ["agora_owner", null] as const) {
      const run = (sql: string) =>
        role ? asRole({ role }, (c) => c.query(sql, sql.includes("$1") ? [u.id] : [])) : rootDb().query(sql, sql.includes("$1") ? [u.id] : []);
      expect(await sqlErrorCode(run("update app_public.reputation_events set points = 100 where user_id = $1"))).toBe("APPND");
      expect(await sqlErrorCode(run("delete from app_public.reputation_events where user_id = $1"))).toBe("APPND");
      expect(await sqlErrorCode(run("truncate app_public.reputation_events"))).toBe("APPND");
    }
    expect(await reputationOf(u)).toBe(1);
  });

  it("lets members read only their own ledger, and write none of it", async () => {
    const [a, b] = await users(2);
    const { rows } = await asRole({ role: "authenticated", userId: a.id, sessionId: a.sessionId }, (c) =>
      c.query("select user_id from app_public.reputation_events where user_id = any($1)", [[a.id, b.id]]),
    );
    expect(rows).toEqual([{ user_id: a.id }]);
    const code = await sqlErrorCode(
      asRole({ role: "authenticated", userId: a.id, sessionId: a.sessionId }, (c) =>
        c.query("insert into app_public.reputation_events (user_id, points, reason) values ($1, 100, 'joined')", [a.id]),
      ),
    );
    expect(code).toBe("42501");
  });

  it("erasing an account removes its ledger with it (the one exception to append-only)", async () => {
    // A member row without e-mail addresses (their removal is audited against the member).
    const { rows: made } = await rootDb().query<{ id: string }>(
      "insert into app_public.users (username) values ($1) returning id",
      [`erased_${process.pid}_${Date.now()}`],
    );
    const id = made[0].id;
    const before = await rootDb().query("select count(*)::int as n from app_public.reputation_events where user_id = $1", [id]);
    expect(before.rows[0].n).toBe(1);
    await rootDb().query("delete from app_public.users where id = $1", [id]);
    const { rows } = await rootDb().query("select count(*)::int as n from app_public.reputation_events where user_id = $1", [id]);
    expect(rows[0].n).toBe(0);
  });
});

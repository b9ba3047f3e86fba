/**
 * Notification e-mails end to end: the cause (a GraphQL mutation) enqueues a
 * job, the worker renders text + HTML and delivers to the test run's real
 * SMTP server, with RFC 8058 one-click unsubscribe headers and a signed link
 * that turns the preference off without signing in. A retried job does not
 * send twice; unverified addresses, e-mail preferences off and digest off
 * get no mail.
 */
import { bulkLoad, closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer, ok } from "../helpers/server";
import { createTestUser, type TestUser } from "../helpers/users";
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
const COMMENT = `mutation($postId: UUID!, $body: String!) { createComment(input: { comment: { postId: $postId, body: $body } }) { comment { rowId } } }`;
const SET_DIGEST = `mutation($d: NotificationDigest!) { setNotificationEmailDigest(input: { emailDigest: $d }) { result { emailDigest } } }`;

const arrangePost = (author: TestUser, title: string) =>
  bulkLoad(async (c) =>
    (await c.query<{ id: string }>("insert into app_public.posts (author_id, title, body, status) values ($1, $2, 'Body', 'published') returning id", [author.id, title])).rows[0].id,
  );

/** The comment_on_content notification of `user` about `commentId`, with whether its e-mail job was enqueued. */
async function notificationFor(user: TestUser, commentId: string): Promise<{ id: string; emailed_at: Date | null; queued: boolean }> {
  const { rows } = await rootDb().query(
    `select n.id, n.emailed_at,
            exists (select 1 from graphile_worker._private_jobs j where j.key = 'notification_email:' || n.id) as queued
       from app_public.notifications n where n.recipient_id = $1 and n.comment_id = $2`,
    [user.id, commentId],
  );
  expect(rows).toHaveLength(1);
  return rows[0];
}

const header = (mail: { headerLines: ReadonlyArray<{ key: string; line: string }> }, key: string) =>
  mail.headerLines.find((h) => h.key === key)?.line.replace(/^[^:]+:\s*/, "");

test("a comment mails the post's author once, with a working one-click unsubscribe", async () => {
  const [ana, bo] = await Promise.all([createTestUser(), createTestUser()]);
  const postId = await arrangePost(ana, "Mail me about this");
  const commentId = ok(await gql<{ createComment: { comment: { rowId: string } } }>(bo, COMMENT, { postId, body: "Hello" })).createComment.comment.rowId;
  const notification = await notificationFor(ana, commentId);
  expect(notification.queued).toBe(true);

  await runQueuedJobs();
  const mail = await waitForMail(ana.email, /commented on your contribution/);
  expect(mail.subject).toContain("“Mail me about this”");
  expect(mail.text).toContain(`${bo.username} commented on your contribution “Mail me about this”.`);
  expect(mail.html).toContain("Stop these e-mails");
  const listUnsubscribe = header(mail, "list-unsubscribe")!;
  expect(header(mail, "list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
  const url = /^<(https:\/\/agora\.test\/unsubscribe\?token=[^>]+)>$/.exec(listUnsubscribe)?.[1];
  expect(url).toBeDefined();
  expect(mail.text).toContain(url!);
  expect((await notificationFor(ana, commentId)).emailed_at).not.toBeNull();

  // A retried (or duplicated) job finds the notification already mailed.
  await rootDb().query("select graphile_worker.add_job('send_notification_email', json_build_object('notificationId', $1::uuid))", [notification.id]);
  await runQueuedJobs();
  expect((await mailTo(ana.email)).filter((m) => /commented/.test(m.subject ?? ""))).toHaveLength(1);

  // The link, on this server: GET only asks; a tampered token is refused; POST (RFC 8058) turns the preference off.
  const local = url!.replace("https://agora.test", server.url);
  const pref = () =>
    rootDb().query("select enabled from app_public.notification_preferences where user_id = $1 and type_id = 'comment_on_content' and channel = 'email'", [ana.id]);
  const page = await fetch(local);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<form method="post"');
  expect((await pref()).rows).toEqual([]);
  const tampered = await fetch(local.replace(/.$/, (c) => (c === "0" ? "1" : "0")), { method: "POST", body: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } });
  expect(tampered.status).toBe(400);
  const forOther = await fetch(local.replace(ana.id, bo.id), { method: "POST" });
  expect(forOther.status).toBe(400);
  expect((await pref()).rows).toEqual([]);
  const done = await fetch(local, { method: "POST", body: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } });
  expect(done.status).toBe(200);
  expect((await pref()).rows).toEqual([{ enabled: false }]);

  // Later comments still notify in the app, but enqueue no mail.
  const later = ok(await gql<{ createComment: { comment: { rowId: string } } }>(bo, COMMENT, { postId, body: "Again" })).createComment.comment.rowId;
  expect((await notificationFor(ana, later)).queued).toBe(false);
});

test("no mail to an unverified address, nor with the digest off", async () => {
  const [unverified, off, bo] = await Promise.all([createTestUser({ verified: false }), createTestUser(), createTestUser()]);
  ok(await gql(off, SET_DIGEST, { d: "off" }));
  for (const member of [unverified, off]) {
    const postId = await arrangePost(member, "Quiet post");
    const commentId = ok(await gql<{ createComment: { comment: { rowId: string } } }>(bo, COMMENT, { postId, body: "Hi" })).createComment.comment.rowId;
    expect((await notificationFor(member, commentId)).queued).toBe(false);
  }
  // Even a job enqueued by hand sends nothing to an unverified address.
  const { rows } = await rootDb().query("select id from app_public.notifications where recipient_id = $1", [unverified.id]);
  await rootDb().query("select graphile_worker.add_job('send_notification_email', json_build_object('notificationId', $1::uuid))", [rows[0].id]);
  await runQueuedJobs();
  expect((await mailTo(unverified.email)).filter((m) => /commented/.test(m.subject ?? ""))).toEqual([]);
});

test("a security alert is mailed by default", async () => {
  const ana = await createTestUser();
  ok(await gql(ana, `mutation($old: String!, $new: String!) { changePassword(input: { oldPassword: $old, newPassword: $new }) { clientMutationId } }`, { old: ana.password, new: "Another-Horse-10" }));
  await runQueuedJobs();
  const mail = await waitForMail(ana.email, /Security alert/);
  expect(mail.text).toContain("Your password was changed.");
});

test("an hourly digest batches pending notifications into one mail, once, with an unsubscribe that turns the digest off", async () => {
  const [ana, bo, cy] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
  ok(await gql(ana, SET_DIGEST, { d: "hourly" }));
  const postId = await arrangePost(ana, "Digest me");
  for (const [who, body] of [[bo, "First"], [cy, "Second"]] as const) {
    const commentId = ok(await gql<{ createComment: { comment: { rowId: string } } }>(who, COMMENT, { postId, body })).createComment.comment.rowId;
    expect((await notificationFor(ana, commentId)).queued).toBe(false);
  }
  await rootDb().query("select graphile_worker.add_job('send_notification_digests')");
  await runQueuedJobs();
  const mail = await waitForMail(ana.email, /2 new notifications/);
  expect(mail.text).toContain(`- ${bo.username} commented on your contribution “Digest me”.`);
  expect(mail.text).toContain(`- ${cy.username} commented on your contribution “Digest me”.`);
  expect(mail.html).toContain("<li>");

  // Neither the next cron run nor a retried digest job sends it again.
  await rootDb().query("select graphile_worker.add_job('send_notification_digests')");
  await rootDb().query("select graphile_worker.add_job('send_notification_digest', json_build_object('userId', $1::uuid))", [ana.id]);
  await runQueuedJobs();
  expect((await mailTo(ana.email)).filter((m) => /new notification/.test(m.subject ?? ""))).toHaveLength(1);

  const url = /^<https:\/\/agora\.test(\/unsubscribe\?token=[^>]+)>$/.exec(header(mail, "list-unsubscribe")!)![1];
  const done = await fetch(`${server.url}${url}`, { method: "POST", body: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } });
  expect(done.status).toBe(200);
  const { rows } = await rootDb().query("select email_digest from app_public.notification_settings where user_id = $1", [ana.id]);
  expect(rows).toEqual([{ email_digest: "off" }]);
});

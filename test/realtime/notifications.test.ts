/**
 * The notifications subscription (docs/realtime.md): a notification created by
 * its real cause (a follow, through the API) reaches the recipient live with
 * their unread count; reading and deleting it are announced too; nobody else
 * receives it, and anonymous clients are refused.
 */
import { startTestServer, type TestServer } from "../helpers/server";
import { closeSqlHelpers } from "../helpers/sql";
import { createTestUser, type TestUser } from "../helpers/users";
import { connections, subscribe, until } from "./live";

const NOTIFICATIONS = `subscription { notifications { kind notificationId unreadCount notification { rowId typeId actorId readAt } } }`;

interface NotificationEvent {
  kind: string;
  notificationId: string | null;
  unreadCount: number | null;
  notification: { rowId: string; typeId: string; actorId: string | null; readAt: string | null } | null;
}

jest.setTimeout(120_000);

describe("notifications, live", () => {
  let a: TestServer;
  let b: TestServer;
  let recipient: TestUser, follower: TestUser, bystander: TestUser;

  beforeAll(async () => {
    [a, b] = await Promise.all([startTestServer(), startTestServer()]);
    await Promise.all([a.agora.graphqlSchema(), b.agora.graphqlSchema()]);
    [recipient, follower, bystander] = await Promise.all([createTestUser(), createTestUser(), createTestUser()]);
  });
  afterAll(async () => {
    await disposeAll();
    await Promise.all([a?.stop(), b?.stop()]);
    await closeSqlHelpers();
  });

  const { live, disposeAll } = connections();

  it("delivers a new notification to its recipient (on another instance) with the unread count, then its reading and deletion", async () => {
    const mine = subscribe<NotificationEvent>(live(b, recipient), NOTIFICATIONS);
    const theirs = subscribe<NotificationEvent>(live(b, bystander), NOTIFICATIONS);
    await until(() => b.agora.realtime.hub.notificationSubscriptions(recipient.id) === 1 && b.agora.realtime.hub.notificationSubscriptions(bystander.id) === 1);
    const follow = await a.graphql(
      `mutation ($id: UUID!) { createFollow(input: { follow: { followeeId: $id } }) { clientMutationId } }`,
      { id: recipient.id },
      { token: a.tokenFor(follower) },
    );
    expect(follow.errors).toBeUndefined();
    const created = await mine.next((e) => e.kind === "CREATED");
    expect(created).toMatchObject({
      unreadCount: 1,
      notification: { rowId: created.notificationId, typeId: "new_follower", actorId: follower.id, readAt: null },
    });
    const token = a.tokenFor(recipient);
    expect((await a.graphql(`mutation { markAllNotificationsRead(input: {}) { result } }`, {}, { token })).errors).toBeUndefined();
    const read = await mine.next((e) => e.kind === "UPDATED");
    expect(read).toMatchObject({ notificationId: created.notificationId, unreadCount: 0, notification: { readAt: expect.any(String) } });
    const del = await a.graphql(`mutation ($id: UUID!) { deleteNotificationByRowId(input: { rowId: $id }) { clientMutationId } }`, { id: created.notificationId }, { token });
    expect(del.errors).toBeUndefined();
    expect(await mine.next((e) => e.kind === "DELETED")).toMatchObject({ notificationId: null, notification: null, unreadCount: 0 });
    expect(theirs.events).toEqual([]);
  });

  it("refuses an anonymous client (LOGIN)", async () => {
    const sub = subscribe<NotificationEvent>(live(a), NOTIFICATIONS);
    await sub.ended;
    expect(sub.events).toEqual([]);
    expect(sub.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "LOGIN" }) })]);
  });
});

/**
 * Live subscriptions over graphql-ws: `roomEvents(roomId)` and
 * `notifications` (docs/realtime.md). They do not use PostGraphile's stock
 * subscriptions (which re-run a plan with its SQL per subscriber per event):
 * the realtime hub (src/realtime/hub.ts) decides who may see an event with
 * one query per event per instance and hands each subscriber plain data.
 * Only `NotificationEvent.notification` reads under the subscriber's own
 * row-level security (notifications have one recipient, so that is one query
 * per recipient connection).
 */
import { context, get, lambda, listen, type FieldArgs, type GrafastSubscriber, type Step } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import { renderMarkdown } from "./render-markdown";
import { makeRealtimeDirectPlugin, type ComputedFields, type LivePath } from "./realtime-direct";
import type { RealtimeService } from "./services";

declare global {
  namespace Grafast {
    interface Context {
      /** The live-event source of a WebSocket request (null over HTTP). */
      realtime: ReturnType<RealtimeService["subscriber"]>;
    }
  }
}

/** A live message's HTML: its markdown body rendered (cached by content). */
function liveBodyHtml(body: unknown): string {
  return renderMarkdown((body as string | null) ?? "");
}

/** The live types' fields that are computed rather than read from the event: one rule for Grafast's plans and the direct path. */
export const COMPUTED: ComputedFields = {
  LiveMessage: { bodyHtml: (message) => liveBodyHtml(message.body) },
};

/** The hub's subscriber for this request, as Grafast's listen() takes it. */
const $subscriber = () => context().get("realtime") as unknown as Step<GrafastSubscriber | null>;

function makeRealtimeSchemaPlugin(): GraphileConfig.Plugin {
  return extendSchema((build) => {
    const notifications = build.input.pgRegistry.pgResources.notifications;
    if (!notifications) throw new Error("makeRealtimePlugin: the notifications table is missing from the schema");
    return {
      typeDefs: gql`
        "What happened in a room (docs/realtime.md)."
        enum RoomEventKind {
          MESSAGE_CREATED
          MESSAGE_EDITED
          MESSAGE_DELETED
          "A message's reaction counts changed: message.reactionCounts holds the new counts."
          REACTIONS_CHANGED
          MESSAGE_PINNED
          MESSAGE_UNPINNED
          MEMBER_JOINED
          "userId left by themself. Ends that member's subscriptions to the room."
          MEMBER_LEFT
          "userId was removed by a room admin. Ends that member's subscriptions to the room."
          MEMBER_REMOVED
          "userId's role or mute changed."
          MEMBER_UPDATED
          ROOM_UPDATED
          "The room was deleted; the subscription ends."
          ROOM_DELETED
          "userId is typing, until expiresAt (not stored; no seq)."
          TYPING
          "userId went online or offline (user.isOnline, user.lastSeenAt; no seq)."
          PRESENCE
          "Events may have been missed (the server lost its database connection for a while): refetch the room's history."
          GAP
        }

        "A live event of a chat room."
        type RoomEvent {
          kind: RoomEventKind!
          roomId: UUID!
          "The room's event sequence number: consecutive for each room, so a jump means missed events (refetch). Null for TYPING, PRESENCE, ROOM_DELETED and GAP."
          seq: BigInt
          "The member concerned: the author (message events), the reactor, the member (member events), the typist, the user whose presence changed."
          userId: UUID
          "The message, as it is now (message, reaction and pin events)."
          message: LiveMessage
          "The membership (MEMBER_JOINED, MEMBER_UPDATED)."
          member: LiveRoomMember
          "The member concerned (userId), when their account is active."
          user: LiveUser
          "The room (ROOM_UPDATED)."
          room: LiveRoom
          "TYPING: when the indicator lapses unless renewed."
          expiresAt: Datetime
        }

        "A chat message as delivered live (the same fields as Message)."
        type LiveMessage {
          rowId: UUID!
          roomId: UUID!
          authorId: UUID
          parentId: UUID
          kind: MessageKind!
          body: String!
          "The body rendered from markdown to sanitised HTML."
          bodyHtml: String!
          createdAt: Datetime!
          editedAt: Datetime
          deletedAt: Datetime
          replyCount: Int!
          subjectUserId: UUID
          subjectMessageId: UUID
          systemData: JSON
          author: LiveUser
          "Reaction counts per emoji, most used first."
          reactionCounts: [LiveReactionCount!]!
        }

        "A member as delivered live."
        type LiveUser {
          rowId: UUID!
          username: String!
          displayName: String
          avatarUrl: String
          isOnline: Boolean
          lastSeenAt: Datetime
        }

        "A room membership as delivered live."
        type LiveRoomMember {
          userId: UUID!
          role: RoomRole!
          mutedUntil: Datetime
          joinedAt: Datetime!
        }

        "A room as delivered live."
        type LiveRoom {
          rowId: UUID!
          kind: RoomKind!
          name: String
          description: String
          topic: String
          isArchived: Boolean!
          memberCount: Int!
        }

        "How many members reacted to a message with an emoji."
        type LiveReactionCount {
          emoji: String!
          count: Int!
        }

        enum NotificationEventKind {
          CREATED
          "Read, or more actors aggregated into it."
          UPDATED
          DELETED
          "Events may have been missed: refetch your notifications and unread count."
          GAP
        }

        "A change to your notifications."
        type NotificationEvent {
          kind: NotificationEventKind!
          notificationId: UUID
          "The notification (null once deleted)."
          notification: Notification
          "Your unread notifications now (null for GAP)."
          unreadCount: Int
        }

        extend type Subscription {
          """
          Live events of a room you may read (members; anyone for a public room):
          messages, reactions, pins, members, room changes, typing and presence.
          NOTFD when the room does not exist or you may not read it. Ends when you
          leave or are removed, or the room is deleted; the socket closes when your
          session ends (4102) or your access token expires (4101). docs/realtime.md.
          """
          roomEvents(roomId: UUID!): RoomEvent!
          "Your notifications, live, with your unread count. Signed-in members only (LOGIN)."
          notifications: NotificationEvent!
        }
      `,
      objects: {
        Subscription: {
          plans: {
            roomEvents: {
              subscribePlan(_$root: Step, fieldArgs: FieldArgs) {
                const $topic = lambda(fieldArgs.getRaw("roomId"), (id) => `room:${String(id)}`, true);
                return listen($subscriber(), $topic);
              },
              plan($event: Step) {
                return $event;
              },
            },
            notifications: {
              subscribePlan() {
                return listen($subscriber(), "notifications");
              },
              plan($event: Step) {
                return $event;
              },
            },
          },
        },
        LiveMessage: {
          plans: {
            bodyHtml($message: Step) {
              return lambda(get($message, "body"), liveBodyHtml, true);
            },
          },
        },
        NotificationEvent: {
          plans: {
            notification($event: Step) {
              return notifications.get({ id: get($event, "notificationId") });
            },
          },
        },
      },
    };
  });
}

/**
 * The realtime plugins: the schema above, the per-request event source in
 * the GraphQL context, and the direct path of `roomEvents`
 * (realtime-direct.ts); `onSubscription` learns which way each live
 * subscription went.
 */
export function makeRealtimePlugins(service: RealtimeService, onSubscription?: (path: LivePath) => void): GraphileConfig.Plugin[] {
  const contextPlugin: GraphileConfig.Plugin = {
    name: "RealtimeContextPlugin",
    version: "0.0.0",
    grafast: {
      middleware: {
        prepareArgs(next, { args }) {
          const contextValue = (args.contextValue ??= Object.create(null)) as Partial<Grafast.Context>;
          contextValue.realtime = service.subscriber(args.requestContext?.ws?.socket);
          return next();
        },
      },
    },
  };
  return [makeRealtimeSchemaPlugin(), contextPlugin, makeRealtimeDirectPlugin(COMPUTED, onSubscription)];
}

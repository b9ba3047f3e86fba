-- Enter migration here

-- === realtime ===
-- Live delivery (docs/realtime.md). Triggers on the chat tables, sessions,
-- users and notifications announce small events on ONE pg_notify channel,
-- agora_realtime: {"k": kind, "r": room id, "s": per-room sequence, "i": row id,
-- "u": user id}. Each API process LISTENs once and, per event, runs ONE query
-- (app_private.realtime_room_event) that returns the event's data and which of
-- its connected viewers may see it. Connections are registered in an unlogged
-- table (per-user cap across instances, presence with heartbeat and expiry).
-- Typing indicators are pg_notify only (no rows).

insert into app_private.settings (key, value, description) values
  ('realtime.max_connections_per_user', '10', 'Live WebSocket connections a member may hold across all API instances; the next one is refused (close code 4103)'),
  ('realtime.connection_ttl', '"45 seconds"', 'A registered WebSocket connection whose instance has not renewed its heartbeat for this long is dropped (the instance died): it no longer counts against the cap or keeps its member online'),
  ('realtime.typing_ttl', '6', 'Seconds a typing indicator lasts unless renewed (clients drop it at expiresAt)'),
  ('rate_limit.typing', '{"max": 30, "window": "1 minute"}', 'Typing indicators a member may send per minute (all rooms together)')
on conflict (key) do nothing;

--------------------------------------------------------------------------------
-- per-room event sequence

create table if not exists app_private.room_event_seqs (
  room_id uuid primary key references app_public.rooms(id) on delete cascade,
  seq bigint not null
);
comment on table app_private.room_event_seqs is 'The last event sequence number of each room (RoomEvent.seq): raised by the realtime triggers in the transaction of the change, so numbers follow commit order per room and a client that sees a jump knows it missed events.';

create or replace function app_private.announce_room_event(kind text, room_id uuid, row_id uuid, user_id uuid) returns void
  language plpgsql volatile set search_path = pg_catalog, public as $$
declare
  v_seq bigint;
begin
  -- The room is gone (a cascade from its deletion): nothing to announce; room_deleted says it once.
  if not exists (select 1 from app_public.rooms r where r.id = announce_room_event.room_id) then
    return;
  end if;
  insert into app_private.room_event_seqs as s (room_id, seq) values (announce_room_event.room_id, 1)
  on conflict on constraint room_event_seqs_pkey do update set seq = s.seq + 1
  returning s.seq into v_seq;
  perform pg_notify('agora_realtime',
    json_build_object('k', kind, 'r', room_id, 's', v_seq, 'i', row_id, 'u', user_id)::text);
end;
$$;
comment on function app_private.announce_room_event(text, uuid, uuid, uuid) is 'Raises the room''s event sequence and announces a room event on the agora_realtime channel (delivered at commit). Called by the realtime triggers of the chat tables.';

create or replace function app_public.rooms_event_seq(r app_public.rooms) returns bigint
  language sql stable security definer set search_path = pg_catalog, public as $$
  select coalesce((select s.seq from app_private.room_event_seqs s where s.room_id = r.id), 0)
$$;
comment on function app_public.rooms_event_seq(app_public.rooms) is E'@behavior -resource:aggregate\nThe sequence number of the room''s latest live event (0: none yet). Subscribe to roomEvents first, then read this with the history: events with a seq at or below it are already in what you read (docs/realtime.md). Security definer: the counters live in app_private.';
grant execute on function app_public.rooms_event_seq(app_public.rooms) to anonymous, authenticated;

--------------------------------------------------------------------------------
-- realtime triggers on the chat tables

create or replace function app_private.tg_messages__realtime() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    perform app_private.announce_room_event('message_created', new.room_id, new.id, new.author_id);
  elsif tg_op = 'DELETE' then
    perform app_private.announce_room_event('message_deleted', old.room_id, old.id, old.author_id);
  elsif new.deleted_at is not null and old.deleted_at is null then
    perform app_private.announce_room_event('message_deleted', new.room_id, new.id, new.author_id);
  elsif new.body is distinct from old.body then
    perform app_private.announce_room_event('message_edited', new.room_id, new.id, new.author_id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_messages__realtime() is 'Trigger on messages: announces message_created, message_edited and message_deleted room events (docs/realtime.md). Thread counters changing on a parent announce nothing (the reply''s own event carries parentId). Security definer: writes the room''s event sequence.';
drop trigger if exists _900_realtime on app_public.messages;
create trigger _900_realtime after insert or update or delete on app_public.messages
  for each row execute function app_private.tg_messages__realtime();

create or replace function app_private.tg_message_reactions__realtime() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_row app_public.message_reactions := case when tg_op = 'DELETE' then old else new end;
  v_room uuid := (select m.room_id from app_public.messages m where m.id = v_row.message_id);
begin
  if v_room is not null then
    perform app_private.announce_room_event('reactions_changed', v_room, v_row.message_id, v_row.user_id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_message_reactions__realtime() is 'Trigger on message_reactions: announces reactions_changed (the event carries the message''s new counts). Security definer: writes the room''s event sequence.';
drop trigger if exists _900_realtime on app_public.message_reactions;
create trigger _900_realtime after insert or delete on app_public.message_reactions
  for each row execute function app_private.tg_message_reactions__realtime();

create or replace function app_private.tg_room_pins__realtime() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    perform app_private.announce_room_event('message_pinned', new.room_id, new.message_id, new.pinned_by);
  else
    perform app_private.announce_room_event('message_unpinned', old.room_id, old.message_id, app_public.current_user_id());
  end if;
  return null;
end;
$$;
comment on function app_private.tg_room_pins__realtime() is 'Trigger on room_pins: announces message_pinned and message_unpinned. Security definer: writes the room''s event sequence.';
drop trigger if exists _900_realtime on app_public.room_pins;
create trigger _900_realtime after insert or delete on app_public.room_pins
  for each row execute function app_private.tg_room_pins__realtime();

create or replace function app_private.tg_room_members__realtime() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_me uuid := app_public.current_user_id();
begin
  if tg_op = 'INSERT' then
    perform app_private.announce_room_event('member_joined', new.room_id, null, new.user_id);
  elsif tg_op = 'DELETE' then
    perform app_private.announce_room_event(
      case when v_me is null or v_me = old.user_id then 'member_left' else 'member_removed' end, old.room_id, null, old.user_id);
  elsif new.role is distinct from old.role or new.muted_until is distinct from old.muted_until then
    perform app_private.announce_room_event('member_updated', new.room_id, null, new.user_id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_room_members__realtime() is 'Trigger on room_members: announces member_joined, member_left (by themself), member_removed (by someone else) and member_updated (role or mute changed; read positions announce nothing). Security definer: writes the room''s event sequence.';
-- _505: before _510_system_message, so that a removed member's last event is their removal, not the
-- system message of it (which they may no longer read in a private room).
drop trigger if exists _900_realtime on app_public.room_members;
drop trigger if exists _505_realtime on app_public.room_members;
create trigger _505_realtime after insert or update or delete on app_public.room_members
  for each row execute function app_private.tg_room_members__realtime();

create or replace function app_private.tg_rooms__realtime() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'DELETE' then
    -- No sequence: the room and its counter are gone.
    perform pg_notify('agora_realtime', json_build_object('k', 'room_deleted', 'r', old.id)::text);
  elsif (new.name, new.description, new.guidelines, new.topic, new.is_archived)
        is distinct from (old.name, old.description, old.guidelines, old.topic, old.is_archived) then
    perform app_private.announce_room_event('room_updated', new.id, new.id, app_public.current_user_id());
  end if;
  return null;
end;
$$;
comment on function app_private.tg_rooms__realtime() is 'Trigger on rooms: announces room_updated (name, description, guidelines, topic, archived) and room_deleted (which ends every subscription to the room). Security definer: writes the room''s event sequence.';
drop trigger if exists _900_realtime on app_public.rooms;
create trigger _900_realtime after update or delete on app_public.rooms
  for each row execute function app_private.tg_rooms__realtime();

--------------------------------------------------------------------------------
-- rules that end delivery: sessions ended, accounts deactivated; notifications

create or replace function app_private.tg_sessions__realtime() returns trigger
  language plpgsql set search_path = pg_catalog, public as $$
begin
  perform pg_notify('agora_realtime', json_build_object('k', 'session_ended', 'i', new.id, 'u', new.user_id)::text);
  return null;
end;
$$;
comment on function app_private.tg_sessions__realtime() is 'Trigger on sessions: a revoked session is announced so that every API instance closes its WebSockets at once (close code 4102).';
drop trigger if exists _900_realtime on app_private.sessions;
create trigger _900_realtime after update of revoked_at on app_private.sessions
  for each row when (new.revoked_at is not null and old.revoked_at is null)
  execute function app_private.tg_sessions__realtime();

create or replace function app_private.tg_users__realtime() returns trigger
  language plpgsql set search_path = pg_catalog, public as $$
begin
  perform pg_notify('agora_realtime', json_build_object('k', 'user_deactivated', 'u', new.id)::text);
  return null;
end;
$$;
comment on function app_private.tg_users__realtime() is 'Trigger on users: a deactivated account is announced so that every API instance closes its WebSockets at once (close code 4102).';
drop trigger if exists _910_realtime on app_public.users;
create trigger _910_realtime after update of is_active on app_public.users
  for each row when (old.is_active and not new.is_active)
  execute function app_private.tg_users__realtime();

create or replace function app_private.tg_notifications__realtime() returns trigger
  language plpgsql set search_path = pg_catalog, public as $$
begin
  if tg_op = 'DELETE' then
    perform pg_notify('agora_realtime', json_build_object('k', 'notification_deleted', 'i', old.id, 'u', old.recipient_id)::text);
  elsif new.is_in_app then
    perform pg_notify('agora_realtime', json_build_object(
      'k', case when tg_op = 'INSERT' then 'notification_created' else 'notification_updated' end,
      'i', new.id, 'u', new.recipient_id)::text);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_notifications__realtime() is 'Trigger on notifications: announces in-app notifications created, updated (read, more actors) and deleted on the agora_realtime channel, for the notifications subscription (docs/realtime.md).';
drop trigger if exists _510_realtime on app_public.notifications;
create trigger _510_realtime after insert or delete or update of read_at, actor_count, last_actor_ids on app_public.notifications
  for each row execute function app_private.tg_notifications__realtime();

--------------------------------------------------------------------------------
-- one query per event: its data and which viewers may see it

create or replace function app_private.realtime_viewers_live(user_ids uuid[], session_ids uuid[])
  returns table (ord int, user_id uuid, live boolean)
  language sql stable set search_path = pg_catalog, public as $$
  select t.ord::int, t.user_id,
         t.user_id is null -- an anonymous viewer
         or exists (select 1 from app_private.sessions s join app_public.users u on u.id = s.user_id and u.is_active
                     where s.id = t.session_id and s.user_id = t.user_id and s.revoked_at is null and s.expires_at > now())
    from unnest(user_ids, session_ids) with ordinality as t(user_id, session_id, ord)
$$;
comment on function app_private.realtime_viewers_live(uuid[], uuid[]) is 'For parallel arrays of viewers (user id and session id; both null for an anonymous viewer): whether each viewer''s session is live, as app_public.current_session_id() decides it for a request. Used by realtime_room_event.';

create or replace function app_private.realtime_room_event(
  event_kind text, event_room_id uuid, event_row_id uuid, event_user_id uuid, viewer_ids uuid[], session_ids uuid[],
  out payload jsonb, out deliver int[], out ended int[]
)
  language sql stable set search_path = pg_catalog, public as $$
  with room as (
    select r.* from app_public.rooms r where r.id = event_room_id
  ), viewer as (
    -- The room's select policy (app_hidden.room_readable) for each viewer: public, or a member.
    select v.ord, v.user_id, v.live,
           v.live and exists (select 1 from room where room.kind = 'public'
                                 or exists (select 1 from app_public.room_members m
                                             where m.room_id = room.id and m.user_id = v.user_id)) as readable,
           -- The messages select policy: messages (and typing, presence) of members the viewer blocked are hidden.
           v.user_id is not null and event_user_id is not null
             and exists (select 1 from app_public.user_blocks b
                          where b.blocker_id = v.user_id and b.blocked_id = event_user_id) as blocked
      from app_private.realtime_viewers_live(viewer_ids, session_ids) v
  ), message as (
    select jsonb_build_object(
             'rowId', m.id, 'roomId', m.room_id, 'authorId', m.author_id, 'parentId', m.parent_id, 'kind', m.kind,
             'body', m.body, 'createdAt', m.created_at, 'editedAt', m.edited_at, 'deletedAt', m.deleted_at,
             'replyCount', m.reply_count, 'subjectUserId', m.subject_user_id, 'subjectMessageId', m.subject_message_id,
             'systemData', m.system_data,
             'author', (select jsonb_build_object('rowId', u.id, 'username', u.username, 'displayName', u.display_name, 'avatarUrl', u.avatar_url)
                          from app_public.users u where u.id = m.author_id and u.is_active),
             'reactionCounts', coalesce((select jsonb_agg(jsonb_build_object('emoji', c.emoji, 'count', c.count) order by c.count desc, c.emoji)
                                           from app_public.message_reaction_counts c where c.message_id = m.id), '[]'::jsonb)) as data
      from app_public.messages m
     where event_kind in ('message_created', 'message_edited', 'message_deleted', 'reactions_changed', 'message_pinned', 'message_unpinned')
       and m.id = event_row_id and m.room_id = event_room_id
  ), member as (
    select jsonb_build_object('userId', m.user_id, 'role', m.role, 'mutedUntil', m.muted_until, 'joinedAt', m.joined_at) as data
      from app_public.room_members m
     where event_kind in ('member_joined', 'member_updated')
       and m.room_id = event_room_id and m.user_id = event_user_id
  ), person as (
    select jsonb_build_object('rowId', u.id, 'username', u.username, 'displayName', u.display_name, 'avatarUrl', u.avatar_url,
                              'isOnline', u.is_online, 'lastSeenAt', u.last_seen_at) as data
      from app_public.users u
     where u.id = event_user_id and u.is_active
  )
  select jsonb_strip_nulls(jsonb_build_object(
           'message', (select data from message),
           'member', (select data from member),
           'user', (select data from person),
           'room', (select jsonb_build_object('rowId', r.id, 'kind', r.kind, 'name', r.name, 'description', r.description,
                                              'topic', r.topic, 'isArchived', r.is_archived, 'memberCount', r.member_count)
                      from room r where event_kind = 'room_updated'))),
         coalesce((select array_agg(v.ord order by v.ord) from viewer v
                    where (v.readable
                           -- The member who left or was removed is told, last (their subscription then ends).
                           or (event_kind in ('member_left', 'member_removed') and v.user_id = event_user_id
                               and v.live))
                      and not (v.blocked and event_kind in ('message_created', 'message_edited', 'message_deleted', 'reactions_changed',
                                                      'typing', 'presence'))
                      -- A message hidden from the viewer by a block stays hidden whoever pins or reacts to it.
                      and not (event_kind in ('reactions_changed', 'message_pinned', 'message_unpinned')
                               and exists (select 1 from app_public.messages m join app_public.user_blocks b
                                             on b.blocker_id = v.user_id and b.blocked_id = m.author_id
                                            where m.id = event_row_id))
                      -- The typist does not see their own indicator.
                      and not (event_kind = 'typing' and v.user_id = event_user_id)), '{}'),
         coalesce((select array_agg(v.ord order by v.ord) from viewer v where not v.readable), '{}')
$$;
comment on function app_private.realtime_room_event(text, uuid, uuid, uuid, uuid[], uuid[]) is
'The one query an API instance runs per room event, whatever the number of its subscribers (docs/realtime.md): the event''s data (the message with its author and reaction counts, the member, the user, the room) and, for the instance''s viewers of the room (parallel arrays of user and session ids; null for anonymous), which may see it (deliver) and which may no longer read the room at all (ended: session revoked, removed from a private room, room deleted). It states the select policies of rooms, room_members and messages for many viewers at once; test/realtime/audience.test.ts checks it against those policies. Runs as the owner on the realtime connection.';

create or replace function app_private.realtime_room_access(room_id uuid, user_id uuid, session_id uuid) returns boolean
  language sql stable set search_path = pg_catalog, public as $$
  select coalesce((select not (e.ended @> array[1])
                     from app_private.realtime_room_event('subscribe', room_id, null, null, array[user_id], array[session_id]) e
                    where exists (select 1 from app_public.rooms r where r.id = room_id)), false)
$$;
comment on function app_private.realtime_room_access(uuid, uuid, uuid) is 'Whether a viewer (user and session; nulls for anonymous) may subscribe to a room''s events: the room exists and they may read it. The same rule as realtime_room_event.';

create or replace function app_private.realtime_notification_event(notification_id uuid, user_id uuid, session_id uuid) returns jsonb
  language sql stable set search_path = pg_catalog, public as $$
  select case when exists (select 1 from app_private.realtime_viewers_live(array[user_id], array[session_id]) v where v.live) then
    jsonb_build_object(
      'notificationId', (select n.id from app_public.notifications n
                          where n.id = notification_id and n.recipient_id = realtime_notification_event.user_id and n.is_in_app),
      -- The rule of app_public.current_user_unread_notification_count(), for this member.
      'unreadCount', (select count(*)::int from app_public.notifications n
                       where n.recipient_id = realtime_notification_event.user_id and n.read_at is null and n.is_in_app))
  end
$$;
comment on function app_private.realtime_notification_event(uuid, uuid, uuid) is 'For the notifications subscription: the notification (if it is still the member''s, in-app) and the member''s unread count, once per event for all of the member''s connections on an instance; null when the session is no longer live.';

--------------------------------------------------------------------------------
-- connections, the per-user cap, presence

create unlogged table if not exists app_private.realtime_connections (
  id uuid primary key,
  user_id uuid not null references app_public.users(id) on delete cascade,
  session_id uuid not null,
  instance_id uuid not null,
  connected_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);
comment on table app_private.realtime_connections is 'Live signed-in WebSocket connections of every API instance (unlogged: after a database crash the instances re-register theirs with their next heartbeat). A row whose heartbeat is older than realtime.connection_ttl belongs to a dead instance and is dropped. Counts for the per-user cap and for presence.';
create index if not exists realtime_connections_user_idx on app_private.realtime_connections (user_id);
create index if not exists realtime_connections_heartbeat_idx on app_private.realtime_connections (heartbeat_at);

create or replace function app_private.realtime_presence_changed(user_id uuid) returns void
  language plpgsql volatile set search_path = pg_catalog, public as $$
declare
  v_online boolean := exists (select 1 from app_private.realtime_connections c
                               where c.user_id = realtime_presence_changed.user_id
                                 and c.heartbeat_at > now() - (app_private.setting('realtime.connection_ttl') #>> '{}')::interval);
begin
  update app_public.users u
     set is_online = v_online, last_seen_at = case when v_online then u.last_seen_at else now() end
   where u.id = realtime_presence_changed.user_id and u.is_online is distinct from v_online;
  if found then
    perform pg_notify('agora_realtime', json_build_object('k', 'presence', 'u', user_id)::text);
  end if;
end;
$$;
comment on function app_private.realtime_presence_changed(uuid) is 'After a member''s connections changed: sets users.is_online (any live connection on any instance) and, going offline, last_seen_at; announces a presence event when it changed. The caller holds the member''s advisory lock.';

create or replace function app_private.realtime_connect(connection_id uuid, user_id uuid, session_id uuid, instance_id uuid) returns text
  language plpgsql volatile set search_path = pg_catalog, public as $$
declare
  v_ttl interval := (app_private.setting('realtime.connection_ttl') #>> '{}')::interval;
  v_max int := (app_private.setting('realtime.max_connections_per_user'))::int;
begin
  if not exists (select 1 from app_private.realtime_viewers_live(array[user_id], array[session_id]) v where v.live) then
    return 'session';
  end if;
  -- One member's connects and disconnects, on any instance, in turn.
  perform pg_advisory_xact_lock(hashtextextended('realtime_connections:' || user_id::text, 0));
  delete from app_private.realtime_connections c where c.user_id = realtime_connect.user_id and c.heartbeat_at <= now() - v_ttl;
  if (select count(*) from app_private.realtime_connections c where c.user_id = realtime_connect.user_id) >= v_max then
    return 'cap';
  end if;
  insert into app_private.realtime_connections (id, user_id, session_id, instance_id)
  values (connection_id, user_id, session_id, instance_id)
  on conflict (id) do update set heartbeat_at = now();
  perform app_private.realtime_presence_changed(user_id);
  return 'ok';
end;
$$;
comment on function app_private.realtime_connect(uuid, uuid, uuid, uuid) is 'Registers a signed-in WebSocket connection: ''session'' if the session is not live, ''cap'' if the member already holds realtime.max_connections_per_user live connections on all instances together, else ''ok'' (and the member is online).';

create or replace function app_private.realtime_disconnect(connection_id uuid) returns void
  language plpgsql volatile set search_path = pg_catalog, public as $$
declare
  v_user uuid := (select c.user_id from app_private.realtime_connections c where c.id = connection_id);
begin
  if v_user is null then
    return;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('realtime_connections:' || v_user::text, 0));
  delete from app_private.realtime_connections c where c.id = connection_id;
  perform app_private.realtime_presence_changed(v_user);
end;
$$;
comment on function app_private.realtime_disconnect(uuid) is 'Unregisters a closed WebSocket connection; the member goes offline (last_seen_at) when it was their last live one on any instance.';

create or replace function app_private.realtime_heartbeat(instance_id uuid, connection_ids uuid[], user_ids uuid[], session_ids uuid[]) returns int
  language plpgsql volatile set search_path = pg_catalog, public as $$
declare
  v_ttl interval := (app_private.setting('realtime.connection_ttl') #>> '{}')::interval;
  v_user uuid;
  v_swept int := 0;
begin
  -- This instance's connections are alive (re-registered if a crash emptied the unlogged table).
  insert into app_private.realtime_connections as c (id, user_id, session_id, instance_id)
  select t.id, t.user_id, t.session_id, realtime_heartbeat.instance_id
    from unnest(connection_ids, user_ids, session_ids) as t(id, user_id, session_id)
    join app_public.users u on u.id = t.user_id
  on conflict (id) do update set heartbeat_at = now();
  -- Connections of dead instances expire: their members go offline unless connected elsewhere.
  for v_user in
    with gone as (delete from app_private.realtime_connections c where c.heartbeat_at <= now() - v_ttl returning c.user_id)
    select distinct g.user_id from gone g order by g.user_id
  loop
    v_swept := v_swept + 1;
    perform pg_advisory_xact_lock(hashtextextended('realtime_connections:' || v_user::text, 0));
    perform app_private.realtime_presence_changed(v_user);
  end loop;
  return v_swept;
end;
$$;
comment on function app_private.realtime_heartbeat(uuid, uuid[], uuid[], uuid[]) is 'Run by every API instance every few seconds: renews its connections'' heartbeats, drops connections whose instance stopped renewing them (realtime.connection_ttl) and updates those members'' presence. Returns how many members were swept.';

--------------------------------------------------------------------------------
-- typing indicators: announced, never stored

create or replace function app_public.send_typing_indicator(room_id uuid) returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_me uuid := app_public.current_user_id();
begin
  if v_me is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  if app_hidden.room_role(room_id) is null then
    raise exception 'You are not a member of that room' using errcode = 'NOTFD';
  end if;
  perform app_private.rate_limit('typing', v_me::text);
  perform pg_notify('agora_realtime', json_build_object('k', 'typing', 'r', room_id, 'u', v_me,
    'x', (app_private.setting('realtime.typing_ttl'))::int)::text);
  return true;
end;
$$;
comment on function app_public.send_typing_indicator(uuid) is 'Tells the room''s other members, live, that you are typing (a TYPING room event that expires by itself after the realtime.typing_ttl setting; send it again every few seconds while typing). Not stored. Members only (NOTFD); rate limited per member (RLIMT). Security definer: the rate limiter lives in app_private.';
grant execute on function app_public.send_typing_indicator(uuid) to authenticated;

create or replace function app_private.realtime_instance_stopped(instance_id uuid) returns void
  language plpgsql volatile set search_path = pg_catalog, public as $$
declare
  v_user uuid;
begin
  for v_user in
    with gone as (delete from app_private.realtime_connections c where c.instance_id = realtime_instance_stopped.instance_id returning c.user_id)
    select distinct g.user_id from gone g order by g.user_id
  loop
    perform pg_advisory_xact_lock(hashtextextended('realtime_connections:' || v_user::text, 0));
    perform app_private.realtime_presence_changed(v_user);
  end loop;
end;
$$;
comment on function app_private.realtime_instance_stopped(uuid) is 'An API instance shutting down unregisters all its connections at once; their members go offline unless connected elsewhere.';

-- Enter migration here

--! split: 1310-chat-link-previews.sql
-- === chat: link previews ===
-- URLs in a message are previewed by the fetch_link_preview job (src/tasks/fetch_link_preview.ts), enqueued here in
-- the message's own transaction. One link_previews row per normalised URL, shared by every message that names it and
-- refreshed after the chat.link_preview_ttl setting; message_link_previews relates messages to them. Sending never
-- waits for a fetch. See docs/chat.md § Link previews.

insert into app_private.settings (key, value, description) values
  ('chat.link_preview_ttl', '"24 hours"', 'How long a fetched link preview is reused before a message naming the URL fetches it again'),
  ('chat.link_preview_max_urls', '5', 'How many distinct URLs of one chat message get a preview'),
  ('chat.link_preview_fetch', '{"maxBytes": 262144, "timeoutMs": 5000, "maxRedirects": 3}',
   'The link preview fetcher''s limits: bytes of body read, total time of a fetch (all hops), redirects followed'),
  ('chat.link_preview_allowed_cidrs', '[]',
   'Address ranges the link preview fetcher may reach although they are private, loopback, link-local, CGNAT, multicast or unspecified (e.g. ["10.1.0.0/16"] for an intranet). Empty: none.')
on conflict (key) do nothing;

drop table if exists app_public.message_link_previews cascade;
drop table if exists app_public.link_previews cascade;

create or replace function app_private.in_bulk_load() returns boolean
  language sql stable set search_path = pg_catalog, public as $$
  select coalesce(current_setting('agora.bulk_load', true) = 'on', false) and app_public.current_user_id() is null
$$;
comment on function app_private.in_bulk_load() is 'True inside a bulk load outside a request (seeds, test fixtures: agora.bulk_load on, nobody signed in): chat skips its side effects (link preview jobs, the welcome bot, notifications) there.';

create or replace function app_private.normalise_url(url text) returns text
  language sql immutable set search_path = pg_catalog, public as $$
  -- scheme and host lower-cased, the default port and the fragment dropped, an empty path made "/".
  -- Null for anything but http(s), for credentials in the URL and past 2048 characters.
  select case when p[3] is null or p[2] like '%@%' or char_length(url) > 2048 then null
              else lower(p[1]) || '://' || regexp_replace(lower(p[2]),
                     case lower(p[1]) when 'http' then ':80$' else ':443$' end, '')
                   || case when p[3] = '' or left(p[3], 1) = '?' then '/' else '' end || p[3]
         end
    from regexp_match(url, '^(https?)://([^/?#\s]+)([^#\s]*)', 'i') as p
$$;
comment on function app_private.normalise_url(text) is 'The key a link preview is cached under: scheme and host lower-cased, default port and fragment dropped, empty path made "/". Null for non-http(s) URLs, URLs with credentials and URLs over 2048 characters.';

create table app_public.link_previews (
  url text primary key,
  status text not null default 'pending',
  title text,
  description text,
  image_url text,
  site_name text,
  failure text,
  fetched_at timestamptz,
  created_at timestamptz not null default now(),
  constraint link_preview_status check (status in ('pending', 'ready', 'failed')),
  constraint link_preview_failure check (failure is null or failure in
    ('forbidden_address', 'unsupported_url', 'too_many_redirects', 'timeout', 'not_html', 'http_error', 'network')),
  constraint link_preview_lengths check (char_length(url) <= 2048 and char_length(title) <= 300
    and char_length(description) <= 1000 and char_length(image_url) <= 2048 and char_length(site_name) <= 200)
);
comment on table app_public.link_previews is '@behavior -insert -update -delete
The preview of a URL named in chat messages (title, description, image and site name from Open Graph or <title>), fetched by a background job and shared by every message naming the URL. Readable where one of those messages is readable.';
comment on column app_public.link_previews.url is 'The normalised URL (scheme and host lower-case, no fragment, no default port).';
comment on column app_public.link_previews.status is 'pending (not fetched yet), ready, or failed (see failure).';
comment on column app_public.link_previews.title is 'og:title, else the page''s <title>.';
comment on column app_public.link_previews.description is 'og:description, else the description meta tag.';
comment on column app_public.link_previews.image_url is 'og:image, made absolute (http or https only). Not fetched by the server.';
comment on column app_public.link_previews.site_name is 'og:site_name.';
comment on column app_public.link_previews.failure is 'Why there is no preview: forbidden_address (private, loopback, link-local, CGNAT, multicast or unspecified, also after a redirect), unsupported_url, too_many_redirects, timeout, not_html, http_error, network.';
comment on column app_public.link_previews.fetched_at is 'When it was last fetched; reused until the chat.link_preview_ttl setting has passed.';
comment on column app_public.link_previews.created_at is 'When a message first named the URL.';

create table app_public.message_link_previews (
  message_id uuid not null references app_public.messages(id) on delete cascade,
  url text not null references app_public.link_previews(url) on delete cascade,
  position smallint not null,
  constraint message_link_previews_pkey primary key (message_id, position),
  constraint message_link_previews_url_key unique (message_id, url)
);
alter table app_public.message_link_previews enable row level security;
create policy select_readable on app_public.message_link_previews for select
  using (exists (select 1 from app_public.messages m where m.id = message_id));
grant select on app_public.message_link_previews to anonymous, authenticated;
comment on table app_public.message_link_previews is '@behavior -insert -update -delete
Which link previews a chat message shows, in the order its URLs appear. Written by the database when the message is sent or edited; readable where the message is readable.';
comment on column app_public.message_link_previews.message_id is 'The message.';
comment on column app_public.message_link_previews.url is 'The normalised URL: its preview.';
comment on column app_public.message_link_previews.position is 'The URL''s place among the message''s URLs (order of appearance, 1 first; the numbers of repeated or refused URLs are skipped): the default order.';
create index message_link_previews_url_idx on app_public.message_link_previews (url);

-- (link_previews, continued: its policy needs message_link_previews)
alter table app_public.link_previews enable row level security;
create policy select_linked_readable on app_public.link_previews for select
  using (exists (select 1 from app_public.message_link_previews ml where ml.url = link_previews.url));
grant select on app_public.link_previews to anonymous, authenticated;

create or replace function app_private.tg_messages__link_previews() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_ttl interval := (app_private.setting('chat.link_preview_ttl') #>> '{}')::interval;
  v_max int := (app_private.setting('chat.link_preview_max_urls'))::int;
  v_url record;
  v_preview app_public.link_previews;
begin
  if new.kind <> 'text' or app_private.in_bulk_load() then
    return null;
  end if;
  if tg_op = 'UPDATE' then
    delete from app_public.message_link_previews where message_id = new.id;
  end if;
  if new.deleted_at is not null then
    return null;
  end if;
  for v_url in
    select u.url, min(u.n) as position
      from (select app_private.normalise_url(regexp_replace(t[1], '[.,;:!?''*]+$', '')) as url, n
              from regexp_matches(new.body, '(https?://[^\s<>"`)\]]+)', 'gi') with ordinality as x(t, n)) u
     where u.url is not null
     group by u.url
     order by 2
     limit v_max
  loop
    insert into app_public.link_previews (url) values (v_url.url) on conflict (url) do nothing
    returning * into v_preview;
    if v_preview.url is null then
      select * into v_preview from app_public.link_previews p where p.url = v_url.url;
      if v_preview.status <> 'pending' and v_preview.fetched_at < now() - v_ttl then
        v_preview.url := null; -- stale: fetch again (the old preview shows meanwhile)
      end if;
    else
      v_preview.url := null; -- new: fetch it
    end if;
    if v_preview.url is null then
      perform app_private.add_job('fetch_link_preview', json_build_object('url', v_url.url),
                                  max_attempts => 3, job_key => 'link_preview:' || md5(v_url.url));
    end if;
    insert into app_public.message_link_previews (message_id, url, position) values (new.id, v_url.url, v_url.position);
    v_preview := null;
  end loop;
  return null;
end;
$$;
comment on function app_private.tg_messages__link_previews() is 'Trigger on messages: relates a sent or edited message to the previews of its URLs (at most chat.link_preview_max_urls, normalised) and enqueues fetch_link_preview for a URL never fetched or fetched longer ago than chat.link_preview_ttl (one job per URL: its job key). A deleted message loses its previews. Security definer: writes maintained rows and enqueues jobs.';
drop trigger if exists _600_link_previews on app_public.messages;
create trigger _600_link_previews after insert or update of body, deleted_at on app_public.messages
  for each row execute function app_private.tg_messages__link_previews();

create or replace function app_private.save_link_preview(url text, status text, title text, description text,
    image_url text, site_name text, failure text) returns void
  language sql volatile set search_path = pg_catalog, public as $$
  update app_public.link_previews p
     set status = save_link_preview.status, title = save_link_preview.title, description = save_link_preview.description,
         image_url = save_link_preview.image_url, site_name = save_link_preview.site_name,
         failure = save_link_preview.failure, fetched_at = now()
   where p.url = save_link_preview.url
$$;
comment on function app_private.save_link_preview(text, text, text, text, text, text, text) is 'Records the outcome of a fetch_link_preview job for a URL (ready with its fields, or failed with the reason).';

--! split: 1320-chat-welcome-bot.sql
-- === chat: the welcome bot ===
-- A bot account (no password, no e-mail: it cannot sign in; made at its first greeting) greets a member in the room of their first-ever join
-- with the chat.welcome_text setting, as a typed `welcome` message. app_private.welcomed_members remembers who was
-- greeted, so leaving and joining again, or joining a second room, greets nobody.

alter type app_public.message_kind add value if not exists 'welcome';
comment on type app_public.message_kind is 'text: written by a member; the others are system messages written by the database (join, leave, remove: subjectUserId; rename: systemData {oldName, newName}; pin: subjectMessageId; welcome: the welcome bot''s greeting, body the chat.welcome_text setting, subjectUserId the member greeted), typed so clients can localise them.';

insert into app_private.settings (key, value, description) values
  ('chat.welcome_text', '"Welcome to Agora! Say hello, read the room''s guidelines, and mention people with @username."',
   'What the welcome bot says (markdown) to a member in the room of their first-ever join. Empty: the bot is silent.')
on conflict (key) do nothing;

create table if not exists app_private.bot_accounts (
  kind text primary key,
  user_id uuid not null unique references app_public.users(id) on delete cascade,
  constraint bot_account_kind check (kind in ('welcome'))
);
comment on table app_private.bot_accounts is 'The platform''s bot accounts (kind welcome: the chat welcome bot, made by app_private.welcome_bot_id at its first greeting). They have no password and no e-mail address, so nobody can sign in as them.';

create or replace function app_private.welcome_bot_id() returns uuid
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_id uuid;
begin
  select b.user_id into v_id from app_private.bot_accounts b where b.kind = 'welcome';
  if v_id is null then
    -- Made at its first greeting, not by the migration: a fresh database has no members (the seed relies on it),
    -- and a seed that empties the users makes it again. Serialised, so two first greetings make one bot.
    perform pg_advisory_xact_lock(hashtextextended('app_private.welcome_bot_id', 0));
    select b.user_id into v_id from app_private.bot_accounts b where b.kind = 'welcome';
    if v_id is null then
      insert into app_public.users (username, display_name, bio)
      values (case when exists (select 1 from app_public.users u where u.username = 'agora-bot')
                   then 'agora-bot-' || left(md5(random()::text), 8) else 'agora-bot' end,
              'Agora Bot', 'I welcome new members to chat rooms.')
      returning id into v_id;
      insert into app_private.bot_accounts (kind, user_id) values ('welcome', v_id);
    end if;
  end if;
  return v_id;
end;
$$;
comment on function app_private.welcome_bot_id() is 'The welcome bot''s user id, creating the account (username agora-bot, no password, no e-mail address: nobody can sign in as it) the first time it is needed. Security definer: writes users and app_private.';

create table if not exists app_private.welcomed_members (
  user_id uuid primary key references app_public.users(id) on delete cascade,
  room_id uuid references app_public.rooms(id) on delete set null,
  welcomed_at timestamptz not null default now()
);
comment on table app_private.welcomed_members is 'Members the welcome bot has greeted (or who were in rooms before it existed): a member is greeted once, at their first-ever room join.';
create index if not exists welcomed_members_room_idx on app_private.welcomed_members (room_id);
insert into app_private.welcomed_members (user_id, room_id)
select distinct on (m.user_id) m.user_id, m.room_id from app_public.room_members m order by m.user_id, m.joined_at
on conflict (user_id) do nothing;

create or replace function app_private.tg_room_members__system_message() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_me uuid := app_public.current_user_id();
  v_row app_public.room_members;
  v_text text;
begin
  if tg_op = 'INSERT' then
    v_row := new;
  else
    v_row := old;
  end if;
  if not exists (select 1 from app_public.rooms r where r.id = v_row.room_id and r.kind <> 'direct') then
    return null;
  end if;
  insert into app_public.messages (room_id, author_id, kind, subject_user_id)
  values (v_row.room_id, coalesce(v_me, v_row.user_id),
          case when tg_op = 'INSERT' then 'join'
               when v_me is null or v_me = v_row.user_id then 'leave'
               else 'remove' end::app_public.message_kind,
          v_row.user_id);
  -- The welcome bot: the member's first-ever join. A bulk load (a seed) records the join but greets nobody.
  if tg_op = 'INSERT' then
    insert into app_private.welcomed_members (user_id, room_id) values (new.user_id, new.room_id)
    on conflict (user_id) do nothing;
    if found and not app_private.in_bulk_load() then
      v_text := app_private.setting('chat.welcome_text') #>> '{}';
      if coalesce(v_text, '') <> '' then
        insert into app_public.messages (room_id, author_id, kind, subject_user_id, body)
        values (new.room_id, app_private.welcome_bot_id(), 'welcome', new.user_id, left(v_text, 4000));
      end if;
    end if;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_room_members__system_message() is 'Trigger on room_members: posts a join, leave or remove system message in public and private rooms, and the welcome bot''s greeting (kind welcome, the chat.welcome_text setting) at a member''s first-ever join. Security definer: system messages are written by the database only.';

--! split: 1330-chat-read-receipts.sql
-- === chat: read receipts ===
-- In a direct room each member's read position is a read receipt: readBy on a message lists the other member once
-- they have read up to it. Other rooms have no receipts (an empty list), as in Slack and Mattermost channels.

create or replace function app_public.messages_read_by(m app_public.messages) returns setof app_public.users
  language sql stable set search_path = pg_catalog, public as $$
  select u.* from app_public.rooms r
    join app_public.room_members rm on rm.room_id = r.id
    join app_public.users u on u.id = rm.user_id
   where r.id = m.room_id and r.kind = 'direct'
     and rm.user_id is distinct from m.author_id
     and rm.last_read_at is not null
     and (rm.last_read_at, rm.last_read_message_id) >= (m.created_at, m.id)
$$;
comment on function app_public.messages_read_by(app_public.messages) is '@behavior -filter -order
Read receipts: in a direct room, the other member once they have read up to this message (their read position is at it or later). Empty in other rooms.';
grant execute on function app_public.messages_read_by(app_public.messages) to anonymous, authenticated;

--! split: 1340-chat-notifications.sql
-- === chat: notifications and blocks ===
-- A mention of a member in a chat message notifies them (type mention); a direct message notifies the other member
-- (type direct_message), one notification per conversation burst: while they have an unread direct_message
-- notification of the room, later messages update it. Both go through app_private.notify, whose rules (not the
-- actor, not across a block, the member's preferences) apply. detail: {"roomId", "messageId"} (the burst's first
-- message), "lastMessageId" and "messageCount" for direct messages.

create or replace function app_private.notification_blocked(recipient_id uuid, actor_id uuid) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select exists (select 1 from app_public.user_blocks b
                  where (b.blocker_id = notification_blocked.recipient_id and b.blocked_id = notification_blocked.actor_id)
                     or (b.blocker_id = notification_blocked.actor_id and b.blocked_id = notification_blocked.recipient_id))
$$;
comment on function app_private.notification_blocked(uuid, uuid) is 'Whether a block between recipient and actor (either direction, app_public.user_blocks) suppresses the notification.';

update app_public.notification_types set trigger_point = 'messages: after insert of a text message (_700_notify), for each member of the room the message mentions (message_mentions); not in direct rooms (the direct message notifies) and not on edits. Comments: planned'
 where id = 'mention';
update app_public.notification_types set trigger_point = 'messages: after insert of a text message in a direct room (_700_notify), for the other member; updates their unread direct_message notification of the room instead of adding one'
 where id = 'direct_message';

create or replace function app_private.notify_direct_message(recipient_id uuid, msg app_public.messages) returns void
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_existing uuid;
begin
  if recipient_id is null or recipient_id = msg.author_id or app_private.notification_blocked(recipient_id, msg.author_id) then
    return;
  end if;
  -- Concurrent messages to one member in one room serialise here, so a burst makes one notification, not several.
  perform pg_advisory_xact_lock(hashtextextended('direct_message:' || recipient_id::text || ':' || msg.room_id::text, 0));
  -- The burst's notification: unread (or, in-app off, not mailed yet) and of this room.
  select n.id into v_existing from app_public.notifications n
   where n.recipient_id = notify_direct_message.recipient_id and n.type_id = 'direct_message'
     and n.read_at is null and (n.is_in_app or n.emailed_at is null)
     and n.detail ->> 'roomId' = msg.room_id::text
   order by n.updated_at desc
   limit 1
   for update;
  if v_existing is null then
    perform app_private.notify(recipient_id, 'direct_message', msg.author_id, detail =>
      jsonb_build_object('roomId', msg.room_id, 'messageId', msg.id, 'lastMessageId', msg.id, 'messageCount', 1));
  else
    update app_public.notifications n
       set actor_id = msg.author_id,
           actor_count = n.actor_count, -- named so that the live seam (_500_deliver, update of actor_count) announces the change
           detail = n.detail || jsonb_build_object('lastMessageId', msg.id,
                                                   'messageCount', coalesce((n.detail ->> 'messageCount')::int, 1) + 1),
           updated_at = now()
     where n.id = v_existing;
  end if;
end;
$$;
comment on function app_private.notify_direct_message(uuid, app_public.messages) is 'The direct_message notification of a message: a new one, or, while the recipient has an unread one of the same room, that one updated (lastMessageId, messageCount, moved up the list). Nothing for the author or across a block; preferences apply through app_private.notify. Concurrent messages of one room to one member serialise on a transaction advisory lock.';

create or replace function app_private.tg_messages__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_room app_public.rooms;
  v_mention record;
begin
  if new.kind <> 'text' or app_private.in_bulk_load() then
    return null;
  end if;
  select * into v_room from app_public.rooms r where r.id = new.room_id;
  if v_room.kind = 'direct' then
    perform app_private.notify_direct_message(
      case when new.author_id = v_room.direct_low_id then v_room.direct_high_id else v_room.direct_low_id end, new);
    return null;
  end if;
  for v_mention in select mm.user_id from app_public.message_mentions mm where mm.message_id = new.id loop
    perform app_private.notify(v_mention.user_id, 'mention', new.author_id,
                               detail => jsonb_build_object('roomId', new.room_id, 'messageId', new.id));
  end loop;
  return null;
end;
$$;
comment on function app_private.tg_messages__notify() is 'Trigger on messages (security definer: writes notifications for other members): notifies each member a new message mentions (message_mentions, written by _500_after_write), or, in a direct room, the other member (one notification per burst). Not for system messages, edits or bulk loads.';
drop trigger if exists _700_notify on app_public.messages;
create trigger _700_notify after insert on app_public.messages
  for each row execute function app_private.tg_messages__notify();

-- Enter migration here

-- === chat ===
-- Rooms (public, private, direct), members with room roles, messages with one
-- level of threads, edit history, soft delete, reactions with counts, mentions,
-- read state, pins, mutes, blocks and typed system messages. Every rule is
-- enforced here (RLS, triggers, functions), so psql and jobs meet the same rules
-- as the API. See docs/chat.md.

drop function if exists app_public.my_room_unreads();
drop function if exists app_public.messages_around(uuid, integer);
drop function if exists app_public.open_direct_room(uuid);
drop function if exists app_public.transfer_room_ownership(uuid, uuid);
drop function if exists app_public.set_room_member_role(uuid, uuid, app_public.room_role);
drop function if exists app_public.mark_room_read(uuid, uuid);
drop function if exists app_public.toggle_reaction(uuid, text);
drop function if exists app_public.delete_message(uuid);
drop function if exists app_public.pin_message(uuid);
drop function if exists app_public.unpin_message(uuid);
drop function if exists app_public.mute_room_member(uuid, uuid, timestamptz, text);
drop function if exists app_public.unmute_room_member(uuid, uuid);
drop table if exists app_public.room_pins cascade;
drop table if exists app_public.message_mentions cascade;
drop table if exists app_public.message_reaction_counts cascade;
drop table if exists app_public.message_reactions cascade;
drop table if exists app_public.message_revisions cascade;
drop table if exists app_public.messages cascade;
drop table if exists app_public.room_members cascade;
drop table if exists app_public.rooms cascade;
drop table if exists app_public.user_blocks cascade;
drop function if exists app_hidden.room_is_being_created(uuid);
drop function if exists app_hidden.room_role(uuid);
drop function if exists app_hidden.room_readable(uuid);
drop function if exists app_hidden.is_blocked_between(uuid, uuid);
drop function if exists app_hidden.can_moderate_room(uuid, text);
drop type if exists app_public.room_kind;
drop type if exists app_public.room_role;
drop type if exists app_public.message_kind;

create type app_public.room_kind as enum ('public', 'private', 'direct');
comment on type app_public.room_kind is 'public: any member may find, read and join; private: invite only, invisible to non-members; direct: exactly two people.';
create type app_public.room_role as enum ('owner', 'admin', 'member');
comment on type app_public.room_role is 'A member''s role in a room: owner (everything, hands over with transferRoomOwnership), admin (invites, removes, mutes, pins, edits the room), member.';
create type app_public.message_kind as enum ('text', 'join', 'leave', 'remove', 'rename', 'pin');
comment on type app_public.message_kind is 'text: written by a member; the others are system messages written by the database (join, leave, remove: subjectUserId; rename: systemData {oldName, newName}; pin: subjectMessageId), typed so clients can localise them.';

insert into app_private.settings (key, value, description) values
  ('rate_limit.message:send', '{"max": 30, "window": "1 minute"}', 'Chat messages a member may send per minute (all rooms together)'),
  ('chat.max_pins', '3', 'Pinned messages per chat room')
on conflict (key) do nothing;

--------------------------------------------------------------------------------
-- user_blocks

create table app_public.user_blocks (
  blocker_id uuid not null default app_public.current_user_id() references app_public.users(id) on delete cascade,
  blocked_id uuid not null references app_public.users(id) on delete cascade,
  created_at timestamptz not null default now(),
  constraint user_blocks_pkey primary key (blocker_id, blocked_id),
  constraint user_blocks_not_self check (blocker_id <> blocked_id)
);
alter table app_public.user_blocks enable row level security;
create policy select_own on app_public.user_blocks for select
  using (blocker_id = (select app_public.current_user_id()));
create policy insert_own on app_public.user_blocks for insert
  with check (blocker_id = (select app_public.current_user_id()));
create policy delete_own on app_public.user_blocks for delete
  using (blocker_id = (select app_public.current_user_id()));
grant select on app_public.user_blocks to anonymous;
grant select, delete on app_public.user_blocks to authenticated;
grant insert (blocked_id) on app_public.user_blocks to authenticated;
comment on table app_public.user_blocks is 'A member''s blocks: the blocker no longer sees the blocked member''s chat messages, neither can open a direct room with the other, and an existing direct room between them is read-only. Only the blocker sees the block; delete it to unblock.';
comment on column app_public.user_blocks.blocker_id is 'The member who blocks (you).';
comment on column app_public.user_blocks.blocked_id is 'The member blocked.';
comment on column app_public.user_blocks.created_at is 'When the block was made.';
create index user_blocks_blocked_idx on app_public.user_blocks (blocked_id);

create or replace function app_hidden.is_blocked_between(a uuid, b uuid) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select exists (select 1 from app_public.user_blocks
                  where (blocker_id = a and blocked_id = b) or (blocker_id = b and blocked_id = a))
$$;
comment on function app_hidden.is_blocked_between(uuid, uuid) is 'Whether either member blocked the other. Security definer: a block is visible to its blocker only, but both sides are held to it.';
grant execute on function app_hidden.is_blocked_between(uuid, uuid) to anonymous, authenticated;

--------------------------------------------------------------------------------
-- rooms

create table app_public.rooms (
  id uuid primary key default gen_random_uuid(),
  kind app_public.room_kind not null default 'public',
  name text,
  slug text,
  description text not null default '',
  guidelines text not null default '',
  topic text not null default '',
  is_archived boolean not null default false,
  member_count integer not null default 0,
  created_by uuid default app_public.current_user_id() references app_public.users(id) on delete set null,
  direct_low_id uuid references app_public.users(id) on delete cascade,
  direct_high_id uuid references app_public.users(id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint room_name_length check (kind = 'direct' or char_length(name) between 1 and 80),
  constraint room_texts_length check (char_length(description) <= 1000 and char_length(guidelines) <= 5000 and char_length(topic) <= 250),
  constraint room_direct_pair check (
    (kind = 'direct') = (direct_low_id is not null and direct_high_id is not null)
    and (direct_low_id is null or direct_low_id < direct_high_id)),
  constraint rooms_slug_key unique (slug),
  constraint rooms_direct_pair_key unique (direct_low_id, direct_high_id)
);
--------------------------------------------------------------------------------
-- room_members

create table app_public.room_members (
  room_id uuid not null references app_public.rooms(id) on delete cascade,
  user_id uuid not null references app_public.users(id) on delete cascade,
  role app_public.room_role not null default 'member',
  joined_at timestamptz not null default now(),
  last_read_message_id uuid,
  last_read_at timestamptz,
  muted_until timestamptz,
  mute_reason text,
  muted_by uuid references app_public.users(id) on delete set null,
  constraint room_members_pkey primary key (room_id, user_id)
);

-- (rooms, continued: its policies need room_members)
alter table app_public.rooms enable row level security;

create or replace function app_hidden.room_role(room_id uuid) returns app_public.room_role
  language sql stable security definer set search_path = pg_catalog, public as $$
  select m.role from app_public.room_members m
   where m.room_id = room_role.room_id and m.user_id = app_public.current_user_id()
$$;
comment on function app_hidden.room_role(uuid) is 'The signed-in member''s role in a room, or null when not a member. Security definer so that policies on room_members can ask it without recursing.';
grant execute on function app_hidden.room_role(uuid) to anonymous, authenticated;

create or replace function app_hidden.room_readable(room_id uuid) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select exists (select 1 from app_public.rooms r where r.id = room_readable.room_id and r.kind = 'public')
      or app_hidden.room_role(room_id) is not null
$$;
comment on function app_hidden.room_readable(uuid) is 'Whether the signed-in user (or an anonymous visitor) may see a room and read it: public rooms to everyone, private and direct rooms to their members only. The one predicate of the chat tables'' select policies.';
grant execute on function app_hidden.room_readable(uuid) to anonymous, authenticated;

create or replace function app_hidden.can_moderate_room(room_id uuid, permission text) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select coalesce(app_hidden.room_role(room_id) in ('owner', 'admin'), false)
      or (app_public.current_user_has_permission(permission) and app_hidden.room_readable(room_id))
$$;
comment on function app_hidden.can_moderate_room(uuid, text) is 'Whether the signed-in user may act as a moderator in a room: a room owner or admin, or a holder of the platform permission (message:delete, message:pin, user:mute) in a room they can see.';
grant execute on function app_hidden.can_moderate_room(uuid, text) to anonymous, authenticated;

create or replace function app_hidden.room_is_being_created(room_id uuid) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select not exists (select 1 from app_public.room_members m where m.room_id = room_is_being_created.room_id)
$$;
comment on function app_hidden.room_is_being_created(uuid) is 'Whether a room has no members yet: true only while the statement creating it runs (its owner''s membership is added right after), so that the creator can read back the private room they just created. Security definer: counts members whatever the caller sees.';
grant execute on function app_hidden.room_is_being_created(uuid) to anonymous, authenticated;

create policy select_readable on app_public.rooms for select
  using (kind = 'public' or app_hidden.room_readable(id)
    or (created_by = (select app_public.current_user_id()) and app_hidden.room_is_being_created(id)));
create policy insert_own on app_public.rooms for insert
  with check (created_by = (select app_public.current_user_id()) and kind <> 'direct');
create policy update_admin on app_public.rooms for update
  using (app_hidden.room_role(id) in ('owner', 'admin'));
create policy delete_owner on app_public.rooms for delete
  using (app_hidden.room_role(id) = 'owner');
grant select on app_public.rooms to anonymous, authenticated;
grant insert (kind, name, slug, description, guidelines, topic) on app_public.rooms to authenticated;
grant update (name, description, guidelines, topic, is_archived) on app_public.rooms to authenticated;
grant delete on app_public.rooms to authenticated;
comment on table app_public.rooms is 'A chat room: public (anyone finds, reads and joins it), private (invite only; invisible to non-members) or direct (two people; open with openDirectRoom). The creator becomes its owner.';
comment on column app_public.rooms.id is 'The room''s id.';
comment on column app_public.rooms.kind is 'public, private or direct. Cannot change.';
comment on column app_public.rooms.name is 'The room''s name, 1–80 characters; null for a direct room. Renaming posts a rename system message.';
comment on column app_public.rooms.slug is 'The room''s URL fragment, unique; derived from the name when not given. Null for a direct room.';
comment on column app_public.rooms.description is 'What the room is for (at most 1000 characters).';
comment on column app_public.rooms.guidelines is 'The room''s rules, markdown (at most 5000 characters).';
comment on column app_public.rooms.topic is 'The current topic (at most 250 characters).';
comment on column app_public.rooms.is_archived is 'An archived room is read-only: no messages, edits or reactions (code ARCHV). Room admins archive and unarchive.';
comment on column app_public.rooms.member_count is 'How many members the room has. Maintained by the database.';
comment on column app_public.rooms.created_by is 'The member who created the room.';
comment on column app_public.rooms.direct_low_id is 'For a direct room: the lower of the two members'' ids (the pair is unique).';
comment on column app_public.rooms.direct_high_id is 'For a direct room: the higher of the two members'' ids.';
comment on column app_public.rooms.created_at is 'When the room was created.';
comment on column app_public.rooms.updated_at is 'When the room last changed. Set by the database.';
create index rooms_created_by_idx on app_public.rooms (created_by);
create index rooms_direct_high_idx on app_public.rooms (direct_high_id);

create or replace function app_private.tg_rooms__before_write() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'UPDATE' and new.kind is distinct from old.kind then
    raise exception 'A room''s kind cannot change' using errcode = 'INVAL';
  end if;
  if new.kind <> 'direct' and (tg_op = 'INSERT' or new.name is distinct from old.name) then
    perform app_private.assert_no_banned_words(array[new.name, new.topic, new.description]);
  end if;
  if tg_op = 'INSERT' and new.kind <> 'direct' and new.slug is null then
    new.slug := app_private.slugify(new.name) || '-' || left(replace(new.id::text, '-', ''), 8);
  end if;
  return new;
end;
$$;
comment on function app_private.tg_rooms__before_write() is 'Trigger on rooms: the kind cannot change; banned words in name, topic and description; derives the slug from the name. Security definer: the banned-words check lives in app_private.';

create or replace function app_private.tg_rooms__after_write() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' and new.kind <> 'direct' and new.created_by is not null then
    insert into app_public.room_members (room_id, user_id, role) values (new.id, new.created_by, 'owner');
  elsif tg_op = 'UPDATE' and new.name is distinct from old.name then
    insert into app_public.messages (room_id, author_id, kind, system_data)
    values (new.id, app_public.current_user_id(), 'rename', jsonb_build_object('oldName', old.name, 'newName', new.name));
  end if;
  return null;
end;
$$;
comment on function app_private.tg_rooms__after_write() is 'Trigger on rooms: the creator becomes the owner; a rename posts a rename system message. Security definer: writes rows the caller may not write directly.';

create trigger _100_timestamps before insert or update on app_public.rooms
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert or update on app_public.rooms
  for each row execute function app_private.tg_rooms__before_write();
create trigger _500_after_write after insert or update on app_public.rooms
  for each row execute function app_private.tg_rooms__after_write();


-- (room_members, continued)
alter table app_public.room_members enable row level security;
create policy select_readable on app_public.room_members for select
  using (app_hidden.room_readable(room_id));
create policy insert_join_or_invite on app_public.room_members for insert
  with check (role = 'member' and (
    (user_id = (select app_public.current_user_id())
      and exists (select 1 from app_public.rooms r where r.id = room_id and r.kind = 'public'))
    or (app_hidden.room_role(room_id) in ('owner', 'admin')
      and exists (select 1 from app_public.rooms r where r.id = room_id and r.kind <> 'direct'))));
create policy delete_leave_or_remove on app_public.room_members for delete
  using (exists (select 1 from app_public.rooms r where r.id = room_id and r.kind <> 'direct') and (
    user_id = (select app_public.current_user_id())
    or app_hidden.room_role(room_id) = 'owner'
    or (app_hidden.room_role(room_id) = 'admin' and role = 'member')));
grant select on app_public.room_members to anonymous, authenticated;
grant insert (room_id, user_id) on app_public.room_members to authenticated;
grant delete on app_public.room_members to authenticated;
comment on table app_public.room_members is 'Who is in a room, with their room role. Join a public room by inserting yourself; room admins invite others (private rooms too); leave by deleting yourself; admins remove members, owners remove admins. Roles change through setRoomMemberRole and transferRoomOwnership; the last owner cannot leave (LASTO). Private rooms'' member lists are visible to their members only.';
comment on column app_public.room_members.room_id is 'The room.';
comment on column app_public.room_members.user_id is 'The member.';
comment on column app_public.room_members.role is 'owner, admin or member. Joining and invitations make members.';
comment on column app_public.room_members.joined_at is 'When the member joined.';
comment on column app_public.room_members.last_read_message_id is 'The newest message the member has read (markRoomRead; never moves backwards). In direct rooms this is the read receipt.';
comment on column app_public.room_members.last_read_at is 'The creation time of lastReadMessageId (the read position).';
comment on column app_public.room_members.muted_until is 'Muted (cannot post) until this time; the mute lapses by itself. Set by muteRoomMember.';
comment on column app_public.room_members.mute_reason is 'Why the member was muted.';
comment on column app_public.room_members.muted_by is 'Who muted the member.';
create index room_members_user_idx on app_public.room_members (user_id);
create index room_members_muted_by_idx on app_public.room_members (muted_by);

create or replace function app_private.tg_room_members__before_delete() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if old.role = 'owner'
     and exists (select 1 from app_public.rooms r where r.id = old.room_id)
     and not exists (select 1 from app_public.room_members m
                      where m.room_id = old.room_id and m.role = 'owner' and m.user_id <> old.user_id) then
    raise exception 'The last owner cannot leave the room; transfer ownership first' using errcode = 'LASTO';
  end if;
  return old;
end;
$$;
comment on function app_private.tg_room_members__before_delete() is 'Trigger on room_members: the last owner of a room cannot leave or be removed (LASTO) unless the room itself is deleted. Security definer: counts owners whatever the caller sees.';

create or replace function app_private.tg_room_members__system_message() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_me uuid := app_public.current_user_id();
  v_row app_public.room_members;
begin
  if tg_op = 'INSERT' then
    v_row := new;
  else
    v_row := old;
  end if;
  if exists (select 1 from app_public.rooms r where r.id = v_row.room_id and r.kind <> 'direct') then
    insert into app_public.messages (room_id, author_id, kind, subject_user_id)
    values (v_row.room_id, coalesce(v_me, v_row.user_id),
            case when tg_op = 'INSERT' then 'join'
                 when v_me is null or v_me = v_row.user_id then 'leave'
                 else 'remove' end::app_public.message_kind,
            v_row.user_id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_room_members__system_message() is 'Trigger on room_members: posts a join, leave or remove system message in public and private rooms. Security definer: system messages are written by the database only.';

create or replace function app_private.tg_room_members__count() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    update app_public.rooms set member_count = member_count + 1 where id = new.room_id;
  else
    update app_public.rooms set member_count = member_count - 1 where id = old.room_id;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_room_members__count() is 'Trigger on room_members: keeps rooms.member_count exact (the room row is locked by the update, so concurrent joins serialise on it). Security definer: writes a maintained column.';

create trigger _200_last_owner before delete on app_public.room_members
  for each row execute function app_private.tg_room_members__before_delete();
create trigger _500_count after insert or delete on app_public.room_members
  for each row execute function app_private.tg_room_members__count();
create trigger _510_system_message after insert or delete on app_public.room_members
  for each row execute function app_private.tg_room_members__system_message();

--------------------------------------------------------------------------------
-- messages

create table app_public.messages (
  id uuid primary key default gen_random_uuid(),
  room_id uuid not null references app_public.rooms(id) on delete cascade,
  author_id uuid default app_public.current_user_id() references app_public.users(id) on delete set null,
  parent_id uuid references app_public.messages(id) on delete cascade,
  kind app_public.message_kind not null default 'text',
  body text not null default '',
  subject_user_id uuid references app_public.users(id) on delete set null,
  subject_message_id uuid references app_public.messages(id) on delete set null,
  system_data jsonb,
  reply_count integer not null default 0,
  last_reply_at timestamptz,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp(),
  edited_at timestamptz,
  deleted_at timestamptz,
  constraint message_body_length check (char_length(body) <= 4000
    and (kind <> 'text' or deleted_at is not null or char_length(body) >= 1)),
  constraint message_reply_is_text check (parent_id is null or kind = 'text')
);
alter table app_public.messages enable row level security;
create policy select_readable on app_public.messages for select
  using (app_hidden.room_readable(room_id)
    and not exists (select 1 from app_public.user_blocks b
                     where b.blocker_id = (select app_public.current_user_id()) and b.blocked_id = messages.author_id));
create policy insert_member on app_public.messages for insert
  with check (author_id = (select app_public.current_user_id()) and app_hidden.room_role(room_id) is not null);
create policy update_own on app_public.messages for update
  using (author_id = (select app_public.current_user_id()) and kind = 'text');
grant select on app_public.messages to anonymous, authenticated;
grant insert (room_id, parent_id, body) on app_public.messages to authenticated;
grant update (body) on app_public.messages to authenticated;
comment on table app_public.messages is 'A chat message: markdown written by a member, or a typed system message (join, leave, remove, rename, pin). Replies thread one level under a top-level message. Members post; anyone reads public rooms, members read private and direct rooms; messages of members you blocked are hidden from you. Edit by updating body (history kept); delete with deleteMessage.';
comment on column app_public.messages.id is 'The message''s id.';
comment on column app_public.messages.room_id is 'The room.';
comment on column app_public.messages.author_id is 'Who wrote it (for a system message: who caused it).';
comment on column app_public.messages.parent_id is 'For a thread reply: the top-level message of the same room it replies to.';
comment on column app_public.messages.kind is 'text, or the kind of system message.';
comment on column app_public.messages.body is 'Markdown, at most 4000 characters; empty for system messages and once deleted (moderators read the old text in messageRevisions).';
comment on column app_public.messages.subject_user_id is 'join, leave, remove: the member who joined, left or was removed.';
comment on column app_public.messages.subject_message_id is 'pin: the message pinned.';
comment on column app_public.messages.system_data is 'rename: {"oldName": …, "newName": …}.';
comment on column app_public.messages.reply_count is 'How many replies (not deleted) the thread has. Maintained by the database.';
comment on column app_public.messages.last_reply_at is 'When the latest reply was posted. Maintained by the database.';
comment on column app_public.messages.created_at is 'When it was sent.';
comment on column app_public.messages.updated_at is 'When it last changed. Set by the database.';
comment on column app_public.messages.edited_at is 'When the body was last edited (null: never). Set by the database.';
comment on column app_public.messages.deleted_at is 'When it was deleted (the message stays, shown as deleted, so its thread stays).';
create index messages_room_history_idx on app_public.messages (room_id, created_at desc, id desc);
create index messages_parent_idx on app_public.messages (parent_id, created_at);
create index messages_author_idx on app_public.messages (author_id);
create index messages_subject_user_idx on app_public.messages (subject_user_id);
create index messages_subject_message_idx on app_public.messages (subject_message_id);

create or replace function app_private.tg_messages__timestamps() returns trigger
  language plpgsql set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    -- The clock, not the transaction's start: messages sent in one transaction keep their order.
    -- A bulk load outside a request (seeds, tests) may set created_at itself.
    if not (current_setting('agora.bulk_load', true) = 'on' and app_public.current_user_id() is null) then
      new.created_at := clock_timestamp();
    end if;
    new.updated_at := new.created_at;
  else
    new.created_at := old.created_at;
    new.updated_at := greatest(clock_timestamp(), old.updated_at + interval '1 microsecond');
  end if;
  return new;
end;
$$;
comment on function app_private.tg_messages__timestamps() is 'Trigger on messages: created_at from the clock (so messages of one transaction keep their order; a bulk load outside a request may set it), updated_at moves forward.';

create or replace function app_private.tg_messages__before_write() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_room app_public.rooms;
  v_member app_public.room_members;
  v_parent app_public.messages;
  v_other uuid;
begin
  if tg_op = 'UPDATE' then
    if new.room_id <> old.room_id or new.author_id is distinct from old.author_id or new.kind <> old.kind
       or new.parent_id is distinct from old.parent_id then
      raise exception 'A message''s room, author, kind and thread cannot change' using errcode = 'INVAL';
    end if;
    if new.body is not distinct from old.body and new.deleted_at is not distinct from old.deleted_at then
      return new;
    end if;
    if old.deleted_at is not null then
      raise exception 'A deleted message cannot be edited' using errcode = 'DELTD';
    end if;
  end if;
  if new.kind <> 'text' then
    return new; -- system messages come from the database's own triggers
  end if;
  select * into v_room from app_public.rooms where id = new.room_id;
  if v_room.is_archived then
    raise exception 'This room is archived: it is read-only' using errcode = 'ARCHV';
  end if;
  if tg_op = 'UPDATE' and new.deleted_at is not null then
    new.body := '';
    return new;
  end if;
  if v_room.kind = 'direct' then
    v_other := case when new.author_id = v_room.direct_low_id then v_room.direct_high_id else v_room.direct_low_id end;
    if app_hidden.is_blocked_between(new.author_id, v_other) then
      raise exception 'One of you blocked the other: this conversation is read-only' using errcode = 'BLOCK';
    end if;
  end if;
  if tg_op = 'INSERT' then
    select * into v_member from app_public.room_members where room_id = new.room_id and user_id = new.author_id;
    if v_member.muted_until > now() then
      raise exception 'You are muted in this room until %', v_member.muted_until
        using errcode = 'MUTED', detail = json_build_object('mutedUntil', v_member.muted_until, 'reason', v_member.mute_reason)::text;
    end if;
    if new.parent_id is not null then
      select * into v_parent from app_public.messages where id = new.parent_id;
      if v_parent.id is null or v_parent.room_id <> new.room_id or v_parent.parent_id is not null or v_parent.kind <> 'text' then
        raise exception 'A reply goes under a top-level message of the same room' using errcode = 'THRED';
      end if;
    end if;
    if not (current_setting('agora.bulk_load', true) = 'on' and app_public.current_user_id() is null) then
      perform app_private.rate_limit('message:send', new.author_id::text);
    end if;
    new.edited_at := null;
    new.deleted_at := null;
  else
    new.edited_at := now();
  end if;
  perform app_private.assert_no_banned_words(array[new.body]);
  return new;
end;
$$;
comment on function app_private.tg_messages__before_write() is 'Trigger on messages: room, author, kind and thread cannot change; deleted messages cannot be edited (DELTD); archived rooms are read-only (ARCHV); a block makes a direct room read-only (BLOCK); muted members cannot post (MUTED); replies go under a top-level message of the same room (THRED); the message:send rate limit (RLIMT); banned words (BANND); sets edited_at and empties a deleted body. Security definer: reads blocks, mutes and parents the caller may not see.';

create or replace function app_private.tg_messages__after_write() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'DELETE' then
    if old.parent_id is not null and old.deleted_at is null then
      update app_public.messages set reply_count = reply_count - 1 where id = old.parent_id;
    end if;
    return null;
  end if;
  -- Thread counters on the parent.
  if tg_op = 'INSERT' and new.parent_id is not null then
    update app_public.messages set reply_count = reply_count + 1, last_reply_at = greatest(last_reply_at, new.created_at)
     where id = new.parent_id;
  elsif tg_op = 'UPDATE' and new.parent_id is not null and old.deleted_at is null and new.deleted_at is not null then
    update app_public.messages set reply_count = reply_count - 1 where id = new.parent_id;
  end if;
  -- Edit history: the previous body.
  if tg_op = 'UPDATE' and new.body is distinct from old.body then
    insert into app_public.message_revisions (message_id, editor_id, body) values (old.id, app_public.current_user_id(), old.body);
  end if;
  -- Mentions, parsed once: @username of members of the room.
  if new.kind = 'text' and (tg_op = 'INSERT' or new.body is distinct from old.body) then
    if tg_op = 'UPDATE' then
      delete from app_public.message_mentions where message_id = new.id;
    end if;
    if new.deleted_at is null then
      insert into app_public.message_mentions (message_id, user_id, room_id, created_at)
      select distinct new.id, m.user_id, new.room_id, new.created_at
        from regexp_matches(new.body, '(?:^|[^[:alnum:]_@])@([[:alnum:]_]+)', 'g') as t(groups)
        join app_public.users u on u.username = (t.groups)[1]::citext
        join app_public.room_members m on m.room_id = new.room_id and m.user_id = u.id
       where u.id is distinct from new.author_id;
    end if;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_messages__after_write() is 'Trigger on messages: maintains the parent''s reply_count and last_reply_at, keeps the previous body in message_revisions, and records @username mentions of the room''s members. Security definer: writes maintained rows.';

create trigger _100_timestamps before insert or update on app_public.messages
  for each row execute function app_private.tg_messages__timestamps();
create trigger _200_rules before insert or update on app_public.messages
  for each row execute function app_private.tg_messages__before_write();
create trigger _500_after_write after insert or update or delete on app_public.messages
  for each row execute function app_private.tg_messages__after_write();

--------------------------------------------------------------------------------
-- message_revisions

create table app_public.message_revisions (
  id uuid primary key default gen_random_uuid(),
  message_id uuid not null references app_public.messages(id) on delete cascade,
  editor_id uuid references app_public.users(id) on delete set null,
  body text not null,
  created_at timestamptz not null default now()
);
alter table app_public.message_revisions enable row level security;
create policy select_visible on app_public.message_revisions for select
  using (exists (select 1 from app_public.messages m
                  where m.id = message_id
                    and (m.deleted_at is null or app_hidden.can_moderate_room(m.room_id, 'message:delete'))));
grant select on app_public.message_revisions to anonymous, authenticated;
comment on table app_public.message_revisions is '@behavior -insert -update -delete
A previous body of a chat message, kept when it was edited or deleted. Those of a deleted message are visible to moderators and room admins only.';
comment on column app_public.message_revisions.id is 'The revision''s id.';
comment on column app_public.message_revisions.message_id is 'The message.';
comment on column app_public.message_revisions.editor_id is 'Who made the edit (or deletion) that replaced this body.';
comment on column app_public.message_revisions.body is 'The body before the edit, as markdown.';
comment on column app_public.message_revisions.created_at is 'When the edit was made: this body was current until then.';
create index message_revisions_message_idx on app_public.message_revisions (message_id, created_at);
create index message_revisions_editor_idx on app_public.message_revisions (editor_id);

--------------------------------------------------------------------------------
-- message_reactions and their counts

create table app_public.message_reactions (
  message_id uuid not null references app_public.messages(id) on delete cascade,
  user_id uuid not null default app_public.current_user_id() references app_public.users(id) on delete cascade,
  emoji text not null,
  created_at timestamptz not null default now(),
  constraint message_reactions_pkey primary key (message_id, user_id, emoji),
  constraint message_reaction_emoji check (char_length(emoji) between 1 and 32 and emoji !~ '\s')
);
alter table app_public.message_reactions enable row level security;
create policy select_visible on app_public.message_reactions for select
  using (exists (select 1 from app_public.messages m where m.id = message_id));
create policy insert_member on app_public.message_reactions for insert
  with check (user_id = (select app_public.current_user_id())
    and exists (select 1 from app_public.messages m where m.id = message_id and app_hidden.room_role(m.room_id) is not null));
create policy delete_own on app_public.message_reactions for delete
  using (user_id = (select app_public.current_user_id()));
grant select on app_public.message_reactions to anonymous, authenticated;
grant insert (message_id, emoji) on app_public.message_reactions to authenticated;
grant delete on app_public.message_reactions to authenticated;
comment on table app_public.message_reactions is '@behavior -update -delete
Emoji reactions on chat messages: one per member per emoji per message. Members of the room react; toggleReaction adds or removes (in SQL, a member may also delete their own row). Counts per emoji are in messageReactionCounts.';
comment on column app_public.message_reactions.message_id is 'The message.';
comment on column app_public.message_reactions.user_id is 'Who reacted.';
comment on column app_public.message_reactions.emoji is 'The emoji (a character or a :shortcode:, at most 32 characters, no spaces).';
comment on column app_public.message_reactions.created_at is 'When the reaction was made.';
create index message_reactions_user_idx on app_public.message_reactions (user_id);

create table app_public.message_reaction_counts (
  message_id uuid not null references app_public.messages(id) on delete cascade,
  emoji text not null,
  count integer not null,
  constraint message_reaction_counts_pkey primary key (message_id, emoji),
  constraint message_reaction_counts_positive check (count > 0)
);
alter table app_public.message_reaction_counts enable row level security;
create policy select_visible on app_public.message_reaction_counts for select
  using (exists (select 1 from app_public.messages m where m.id = message_id));
grant select on app_public.message_reaction_counts to anonymous, authenticated;
comment on table app_public.message_reaction_counts is '@behavior -insert -update -delete
How many members reacted to a message with each emoji. Maintained by the database.';
comment on column app_public.message_reaction_counts.message_id is 'The message.';
comment on column app_public.message_reaction_counts.emoji is 'The emoji.';
comment on column app_public.message_reaction_counts.count is 'How many members reacted with it (at least 1; emojis nobody uses have no row).';

create or replace function app_private.tg_message_reactions__rules() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if exists (select 1 from app_public.messages m join app_public.rooms r on r.id = m.room_id
              where m.id = new.message_id and r.is_archived) then
    raise exception 'This room is archived: it is read-only' using errcode = 'ARCHV';
  end if;
  if exists (select 1 from app_public.messages m where m.id = new.message_id and (m.deleted_at is not null or m.kind <> 'text')) then
    raise exception 'Only live messages take reactions' using errcode = 'DELTD';
  end if;
  return new;
end;
$$;
comment on function app_private.tg_message_reactions__rules() is 'Trigger on message_reactions: archived rooms are read-only (ARCHV); deleted and system messages take no reactions (DELTD). Security definer: reads the room whatever the caller sees.';

create or replace function app_private.tg_message_reactions__count() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    insert into app_public.message_reaction_counts as c (message_id, emoji, count) values (new.message_id, new.emoji, 1)
    on conflict (message_id, emoji) do update set count = c.count + 1;
  else
    update app_public.message_reaction_counts set count = count - 1
     where message_id = old.message_id and emoji = old.emoji and count > 1;
    if not found then
      delete from app_public.message_reaction_counts where message_id = old.message_id and emoji = old.emoji;
    end if;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_message_reactions__count() is 'Trigger on message_reactions: keeps message_reaction_counts exact (an upsert per reaction, so concurrent reactions serialise on the count row). Security definer: writes maintained rows.';

create trigger _200_rules before insert on app_public.message_reactions
  for each row execute function app_private.tg_message_reactions__rules();
create trigger _500_count after insert or delete on app_public.message_reactions
  for each row execute function app_private.tg_message_reactions__count();

--------------------------------------------------------------------------------
-- message_mentions

create table app_public.message_mentions (
  message_id uuid not null references app_public.messages(id) on delete cascade,
  user_id uuid not null references app_public.users(id) on delete cascade,
  room_id uuid not null references app_public.rooms(id) on delete cascade,
  created_at timestamptz not null,
  constraint message_mentions_pkey primary key (message_id, user_id)
);
alter table app_public.message_mentions enable row level security;
create policy select_visible on app_public.message_mentions for select
  using (exists (select 1 from app_public.messages m where m.id = message_id));
grant select on app_public.message_mentions to anonymous, authenticated;
comment on table app_public.message_mentions is '@behavior -insert -update -delete
Who a message mentions: @username of a member of the room, parsed once when the message is written (again when edited). Maintained by the database.';
comment on column app_public.message_mentions.message_id is 'The message.';
comment on column app_public.message_mentions.user_id is 'The member mentioned.';
comment on column app_public.message_mentions.room_id is 'The message''s room (for counting a member''s unread mentions per room).';
comment on column app_public.message_mentions.created_at is 'When the message was sent.';
create index message_mentions_user_room_idx on app_public.message_mentions (user_id, room_id, created_at, message_id);
create index message_mentions_room_idx on app_public.message_mentions (room_id);

--------------------------------------------------------------------------------
-- room_pins

create table app_public.room_pins (
  room_id uuid not null references app_public.rooms(id) on delete cascade,
  message_id uuid not null references app_public.messages(id) on delete cascade,
  pinned_by uuid references app_public.users(id) on delete set null,
  created_at timestamptz not null default now(),
  constraint room_pins_pkey primary key (room_id, message_id)
);
alter table app_public.room_pins enable row level security;
create policy select_readable on app_public.room_pins for select
  using (app_hidden.room_readable(room_id));
grant select on app_public.room_pins to anonymous, authenticated;
comment on table app_public.room_pins is '@behavior -insert -update -delete
Pinned messages of a room, at most the chat.max_pins setting (PINMX past it). Pin and unpin with pinMessage and unpinMessage (room admins and holders of message:pin).';
comment on column app_public.room_pins.room_id is 'The room.';
comment on column app_public.room_pins.message_id is 'The pinned message.';
comment on column app_public.room_pins.pinned_by is 'Who pinned it.';
comment on column app_public.room_pins.created_at is 'When it was pinned.';
create unique index room_pins_message_idx on app_public.room_pins (message_id);
create index room_pins_pinned_by_idx on app_public.room_pins (pinned_by);

create or replace function app_private.tg_room_pins__before_insert() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_max int := (app_private.setting('chat.max_pins'))::int;
begin
  perform 1 from app_public.rooms where id = new.room_id for update; -- serialise pins per room
  if not exists (select 1 from app_public.messages m where m.id = new.message_id and m.room_id = new.room_id
                  and m.kind = 'text' and m.deleted_at is null) then
    raise exception 'Only a live message of the room can be pinned' using errcode = 'INVAL';
  end if;
  if (select count(*) from app_public.room_pins where room_id = new.room_id) >= v_max then
    raise exception 'This room has the most pinned messages it may have; unpin one first'
      using errcode = 'PINMX', detail = json_build_object('max', v_max)::text;
  end if;
  return new;
end;
$$;
comment on function app_private.tg_room_pins__before_insert() is 'Trigger on room_pins: at most chat.max_pins per room (PINMX), counted under a lock on the room; only live messages of the room. Security definer: reads the room whatever the caller sees.';

create or replace function app_private.tg_room_pins__system_message() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  insert into app_public.messages (room_id, author_id, kind, subject_message_id)
  values (new.room_id, coalesce(new.pinned_by, app_public.current_user_id()), 'pin', new.message_id);
  return null;
end;
$$;
comment on function app_private.tg_room_pins__system_message() is 'Trigger on room_pins: posts a pin system message. Security definer: system messages are written by the database only.';

create trigger _200_rules before insert on app_public.room_pins
  for each row execute function app_private.tg_room_pins__before_insert();
create trigger _500_system_message after insert on app_public.room_pins
  for each row execute function app_private.tg_room_pins__system_message();

-- The read position points at a message of the room.
alter table app_public.room_members
  add constraint room_members_last_read_fkey foreign key (last_read_message_id) references app_public.messages(id) on delete set null;
create index room_members_last_read_idx on app_public.room_members (last_read_message_id);

--------------------------------------------------------------------------------
-- chat functions

create or replace function app_public.open_direct_room(user_id uuid) returns app_public.rooms
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_me uuid := app_public.current_user_id();
  v_room app_public.rooms;
begin
  if v_me is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  if user_id = v_me or not exists (select 1 from app_public.users u where u.id = open_direct_room.user_id) then
    raise exception 'There is nobody to talk to there' using errcode = 'INVAL';
  end if;
  if app_hidden.is_blocked_between(v_me, user_id) then
    raise exception 'One of you blocked the other' using errcode = 'BLOCK';
  end if;
  insert into app_public.rooms (kind, created_by, direct_low_id, direct_high_id)
  values ('direct', v_me, least(v_me, user_id), greatest(v_me, user_id))
  on conflict (direct_low_id, direct_high_id) do nothing
  returning * into v_room;
  if v_room.id is null then
    select * into v_room from app_public.rooms r
     where r.direct_low_id = least(v_me, user_id) and r.direct_high_id = greatest(v_me, user_id);
  else
    insert into app_public.room_members (room_id, user_id, role) values (v_room.id, v_me, 'member'), (v_room.id, user_id, 'member');
  end if;
  return v_room;
end;
$$;
comment on function app_public.open_direct_room(uuid) is 'Opens the direct room between you and another member, or returns the one that exists (at most one per pair). Refused if either blocked the other (BLOCK). Security definer: creates both memberships.';
grant execute on function app_public.open_direct_room(uuid) to authenticated;

create or replace function app_public.transfer_room_ownership(room_id uuid, user_id uuid) returns app_public.rooms
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_room app_public.rooms;
begin
  if app_hidden.room_role(room_id) is distinct from 'owner' then
    raise exception 'Only the room''s owner can hand it over' using errcode = 'FORBD';
  end if;
  update app_public.room_members m set role = 'owner' where m.room_id = transfer_room_ownership.room_id and m.user_id = transfer_room_ownership.user_id;
  if not found then
    raise exception 'The new owner must be a member of the room' using errcode = 'NOTFD';
  end if;
  update app_public.room_members m set role = 'admin'
   where m.room_id = transfer_room_ownership.room_id and m.user_id = app_public.current_user_id() and m.user_id <> transfer_room_ownership.user_id;
  select * into v_room from app_public.rooms r where r.id = room_id;
  return v_room;
end;
$$;
comment on function app_public.transfer_room_ownership(uuid, uuid) is 'Hands the room over to another member: they become owner, you become admin. Owners only (FORBD). Security definer: room roles change only through this and setRoomMemberRole.';
grant execute on function app_public.transfer_room_ownership(uuid, uuid) to authenticated;

create or replace function app_public.set_room_member_role(room_id uuid, user_id uuid, role app_public.room_role) returns app_public.room_members
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_member app_public.room_members;
begin
  if app_hidden.room_role(room_id) is distinct from 'owner' then
    raise exception 'Only the room''s owner can change roles' using errcode = 'FORBD';
  end if;
  if role = 'owner' then
    raise exception 'Hand the room over with transferRoomOwnership' using errcode = 'INVAL';
  end if;
  if user_id = app_public.current_user_id() then
    raise exception 'Hand the room over with transferRoomOwnership before changing your own role' using errcode = 'INVAL';
  end if;
  update app_public.room_members m set role = set_room_member_role.role
   where m.room_id = set_room_member_role.room_id and m.user_id = set_room_member_role.user_id
  returning * into v_member;
  if v_member.user_id is null then
    raise exception 'Not a member of the room' using errcode = 'NOTFD';
  end if;
  return v_member;
end;
$$;
comment on function app_public.set_room_member_role(uuid, uuid, app_public.room_role) is 'Makes a member of your room an admin or a member again. Room owners only (FORBD). Security definer: room_members has no update grant.';
grant execute on function app_public.set_room_member_role(uuid, uuid, app_public.room_role) to authenticated;

create or replace function app_public.mark_room_read(room_id uuid, message_id uuid) returns app_public.room_members
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_msg app_public.messages;
  v_member app_public.room_members;
begin
  select * into v_msg from app_public.messages m where m.id = message_id and m.room_id = mark_room_read.room_id;
  if v_msg.id is null then
    raise exception 'No such message in that room' using errcode = 'NOTFD';
  end if;
  update app_public.room_members m
     set last_read_message_id = v_msg.id, last_read_at = v_msg.created_at
   where m.room_id = mark_room_read.room_id and m.user_id = app_public.current_user_id()
     and (m.last_read_at is null or (m.last_read_at, m.last_read_message_id) < (v_msg.created_at, v_msg.id))
  returning * into v_member;
  if v_member.user_id is null then
    select * into v_member from app_public.room_members m
     where m.room_id = mark_room_read.room_id and m.user_id = app_public.current_user_id();
    if v_member.user_id is null then
      raise exception 'You are not a member of that room' using errcode = 'NOTFD';
    end if;
  end if;
  return v_member;
end;
$$;
comment on function app_public.mark_room_read(uuid, uuid) is 'Moves your read position in a room up to a message; a message older than your position is ignored (the position never moves backwards). Returns your membership. Security definer: room_members has no update grant.';
grant execute on function app_public.mark_room_read(uuid, uuid) to authenticated;

create or replace function app_public.my_room_unreads() returns table (room_id uuid, unread integer, mentions integer)
  language sql stable set search_path = pg_catalog, public as $$
  select rm.room_id,
         (select count(*)::int from (
            select 1 from app_public.messages m
             where m.room_id = rm.room_id
               and (rm.last_read_at is null or (m.created_at, m.id) > (rm.last_read_at, rm.last_read_message_id))
               and m.author_id is distinct from rm.user_id and m.kind = 'text' and m.deleted_at is null
             limit 100) u),
         (select count(*)::int from (
            select 1 from app_public.message_mentions mm
             where mm.user_id = rm.user_id and mm.room_id = rm.room_id
               and (rm.last_read_at is null or (mm.created_at, mm.message_id) > (rm.last_read_at, rm.last_read_message_id))
             limit 100) n)
    from app_public.room_members rm
   where rm.user_id = app_public.current_user_id()
$$;
comment on function app_public.my_room_unreads() is 'For each of your rooms: unread messages (after your read position, not yours, not deleted) and unread mentions of you, each counted up to 100 (show 100 as "99+"). One statement for all your rooms.';
grant execute on function app_public.my_room_unreads() to authenticated;

create or replace function app_public.messages_around(message_id uuid, count integer) returns setof app_public.messages
  language plpgsql stable set search_path = pg_catalog, public as $$
declare
  v_room uuid;
  v_at timestamptz;
  v_id uuid;
  v_n int := least(greatest(count, 0), 100);
begin
  -- The target as the caller may see it (row-level security applies), then two index range scans from it.
  select m.room_id, m.created_at, m.id into v_room, v_at, v_id from app_public.messages m where m.id = messages_around.message_id;
  if v_id is null then
    return;
  end if;
  return query
    select s.* from (
      (select m.* from app_public.messages m
        where m.room_id = v_room and (m.created_at, m.id) >= (v_at, v_id)
        order by m.created_at, m.id limit v_n + 1)
      union all
      (select m.* from app_public.messages m
        where m.room_id = v_room and (m.created_at, m.id) < (v_at, v_id)
        order by m.created_at desc, m.id desc limit v_n)
    ) s order by s.created_at desc, s.id desc;
end;
$$;
comment on function app_public.messages_around(uuid, integer) is 'A page of a room''s history centred on a message (to jump to a reply or a search hit): the message, up to count (at most 100) newer and count older messages, newest first.';
grant execute on function app_public.messages_around(uuid, integer) to anonymous, authenticated;

create or replace function app_public.toggle_reaction(message_id uuid, emoji text) returns boolean
  language plpgsql volatile set search_path = pg_catalog, public as $$
begin
  insert into app_public.message_reactions (message_id, emoji) values (toggle_reaction.message_id, toggle_reaction.emoji)
  on conflict do nothing;
  if found then
    return true;
  end if;
  delete from app_public.message_reactions r
   where r.message_id = toggle_reaction.message_id and r.emoji = toggle_reaction.emoji and r.user_id = app_public.current_user_id();
  return false;
end;
$$;
comment on function app_public.toggle_reaction(uuid, text) is 'Adds your reaction with this emoji to a message, or removes it if you had it. Returns whether you now have it. Members of the room only.';
grant execute on function app_public.toggle_reaction(uuid, text) to authenticated;

create or replace function app_public.delete_message(message_id uuid) returns app_public.messages
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_msg app_public.messages;
begin
  select * into v_msg from app_public.messages m where m.id = message_id and m.kind = 'text';
  if v_msg.id is null or not app_hidden.room_readable(v_msg.room_id) then
    raise exception 'No such message' using errcode = 'NOTFD';
  end if;
  if v_msg.author_id is distinct from app_public.current_user_id() and not app_hidden.can_moderate_room(v_msg.room_id, 'message:delete') then
    raise exception 'Only the author, room admins and moderators delete messages' using errcode = 'FORBD';
  end if;
  if v_msg.deleted_at is not null then
    return v_msg;
  end if;
  update app_public.messages m set deleted_at = now() where m.id = v_msg.id returning * into v_msg;
  delete from app_public.room_pins p where p.message_id = v_msg.id;
  return v_msg;
end;
$$;
comment on function app_public.delete_message(uuid) is 'Deletes a message: it stays as "deleted" (thread kept), its body is emptied for everyone; moderators and room admins read the old body in messageRevisions. The author, room admins and holders of message:delete. Security definer: messages have no delete grant.';
grant execute on function app_public.delete_message(uuid) to authenticated;

create or replace function app_public.pin_message(message_id uuid) returns app_public.room_pins
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_msg app_public.messages;
  v_pin app_public.room_pins;
begin
  select * into v_msg from app_public.messages m where m.id = message_id;
  if v_msg.id is null or not app_hidden.room_readable(v_msg.room_id) then
    raise exception 'No such message' using errcode = 'NOTFD';
  end if;
  if not app_hidden.can_moderate_room(v_msg.room_id, 'message:pin') then
    raise exception 'Only room admins and holders of message:pin pin messages' using errcode = 'FORBD';
  end if;
  select * into v_pin from app_public.room_pins p where p.message_id = v_msg.id;
  if v_pin.message_id is null then
    insert into app_public.room_pins (room_id, message_id, pinned_by) values (v_msg.room_id, v_msg.id, app_public.current_user_id())
    returning * into v_pin;
  end if;
  return v_pin;
end;
$$;
comment on function app_public.pin_message(uuid) is 'Pins a message in its room (already pinned: no change). Room admins and holders of message:pin (FORBD); at most chat.max_pins per room (PINMX). Security definer: room_pins has no insert grant.';
grant execute on function app_public.pin_message(uuid) to authenticated;

create or replace function app_public.unpin_message(message_id uuid) returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_room uuid;
begin
  select p.room_id into v_room from app_public.room_pins p where p.message_id = unpin_message.message_id;
  if v_room is null or not app_hidden.room_readable(v_room) then
    raise exception 'That message is not pinned' using errcode = 'NOTFD';
  end if;
  if not app_hidden.can_moderate_room(v_room, 'message:pin') then
    raise exception 'Only room admins and holders of message:pin unpin messages' using errcode = 'FORBD';
  end if;
  delete from app_public.room_pins p where p.message_id = unpin_message.message_id;
  return true;
end;
$$;
comment on function app_public.unpin_message(uuid) is 'Unpins a message. Room admins and holders of message:pin (FORBD). Security definer: room_pins has no delete grant.';
grant execute on function app_public.unpin_message(uuid) to authenticated;

create or replace function app_public.mute_room_member(room_id uuid, user_id uuid, until timestamptz, reason text) returns app_public.room_members
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_member app_public.room_members;
begin
  if not app_hidden.can_moderate_room(room_id, 'user:mute') then
    raise exception 'Only room admins and holders of user:mute mute members' using errcode = 'FORBD';
  end if;
  if until <= now() then
    raise exception 'A mute ends in the future' using errcode = 'INVAL';
  end if;
  if user_id = app_public.current_user_id() then
    raise exception 'You cannot mute yourself' using errcode = 'INVAL';
  end if;
  if exists (select 1 from app_public.room_members m where m.room_id = mute_room_member.room_id and m.user_id = mute_room_member.user_id and m.role = 'owner') then
    raise exception 'The room''s owner cannot be muted' using errcode = 'FORBD';
  end if;
  update app_public.room_members m
     set muted_until = until, mute_reason = reason, muted_by = app_public.current_user_id()
   where m.room_id = mute_room_member.room_id and m.user_id = mute_room_member.user_id
  returning * into v_member;
  if v_member.user_id is null then
    raise exception 'Not a member of the room' using errcode = 'NOTFD';
  end if;
  return v_member;
end;
$$;
comment on function app_public.mute_room_member(uuid, uuid, timestamptz, text) is 'Mutes a member of a room until a time, with a reason: they cannot post (MUTED) until it lapses by itself. Room admins and holders of user:mute (FORBD); owners cannot be muted. Security definer: room_members has no update grant.';
grant execute on function app_public.mute_room_member(uuid, uuid, timestamptz, text) to authenticated;

create or replace function app_public.unmute_room_member(room_id uuid, user_id uuid) returns app_public.room_members
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_member app_public.room_members;
begin
  if not app_hidden.can_moderate_room(room_id, 'user:mute') then
    raise exception 'Only room admins and holders of user:mute unmute members' using errcode = 'FORBD';
  end if;
  update app_public.room_members m set muted_until = null, mute_reason = null, muted_by = null
   where m.room_id = unmute_room_member.room_id and m.user_id = unmute_room_member.user_id
  returning * into v_member;
  if v_member.user_id is null then
    raise exception 'Not a member of the room' using errcode = 'NOTFD';
  end if;
  return v_member;
end;
$$;
comment on function app_public.unmute_room_member(uuid, uuid) is 'Lifts a mute before it lapses. Room admins and holders of user:mute (FORBD). Security definer: room_members has no update grant.';
grant execute on function app_public.unmute_room_member(uuid, uuid) to authenticated;

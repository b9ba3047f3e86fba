-- Enter migration here

-- === notifications ===
-- docs/notifications.md describes the model, the trigger point of every type and the delivery paths.

insert into app_private.settings (key, value, description) values
  ('notification.reaction_window', '"1 day"', 'Reactions to one target within this window share one notification, updated rather than multiplied'),
  ('notification.last_actors', '3', 'How many of the latest actors an aggregated notification remembers (for "Ana, Bo and 4 others")')
on conflict (key) do nothing;

do $$ begin
  create type app_public.notification_channel as enum ('in_app', 'email');
exception when duplicate_object then null; end $$;
comment on type app_public.notification_channel is 'Where a notification is delivered: in_app (the notifications list, live) or email.';

do $$ begin
  create type app_public.notification_digest as enum ('immediate', 'hourly', 'daily', 'off');
exception when duplicate_object then null; end $$;
comment on type app_public.notification_digest is 'How notification e-mails are sent: immediate (one mail per notification), hourly or daily (one mail batching everything pending), off (none).';

-- One shared predicate for the recipient-only policies below.
create or replace function app_hidden.is_current_user(user_id uuid) returns boolean
  language sql stable
as $$ select user_id = (select app_public.current_user_id()) $$;
grant execute on function app_hidden.is_current_user(uuid) to anonymous, authenticated;
comment on function app_hidden.is_current_user(uuid) is 'True when user_id is the signed-in member: the rule of the recipient-only notification tables.';

create table if not exists app_public.notification_types (
  id text primary key,
  description text not null,
  trigger_point text not null,
  is_aggregated boolean not null default false,
  default_in_app boolean not null default true,
  default_email boolean not null default false,
  in_app_required boolean not null default false,
  constraint notification_type_id_format check (id ~ '^[a-z][a-z_]{1,40}$')
);
alter table app_public.notification_types enable row level security;
drop policy if exists select_all on app_public.notification_types;
create policy select_all on app_public.notification_types for select using (true);
grant select on app_public.notification_types to anonymous, authenticated;
comment on table app_public.notification_types is '@behavior -insert -update -delete
The kinds of notification, with their default channels. Rows exist for kinds whose source lands later (jobs, badges, chat); their triggerPoint says where they will be created.';
comment on column app_public.notification_types.id is 'The type''s key, e.g. new_follower, reaction, security_alert.';
comment on column app_public.notification_types.description is 'What the notification tells the member.';
comment on column app_public.notification_types.trigger_point is 'The database event that creates it (table and trigger), or the planned one for sources not built yet.';
comment on column app_public.notification_types.is_aggregated is 'True when causes on one target within the notification.reaction_window setting update one notification ("Ana and 4 others") instead of adding rows.';
comment on column app_public.notification_types.default_in_app is 'Whether members get it in the app unless they change their preference.';
comment on column app_public.notification_types.default_email is 'Whether members get it by e-mail unless they change their preference.';
comment on column app_public.notification_types.in_app_required is 'True when the in-app channel cannot be turned off (security alerts).';

insert into app_public.notification_types (id, description, trigger_point, is_aggregated, default_in_app, default_email, in_app_required) values
  ('new_follower', 'A member started following you.', 'follows: after insert (_700_notify)', false, true, false, false),
  ('comment_on_content', 'A member commented on your post, question or answer.', 'comments: after insert (_700_notify), for the author of the commented target', false, true, true, false),
  ('reply_to_comment', 'A member replied to your comment.', 'comments: after insert with a parent (_700_notify), for the parent''s author', false, true, true, false),
  ('answer_to_question', 'A member answered your question.', 'answers: after insert published, or first publication of a draft (_700_notify)', false, true, true, false),
  ('answer_accepted', 'Your answer was accepted.', 'questions: after update of accepted_answer_id (_700_notify; accept_answer)', false, true, true, false),
  ('reaction', 'Members liked your post, question, answer or comment (aggregated per target and window).', 'reactions: after insert, update of kind, delete (_700_notify; react); a removed like updates or withdraws it', true, true, false, false),
  ('mention', 'A member mentioned you in a comment or chat message.', 'planned: comments and chat messages, after insert, for each @username the body names', false, true, true, false),
  ('direct_message', 'A member sent you a direct message (one per conversation burst).', 'planned: chat messages, after insert, aggregated per conversation', true, true, false, false),
  ('job_application_received', 'A member applied to your job posting.', 'planned: job applications, after insert, for the job''s poster', false, true, true, false),
  ('application_status_changed', 'The status of your job application changed.', 'planned: job applications, after update of status, for the applicant', false, true, true, false),
  ('job_posted_in_category', 'A job was posted in a category you follow.', 'planned: jobs, after insert published, fanned out by a job to the category''s followers', false, true, false, false),
  ('badge_earned', 'You earned a badge.', 'planned: user badges, after insert', false, true, false, false),
  ('announcement', 'An announcement from the administrators.', 'planned: announcements, fanned out set-based by a job to everyone or a role', false, true, true, false),
  ('security_alert', 'Security: a sign-in from a new address, your password or e-mail changed, or a session was revoked because a refresh token was reused.', 'app_private.security_events: after insert (_700_notify), kinds login (new IP), password_changed, password_reset, primary_email_changed, refresh_token_reused', false, true, true, true)
on conflict (id) do update set description = excluded.description, trigger_point = excluded.trigger_point,
  is_aggregated = excluded.is_aggregated, default_in_app = excluded.default_in_app,
  default_email = excluded.default_email, in_app_required = excluded.in_app_required;

create table if not exists app_public.notifications (
  id uuid primary key default gen_random_uuid(),
  recipient_id uuid not null references app_public.users (id) on delete cascade,
  type_id text not null references app_public.notification_types (id),
  actor_id uuid references app_public.users (id) on delete set null,
  actor_count integer not null default 1,
  last_actor_ids uuid[] not null default '{}',
  post_id uuid references app_public.posts (id) on delete set null,
  question_id uuid references app_public.questions (id) on delete set null,
  answer_id uuid references app_public.answers (id) on delete set null,
  comment_id uuid references app_public.comments (id) on delete set null,
  detail jsonb not null default '{}',
  is_in_app boolean not null default true,
  read_at timestamptz,
  emailed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint notification_actor_count check (actor_count >= 0)
);
alter table app_public.notifications enable row level security;
drop policy if exists select_own on app_public.notifications;
create policy select_own on app_public.notifications for select
  using (app_hidden.is_current_user(recipient_id) and is_in_app);
drop policy if exists update_own on app_public.notifications;
create policy update_own on app_public.notifications for update
  using (app_hidden.is_current_user(recipient_id) and is_in_app);
drop policy if exists delete_own on app_public.notifications;
create policy delete_own on app_public.notifications for delete
  using (app_hidden.is_current_user(recipient_id) and is_in_app);
grant select, delete on app_public.notifications to authenticated;
grant update (read_at) on app_public.notifications to authenticated;
comment on table app_public.notifications is '@behavior -insert -update
Something that happened to you: created by the database in the same transaction as its cause, never through the API. Only you see, mark read and delete yours. A target that was deleted since leaves its id null: show "no longer available".';
comment on column app_public.notifications.id is 'The notification''s id.';
comment on column app_public.notifications.recipient_id is 'The member notified: always you.';
comment on column app_public.notifications.type_id is 'What happened; see NotificationType.';
comment on column app_public.notifications.actor_id is 'The member who caused it (the latest one, for aggregated types); null for security alerts and deleted accounts.';
comment on column app_public.notifications.actor_count is 'How many members caused it (aggregated types: "Ana and actorCount - 1 others"); 1 otherwise.';
comment on column app_public.notifications.last_actor_ids is 'The latest actors, newest first, at most the notification.last_actors setting.';
comment on column app_public.notifications.post_id is 'The post concerned (the commented or liked post, or the post a comment is under), for deep links; null when none or deleted.';
comment on column app_public.notifications.question_id is 'The question concerned, for deep links; null when none or deleted.';
comment on column app_public.notifications.answer_id is 'The answer concerned, for deep links; null when none or deleted.';
comment on column app_public.notifications.comment_id is 'The comment concerned (the new comment or reply, or the liked comment); null when none or deleted.';
comment on column app_public.notifications.detail is 'Extra facts: for security alerts {"event": "new_sign_in" | "password_changed" | "email_changed" | "session_revoked_reuse", "ip": …}.';
comment on column app_public.notifications.is_in_app is '@behavior -*
False when the member turned the in-app channel off but wants the e-mail: the row exists only for the mail.';
comment on column app_public.notifications.read_at is 'When you marked it read; null while unread.';
comment on column app_public.notifications.emailed_at is '@behavior -*
When its e-mail was sent: the marker that keeps a retried job from sending twice.';
comment on column app_public.notifications.created_at is 'When it was created.';
comment on column app_public.notifications.updated_at is 'When it last changed (an aggregated notification moves up when someone else reacts): the list is newest first by this.';
create index if not exists notifications_recipient_updated_idx on app_public.notifications (recipient_id, updated_at desc, id desc);
create index if not exists notifications_recipient_unread_idx on app_public.notifications (recipient_id) where read_at is null and is_in_app;
create index if not exists notifications_type_id_idx on app_public.notifications (type_id);
create index if not exists notifications_actor_id_idx on app_public.notifications (actor_id);
create index if not exists notifications_post_id_idx on app_public.notifications (post_id) where post_id is not null;
create index if not exists notifications_question_id_idx on app_public.notifications (question_id) where question_id is not null;
create index if not exists notifications_answer_id_idx on app_public.notifications (answer_id) where answer_id is not null;
create index if not exists notifications_comment_id_idx on app_public.notifications (comment_id) where comment_id is not null;
-- No _100_timestamps here: marking read must not move a notification up the list; notify_reaction sets updated_at.
drop trigger if exists _100_timestamps on app_public.notifications;

create table if not exists app_public.notification_preferences (
  user_id uuid not null default app_public.current_user_id() references app_public.users (id) on delete cascade,
  type_id text not null references app_public.notification_types (id),
  channel app_public.notification_channel not null,
  enabled boolean not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, type_id, channel)
);
alter table app_public.notification_preferences enable row level security;
drop policy if exists select_own on app_public.notification_preferences;
create policy select_own on app_public.notification_preferences for select using (app_hidden.is_current_user(user_id));
drop policy if exists insert_own on app_public.notification_preferences;
create policy insert_own on app_public.notification_preferences for insert with check (app_hidden.is_current_user(user_id));
drop policy if exists update_own on app_public.notification_preferences;
create policy update_own on app_public.notification_preferences for update using (app_hidden.is_current_user(user_id));
drop policy if exists delete_own on app_public.notification_preferences;
create policy delete_own on app_public.notification_preferences for delete using (app_hidden.is_current_user(user_id));
grant select, delete on app_public.notification_preferences to authenticated;
grant insert (type_id, channel, enabled) on app_public.notification_preferences to authenticated;
grant update (enabled) on app_public.notification_preferences to authenticated;
comment on table app_public.notification_preferences is '@behavior -insert -update -delete
Your choices per notification type and channel, where they differ from the type''s defaults. Set them with setNotificationPreference.';
comment on column app_public.notification_preferences.user_id is 'The member: always you.';
comment on column app_public.notification_preferences.type_id is 'The notification type.';
comment on column app_public.notification_preferences.channel is 'in_app or email.';
comment on column app_public.notification_preferences.enabled is 'Whether you get this type on this channel. Security alerts cannot be turned off in the app.';
comment on column app_public.notification_preferences.updated_at is 'When you last changed it.';
create index if not exists notification_preferences_type_id_idx on app_public.notification_preferences (type_id);

create or replace function app_private.tg_notification_preferences__rules() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
begin
  if new.channel = 'in_app' and not new.enabled
     and exists (select 1 from app_public.notification_types t where t.id = new.type_id and t.in_app_required) then
    raise exception 'This notification type cannot be turned off in the app' using errcode = 'INVAL';
  end if;
  new.updated_at := now();
  return new;
end;
$$;
comment on function app_private.tg_notification_preferences__rules() is 'Trigger on notification_preferences: refuses turning off the in-app channel of a type that requires it (security alerts); sets updated_at.';
drop trigger if exists _200_rules on app_public.notification_preferences;
create trigger _200_rules before insert or update on app_public.notification_preferences
  for each row execute function app_private.tg_notification_preferences__rules();

create table if not exists app_public.notification_settings (
  user_id uuid primary key default app_public.current_user_id() references app_public.users (id) on delete cascade,
  email_digest app_public.notification_digest not null default 'immediate',
  last_digest_at timestamptz,
  updated_at timestamptz not null default now()
);
alter table app_public.notification_settings enable row level security;
drop policy if exists select_own on app_public.notification_settings;
create policy select_own on app_public.notification_settings for select using (app_hidden.is_current_user(user_id));
drop policy if exists insert_own on app_public.notification_settings;
create policy insert_own on app_public.notification_settings for insert with check (app_hidden.is_current_user(user_id));
drop policy if exists update_own on app_public.notification_settings;
create policy update_own on app_public.notification_settings for update using (app_hidden.is_current_user(user_id));
grant select on app_public.notification_settings to authenticated;
grant insert (email_digest) on app_public.notification_settings to authenticated;
grant update (email_digest) on app_public.notification_settings to authenticated;
comment on table app_public.notification_settings is '@behavior -insert -update -delete
Your notification e-mail settings (absent: immediate). Change with setNotificationEmailDigest.';
comment on column app_public.notification_settings.user_id is 'The member: always you.';
comment on column app_public.notification_settings.email_digest is 'immediate, hourly, daily or off.';
comment on column app_public.notification_settings.last_digest_at is 'When your last digest mail was prepared. Set by the database.';
comment on column app_public.notification_settings.updated_at is 'When you last changed the settings.';

create or replace function app_private.tg_notification_settings__touch() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function app_private.tg_notification_settings__touch() is 'Trigger on notification_settings: sets updated_at.';
drop trigger if exists _100_timestamps on app_public.notification_settings;
create trigger _100_timestamps before insert or update on app_public.notification_settings
  for each row execute function app_private.tg_notification_settings__touch();

-- Preferences ----------------------------------------------------------------

create or replace function app_private.notification_wanted(user_id uuid, type_id text, channel app_public.notification_channel)
  returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select coalesce(
    (select p.enabled from app_public.notification_preferences p
      where p.user_id = notification_wanted.user_id and p.type_id = notification_wanted.type_id
        and p.channel = notification_wanted.channel),
    (select case when notification_wanted.channel = 'in_app' then t.default_in_app else t.default_email end
       from app_public.notification_types t where t.id = notification_wanted.type_id),
    false)
$$;
comment on function app_private.notification_wanted(uuid, text, app_public.notification_channel) is 'Whether a member gets a type on a channel: their preference, else the type''s default.';

create or replace function app_private.notification_blocked(recipient_id uuid, actor_id uuid) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  -- Seam: blocks do not exist yet. When they land, answer true when either member blocked the other.
  select false
$$;
comment on function app_private.notification_blocked(uuid, uuid) is 'Whether a block between recipient and actor suppresses the notification. Always false until blocks exist (the seam docs/notifications.md describes).';

create or replace function app_public.set_notification_preference(type_id text, channel app_public.notification_channel, enabled boolean)
  returns app_public.notification_preferences
  language sql volatile
as $$
  insert into app_public.notification_preferences (type_id, channel, enabled)
  values (set_notification_preference.type_id, set_notification_preference.channel, set_notification_preference.enabled)
  on conflict (user_id, type_id, channel) do update set enabled = excluded.enabled
  returning *
$$;
grant execute on function app_public.set_notification_preference(text, app_public.notification_channel, boolean) to authenticated;
comment on function app_public.set_notification_preference(text, app_public.notification_channel, boolean) is 'Turns one notification type on or off on one channel for you. Security alerts cannot be turned off in the app (INVAL).';

create or replace function app_public.set_notification_email_digest(email_digest app_public.notification_digest)
  returns app_public.notification_settings
  language sql volatile
as $$
  insert into app_public.notification_settings (email_digest) values (set_notification_email_digest.email_digest)
  on conflict (user_id) do update set email_digest = excluded.email_digest
  returning *
$$;
grant execute on function app_public.set_notification_email_digest(app_public.notification_digest) to authenticated;
comment on function app_public.set_notification_email_digest(app_public.notification_digest) is 'Chooses how your notification e-mails come: immediate, hourly, daily (one mail batching what is pending) or off.';

-- Creating notifications ---------------------------------------------------------

create or replace function app_private.notify(recipient_id uuid, type_id text, actor_id uuid,
    post_id uuid default null, question_id uuid default null, answer_id uuid default null,
    comment_id uuid default null, detail jsonb default '{}')
  returns uuid
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_in_app boolean;
  v_id uuid;
begin
  if recipient_id is null or recipient_id = actor_id
     or app_private.notification_blocked(recipient_id, actor_id) then
    return null;
  end if;
  v_in_app := app_private.notification_wanted(recipient_id, type_id, 'in_app');
  if not v_in_app and not app_private.notification_wanted(recipient_id, type_id, 'email') then
    return null;
  end if;
  insert into app_public.notifications
    (recipient_id, type_id, actor_id, last_actor_ids, post_id, question_id, answer_id, comment_id, detail, is_in_app)
  values (notify.recipient_id, notify.type_id, notify.actor_id,
          case when notify.actor_id is null then '{}' else array[notify.actor_id] end,
          notify.post_id, notify.question_id, notify.answer_id, notify.comment_id, coalesce(notify.detail, '{}'), v_in_app)
  returning id into v_id;
  return v_id;
end;
$$;
comment on function app_private.notify(uuid, text, uuid, uuid, uuid, uuid, uuid, jsonb) is 'Creates one notification, unless the recipient is the actor, a block separates them, or the recipient turned the type off on every channel. Every trigger below goes through it.';

create or replace function app_private.content_author(post_id uuid, question_id uuid, answer_id uuid, comment_id uuid)
  returns uuid
  language sql stable
  set search_path = pg_catalog, public
as $$
  select case
    when post_id is not null then (select p.author_id from app_public.posts p where p.id = post_id)
    when question_id is not null then (select q.author_id from app_public.questions q where q.id = question_id)
    when answer_id is not null then (select a.author_id from app_public.answers a where a.id = answer_id)
    when comment_id is not null then (select c.author_id from app_public.comments c where c.id = comment_id)
  end
$$;
comment on function app_private.content_author(uuid, uuid, uuid, uuid) is 'The author of the one post, question, answer or comment given.';

create or replace function app_private.tg_follows__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  perform app_private.notify(new.followee_id, 'new_follower', new.follower_id);
  return null;
end;
$$;
comment on function app_private.tg_follows__notify() is 'Trigger on follows (security definer: writes notifications for another member): notifies the followee.';
drop trigger if exists _700_notify on app_public.follows;
create trigger _700_notify after insert on app_public.follows
  for each row execute function app_private.tg_follows__notify();

create or replace function app_private.tg_comments__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_parent_author uuid;
  v_target_author uuid;
begin
  -- Only what everyone may see: a published comment under published parents.
  if new.status <> 'published' or new.document_id is not null
     or not app_hidden.content_is_open(null, null, null, new.id) then
    return null;
  end if;
  if new.parent_id is not null then
    select c.author_id into v_parent_author from app_public.comments c where c.id = new.parent_id;
    perform app_private.notify(v_parent_author, 'reply_to_comment', new.author_id,
                               new.post_id, new.question_id, new.answer_id, new.id);
  end if;
  v_target_author := app_private.content_author(new.post_id, new.question_id, new.answer_id, null);
  if v_target_author is distinct from v_parent_author then
    perform app_private.notify(v_target_author, 'comment_on_content', new.author_id,
                               new.post_id, new.question_id, new.answer_id, new.id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_comments__notify() is 'Trigger on comments (security definer: writes notifications for other members): notifies the parent comment''s author of a reply and the target''s author of a comment (once, when they are the same member).';
drop trigger if exists _700_notify on app_public.comments;
create trigger _700_notify after insert on app_public.comments
  for each row execute function app_private.tg_comments__notify();

create or replace function app_private.tg_answers__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if new.status <> 'published' or (tg_op = 'UPDATE' and old.status <> 'draft')
     or not app_hidden.content_is_open(null, null, new.id, null) then
    return null;
  end if;
  perform app_private.notify(app_private.content_author(null, new.question_id, null, null), 'answer_to_question',
                             new.author_id, null, new.question_id, new.id);
  return null;
end;
$$;
comment on function app_private.tg_answers__notify() is 'Trigger on answers (security definer: writes notifications for another member): notifies the question''s author when an answer is published (written published, or a draft published).';
drop trigger if exists _700_notify on app_public.answers;
create trigger _700_notify after insert or update of status on app_public.answers
  for each row execute function app_private.tg_answers__notify();

create or replace function app_private.tg_questions__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if new.accepted_answer_id is not null and new.accepted_answer_id is distinct from old.accepted_answer_id
     and app_hidden.content_is_open(null, null, new.accepted_answer_id, null) then
    perform app_private.notify(app_private.content_author(null, null, new.accepted_answer_id, null), 'answer_accepted',
                               coalesce(app_public.current_user_id(), new.author_id), null, new.id, new.accepted_answer_id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_questions__notify() is 'Trigger on questions (security definer: writes notifications for another member): notifies an answer''s author when it is accepted.';
drop trigger if exists _700_notify on app_public.questions;
create trigger _700_notify after update of accepted_answer_id on app_public.questions
  for each row execute function app_private.tg_questions__notify();

-- Reactions: likes aggregate per target and window; a withdrawn like updates or removes its notification.
create or replace function app_private.notify_reaction(r app_public.reactions, added boolean) returns void
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_recipient uuid;
  v_existing app_public.notifications;
  v_keep int := (app_private.setting('notification.last_actors'))::int;
begin
  if r.document_id is not null then
    return;
  end if;
  v_recipient := app_private.content_author(r.post_id, r.question_id, r.answer_id, r.comment_id);
  if v_recipient is null or v_recipient = r.user_id then
    return;
  end if;
  -- The notification that holds this target's likes: the latest one, if it is within the window (adding)
  -- or was created before this like (withdrawing).
  select n.* into v_existing from app_public.notifications n
   where n.recipient_id = v_recipient and n.type_id = 'reaction'
     and n.post_id is not distinct from r.post_id and n.question_id is not distinct from r.question_id
     and n.answer_id is not distinct from r.answer_id and n.comment_id is not distinct from r.comment_id
     and (case when added
               then n.created_at > now() - (app_private.setting('notification.reaction_window') #>> '{}')::interval
               else n.created_at <= r.created_at end)
   order by n.created_at desc
   limit 1
   for update;
  if added then
    if v_existing.id is null then
      if app_hidden.content_is_open(r.post_id, r.question_id, r.answer_id, r.comment_id) then
        perform app_private.notify(v_recipient, 'reaction', r.user_id, r.post_id, r.question_id, r.answer_id, r.comment_id);
      end if;
    else
      update app_public.notifications n
         set actor_id = r.user_id,
             actor_count = n.actor_count + 1,
             last_actor_ids = (array[r.user_id] || array_remove(n.last_actor_ids, r.user_id))[1:v_keep],
             read_at = null,
             updated_at = now()
       where n.id = v_existing.id;
    end if;
  elsif v_existing.id is not null then
    if v_existing.actor_count <= 1 then
      delete from app_public.notifications n where n.id = v_existing.id;
    else
      update app_public.notifications n
         set actor_count = n.actor_count - 1,
             last_actor_ids = array_remove(n.last_actor_ids, r.user_id),
             actor_id = coalesce((array_remove(n.last_actor_ids, r.user_id))[1], n.actor_id)
       where n.id = v_existing.id;
    end if;
  end if;
end;
$$;
comment on function app_private.notify_reaction(app_public.reactions, boolean) is 'Adds a like to (or withdraws it from) the aggregated reaction notification of its target: one per target per notification.reaction_window setting.';

create or replace function app_private.tg_reactions__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Only likes notify ("Ana and 4 others liked your post"); dislikes never do.
  if tg_op in ('UPDATE', 'DELETE') and old.kind = 'like' then
    perform app_private.notify_reaction(old, false);
  end if;
  if tg_op in ('INSERT', 'UPDATE') and new.kind = 'like' then
    perform app_private.notify_reaction(new, true);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_reactions__notify() is 'Trigger on reactions (security definer: writes notifications for another member): a like adds to its target''s aggregated notification, an unlike or a switch to dislike withdraws it.';
drop trigger if exists _700_notify on app_public.reactions;
create trigger _700_notify after insert or delete or update of kind on app_public.reactions
  for each row execute function app_private.tg_reactions__notify();

create or replace function app_private.tg_security_events__notify() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
declare
  v_event text;
begin
  v_event := case new.kind
    when 'password_changed' then 'password_changed'
    when 'password_reset' then 'password_changed'
    when 'primary_email_changed' then 'email_changed'
    when 'refresh_token_reused' then 'session_revoked_reuse'
    when 'login' then 'new_sign_in'
  end;
  if v_event is null or new.user_id is null then
    return null;
  end if;
  -- A sign-in is news only from an address this member never signed in from (the first sign-in is not).
  if new.kind = 'login' and (
       new.ip is null
       or not exists (select 1 from app_private.security_events e
                       where e.user_id = new.user_id and e.kind = 'login' and e.id < new.id)
       or exists (select 1 from app_private.security_events e
                   where e.user_id = new.user_id and e.kind = 'login' and e.id < new.id and e.ip = new.ip)) then
    return null;
  end if;
  perform app_private.notify(new.user_id, 'security_alert', null, detail =>
    jsonb_strip_nulls(jsonb_build_object('event', v_event, 'ip', host(new.ip))));
  return null;
end;
$$;
comment on function app_private.tg_security_events__notify() is 'Trigger on security_events: a security alert for a sign-in from a new IP address, a password change or reset, a primary e-mail change, and a session revoked by refresh-token reuse.';
drop trigger if exists _700_notify on app_private.security_events;
create trigger _700_notify after insert on app_private.security_events
  for each row execute function app_private.tg_security_events__notify();

-- Delivery -------------------------------------------------------------------

create or replace function app_private.tg_notifications__deliver() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Live seam: realtime does not exist yet; a subscription will LISTEN on this per-member topic.
  if new.is_in_app then
    perform pg_notify('notifications:' || new.recipient_id::text,
                      json_build_object('event', lower(tg_op), 'id', new.id)::text);
  end if;
  if tg_op = 'INSERT' and app_private.notification_wanted(new.recipient_id, new.type_id, 'email')
     and coalesce((select s.email_digest from app_public.notification_settings s where s.user_id = new.recipient_id),
                  'immediate') = 'immediate'
     and exists (select 1 from app_public.user_emails e
                  where e.user_id = new.recipient_id and e.is_primary and e.is_verified) then
    perform app_private.add_job('send_notification_email', json_build_object('notificationId', new.id),
                                job_key => 'notification_email:' || new.id::text);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_notifications__deliver() is 'Trigger on notifications (security definer: members marking read cannot read settings or e-mail addresses): announces it on the pg_notify topic notifications:<recipient id> (the live seam) and enqueues its e-mail when the member wants it immediately and has a verified primary address.';
drop trigger if exists _500_deliver on app_public.notifications;
create trigger _500_deliver after insert or update of read_at, actor_count, last_actor_ids on app_public.notifications
  for each row execute function app_private.tg_notifications__deliver();

create table if not exists app_private.notification_secrets (
  id boolean primary key default true,
  unsubscribe_key bytea not null default public.gen_random_bytes(32),
  constraint notification_secrets_one_row check (id)
);
comment on table app_private.notification_secrets is 'The key that signs one-click unsubscribe links (HMAC-SHA256), generated once per database.';
insert into app_private.notification_secrets default values on conflict do nothing;

create or replace function app_private.unsubscribe_token(user_id uuid, type_id text) returns text
  language sql stable
  set search_path = pg_catalog, public
as $$
  select user_id::text || '.' || type_id || '.' ||
         encode(public.hmac(convert_to(user_id::text || ':' || type_id || ':email', 'UTF8'), s.unsubscribe_key, 'sha256'), 'hex')
    from app_private.notification_secrets s
$$;
comment on function app_private.unsubscribe_token(uuid, text) is 'The signed token of a one-click unsubscribe link: member, type and an HMAC of both.';

create or replace function app_private.unsubscribe(token text) returns boolean
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_parts text[] := string_to_array(token, '.');
  v_user uuid;
begin
  if cardinality(v_parts) <> 3 or v_parts[1] !~ '^[0-9a-f-]{36}$' then
    return false;
  end if;
  v_user := v_parts[1]::uuid;
  if app_private.unsubscribe_token(v_user, v_parts[2]) is distinct from token then
    return false;
  end if;
  if v_parts[2] = 'digest' then
    insert into app_public.notification_settings (user_id, email_digest) values (v_user, 'off')
    on conflict (user_id) do update set email_digest = 'off';
    return true;
  end if;
  if not exists (select 1 from app_public.notification_types t where t.id = v_parts[2]) then
    return false;
  end if;
  insert into app_public.notification_preferences (user_id, type_id, channel, enabled)
  values (v_user, v_parts[2], 'email', false)
  on conflict (user_id, type_id, channel) do update set enabled = false;
  return true;
end;
$$;
comment on function app_private.unsubscribe(text) is 'One-click unsubscribe: verifies the signed token and turns that type''s e-mails off for its member (a digest''s token, type "digest", turns the digest off). False for a bad token.';

create or replace function app_private.claim_notification_email(notification_id uuid,
    out email text, out type_id text, out actor_name text, out actor_count int, out target_title text,
    out detail jsonb, out unsubscribe_token text)
  language sql volatile
  set search_path = pg_catalog, public
as $$
  -- Locks the notification until the sending transaction ends: a retried or concurrent job waits, then sees emailed_at.
  with n as (
    select n.* from app_public.notifications n
     where n.id = notification_id and n.emailed_at is null
       and app_private.notification_wanted(n.recipient_id, n.type_id, 'email')
     for update
  )
  select e.email::text, n.type_id,
         coalesce(u.display_name, u.username::text), n.actor_count,
         coalesce(p.title, q.title, aq.title, cp.title, cq.title),
         n.detail, app_private.unsubscribe_token(n.recipient_id, n.type_id)
    from n
    join app_public.user_emails e on e.user_id = n.recipient_id and e.is_primary and e.is_verified
    left join app_public.users u on u.id = n.actor_id
    left join app_public.posts p on p.id = n.post_id
    left join app_public.questions q on q.id = n.question_id
    left join app_public.answers a on a.id = n.answer_id
    left join app_public.questions aq on aq.id = a.question_id
    left join app_public.comments c on c.id = n.comment_id
    left join app_public.posts cp on cp.id = c.post_id
    left join app_public.questions cq on cq.id = c.question_id
$$;
comment on function app_private.claim_notification_email(uuid) is 'What the send_notification_email task needs to mail one notification, locking it; no row when it was already mailed, the member no longer wants it, or has no verified primary address.';

create or replace function app_private.mark_notification_emailed(notification_id uuid) returns void
  language sql volatile
  set search_path = pg_catalog, public
as $$
  update app_public.notifications n set emailed_at = now() where n.id = notification_id
$$;
comment on function app_private.mark_notification_emailed(uuid) is 'Records that a notification''s e-mail was sent (in the sending transaction).';

-- Reading --------------------------------------------------------------------

create or replace function app_public.current_user_notifications(only_unread boolean default false, type_id text default null)
  returns setof app_public.notifications
  language sql stable
as $$
  select n.* from app_public.notifications n
   where n.recipient_id = app_public.current_user_id() and n.is_in_app
     and (not coalesce(only_unread, false) or n.read_at is null)
     and (current_user_notifications.type_id is null or n.type_id = current_user_notifications.type_id)
   order by n.updated_at desc, n.id desc
$$;
grant execute on function app_public.current_user_notifications(boolean, text) to authenticated;
comment on function app_public.current_user_notifications(boolean, text) is '@sortable false
Your notifications, newest first (by last change); onlyUnread and typeId filter them.';

create or replace function app_public.current_user_unread_notification_count() returns integer
  language sql stable
as $$
  select count(*)::int from app_public.notifications n
   where n.recipient_id = app_public.current_user_id() and n.read_at is null and n.is_in_app
$$;
grant execute on function app_public.current_user_unread_notification_count() to authenticated;
comment on function app_public.current_user_unread_notification_count() is 'How many of your notifications are unread (one index-only count).';

create or replace function app_public.mark_notifications_read(notification_ids uuid[]) returns integer
  language sql volatile
as $$
  with marked as (
    update app_public.notifications n set read_at = now()
     where n.id = any (notification_ids) and n.read_at is null
       and n.recipient_id = app_public.current_user_id()
    returning 1)
  select count(*)::int from marked
$$;
grant execute on function app_public.mark_notifications_read(uuid[]) to authenticated;
comment on function app_public.mark_notifications_read(uuid[]) is 'Marks one or several of your notifications read; returns how many changed (others'' ids are ignored).';

create or replace function app_public.mark_all_notifications_read() returns integer
  language sql volatile
as $$
  with marked as (
    update app_public.notifications n set read_at = now()
     where n.recipient_id = app_public.current_user_id() and n.read_at is null
    returning 1)
  select count(*)::int from marked
$$;
grant execute on function app_public.mark_all_notifications_read() to authenticated;
comment on function app_public.mark_all_notifications_read() is 'Marks all your notifications read; returns how many changed.';

-- Digests: hourly or daily, one mail batching every notification still waiting for its e-mail.

create or replace function app_private.pending_notification_emails(user_id uuid)
  returns setof app_public.notifications
  language sql stable
  set search_path = pg_catalog, public
as $$
  select n.* from app_public.notifications n
   where n.recipient_id = pending_notification_emails.user_id and n.emailed_at is null
     and app_private.notification_wanted(n.recipient_id, n.type_id, 'email')
   order by n.created_at
$$;
comment on function app_private.pending_notification_emails(uuid) is 'A member''s notifications that want an e-mail and have not had one: what a digest batches.';

create or replace function app_private.enqueue_notification_digests() returns integer
  language sql volatile
  set search_path = pg_catalog, public
as $$
  with due as (
    select s.user_id from app_public.notification_settings s
     where (s.email_digest = 'hourly' and (s.last_digest_at is null or s.last_digest_at <= now() - interval '1 hour' + interval '1 minute'))
        or (s.email_digest = 'daily' and (s.last_digest_at is null or s.last_digest_at <= now() - interval '1 day' + interval '1 minute'))
  ), queued as (
    select app_private.add_job('send_notification_digest', json_build_object('userId', due.user_id),
                               job_key => 'notification_digest:' || due.user_id::text)
      from due
     where exists (select 1 from app_private.pending_notification_emails(due.user_id))
  )
  select count(*)::int from queued
$$;
comment on function app_private.enqueue_notification_digests() is 'Enqueues one send_notification_digest job per member whose hourly or daily digest is due and has something pending (run by the hourly cron task).';

create or replace function app_private.claim_notification_digest(user_id uuid,
    out email text, out notification_id uuid, out type_id text, out actor_name text, out actor_count int,
    out target_title text, out detail jsonb, out unsubscribe_token text)
  returns setof record
  language sql volatile
  set search_path = pg_catalog, public
as $$
  -- Locks the member's settings row until the sending transaction ends, so a retried job waits and then finds nothing pending.
  with s as (
    select s.user_id from app_public.notification_settings s
     where s.user_id = claim_notification_digest.user_id and s.email_digest in ('hourly', 'daily')
     for update
  )
  select e.email::text, n.id, n.type_id, coalesce(u.display_name, u.username::text), n.actor_count,
         coalesce(p.title, q.title, aq.title, cp.title, cq.title), n.detail,
         app_private.unsubscribe_token(s.user_id, 'digest')
    from s
    join app_public.user_emails e on e.user_id = s.user_id and e.is_primary and e.is_verified
    cross join lateral app_private.pending_notification_emails(s.user_id) n
    left join app_public.users u on u.id = n.actor_id
    left join app_public.posts p on p.id = n.post_id
    left join app_public.questions q on q.id = n.question_id
    left join app_public.answers a on a.id = n.answer_id
    left join app_public.questions aq on aq.id = a.question_id
    left join app_public.comments c on c.id = n.comment_id
    left join app_public.posts cp on cp.id = c.post_id
    left join app_public.questions cq on cq.id = c.question_id
   order by n.created_at
$$;
comment on function app_private.claim_notification_digest(uuid) is 'The pending notifications of a member''s digest, with the address and an unsubscribe token; locks the member''s settings. No rows when nothing is pending, the digest is not hourly/daily, or the address is unverified.';

create or replace function app_private.mark_notification_digest_sent(user_id uuid, notification_ids uuid[]) returns void
  language sql volatile
  set search_path = pg_catalog, public
as $$
  update app_public.notifications n set emailed_at = now()
   where n.id = any (notification_ids) and n.recipient_id = mark_notification_digest_sent.user_id;
  update app_public.notification_settings s set last_digest_at = now() where s.user_id = mark_notification_digest_sent.user_id;
$$;
comment on function app_private.mark_notification_digest_sent(uuid, uuid[]) is 'Records a sent digest: its notifications are e-mailed, and the member''s last_digest_at moves.';

-- Retention: read notifications older than a setting are pruned, in batches, by an hourly cron task.

insert into app_private.settings (key, value, description) values
  ('notification.retention', '"90 days"', 'Read notifications older than this (since they were read) are deleted by the prune_notifications task')
on conflict (key) do nothing;
create index if not exists notifications_read_at_idx on app_public.notifications (read_at) where read_at is not null;

create or replace function app_private.prune_notifications(batch_size integer default 10000) returns integer
  language sql volatile
  set search_path = pg_catalog, public
as $$
  with doomed as (
    select n.id from app_public.notifications n
     where n.read_at < now() - (app_private.setting('notification.retention') #>> '{}')::interval
     limit batch_size
     for update skip locked
  ), pruned as (
    delete from app_public.notifications n using doomed where n.id = doomed.id returning 1
  )
  select count(*)::int from pruned
$$;
comment on function app_private.prune_notifications(integer) is 'Deletes up to batch_size notifications read longer ago than the notification.retention setting; returns how many. The prune_notifications task calls it until a batch comes back short.';

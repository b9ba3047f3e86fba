--! Previous: sha1:90e2dc52e61c396e47627e21fc20c0fa756e20e9
--! Hash: sha1:4ee291d06f645c088bfc6b877ead4b41a47cf6d0
--! Message: chat link previews, welcome bot and read receipts; realtime; moderation; documents and file slots; notification wiring for jobs, badges and announcements; one maintained search table

-- === notification wiring: jobs, badges, announcements ===
-- docs/notifications.md: the trigger point of every type. This section wires
-- the types whose sources landed in 000011 (job applications, job postings in
-- followed categories, badges) and adds announcements. Every creation path
-- applies the same rules as app_private.notify (not to the actor, not across
-- a block, not when the type is off on both channels); the set-based paths
-- get them from app_private.notification_recipients.

insert into app_private.settings (key, value, description) values
  ('notification.fanout_batch', '5000', 'How many members one fan-out statement (announcements, jobs in a followed category) handles; each batch is its own short transaction')
on conflict (key) do nothing;

update app_public.notification_types t set trigger_point = v.trigger_point
  from (values
    ('job_application_received', 'job_applications: after insert (_700_notify), for the job''s employer'),
    ('application_status_changed', 'job_applications: after update of status (_700_notify), for the applicant unless they made the change (withdrawal)'),
    ('job_posted_in_category', 'job_postings: after insert or update of status when a job in a category first becomes active (_700_notify); fanned out to the category''s followers by the fan_out_notifications job'),
    ('badge_earned', 'user_badges: after insert, per statement (_700_notify): awards on the event and by the award_badges job'),
    ('announcement', 'sendAnnouncement (app_public.send_announcement); fanned out to every member or a role''s holders by the fan_out_notifications job')
  ) as v (id, trigger_point)
 where t.id = v.id;

insert into app_public.permissions (id, description)
  values ('announcement:send', 'Send announcements to every member or to the holders of a role')
  on conflict (id) do update set description = excluded.description;
insert into app_public.role_permissions (role_id, permission_id) values ('admin', 'announcement:send')
  on conflict do nothing;

-- Announcements ---------------------------------------------------------------

create or replace function app_hidden.announcement_audience_includes_me(role_id text) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select (select app_public.current_user_id()) is not null
     and (role_id is null
          or (select app_public.current_user_has_permission('announcement:send'))
          or exists (select 1 from app_public.user_roles ur
                      where ur.user_id = (select app_public.current_user_id()) and ur.role_id = announcement_audience_includes_me.role_id
                        and (ur.expires_at is null or ur.expires_at > now())))
$$;
grant execute on function app_hidden.announcement_audience_includes_me(text) to anonymous, authenticated;
comment on function app_hidden.announcement_audience_includes_me(text) is 'The announcements'' read rule: a signed-in member sees announcements to everyone, those to a role they hold, and all of them when they may send announcements.';

create table if not exists app_public.announcements (
  id uuid primary key default gen_random_uuid(),
  author_id uuid references app_public.users (id) on delete set null,
  role_id text references app_public.roles (id) on delete cascade,
  title text not null constraint announcement_title_length check (char_length(title) between 1 and 200),
  body text not null constraint announcement_body_length check (char_length(body) between 1 and 5000),
  recipient_count integer not null default 0,
  created_at timestamptz not null default now(),
  delivered_at timestamptz
);
alter table app_public.announcements enable row level security;
drop policy if exists select_audience on app_public.announcements;
create policy select_audience on app_public.announcements for select
  using (app_hidden.announcement_audience_includes_me(role_id));
grant select on app_public.announcements to authenticated;
comment on table app_public.announcements is '@behavior -insert -update -delete
A message from the administrators to every member or to the holders of one role, delivered as an announcement notification. Sent with sendAnnouncement; seen by its audience and by the members who may send announcements.';
comment on column app_public.announcements.id is 'The announcement''s id.';
comment on column app_public.announcements.author_id is 'The administrator who sent it; null if that account is gone.';
comment on column app_public.announcements.role_id is 'The role whose holders it is for; null: every member.';
comment on column app_public.announcements.title is 'The headline, 1–200 characters.';
comment on column app_public.announcements.body is 'The text, 1–5000 characters (plain text).';
comment on column app_public.announcements.recipient_count is 'How many notifications it created so far (members who turned announcements off, or blocked the sender, are not counted). Set by the database.';
comment on column app_public.announcements.created_at is 'When it was sent.';
comment on column app_public.announcements.delivered_at is 'When its fan-out finished; null while notifications are still being created.';
create index if not exists announcements_author_id_idx on app_public.announcements (author_id);
create index if not exists announcements_role_id_idx on app_public.announcements (role_id);

-- Notification targets of the new types -------------------------------------------

alter table app_public.notifications
  add column if not exists job_posting_id uuid references app_public.job_postings (id) on delete set null,
  add column if not exists job_application_id uuid references app_public.job_applications (id) on delete set null,
  add column if not exists badge_id text references app_public.badges (id) on delete set null,
  add column if not exists announcement_id uuid references app_public.announcements (id) on delete set null;
comment on column app_public.notifications.job_posting_id is 'The job concerned (applied to, or posted in a category you follow), for deep links; null when none or deleted.';
comment on column app_public.notifications.job_application_id is 'The job application concerned (received, or whose status changed); null when none or deleted.';
comment on column app_public.notifications.badge_id is 'The badge you earned (badge_earned); null otherwise.';
comment on column app_public.notifications.announcement_id is 'The announcement (announcement); null otherwise or when deleted.';
comment on column app_public.notifications.detail is 'Extra facts: for security alerts {"event": "new_sign_in" | "password_changed" | "email_changed" | "session_revoked_reuse", "ip": …}; for job types {"title": the job''s title at the time, and for status changes "from", "to"}; for badges {"badge": its name, "class"}; for announcements {"title"}.';
create index if not exists notifications_job_posting_id_idx on app_public.notifications (job_posting_id) where job_posting_id is not null;
create index if not exists notifications_job_application_id_idx on app_public.notifications (job_application_id) where job_application_id is not null;
create index if not exists notifications_badge_id_idx on app_public.notifications (badge_id) where badge_id is not null;
create index if not exists notifications_announcement_id_idx on app_public.notifications (announcement_id) where announcement_id is not null;

-- The same rules as app_private.notify, for many recipients at once.
create or replace function app_private.notification_recipients(user_ids uuid[], type_id text, actor_id uuid)
  returns table (user_id uuid, in_app boolean)
  language sql stable
  set search_path = pg_catalog, public
as $$
  select r.id, coalesce(pi.enabled, t.default_in_app)
    from unnest(user_ids) as r (id)
    join app_public.notification_types t on t.id = notification_recipients.type_id
    left join app_public.notification_preferences pi
      on pi.user_id = r.id and pi.type_id = t.id and pi.channel = 'in_app'
    left join app_public.notification_preferences pe
      on pe.user_id = r.id and pe.type_id = t.id and pe.channel = 'email'
   where r.id is not null
     and r.id is distinct from notification_recipients.actor_id
     and (coalesce(pi.enabled, t.default_in_app) or coalesce(pe.enabled, t.default_email))
     and (notification_recipients.actor_id is null
          or not app_private.notification_blocked(r.id, notification_recipients.actor_id))
$$;
comment on function app_private.notification_recipients(uuid[], text, uuid) is 'Of the members given, those who get a notification of this type from this actor, with whether it shows in the app: the rules of app_private.notify (not the actor, no block between them, the type on in at least one channel), set-based.';

-- Fan-outs: one notification per member of an audience, in keyset batches ----------

create table if not exists app_private.notification_fanouts (
  id bigint primary key generated always as identity,
  type_id text not null references app_public.notification_types (id),
  actor_id uuid references app_public.users (id) on delete set null,
  audience text not null constraint notification_fanout_audience check (audience in ('everyone', 'role', 'category_followers')),
  role_id text references app_public.roles (id) on delete cascade,
  category_id uuid references app_public.categories (id) on delete cascade,
  job_posting_id uuid references app_public.job_postings (id) on delete cascade,
  announcement_id uuid references app_public.announcements (id) on delete cascade,
  detail jsonb not null default '{}',
  after_user_id uuid,
  recipient_count integer not null default 0,
  created_at timestamptz not null default now(),
  finished_at timestamptz,
  constraint notification_fanout_audience_key check (
    (audience = 'role') = (role_id is not null) and (audience = 'category_followers') = (category_id is not null))
);
comment on table app_private.notification_fanouts is 'A notification to many members (announcements, a job posted in a followed category), created in batches by the fan_out_notifications task. after_user_id is the keyset cursor: a retried or duplicated job continues where the last committed batch ended, never twice.';
create index if not exists notification_fanouts_job_posting_id_idx on app_private.notification_fanouts (job_posting_id);
create index if not exists notification_fanouts_announcement_id_idx on app_private.notification_fanouts (announcement_id);
create index if not exists notification_fanouts_actor_id_idx on app_private.notification_fanouts (actor_id);
create index if not exists notification_fanouts_role_id_idx on app_private.notification_fanouts (role_id);
create index if not exists notification_fanouts_category_id_idx on app_private.notification_fanouts (category_id);

-- Keyset scans of an audience by user id.
drop index if exists app_public.category_follows_category_id_idx;
create index if not exists category_follows_category_user_idx on app_public.category_follows (category_id, user_id);
drop index if exists app_public.user_roles_role_id_idx;
create index if not exists user_roles_role_user_idx on app_public.user_roles (role_id, user_id);

create or replace function app_private.start_fanout(type_id text, actor_id uuid, audience text,
    role_id text default null, category_id uuid default null, job_posting_id uuid default null,
    announcement_id uuid default null, detail jsonb default '{}')
  returns bigint
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_id bigint;
begin
  insert into app_private.notification_fanouts (type_id, actor_id, audience, role_id, category_id, job_posting_id, announcement_id, detail)
  values (start_fanout.type_id, start_fanout.actor_id, start_fanout.audience, start_fanout.role_id, start_fanout.category_id,
          start_fanout.job_posting_id, start_fanout.announcement_id, coalesce(start_fanout.detail, '{}'))
  returning id into v_id;
  perform app_private.add_job('fan_out_notifications', json_build_object('fanoutId', v_id),
                              job_key => 'notification_fanout:' || v_id::text);
  return v_id;
end;
$$;
comment on function app_private.start_fanout(text, uuid, text, text, uuid, uuid, uuid, jsonb) is 'Records a fan-out to an audience (everyone, the holders of role_id, the followers of category_id) and enqueues the fan_out_notifications job that creates its notifications, in the caller''s transaction.';

create or replace function app_private.fan_out_notifications(fanout_id bigint, batch_size integer default null)
  returns boolean
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_batch int := coalesce(batch_size, (app_private.setting('notification.fanout_batch'))::int);
  v_f app_private.notification_fanouts;
  v_ids uuid[];
  v_created int;
  v_cursor uuid;
begin
  -- The row lock makes a duplicated job wait for this batch, then continue after it.
  select * into v_f from app_private.notification_fanouts f where f.id = fanout_id and f.finished_at is null
     for no key update;
  if not found then
    return false;
  end if;
  v_cursor := coalesce(v_f.after_user_id, '00000000-0000-0000-0000-000000000000');
  -- A job that left active before its fan-out ended is no longer news.
  if v_f.job_posting_id is not null
     and not exists (select 1 from app_public.job_postings j where j.id = v_f.job_posting_id and j.status = 'active') then
    v_ids := '{}';
  elsif v_f.audience = 'everyone' then
    v_ids := array(select u.id from app_public.users u
                    where u.id > v_cursor and u.is_active
                    order by u.id limit v_batch);
  elsif v_f.audience = 'role' then
    v_ids := array(select ur.user_id from app_public.user_roles ur join app_public.users u on u.id = ur.user_id
                    where ur.role_id = v_f.role_id and ur.user_id > v_cursor and u.is_active
                      and (ur.expires_at is null or ur.expires_at > now())
                    order by ur.user_id limit v_batch);
  else
    v_ids := array(select cf.user_id from app_public.category_follows cf join app_public.users u on u.id = cf.user_id
                    where cf.category_id = v_f.category_id and cf.user_id > v_cursor and u.is_active
                    order by cf.user_id limit v_batch);
  end if;

  insert into app_public.notifications
    (recipient_id, type_id, actor_id, last_actor_ids, job_posting_id, announcement_id, detail, is_in_app)
  select r.user_id, v_f.type_id, v_f.actor_id,
         case when v_f.actor_id is null then '{}' else array[v_f.actor_id] end,
         v_f.job_posting_id, v_f.announcement_id, v_f.detail, r.in_app
    from app_private.notification_recipients(v_ids, v_f.type_id, v_f.actor_id) r;
  get diagnostics v_created = row_count;

  update app_private.notification_fanouts f
     set after_user_id = coalesce(v_ids[cardinality(v_ids)], f.after_user_id),
         recipient_count = f.recipient_count + v_created,
         finished_at = case when cardinality(v_ids) < v_batch then now() end
   where f.id = v_f.id;
  if v_f.announcement_id is not null then
    update app_public.announcements a
       set recipient_count = a.recipient_count + v_created,
           delivered_at = case when cardinality(v_ids) < v_batch then now() end
     where a.id = v_f.announcement_id;
  end if;
  return cardinality(v_ids) = v_batch;
end;
$$;
comment on function app_private.fan_out_notifications(bigint, integer) is 'Creates the notifications of one batch of a fan-out (the next batch_size members by id after its cursor, default the notification.fanout_batch setting) and moves the cursor, in the caller''s transaction; true while members remain. The fan_out_notifications task calls it once per transaction until it returns false.';

create or replace function app_public.send_announcement(title text, body text, role_id text default null)
  returns app_public.announcements
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_me uuid := app_public.current_user_id();
  v_role text := nullif(send_announcement.role_id, 'user');
  v_a app_public.announcements;
begin
  -- Definer rights: writes the announcement and its fan-out, which no API role may; the permission is checked here.
  if v_me is null or not app_public.current_user_has_permission('announcement:send') then
    raise exception 'Only administrators may send announcements' using errcode = 'FORBD';
  end if;
  if v_role is not null and not exists (select 1 from app_public.roles r where r.id = v_role) then
    raise exception 'No such role' using errcode = 'NOTFD';
  end if;
  insert into app_public.announcements (author_id, role_id, title, body)
  values (v_me, v_role, send_announcement.title, send_announcement.body)
  returning * into v_a;
  perform app_private.start_fanout('announcement', v_me, case when v_role is null then 'everyone' else 'role' end,
    role_id => v_role, announcement_id => v_a.id, detail => jsonb_build_object('title', v_a.title));
  return v_a;
end;
$$;
revoke execute on function app_public.send_announcement(text, text, text) from public;
grant execute on function app_public.send_announcement(text, text, text) to authenticated;
comment on function app_public.send_announcement(text, text, text) is 'Sends an announcement (holders of announcement:send only, else FORBD) to every member, or to the holders of roleId (NOTFD if no such role; "user" means everyone). Its notifications are created by a background job in batches; recipientCount and deliveredAt show the progress.';

-- Job notifications ----------------------------------------------------------

create or replace function app_private.tg_job_applications__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_job app_public.job_postings;
  v_id uuid;
begin
  -- Definer rights: writes notifications for another member.
  select * into v_job from app_public.job_postings j where j.id = new.job_id;
  if tg_op = 'INSERT' then
    v_id := app_private.notify(v_job.employer_id, 'job_application_received', new.applicant_id,
                               detail => jsonb_build_object('title', v_job.title));
  elsif new.status is distinct from old.status then
    -- The actor is whoever changed it: the applicant's own withdrawal tells nobody; a change by the system (no member) tells the applicant.
    v_id := app_private.notify(new.applicant_id, 'application_status_changed', app_public.current_user_id(),
                               detail => jsonb_build_object('title', v_job.title, 'from', old.status, 'to', new.status));
  end if;
  if v_id is not null then
    update app_public.notifications n set job_posting_id = new.job_id, job_application_id = new.id where n.id = v_id;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_job_applications__notify() is 'Trigger on job_applications (security definer: writes notifications for another member): an application notifies the job''s employer; a status change notifies the applicant, unless the applicant made it (withdrawal).';
drop trigger if exists _700_notify on app_public.job_applications;
create trigger _700_notify after insert or update of status on app_public.job_applications
  for each row execute function app_private.tg_job_applications__notify();

create or replace function app_private.tg_job_postings__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Definer rights: starts a fan-out, which the employer may not write. Only the first publication is news
  -- (published_at is set once, by _200_rules, when the job first leaves draft).
  if new.status = 'active' and new.category_id is not null
     and (tg_op = 'INSERT' or old.published_at is null) then
    perform app_private.start_fanout('job_posted_in_category', new.employer_id, 'category_followers',
      category_id => new.category_id, job_posting_id => new.id, detail => jsonb_build_object('title', new.title));
  end if;
  return null;
end;
$$;
comment on function app_private.tg_job_postings__notify() is 'Trigger on job_postings (security definer): when a job in a category first becomes active, starts the fan-out that notifies the category''s followers (fan_out_notifications task).';
drop trigger if exists _700_notify on app_public.job_postings;
create trigger _700_notify after insert or update of status on app_public.job_postings
  for each row execute function app_private.tg_job_postings__notify();

create or replace function app_public.jobs_in_followed_categories() returns setof app_public.job_postings
  language sql stable
as $$
  select j.* from app_public.category_follows cf
    join app_public.job_postings j on j.category_id = cf.category_id
   where cf.user_id = app_public.current_user_id() and j.status = 'active'
   order by j.published_at desc, j.id desc
$$;
grant execute on function app_public.jobs_in_followed_categories() to authenticated;
comment on function app_public.jobs_in_followed_categories() is '@sortable false
Active jobs in the categories you follow (createCategoryFollow), newest first: job_postings_category_published_idx, per followed category.';

-- Badges ---------------------------------------------------------------------

create or replace function app_private.tg_user_badges__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Definer rights: writes notifications for the members awarded (awards come from triggers of others' actions and from the cron job).
  insert into app_public.notifications (recipient_id, type_id, actor_id, badge_id, detail, is_in_app)
  select n.user_id, 'badge_earned', null, n.badge_id, jsonb_build_object('badge', b.name, 'class', b.class), r.in_app
    from new_rows n
    join app_public.badges b on b.id = n.badge_id
    join app_private.notification_recipients(array(select distinct x.user_id from new_rows x), 'badge_earned', null) r
      on r.user_id = n.user_id;
  return null;
end;
$$;
comment on function app_private.tg_user_badges__notify() is 'Trigger on user_badges, per insert statement (set-based: the award_badges job awards many at once): a badge-earned notification for each award.';
drop trigger if exists _700_notify on app_public.user_badges;
create trigger _700_notify after insert on app_public.user_badges
  referencing new table as new_rows
  for each statement execute function app_private.tg_user_badges__notify();

-- Rules review of the types wired in 000011 ----------------------------------------

-- Reactions: the aggregate follows the rules of app_private.notify too. A like from a member a block
-- separates from the author neither joins nor leaves the aggregate, and a member who turned reactions off
-- on both channels is not brought an old aggregate back as unread.
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
  if v_recipient is null or v_recipient = r.user_id or app_private.notification_blocked(v_recipient, r.user_id) then
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
    if not app_hidden.content_is_open(r.post_id, r.question_id, r.answer_id, r.comment_id) then
      return;
    end if;
    if v_existing.id is null then
      perform app_private.notify(v_recipient, 'reaction', r.user_id, r.post_id, r.question_id, r.answer_id, r.comment_id);
    elsif app_private.notification_wanted(v_recipient, 'reaction', 'in_app')
          or app_private.notification_wanted(v_recipient, 'reaction', 'email') then
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
comment on function app_private.notify_reaction(app_public.reactions, boolean) is 'Adds a like to (or withdraws it from) the aggregated reaction notification of its target: one per target per notification.reaction_window setting. Likes across a block, on content no longer open, or to a member who turned reactions off leave it as it is.';

-- Content that is hidden or deleted takes back the notifications it caused, and those about it sent to
-- members other than its author: their recipients may no longer see it (and the item would still name its
-- author). Restoring it does not bring them back. Notifications about content nested deeper (a comment on an
-- answer under a hidden question, a like of a comment under a hidden post) are not followed.
create or replace function app_private.tg_content__withdraw_notifications() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Definer rights: deletes other members' notifications.
  if tg_table_name = 'comments' then
    delete from app_public.notifications n
     where n.comment_id = new.id and n.type_id in ('comment_on_content', 'reply_to_comment', 'mention');
  elsif tg_table_name = 'answers' then
    delete from app_public.notifications n
     where n.answer_id = new.id and n.type_id = 'answer_to_question';
  elsif tg_table_name = 'posts' then
    delete from app_public.notifications n where n.post_id = new.id and n.recipient_id <> new.author_id;
  else
    delete from app_public.notifications n where n.question_id = new.id and n.recipient_id <> new.author_id;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_content__withdraw_notifications() is 'Trigger on comments, answers, posts and questions (security definer: deletes other members'' notifications) when one becomes hidden or deleted: deletes the notifications a comment or answer caused (comment, reply, mention; answer to a question), and those about a post or question sent to anyone but its author.';
drop trigger if exists _705_withdraw_notifications on app_public.comments;
create trigger _705_withdraw_notifications after update of status on app_public.comments
  for each row when (new.status in ('hidden', 'deleted') and old.status not in ('hidden', 'deleted'))
  execute function app_private.tg_content__withdraw_notifications();
drop trigger if exists _705_withdraw_notifications on app_public.answers;
create trigger _705_withdraw_notifications after update of status on app_public.answers
  for each row when (new.status in ('hidden', 'deleted') and old.status not in ('hidden', 'deleted'))
  execute function app_private.tg_content__withdraw_notifications();
drop trigger if exists _705_withdraw_notifications on app_public.posts;
create trigger _705_withdraw_notifications after update of status on app_public.posts
  for each row when (new.status in ('hidden', 'deleted') and old.status not in ('hidden', 'deleted'))
  execute function app_private.tg_content__withdraw_notifications();
drop trigger if exists _705_withdraw_notifications on app_public.questions;
create trigger _705_withdraw_notifications after update of status on app_public.questions
  for each row when (new.status in ('hidden', 'deleted') and old.status not in ('hidden', 'deleted'))
  execute function app_private.tg_content__withdraw_notifications();


-- === files: documents, file slots, lifecycle ===
-- Shared documents with versions, downloads counted once per member per day,
-- comments and reactions; the post cover, question attachment, CV and letter
-- slots; expiry of abandoned reservations (docs/files.md). Idempotent: what
-- this section creates is dropped first, dependants before what they use.

drop trigger if exists _210_document_target on app_public.comments;
drop trigger if exists _510_document_count on app_public.comments;
drop trigger if exists _510_document_count on app_public.reactions;
drop trigger if exists _100_in_use on app_public.files;
drop trigger if exists _220_cover_file on app_public.posts;
drop trigger if exists _900_replace_cover on app_public.posts;
drop trigger if exists _220_attachment_file on app_public.questions;
drop trigger if exists _900_replace_attachment on app_public.questions;
drop trigger if exists _220_cv_file on app_public.job_applications;
drop trigger if exists _221_letter_file on app_public.job_applications;
drop trigger if exists _900_replace_cv on app_public.job_applications;
drop trigger if exists _901_replace_letter on app_public.job_applications;
drop policy if exists select_visible on app_public.comments;
drop policy if exists select_visible on app_public.reactions;
drop policy if exists select_document_file on app_public.files;
drop policy if exists select_application_file on app_public.files;
alter table app_public.comments drop constraint if exists comments_document_id_fkey;
alter table app_public.reactions drop constraint if exists reactions_document_id_fkey;
alter table app_public.posts drop column if exists cover_file_id;
alter table app_public.questions drop column if exists attachment_file_id;
alter table app_public.job_applications drop column if exists cv_file_id;
alter table app_public.job_applications drop column if exists letter_file_id;
drop function if exists app_private.tg__file_slot();
drop function if exists app_private.tg__replace_file();
drop function if exists app_private.tg_comments__document_target();
drop function if exists app_private.tg_documents__count();
drop function if exists app_private.tg_files__in_use();
drop function if exists app_private.expire_pending_uploads();
drop function if exists app_private.orphan_storage_keys(text[]);
drop function if exists app_private.record_document_download(uuid, uuid);
drop function if exists app_public.react_to_document(uuid, app_public.reaction_kind);
drop function if exists app_public.set_current_document_version(uuid);
drop function if exists app_public.add_document_version(uuid, uuid, text);
drop function if exists app_public.create_document(text, uuid, text, text[], boolean);
drop function if exists app_public.documents_current_version(app_public.documents);
drop function if exists app_private.assert_document_file(uuid, uuid);
drop table if exists app_private.document_downloads;
drop table if exists app_public.document_versions;
drop view if exists app_private.search_sources; -- reads documents; the search section creates it again
drop table if exists app_public.documents;
drop function if exists app_private.tg_documents__before_write();
drop function if exists app_private.tg_document_versions__one_current();
drop function if exists app_private.tg_document_versions__delete_file();
drop function if exists app_hidden.document_visible(uuid);
drop function if exists app_hidden.document_readable(boolean, uuid);

delete from app_private.settings where key in ('files.orphan_grace');
insert into app_private.settings (key, value, description) values
  ('files.orphan_grace', '"1 hour"', 'Stored bytes younger than this are never swept as orphans (an upload stores its bytes just before its row commits)');

create function app_hidden.document_readable(is_public boolean, owner_id uuid) returns boolean
  language sql stable set search_path = pg_catalog as $$
  select is_public or owner_id = app_public.current_user_id()
$$;
grant execute on function app_hidden.document_readable(boolean, uuid) to anonymous, authenticated;
comment on function app_hidden.document_readable(boolean, uuid) is 'The visibility rule of documents: public documents are readable by everyone, private ones by their owner only (not by admins or moderators either).';

-- === files: documents (table) ===
create table app_public.documents (
  id uuid default gen_random_uuid() not null,
  owner_id uuid default app_public.current_user_id() not null,
  title text not null,
  description text default '' not null,
  tags text[] default '{}' not null,
  is_public boolean default false not null,
  download_count integer default 0 not null,
  comment_count integer default 0 not null,
  like_count integer default 0 not null,
  dislike_count integer default 0 not null,
  created_at timestamp with time zone default now() not null,
  updated_at timestamp with time zone default now() not null,
  constraint documents_pkey primary key (id),
  constraint documents_owner_id_fkey foreign key (owner_id) references app_public.users(id) on delete cascade,
  constraint document_title_length check (char_length(title) between 1 and 200),
  constraint document_description_length check (char_length(description) <= 5000),
  constraint document_tags_count check (cardinality(tags) <= 10)
);
alter table app_public.documents enable row level security;
create policy select_readable on app_public.documents for select
  using (app_hidden.document_readable(is_public, owner_id));
create policy update_own on app_public.documents for update
  using (owner_id = (select app_public.current_user_id()));
create policy delete_own on app_public.documents for delete
  using (owner_id = (select app_public.current_user_id()));
grant select on app_public.documents to anonymous, authenticated;
grant update (title, description, tags, is_public) on app_public.documents to authenticated;
grant delete on app_public.documents to authenticated;
comment on table app_public.documents is E'@behavior -insert\nA shared document: title, description, tags and a history of versions (each an uploaded file), exactly one of them current. Public documents are readable by everyone, private ones by their owner only. Create with createDocument, add versions with addDocumentVersion; deleting a document deletes its versions and, after commit, their bytes.';
comment on column app_public.documents.id is 'The document''s id.';
comment on column app_public.documents.owner_id is 'The member who shared it (the signed-in member). Cannot change.';
comment on column app_public.documents.title is 'Title, 1–200 characters.';
comment on column app_public.documents.description is 'What the document is, at most 5000 characters (plain text).';
comment on column app_public.documents.tags is 'Up to 10 tags, normalized like post tags (lower case, trimmed, no duplicates).';
comment on column app_public.documents.is_public is 'Public documents (and their versions, comments and reactions) are readable by everyone; private ones (the default) by their owner only.';
comment on column app_public.documents.download_count is 'Downloads of any version, counted once per member per day (anonymous downloads are not counted). Maintained by the database.';
comment on column app_public.documents.comment_count is 'Published comments on the document. Maintained by the database.';
comment on column app_public.documents.like_count is 'Likes. Maintained by the database.';
comment on column app_public.documents.dislike_count is 'Dislikes. Maintained by the database.';
comment on column app_public.documents.created_at is 'When it was shared.';
comment on column app_public.documents.updated_at is 'When its details changed or a version was added. Set by the database.';
create index documents_owner_id_idx on app_public.documents (owner_id, created_at);
create index documents_public_created_idx on app_public.documents (created_at) where is_public;
create index documents_tags_idx on app_public.documents using gin (tags);

create function app_private.tg_documents__before_write() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  if tg_op = 'UPDATE' and new.owner_id is distinct from old.owner_id then
    raise exception 'The owner of a document cannot change' using errcode = 'INVAL';
  end if;
  new.tags := app_private.normalize_tags(new.tags);
  if tg_op = 'INSERT' or new.title is distinct from old.title or new.description is distinct from old.description then
    perform app_private.assert_no_banned_words(array[new.title, new.description]);
  end if;
  return new;
end;
$$;
comment on function app_private.tg_documents__before_write() is 'Trigger on documents: the owner cannot change (INVAL), tags are normalized, title and description pass the banned-words check. Security definer: calls app_private helpers for the caller.';
create trigger _100_timestamps before insert or update on app_public.documents
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert or update on app_public.documents
  for each row execute function app_private.tg_documents__before_write();

create function app_hidden.document_visible(document_id uuid) returns boolean
  language sql stable set search_path = pg_catalog as $$
  select exists (select 1 from app_public.documents d where d.id = document_visible.document_id)
$$;
grant execute on function app_hidden.document_visible(uuid) to anonymous, authenticated;
comment on function app_hidden.document_visible(uuid) is 'Whether the caller may read this document (through its row-level security, as the caller). Used by the policies of document versions, document files, and comments and reactions on documents.';

-- === files: document versions ===
create table app_public.document_versions (
  id uuid default gen_random_uuid() not null,
  document_id uuid not null,
  file_id uuid not null,
  version_number integer not null,
  is_current boolean default true not null,
  note text,
  created_at timestamp with time zone default now() not null,
  constraint document_versions_pkey primary key (id),
  constraint document_versions_document_id_fkey foreign key (document_id) references app_public.documents(id) on delete cascade,
  constraint document_versions_file_id_fkey foreign key (file_id) references app_public.files(id) on delete cascade,
  constraint document_versions_file_id_key unique (file_id),
  constraint document_versions_number_key unique (document_id, version_number),
  constraint document_version_number_positive check (version_number >= 1),
  constraint document_version_note_length check (char_length(note) <= 1000)
);
alter table app_public.document_versions enable row level security;
create policy select_visible on app_public.document_versions for select
  using (app_hidden.document_visible(document_id));
grant select on app_public.document_versions to anonymous, authenticated;
comment on table app_public.document_versions is E'@behavior -insert -update -delete\nOne version of a document: an uploaded file, numbered from 1; exactly one version per document is current. Readable by those who can read the document. Added by addDocumentVersion, made current again by setCurrentDocumentVersion; history is kept until the document is deleted.';
comment on column app_public.document_versions.id is 'The version''s id.';
comment on column app_public.document_versions.document_id is 'The document.';
comment on column app_public.document_versions.file_id is 'The uploaded file (purpose document, private: the document decides who reads it). Download it through the file''s downloadUrl.';
comment on column app_public.document_versions.version_number is '1 for the first version, then 2, 3, … in the order they were added.';
comment on column app_public.document_versions.is_current is 'Whether this is the current version (exactly one per document).';
comment on column app_public.document_versions.note is 'What changed in this version, at most 1000 characters.';
comment on column app_public.document_versions.created_at is 'When the version was added.';
create unique index document_versions_one_current on app_public.document_versions (document_id) where is_current;

create function app_private.tg_document_versions__one_current() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
declare
  v_document uuid;
  v_current int;
begin
  if tg_table_name = 'documents' then
    v_document := new.id;
  elsif tg_op = 'DELETE' then
    v_document := old.document_id;
  else
    v_document := new.document_id;
  end if;
  -- Deferred to commit: a document that still exists then has exactly one current version.
  -- (At most one is also a unique index; this adds "at least one".)
  if not exists (select 1 from app_public.documents d where d.id = v_document) then
    return null;
  end if;
  select count(*) into v_current from app_public.document_versions v where v.document_id = v_document and v.is_current;
  if v_current <> 1 then
    raise exception 'A document has exactly one current version' using errcode = 'DOCVR',
      detail = json_build_object('documentId', v_document, 'current', v_current)::text;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_document_versions__one_current() is 'Constraint trigger on documents and document_versions, deferred to commit: every document has exactly one current version (DOCVR). Security definer: counts versions whatever the caller may read.';
create constraint trigger _800_one_current after insert or update or delete on app_public.document_versions
  deferrable initially deferred for each row execute function app_private.tg_document_versions__one_current();
create constraint trigger _800_one_current after insert on app_public.documents
  deferrable initially deferred for each row execute function app_private.tg_document_versions__one_current();

create function app_private.tg_document_versions__delete_file() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  -- The version's file goes with it; the files trigger removes its bytes after commit.
  delete from app_public.files f where f.id = old.file_id;
  return null;
end;
$$;
comment on function app_private.tg_document_versions__delete_file() is 'Trigger on document_versions (after delete, e.g. when the document is deleted): deletes the version''s file, whose bytes then go in a job after commit. Security definer: the file belongs to the document owner, whoever deletes.';
create trigger _900_delete_file after delete on app_public.document_versions
  for each row execute function app_private.tg_document_versions__delete_file();

create function app_private.tg_files__in_use() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  -- (Unless its owner is being deleted: then the documents go too, whichever cascade runs first.)
  if exists (select 1 from app_public.document_versions v where v.file_id = old.id)
     and exists (select 1 from app_public.users u where u.id = old.owner_id) then
    raise exception 'This file is a version of a document; delete the document instead' using errcode = 'FUSED';
  end if;
  return old;
end;
$$;
comment on function app_private.tg_files__in_use() is 'Trigger on files: a file that is a document version cannot be deleted on its own (FUSED); deleting the document deletes it.';
create trigger _100_in_use before delete on app_public.files
  for each row execute function app_private.tg_files__in_use();

-- === files: document functions ===
create function app_private.assert_document_file(file_id uuid, owner_id uuid) returns void
  language plpgsql stable set search_path = pg_catalog as $$
begin
  if not exists (
    select 1 from app_public.files f
     where f.id = file_id and f.owner_id = assert_document_file.owner_id and f.purpose = 'document'
       and f.status = 'ready' and not f.is_public
  ) then
    raise exception 'That file cannot be a document version (it must be a ready, private document upload of yours)' using errcode = 'FSLOT';
  end if;
  if exists (select 1 from app_public.document_versions v where v.file_id = assert_document_file.file_id) then
    raise exception 'That file is already a document version' using errcode = 'FSLOT';
  end if;
end;
$$;
comment on function app_private.assert_document_file(uuid, uuid) is 'Refuses (FSLOT) a file that cannot become a document version: not a ready, private file of purpose document owned by the member, or already a version.';

create function app_public.create_document(title text, file_id uuid, description text default '', tags text[] default '{}', is_public boolean default false)
  returns app_public.documents
  language plpgsql volatile security definer set search_path = pg_catalog as $$
declare
  v_user uuid := app_public.current_user_id();
  v_document app_public.documents;
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  perform app_private.assert_document_file(file_id, v_user);
  insert into app_public.documents (owner_id, title, description, tags, is_public)
    values (v_user, title, coalesce(description, ''), coalesce(tags, '{}'), coalesce(is_public, false))
    returning * into v_document;
  insert into app_public.document_versions (document_id, file_id, version_number, is_current)
    values (v_document.id, file_id, 1, true);
  return v_document;
end;
$$;
grant execute on function app_public.create_document(text, uuid, text, text[], boolean) to authenticated;
comment on function app_public.create_document(text, uuid, text, text[], boolean) is 'Shares a document whose first (current) version is fileId: a ready, private upload of purpose document (FSLOT otherwise). Private unless isPublic.';

create function app_public.add_document_version(document_id uuid, file_id uuid, note text default null)
  returns app_public.document_versions
  language plpgsql volatile security definer set search_path = pg_catalog as $$
declare
  v_user uuid := app_public.current_user_id();
  v_document app_public.documents;
  v_version app_public.document_versions;
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  -- The lock serializes version numbers per document.
  select * into v_document from app_public.documents d where d.id = add_document_version.document_id for update;
  if v_document.id is null or not (v_document.is_public or v_document.owner_id = v_user) then
    raise exception 'No such document' using errcode = 'NOTFD';
  end if;
  if v_document.owner_id <> v_user then
    raise exception 'Only the document''s owner adds versions' using errcode = 'FORBD';
  end if;
  perform app_private.assert_document_file(file_id, v_user);
  update app_public.document_versions v set is_current = false where v.document_id = v_document.id and v.is_current;
  insert into app_public.document_versions (document_id, file_id, version_number, is_current, note)
    select v_document.id, add_document_version.file_id, coalesce(max(v.version_number), 0) + 1, true, add_document_version.note
      from app_public.document_versions v where v.document_id = v_document.id
    returning * into v_version;
  update app_public.documents d set updated_at = now() where d.id = v_document.id;
  return v_version;
end;
$$;
grant execute on function app_public.add_document_version(uuid, uuid, text) to authenticated;
comment on function app_public.add_document_version(uuid, uuid, text) is 'Adds a new version (a ready, private upload of purpose document, FSLOT otherwise) to your document and makes it current; earlier versions are kept. NOTFD for a document you cannot read, FORBD for someone else''s.';

create function app_public.set_current_document_version(version_id uuid)
  returns app_public.document_versions
  language plpgsql volatile security definer set search_path = pg_catalog as $$
declare
  v_user uuid := app_public.current_user_id();
  v_version app_public.document_versions;
  v_document app_public.documents;
begin
  select * into v_version from app_public.document_versions v where v.id = version_id;
  select * into v_document from app_public.documents d where d.id = v_version.document_id for update;
  if v_document.id is null or not (v_document.is_public or v_document.owner_id is not distinct from v_user) then
    raise exception 'No such document version' using errcode = 'NOTFD';
  end if;
  if v_document.owner_id is distinct from v_user then
    raise exception 'Only the document''s owner chooses its current version' using errcode = 'FORBD';
  end if;
  update app_public.document_versions v set is_current = false where v.document_id = v_document.id and v.is_current and v.id <> version_id;
  update app_public.document_versions v set is_current = true where v.id = version_id returning * into v_version;
  update app_public.documents d set updated_at = now() where d.id = v_document.id;
  return v_version;
end;
$$;
grant execute on function app_public.set_current_document_version(uuid) to authenticated;
comment on function app_public.set_current_document_version(uuid) is 'Makes an earlier version of your document current again (the others stay in the history). NOTFD for a version you cannot read, FORBD for someone else''s document.';

create function app_public.documents_current_version(d app_public.documents) returns app_public.document_versions
  language sql stable set search_path = pg_catalog as $$
  select v.* from app_public.document_versions v where v.document_id = d.id and v.is_current
$$;
grant execute on function app_public.documents_current_version(app_public.documents) to anonymous, authenticated;
comment on function app_public.documents_current_version(app_public.documents) is 'The current version of the document.';

create function app_public.react_to_document(document_id uuid, kind app_public.reaction_kind)
  returns app_public.reactions
  language plpgsql volatile security definer set search_path = pg_catalog as $$
declare
  v_user uuid := app_public.current_user_id();
  v_existing app_public.reactions;
  v_result app_public.reactions;
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  if kind is null then
    raise exception 'React with a kind' using errcode = 'INVAL';
  end if;
  -- Definer rights bypass row-level security: apply the documents' rule for the caller.
  if not exists (select 1 from app_public.documents d
                  where d.id = react_to_document.document_id and app_hidden.document_readable(d.is_public, d.owner_id)) then
    raise exception 'Nothing to react to there' using errcode = 'NOTFD';
  end if;
  select * into v_existing from app_public.reactions r
   where r.user_id = v_user and r.document_id = react_to_document.document_id for update;
  if v_existing.id is not null and v_existing.kind = react_to_document.kind then
    delete from app_public.reactions r where r.id = v_existing.id;
    return null;
  elsif v_existing.id is not null then
    update app_public.reactions r set kind = react_to_document.kind, created_at = now() where r.id = v_existing.id returning * into v_result;
    return v_result;
  end if;
  insert into app_public.reactions (user_id, kind, document_id)
    values (v_user, react_to_document.kind, react_to_document.document_id)
    on conflict do nothing
    returning * into v_result;
  if v_result.id is null then
    raise exception 'You reacted to this at the same moment; try again' using errcode = 'RETRY';
  end if;
  return v_result;
end;
$$;
grant execute on function app_public.react_to_document(uuid, app_public.reaction_kind) to authenticated;
comment on function app_public.react_to_document(uuid, app_public.reaction_kind) is 'Likes or dislikes a document you can read (NOTFD otherwise). Repeating the same reaction removes it; the other kind replaces it.';

-- Downloads: one row per document, member and day; the count grows once per row.
create table app_private.document_downloads (
  document_id uuid not null,
  user_id uuid not null,
  day date not null,
  constraint document_downloads_pkey primary key (document_id, user_id, day),
  constraint document_downloads_document_id_fkey foreign key (document_id) references app_public.documents(id) on delete cascade,
  constraint document_downloads_user_id_fkey foreign key (user_id) references app_public.users(id) on delete cascade
);
comment on table app_private.document_downloads is 'Which member downloaded which document on which day (UTC): documents.download_count counts each row once.';
create index document_downloads_user_id_idx on app_private.document_downloads (user_id);

create function app_private.record_document_download(file_id uuid, user_id uuid) returns boolean
  language plpgsql volatile set search_path = pg_catalog as $$
declare
  v_document uuid;
begin
  select v.document_id into v_document from app_public.document_versions v where v.file_id = record_document_download.file_id;
  if v_document is null or user_id is null then
    return false;
  end if;
  insert into app_private.document_downloads (document_id, user_id, day)
    values (v_document, user_id, (now() at time zone 'UTC')::date)
    on conflict do nothing;
  if not found then
    return false;
  end if;
  update app_public.documents d set download_count = download_count + 1 where d.id = v_document;
  return true;
end;
$$;
comment on function app_private.record_document_download(uuid, uuid) is 'For the download endpoint (run by the owner role, once it has allowed the download): when the file is a document version, counts a download of the document by the member, once per member and UTC day. True when counted.';

-- === files: comments and reactions on documents ===
alter table app_public.comments add constraint comments_document_id_fkey
  foreign key (document_id) references app_public.documents(id) on delete cascade;
alter table app_public.reactions add constraint reactions_document_id_fkey
  foreign key (document_id) references app_public.documents(id) on delete cascade;
grant insert (document_id) on app_public.comments to authenticated;
comment on column app_public.comments.document_id is 'The document commented on (exactly one of postId, questionId, answerId, documentId is set; a reply inherits its parent''s).';
comment on column app_public.reactions.document_id is 'The document reacted to (exactly one target is set). React with reactToDocument.';
create policy select_visible on app_public.comments for select
  using (
    (status = 'deleted' or app_hidden.content_visible(status, author_id))
    and (post_id is null or exists (select 1 from app_public.posts p where p.id = comments.post_id))
    and (question_id is null or exists (select 1 from app_public.questions q where q.id = comments.question_id))
    and (answer_id is null or exists (select 1 from app_public.answers a where a.id = comments.answer_id))
    and (document_id is null or app_hidden.document_visible(document_id))
  );
create policy select_visible on app_public.reactions for select
  using (
    (post_id is null or exists (select 1 from app_public.posts p where p.id = reactions.post_id))
    and (question_id is null or exists (select 1 from app_public.questions q where q.id = reactions.question_id))
    and (answer_id is null or exists (select 1 from app_public.answers a where a.id = reactions.answer_id))
    and (comment_id is null or exists (select 1 from app_public.comments c where c.id = reactions.comment_id))
    and (document_id is null or app_hidden.document_visible(document_id))
  );

create function app_private.tg_comments__document_target() returns trigger
  language plpgsql set search_path = pg_catalog as $$
begin
  -- As the caller (no definer rights): the document must be one they can read.
  if new.document_id is not null and not app_hidden.document_visible(new.document_id) then
    raise exception 'There is no such document to comment on' using errcode = 'NOTFD';
  end if;
  return new;
end;
$$;
comment on function app_private.tg_comments__document_target() is 'Trigger on comments: a comment on a document (or a reply in its thread) needs a document the commenter can read (NOTFD).';
create trigger _210_document_target before insert on app_public.comments
  for each row execute function app_private.tg_comments__document_target();

create function app_private.tg_documents__count() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
declare
  v_sign int;
  v_row jsonb;
begin
  foreach v_sign in array case tg_op when 'INSERT' then array[1] when 'DELETE' then array[-1] else array[-1, 1] end loop
    v_row := case when v_sign = -1 then to_jsonb(old) else to_jsonb(new) end;
    continue when v_row ->> 'document_id' is null or coalesce(v_row ->> 'status', 'published') <> 'published';
    perform app_private.bump('documents', (v_row ->> 'document_id')::uuid,
      case tg_table_name when 'comments' then 'comment_count' else (v_row ->> 'kind') || '_count' end, v_sign);
  end loop;
  return null;
end;
$$;
comment on function app_private.tg_documents__count() is 'Trigger on comments and reactions: keeps documents.comment_count (published comments), like_count and dislike_count in step.';
create trigger _510_document_count after insert or delete or update of status on app_public.comments
  for each row execute function app_private.tg_documents__count();
create trigger _510_document_count after insert or delete or update of kind on app_public.reactions
  for each row execute function app_private.tg_documents__count();

-- === files: who reads document and application files ===
create policy select_document_file on app_public.files for select
  using (purpose = 'document' and status = 'ready'
         and exists (select 1 from app_public.document_versions v where v.file_id = files.id));

-- === files: slots on posts, questions and job applications ===
alter table app_public.posts add column cover_file_id uuid;
alter table app_public.posts add constraint posts_cover_file_id_fkey
  foreign key (cover_file_id) references app_public.files(id) on delete set null;
grant insert (cover_file_id), update (cover_file_id) on app_public.posts to authenticated;
comment on column app_public.posts.cover_file_id is 'The cover image: a ready, public file of purpose post_image that the author uploaded (FSLOT otherwise). Replacing or clearing it deletes the previous file.';
create index posts_cover_file_id_idx on app_public.posts (cover_file_id);

alter table app_public.questions add column attachment_file_id uuid;
alter table app_public.questions add constraint questions_attachment_file_id_fkey
  foreign key (attachment_file_id) references app_public.files(id) on delete set null;
grant insert (attachment_file_id), update (attachment_file_id) on app_public.questions to authenticated;
comment on column app_public.questions.attachment_file_id is 'The attachment: a ready, public file of purpose question_attachment (an image, pdf, doc or docx) that the author uploaded (FSLOT otherwise). Replacing or clearing it deletes the previous file.';
create index questions_attachment_file_id_idx on app_public.questions (attachment_file_id);

alter table app_public.job_applications add column cv_file_id uuid;
alter table app_public.job_applications add column letter_file_id uuid;
alter table app_public.job_applications add constraint job_applications_cv_file_id_fkey
  foreign key (cv_file_id) references app_public.files(id) on delete set null;
alter table app_public.job_applications add constraint job_applications_letter_file_id_fkey
  foreign key (letter_file_id) references app_public.files(id) on delete set null;
grant insert (cv_file_id, letter_file_id), update (cv_file_id, letter_file_id) on app_public.job_applications to authenticated;
comment on column app_public.job_applications.cv_file_id is 'The CV: a ready file of purpose cv that the applicant uploaded (FSLOT otherwise); private, readable by the applicant, the job''s employer and job moderators. Only the applicant sets it.';
comment on column app_public.job_applications.letter_file_id is 'The application letter: a ready file of purpose application_letter that the applicant uploaded (FSLOT otherwise); readable like the CV. Only the applicant sets it.';
create index job_applications_cv_file_id_idx on app_public.job_applications (cv_file_id);
create index job_applications_letter_file_id_idx on app_public.job_applications (letter_file_id);

create policy select_application_file on app_public.files for select
  using (purpose in ('cv', 'application_letter') and status = 'ready'
         and exists (select 1 from app_public.job_applications a where a.cv_file_id = files.id or a.letter_file_id = files.id));

create function app_private.tg__file_slot() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
declare
  -- Arguments: the slot column, the purpose it takes, the column naming the row's owner.
  v_column text := tg_argv[0];
  v_purpose app_public.file_purpose := tg_argv[1]::app_public.file_purpose;
  v_new jsonb := to_jsonb(new);
  v_file uuid := (v_new ->> v_column)::uuid;
  v_owner uuid := (v_new ->> tg_argv[2])::uuid;
  v_actor uuid := app_public.current_user_id();
begin
  if (tg_op = 'INSERT' and v_file is null)
     or (tg_op = 'UPDATE' and v_file is not distinct from (to_jsonb(old) ->> v_column)::uuid) then
    return new;
  end if;
  -- Only the row's owner fills or empties its file slots (an employer or moderator may not).
  if v_actor is not null and v_actor is distinct from v_owner then
    raise exception 'Only its owner may change this file' using errcode = 'FORBD';
  end if;
  if v_file is not null and not exists (
    select 1 from app_public.files f
     where f.id = v_file and f.owner_id = v_owner and f.purpose = v_purpose and f.status = 'ready'
       and (f.is_public or v_purpose in ('cv', 'application_letter'))
  ) then
    raise exception 'That file does not fit this slot (it must be a ready % upload of yours%)',
      v_purpose, case when v_purpose in ('cv', 'application_letter') then '' else ', public' end
      using errcode = 'FSLOT', detail = json_build_object('slot', v_column, 'purpose', v_purpose)::text;
  end if;
  return new;
end;
$$;
comment on function app_private.tg__file_slot() is 'Trigger for file slots (arguments: column, purpose, owner column): the file must be a ready upload of that purpose by the row''s owner, public unless it is a CV or letter (FSLOT); only the owner changes the slot (FORBD). Security definer: reads the file whatever the caller may see.';

create function app_private.tg__replace_file() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
declare
  v_old uuid := (to_jsonb(old) ->> tg_argv[0])::uuid;
begin
  -- The replaced file goes (its bytes in a job after commit); when the file itself is being
  -- deleted (the foreign key sets the column to null), it is already gone: no row matches.
  if v_old is distinct from (to_jsonb(new) ->> tg_argv[0])::uuid then
    delete from app_public.files f where f.id = v_old;
  end if;
  return null;
end;
$$;
comment on function app_private.tg__replace_file() is 'Trigger for file slots (argument: the column): replacing or clearing a file deletes the previous file and, after commit, its bytes.';

create trigger _220_cover_file before insert or update of cover_file_id on app_public.posts
  for each row execute function app_private.tg__file_slot('cover_file_id', 'post_image', 'author_id');
create trigger _900_replace_cover after update of cover_file_id on app_public.posts
  for each row when (old.cover_file_id is not null) execute function app_private.tg__replace_file('cover_file_id');
create trigger _220_attachment_file before insert or update of attachment_file_id on app_public.questions
  for each row execute function app_private.tg__file_slot('attachment_file_id', 'question_attachment', 'author_id');
create trigger _900_replace_attachment after update of attachment_file_id on app_public.questions
  for each row when (old.attachment_file_id is not null) execute function app_private.tg__replace_file('attachment_file_id');
create trigger _220_cv_file before insert or update of cv_file_id on app_public.job_applications
  for each row execute function app_private.tg__file_slot('cv_file_id', 'cv', 'applicant_id');
create trigger _221_letter_file before insert or update of letter_file_id on app_public.job_applications
  for each row execute function app_private.tg__file_slot('letter_file_id', 'application_letter', 'applicant_id');
create trigger _900_replace_cv after update of cv_file_id on app_public.job_applications
  for each row when (old.cv_file_id is not null) execute function app_private.tg__replace_file('cv_file_id');
create trigger _901_replace_letter after update of letter_file_id on app_public.job_applications
  for each row when (old.letter_file_id is not null) execute function app_private.tg__replace_file('letter_file_id');

-- === files: lifecycle ===
create or replace function app_private.tg_files__delete_bytes() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  -- Pending reservations never had bytes in the store: nothing to remove.
  if old.status = 'ready' then
    -- A job, not a call: it exists only if this transaction commits (a rolled-back delete keeps the bytes).
    perform app_private.add_job('delete_file_bytes', json_build_object('key', old.storage_key, 'id', old.id, 'thumbnails', old.thumbnail_sizes));
  end if;
  return old;
end;
$$;
comment on function app_private.tg_files__delete_bytes() is 'Trigger on files: a deleted ready file''s bytes (and thumbnails) are removed by the delete_file_bytes job, which runs only after the delete commits.';

create function app_private.expire_pending_uploads() returns integer
  language sql volatile set search_path = pg_catalog as $$
  with gone as (
    delete from app_public.files f
     where f.status = 'pending'
       and f.created_at < now() - (app_private.setting('files.pending_lifetime') #>> '{}')::interval
    returning 1
  )
  select count(*)::int from gone
$$;
comment on function app_private.expire_pending_uploads() is 'For the expire_pending_uploads task (cron): deletes reservations older than files.pending_lifetime whose bytes never arrived; returns how many.';

create function app_private.orphan_storage_keys(keys text[]) returns setof text
  language sql stable set search_path = pg_catalog as $$
  -- purpose/<id> is an orphan without a ready row of that key; thumb_<n>/<id> without a ready row of that id.
  select k from unnest(keys) k
   where case when k like 'thumb\_%'
     then not exists (select 1 from app_public.files f where f.id = split_part(k, '/', 2)::uuid and f.status = 'ready')
     else not exists (select 1 from app_public.files f where f.storage_key = k and f.status = 'ready') end
$$;
comment on function app_private.orphan_storage_keys(text[]) is 'For the sweep_orphan_files task: which of these storage keys have no ready file (originals by storage key, thumbnails by file id).';


-- === moderation: reports, auto-hide, the queue, actions, the log, suspensions ===
-- See docs/moderation.md. Idempotent: everything below is dropped and rebuilt
-- (the append-only log refuses DELETE and TRUNCATE, not DROP TABLE).

drop trigger if exists _050_suspension on app_public.answers;
drop trigger if exists _050_suspension on app_public.bookmarks;
drop trigger if exists _050_suspension on app_public.categories;
drop trigger if exists _050_suspension on app_public.category_follows;
drop trigger if exists _050_suspension on app_public.collection_items;
drop trigger if exists _050_suspension on app_public.collections;
drop trigger if exists _050_suspension on app_public.comments;
drop trigger if exists _050_suspension on app_public.contributions;
drop trigger if exists _050_suspension on app_public.files;
drop trigger if exists _050_suspension on app_public.follows;
drop trigger if exists _050_suspension on app_public.job_application_reviews;
drop trigger if exists _050_suspension on app_public.job_applications;
drop trigger if exists _050_suspension on app_public.job_postings;
drop trigger if exists _050_suspension on app_public.message_reactions;
drop trigger if exists _050_suspension on app_public.messages;
drop trigger if exists _050_suspension on app_public.posts;
drop trigger if exists _050_suspension on app_public.questions;
drop trigger if exists _050_suspension on app_public.reactions;
drop trigger if exists _050_suspension on app_public.room_members;
drop trigger if exists _050_suspension on app_public.room_pins;
drop trigger if exists _050_suspension on app_public.rooms;
drop trigger if exists _050_suspension on app_public.user_roles;
drop trigger if exists _050_suspension on app_public.users;
drop trigger if exists _250_moderation_hidden on app_public.job_applications;
drop policy if exists select_not_hidden_by_moderation on app_public.messages;
drop policy if exists select_not_hidden_by_moderation on app_public.job_postings;

drop function if exists app_public.failed_jobs();
drop function if exists app_public.retry_failed_job(bigint);
drop function if exists app_public.discard_failed_job(bigint);
drop type if exists app_public.failed_job;
drop function if exists app_public.audit_log(uuid, uuid, text, timestamptz, timestamptz);
drop view if exists app_public.audit_events;
drop table if exists app_public.reports cascade;
drop table if exists app_public.moderation_targets cascade;
drop table if exists app_private.moderation_log_moderators cascade;
drop table if exists app_public.moderation_log cascade;
drop table if exists app_public.suspensions cascade;
drop type if exists app_public.moderation_action cascade;
drop type if exists app_public.report_status cascade;
drop type if exists app_public.report_reason cascade;
drop type if exists app_public.moderation_target_kind cascade;

-- Settings: one number, one place.
insert into app_private.settings (key, value, description) values
  ('moderation.auto_hide_threshold', '3', 'Distinct members whose open reports hide content until a moderator reviews it'),
  ('moderation.auto_hide_min_reputation', '10', 'Reputation a reporter needs for the report to count towards auto-hide (below: the report still reaches the queue)'),
  ('moderation.claim_duration', '"15 minutes"', 'How long a moderator''s claim on a queue entry holds before another moderator may take it'),
  ('moderation.bulk_max_targets', '100', 'Most targets one bulk moderation call may act on'),
  ('rate_limit.report:create', '{"max": 20, "window": "1 hour"}', 'Reports a member may file per hour')
on conflict (key) do update set value = excluded.value, description = excluded.description;

-- Permissions: reading the audit log and the failed jobs is for admins (who hold every permission).
insert into app_public.permissions (id, description) values
  ('audit:read', 'Read the audit log of security events and the whole moderation log'),
  ('worker:manage', 'See background jobs that failed for good, retry or discard them')
on conflict (id) do update set description = excluded.description;
insert into app_public.role_permissions (role_id, permission_id)
  values ('admin', 'audit:read'), ('admin', 'worker:manage')
on conflict do nothing;

-- Notification types of moderation (sent through app_private.notify).
insert into app_public.notification_types (id, description, trigger_point, is_aggregated, default_in_app, default_email, in_app_required) values
  ('content_under_review', 'Your content was reported by several members and is hidden until a moderator reviews it.', 'reports: after insert (_500_count), when a target reaches the moderation.auto_hide_threshold setting', false, true, false, false),
  ('content_removed', 'A moderator hid or removed your content; the notification says why.', 'moderation actions hide and delete (app_public.moderate, moderate_many)', false, true, true, true),
  ('warned', 'A moderator warned you; the notification says why.', 'moderation action warn (app_public.moderate, moderate_many)', false, true, true, true),
  ('suspended', 'Your account is suspended: you can sign in and read, not write. The notification says why and until when.', 'moderation action suspend (app_public.moderate, moderate_many)', false, true, true, true)
on conflict (id) do update set description = excluded.description, trigger_point = excluded.trigger_point,
  is_aggregated = excluded.is_aggregated, default_in_app = excluded.default_in_app,
  default_email = excluded.default_email, in_app_required = excluded.in_app_required;

create type app_public.moderation_target_kind as enum ('post', 'question', 'answer', 'comment', 'message', 'job', 'user');
comment on type app_public.moderation_target_kind is 'What a report or a moderation action is about: a post, question, answer, comment, chat message, job posting, or a member (user).';

create type app_public.report_reason as enum ('spam', 'abuse', 'harassment', 'off_topic', 'illegal', 'other');
comment on type app_public.report_reason is 'Why a member reports something; other requires a note.';

create type app_public.report_status as enum ('pending', 'reviewed', 'resolved', 'dismissed');
comment on type app_public.report_status is 'pending (filed) → reviewed (a moderator claimed the target) → resolved (a moderator acted: hid, deleted, warned or suspended) or dismissed (approved: nothing wrong).';

create type app_public.moderation_action as enum ('auto_hide', 'approve', 'hide', 'delete', 'warn', 'suspend', 'lift_suspension');
comment on type app_public.moderation_action is 'auto_hide (the database, at the report threshold), approve (dismiss the reports, un-hide), hide, delete, warn (notify the member), suspend (until a time or indefinitely), lift_suspension.';

-- Security invoker on purpose: called from the reports insert policy, it sees through the
-- reporter's own row-level security, so members report only what they can see.
create or replace function app_hidden.report_target_visible(kind app_public.moderation_target_kind, content_id uuid) returns boolean
  language sql stable
as $$
  select case kind
    when 'post' then exists (select 1 from app_public.posts p where p.id = content_id)
    when 'question' then exists (select 1 from app_public.questions q where q.id = content_id)
    when 'answer' then exists (select 1 from app_public.answers a where a.id = content_id)
    when 'comment' then exists (select 1 from app_public.comments c where c.id = content_id and c.status <> 'deleted')
    when 'message' then exists (select 1 from app_public.messages m where m.id = content_id and m.kind = 'text' and m.deleted_at is null)
    when 'job' then exists (select 1 from app_public.job_postings j where j.id = content_id)
    when 'user' then exists (select 1 from app_public.users u where u.id = content_id)
    else false
  end
$$;
grant execute on function app_hidden.report_target_visible(app_public.moderation_target_kind, uuid) to authenticated;
comment on function app_hidden.report_target_visible(app_public.moderation_target_kind, uuid) is 'Whether the signed-in member can see what they report (through their own row-level security): the reports insert policy.';

create or replace function app_hidden.can_read_moderation_log(affected_user_id uuid) returns boolean
  language sql stable
as $$
  select app_hidden.is_current_user(affected_user_id)
      or (select app_public.current_user_has_permission('report:review'))
$$;
grant execute on function app_hidden.can_read_moderation_log(uuid) to authenticated;
comment on function app_hidden.can_read_moderation_log(uuid) is 'Who reads a moderation log entry: the member it affected, and moderators (report:review).';

-- ---------------------------------------------------------------------------
-- app_public.suspensions
create table app_public.suspensions (
  user_id uuid primary key references app_public.users (id) on delete cascade,
  ends_at timestamptz,
  reason text not null,
  created_at timestamptz not null default now(),
  constraint suspension_reason_length check (char_length(reason) between 1 and 2000)
);
alter table app_public.suspensions enable row level security;
create policy select_own_or_moderate on app_public.suspensions for select
  using (app_hidden.is_current_user(user_id) or (select app_public.current_user_has_permission('user:suspend')));
grant select on app_public.suspensions to authenticated;
comment on table app_public.suspensions is '@behavior -insert -update -delete -aggregates
A member''s suspension: while it lasts they can sign in and read, but every write is refused (SUSPD). Written by the moderation actions suspend and lift_suspension; it lapses by itself at endsAt. Members see their own; holders of user:suspend see all.';
comment on column app_public.suspensions.user_id is 'The suspended member.';
comment on column app_public.suspensions.ends_at is 'When the suspension ends by itself; null: indefinitely (until lifted). A suspension whose endsAt has passed no longer applies.';
comment on column app_public.suspensions.reason is 'Why, as the moderator wrote it (shown to the member).';
comment on column app_public.suspensions.created_at is 'When the suspension began.';

-- The signed-in member's suspension, if one applies now.
create or replace function app_hidden.current_suspension() returns app_public.suspensions
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select s.* from app_public.suspensions s
   where s.user_id = app_public.current_user_id() and (s.ends_at is null or s.ends_at > now())
$$;
grant execute on function app_hidden.current_suspension() to anonymous, authenticated;
comment on function app_hidden.current_suspension() is 'The signed-in member''s suspension when one applies now, else null (also for anonymous requests and the owner). Security definer: reads the suspension whatever the caller may see.';

-- Every write a member makes goes through this (a trigger on each table members write, below).
create or replace function app_hidden.assert_not_suspended() returns void
  language plpgsql stable
  set search_path = pg_catalog, public
as $$
declare
  v_suspension app_public.suspensions := app_hidden.current_suspension();
begin
  if v_suspension.user_id is null then
    return;
  end if;
  if v_suspension.ends_at is null then
    raise exception 'Your account is suspended indefinitely: you can read, but not write'
      using errcode = 'SUSPD', detail = json_build_object('suspendedUntil', null, 'reason', v_suspension.reason)::text;
  end if;
  raise exception 'Your account is suspended until %: you can read, but not write', v_suspension.ends_at
    using errcode = 'SUSPD', detail = json_build_object('suspendedUntil', v_suspension.ends_at, 'reason', v_suspension.reason)::text;
end;
$$;
grant execute on function app_hidden.assert_not_suspended() to anonymous, authenticated;
comment on function app_hidden.assert_not_suspended() is 'Raises SUSPD (with suspendedUntil, null when indefinite, and reason) when the signed-in member is suspended now; does nothing otherwise (anonymous requests and the owner have no member).';

create or replace function app_private.tg__suspension() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
begin
  -- No session claim: no member (the owner's jobs, seeds, migrations): nothing to look up.
  if coalesce(current_setting('jwt.claims.sid', true), '') = '' or (app_hidden.current_suspension()).user_id is null then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  -- Trigger arguments name columns whose change alone is not a member's write (a view counter,
  -- a read position, presence): an UPDATE that changes nothing else passes. Generated columns
  -- are not computed yet in a BEFORE trigger, so they are left out of the comparison.
  if tg_op = 'UPDATE' and tg_nargs > 0 and not exists (
       select 1 from jsonb_each(to_jsonb(new)) n
        where n.value is distinct from (to_jsonb(old) -> n.key)
          and n.key <> all (tg_argv)
          and not exists (select 1 from pg_attribute a
                           where a.attrelid = tg_relid and a.attname = n.key and a.attgenerated <> '')) then
    return new;
  end if;
  perform app_hidden.assert_not_suspended();
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;
comment on function app_private.tg__suspension() is 'Trigger (BEFORE INSERT, UPDATE, DELETE, first of all: _050_suspension) on every table members write: refuses the write of a suspended member (SUSPD). Arguments: columns whose change alone is exempt (view counters, read positions, presence).';

-- ---------------------------------------------------------------------------
-- app_public.moderation_targets: one row per reported or moderated thing; the queue.
-- A new kind (documents): add the enum value, a <kind>_id column with its foreign key and
-- unique constraint, one line in moderation_target_kind_matches, and one branch in
-- app_private.moderation_target_author and app_hidden.report_target_visible.
create table app_public.moderation_targets (
  id uuid primary key default gen_random_uuid(),
  kind app_public.moderation_target_kind not null,
  content_id uuid not null,
  post_id uuid constraint moderation_targets_post_key unique references app_public.posts (id) on delete cascade,
  question_id uuid constraint moderation_targets_question_key unique references app_public.questions (id) on delete cascade,
  answer_id uuid constraint moderation_targets_answer_key unique references app_public.answers (id) on delete cascade,
  comment_id uuid constraint moderation_targets_comment_key unique references app_public.comments (id) on delete cascade,
  message_id uuid constraint moderation_targets_message_key unique references app_public.messages (id) on delete cascade,
  job_id uuid constraint moderation_targets_job_key unique references app_public.job_postings (id) on delete cascade,
  user_id uuid constraint moderation_targets_user_key unique references app_public.users (id) on delete cascade,
  author_id uuid references app_public.users (id) on delete set null,
  open_report_count integer not null default 0,
  counted_reporter_count integer not null default 0,
  first_open_report_at timestamptz,
  last_reported_at timestamptz,
  hidden_at timestamptz,
  previous_status text,
  claimed_by uuid references app_public.users (id) on delete set null,
  claim_expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint moderation_targets_kind_content_key unique (kind, content_id),
  constraint moderation_target_one_target check (num_nonnulls(post_id, question_id, answer_id, comment_id, message_id, job_id, user_id) = 1),
  constraint moderation_target_kind_matches check (
        (kind = 'post') = (post_id is not distinct from content_id)
    and (kind = 'question') = (question_id is not distinct from content_id)
    and (kind = 'answer') = (answer_id is not distinct from content_id)
    and (kind = 'comment') = (comment_id is not distinct from content_id)
    and (kind = 'message') = (message_id is not distinct from content_id)
    and (kind = 'job') = (job_id is not distinct from content_id)
    and (kind = 'user') = (user_id is not distinct from content_id)),
  constraint moderation_target_counts check (open_report_count >= 0 and counted_reporter_count between 0 and open_report_count)
);
alter table app_public.moderation_targets enable row level security;
create policy select_moderators on app_public.moderation_targets for select
  using ((select app_public.current_user_has_permission('report:review')));
grant select on app_public.moderation_targets to authenticated;
comment on table app_public.moderation_targets is '@behavior -insert -update -delete -aggregates
A reported (or moderated) post, question, answer, comment, chat message, job posting or member: one row per target, with its open reports counted. The moderation queue (moderationQueue) is the targets with open reports. Moderators (report:review) only.';
comment on column app_public.moderation_targets.id is 'The queue entry''s id (for claimModerationTarget).';
comment on column app_public.moderation_targets.kind is 'What the target is.';
comment on column app_public.moderation_targets.content_id is 'The id of the post, question, answer, comment, message, job posting or member.';
comment on column app_public.moderation_targets.post_id is 'The post, when kind is post.';
comment on column app_public.moderation_targets.question_id is 'The question, when kind is question.';
comment on column app_public.moderation_targets.answer_id is 'The answer, when kind is answer.';
comment on column app_public.moderation_targets.comment_id is 'The comment, when kind is comment.';
comment on column app_public.moderation_targets.message_id is 'The chat message, when kind is message.';
comment on column app_public.moderation_targets.job_id is 'The job posting, when kind is job.';
comment on column app_public.moderation_targets.user_id is 'The member reported, when kind is user.';
comment on column app_public.moderation_targets.author_id is 'The member responsible: the author (the employer for a job, the member for a user); whom warn and suspend act on.';
comment on column app_public.moderation_targets.open_report_count is 'Reports pending or under review. Maintained by the database.';
comment on column app_public.moderation_targets.counted_reporter_count is 'Distinct reporters of open reports whose reports count towards auto-hide (reputation at least the moderation.auto_hide_min_reputation setting). Maintained by the database.';
comment on column app_public.moderation_targets.first_open_report_at is 'When the oldest open report was filed (the queue''s oldest-first order); null when none is open.';
comment on column app_public.moderation_targets.last_reported_at is 'When the latest report was filed.';
comment on column app_public.moderation_targets.hidden_at is 'When moderation hid the target (auto-hide or the hide action); null when moderation does not hide it. approve un-hides.';
comment on column app_public.moderation_targets.previous_status is 'The content''s or job''s status before moderation hid it, restored by approve.';
comment on column app_public.moderation_targets.claimed_by is 'The moderator working on it; others cannot act on it (CLAIM) until claimExpiresAt.';
comment on column app_public.moderation_targets.claim_expires_at is 'When the claim lapses (the moderation.claim_duration setting after claiming).';
comment on column app_public.moderation_targets.created_at is 'When the target was first reported or moderated.';
comment on column app_public.moderation_targets.updated_at is 'When the entry last changed.';
create index moderation_targets_queue_oldest_idx on app_public.moderation_targets (first_open_report_at, id) where open_report_count > 0;
create index moderation_targets_queue_most_idx on app_public.moderation_targets (open_report_count desc, first_open_report_at, id) where open_report_count > 0;
create index moderation_targets_author_id_idx on app_public.moderation_targets (author_id);
create index moderation_targets_claimed_by_idx on app_public.moderation_targets (claimed_by);

-- ---------------------------------------------------------------------------
-- app_public.reports
create table app_public.reports (
  id uuid primary key default gen_random_uuid(),
  target_kind app_public.moderation_target_kind not null,
  content_id uuid not null,
  target_id uuid not null references app_public.moderation_targets (id) on delete cascade,
  reporter_id uuid not null default app_public.current_user_id() references app_public.users (id) on delete cascade,
  reason app_public.report_reason not null,
  note text,
  status app_public.report_status not null default 'pending',
  counts_for_auto_hide boolean not null default false,
  reviewed_by uuid references app_public.users (id) on delete set null,
  reviewed_at timestamptz,
  closed_at timestamptz,
  created_at timestamptz not null default now(),
  constraint report_note_length check (char_length(note) <= 2000),
  constraint report_other_needs_note check (reason <> 'other' or coalesce(char_length(btrim(note)), 0) >= 1)
);
alter table app_public.reports enable row level security;
create policy insert_own on app_public.reports for insert
  with check (app_hidden.is_current_user(reporter_id) and app_hidden.report_target_visible(target_kind, content_id));
create policy select_own_or_moderate on app_public.reports for select
  using (app_hidden.is_current_user(reporter_id) or (select app_public.current_user_has_permission('report:review')));
grant select on app_public.reports to authenticated;
grant insert (target_kind, content_id, reason, note) on app_public.reports to authenticated;
comment on table app_public.reports is '@behavior -update -delete -aggregates
A member''s report of a post, question, answer, comment, chat message, job posting or member they can see. One open report per reporter and target (NUNIQ); not of yourself or your own content (FORBD); at most the rate_limit.report:create setting per hour (RLIMT). Reporters see their own reports; moderators (report:review) see all.';
comment on column app_public.reports.id is 'The report''s id.';
comment on column app_public.reports.target_kind is 'What is reported.';
comment on column app_public.reports.content_id is 'The id of the post, question, answer, comment, message, job posting or member reported.';
comment on column app_public.reports.target_id is 'The queue entry of the target. Set by the database.';
comment on column app_public.reports.reporter_id is 'The member who reported: always the signed-in member.';
comment on column app_public.reports.reason is 'spam, abuse, harassment, off_topic, illegal or other (other needs a note).';
comment on column app_public.reports.note is 'What is wrong, in the reporter''s words, at most 2000 characters.';
comment on column app_public.reports.status is 'pending → reviewed → resolved or dismissed. Set by the database and the moderators'' actions.';
comment on column app_public.reports.counts_for_auto_hide is 'Whether this report counts towards hiding the target automatically: the reporter had at least the moderation.auto_hide_min_reputation setting when reporting. Set by the database.';
comment on column app_public.reports.reviewed_by is 'The moderator who claimed or closed it.';
comment on column app_public.reports.reviewed_at is 'When a moderator first took it up.';
comment on column app_public.reports.closed_at is 'When it was resolved or dismissed.';
comment on column app_public.reports.created_at is 'When it was filed.';
-- GraphQL: no backward connections from users to reviewers' and claimers' rows (moderators
-- reach them from the queue); they would only enlarge the User type.
comment on constraint reports_reviewed_by_fkey on app_public.reports is '@behavior -manyRelation:resource:connection -manyRelation:resource:list';
comment on constraint moderation_targets_claimed_by_fkey on app_public.moderation_targets is '@behavior -manyRelation:resource:connection -manyRelation:resource:list';
comment on constraint moderation_targets_author_id_fkey on app_public.moderation_targets is '@behavior -manyRelation:resource:connection -manyRelation:resource:list';
create unique index reports_one_open_per_reporter on app_public.reports (target_id, reporter_id) where status in ('pending', 'reviewed');
create index reports_target_created_idx on app_public.reports (target_id, created_at);
create index reports_reporter_created_idx on app_public.reports (reporter_id, created_at);
create index reports_reviewed_by_idx on app_public.reports (reviewed_by);

-- ---------------------------------------------------------------------------
-- app_public.moderation_log: append-only, for everyone (the owner included).
create table app_public.moderation_log (
  id bigint generated always as identity primary key,
  action app_public.moderation_action not null,
  target_kind app_public.moderation_target_kind not null,
  content_id uuid not null,
  affected_user_id uuid,
  reason text not null,
  detail jsonb not null default '{}',
  created_at timestamptz not null default now()
);
alter table app_public.moderation_log enable row level security;
create policy select_affected_or_moderate on app_public.moderation_log for select
  using (app_hidden.can_read_moderation_log(affected_user_id));
grant select on app_public.moderation_log to authenticated;
comment on table app_public.moderation_log is '@behavior -insert -update -delete -aggregates
What moderation did, and why: every action and every auto-hide, append-only (no update, delete or truncate for any role: APPND). The member affected reads what was done to them and their content; moderators (report:review) read everything, including who acted (moderator). No foreign keys: entries outlive the content and the accounts they name.';
comment on column app_public.moderation_log.id is 'The entry''s number, increasing.';
comment on column app_public.moderation_log.action is 'What was done.';
comment on column app_public.moderation_log.target_kind is 'What it was done to.';
comment on column app_public.moderation_log.content_id is 'The id of the post, question, answer, comment, message, job posting or member.';
comment on column app_public.moderation_log.affected_user_id is 'The member affected: the author of the content, or the member acted on.';
comment on column app_public.moderation_log.reason is 'Why, as the moderator wrote it (for auto_hide: the database''s explanation).';
comment on column app_public.moderation_log.detail is 'Facts of the action: {"suspendedUntil"} for suspend, {"previousStatus"} for hide and delete, {"reportCount", "reporterCount"} for auto_hide, {"bulk": true} for bulk actions.';
comment on column app_public.moderation_log.created_at is 'When it was done.';
create index moderation_log_affected_created_idx on app_public.moderation_log (affected_user_id, created_at);
create index moderation_log_target_idx on app_public.moderation_log (target_kind, content_id, created_at);
create index moderation_log_action_created_idx on app_public.moderation_log (action, created_at);
create index moderation_log_created_idx on app_public.moderation_log (created_at);

-- Who acted: private (a member sees what was done and why, not by whom).
create table app_private.moderation_log_moderators (
  log_id bigint primary key references app_public.moderation_log (id),
  moderator_id uuid not null
);
comment on table app_private.moderation_log_moderators is 'The moderator behind each moderation log entry (none for auto_hide). Append-only like the log; read by moderators through moderationLog.moderator.';
create index moderation_log_moderators_moderator_idx on app_private.moderation_log_moderators (moderator_id, log_id);


create or replace function app_private.tg__append_only() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
begin
  raise exception '% is append-only: % is refused', tg_table_name, lower(tg_op) using errcode = 'APPND';
end;
$$;
comment on function app_private.tg__append_only() is 'Trigger: refuses every UPDATE, DELETE and TRUNCATE of an append-only table, for every role including the owner (APPND).';

create trigger _100_append_only before update or delete on app_public.moderation_log
  for each row execute function app_private.tg__append_only();
create trigger _100_append_only_truncate before truncate on app_public.moderation_log
  for each statement execute function app_private.tg__append_only();
create trigger _100_append_only before update or delete on app_private.moderation_log_moderators
  for each row execute function app_private.tg__append_only();
create trigger _100_append_only_truncate before truncate on app_private.moderation_log_moderators
  for each statement execute function app_private.tg__append_only();

create or replace function app_public.moderation_log_moderator(l app_public.moderation_log) returns app_public.users
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select u.* from app_private.moderation_log_moderators m join app_public.users u on u.id = m.moderator_id
   where m.log_id = l.id and app_public.current_user_has_permission('report:review')
$$;
grant execute on function app_public.moderation_log_moderator(app_public.moderation_log) to authenticated;
comment on function app_public.moderation_log_moderator(app_public.moderation_log) is 'The moderator who acted; null for auto_hide, and for anyone but moderators (report:review). Security definer: the moderator''s identity is private.';

create or replace function app_private.log_moderation(
  action app_public.moderation_action, target app_public.moderation_targets, moderator_id uuid,
  reason text, detail jsonb default '{}'
) returns app_public.moderation_log
  language plpgsql
  set search_path = pg_catalog, public
as $$
declare
  v_log app_public.moderation_log;
begin
  insert into app_public.moderation_log (action, target_kind, content_id, affected_user_id, reason, detail)
  values (log_moderation.action, target.kind, target.content_id, target.author_id, log_moderation.reason,
          coalesce(log_moderation.detail, '{}'))
  returning * into v_log;
  if log_moderation.moderator_id is not null then
    insert into app_private.moderation_log_moderators (log_id, moderator_id) values (v_log.id, log_moderation.moderator_id);
  end if;
  return v_log;
end;
$$;
comment on function app_private.log_moderation(app_public.moderation_action, app_public.moderation_targets, uuid, text, jsonb) is 'Appends one moderation log entry (and, for a moderator''s action, who acted).';

-- ---------------------------------------------------------------------------
-- Targets: who is responsible, who may report, how hiding works per kind.

create or replace function app_private.moderation_target_author(kind app_public.moderation_target_kind, content_id uuid) returns uuid
  language sql stable
  set search_path = pg_catalog, public
as $$
  select case kind
    when 'post' then (select p.author_id from app_public.posts p where p.id = content_id)
    when 'question' then (select q.author_id from app_public.questions q where q.id = content_id)
    when 'answer' then (select a.author_id from app_public.answers a where a.id = content_id)
    when 'comment' then (select c.author_id from app_public.comments c where c.id = content_id)
    when 'message' then (select m.author_id from app_public.messages m where m.id = content_id and m.kind = 'text')
    when 'job' then (select j.employer_id from app_public.job_postings j where j.id = content_id)
    when 'user' then (select u.id from app_public.users u where u.id = content_id)
  end
$$;
comment on function app_private.moderation_target_author(app_public.moderation_target_kind, uuid) is 'The member responsible for a target (author, employer, the member itself), or null when it does not exist.';


-- The target row, created on first use: concurrent first reports on one
-- target collide on any of the table's unique keys (kind + content id, and
-- the foreign-key column of the kind), so the insert names no arbiter and
-- the row is then locked by an update that also refreshes its author.
create or replace function app_private.lock_moderation_target(kind app_public.moderation_target_kind, content_id uuid)
returns app_public.moderation_targets
  language plpgsql
  set search_path = pg_catalog, public
as $$
declare
  v_author uuid := app_private.moderation_target_author(kind, content_id);
  v_target app_public.moderation_targets;
begin
  if v_author is null then
    raise exception 'There is no such % to moderate', kind using errcode = 'NOTFD';
  end if;
  insert into app_public.moderation_targets
    (kind, content_id, post_id, question_id, answer_id, comment_id, message_id, job_id, user_id, author_id)
  values (lock_moderation_target.kind, lock_moderation_target.content_id,
          case when lock_moderation_target.kind = 'post' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'question' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'answer' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'comment' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'message' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'job' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'user' then lock_moderation_target.content_id end,
          v_author)
  on conflict do nothing;
  update app_public.moderation_targets t set author_id = v_author
   where t.kind = lock_moderation_target.kind and t.content_id = lock_moderation_target.content_id
  returning t.* into v_target;
  return v_target;
end;
$$;
comment on function app_private.lock_moderation_target(app_public.moderation_target_kind, uuid) is 'The moderation target row of a post, question, answer, comment, message, job or member, created on first use and row-locked until commit (NOTFD when the thing does not exist). Concurrent first uses create it once.';

-- Moderation writes content as the database, not as the member whose request it is: the
-- content triggers then apply no member rules (only moderators hide; archived is read-only;
-- job status transitions), which auto-hide (a reporter's request) and actions must pass.
create or replace function app_private.moderation_write(kind app_public.moderation_target_kind, content_id uuid, change text)
returns text
  language plpgsql
  set search_path = pg_catalog, public
as $$
declare
  v_sid text := current_setting('jwt.claims.sid', true);
  v_table text := case kind when 'post' then 'posts' when 'question' then 'questions'
                            when 'answer' then 'answers' when 'comment' then 'comments' end;
  v_status text;
begin
  perform set_config('jwt.claims.sid', '', true);
  if v_table is not null then
    execute format('select status::text from app_public.%I where id = $1 for update', v_table) into v_status using content_id;
    if change in ('hide', 'delete') and v_status not in ('hidden', 'deleted') then
      execute format('update app_public.%I set status = $2::app_public.content_status where id = $1', v_table)
        using content_id, case change when 'hide' then 'hidden' else 'deleted' end;
    elsif change = 'delete' and v_status = 'hidden' then
      execute format('update app_public.%I set status = ''deleted'' where id = $1', v_table) using content_id;
    elsif change like 'restore:%' and v_status = 'hidden' then
      execute format('update app_public.%I set status = $2::app_public.content_status where id = $1', v_table)
        using content_id, coalesce(nullif(split_part(change, ':', 2), ''), 'published');
    end if;
  elsif kind = 'message' then
    select case when m.deleted_at is not null then 'deleted' when m.hidden_at is not null then 'hidden' else 'visible' end
      into v_status from app_public.messages m where m.id = content_id for update;
    if change = 'hide' then
      update app_public.messages m set hidden_at = coalesce(m.hidden_at, now()) where m.id = content_id;
    elsif change = 'delete' then
      update app_public.messages m set deleted_at = now() where m.id = content_id and m.deleted_at is null;
      delete from app_public.room_pins p where p.message_id = content_id;
    elsif change like 'restore:%' then
      update app_public.messages m set hidden_at = null where m.id = content_id;
    end if;
  elsif kind = 'job' then
    select j.status::text into v_status from app_public.job_postings j where j.id = content_id for update;
    if change = 'hide' then
      update app_public.job_postings j set hidden_at = coalesce(j.hidden_at, now()) where j.id = content_id;
    elsif change = 'delete' then
      -- A job has no deleted state: removing it closes it (if open) and hides it for good.
      update app_public.job_postings j
         set hidden_at = coalesce(j.hidden_at, now()),
             status = case when j.status in ('active', 'paused') then 'closed' else j.status end
       where j.id = content_id;
    elsif change like 'restore:%' then
      update app_public.job_postings j set hidden_at = null where j.id = content_id;
    end if;
  end if;
  perform set_config('jwt.claims.sid', coalesce(v_sid, ''), true);
  return v_status;
end;
$$;
comment on function app_private.moderation_write(app_public.moderation_target_kind, uuid, text) is 'Hides (hide), removes (delete) or un-hides (restore:<previous status>) a target as the database; returns the status it had before. Content: status hidden / deleted; messages: hiddenAt / deleted; jobs: hiddenAt (delete also closes an open job).';

-- ---------------------------------------------------------------------------
-- Reports: the target, the counts, auto-hide.

create or replace function app_private.tg_reports__before_insert() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_target app_public.moderation_targets;
begin
  -- Definer rights: creates and locks the target row, reads reputation and other reports.
  new.reporter_id := app_public.current_user_id();
  if new.reporter_id is null then
    raise exception 'Sign in to report' using errcode = 'LOGIN';
  end if;
  new.status := 'pending';
  new.reviewed_by := null;
  new.reviewed_at := null;
  new.closed_at := null;
  new.created_at := now();
  if new.target_kind = 'user' and new.content_id = new.reporter_id then
    raise exception 'You cannot report yourself or your own content' using errcode = 'FORBD';
  end if;
  v_target := app_private.lock_moderation_target(new.target_kind, new.content_id);
  if v_target.author_id = new.reporter_id then
    raise exception 'You cannot report yourself or your own content' using errcode = 'FORBD';
  end if;
  if exists (select 1 from app_public.reports r
              where r.target_id = v_target.id and r.reporter_id = new.reporter_id and r.status in ('pending', 'reviewed')) then
    raise exception 'You already reported this; a moderator will look at it' using errcode = 'NUNIQ';
  end if;
  perform app_private.rate_limit('report:create', new.reporter_id::text);
  new.target_id := v_target.id;
  new.counts_for_auto_hide := coalesce((
    select u.reputation >= (app_private.setting('moderation.auto_hide_min_reputation') #>> '{}')::integer
      from app_public.users u where u.id = new.reporter_id), false);
  return new;
end;
$$;
comment on function app_private.tg_reports__before_insert() is 'Trigger on reports: the reporter is the signed-in member; not yourself or your own content (FORBD), one open report per target (NUNIQ), the report:create rate limit (RLIMT); creates and locks the target''s queue entry; decides whether the report counts towards auto-hide (reporter reputation).';

create or replace function app_private.tg_reports__after_insert() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_target app_public.moderation_targets;
  v_previous text;
begin
  -- The target row is locked by this transaction (before insert), so concurrent reports on the
  -- target queue behind it and this count sees every committed report: exact, once per reporter.
  update app_public.moderation_targets t
     set open_report_count = c.open_count, counted_reporter_count = c.counted, first_open_report_at = c.first_at,
         last_reported_at = now(), updated_at = now()
    from (select count(*)::integer as open_count,
                 count(distinct r.reporter_id) filter (where r.counts_for_auto_hide)::integer as counted,
                 min(r.created_at) as first_at
            from app_public.reports r
           where r.target_id = new.target_id and r.status in ('pending', 'reviewed')) c
   where t.id = new.target_id
  returning t.* into v_target;
  if v_target.kind <> 'user' and v_target.hidden_at is null
     and v_target.counted_reporter_count >= (app_private.setting('moderation.auto_hide_threshold') #>> '{}')::integer then
    v_previous := app_private.moderation_write(v_target.kind, v_target.content_id, 'hide');
    if v_previous in ('hidden', 'deleted') then
      return null; -- already out of sight
    end if;
    update app_public.moderation_targets t set hidden_at = now(), previous_status = v_previous
     where t.id = v_target.id returning t.* into v_target;
    perform app_private.log_moderation('auto_hide', v_target, null,
      'Reported by ' || v_target.counted_reporter_count || ' members; hidden until a moderator reviews it',
      jsonb_build_object('reportCount', v_target.open_report_count, 'reporterCount', v_target.counted_reporter_count,
                         'previousStatus', v_previous));
    perform app_private.notify_moderation(v_target, 'content_under_review', null);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_reports__after_insert() is 'Trigger on reports: recounts the target''s open reports and distinct counting reporters under the target''s row lock; at the moderation.auto_hide_threshold setting hides the target (not members) until reviewed, logs auto_hide and tells the author. Security definer: a reporter''s request hides others'' content.';

create trigger _050_suspension before insert or update or delete on app_public.reports
  for each row execute function app_private.tg__suspension();
create trigger _200_target before insert on app_public.reports
  for each row execute function app_private.tg_reports__before_insert();
create trigger _500_count after insert on app_public.reports
  for each row execute function app_private.tg_reports__after_insert();

-- Notifications of moderation: to the member responsible, never naming the moderator.
create or replace function app_private.notify_moderation(target app_public.moderation_targets, type_id text, reason text,
                                                         detail jsonb default '{}')
returns void
  language plpgsql
  set search_path = pg_catalog, public
as $$
begin
  perform app_private.notify(target.author_id, type_id, null,
    post_id => target.post_id, question_id => target.question_id, answer_id => target.answer_id,
    comment_id => target.comment_id,
    detail => jsonb_strip_nulls(jsonb_build_object('kind', target.kind, 'contentId', target.content_id, 'reason', reason))
              || coalesce(detail, '{}'));
end;
$$;
comment on function app_private.notify_moderation(app_public.moderation_targets, text, text, jsonb) is 'Notifies the member responsible for a target (content_under_review, content_removed, warned, suspended) with the kind, the content id and the reason in detail; the moderator stays anonymous.';

-- ---------------------------------------------------------------------------
-- The queue, claims and actions.

create or replace function app_public.moderation_queue(most_reported_first boolean default false)
returns setof app_public.moderation_targets
  language sql stable
as $$
  select t.* from app_public.moderation_targets t
   where t.open_report_count > 0
   order by case when most_reported_first then t.open_report_count end desc nulls last,
            t.first_open_report_at, t.id
$$;
grant execute on function app_public.moderation_queue(boolean) to authenticated;
comment on function app_public.moderation_queue(boolean) is 'The moderation queue: targets with open reports, oldest report first (or most reported first). Moderators (report:review) only; empty for others.';

create or replace function app_public.moderation_targets_reason_counts(t app_public.moderation_targets) returns jsonb
  language sql stable
as $$
  select coalesce(jsonb_object_agg(r.reason, r.n), '{}')
    from (select r.reason, count(*) as n from app_public.reports r
           where r.target_id = t.id and r.status in ('pending', 'reviewed') group by r.reason) r
$$;
grant execute on function app_public.moderation_targets_reason_counts(app_public.moderation_targets) to authenticated;
comment on function app_public.moderation_targets_reason_counts(app_public.moderation_targets) is 'The open reports counted by reason, e.g. {"spam": 2, "abuse": 1}.';

create or replace function app_public.moderation_targets_content_text(t app_public.moderation_targets) returns text
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select case when app_public.current_user_has_permission('report:review') then
    case t.kind
      when 'post' then (select p.title || E'\n\n' || p.body from app_public.posts p where p.id = t.content_id)
      when 'question' then (select q.title || E'\n\n' || q.body from app_public.questions q where q.id = t.content_id)
      when 'answer' then (select a.body from app_public.answers a where a.id = t.content_id)
      when 'comment' then (select c.body from app_public.comments c where c.id = t.content_id)
      when 'message' then (select coalesce(nullif(m.body, ''),
                                  (select r.body from app_public.message_revisions r where r.message_id = m.id order by r.created_at desc limit 1))
                             from app_public.messages m where m.id = t.content_id)
      when 'job' then (select j.title || E'\n\n' || j.description from app_public.job_postings j where j.id = t.content_id)
      when 'user' then (select concat_ws(E'\n', u.username, u.display_name, u.job_title, u.bio) from app_public.users u where u.id = t.content_id)
    end
  end
$$;
grant execute on function app_public.moderation_targets_content_text(app_public.moderation_targets) to authenticated;
comment on function app_public.moderation_targets_content_text(app_public.moderation_targets) is 'The reported content as text (title and body; a message''s last text even if deleted; a member''s profile), for moderators (report:review) whatever room or status it is in. Security definer: moderators need not be members of a private room to judge a message.';

create or replace function app_public.claim_moderation_target(target_id uuid) returns app_public.moderation_targets
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_me uuid := app_public.current_user_id();
  v_target app_public.moderation_targets;
begin
  if not app_public.current_user_has_permission('report:review') then
    raise exception 'Only moderators claim reports' using errcode = 'FORBD';
  end if;
  perform app_hidden.assert_not_suspended();
  select * into v_target from app_public.moderation_targets t where t.id = claim_moderation_target.target_id for update;
  if not found then
    raise exception 'No such queue entry' using errcode = 'NOTFD';
  end if;
  if v_target.claimed_by is distinct from v_me and v_target.claim_expires_at > now() then
    raise exception 'Another moderator is working on this until %', v_target.claim_expires_at
      using errcode = 'CLAIM', detail = json_build_object('claimedUntil', v_target.claim_expires_at)::text;
  end if;
  update app_public.reports r set status = 'reviewed', reviewed_by = v_me, reviewed_at = now()
   where r.target_id = v_target.id and r.status = 'pending';
  update app_public.moderation_targets t
     set claimed_by = v_me, claim_expires_at = now() + (app_private.setting('moderation.claim_duration') #>> '{}')::interval,
         updated_at = now()
   where t.id = v_target.id returning t.* into v_target;
  return v_target;
end;
$$;
grant execute on function app_public.claim_moderation_target(uuid) to authenticated;
comment on function app_public.claim_moderation_target(uuid) is 'Claims a queue entry for the moderation.claim_duration setting, so no other moderator acts on it (CLAIM) meanwhile; its pending reports become reviewed. Claiming again extends your claim. Moderators (report:review). Security definer: queue entries and reports have no update grant.';

create or replace function app_public.release_moderation_target(target_id uuid) returns app_public.moderation_targets
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_target app_public.moderation_targets;
begin
  if not app_public.current_user_has_permission('report:review') then
    raise exception 'Only moderators release claims' using errcode = 'FORBD';
  end if;
  update app_public.moderation_targets t set claimed_by = null, claim_expires_at = null, updated_at = now()
   where t.id = release_moderation_target.target_id and t.claimed_by = app_public.current_user_id()
  returning t.* into v_target;
  if not found then
    raise exception 'You hold no claim on that queue entry' using errcode = 'NOTFD';
  end if;
  return v_target;
end;
$$;
grant execute on function app_public.release_moderation_target(uuid) to authenticated;
comment on function app_public.release_moderation_target(uuid) is 'Gives up your claim on a queue entry before it lapses. Security definer: queue entries have no update grant.';

-- One action on one locked target, by a moderator whose permissions were checked.
create or replace function app_private.moderation_apply(
  target app_public.moderation_targets, action app_public.moderation_action, reason text,
  suspended_until timestamptz, moderator_id uuid, detail jsonb
) returns app_public.moderation_log
  language plpgsql
  set search_path = pg_catalog, public
as $$
declare
  v_target app_public.moderation_targets := target;
  v_previous text;
  v_close app_public.report_status;
  v_detail jsonb := coalesce(detail, '{}');
begin
  if v_target.claimed_by is distinct from moderator_id and v_target.claim_expires_at > now() then
    raise exception 'Another moderator is working on this % until %', v_target.kind, v_target.claim_expires_at
      using errcode = 'CLAIM', detail = json_build_object('claimedUntil', v_target.claim_expires_at, 'contentId', v_target.content_id)::text;
  end if;
  if action in ('hide', 'delete') and v_target.kind = 'user' then
    raise exception 'Members are not hidden or deleted: warn or suspend them' using errcode = 'INVAL';
  end if;
  if action in ('suspend', 'lift_suspension', 'warn') and v_target.author_id is null then
    raise exception 'That % has no member behind it any more', v_target.kind using errcode = 'NOTFD';
  end if;
  if action in ('suspend', 'lift_suspension') and v_target.author_id = moderator_id then
    raise exception 'You cannot suspend yourself or lift your own suspension' using errcode = 'FORBD';
  end if;
  case action
    when 'approve' then
      if v_target.hidden_at is not null then
        perform app_private.moderation_write(v_target.kind, v_target.content_id, 'restore:' || coalesce(v_target.previous_status, ''));
        v_detail := v_detail || jsonb_build_object('restoredStatus', coalesce(v_target.previous_status, 'published'));
      end if;
      v_close := 'dismissed';
    when 'hide' then
      v_previous := app_private.moderation_write(v_target.kind, v_target.content_id, 'hide');
      v_detail := v_detail || jsonb_build_object('previousStatus', v_previous);
      if v_target.hidden_at is null then
        update app_public.moderation_targets t set hidden_at = now(), previous_status = v_previous
         where t.id = v_target.id returning t.* into v_target;
      end if;
      perform app_private.notify_moderation(v_target, 'content_removed', reason, jsonb_build_object('action', 'hide'));
      v_close := 'resolved';
    when 'delete' then
      v_previous := app_private.moderation_write(v_target.kind, v_target.content_id, 'delete');
      v_detail := v_detail || jsonb_build_object('previousStatus', v_previous);
      -- Removed for good: approve no longer brings it back.
      update app_public.moderation_targets t set hidden_at = null, previous_status = null
       where t.id = v_target.id returning t.* into v_target;
      perform app_private.notify_moderation(v_target, 'content_removed', reason, jsonb_build_object('action', 'delete'));
      v_close := 'resolved';
    when 'warn' then
      perform app_private.notify_moderation(v_target, 'warned', reason);
      v_close := 'resolved';
    when 'suspend' then
      if suspended_until is not null and suspended_until <= now() then
        raise exception 'A suspension ends in the future (or give no end: indefinitely)' using errcode = 'INVAL';
      end if;
      insert into app_public.suspensions as s (user_id, ends_at, reason)
      values (v_target.author_id, suspended_until, moderation_apply.reason)
      on conflict (user_id) do update set ends_at = excluded.ends_at, reason = excluded.reason, created_at = now();
      v_detail := v_detail || jsonb_build_object('suspendedUntil', suspended_until);
      perform app_private.notify_moderation(v_target, 'suspended', reason, jsonb_build_object('suspendedUntil', suspended_until));
      v_close := 'resolved';
    when 'lift_suspension' then
      delete from app_public.suspensions s where s.user_id = v_target.author_id and (s.ends_at is null or s.ends_at > now());
      if not found then
        raise exception 'That member is not suspended' using errcode = 'NOTFD';
      end if;
    else
      raise exception 'Moderators cannot take the action %', action using errcode = 'INVAL';
  end case;
  if v_close is not null then
    update app_public.reports r
       set status = v_close, closed_at = now(), reviewed_by = coalesce(r.reviewed_by, moderator_id),
           reviewed_at = coalesce(r.reviewed_at, now())
     where r.target_id = v_target.id and r.status in ('pending', 'reviewed');
    update app_public.moderation_targets t
       set open_report_count = 0, counted_reporter_count = 0, first_open_report_at = null,
           claimed_by = null, claim_expires_at = null,
           hidden_at = case when action = 'approve' then null else t.hidden_at end,
           previous_status = case when action = 'approve' then null else t.previous_status end,
           updated_at = now()
     where t.id = v_target.id returning t.* into v_target;
  end if;
  return app_private.log_moderation(action, v_target, moderator_id, reason, v_detail);
end;
$$;
comment on function app_private.moderation_apply(app_public.moderation_targets, app_public.moderation_action, text, timestamptz, uuid, jsonb) is 'Applies one moderation action to one locked target (CLAIM when another moderator holds it), closes its open reports (approve: dismissed; hide, delete, warn, suspend: resolved), notifies the member and writes the log entry.';

create or replace function app_private.assert_can_moderate(action app_public.moderation_action, reason text) returns uuid
  language plpgsql stable
  set search_path = pg_catalog, public
as $$
declare
  v_me uuid := app_public.current_user_id();
begin
  if v_me is null then
    raise exception 'Sign in first' using errcode = 'LOGIN';
  end if;
  if not app_public.current_user_has_permission('report:review') then
    raise exception 'Only moderators take moderation actions' using errcode = 'FORBD';
  end if;
  if action in ('suspend', 'lift_suspension') and not app_public.current_user_has_permission('user:suspend') then
    raise exception 'Suspending members needs the user:suspend permission' using errcode = 'FORBD';
  end if;
  if action = 'auto_hide' then
    raise exception 'auto_hide is the database''s, not an action to take' using errcode = 'INVAL';
  end if;
  if reason is null or char_length(btrim(reason)) not between 1 and 2000 then
    raise exception 'Give a reason (1–2000 characters)' using errcode = 'INVAL';
  end if;
  perform app_hidden.assert_not_suspended();
  return v_me;
end;
$$;
comment on function app_private.assert_can_moderate(app_public.moderation_action, text) is 'The checks every moderation action makes: signed in (LOGIN), report:review (FORBD), user:suspend for suspend and lift_suspension, a reason (INVAL), not suspended (SUSPD). Returns the moderator''s id.';

create or replace function app_public.moderate(
  target_kind app_public.moderation_target_kind, content_id uuid, action app_public.moderation_action, reason text,
  suspended_until timestamptz default null
) returns app_public.moderation_log
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_me uuid := app_private.assert_can_moderate(action, reason);
begin
  return app_private.moderation_apply(app_private.lock_moderation_target(target_kind, content_id), action, btrim(reason),
                                      suspended_until, v_me, '{}');
end;
$$;
grant execute on function app_public.moderate(app_public.moderation_target_kind, uuid, app_public.moderation_action, text, timestamptz) to authenticated;
comment on function app_public.moderate(app_public.moderation_target_kind, uuid, app_public.moderation_action, text, timestamptz) is 'Takes one moderation action, with a reason, on a post, question, answer, comment, message, job posting or member (reported or not): approve, hide, delete, warn, suspend (suspendedUntil, or null: indefinitely; on content, its author) or lift_suspension. Returns the log entry. Moderators (report:review; suspend and lift_suspension need user:suspend). Security definer: moderators act on content they may not otherwise change.';

create or replace function app_public.moderate_many(
  target_kind app_public.moderation_target_kind, content_ids uuid[], action app_public.moderation_action, reason text,
  suspended_until timestamptz default null
) returns setof app_public.moderation_log
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_me uuid := app_private.assert_can_moderate(action, reason);
  v_id uuid;
begin
  if not app_public.current_user_has_permission('moderation:bulk') then
    raise exception 'Bulk actions need the moderation:bulk permission' using errcode = 'FORBD';
  end if;
  if coalesce(cardinality(content_ids), 0) = 0
     or cardinality(content_ids) > (app_private.setting('moderation.bulk_max_targets') #>> '{}')::integer then
    raise exception 'Give between 1 and % targets', app_private.setting('moderation.bulk_max_targets') #>> '{}'
      using errcode = 'INVAL', detail = json_build_object('max', (app_private.setting('moderation.bulk_max_targets') #>> '{}')::integer)::text;
  end if;
  -- One statement: the first refusal undoes every action before it (all or nothing). Sorted, so
  -- two bulk calls lock shared targets in the same order.
  for v_id in select distinct u from unnest(content_ids) u where u is not null order by u loop
    return next app_private.moderation_apply(app_private.lock_moderation_target(target_kind, v_id), action, btrim(reason),
                                             suspended_until, v_me, '{"bulk": true}');
  end loop;
end;
$$;
grant execute on function app_public.moderate_many(app_public.moderation_target_kind, uuid[], app_public.moderation_action, text, timestamptz) to authenticated;
comment on function app_public.moderate_many(app_public.moderation_target_kind, uuid[], app_public.moderation_action, text, timestamptz) is 'The same action, with one reason, on many targets of one kind (at most the moderation.bulk_max_targets setting), all or nothing: one refused target (unknown, claimed by another moderator, …) changes none. Needs moderation:bulk (admins). Security definer, like moderate.';

-- Messages and job postings hidden by moderation: out of sight for everyone but their author
-- and moderators. Restrictive policies, added to (ANDed with) the tables' own.
alter table app_public.messages add column if not exists hidden_at timestamptz;
comment on column app_public.messages.hidden_at is 'When moderation hid the message (reports or a moderator); null when visible. Hidden messages are seen by their author and moderators only.';
create policy select_not_hidden_by_moderation on app_public.messages as restrictive for select
  using (hidden_at is null or author_id = (select app_public.current_user_id())
         or (select app_public.current_user_has_permission('report:review')));
alter table app_public.job_postings add column if not exists hidden_at timestamptz;
comment on column app_public.job_postings.hidden_at is 'When moderation hid the posting (reports or a moderator); null when visible. Hidden postings are seen by their employer and moderators only, and take no applications.';
create policy select_not_hidden_by_moderation on app_public.job_postings as restrictive for select
  using (hidden_at is null or employer_id = (select app_public.current_user_id())
         or (select app_public.current_user_has_permission('report:review'))
         or (select app_public.current_user_has_permission('job:moderate')));

create or replace function app_private.tg_job_applications__moderation_hidden() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if exists (select 1 from app_public.job_postings j where j.id = new.job_id and j.hidden_at is not null) then
    raise exception 'No such job' using errcode = 'NOTFD';
  end if;
  return new;
end;
$$;
comment on function app_private.tg_job_applications__moderation_hidden() is 'Trigger on job applications: a posting hidden by moderation takes no applications (NOTFD, as for a job you cannot see). Security definer: reads the posting whatever its visibility.';
create trigger _250_moderation_hidden before insert on app_public.job_applications
  for each row execute function app_private.tg_job_applications__moderation_hidden();

-- ---------------------------------------------------------------------------
-- Suspensions: the trigger on every table a member writes (written out, one per table).
-- Exempt, on purpose (docs/moderation.md): notifications, notification_preferences,
-- notification_settings (the member's own inbox), user_blocks (safety), user_emails (account
-- security); column exemptions below: view counters, read positions, presence.
create trigger _050_suspension before insert or update or delete on app_public.answers
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.bookmarks
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.categories
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.category_follows
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.collection_items
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.collections
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.comments
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.contributions
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.files
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.follows
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.job_application_reviews
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.job_applications
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.job_postings
  for each row execute function app_private.tg__suspension('view_count');
create trigger _050_suspension before insert or update or delete on app_public.message_reactions
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.messages
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.posts
  for each row execute function app_private.tg__suspension('view_count');
create trigger _050_suspension before insert or update or delete on app_public.questions
  for each row execute function app_private.tg__suspension('view_count');
create trigger _050_suspension before insert or update or delete on app_public.reactions
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.room_members
  for each row execute function app_private.tg__suspension('last_read_message_id', 'last_read_at');
create trigger _050_suspension before insert or update or delete on app_public.room_pins
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.rooms
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.user_roles
  for each row execute function app_private.tg__suspension();
create trigger _050_suspension before insert or update or delete on app_public.users
  for each row execute function app_private.tg__suspension('is_online', 'last_seen_at');

-- === moderation: the logs for admins, failed jobs ===

create or replace function app_public.moderation_history(
  moderator_id uuid default null, affected_user_id uuid default null,
  target_kind app_public.moderation_target_kind default null, content_id uuid default null,
  action app_public.moderation_action default null,
  since timestamptz default null, before timestamptz default null
) returns setof app_public.moderation_log
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select l.*
    from app_public.moderation_log l
   where app_hidden.can_read_moderation_log(l.affected_user_id)
     and (moderation_history.moderator_id is null or (
          app_public.current_user_has_permission('report:review')
          and exists (select 1 from app_private.moderation_log_moderators m
                       where m.log_id = l.id and m.moderator_id = moderation_history.moderator_id)))
     and (moderation_history.affected_user_id is null or l.affected_user_id = moderation_history.affected_user_id)
     and (moderation_history.target_kind is null or l.target_kind = moderation_history.target_kind)
     and (moderation_history.content_id is null or l.content_id = moderation_history.content_id)
     and (moderation_history.action is null or l.action = moderation_history.action)
     and (moderation_history.since is null or l.created_at >= moderation_history.since)
     and (moderation_history.before is null or l.created_at < moderation_history.before)
   order by l.created_at desc, l.id desc
$$;
grant execute on function app_public.moderation_history(uuid, uuid, app_public.moderation_target_kind, uuid, app_public.moderation_action, timestamptz, timestamptz) to authenticated;
comment on function app_public.moderation_history(uuid, uuid, app_public.moderation_target_kind, uuid, app_public.moderation_action, timestamptz, timestamptz) is 'The moderation log, newest first, filtered by moderator (moderators only), affected member, target, action and time (since inclusive, before exclusive). Members get the entries about them; moderators and admins everything. Security definer: the moderator filter reads the private moderator table; the log''s own read rule (can_read_moderation_log) is applied here.';

-- The audit log of security events (app_private.security_events), for admins (audit:read).
create index if not exists security_events_created_idx on app_private.security_events (created_at);
create index if not exists security_events_actor_created_idx on app_private.security_events (actor_id, created_at);
create index if not exists security_events_kind_created_idx on app_private.security_events (kind, created_at);

create view app_public.audit_events with (security_barrier) as
  select e.id, e.kind, e.user_id, e.actor_id, e.ip, e.detail, e.created_at
    from app_private.security_events e
   where (select app_public.current_user_has_permission('audit:read'));
grant select on app_public.audit_events to authenticated;
comment on view app_public.audit_events is '@primaryKey id
@behavior -query:resource:list -query:resource:connection -aggregates
The audit log of security events (sign-ins and failures, password and e-mail changes, role grants, session revocations). Admins (audit:read) only: empty for everyone else. Read it with auditLog.';
comment on column app_public.audit_events.id is 'The event''s number, increasing.';
comment on column app_public.audit_events.kind is 'What happened: register, login, login_failed, login_locked, logout, session_revoked, refresh_token_reused, password_changed, password_reset_requested, password_reset, email_added, email_verified, email_removed, primary_email_changed, role_granted, role_revoked.';
comment on column app_public.audit_events.user_id is 'The account concerned (the target).';
comment on column app_public.audit_events.actor_id is 'Who did it, when not the account itself (an admin granting a role).';
comment on column app_public.audit_events.ip is 'The client address of the request.';
comment on column app_public.audit_events.detail is 'Facts of the event (e.g. the role granted, the reason a session ended).';
comment on column app_public.audit_events.created_at is 'When it happened.';

create or replace function app_public.audit_log(
  actor_id uuid default null, user_id uuid default null, kind text default null,
  since timestamptz default null, before timestamptz default null
) returns setof app_public.audit_events
  language sql stable
as $$
  select e.* from app_public.audit_events e
   where (audit_log.actor_id is null or e.actor_id = audit_log.actor_id)
     and (audit_log.user_id is null or e.user_id = audit_log.user_id)
     and (audit_log.kind is null or e.kind = audit_log.kind)
     and (audit_log.since is null or e.created_at >= audit_log.since)
     and (audit_log.before is null or e.created_at < audit_log.before)
   order by e.created_at desc, e.id desc
$$;
grant execute on function app_public.audit_log(uuid, uuid, text, timestamptz, timestamptz) to authenticated;
comment on function app_public.audit_log(uuid, uuid, text, timestamptz, timestamptz) is 'The audit log, newest first, filtered by actor, account (userId), kind and time (since inclusive, before exclusive); each filter is index-backed. Admins (audit:read) only: empty for everyone else.';

-- Background jobs that exhausted their attempts (graphile-worker keeps them with attempts = max_attempts).
create type app_public.failed_job as (
  id bigint,
  task_identifier text,
  queue_name text,
  attempts integer,
  max_attempts integer,
  last_error text,
  created_at timestamptz,
  updated_at timestamptz
);
comment on type app_public.failed_job is 'A background job that failed on every attempt and will not run again unless retried.';
comment on column app_public.failed_job.id is 'The job''s id (for retryFailedJob and discardFailedJob).';
comment on column app_public.failed_job.task_identifier is 'The task, e.g. send_email.';
comment on column app_public.failed_job.queue_name is 'Its serial queue, if any.';
comment on column app_public.failed_job.attempts is 'Attempts made.';
comment on column app_public.failed_job.max_attempts is 'Attempts allowed.';
comment on column app_public.failed_job.last_error is 'The error of the last attempt.';
comment on column app_public.failed_job.created_at is 'When the job was enqueued.';
comment on column app_public.failed_job.updated_at is 'When it last failed.';

create or replace function app_private.assert_worker_manager() returns void
  language plpgsql stable
  set search_path = pg_catalog, public
as $$
begin
  if not app_public.current_user_has_permission('worker:manage') then
    raise exception 'Only admins manage background jobs' using errcode = 'FORBD';
  end if;
end;
$$;
comment on function app_private.assert_worker_manager() is 'Raises FORBD unless the signed-in member holds worker:manage (admins).';

create or replace function app_public.failed_jobs() returns setof app_public.failed_job
  language plpgsql stable security definer
  set search_path = pg_catalog, public
as $$
begin
  perform app_private.assert_worker_manager();
  return query
    select j.id, j.task_identifier::text, j.queue_name::text, j.attempts::integer, j.max_attempts::integer, j.last_error,
           j.created_at, j.updated_at
      from graphile_worker.jobs j
     where j.attempts >= j.max_attempts and j.locked_at is null
     order by j.updated_at desc, j.id desc;
end;
$$;
grant execute on function app_public.failed_jobs() to authenticated;
comment on function app_public.failed_jobs() is 'Background jobs that failed for good (attempts used up), latest failure first, with their error. Admins (worker:manage) only (FORBD). Security definer: the job queue belongs to the owner.';

create or replace function app_public.retry_failed_job(job_id bigint) returns app_public.failed_job
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_job app_public.failed_job;
begin
  perform app_private.assert_worker_manager();
  select * into v_job from app_public.failed_jobs() f where f.id = retry_failed_job.job_id;
  if not found then
    raise exception 'No failed job with that id' using errcode = 'NOTFD';
  end if;
  perform graphile_worker.reschedule_jobs(array[retry_failed_job.job_id], run_at => now(), attempts => 0);
  select j.id, j.task_identifier::text, j.queue_name::text, j.attempts::integer, j.max_attempts::integer, j.last_error,
         j.created_at, j.updated_at
    into v_job from graphile_worker.jobs j where j.id = retry_failed_job.job_id;
  return v_job;
end;
$$;
grant execute on function app_public.retry_failed_job(bigint) to authenticated;
comment on function app_public.retry_failed_job(bigint) is 'Runs a failed job again now, with its attempts reset (graphile_worker.reschedule_jobs). Admins (worker:manage). Returns the job as rescheduled.';

create or replace function app_public.discard_failed_job(job_id bigint) returns app_public.failed_job
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_job app_public.failed_job;
begin
  perform app_private.assert_worker_manager();
  select * into v_job from app_public.failed_jobs() f where f.id = discard_failed_job.job_id;
  if not found then
    raise exception 'No failed job with that id' using errcode = 'NOTFD';
  end if;
  perform graphile_worker.complete_jobs(array[discard_failed_job.job_id]);
  return v_job;
end;
$$;
grant execute on function app_public.discard_failed_job(bigint) to authenticated;
comment on function app_public.discard_failed_job(bigint) is 'Deletes a failed job for good (graphile_worker.complete_jobs). Admins (worker:manage). Returns the job as it was.';

-- === search: one maintained table (search_entries), bounded candidates, length limit ===
--
-- Every searchable thing (post, question, answer, comment, member, chat
-- message, job posting) has one row in app_private.search_entries, kept by
-- triggers on its source table. app_public.search reads that table only:
-- the best matches by a static score (recency, popularity) are ranked, so a
-- very common word stops after search.candidates rows instead of ranking
-- every match. docs/content.md ("Search") says how to add a kind.

insert into app_private.settings (key, value, description) values
  ('search.max_query_length', '200', 'Longest search text accepted, in characters; longer is refused with TLONG'),
  ('search.candidates', '500', 'How many full-text matches one search ranks at most: the matches with the best static score (recency, popularity)')
on conflict (key) do update set value = excluded.value, description = excluded.description;

drop function if exists app_public.search(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean);
drop function if exists app_hidden.search_matches(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean);
drop function if exists app_hidden.search_candidates(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean);
drop function if exists app_hidden.search_snippet(text, uuid, text);
drop function if exists app_private.search_refresh(text, uuid);
drop function if exists app_private.search_rebuild();
drop function if exists app_private.tg__search_refresh() cascade;
drop function if exists app_private.tg_content__search_cascade() cascade;
drop view if exists app_private.search_sources;
drop table if exists app_private.search_entries;
drop function if exists app_private.search_score(timestamptz, bigint);

-- The per-table full-text indexes served only search; search_entries has its own.
drop index if exists app_public.posts_search_idx;
drop index if exists app_public.questions_search_idx;
drop index if exists app_public.answers_search_idx;
drop index if exists app_public.comments_search_idx;
drop index if exists app_public.users_search_idx;

create function app_private.search_score(published_at timestamptz, popularity bigint) returns real
  language sql immutable parallel safe
as $$
  -- Months since 1970, plus one per doubling of popularity: a document twice
  -- as popular counts as one month newer.
  select (coalesce(extract(epoch from published_at), 0) / 2592000
          + floor(log(2, 1 + greatest(coalesce(popularity, 0), 0))))::real
$$;
comment on function app_private.search_score(timestamptz, bigint) is
  'The static score of a search entry: months since 1970 of its publication, plus one per doubling of its popularity (reactions, replies, followers). Search ranks the matches with the best static score.';

create table app_private.search_entries (
  kind text not null,
  id uuid not null,
  doc tsvector not null,
  title text,
  title_is_own boolean not null,
  body text,
  author_id uuid,
  category_id uuid,
  tags text[],
  language text,
  published_at timestamptz,
  score real not null,
  room_id uuid,
  job_status app_public.job_status,
  constraint search_entries_pkey primary key (kind, id)
);
comment on table app_private.search_entries is
  'One row per searchable document, whatever its kind, kept by triggers on the source tables (app_private.search_refresh) from app_private.search_sources. Only documents someone may see are here; room_id and job_status carry the rules that depend on who searches.';
comment on column app_private.search_entries.kind is 'post, question, answer, comment, user, message, job or document.';
comment on column app_private.search_entries.doc is 'The weighted full-text vector (title A, body B, comment or message C).';
comment on column app_private.search_entries.title is 'The title shown with a hit (an answer shows its question''s).';
comment on column app_private.search_entries.title_is_own is 'Whether title is the document''s own, so typo-tolerant search matches it (not for answers, which borrow their question''s).';
comment on column app_private.search_entries.body is 'The first 5000 characters of the text, for snippets.';
comment on column app_private.search_entries.score is 'Static score (app_private.search_score): which matches a common word ranks first.';
comment on column app_private.search_entries.room_id is 'For messages of private and direct rooms: the room, readable only to those app_hidden.room_readable allows. Null: no room rule.';
comment on column app_private.search_entries.job_status is 'For job postings: the status, shown by app_hidden.job_posting_visible.';
create index search_entries_doc_idx on app_private.search_entries using gin (doc);
create index search_entries_score_idx on app_private.search_entries (score desc);
create index search_entries_kind_score_idx on app_private.search_entries (kind, score desc);
create index search_entries_title_trgm_idx on app_private.search_entries using gin (title public.gin_trgm_ops) where title_is_own;

-- What each kind contributes: one branch per kind, its visibility rules in
-- its WHERE clause. Column order is the table's.
create view app_private.search_sources as
  select 'post'::text as kind, p.id, p.search as doc, p.title, true as title_is_own, left(p.body, 5000) as body,
         p.author_id, p.category_id, p.tags, p.language, p.published_at,
         app_private.search_score(p.published_at, p.like_count + p.comment_count) as score,
         null::uuid as room_id, null::app_public.job_status as job_status
    from app_public.posts p
   where p.status = 'published'
  union all
  select 'question', q.id, q.search, q.title, true, left(q.body, 5000),
         q.author_id, q.category_id, q.tags, q.language, q.published_at,
         app_private.search_score(q.published_at, q.like_count + q.answer_count), null, null
    from app_public.questions q
   where q.status = 'published'
  union all
  select 'answer', a.id, a.search, q.title, false, left(a.body, 5000),
         a.author_id, q.category_id, q.tags, q.language, a.created_at,
         app_private.search_score(a.created_at, a.like_count), null, null
    from app_public.answers a join app_public.questions q on q.id = a.question_id
   where a.status = 'published' and q.status = 'published'
  union all
  select 'comment', c.id, c.search, null, false, left(c.body, 5000),
         c.author_id, null, null, null, c.created_at,
         app_private.search_score(c.created_at, c.like_count + c.reply_count), null, null
    from app_public.comments c
         left join app_public.posts cp on cp.id = c.post_id
         left join app_public.questions cq on cq.id = c.question_id
         left join app_public.answers ca on ca.id = c.answer_id
         left join app_public.questions caq on caq.id = ca.question_id
   where c.status = 'published'
     and c.document_id is null -- comments on documents: the document is the search hit
     and (c.post_id is null or cp.status = 'published')
     and (c.question_id is null or cq.status = 'published')
     and (c.answer_id is null or (ca.status = 'published' and caq.status = 'published'))
  union all
  select 'user', u.id, u.search, u.display_name, true, concat_ws(' — ', u.job_title, u.affiliation, u.bio),
         u.id, null, null, null, u.created_at,
         app_private.search_score(u.created_at, u.follower_count), null, null
    from app_public.users u
   where u.is_active
  union all
  select 'message', m.id, setweight(to_tsvector('english', m.body), 'C'), null, false, left(m.body, 5000),
         m.author_id, null, null, null, m.created_at,
         app_private.search_score(m.created_at, m.reply_count),
         case when r.kind = 'public' then null else r.id end, null
    from app_public.messages m join app_public.rooms r on r.id = m.room_id
   where m.kind = 'text' and m.deleted_at is null and m.hidden_at is null
  union all
  select 'job', j.id,
         setweight(to_tsvector('english', j.title), 'A')
           || setweight(to_tsvector('english', coalesce(j.organization_name, '')), 'B')
           || setweight(to_tsvector('english', concat_ws(' ', j.description, j.requirements, j.responsibilities, j.location)), 'B'),
         j.title, true, left(j.description, 5000),
         j.employer_id, j.category_id, j.tags, null, coalesce(j.published_at, j.created_at),
         app_private.search_score(coalesce(j.published_at, j.created_at), j.application_count), null, j.status
    from app_public.job_postings j
   where j.hidden_at is null
  union all
  select 'document', d.id,
         setweight(to_tsvector('english', d.title || ' ' || array_to_string(d.tags, ' ')), 'A')
           || setweight(to_tsvector('english', d.description), 'B'),
         d.title, true, left(d.description, 5000),
         d.owner_id, null, d.tags, null, d.created_at,
         app_private.search_score(d.created_at, d.like_count + d.comment_count + d.download_count), null, null
    from app_public.documents d
   where d.is_public;
comment on view app_private.search_sources is
  'What search indexes, per kind (one UNION ALL branch each, with the rules that make a document searchable at all: published, not hidden by moderation, public): the rows app_private.search_refresh copies into app_private.search_entries.';

create function app_private.search_refresh(kind text, id uuid) returns void
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v app_private.search_entries;
begin
  select s.* into v from app_private.search_sources s where s.kind = search_refresh.kind and s.id = search_refresh.id;
  if v.id is null then
    delete from app_private.search_entries e where e.kind = search_refresh.kind and e.id = search_refresh.id;
    return;
  end if;
  insert into app_private.search_entries values (v.*)
  on conflict on constraint search_entries_pkey do update
     set doc = excluded.doc, title = excluded.title, title_is_own = excluded.title_is_own, body = excluded.body,
         author_id = excluded.author_id, category_id = excluded.category_id, tags = excluded.tags,
         language = excluded.language, published_at = excluded.published_at, score = excluded.score,
         room_id = excluded.room_id, job_status = excluded.job_status
   -- An unchanged entry is not rewritten (no dead row, no index churn).
   where (search_entries.*) is distinct from (excluded.*);
end;
$$;
comment on function app_private.search_refresh(text, uuid) is
  'Brings one search entry up to date with its source: copies it from app_private.search_sources, or deletes it when the source is gone or no longer searchable.';

create function app_private.search_rebuild() returns bigint
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_count bigint;
begin
  truncate app_private.search_entries;
  insert into app_private.search_entries select * from app_private.search_sources;
  get diagnostics v_count = row_count;
  analyze app_private.search_entries;
  return v_count;
end;
$$;
comment on function app_private.search_rebuild() is
  'Refills app_private.search_entries from the sources in one statement and analyzes it; returns the number of entries. For bulk loads that switch triggers off (npm run seed) and after adding a kind.';

-- The trigger functions are security definer: the entries live in
-- app_private, and the sources must be read whole, not through the writer's
-- row-level security.
create function app_private.tg__search_refresh() returns trigger
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
begin
  -- tg_argv[0]: the kind this table feeds.
  if tg_op = 'DELETE' then
    perform app_private.search_refresh(tg_argv[0], old.id);
  else
    perform app_private.search_refresh(tg_argv[0], new.id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg__search_refresh() is
  'After a write on a searchable table: refreshes the row''s search entry (the kind is the trigger argument). Security definer: writes app_private.search_entries and reads the sources past the writer''s row-level security.';

create function app_private.tg_content__search_cascade() returns trigger
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Entries that borrow from this row (visibility, title, category, tags, language).
  if tg_table_name = 'posts' then
    perform app_private.search_refresh('comment', c.id) from app_public.comments c where c.post_id = new.id;
  elsif tg_table_name = 'questions' then
    perform app_private.search_refresh('answer', a.id) from app_public.answers a where a.question_id = new.id;
    perform app_private.search_refresh('comment', c.id) from app_public.comments c where c.question_id = new.id;
    perform app_private.search_refresh('comment', c.id)
       from app_public.answers a join app_public.comments c on c.answer_id = a.id
      where a.question_id = new.id;
  elsif tg_table_name = 'answers' then
    perform app_private.search_refresh('comment', c.id) from app_public.comments c where c.answer_id = new.id;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_content__search_cascade() is
  'After a post, question or answer changes status (or a question its title, category, tags or language): refreshes the search entries of its answers and comments. Security definer, as app_private.tg__search_refresh.';

create trigger _700_search after insert or delete or update of title, body, status, category_id, tags, language, published_at
  on app_public.posts for each row execute function app_private.tg__search_refresh('post');
create trigger _701_search_cascade after update of status on app_public.posts
  for each row when (old.status is distinct from new.status)
  execute function app_private.tg_content__search_cascade();
create trigger _700_search after insert or delete or update of title, body, status, category_id, tags, language, published_at
  on app_public.questions for each row execute function app_private.tg__search_refresh('question');
create trigger _701_search_cascade after update of status, title, category_id, tags, language on app_public.questions
  for each row when (old.status is distinct from new.status or old.title is distinct from new.title
                     or old.category_id is distinct from new.category_id or old.tags is distinct from new.tags
                     or old.language is distinct from new.language)
  execute function app_private.tg_content__search_cascade();
create trigger _700_search after insert or delete or update of body, status
  on app_public.answers for each row execute function app_private.tg__search_refresh('answer');
create trigger _701_search_cascade after update of status on app_public.answers
  for each row when (old.status is distinct from new.status)
  execute function app_private.tg_content__search_cascade();
create trigger _700_search after insert or delete or update of body, status
  on app_public.comments for each row execute function app_private.tg__search_refresh('comment');
create trigger _700_search after insert or delete or update of username, display_name, bio, job_title, affiliation, is_active
  on app_public.users for each row execute function app_private.tg__search_refresh('user');

insert into app_private.search_entries select * from app_private.search_sources;
analyze app_private.search_entries;

/*
 * The candidates of one search: visible matches, the best search.candidates
 * of them by static score, each with its text rank. Security definer because
 * the entries live in app_private (and a GIN index cannot serve a query under
 * row-level security); it applies the visibility rules itself: everything in
 * search_entries is public except messages of private and direct rooms
 * (app_hidden.room_readable), messages of members the searcher blocked (the
 * rule of the messages select policy) and job drafts
 * (app_hidden.job_posting_visible). plan_cache_mode: each call is planned for
 * its own words, so a rare word uses the GIN index and a common one walks the
 * score index and stops early.
 */
create function app_hidden.search_candidates(
  query text, kinds text[], category_ids uuid[], tags text[], want_author_id uuid,
  published_after timestamptz, published_before timestamptz, language text, match_all boolean
) returns table (kind text, id uuid, title text, rank real, author_id uuid, category_id uuid, published_at timestamptz)
  language plpgsql stable security definer
  set search_path = pg_catalog, public
  set plan_cache_mode = force_custom_plan
as $$
declare
  v_max_length int := (app_private.setting('search.max_query_length') #>> '{}')::int;
  v_limit int := (app_private.setting('search.candidates') #>> '{}')::int;
  v_fuzzy int := (app_private.setting('search.fuzzy_threshold') #>> '{}')::int;
  v_query tsquery;
  v_me uuid := app_public.current_user_id();
  v_blocked uuid[];
  v_found int;
begin
  if char_length(search_candidates.query) > v_max_length then
    raise exception 'The search text is too long (% characters; at most %)', char_length(search_candidates.query), v_max_length
      using errcode = 'TLONG',
            detail = json_build_object('maxLength', v_max_length, 'length', char_length(search_candidates.query))::text;
  end if;
  v_query := websearch_to_tsquery('english', search_candidates.query);
  v_blocked := array(select b.blocked_id from app_public.user_blocks b where b.blocker_id = v_me);

  return query
    select e.kind, e.id, e.title,
           (ts_rank_cd(e.doc, v_query, 32)
             * case when lower(e.title) = lower(trim(search_candidates.query)) then 10 else 1 end)::real,
           e.author_id, e.category_id, e.published_at
      from (select e.* from app_private.search_entries e
             where e.doc @@ v_query
               and (search_candidates.kinds is null or e.kind = any(search_candidates.kinds))
               and app_hidden.search_filters_pass(e.category_id, e.tags, e.author_id, e.published_at, e.language,
                     search_candidates.category_ids, search_candidates.tags, search_candidates.want_author_id,
                     search_candidates.published_after, search_candidates.published_before,
                     search_candidates.language, search_candidates.match_all)
               and (e.room_id is null or app_hidden.room_readable(e.room_id))
               and (e.kind <> 'message' or e.author_id is null or e.author_id <> all(v_blocked))
               and (e.job_status is null or app_hidden.job_posting_visible(e.job_status, e.author_id))
             order by e.score desc
             limit v_limit) e;
  get diagnostics v_found = row_count;
  if v_found >= v_fuzzy then
    return;
  end if;

  -- Typo tolerance, only when full text found little: titles and names that
  -- are similar (trigram index). Ranked below every full-text hit.
  return query
    select e.kind, e.id, e.title, (word_similarity(search_candidates.query, e.title) / 10)::real,
           e.author_id, e.category_id, e.published_at
      from app_private.search_entries e
     where e.title_is_own
       and search_candidates.query <% e.title
       and not (e.doc @@ v_query)
       and (search_candidates.kinds is null or e.kind = any(search_candidates.kinds))
       and app_hidden.search_filters_pass(e.category_id, e.tags, e.author_id, e.published_at, e.language,
             search_candidates.category_ids, search_candidates.tags, search_candidates.want_author_id,
             search_candidates.published_after, search_candidates.published_before,
             search_candidates.language, search_candidates.match_all)
       and (e.room_id is null or app_hidden.room_readable(e.room_id))
       and (e.kind <> 'message' or e.author_id is null or e.author_id <> all(v_blocked))
       and (e.job_status is null or app_hidden.job_posting_visible(e.job_status, e.author_id))
     limit v_limit;
end;
$$;
comment on function app_hidden.search_candidates(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) is
  'The documents one search ranks: visible full-text matches passing the filters, at most search.candidates of them (the best by static score), with their text rank; similar titles when full text found fewer than search.fuzzy_threshold. Refuses a text longer than search.max_query_length (TLONG).';
grant execute on function app_hidden.search_candidates(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) to anonymous, authenticated;

create function app_hidden.search_snippet(kind text, id uuid, query text) returns text
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  -- HTML-escaped text with <mark> around the matches: safe to show as HTML.
  -- Only called for the page returned (after search's ORDER BY and LIMIT).
  select ts_headline('english', replace(replace(replace(e.body, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                     websearch_to_tsquery('english', search_snippet.query),
                     'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2')
    from app_private.search_entries e
   where e.kind = search_snippet.kind and e.id = search_snippet.id
$$;
comment on function app_hidden.search_snippet(text, uuid, text) is
  'The highlighted snippet of one search hit (up to two fragments, HTML-escaped, matches in <mark>). Security definer: reads app_private.search_entries; gives only text of an entry search already returned to the caller.';
grant execute on function app_hidden.search_snippet(text, uuid, text) to anonymous, authenticated;

create function app_public.search(
  query text, kinds text[] default null, category_ids uuid[] default null, tags text[] default null,
  author_id uuid default null, published_after timestamptz default null, published_before timestamptz default null,
  language text default null, match_all boolean default true
) returns setof app_public.search_result
  language sql stable
as $$
  select c.kind, c.id, c.title,
         app_hidden.search_snippet(c.kind, c.id, search.query),
         c.rank, c.author_id, c.category_id, c.published_at
    from app_hidden.search_candidates(search.query, search.kinds, search.category_ids, search.tags, search.author_id,
                                      search.published_after, search.published_before, search.language, search.match_all) c
   order by c.rank desc, c.published_at desc nulls last, c.id
$$;
comment on function app_public.search(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) is
  'Ranked full-text search over posts, questions, answers, comments, members, chat messages (of rooms you may read), job postings and public documents, with highlighted snippets, typo tolerance and filters (combined with AND, or OR when matchAll is false). A very common word ranks the most recent and popular matches; the text is at most search.max_query_length characters (TLONG).';
grant execute on function app_public.search(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) to anonymous, authenticated;

comment on type app_public.search_result is 'A search hit: kind (post, question, answer, comment, user, message, job), its id, a title, a snippet (HTML-escaped, matches in <mark>) and its rank.';
comment on column app_public.search_result.kind is 'What was found: post, question, answer, comment, user, message (chat) or job (posting).';
comment on column app_public.search_result.id is 'The id of the post, question, answer, comment, user, chat message or job posting found.';
comment on column app_public.search_result.title is 'The title of a post, question or job posting, the question''s title for an answer, a user''s display name; null for comments and chat messages.';
comment on column app_public.search_result.author_id is 'The author of the content found (the employer for a job posting); for a user, the user''s own id.';
comment on column app_public.search_result.category_id is 'The category of the post, question or job posting found, when it has one.';
comment on column app_public.search_result.published_at is 'When the post, question or job posting was published, the answer, comment or message written, the user joined.';


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
  perform app_hidden.assert_not_suspended(); -- a suspended member cannot post, so does not type either
  if app_hidden.room_role(room_id) is null then
    raise exception 'You are not a member of that room' using errcode = 'NOTFD';
  end if;
  perform app_private.rate_limit('typing', v_me::text);
  perform pg_notify('agora_realtime', json_build_object('k', 'typing', 'r', room_id, 'u', v_me,
    'x', (app_private.setting('realtime.typing_ttl'))::int)::text);
  return true;
end;
$$;
comment on function app_public.send_typing_indicator(uuid) is 'Tells the room''s other members, live, that you are typing (a TYPING room event that expires by itself after the realtime.typing_ttl setting; send it again every few seconds while typing). Not stored. Members only (NOTFD), not while suspended (SUSPD); rate limited per member (RLIMT). Security definer: the rate limiter lives in app_private.';
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


--! split: 1900-integration.sql
-- === integration: search over moderation and documents; suspensions on documents; one live path for notifications ===
-- What joins the features built side by side this round: moderation's
-- hidden_at hides messages and job postings from search too; public
-- documents join search; documents are written by suspended members through
-- no path; notifications reach live subscribers through realtime's trigger
-- only.

drop trigger if exists _700_search on app_public.messages;
create trigger _700_search after insert or delete or update of body, kind, deleted_at, hidden_at
  on app_public.messages for each row execute function app_private.tg__search_refresh('message');
drop trigger if exists _700_search on app_public.job_postings;
create trigger _700_search after insert or delete or update of title, organization_name, description, requirements,
    responsibilities, location, status, category_id, tags, published_at, hidden_at
  on app_public.job_postings for each row execute function app_private.tg__search_refresh('job');
drop trigger if exists _700_search on app_public.documents;
create trigger _700_search after insert or delete or update of title, description, tags, is_public
  on app_public.documents for each row execute function app_private.tg__search_refresh('document');



-- Suspended members write no documents and no versions (createDocument and
-- addDocumentVersion write them as the owner role; the trigger still sees the member's session).
drop trigger if exists _050_suspension on app_public.documents;
create trigger _050_suspension before insert or update or delete on app_public.documents
  for each row execute function app_private.tg__suspension();
drop trigger if exists _050_suspension on app_public.document_versions;
create trigger _050_suspension before insert or update or delete on app_public.document_versions
  for each row execute function app_private.tg__suspension();

-- Live notifications go through realtime's trigger (_510_realtime, channel
-- agora_realtime); the per-member pg_notify seam of the notifications issue
-- had no listener left.
create or replace function app_private.tg_notifications__deliver() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
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
comment on function app_private.tg_notifications__deliver() is 'Trigger on notifications (security definer: it reads settings and e-mail addresses the member cannot): enqueues the e-mail when the member wants it immediately and has a verified primary address. Live delivery is realtime''s _510_realtime trigger.';
drop trigger if exists _500_deliver on app_public.notifications;
create trigger _500_deliver after insert on app_public.notifications
  for each row execute function app_private.tg_notifications__deliver();

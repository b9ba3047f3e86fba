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


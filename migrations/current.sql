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

-- Enter migration here

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


-- The target's row, created on first use, and locked for the rest of the transaction: reports
-- and actions on one target queue here, so counts and decisions never race.
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
  insert into app_public.moderation_targets as t
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
  on conflict on constraint moderation_targets_kind_content_key do update set author_id = excluded.author_id
  returning t.* into v_target;
  return v_target;
end;
$$;
comment on function app_private.lock_moderation_target(app_public.moderation_target_kind, uuid) is 'The moderation target row of a post, question, answer, comment, message, job or member, created on first use and row-locked until commit (NOTFD when the thing does not exist).';

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

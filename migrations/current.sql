-- Enter migration here

-- === jobs board ===
-- Job postings by holders of job:post, applications with their status
-- workflow, the status history, the employer's private reviews, and the
-- analysts' funnel. docs/jobs.md describes the rules; every rule is here.

drop view if exists app_analytics.job_funnel;
drop table if exists app_public.job_application_reviews cascade;
drop table if exists app_public.job_application_events cascade;
drop table if exists app_public.job_applications cascade;
drop table if exists app_public.job_postings cascade;
drop function if exists app_hidden.is_job_employer(uuid);
drop function if exists app_hidden.job_posting_visible(app_public.job_status, uuid);
drop function if exists app_hidden.job_postings_tagged(text);
drop function if exists app_hidden.job_postings_by_salary(numeric, numeric);
drop function if exists app_hidden.job_postings_of_type(app_public.job_employment_type);
drop function if exists app_hidden.job_postings_with_workplace(app_public.job_workplace);
drop function if exists app_hidden.can_see_job_application(uuid);
drop function if exists app_private.tg_job_postings__rules();
drop function if exists app_private.tg_job_applications__before_insert();
drop function if exists app_private.tg_job_applications__before_update();
drop function if exists app_private.tg_job_applications__after_write();
drop function if exists app_public.record_job_view(uuid);
drop type if exists app_public.job_employment_type;
drop type if exists app_public.job_workplace;
drop type if exists app_public.job_status;
drop type if exists app_public.job_salary_period;
drop type if exists app_public.job_application_status;

-- Who may post: the new role `employer` (granted by admins with grantRole)
-- and admin (who holds every permission). Plain members no longer post jobs.
insert into app_public.roles (id, description)
  values ('employer', 'Posts jobs and reviews the applications to them')
  on conflict (id) do update set description = excluded.description;
insert into app_public.permissions (id, description)
  values ('job:moderate', 'See every job posting and application; edit, pause, close or delete any posting')
  on conflict (id) do update set description = excluded.description;
delete from app_public.role_permissions where permission_id = 'job:post' and role_id in ('user', 'reviewer', 'moderator');
insert into app_public.role_permissions (role_id, permission_id)
  values ('employer', 'job:post'), ('admin', 'job:post'), ('admin', 'job:moderate')
  on conflict do nothing;

create type app_public.job_employment_type as enum ('full_time', 'part_time', 'contract', 'temporary', 'internship', 'volunteer', 'freelance');
comment on type app_public.job_employment_type is 'The kind of employment a job offers.';
create type app_public.job_workplace as enum ('remote', 'hybrid', 'on_site');
comment on type app_public.job_workplace is 'Where the work happens: remote, hybrid or on site.';
create type app_public.job_status as enum ('draft', 'active', 'paused', 'closed', 'filled');
comment on type app_public.job_status is
  'draft (only the employer sees it) → active (accepting applications) ⇄ paused → closed or filled (final: never reopens).';
create type app_public.job_salary_period as enum ('hour', 'day', 'week', 'month', 'year');
comment on type app_public.job_salary_period is 'The period a salary amount is paid for.';
create type app_public.job_application_status as enum
  ('pending', 'reviewing', 'shortlisted', 'interviewed', 'accepted', 'rejected', 'withdrawn');
comment on type app_public.job_application_status is
  'pending → reviewing → shortlisted → interviewed → accepted; rejected from any of the first four (set by the employer); withdrawn from any of the first four (set by the applicant). accepted, rejected and withdrawn are final.';

-- ---------------------------------------------------------------------------
create function app_hidden.job_posting_visible(status app_public.job_status, employer_id uuid) returns boolean
  language sql stable
as $$
  select status <> 'draft'
      or employer_id = app_public.current_user_id()
      or app_public.current_user_has_permission('job:moderate')
$$;
grant execute on function app_hidden.job_posting_visible(app_public.job_status, uuid) to anonymous, authenticated;
comment on function app_hidden.job_posting_visible(app_public.job_status, uuid) is
  'The visibility rule of a job posting: every status but draft is public; drafts only to their employer and to job:moderate. Used by the select policy and by the filter functions.';

create table app_public.job_postings (
  id uuid primary key default gen_random_uuid(),
  employer_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  organization_name text constraint job_organization_name_length check (char_length(organization_name) between 1 and 200),
  title text not null constraint job_title_length check (char_length(title) between 3 and 200),
  description text not null constraint job_description_length check (char_length(description) between 1 and 50000),
  requirements text constraint job_requirements_length check (char_length(requirements) <= 20000),
  responsibilities text constraint job_responsibilities_length check (char_length(responsibilities) <= 20000),
  employment_type app_public.job_employment_type not null default 'full_time',
  location text constraint job_location_length check (char_length(location) between 1 and 200),
  workplace app_public.job_workplace not null default 'on_site',
  salary_min numeric(12, 2) constraint job_salary_min_positive check (salary_min >= 0),
  salary_max numeric(12, 2) constraint job_salary_max_positive check (salary_max >= 0),
  salary_currency text constraint job_salary_currency_format check (salary_currency ~ '^[A-Z]{3}$'),
  salary_period app_public.job_salary_period,
  salary_range numrange generated always as (
    case when salary_min is null and salary_max is null then null else numrange(salary_min, salary_max, '[]') end
  ) stored,
  application_deadline timestamptz,
  starts_on date,
  tags text[] not null default '{}',
  category_id uuid references app_public.categories on delete set null,
  status app_public.job_status not null default 'draft',
  published_at timestamptz,
  closed_at timestamptz,
  view_count integer not null default 0,
  application_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint job_salary_range_order check (salary_min is null or salary_max is null or salary_min <= salary_max),
  constraint job_salary_terms check (
    (salary_min is null and salary_max is null) or (salary_currency is not null and salary_period is not null))
);
alter table app_public.job_postings enable row level security;
create policy select_visible on app_public.job_postings for select
  using (app_hidden.job_posting_visible(status, employer_id));
create policy insert_own on app_public.job_postings for insert
  with check (employer_id = (select app_public.current_user_id()) and (select app_public.current_user_has_permission('job:post')));
create policy update_own_or_moderate on app_public.job_postings for update
  using (employer_id = (select app_public.current_user_id()) or (select app_public.current_user_has_permission('job:moderate')));
create policy delete_draft_or_moderate on app_public.job_postings for delete
  using ((status = 'draft' and employer_id = (select app_public.current_user_id()))
         or (select app_public.current_user_has_permission('job:moderate')));
grant select on app_public.job_postings to anonymous, authenticated;
grant insert (organization_name, title, description, requirements, responsibilities, employment_type, location, workplace,
              salary_min, salary_max, salary_currency, salary_period, application_deadline, starts_on, tags, category_id, status)
  on app_public.job_postings to authenticated;
grant update (organization_name, title, description, requirements, responsibilities, employment_type, location, workplace,
              salary_min, salary_max, salary_currency, salary_period, application_deadline, starts_on, tags, category_id, status)
  on app_public.job_postings to authenticated;
grant delete on app_public.job_postings to authenticated;
comment on table app_public.job_postings is 'A job offered by an employer (a member holding job:post). Drafts are seen only by their employer; every other status is public.';
comment on column app_public.job_postings.id is 'The posting''s id.';
comment on column app_public.job_postings.employer_id is 'The member who posted the job and reviews its applications. Cannot change.';
comment on column app_public.job_postings.organization_name is 'The hiring organisation''s name, 1–200 characters, if the employer gives one.';
comment on column app_public.job_postings.title is 'Job title, 3–200 characters.';
comment on column app_public.job_postings.description is 'Markdown, stored as written; descriptionHtml renders it, sanitised. At most 50 000 characters.';
comment on column app_public.job_postings.requirements is 'What the candidate needs (markdown; requirementsHtml renders it). At most 20 000 characters.';
comment on column app_public.job_postings.responsibilities is 'What the job involves (markdown; responsibilitiesHtml renders it). At most 20 000 characters.';
comment on column app_public.job_postings.employment_type is '@behavior -filterBy
Full time (default), part time, contract, temporary, internship, volunteer or freelance.';
comment on column app_public.job_postings.location is 'Where the job is, free text (e.g. "Berlin, Germany"); the location filter matches it exactly.';
comment on column app_public.job_postings.workplace is '@behavior -filterBy
Remote, hybrid or on site (default).';
comment on column app_public.job_postings.salary_min is 'Lowest salary offered per salary period, in salary currency; at most salary max.';
comment on column app_public.job_postings.salary_max is 'Highest salary offered per salary period, in salary currency; at least salary min.';
comment on column app_public.job_postings.salary_currency is 'ISO 4217 code (e.g. EUR), required when a salary is given.';
comment on column app_public.job_postings.salary_period is 'The period the salary is paid for, required when a salary is given.';
comment on column app_public.job_postings.salary_range is '@behavior -*
The salary as a range [min, max] for the salary filters (an open end when one bound is missing). Set by the database.';
comment on column app_public.job_postings.application_deadline is 'Applications are refused from this moment on (compared with the current time at each application; no job runs). Null: no deadline.';
comment on column app_public.job_postings.starts_on is 'The expected start date, if known.';
comment on column app_public.job_postings.tags is 'Up to 5 tags, stored lower-case, trimmed, sorted and without duplicates.';
comment on column app_public.job_postings.category_id is 'The category of the job; null if none (or if the category was deleted).';
comment on column app_public.job_postings.status is 'draft (default), active, paused, closed or filled; see JobStatus. Only active jobs accept applications.';
comment on column app_public.job_postings.published_at is 'When the job first became active; set by the database, then kept. "Posted since" and "newest" use it.';
comment on column app_public.job_postings.closed_at is 'When the job was closed or filled; set by the database.';
comment on column app_public.job_postings.view_count is 'How many times the job was viewed (recordJobView). Maintained by the database.';
comment on column app_public.job_postings.application_count is 'How many applications the job received, withdrawn ones not counted. Maintained by the database.';
comment on column app_public.job_postings.created_at is 'When the posting was created.';
comment on column app_public.job_postings.updated_at is 'When the posting last changed. Set by the database.';
create index job_postings_employer_id_idx on app_public.job_postings (employer_id);
create index job_postings_category_published_idx on app_public.job_postings (category_id, published_at);
create index job_postings_published_at_idx on app_public.job_postings (published_at);
create index job_postings_deadline_idx on app_public.job_postings (application_deadline);
create index job_postings_salary_max_idx on app_public.job_postings (salary_max);
create index job_postings_salary_min_idx on app_public.job_postings (salary_min);
create index job_postings_salary_range_idx on app_public.job_postings using gist (salary_range);
create index job_postings_employment_type_published_idx on app_public.job_postings (employment_type, published_at);
create index job_postings_workplace_published_idx on app_public.job_postings (workplace, published_at);
create index job_postings_salary_currency_idx on app_public.job_postings (salary_currency);
create index job_postings_location_idx on app_public.job_postings (location);
create index job_postings_status_idx on app_public.job_postings (status);
create index job_postings_tags_idx on app_public.job_postings using gin (tags);

create function app_private.tg_job_postings__rules() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Definer rights: calls app_private.normalize_tags, which the API roles cannot.
  new.tags := app_private.normalize_tags(new.tags);
  if tg_op = 'INSERT' then
    if new.status not in ('draft', 'active') then
      raise exception 'A new job is a draft or active, not %', new.status
        using errcode = 'JOBTR', detail = json_build_object('from', null, 'to', new.status)::text;
    end if;
  elsif new.status is distinct from old.status then
    if not (
         (old.status = 'draft' and new.status = 'active')
      or (old.status = 'active' and new.status in ('paused', 'closed', 'filled'))
      or (old.status = 'paused' and new.status in ('active', 'closed', 'filled'))
    ) then
      raise exception 'A job cannot go from % to %', old.status, new.status
        using errcode = 'JOBTR', detail = json_build_object('from', old.status, 'to', new.status)::text;
    end if;
  end if;
  if new.status <> 'draft' then
    new.published_at := coalesce(case when tg_op = 'UPDATE' then old.published_at end, now());
  end if;
  if new.status in ('closed', 'filled') then
    new.closed_at := coalesce(case when tg_op = 'UPDATE' then old.closed_at end, now());
  end if;
  return new;
end;
$$;
comment on function app_private.tg_job_postings__rules() is
  'Trigger: normalises tags, enforces the job status transitions (JOBTR), stamps published_at and closed_at.';
create trigger _100_timestamps before insert or update on app_public.job_postings
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert or update on app_public.job_postings
  for each row execute function app_private.tg_job_postings__rules();

create function app_public.job_postings_is_accepting_applications(job app_public.job_postings) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select job.status = 'active' and (job.application_deadline is null or job.application_deadline > now())
$$;
grant execute on function app_public.job_postings_is_accepting_applications(app_public.job_postings) to anonymous, authenticated;
comment on function app_public.job_postings_is_accepting_applications(app_public.job_postings) is
  'Whether the job accepts applications now: active and before its deadline.';

-- Security definer: anyone may count a view of a public job without the right to update it.
create function app_public.record_job_view(job_id uuid) returns integer
  language sql volatile security definer
  set search_path = pg_catalog, public
as $$
  update app_public.job_postings j set view_count = view_count + 1
   where j.id = record_job_view.job_id and j.status <> 'draft'
  returning view_count
$$;
grant execute on function app_public.record_job_view(uuid) to anonymous, authenticated;
comment on function app_public.record_job_view(uuid) is 'Counts one view of a public (not draft) job; returns the new count.';

-- The list filters whose operators are not leakproof (enum =, array @>,
-- range &&): under row-level security PostgreSQL would check the policy on
-- every row before them and never use their indexes. Each filter is this
-- function instead: definer rights (no row policy), the visibility rule
-- stated by app_hidden.job_posting_visible, and the index. The jobs list
-- keeps the rows whose id is in the set (uuid = is leakproof).
create function app_hidden.job_postings_tagged(tag text) returns setof uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select j.id from app_public.job_postings j
   where j.tags @> array[lower(job_postings_tagged.tag)] and app_hidden.job_posting_visible(j.status, j.employer_id)
$$;
grant execute on function app_hidden.job_postings_tagged(text) to anonymous, authenticated;
comment on function app_hidden.job_postings_tagged(text) is 'Ids of the visible jobs carrying this tag (GIN index on tags). Security definer: see the note above it in the migration.';

create function app_hidden.job_postings_by_salary(salary_from numeric, salary_to numeric) returns setof uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select j.id from app_public.job_postings j
   where j.salary_range && numrange(job_postings_by_salary.salary_from, job_postings_by_salary.salary_to, '[]')
     and app_hidden.job_posting_visible(j.status, j.employer_id)
$$;
grant execute on function app_hidden.job_postings_by_salary(numeric, numeric) to anonymous, authenticated;
comment on function app_hidden.job_postings_by_salary(numeric, numeric) is 'Ids of the visible jobs whose salary range overlaps [salary_from, salary_to] (null: open end; GiST index on salary_range). Security definer: leakproofness, as above.';

create function app_hidden.job_postings_of_type(employment_type app_public.job_employment_type) returns setof uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select j.id from app_public.job_postings j
   where j.employment_type = job_postings_of_type.employment_type and app_hidden.job_posting_visible(j.status, j.employer_id)
$$;
grant execute on function app_hidden.job_postings_of_type(app_public.job_employment_type) to anonymous, authenticated;
comment on function app_hidden.job_postings_of_type(app_public.job_employment_type) is 'Ids of the visible jobs of this employment type (index on employment_type). Security definer: leakproofness, as above.';

create function app_hidden.job_postings_with_workplace(workplace app_public.job_workplace) returns setof uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select j.id from app_public.job_postings j
   where j.workplace = job_postings_with_workplace.workplace and app_hidden.job_posting_visible(j.status, j.employer_id)
$$;
grant execute on function app_hidden.job_postings_with_workplace(app_public.job_workplace) to anonymous, authenticated;
comment on function app_hidden.job_postings_with_workplace(app_public.job_workplace) is 'Ids of the visible jobs with this workplace (index on workplace). Security definer: leakproofness, as above.';

create function app_hidden.is_job_employer(job_id uuid) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select exists (select 1 from app_public.job_postings j
                  where j.id = is_job_employer.job_id and j.employer_id = app_public.current_user_id())
$$;
grant execute on function app_hidden.is_job_employer(uuid) to anonymous, authenticated;
comment on function app_hidden.is_job_employer(uuid) is 'Whether the signed-in member posted this job. Shared by the application policies.';

-- ---------------------------------------------------------------------------
create table app_public.job_applications (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references app_public.job_postings on delete cascade,
  applicant_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  cover_letter text constraint job_application_cover_letter_length check (char_length(cover_letter) <= 10000),
  status app_public.job_application_status not null default 'pending',
  status_changed_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint job_applications_one_per_applicant unique (job_id, applicant_id)
);
alter table app_public.job_applications enable row level security;
create policy select_party on app_public.job_applications for select
  using (applicant_id = (select app_public.current_user_id()) or app_hidden.is_job_employer(job_id)
         or (select app_public.current_user_has_permission('job:moderate')));
create policy insert_own on app_public.job_applications for insert
  with check (applicant_id = (select app_public.current_user_id()));
create policy update_party on app_public.job_applications for update
  using (applicant_id = (select app_public.current_user_id()) or app_hidden.is_job_employer(job_id));
grant select on app_public.job_applications to anonymous, authenticated;
grant insert (job_id, cover_letter) on app_public.job_applications to authenticated;
grant update (cover_letter, status) on app_public.job_applications to authenticated;
comment on table app_public.job_applications is 'A member''s application to a job: one per member and job. Seen by the applicant, the job''s employer and admins.';
comment on column app_public.job_applications.id is 'The application''s id.';
comment on column app_public.job_applications.job_id is 'The job applied to: active and before its deadline at the time of applying.';
comment on column app_public.job_applications.applicant_id is 'The member who applied (the signed-in member). Cannot change.';
comment on column app_public.job_applications.cover_letter is 'The cover letter, at most 10 000 characters; the applicant may change it while the application is pending.';
comment on column app_public.job_applications.status is 'See JobApplicationStatus: the employer moves it forward or rejects; the applicant may only withdraw.';
comment on column app_public.job_applications.status_changed_at is 'When the status last changed. Set by the database.';
comment on column app_public.job_applications.created_at is 'When the member applied.';
comment on column app_public.job_applications.updated_at is 'When the application last changed. Set by the database.';
create index job_applications_applicant_id_idx on app_public.job_applications (applicant_id);

create function app_private.tg_job_applications__before_insert() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_job app_public.job_postings;
  v_previous app_public.job_application_status;
begin
  -- Definer rights: reads the job whatever its visibility, and locks it so
  -- that applications to one job (and its status changes) queue: the
  -- duplicate check below then sees a concurrent twin once it committed.
  select * into v_job from app_public.job_postings j where j.id = new.job_id for no key update;
  if not found or v_job.status = 'draft' then
    raise exception 'No such job' using errcode = 'NOTFD';
  end if;
  if v_job.employer_id = new.applicant_id then
    raise exception 'You cannot apply to your own job' using errcode = 'JOBOW';
  end if;
  if v_job.status <> 'active' then
    raise exception 'This job is not accepting applications (it is %)', v_job.status
      using errcode = 'JOBCL', detail = json_build_object('status', v_job.status)::text;
  end if;
  if v_job.application_deadline is not null and v_job.application_deadline <= now() then
    raise exception 'The application deadline has passed' using errcode = 'JOBDL';
  end if;
  select a.status into v_previous from app_public.job_applications a
   where a.job_id = new.job_id and a.applicant_id = new.applicant_id;
  if found then
    raise exception '%', case when v_previous = 'withdrawn'
        then 'You withdrew your application to this job; it cannot be submitted again'
        else 'You have already applied to this job' end
      using errcode = 'APPEX', detail = json_build_object('status', v_previous)::text;
  end if;
  new.status := 'pending';
  new.status_changed_at := now();
  return new;
end;
$$;
comment on function app_private.tg_job_applications__before_insert() is
  'Trigger: a member applies only to an active job before its deadline (JOBCL, JOBDL), never to their own (JOBOW), once (APPEX).';

create function app_private.tg_job_applications__before_update() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_actor uuid := app_public.current_user_id();
  v_employer uuid;
begin
  -- Definer rights: reads the job's employer without depending on the caller's view of it.
  select j.employer_id into v_employer from app_public.job_postings j where j.id = new.job_id;
  if new.cover_letter is distinct from old.cover_letter then
    if v_actor is distinct from old.applicant_id then
      raise exception 'Only the applicant may change the cover letter' using errcode = 'FORBD';
    end if;
    if old.status <> 'pending' then
      raise exception 'The cover letter can change only while the application is pending' using errcode = 'APPTR',
        detail = json_build_object('from', old.status, 'to', new.status)::text;
    end if;
  end if;
  if new.status is distinct from old.status then
    if old.status in ('accepted', 'rejected', 'withdrawn') then
      raise exception 'The application is % and cannot change any more', old.status using errcode = 'APPTR',
        detail = json_build_object('from', old.status, 'to', new.status)::text;
    end if;
    if new.status = 'withdrawn' then
      if v_actor is distinct from old.applicant_id then
        raise exception 'Only the applicant may withdraw an application' using errcode = 'FORBD';
      end if;
    else
      if v_actor is distinct from v_employer then
        raise exception 'Only the job''s employer may set an application to %', new.status using errcode = 'FORBD';
      end if;
      if not (
           (old.status = 'pending' and new.status = 'reviewing')
        or (old.status = 'reviewing' and new.status = 'shortlisted')
        or (old.status = 'shortlisted' and new.status = 'interviewed')
        or (old.status = 'interviewed' and new.status = 'accepted')
        or new.status = 'rejected'
      ) then
        raise exception 'An application cannot go from % to %', old.status, new.status using errcode = 'APPTR',
          detail = json_build_object('from', old.status, 'to', new.status)::text;
      end if;
    end if;
    new.status_changed_at := now();
  end if;
  return new;
end;
$$;
comment on function app_private.tg_job_applications__before_update() is
  'Trigger: enforces the application status transitions (APPTR) and who may make them (FORBD): the employer reviews, the applicant withdraws or edits the cover letter while pending.';

create trigger _100_timestamps before insert or update on app_public.job_applications
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert on app_public.job_applications
  for each row execute function app_private.tg_job_applications__before_insert();
create trigger _210_transitions before update on app_public.job_applications
  for each row execute function app_private.tg_job_applications__before_update();

-- ---------------------------------------------------------------------------
create function app_hidden.can_see_job_application(application_id uuid) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select exists (select 1 from app_public.job_applications a where a.id = can_see_job_application.application_id)
$$;
grant execute on function app_hidden.can_see_job_application(uuid) to anonymous, authenticated;
comment on function app_hidden.can_see_job_application(uuid) is
  'Whether the caller may see this application (through its row-level security: applicant, employer, job:moderate). Used by the history policy.';

create table app_public.job_application_events (
  id bigint primary key generated always as identity,
  application_id uuid not null references app_public.job_applications on delete cascade,
  actor_id uuid references app_public.users on delete set null,
  from_status app_public.job_application_status,
  to_status app_public.job_application_status not null,
  created_at timestamptz not null default now()
);
alter table app_public.job_application_events enable row level security;
create policy select_party on app_public.job_application_events for select
  using (app_hidden.can_see_job_application(application_id));
grant select on app_public.job_application_events to anonymous, authenticated;
comment on table app_public.job_application_events is 'The status history of an application: who changed it from what to what, when. Written by the database; seen by the applicant, the employer and admins. Private notes are not here (JobApplicationReview).';
comment on column app_public.job_application_events.id is 'The event''s id, increasing.';
comment on column app_public.job_application_events.application_id is 'The application whose status changed.';
comment on column app_public.job_application_events.actor_id is 'Who changed it: the applicant (applying, withdrawing) or the employer; null if that account was deleted or the change was made by the system.';
comment on column app_public.job_application_events.from_status is 'The status before; null for the submission.';
comment on column app_public.job_application_events.to_status is 'The status after.';
comment on column app_public.job_application_events.created_at is 'When it changed.';
create index job_application_events_application_idx on app_public.job_application_events (application_id, id);
create index job_application_events_actor_id_idx on app_public.job_application_events (actor_id);

create function app_private.tg_job_applications__after_write() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Definer rights: writes the history and the job's counter, which the API roles cannot.
  -- Notifications (application received → employer; status changed → applicant)
  -- will be enqueued here when notifications exist (docs/jobs.md).
  if tg_op = 'INSERT' then
    insert into app_public.job_application_events (application_id, actor_id, from_status, to_status)
      values (new.id, app_public.current_user_id(), null, new.status);
    update app_public.job_postings set application_count = application_count + 1 where id = new.job_id;
  elsif tg_op = 'UPDATE' then
    if new.status is distinct from old.status then
      insert into app_public.job_application_events (application_id, actor_id, from_status, to_status)
        values (new.id, app_public.current_user_id(), old.status, new.status);
      if new.status = 'withdrawn' then
        update app_public.job_postings set application_count = application_count - 1 where id = new.job_id;
      end if;
    end if;
  elsif old.status <> 'withdrawn' then
    update app_public.job_postings set application_count = application_count - 1 where id = old.job_id;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_job_applications__after_write() is
  'Trigger: records each status change in job_application_events and keeps the job''s application_count (withdrawn not counted).';
create trigger _500_after_write after insert or update or delete on app_public.job_applications
  for each row execute function app_private.tg_job_applications__after_write();

-- ---------------------------------------------------------------------------
create table app_public.job_application_reviews (
  application_id uuid primary key references app_public.job_applications on delete cascade,
  reviewer_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  notes text constraint job_application_review_notes_length check (char_length(notes) <= 10000),
  rating smallint constraint job_application_review_rating_range check (rating between 1 and 5),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table app_public.job_application_reviews enable row level security;
create policy employer_only on app_public.job_application_reviews for all
  using (exists (select 1 from app_public.job_applications a
                  where a.id = application_id and app_hidden.is_job_employer(a.job_id)))
  with check (reviewer_id = (select app_public.current_user_id())
              and exists (select 1 from app_public.job_applications a
                           where a.id = application_id and app_hidden.is_job_employer(a.job_id)));
grant select on app_public.job_application_reviews to anonymous, authenticated;
grant delete on app_public.job_application_reviews to authenticated;
grant insert (application_id, notes, rating) on app_public.job_application_reviews to authenticated;
grant update (notes, rating) on app_public.job_application_reviews to authenticated;
comment on table app_public.job_application_reviews is 'The employer''s private notes and rating of an application: readable and writable only by the job''s employer (not the applicant, not admins).';
comment on column app_public.job_application_reviews.application_id is 'The application reviewed (one review per application).';
comment on column app_public.job_application_reviews.reviewer_id is 'The employer who wrote the review.';
comment on column app_public.job_application_reviews.notes is 'Private notes, at most 10 000 characters.';
comment on column app_public.job_application_reviews.rating is 'A private rating from 1 to 5.';
comment on column app_public.job_application_reviews.created_at is 'When the review was first written.';
comment on column app_public.job_application_reviews.updated_at is 'When the review last changed. Set by the database.';
create index job_application_reviews_reviewer_id_idx on app_public.job_application_reviews (reviewer_id);
create trigger _100_timestamps before insert or update on app_public.job_application_reviews
  for each row execute function app_private.tg__timestamps();

-- ---------------------------------------------------------------------------
create view app_analytics.job_funnel as
  select a.job_id, j.category_id, date_trunc('week', a.created_at) as week, a.status, count(*)::integer as applications
    from app_public.job_applications a
    join app_public.job_postings j on j.id = a.job_id
   group by a.job_id, j.category_id, date_trunc('week', a.created_at), a.status;
grant select on app_analytics.job_funnel to analyst;
comment on view app_analytics.job_funnel is
  'Applications per job, category, week applied (Monday, UTC) and current status; sum over job_id for per-category figures. No personal data.';

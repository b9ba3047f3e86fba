--! Previous: -
--! Hash: sha1:d94e85e83199c1c240ddc5b15409491254682112

-- Foundation: schemas, privileges, extensions and shared helpers.
-- Everything later stands on this migration.

drop schema if exists app_public cascade;
drop schema if exists app_hidden cascade;
drop schema if exists app_private cascade;
drop schema if exists app_analytics cascade;

-- Nothing is granted implicitly: every privilege below is explicit.
alter default privileges revoke all on sequences from public;
alter default privileges revoke all on functions from public;
revoke all on schema public from public;
grant all on schema public to :DATABASE_OWNER;

-- Trusted extensions (the database owner may create them).
create extension if not exists citext with schema public;
create extension if not exists pgcrypto with schema public;
create extension if not exists pg_trgm with schema public;

create schema app_public;
comment on schema app_public is 'What the GraphQL API exposes. Every table has row-level security.';
create schema app_hidden;
comment on schema app_hidden is 'Usable by the API roles, not exposed through GraphQL.';
create schema app_private;
comment on schema app_private is 'Secrets and security-definer internals. The API roles have no grant here.';
create schema app_analytics;
comment on schema app_analytics is 'Read-only views for the analyst role. No secrets, no e-mail addresses.';

grant usage on schema public, app_public, app_hidden to anonymous, authenticated;
grant usage on schema public, app_analytics to analyst;

/*
 * Shared trigger: sets created_at on insert and updated_at on every write,
 * so clients can neither forge nor forget them. Attach as
 *   create trigger _100_timestamps before insert or update on <table>
 *     for each row execute function app_private.tg__timestamps();
 */
create function app_private.tg__timestamps() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
begin
  new.created_at := case when tg_op = 'INSERT' then now() else old.created_at end;
  new.updated_at := case
    when tg_op = 'UPDATE' and old.updated_at >= now() then old.updated_at + interval '1 millisecond'
    else now()
  end;
  return new;
end;
$$;
comment on function app_private.tg__timestamps() is
  'Trigger: maintains created_at/updated_at; updated_at always moves forward.';

/*
 * Enqueues a background job in the caller's transaction, so the job exists
 * exactly when its cause commits. Security definer: the API roles cannot
 * reach graphile_worker; trigger functions that enqueue are security definer
 * themselves and call this.
 */
create function app_private.add_job(
  identifier text,
  payload json default '{}'::json,
  queue_name text default null,
  run_at timestamptz default null,
  max_attempts int default null,
  job_key text default null
) returns void
  language plpgsql
  volatile
  security definer
  set search_path = pg_catalog, public
as $$
begin
  perform graphile_worker.add_job(
    identifier,
    payload,
    queue_name => queue_name,
    run_at => run_at,
    max_attempts => coalesce(max_attempts, 25),
    job_key => job_key
  );
end;
$$;
comment on function app_private.add_job(text, json, text, timestamptz, int, text) is
  'Enqueues a graphile-worker job in the current transaction.';

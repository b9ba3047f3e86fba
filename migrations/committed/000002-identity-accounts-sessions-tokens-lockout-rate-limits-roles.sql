--! Previous: sha1:d94e85e83199c1c240ddc5b15409491254682112
--! Hash: sha1:9189bf1ef8e653b5e2e2280c260a7244667c2be3
--! Message: Identity: accounts, sessions, tokens, lockout, rate limits, roles

-- Identity: users, e-mails, passwords, sessions, refresh tokens, e-mail
-- verification, password reset, lockout, rate limits, roles and permissions.
-- Every rule is here, in SQL; TypeScript only signs tokens and sends mail.

--------------------------------------------------------------------------------
-- Idempotence for `npm run db:watch` (this file is re-run on every save).
drop table if exists app_public.user_roles cascade;
drop table if exists app_public.role_permissions cascade;
drop table if exists app_public.permissions cascade;
drop table if exists app_public.roles cascade;
drop table if exists app_private.security_events cascade;
drop table if exists app_private.password_reset_tokens cascade;
drop table if exists app_private.email_verification_tokens cascade;
drop table if exists app_private.refresh_tokens cascade;
drop table if exists app_private.sessions cascade;
drop table if exists app_private.login_failures cascade;
drop table if exists app_private.rate_limits cascade;
drop table if exists app_private.user_secrets cascade;
drop table if exists app_public.user_emails cascade;
drop table if exists app_public.users cascade;
drop table if exists app_private.settings cascade;
drop type if exists app_public.user_session cascade;
drop type if exists app_public.session_info cascade;
drop type if exists app_public.expertise_level cascade;
drop function if exists app_public.grant_role(uuid, text, timestamptz);
drop function if exists app_public.revoke_role(uuid, text);
drop function if exists app_public.current_user_has_permission(text);
drop function if exists app_public.make_email_primary(uuid);
drop function if exists app_public.resend_email_verification(uuid);
drop function if exists app_public.verify_email(text);
drop function if exists app_public.reset_password(text, text);
drop function if exists app_public.forgot_password(citext);
drop function if exists app_public.change_password(text, text);
drop function if exists app_public.revoke_session(uuid);
drop function if exists app_public.logout_everywhere();
drop function if exists app_public.logout();
drop function if exists app_public.current_user_sessions();
drop function if exists app_public.current_user();
drop function if exists app_public.current_session_id();
drop function if exists app_public.current_user_id();
drop function if exists app_private.refresh_session(text, inet, text);
drop function if exists app_private.login(text, text, inet, text);
drop function if exists app_private.register(citext, citext, text, text, inet, text);
drop function if exists app_private.create_admin(citext, citext, text);
drop function if exists app_private.create_user(citext, citext, text, text, boolean);
drop function if exists app_private.start_session(uuid, inet, text);
drop function if exists app_private.issue_refresh_token(uuid);
drop function if exists app_private.send_email_verification(uuid);
drop function if exists app_private.assert_strong_password(text);
drop function if exists app_private.hash_password(text);
drop function if exists app_private.revoke_sessions(uuid, text, uuid);
drop function if exists app_private.record_security_event(text, uuid, jsonb);
drop function if exists app_private.rate_limit(text, text, boolean);
drop function if exists app_private.check_rate_limit(text, text, int, interval, boolean);
drop function if exists app_private.setting(text);
drop function if exists app_private.tg_user_emails__after_write() cascade;
drop function if exists app_private.tg_user_emails__before_insert() cascade;
drop function if exists app_hidden.client_ip();
drop function if exists app_hidden.client_user_agent();

--------------------------------------------------------------------------------
-- Settings: every number of the domain is a row here, not a literal in code.
create table app_private.settings (
  key text primary key,
  value jsonb not null,
  description text not null
);
comment on table app_private.settings is 'Tunable numbers of the platform (limits, lifetimes, costs). Change with UPDATE; read with app_private.setting().';

insert into app_private.settings (key, value, description) values
  ('password.bcrypt_cost', '10', 'bcrypt work factor for new password hashes (see README: login throughput)'),
  ('password.min_length', '8', 'Minimum password length'),
  ('login.max_failures', '5', 'Failed logins within login.failure_window that lock the account'),
  ('login.failure_window', '"1 hour"', 'Window in which failed logins are counted'),
  ('login.lockout', '"15 minutes"', 'How long a locked account stays locked'),
  ('session.refresh_ttl', '"30 days"', 'Lifetime of a refresh token (and of an idle session)'),
  ('email.verification_ttl', '"24 hours"', 'Lifetime of an e-mail verification token'),
  ('password.reset_ttl', '"1 hour"', 'Lifetime of a password reset token'),
  ('rate_limit.register:ip', '{"max": 10, "window": "1 hour"}', 'Registrations per IP address'),
  ('rate_limit.login:ip', '{"max": 30, "window": "15 minutes"}', 'Login attempts per IP address'),
  ('rate_limit.login:account', '{"max": 10, "window": "15 minutes"}', 'Login attempts per account name'),
  ('rate_limit.forgot_password:ip', '{"max": 10, "window": "1 hour"}', 'Password reset requests per IP address'),
  ('rate_limit.forgot_password:account', '{"max": 3, "window": "1 hour"}', 'Password reset requests per e-mail address'),
  ('rate_limit.resend_verification:ip', '{"max": 10, "window": "1 hour"}', 'Verification e-mail re-sends per IP address'),
  ('rate_limit.resend_verification:account', '{"max": 3, "window": "1 hour"}', 'Verification e-mail re-sends per user');

create function app_private.setting(key text) returns jsonb
  language sql stable
  set search_path = pg_catalog, public
as $$
  select value from app_private.settings where settings.key = setting.key
$$;
comment on function app_private.setting(text) is 'The value of a platform setting (null when unknown).';

--------------------------------------------------------------------------------
-- Request facts the server passes in (set by pgSettings, never by clients).
create function app_hidden.client_ip() returns inet
  language sql stable
  set search_path = pg_catalog, public
as $$
  select nullif(current_setting('agora.client_ip', true), '')::inet
$$;
comment on function app_hidden.client_ip() is 'IP address of the current HTTP request, as seen by the server.';

--------------------------------------------------------------------------------
-- Rate limits: one fixed window per (bucket, key), shared by every API
-- instance because it lives in the database.
create table app_private.rate_limits (
  bucket text not null,
  key text not null,
  window_started_at timestamptz not null,
  hits int not null,
  primary key (bucket, key)
);
comment on table app_private.rate_limits is 'Counters of the SQL rate limiter (app_private.check_rate_limit).';

/*
 * Counts one hit for (bucket, key) and raises RLIMT when more than
 * `max_hits` fall in the current window. The error's detail carries
 * {"retryAfterSeconds": n}, which the API exposes in extensions.
 * With count_hit = false it only checks (no write, no lock): callers about to
 * do expensive work (bcrypt) check first and count afterwards, so the row
 * lock of the count is held for an instant, not for the whole hash.
 */
create function app_private.check_rate_limit(
  bucket_name text, bucket_key text, max_hits int, per interval, count_hit boolean default true
) returns void
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_hits int;
  v_started timestamptz;
  v_retry int;
begin
  if bucket_key is null then
    return; -- nothing to key on (e.g. no client IP outside HTTP): not limited
  end if;
  if count_hit then
    insert into app_private.rate_limits as r (bucket, key, window_started_at, hits)
      values (bucket_name, bucket_key, now(), 1)
    on conflict (bucket, key) do update
      set hits = case when r.window_started_at + per <= now() then 1 else r.hits + 1 end,
          window_started_at = case when r.window_started_at + per <= now() then now() else r.window_started_at end
    returning r.hits, r.window_started_at into v_hits, v_started;
  else
    select r.hits + 1, r.window_started_at into v_hits, v_started
      from app_private.rate_limits r
     where r.bucket = bucket_name and r.key = bucket_key and r.window_started_at + per > now();
  end if;
  if v_hits > max_hits then
    v_retry := greatest(1, ceil(extract(epoch from (v_started + per - now())))::int);
    raise exception 'Too many attempts; try again in % seconds', v_retry
      using errcode = 'RLIMT', detail = json_build_object('retryAfterSeconds', v_retry)::text;
  end if;
end;
$$;
comment on function app_private.check_rate_limit(text, text, int, interval, boolean) is
  'Rate limiter: counts a hit for (bucket, key); raises RLIMT past max hits per window (count_hit false: check only).';

/* The same, with max and window from the setting rate_limit.<bucket>. */
create function app_private.rate_limit(bucket_name text, bucket_key text, count_hit boolean default true) returns void
  language sql volatile
  set search_path = pg_catalog, public
as $$
  select app_private.check_rate_limit(
    bucket_name, bucket_key,
    (app_private.setting('rate_limit.' || bucket_name) ->> 'max')::int,
    (app_private.setting('rate_limit.' || bucket_name) ->> 'window')::interval,
    count_hit
  )
$$;
comment on function app_private.rate_limit(text, text, boolean) is 'Rate limiter with limits from the settings table (rate_limit.<bucket>).';

--------------------------------------------------------------------------------
-- Users: the public profile.
create type app_public.expertise_level as enum ('none', 'beginner', 'intermediate', 'advanced', 'expert');

create table app_public.users (
  id uuid primary key default gen_random_uuid(),
  username citext not null unique
    constraint username_format check (username ~ '^[A-Za-z0-9_-]{3,50}$'),
  display_name text constraint display_name_length check (char_length(display_name) between 1 and 100),
  bio text constraint bio_length check (char_length(bio) <= 2000),
  avatar_url text constraint avatar_url_format check (avatar_url ~ '^https?://'),
  affiliation text constraint affiliation_length check (char_length(affiliation) <= 200),
  job_title text constraint job_title_length check (char_length(job_title) <= 200),
  years_of_experience int constraint years_of_experience_range check (years_of_experience between 0 and 100),
  expertise_level app_public.expertise_level not null default 'none',
  core_competencies text[] not null default '{}'
    constraint core_competencies_count check (cardinality(core_competencies) <= 30),
  website_url text constraint website_url_format check (website_url ~ '^https?://'),
  linkedin_url text constraint linkedin_url_format check (linkedin_url ~ '^https?://'),
  x_url text constraint x_url_format check (x_url ~ '^https?://'),
  is_online boolean not null default false,
  last_seen_at timestamptz,
  is_verified boolean not null default false,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table app_public.users is 'A member of the community: the public profile.';
comment on column app_public.users.username is 'Unique, case-insensitive; 3–50 characters of A–Z, a–z, 0–9, _ and -.';
comment on column app_public.users.display_name is 'The name shown to others.';
comment on column app_public.users.years_of_experience is 'Professional experience in years (0–100).';
comment on column app_public.users.core_competencies is 'Skills the member lists (at most 30).';
comment on column app_public.users.is_online is 'Whether the member is connected right now.';
comment on column app_public.users.is_verified is 'True once the member has a verified e-mail address. Set by the database.';
comment on column app_public.users.is_active is 'False for deactivated accounts, which are hidden from others.';
create index users_created_at_idx on app_public.users (created_at);

create trigger _100_timestamps before insert or update on app_public.users
  for each row execute function app_private.tg__timestamps();

--------------------------------------------------------------------------------
-- Sessions and who is asking.
create table app_private.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references app_public.users on delete cascade,
  user_agent text,
  ip inet,
  created_at timestamptz not null default now(),
  last_active_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoke_reason text
);
comment on table app_private.sessions is 'A signed-in device. Access tokens name their session; ending it ends the token.';
create index sessions_user_id_idx on app_private.sessions (user_id) where revoked_at is null;

/*
 * The signed-in user, or null. Null as soon as the session named in the
 * verified access token is revoked or expired: tokens stop working at once.
 * Call it as (select app_public.current_user_id()) in policies.
 */
create function app_public.current_user_id() returns uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select s.user_id
    from app_private.sessions s
    join app_public.users u on u.id = s.user_id and u.is_active
   where s.id = nullif(current_setting('jwt.claims.sid', true), '')::uuid
     and s.user_id = nullif(current_setting('jwt.claims.sub', true), '')::uuid
     and s.revoked_at is null
     and s.expires_at > now()
$$;
comment on function app_public.current_user_id() is E'@behavior -*\nThe signed-in user''s id, or null (anonymous, the session has ended, or the account is deactivated).';

create function app_public.current_session_id() returns uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select s.id
    from app_private.sessions s
    join app_public.users u on u.id = s.user_id and u.is_active
   where s.id = nullif(current_setting('jwt.claims.sid', true), '')::uuid
     and s.user_id = nullif(current_setting('jwt.claims.sub', true), '')::uuid
     and s.revoked_at is null
     and s.expires_at > now()
$$;
comment on function app_public.current_session_id() is E'@behavior -*\nThe id of the live session the request runs in, or null.';

alter table app_public.users enable row level security;
create policy select_active on app_public.users for select
  using (is_active);
create policy update_self on app_public.users for update
  using (id = (select app_public.current_user_id()));
grant select on app_public.users to anonymous, authenticated;
grant update (display_name, bio, avatar_url, affiliation, job_title, years_of_experience, expertise_level,
  core_competencies, website_url, linkedin_url, x_url) on app_public.users to authenticated;

create function app_public.current_user() returns app_public.users
  language sql stable
  set search_path = pg_catalog, public
as $$
  select u.* from app_public.users u where u.id = app_public.current_user_id()
$$;
comment on function app_public.current_user() is 'The signed-in user, or null.';

--------------------------------------------------------------------------------
-- Security events (the audit log's identity part).
create table app_private.security_events (
  id bigint generated always as identity primary key,
  kind text not null check (kind in (
    'register', 'login', 'login_failed', 'login_locked', 'logout', 'session_revoked', 'refresh_token_reused',
    'password_changed', 'password_reset_requested', 'password_reset', 'email_added', 'email_verified',
    'email_removed', 'primary_email_changed', 'role_granted', 'role_revoked')),
  user_id uuid references app_public.users on delete set null,
  actor_id uuid references app_public.users on delete set null,
  ip inet,
  detail jsonb not null default '{}',
  created_at timestamptz not null default now()
);
comment on table app_private.security_events is 'Append-only audit log of security events: logins, failures, password and e-mail changes, role grants, revocations.';
create index security_events_user_id_idx on app_private.security_events (user_id, created_at);
create index security_events_actor_id_idx on app_private.security_events (actor_id);

create function app_private.record_security_event(kind text, user_id uuid, detail jsonb default '{}') returns void
  language sql volatile
  set search_path = pg_catalog, public
as $$
  insert into app_private.security_events (kind, user_id, actor_id, ip, detail)
  values (kind, user_id, app_public.current_user_id(), app_hidden.client_ip(), coalesce(detail, '{}'))
$$;

--------------------------------------------------------------------------------
-- E-mail addresses.
create table app_public.user_emails (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  email citext not null
    constraint email_format check (email ~ '^[^\s@]+@[^\s@]+\.[^\s@]+$' and char_length(email) <= 320),
  is_verified boolean not null default false,
  is_primary boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint user_emails_user_email_key unique (user_id, email)
);
comment on table app_public.user_emails is E'@behavior -update\nAn e-mail address of a user. Only its owner sees it.';
comment on column app_public.user_emails.is_verified is 'True once the owner followed the link sent to this address.';
comment on column app_public.user_emails.is_primary is 'The address mail is sent to; exactly one per user.';
create unique index user_emails_verified_email_key on app_public.user_emails (email) where is_verified;
create unique index user_emails_primary_key on app_public.user_emails (user_id) where is_primary;
create index user_emails_email_idx on app_public.user_emails (email);

create trigger _100_timestamps before insert or update on app_public.user_emails
  for each row execute function app_private.tg__timestamps();

alter table app_public.user_emails enable row level security;
create policy select_own on app_public.user_emails for select
  using (user_id = (select app_public.current_user_id()));
create policy insert_own on app_public.user_emails for insert
  with check (user_id = (select app_public.current_user_id()));
create policy delete_own on app_public.user_emails for delete
  using (user_id = (select app_public.current_user_id()) and not is_primary);
grant select, delete on app_public.user_emails to authenticated;
grant insert (email) on app_public.user_emails to authenticated;

--------------------------------------------------------------------------------
-- Secrets: password hash (1:1 with users).
create table app_private.user_secrets (
  user_id uuid primary key references app_public.users on delete cascade,
  password_hash text,
  password_changed_at timestamptz
);
comment on table app_private.user_secrets is 'A user''s password hash (bcrypt, pgcrypto). Never readable by the API roles.';

create table app_private.login_failures (
  account_key text primary key,
  failures int not null,
  first_failure_at timestamptz not null,
  locked_until timestamptz
);
comment on table app_private.login_failures is
  'Failed logins per account (user id), or per unknown name, so that a lockout never reveals whether an account exists.';

create table app_private.email_verification_tokens (
  token_hash bytea primary key,
  user_email_id uuid not null references app_public.user_emails on delete cascade,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table app_private.email_verification_tokens is 'Single-use e-mail verification tokens (sha256 only).';
create index email_verification_tokens_user_email_id_idx on app_private.email_verification_tokens (user_email_id);

create table app_private.password_reset_tokens (
  token_hash bytea primary key,
  user_id uuid not null references app_public.users on delete cascade,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table app_private.password_reset_tokens is 'Single-use password reset tokens (sha256 only).';
create index password_reset_tokens_user_id_idx on app_private.password_reset_tokens (user_id);

create table app_private.refresh_tokens (
  token_hash bytea primary key,
  session_id uuid not null references app_private.sessions on delete cascade,
  expires_at timestamptz not null,
  rotated_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table app_private.refresh_tokens is
  'Refresh tokens (sha256 only). Each refresh rotates the token; presenting a rotated one revokes its session.';
create index refresh_tokens_session_id_idx on app_private.refresh_tokens (session_id);

--------------------------------------------------------------------------------
-- Passwords.
create function app_private.assert_strong_password(password text) returns void
  language plpgsql immutable
  set search_path = pg_catalog, public
as $$
declare
  v_classes int := (password ~ '[a-z]')::int + (password ~ '[A-Z]')::int + (password ~ '[0-9]')::int
                   + (password ~ '[^a-zA-Z0-9]')::int;
begin
  if password is null or char_length(password) < 8 or v_classes < 2 then
    raise exception 'Password is too weak: use at least 8 characters mixing at least two of lower case, upper case, digits and symbols'
      using errcode = 'WEAKP';
  end if;
end;
$$;

create function app_private.hash_password(password text) returns text
  language sql volatile
  set search_path = pg_catalog, public
as $$
  select public.crypt(password, public.gen_salt('bf', (app_private.setting('password.bcrypt_cost'))::int))
$$;

--------------------------------------------------------------------------------
-- Tokens: random secrets handed out once, stored as sha256.
create function app_private.issue_refresh_token(session_id uuid) returns text
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_token text := translate(encode(public.gen_random_bytes(32), 'base64'), '+/=', '-_');
begin
  insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
  values (sha256(convert_to(v_token, 'UTF8')), session_id,
          now() + (app_private.setting('session.refresh_ttl') #>> '{}')::interval);
  return v_token;
end;
$$;

create function app_private.start_session(user_id uuid, ip inet, user_agent text) returns uuid
  language sql volatile
  set search_path = pg_catalog, public
as $$
  insert into app_private.sessions (user_id, ip, user_agent, expires_at)
  values (user_id, ip, left(user_agent, 500), now() + (app_private.setting('session.refresh_ttl') #>> '{}')::interval)
  returning id
$$;

create function app_private.revoke_sessions(user_id uuid, reason text, except_session_id uuid default null) returns int
  language sql volatile
  set search_path = pg_catalog, public
as $$
  with revoked as (
    update app_private.sessions s set revoked_at = now(), revoke_reason = reason
     where s.user_id = revoke_sessions.user_id and s.revoked_at is null
       and s.id is distinct from except_session_id
    returning 1
  )
  select count(*)::int from revoked
$$;

/* Creates a verification token for an address and enqueues its mail, in this transaction. */
create function app_private.send_email_verification(user_email_id uuid) returns void
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_token text := translate(encode(public.gen_random_bytes(24), 'base64'), '+/=', '-_');
  v_email app_public.user_emails;
begin
  select * into v_email from app_public.user_emails e where e.id = user_email_id;
  if v_email.is_verified then
    return;
  end if;
  insert into app_private.email_verification_tokens (token_hash, user_email_id, expires_at)
  values (sha256(convert_to(v_token, 'UTF8')), v_email.id,
          now() + (app_private.setting('email.verification_ttl') #>> '{}')::interval);
  perform app_private.add_job('send_email', json_build_object(
    'template', 'verify_email',
    'to', v_email.email,
    'variables', json_build_object('token', v_token, 'email', v_email.email)
  ));
end;
$$;

--------------------------------------------------------------------------------
-- E-mail triggers.
/* A user's first address becomes primary; a verified address belongs to one user only.
   (Clients cannot choose is_verified or is_primary: they may insert the email column only.) */
create function app_private.tg_user_emails__before_insert() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  new.is_primary := not exists (select 1 from app_public.user_emails e where e.user_id = new.user_id);
  if exists (select 1 from app_public.user_emails e where e.email = new.email and e.is_verified) then
    raise exception 'That e-mail address is already in use' using errcode = 'NUNIQ';
  end if;
  return new;
end;
$$;
create trigger _200_defaults before insert on app_public.user_emails
  for each row execute function app_private.tg_user_emails__before_insert();

create function app_private.tg_user_emails__after_write() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if tg_op = 'INSERT' then
    if not new.is_verified then
      perform app_private.send_email_verification(new.id);
    end if;
    perform app_private.record_security_event('email_added', new.user_id, jsonb_build_object('email_id', new.id));
  elsif tg_op = 'DELETE' then
    perform app_private.record_security_event('email_removed', old.user_id, jsonb_build_object('email_id', old.id));
  end if;
  -- users.is_verified follows "has a verified address".
  update app_public.users u
     set is_verified = exists (select 1 from app_public.user_emails e where e.user_id = u.id and e.is_verified)
   where u.id = coalesce(new.user_id, old.user_id);
  return null;
end;
$$;
create trigger _500_after_write after insert or update or delete on app_public.user_emails
  for each row execute function app_private.tg_user_emails__after_write();

--------------------------------------------------------------------------------
-- Accounts.
/*
 * Creates a user with a primary e-mail and a password. Used by register and
 * by the operator CLI (create-admin), which passes email_is_verified.
 */
create function app_private.create_user(
  username citext, email citext, password text, display_name text default null, email_is_verified boolean default false
) returns app_public.users
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_user app_public.users;
begin
  if username is null or username !~ '^[A-Za-z0-9_-]{3,50}$' then
    raise exception 'Username must be 3–50 characters of letters, digits, _ and -' using errcode = 'INVAL';
  end if;
  if email is null or email !~ '^[^\s@]+@[^\s@]+\.[^\s@]+$' or char_length(email) > 320 then
    raise exception 'That is not a valid e-mail address' using errcode = 'INVAL';
  end if;
  perform app_private.assert_strong_password(password);
  if exists (select 1 from app_public.users u where u.username = create_user.username) then
    raise exception 'That username is already taken' using errcode = 'NUNIQ';
  end if;
  insert into app_public.users (username, display_name)
  values (username, coalesce(nullif(trim(display_name), ''), username::text))
  returning * into v_user;
  insert into app_private.user_secrets (user_id, password_hash, password_changed_at)
  values (v_user.id, app_private.hash_password(password), now());
  insert into app_public.user_emails (user_id, email, is_verified)
  values (v_user.id, email, email_is_verified);
  select * into v_user from app_public.users u where u.id = v_user.id;
  return v_user;
exception
  when unique_violation then
    raise exception 'That username or e-mail address is already taken' using errcode = 'NUNIQ';
end;
$$;

/* The outcome of register/login/refresh, for the server to turn into tokens (or a coded error). */
create type app_public.user_session as (
  status text,
  user_id uuid,
  session_id uuid,
  refresh_token text,
  refresh_token_expires_at timestamptz,
  retry_at timestamptz
);
comment on type app_public.user_session is E'@behavior -*\nInternal: result of app_private.register/login/refresh_session.';

create function app_private.register(
  username citext, email citext, password text, display_name text, ip inet, user_agent text
) returns app_public.user_session
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_user app_public.users;
  v_session uuid;
  v_result app_public.user_session;
begin
  perform app_private.rate_limit('register:ip', host(ip));
  v_user := app_private.create_user(username, email, password, display_name, false);
  v_session := app_private.start_session(v_user.id, ip, user_agent);
  insert into app_private.security_events (kind, user_id, actor_id, ip) values ('register', v_user.id, v_user.id, ip);
  v_result := row('ok', v_user.id, v_session, app_private.issue_refresh_token(v_session),
                  now() + (app_private.setting('session.refresh_ttl') #>> '{}')::interval, null);
  return v_result;
end;
$$;
comment on function app_private.register(citext, citext, text, text, inet, text) is
  'Creates an account and signs it in; the verification mail is enqueued in the same transaction.';

/*
 * Login by username or e-mail. Never raises for bad credentials, so the
 * failure counters it writes are committed; the caller turns the status
 * into an error: 'invalid' (CREDS) or 'locked' (LOCKD). Unknown names are
 * counted and locked exactly like real accounts.
 */
create function app_private.login(identifier text, password text, ip inet, user_agent text) returns app_public.user_session
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_user_id uuid;
  v_hash text;
  v_key text;
  v_failures app_private.login_failures;
  v_session uuid;
  v_matches boolean;
  v_cost int := (app_private.setting('password.bcrypt_cost'))::int;
  v_max int := (app_private.setting('login.max_failures'))::int;
  v_window interval := (app_private.setting('login.failure_window') #>> '{}')::interval;
  v_lockout interval := (app_private.setting('login.lockout') #>> '{}')::interval;
begin
  -- Cheap refusals first, without locks: over a limit, or locked.
  perform app_private.rate_limit('login:ip', host(ip), false);
  perform app_private.rate_limit('login:account', lower(identifier), false);

  select u.id into v_user_id from app_public.users u where u.username = identifier::citext and u.is_active;
  if v_user_id is null then
    select u.id into v_user_id
      from app_public.user_emails e join app_public.users u on u.id = e.user_id
     where e.email = identifier::citext and (e.is_verified or e.is_primary) and u.is_active
     order by e.is_verified desc
     limit 1;
  end if;
  v_key := coalesce(v_user_id::text, 'name:' || lower(coalesce(identifier, '')));
  select * into v_failures from app_private.login_failures f where f.account_key = v_key;
  if v_failures.locked_until > now() then
    return row('locked', null, null, null, null, v_failures.locked_until)::app_public.user_session;
  end if;

  -- The expensive part, holding no row lock. Unknown names spend the same
  -- time, so timing does not reveal whether an account exists.
  select s.password_hash into v_hash from app_private.user_secrets s where s.user_id = v_user_id;
  v_matches := v_hash is not null and crypt(password, v_hash) = v_hash;
  if v_hash is null then
    perform crypt(password, gen_salt('bf', v_cost));
  end if;

  -- Now count the attempt (brief row locks until this statement commits).
  perform app_private.rate_limit('login:ip', host(ip));
  perform app_private.rate_limit('login:account', lower(identifier));

  if v_matches then
    delete from app_private.login_failures f where f.account_key = v_key;
    if substring(v_hash from 5 for 2)::int <> v_cost then
      -- The work factor setting changed: upgrade this hash now that we know the password.
      update app_private.user_secrets s set password_hash = crypt(password, gen_salt('bf', v_cost)) where s.user_id = v_user_id;
    end if;
    v_session := app_private.start_session(v_user_id, ip, user_agent);
    insert into app_private.security_events (kind, user_id, actor_id, ip) values ('login', v_user_id, v_user_id, ip);
    return row('ok', v_user_id, v_session, app_private.issue_refresh_token(v_session),
               now() + (app_private.setting('session.refresh_ttl') #>> '{}')::interval, null)::app_public.user_session;
  end if;

  insert into app_private.login_failures as f (account_key, failures, first_failure_at)
  values (v_key, 1, now())
  on conflict (account_key) do update
    set failures = case when f.first_failure_at + v_window <= now() then 1 else f.failures + 1 end,
        first_failure_at = case when f.first_failure_at + v_window <= now() then now() else f.first_failure_at end,
        locked_until = null
  returning * into v_failures;
  if v_failures.failures >= v_max then
    update app_private.login_failures f set locked_until = now() + v_lockout where f.account_key = v_key;
  end if;
  if v_user_id is not null then
    insert into app_private.security_events (kind, user_id, ip, detail)
    values (case when v_failures.failures >= v_max then 'login_locked' else 'login_failed' end, v_user_id, ip,
            jsonb_build_object('failures', v_failures.failures));
  end if;
  return row('invalid', null, null, null, null, null)::app_public.user_session;
end;
$$;
comment on function app_private.login(text, text, inet, text) is
  'Checks credentials with lockout; returns status ok/invalid/locked (never raises for bad credentials).';

/*
 * Rotates a refresh token. Statuses: ok, invalid (unknown token), expired,
 * reused (an already-rotated token: the whole session is revoked).
 */
create function app_private.refresh_session(refresh_token text, ip inet, user_agent text) returns app_public.user_session
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_token app_private.refresh_tokens;
  v_session app_private.sessions;
begin
  select * into v_token from app_private.refresh_tokens t
   where t.token_hash = sha256(convert_to(coalesce(refresh_token, ''), 'UTF8')) for update;
  if v_token is null then
    return row('invalid', null, null, null, null, null)::app_public.user_session;
  end if;
  select * into v_session from app_private.sessions s where s.id = v_token.session_id for update;
  if v_token.rotated_at is not null then
    if v_session.revoked_at is null then
      update app_private.sessions s set revoked_at = now(), revoke_reason = 'refresh_token_reused' where s.id = v_session.id;
    end if;
    insert into app_private.security_events (kind, user_id, ip, detail)
    values ('refresh_token_reused', v_session.user_id, ip, jsonb_build_object('session_id', v_session.id));
    return row('reused', null, null, null, null, null)::app_public.user_session;
  end if;
  if v_session.revoked_at is not null or v_token.expires_at <= now() or v_session.expires_at <= now() then
    return row('expired', null, null, null, null, null)::app_public.user_session;
  end if;
  update app_private.refresh_tokens t set rotated_at = now() where t.token_hash = v_token.token_hash;
  update app_private.sessions s
     set last_active_at = now(), ip = coalesce(refresh_session.ip, s.ip),
         user_agent = coalesce(left(refresh_session.user_agent, 500), s.user_agent),
         expires_at = now() + (app_private.setting('session.refresh_ttl') #>> '{}')::interval
   where s.id = v_session.id;
  return row('ok', v_session.user_id, v_session.id, app_private.issue_refresh_token(v_session.id),
             now() + (app_private.setting('session.refresh_ttl') #>> '{}')::interval, null)::app_public.user_session;
end;
$$;
comment on function app_private.refresh_session(text, inet, text) is
  'Rotates a refresh token; reuse of a rotated token revokes the session and is recorded.';

--------------------------------------------------------------------------------
-- Sessions, as the signed-in user sees them.
create type app_public.session_info as (
  session_id uuid,
  user_agent text,
  ip inet,
  created_at timestamptz,
  last_active_at timestamptz,
  expires_at timestamptz,
  is_current boolean
);
comment on type app_public.session_info is 'One of my signed-in devices.';

create function app_public.current_user_sessions() returns setof app_public.session_info
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select s.id, s.user_agent, s.ip, s.created_at, s.last_active_at, s.expires_at,
         s.id = app_public.current_session_id()
    from app_private.sessions s
   where s.user_id = app_public.current_user_id() and s.revoked_at is null and s.expires_at > now()
   order by s.last_active_at desc
$$;
comment on function app_public.current_user_sessions() is 'My live sessions (device, IP, last active), newest activity first.';

create function app_public.logout() returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_session uuid := app_public.current_session_id();
begin
  if v_session is null then
    return false;
  end if;
  update app_private.sessions s set revoked_at = now(), revoke_reason = 'logout' where s.id = v_session;
  perform app_private.record_security_event('logout', app_public.current_user_id());
  return true;
end;
$$;
comment on function app_public.logout() is 'Ends the current session: its access and refresh tokens stop working at once.';

create function app_public.logout_everywhere() returns int
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_user uuid := app_public.current_user_id();
  v_count int;
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  perform app_private.record_security_event('session_revoked', v_user, '{"all": true}');
  v_count := app_private.revoke_sessions(v_user, 'logout_everywhere');
  return v_count;
end;
$$;
comment on function app_public.logout_everywhere() is 'Ends all my sessions, this one included. Returns how many ended.';

create function app_public.revoke_session(session_id uuid) returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_user uuid := app_public.current_user_id();
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  update app_private.sessions s set revoked_at = now(), revoke_reason = 'revoked_by_user'
   where s.id = revoke_session.session_id and s.user_id = v_user and s.revoked_at is null;
  if not found then
    raise exception 'No such session' using errcode = 'NOTFD';
  end if;
  perform app_private.record_security_event('session_revoked', v_user, jsonb_build_object('session_id', session_id));
  return true;
end;
$$;
comment on function app_public.revoke_session(uuid) is 'Ends one of my sessions (see currentUserSessions).';

--------------------------------------------------------------------------------
-- Passwords and e-mail flows.
create function app_public.change_password(old_password text, new_password text) returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_user uuid := app_public.current_user_id();
  v_hash text;
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  select s.password_hash into v_hash from app_private.user_secrets s where s.user_id = v_user;
  if v_hash is null or public.crypt(old_password, v_hash) <> v_hash then
    raise exception 'The current password is not correct' using errcode = 'CREDS';
  end if;
  perform app_private.assert_strong_password(new_password);
  update app_private.user_secrets s set password_hash = app_private.hash_password(new_password), password_changed_at = now()
   where s.user_id = v_user;
  perform app_private.revoke_sessions(v_user, 'password_changed', app_public.current_session_id());
  perform app_private.record_security_event('password_changed', v_user);
  return true;
end;
$$;
comment on function app_public.change_password(text, text) is 'Changes my password (the current one is required) and ends my other sessions.';

create function app_public.forgot_password(email citext) returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_email app_public.user_emails;
  v_token text := translate(encode(public.gen_random_bytes(24), 'base64'), '+/=', '-_');
begin
  begin
    perform app_private.rate_limit('forgot_password:ip', host(app_hidden.client_ip()));
    perform app_private.rate_limit('forgot_password:account', lower(email));
  exception when sqlstate 'RLIMT' then
    return true; -- same answer: a limit must not reveal anything either
  end;
  select e.* into v_email
    from app_public.user_emails e join app_public.users u on u.id = e.user_id
   where e.email = forgot_password.email and (e.is_verified or e.is_primary) and u.is_active
   order by e.is_verified desc
   limit 1;
  if v_email.id is not null then
    insert into app_private.password_reset_tokens (token_hash, user_id, expires_at)
    values (sha256(convert_to(v_token, 'UTF8')), v_email.user_id,
            now() + (app_private.setting('password.reset_ttl') #>> '{}')::interval);
    perform app_private.add_job('send_email', json_build_object(
      'template', 'reset_password', 'to', v_email.email,
      'variables', json_build_object('token', v_token, 'email', v_email.email)));
    perform app_private.record_security_event('password_reset_requested', v_email.user_id);
  end if;
  return true;
end;
$$;
comment on function app_public.forgot_password(citext) is
  'Sends a password reset link if the address belongs to an account. Always answers true, whether it does or not.';

create function app_public.reset_password(token text, new_password text) returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_token app_private.password_reset_tokens;
begin
  select * into v_token from app_private.password_reset_tokens t
   where t.token_hash = sha256(convert_to(coalesce(token, ''), 'UTF8')) for update;
  if v_token is null or v_token.used_at is not null then
    raise exception 'This reset link is not valid' using errcode = 'TOKEN';
  end if;
  if v_token.expires_at <= now() then
    raise exception 'This reset link has expired; ask for a new one' using errcode = 'EXPRD';
  end if;
  perform app_private.assert_strong_password(new_password);
  update app_private.password_reset_tokens t set used_at = now() where t.token_hash = v_token.token_hash;
  update app_private.user_secrets s set password_hash = app_private.hash_password(new_password), password_changed_at = now()
   where s.user_id = v_token.user_id;
  delete from app_private.login_failures f where f.account_key = v_token.user_id::text;
  perform app_private.revoke_sessions(v_token.user_id, 'password_reset');
  perform app_private.record_security_event('password_reset', v_token.user_id);
  return true;
end;
$$;
comment on function app_public.reset_password(text, text) is 'Sets a new password with the token from the reset mail, and ends all sessions.';

create function app_public.verify_email(token text) returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_token app_private.email_verification_tokens;
  v_email app_public.user_emails;
begin
  select * into v_token from app_private.email_verification_tokens t
   where t.token_hash = sha256(convert_to(coalesce(token, ''), 'UTF8')) for update;
  if v_token is null or v_token.used_at is not null then
    raise exception 'This verification link is not valid' using errcode = 'TOKEN';
  end if;
  if v_token.expires_at <= now() then
    raise exception 'This verification link has expired; ask for a new one' using errcode = 'EXPRD';
  end if;
  update app_private.email_verification_tokens t set used_at = now() where t.token_hash = v_token.token_hash;
  select * into v_email from app_public.user_emails e where e.id = v_token.user_email_id;
  if exists (select 1 from app_public.user_emails e where e.email = v_email.email and e.is_verified and e.id <> v_email.id) then
    raise exception 'That e-mail address is already in use' using errcode = 'NUNIQ';
  end if;
  update app_public.user_emails e set is_verified = true where e.id = v_email.id;
  perform app_private.record_security_event('email_verified', v_email.user_id, jsonb_build_object('email_id', v_email.id));
  return true;
end;
$$;
comment on function app_public.verify_email(text) is 'Marks an address verified with the token from the verification mail.';

create function app_public.resend_email_verification(email_id uuid) returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_user uuid := app_public.current_user_id();
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  if not exists (select 1 from app_public.user_emails e where e.id = email_id and e.user_id = v_user and not e.is_verified) then
    raise exception 'No unverified address with that id' using errcode = 'NOTFD';
  end if;
  perform app_private.rate_limit('resend_verification:ip', host(app_hidden.client_ip()));
  perform app_private.rate_limit('resend_verification:account', v_user::text);
  perform app_private.send_email_verification(email_id);
  return true;
end;
$$;
comment on function app_public.resend_email_verification(uuid) is 'Sends the verification mail for one of my addresses again.';

create function app_public.make_email_primary(email_id uuid) returns app_public.user_emails
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_user uuid := app_public.current_user_id();
  v_email app_public.user_emails;
begin
  select * into v_email from app_public.user_emails e where e.id = email_id and e.user_id = v_user;
  if v_email.id is null then
    raise exception 'No such address' using errcode = 'NOTFD';
  end if;
  if not v_email.is_verified then
    raise exception 'Verify the address before making it primary' using errcode = 'VERFY';
  end if;
  update app_public.user_emails e set is_primary = false where e.user_id = v_user and e.is_primary and e.id <> email_id;
  update app_public.user_emails e set is_primary = true where e.id = email_id returning * into v_email;
  perform app_private.record_security_event('primary_email_changed', v_user, jsonb_build_object('email_id', email_id));
  return v_email;
end;
$$;
comment on function app_public.make_email_primary(uuid) is 'Makes one of my verified addresses the primary one.';

--------------------------------------------------------------------------------
-- Roles and permissions.
create table app_public.roles (
  id text primary key constraint role_id_format check (id ~ '^[a-z][a-z_]{1,30}$'),
  description text not null
);
comment on table app_public.roles is 'A named set of permissions (user, reviewer, moderator, admin …).';

create table app_public.permissions (
  id text primary key constraint permission_id_format check (id ~ '^[a-z_]+:[a-z_]+$'),
  description text not null
);
comment on table app_public.permissions is 'A permission named resource:action, e.g. post:moderate.';

create table app_public.role_permissions (
  role_id text not null references app_public.roles on delete cascade,
  permission_id text not null references app_public.permissions on delete cascade,
  primary key (role_id, permission_id)
);
comment on table app_public.role_permissions is 'Which permissions a role carries.';
create index role_permissions_permission_id_idx on app_public.role_permissions (permission_id);

create table app_public.user_roles (
  user_id uuid not null references app_public.users on delete cascade,
  role_id text not null references app_public.roles on delete cascade,
  granted_by uuid references app_public.users on delete set null,
  granted_at timestamptz not null default now(),
  expires_at timestamptz,
  primary key (user_id, role_id)
);
comment on table app_public.user_roles is 'A role held by a user, possibly until a time. Every signed-in user implicitly holds "user".';
comment on column app_public.user_roles.expires_at is 'When the grant lapses by itself (null: never).';
create index user_roles_role_id_idx on app_public.user_roles (role_id);
create index user_roles_granted_by_idx on app_public.user_roles (granted_by);

alter table app_public.roles enable row level security;
alter table app_public.permissions enable row level security;
alter table app_public.role_permissions enable row level security;
alter table app_public.user_roles enable row level security;
create policy select_all on app_public.roles for select using (true);
create policy select_all on app_public.permissions for select using (true);
create policy select_all on app_public.role_permissions for select using (true);
create policy select_current on app_public.user_roles for select using (expires_at is null or expires_at > now());
grant select on app_public.roles, app_public.permissions, app_public.role_permissions, app_public.user_roles
  to anonymous, authenticated;

insert into app_public.roles (id, description) values
  ('user', 'Every signed-in member'),
  ('reviewer', 'Reviews suggested edits to posts and documents'),
  ('moderator', 'Keeps the community clean: hides content, handles reports, mutes and suspends'),
  ('admin', 'Runs the platform, including granting roles');

insert into app_public.permissions (id, description) values
  ('job:post', 'Publish job postings'),
  ('contribution:review', 'Accept or reject suggested edits'),
  ('post:moderate', 'Hide, restore or delete any post, question, answer or comment'),
  ('message:delete', 'Delete any chat message'),
  ('message:pin', 'Pin chat messages'),
  ('user:mute', 'Mute members in chat rooms'),
  ('user:suspend', 'Suspend accounts'),
  ('report:review', 'Review and resolve reports'),
  ('moderation:bulk', 'Apply moderation actions in bulk'),
  ('role:grant', 'Grant and revoke roles');

insert into app_public.role_permissions (role_id, permission_id) values
  ('user', 'job:post'),
  ('reviewer', 'job:post'), ('reviewer', 'contribution:review'),
  ('moderator', 'job:post'), ('moderator', 'contribution:review'), ('moderator', 'post:moderate'),
  ('moderator', 'message:delete'), ('moderator', 'message:pin'), ('moderator', 'user:mute'),
  ('moderator', 'user:suspend'), ('moderator', 'report:review');
insert into app_public.role_permissions (role_id, permission_id)
  select 'admin', id from app_public.permissions;

create function app_public.current_user_has_permission(permission text) returns boolean
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select exists (
    select 1
      from app_public.role_permissions rp
     where rp.permission_id = current_user_has_permission.permission
       and app_public.current_user_id() is not null
       and (rp.role_id = 'user' or exists (
             select 1 from app_public.user_roles ur
              where ur.user_id = app_public.current_user_id() and ur.role_id = rp.role_id
                and (ur.expires_at is null or ur.expires_at > now())))
  )
$$;
comment on function app_public.current_user_has_permission(text) is
  'Whether the signed-in user holds a permission (resource:action) through an unexpired role. Use in policies.';

create function app_public.grant_role(user_id uuid, role_id text, expires_at timestamptz default null) returns app_public.user_roles
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_grant app_public.user_roles;
begin
  if not app_public.current_user_has_permission('role:grant') then
    raise exception 'You are not allowed to grant roles' using errcode = 'FORBD';
  end if;
  if expires_at is not null and expires_at <= now() then
    raise exception 'A grant must expire in the future' using errcode = 'INVAL';
  end if;
  insert into app_public.user_roles as ur (user_id, role_id, granted_by, expires_at)
  values (user_id, role_id, app_public.current_user_id(), expires_at)
  on conflict on constraint user_roles_pkey do update
    set granted_by = excluded.granted_by, granted_at = now(), expires_at = excluded.expires_at
  returning * into v_grant;
  perform app_private.record_security_event('role_granted', user_id,
    jsonb_build_object('role', role_id, 'expires_at', expires_at));
  return v_grant;
end;
$$;
comment on function app_public.grant_role(uuid, text, timestamptz) is 'Grants a role, optionally until a time. Needs role:grant.';

create function app_public.revoke_role(user_id uuid, role_id text) returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
begin
  if not app_public.current_user_has_permission('role:grant') then
    raise exception 'You are not allowed to revoke roles' using errcode = 'FORBD';
  end if;
  delete from app_public.user_roles ur where ur.user_id = revoke_role.user_id and ur.role_id = revoke_role.role_id;
  if not found then
    raise exception 'That user does not hold that role' using errcode = 'NOTFD';
  end if;
  perform app_private.record_security_event('role_revoked', user_id, jsonb_build_object('role', role_id));
  return true;
end;
$$;
comment on function app_public.revoke_role(uuid, text) is 'Revokes a role. Needs role:grant.';

/* For operators (npm run cli -- create-admin): a verified account holding the admin role. */
create function app_private.create_admin(username citext, email citext, password text) returns app_public.users
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_user app_public.users := app_private.create_user(username, email, password, null, true);
begin
  insert into app_public.user_roles (user_id, role_id) values (v_user.id, 'admin');
  insert into app_private.security_events (kind, user_id, detail)
  values ('role_granted', v_user.id, '{"role": "admin", "by": "cli"}');
  return v_user;
end;
$$;
comment on function app_private.create_admin(citext, citext, text) is 'Creates a verified administrator account (operator CLI).';

--------------------------------------------------------------------------------
-- Who may call what. Functions are not executable by PUBLIC (default
-- privileges of the first migration); grant exactly what the API needs.
grant execute on function app_public.current_user_id() to anonymous, authenticated;
grant execute on function app_public.current_session_id() to anonymous, authenticated;
grant execute on function app_public.current_user() to anonymous, authenticated;
grant execute on function app_public.current_user_has_permission(text) to anonymous, authenticated;
grant execute on function app_hidden.client_ip() to anonymous, authenticated;
grant execute on function app_public.forgot_password(citext) to anonymous, authenticated;
grant execute on function app_public.reset_password(text, text) to anonymous, authenticated;
grant execute on function app_public.verify_email(text) to anonymous, authenticated;
grant execute on function app_public.current_user_sessions() to authenticated;
grant execute on function app_public.logout() to authenticated;
grant execute on function app_public.logout_everywhere() to authenticated;
grant execute on function app_public.revoke_session(uuid) to authenticated;
grant execute on function app_public.change_password(text, text) to authenticated;
grant execute on function app_public.resend_email_verification(uuid) to authenticated;
grant execute on function app_public.make_email_primary(uuid) to authenticated;
grant execute on function app_public.grant_role(uuid, text, timestamptz) to authenticated;
grant execute on function app_public.revoke_role(uuid, text) to authenticated;

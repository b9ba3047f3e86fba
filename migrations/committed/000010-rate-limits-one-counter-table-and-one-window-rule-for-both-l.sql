--! Previous: sha1:cf164a4a68e271d9d43e52cf4bf99b9a1e411804
--! Hash: sha1:604ba5560de6d2b8589ed07e7e1fb44f904602a9
--! Message: Rate limits: one counter table and one window rule for both limiters, unlogged, pruned hourly

--------------------------------------------------------------------------------
-- Rate limits: one counter table and one counting rule for both limiters
-- (the SQL limiter that raises RLIMT inside a transaction, and the edge's
-- classes that answer 429 with headers), and a clean-up.
--
-- The table becomes UNLOGGED, like the edge's was: a counter is written on
-- every request, and without WAL that write costs no commit flush. The price:
-- counters restart from zero after a database crash (not after a clean
-- restart), and standbys have none (they take no writes). Lockouts are not
-- counters: they live in app_private.login_failures, which stays logged.
alter table app_private.rate_limits set unlogged;
comment on table app_private.rate_limits is
  'Counters of both rate limiters (app_private.check_rate_limit, app_hidden.take_rate_limit), one row per (bucket, key) and fixed window. Unlogged: reset by a database crash; pruned by the prune_rate_limits job.';

/*
 * The fixed-window rule, once: counts a hit for (bucket, key) — or, with
 * count_hit false, only looks — and returns the hits in the current window
 * (including this one) and when the window started. A window older than
 * `per` starts again at one.
 */
create or replace function app_private.count_rate_limit_hit(
  bucket_name text, bucket_key text, per interval, count_hit boolean default true,
  out hits int, out window_started_at timestamptz
)
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
begin
  if count_hit then
    insert into app_private.rate_limits as r (bucket, key, window_started_at, hits)
      values (bucket_name, bucket_key, now(), 1)
    on conflict (bucket, key) do update
      set hits = case when r.window_started_at + per <= now() then 1 else r.hits + 1 end,
          window_started_at = case when r.window_started_at + per <= now() then now() else r.window_started_at end
    returning r.hits, r.window_started_at into hits, window_started_at;
  else
    select r.hits + 1, r.window_started_at into hits, window_started_at
      from app_private.rate_limits r
     where r.bucket = bucket_name and r.key = bucket_key and r.window_started_at + per > now();
  end if;
end;
$$;
comment on function app_private.count_rate_limit_hit(text, text, interval, boolean) is
  'The fixed-window counter of both rate limiters: counts a hit (or, count_hit false, only looks) and returns the hits in the current window and its start.';

create or replace function app_private.check_rate_limit(
  bucket_name text, bucket_key text, max_hits int, per interval, count_hit boolean default true
) returns void
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_hit record;
  v_retry int;
begin
  if bucket_key is null then
    return; -- nothing to key on (e.g. no client IP outside HTTP): not limited
  end if;
  v_hit := app_private.count_rate_limit_hit(bucket_name, bucket_key, per, count_hit);
  if v_hit.hits > max_hits then
    v_retry := greatest(1, ceil(extract(epoch from (v_hit.window_started_at + per - now())))::int);
    raise exception 'Too many attempts; try again in % seconds', v_retry
      using errcode = 'RLIMT', detail = json_build_object('retryAfterSeconds', v_retry)::text;
  end if;
end;
$$;

create or replace function app_hidden.take_rate_limit(
  bucket_name text, bucket_key text,
  out allowed boolean, out max_hits int, out remaining int, out reset_seconds int, out window_seconds int
)
  language sql volatile security definer
  set search_path = pg_catalog, public
as $$
  with setting as (
    select (v ->> 'max')::int as max_hits, (v ->> 'window')::interval as per
      from app_private.setting('rate_limit.' || bucket_name) v
     where v is not null
  ), hit as (
    select c.hits, c.window_started_at
      from setting, app_private.count_rate_limit_hit(bucket_name, bucket_key, setting.per) c
  )
  select hit.hits <= setting.max_hits,
         setting.max_hits,
         greatest(0, setting.max_hits - hit.hits),
         greatest(1, ceil(extract(epoch from hit.window_started_at + setting.per - now())))::int,
         ceil(extract(epoch from setting.per))::int
    from hit, setting
$$;

drop table if exists app_private.edge_rate_limits;

/*
 * Counters whose window has passed count for nothing: the prune_rate_limits
 * job (hourly) deletes them. The window is the bucket's setting; buckets
 * without one (explicit check_rate_limit calls) are kept for a day.
 */
create or replace function app_private.prune_rate_limits() returns int
  language sql volatile
  set search_path = pg_catalog, public
as $$
  with pruned as (
    delete from app_private.rate_limits r
     where r.window_started_at < now() - coalesce(
             (select (s.value ->> 'window')::interval from app_private.settings s where s.key = 'rate_limit.' || r.bucket),
             interval '1 day')
    returning 1
  )
  select count(*)::int from pruned
$$;
comment on function app_private.prune_rate_limits() is
  'Deletes rate-limit counters whose window has passed (a day for buckets without a setting); returns how many. Run hourly by the prune_rate_limits task.';

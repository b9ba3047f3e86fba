--! split: 1000-edge-rate-limit-classes.sql
-- === Edge rate-limit classes (issue 10, item 5) ===
-- Every GraphQL request (HTTP or WebSocket operation) and every WebSocket
-- connect is counted, before any other SQL runs, in one of these budgets:
-- per member when the request carries a verified token, per IP address
-- otherwise (auth and WebSocket connects: always per IP). The counters are
-- rows of app_private.edge_rate_limits, so every API instance shares them.

delete from app_private.settings where key in (
  'rate_limit.api_read:member', 'rate_limit.api_read:ip',
  'rate_limit.api_write:member', 'rate_limit.api_write:ip',
  'rate_limit.api_search:member', 'rate_limit.api_search:ip',
  'rate_limit.api_auth:ip', 'rate_limit.ws_connect:ip'
);
insert into app_private.settings (key, value, description) values
  ('rate_limit.api_read:member', '{"max": 600, "window": "1 minute"}', 'GraphQL queries (other than search) per signed-in member'),
  ('rate_limit.api_read:ip', '{"max": 300, "window": "1 minute"}', 'GraphQL queries (other than search) per IP address, anonymous'),
  ('rate_limit.api_write:member', '{"max": 120, "window": "1 minute"}', 'GraphQL mutations (other than auth) per signed-in member'),
  ('rate_limit.api_write:ip', '{"max": 60, "window": "1 minute"}', 'GraphQL mutations (other than auth) per IP address, anonymous'),
  ('rate_limit.api_search:member', '{"max": 60, "window": "1 minute"}', 'GraphQL operations that search, per signed-in member'),
  ('rate_limit.api_search:ip', '{"max": 30, "window": "1 minute"}', 'GraphQL operations that search, per IP address, anonymous'),
  ('rate_limit.api_auth:ip', '{"max": 30, "window": "1 minute"}', 'Sign-in mutations (register, login, refreshSession, forgotPassword, resetPassword, verifyEmail, changePassword) per IP address'),
  ('rate_limit.ws_connect:ip', '{"max": 30, "window": "1 minute"}', 'WebSocket connections opened per IP address');

/*
 * UNLOGGED: every request writes here, and a transaction that writes only
 * unlogged tables commits without waiting for a WAL flush (with
 * synchronous_commit on, that flush would be the largest part of a one-row
 * upsert). The price: after a database crash the edge counters start from
 * zero, and standbys do not have them (they serve no writes anyway).
 */
drop function if exists app_hidden.take_rate_limit(text, text);
drop table if exists app_private.edge_rate_limits;
create unlogged table app_private.edge_rate_limits (
  bucket text not null,
  key text not null,
  window_started_at timestamptz not null,
  hits int not null,
  primary key (bucket, key)
);
comment on table app_private.edge_rate_limits is 'Counters of the edge rate-limit classes (app_hidden.take_rate_limit); unlogged: reset by a database crash.';

/*
 * The edge's limiter: counts one hit for (bucket, key) and returns the state
 * of its window instead of raising, so the server can answer 429 with the
 * standard RateLimit headers. One statement, one row lock held for an
 * instant (autocommit). Limits come from the setting rate_limit.<bucket>;
 * an unknown bucket returns nulls (the edge treats that as a server error).
 * Security definer: the authenticator calls it outside any request
 * transaction, and has no grant on app_private.
 */
create function app_hidden.take_rate_limit(
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
    insert into app_private.edge_rate_limits as r (bucket, key, window_started_at, hits)
    select bucket_name, bucket_key, now(), 1 from setting
    on conflict (bucket, key) do update
      set hits = case when r.window_started_at + (select per from setting) <= now() then 1 else r.hits + 1 end,
          window_started_at = case when r.window_started_at + (select per from setting) <= now() then now() else r.window_started_at end
    returning r.hits, r.window_started_at
  )
  select hit.hits <= setting.max_hits,
         setting.max_hits,
         greatest(0, setting.max_hits - hit.hits),
         greatest(1, ceil(extract(epoch from hit.window_started_at + setting.per - now())))::int,
         ceil(extract(epoch from setting.per))::int
    from hit, setting
$$;
comment on function app_hidden.take_rate_limit(text, text) is
  'Edge rate limiter: counts a hit for (bucket, key) against rate_limit.<bucket> and returns allowed, limit, remaining, seconds to reset, window.';
revoke all on function app_hidden.take_rate_limit(text, text) from public;
grant usage on schema app_hidden to :DATABASE_AUTHENTICATOR;
grant execute on function app_hidden.take_rate_limit(text, text) to :DATABASE_AUTHENTICATOR;

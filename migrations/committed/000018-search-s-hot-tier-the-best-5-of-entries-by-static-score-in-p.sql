--! Previous: sha1:9791c44e8b048c3cf7e409881b3d3827dee5be62
--! Hash: sha1:860f984356484fd00252cdc60cc2aba03e734686
--! Message: Search's hot tier: the best 5% of entries by static score in partial indexes, tried first; the whole table only when the tier cannot prove it holds the best candidates; placed hourly

--! split: 1000-search-hot-tier.sql
-- Search's hot tier (issue 12): the best few percent of search entries by
-- static score carry hot = true and have their own partial GIN index. A query
-- first ranks its matches there; only when the hot tier cannot prove it holds
-- the best search.candidates matches does it search the whole table. On
-- `large` (6.7M entries) a medium and a common word together matched 28,654
-- entries, each fetched from the heap to be ranked (195 ms); in the hot tier
-- they match ≈ 5% of that.

insert into app_private.settings (key, value, description) values
  ('search.hot_share', '0.05', 'The share of search entries (the best by static score) in the hot tier that every search tries first; placed by app_private.search_tiers_refresh()')
on conflict (key) do nothing;

-- Existing entries start outside the tier (no table rewrite); the tiers are placed below, new entries come in hot.
alter table app_private.search_entries add column if not exists hot boolean not null default false;
alter table app_private.search_entries alter column hot set default true;
comment on column app_private.search_entries.hot is 'In the hot tier, which every search tries first: the best search.hot_share of entries by score, and every entry changed since app_private.search_tiers_refresh() last placed them (new and changed entries come in hot).';

drop index if exists app_private.search_entries_doc_hot_idx;
create index search_entries_doc_hot_idx on app_private.search_entries using gin (doc) where hot;
comment on index app_private.search_entries_doc_hot_idx is 'Full-text matches in the hot tier (search tries it first).';
drop index if exists app_private.search_entries_hot_score_idx;
create index search_entries_hot_score_idx on app_private.search_entries (score) where hot;
comment on index app_private.search_entries_hot_score_idx is 'The hot tier by score: common words walk it best first; the tier refresh demotes from its low end.';

create table if not exists app_private.search_hot (
  singleton boolean primary key default true check (singleton),
  floor real not null,
  placed_at timestamptz not null default now()
);
comment on table app_private.search_hot is 'The hot tier''s floor: every entry scoring at least this is hot (entries outside the tier score below it). One row, written by app_private.search_tiers_refresh().';
comment on column app_private.search_hot.singleton is 'Always true: the table has one row.';
comment on column app_private.search_hot.floor is 'The lowest score the hot tier is sure to hold; -infinity while every entry is hot.';
comment on column app_private.search_hot.placed_at is 'When the tiers were last placed.';
insert into app_private.search_hot (floor) values ('-infinity') on conflict (singleton) do nothing;

create or replace function app_private.search_tiers_refresh() returns real
  language plpgsql set search_path = pg_catalog, public as $$
declare
  v_share real := (app_private.setting('search.hot_share') #>> '{}')::real;
  v_size bigint;
  v_floor real;
begin
  -- The tier's size from the planner's row estimate (a count would read the whole table).
  select greatest(1, ceil(greatest(c.reltuples, 0) * v_share))::bigint into v_size from pg_class c where c.oid = 'app_private.search_entries'::regclass;
  select e.score into v_floor from app_private.search_entries e order by e.score desc offset v_size - 1 limit 1;
  v_floor := coalesce(v_floor, '-infinity');
  -- Promote entries at or above the floor (the score index from the top), demote the rest of the tier (its own index from the bottom).
  update app_private.search_entries e set hot = true where not e.hot and e.score >= v_floor;
  update app_private.search_entries e set hot = false where e.hot and e.score < v_floor;
  update app_private.search_hot set floor = v_floor, placed_at = now();
  return v_floor;
end;
$$;
comment on function app_private.search_tiers_refresh() is 'Places the search tiers: the best search.hot_share of entries (by the planner''s row estimate) are hot, the rest not, and the floor is recorded. Run by the refresh_search_tiers task (hourly) and after search_rebuild(). Returns the floor.';

CREATE OR REPLACE FUNCTION app_private.search_refresh(kind text, id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public'
AS $function$
declare
  v app_private.search_entries;
begin
  select s.* into v from app_private.search_sources s where s.kind = search_refresh.kind and s.id = search_refresh.id;
  if v.id is null then
    delete from app_private.search_entries e where e.kind = search_refresh.kind and e.id = search_refresh.id;
    return;
  end if;
  v.hot := true; -- new or changed: in the hot tier until app_private.search_tiers_refresh() places it
  insert into app_private.search_entries values (v.*)
  on conflict on constraint search_entries_pkey do update
     set doc = excluded.doc, title = excluded.title, title_is_own = excluded.title_is_own, body = excluded.body,
         author_id = excluded.author_id, category_id = excluded.category_id, tags = excluded.tags,
         language = excluded.language, published_at = excluded.published_at, score = excluded.score,
         room_id = excluded.room_id, job_status = excluded.job_status, hot = true
   -- An unchanged entry is not rewritten (no dead row, no index churn).
   where (search_entries.*) is distinct from (excluded.*);
end;
$function$;


CREATE OR REPLACE FUNCTION app_private.search_rebuild()
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'public'
AS $function$
declare
  v_count bigint;
begin
  truncate app_private.search_entries;
  -- Outside the hot tier at first, then the tiers are placed: promoting the best few percent rewrites few rows.
  insert into app_private.search_entries select s.*, false from app_private.search_sources s;
  get diagnostics v_count = row_count;
  analyze app_private.search_entries;
  perform app_private.search_tiers_refresh();
  return v_count;
end;
$function$;


CREATE OR REPLACE FUNCTION app_hidden.search_candidates(query text, kinds text[], category_ids uuid[], tags text[], want_author_id uuid, published_after timestamp with time zone, published_before timestamp with time zone, language text, match_all boolean)
 RETURNS TABLE(kind text, id uuid, title text, rank real, author_id uuid, category_id uuid, published_at timestamp with time zone)
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
 SET plan_cache_mode TO 'force_custom_plan'
AS $function$
declare
  v_max_length int := (app_private.setting('search.max_query_length') #>> '{}')::int;
  v_limit int := (app_private.setting('search.candidates') #>> '{}')::int;
  v_fuzzy int := (app_private.setting('search.fuzzy_threshold') #>> '{}')::int;
  v_query tsquery;
  v_me uuid := app_public.current_user_id();
  v_blocked uuid[];
  v_found int;
  v_floor real;
begin
  if char_length(search_candidates.query) > v_max_length then
    raise exception 'The search text is too long (% characters; at most %)', char_length(search_candidates.query), v_max_length
      using errcode = 'TLONG',
            detail = json_build_object('maxLength', v_max_length, 'length', char_length(search_candidates.query))::text;
  end if;
  v_query := websearch_to_tsquery('english', search_candidates.query);
  v_blocked := array(select b.blocked_id from app_public.user_blocks b where b.blocker_id = v_me);

  -- The hot tier first (the best search.hot_share of entries by static
  -- score, and every entry changed since the tiers were last placed): when it
  -- holds search.candidates matches whose scores all reach the tier's floor,
  -- they are exactly the best matches of the whole table, found through the
  -- smaller partial index. Otherwise (a rarer query) the whole table is
  -- searched, where such a query's matches are few.
  select h.floor into v_floor from app_private.search_hot h;
  return query
    with hot as materialized (
      select e.* from app_private.search_entries e
       where e.hot and e.doc @@ v_query
         and (search_candidates.kinds is null or e.kind = any(search_candidates.kinds))
         and app_hidden.search_filters_pass(e.category_id, e.tags, e.author_id, e.published_at, e.language,
                     search_candidates.category_ids, search_candidates.tags, search_candidates.want_author_id,
                     search_candidates.published_after, search_candidates.published_before,
                     search_candidates.language, search_candidates.match_all)
         and (e.room_id is null or app_hidden.room_readable(e.room_id))
         and (e.kind <> 'message' or e.author_id is null or e.author_id <> all(v_blocked))
         and (e.job_status is null or app_hidden.job_posting_visible(e.job_status, e.author_id))
       order by e.score desc
       limit v_limit),
    hot_suffices as materialized (
      select count(*) = v_limit and min(hot.score) >= coalesce(v_floor, '-infinity') as yes from hot),
    best as (
      select hot.* from hot where (select yes from hot_suffices)
      union all
      select f.* from (select e.* from app_private.search_entries e
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
                        limit v_limit) f
       where not (select yes from hot_suffices))
    select e.kind, e.id, e.title,
           (ts_rank_cd(e.doc, v_query, 32)
             * case when lower(e.title) = lower(trim(search_candidates.query)) then 10 else 1 end)::real,
           e.author_id, e.category_id, e.published_at
      from best e;
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
$function$;


select app_private.search_tiers_refresh();

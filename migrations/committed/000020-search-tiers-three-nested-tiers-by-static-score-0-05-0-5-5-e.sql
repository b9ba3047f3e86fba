--! Previous: sha1:6da1eae93141e8214fb8f3401321fb590c8d0b77
--! Hash: sha1:5fe860bbbf6f2d79dc6d8aca36365f83e14f8cd8
--! Message: Search tiers: three nested tiers by static score (0.05%, 0.5%, 5%), each with its own partial GIN index, tried smallest first in one small statement each; 100 candidates instead of 500; typo tolerance in tier 2

--! split: 1000-search-tiers.sql
-- Search's tiers (issue 12): three nested tiers instead of one hot tier, and
-- fewer candidates ranked per query.
--
-- On `large` (8.8M entries) a word in ≈ 3% of the hot tier (the best 5%,
-- 670k entries) matched 22,858 of them, each fetched from the heap to find
-- the 500 best by static score (80 ms); two very common words 19,811 (55 ms).
-- Whatever tier answers, a query pays for the matches it holds (a GIN bitmap
-- fetches every one; a score walk reads candidates ÷ the word's share of the
-- tier). So the tiers now nest by factors of ten — tier 1 the best 0.05% of
-- entries by static score, tier 2 the best 0.5%, tier 3 the best 5%
-- (search.tier_shares) — and a query stops at the first tier that provably
-- holds its search.candidates best matches: a word in a few percent of
-- entries has a few hundred matches in tier 1, a rarer one a few hundred in
-- the next tier, and only a rare word (few matches anywhere) reaches the
-- whole table. `tier` is the smallest tier an entry is in; tier 4 is the
-- rest. New and changed entries come in tier 1 until the tiers are placed.
--
-- search.candidates goes from 500 to 100: a page is 20, so 100 is five pages
-- of the best-ranked among the newest and most popular matches (a rare word
-- still ranks all of its matches). Ranking 500 cost five times the work.
--
-- Typo tolerance (similar titles, when full text finds almost nothing)
-- looks in tier 2 only: the trigram index of every own title made a
-- misspelt word cost 20–40 ms on `large` (tier 3's: 6–7 ms, tier 2's 1–3
-- ms); tier 2 holds the best 0.5% by static score and everything new or
-- changed since the tiers were placed.

insert into app_private.settings (key, value, description) values
  ('search.tier_shares', '[0.0005, 0.005, 0.05]', 'The shares of search entries (the best by static score) in search tiers 1, 2 and 3, tried in that order before the whole table; placed by app_private.search_tiers_refresh()')
on conflict (key) do nothing;
delete from app_private.settings where key in ('search.hot_share', 'search.top_share');
update app_private.settings set value = '100' where key = 'search.candidates' and value = '500';

-- Existing entries start in tier 4 (no table rewrite); the tiers are placed below, new entries come in tier 1.
alter table app_private.search_entries add column if not exists tier smallint not null default 4;
alter table app_private.search_entries alter column tier set default 1;
do $$
begin
  alter table app_private.search_entries add constraint search_entries_tier_check check (tier between 1 and 4);
exception when duplicate_object then null;
end $$;
comment on column app_private.search_entries.tier is 'The smallest search tier the entry is in (1: the best search.tier_shares[1] by static score, 2, 3; 4: none): tier k holds every entry with tier ≤ k. New and changed entries come in tier 1 until app_private.search_tiers_refresh() places them.';

drop index if exists app_private.search_entries_doc_top_idx;
drop index if exists app_private.search_entries_top_score_idx;
drop index if exists app_private.search_entries_doc_hot_idx;
drop index if exists app_private.search_entries_hot_score_idx;
drop index if exists app_private.search_entries_title_trgm_hot_idx;
drop index if exists app_private.search_entries_title_trgm_idx;
alter table app_private.search_entries drop column if exists top;
alter table app_private.search_entries drop column if exists hot;

drop table if exists app_private.search_hot;
create table if not exists app_private.search_tiers (
  tier smallint primary key check (tier between 1 and 3),
  floor real not null,
  placed_at timestamptz not null default now()
);
alter table app_private.search_tiers enable row level security;
comment on table app_private.search_tiers is 'The floors of search tiers 1–3: every entry scoring at least a tier''s floor is in it (entries outside a tier score below its floor). Written by app_private.search_tiers_refresh(); read by app_hidden.search_candidates. No policies: functions only.';
comment on column app_private.search_tiers.tier is 'The tier: 1 the smallest (the best search.tier_shares[1] of entries), 3 the largest.';
comment on column app_private.search_tiers.floor is 'The lowest score the tier is sure to hold; -infinity while every entry is in it.';
comment on column app_private.search_tiers.placed_at is 'When the tiers were last placed.';
insert into app_private.search_tiers (tier, floor) values (1, '-infinity'), (2, '-infinity'), (3, '-infinity') on conflict (tier) do nothing;

drop function if exists app_private.search_tiers_refresh();
create function app_private.search_tiers_refresh() returns real[]
  language plpgsql set search_path = pg_catalog, public as $$
declare
  v_shares jsonb := app_private.setting('search.tier_shares');
  v_rows real;
  v_floors real[] := '{}';
  v_floor real;
begin
  if jsonb_typeof(v_shares) is distinct from 'array' or jsonb_array_length(v_shares) <> 3 then
    raise exception 'search.tier_shares must be an array of three shares' using errcode = 'INVAL';
  end if;
  -- The tiers' sizes from the planner's row estimate (a count would read the whole table).
  select greatest(c.reltuples, 0) into v_rows from pg_class c where c.oid = 'app_private.search_entries'::regclass;
  for k in 1..3 loop
    v_floor := null;
    select e.score into v_floor from app_private.search_entries e
     order by e.score desc offset greatest(1, ceil(v_rows * (v_shares ->> (k - 1))::real))::bigint - 1 limit 1;
    -- Nested: a tier's floor is never above the floor of the tier inside it.
    v_floors := v_floors || least(coalesce(v_floor, '-infinity'), coalesce(v_floors[k - 1], 'infinity'));
  end loop;
  -- Entries at or above the lowest floor get their tier (the score index from the top) …
  update app_private.search_entries e
     set tier = case when e.score >= v_floors[1] then 1 when e.score >= v_floors[2] then 2 else 3 end
   where e.score >= v_floors[3]
     and e.tier <> case when e.score >= v_floors[1] then 1 when e.score >= v_floors[2] then 2 else 3 end;
  -- … and the rest leave the tiers (tier 3's score index from its low end).
  update app_private.search_entries e set tier = 4 where e.tier <= 3 and e.score < v_floors[3];
  update app_private.search_tiers t set floor = v_floors[t.tier], placed_at = now();
  return v_floors;
end;
$$;
comment on function app_private.search_tiers_refresh() is 'Places the search tiers: the best search.tier_shares[k] of entries (by the planner''s row estimate) are in tier k, the rest in none, and the floors are recorded. Run by the refresh_search_tiers task (hourly) and after search_rebuild(). Returns the floors of tiers 1–3.';

create or replace function app_private.search_rebuild() returns bigint
  language plpgsql set search_path = pg_catalog, public as $$
declare
  v_count bigint;
begin
  truncate app_private.search_entries;
  -- Outside the tiers at first, then the tiers are placed: promoting the best few percent rewrites few rows.
  insert into app_private.search_entries select s.*, 4 from app_private.search_sources s;
  get diagnostics v_count = row_count;
  analyze app_private.search_entries;
  perform app_private.search_tiers_refresh();
  return v_count;
end;
$$;

create or replace function app_private.search_refresh(kind text, id uuid) returns void
  language plpgsql set search_path = pg_catalog, public as $$
declare
  v app_private.search_entries;
begin
  select s.* into v from app_private.search_sources s where s.kind = search_refresh.kind and s.id = search_refresh.id;
  if v.id is null then
    delete from app_private.search_entries e where e.kind = search_refresh.kind and e.id = search_refresh.id;
    return;
  end if;
  v.tier := 1; -- new or changed: in every tier until app_private.search_tiers_refresh() places it
  insert into app_private.search_entries values (v.*)
  on conflict on constraint search_entries_pkey do update
     set doc = excluded.doc, title = excluded.title, title_is_own = excluded.title_is_own, body = excluded.body,
         author_id = excluded.author_id, category_id = excluded.category_id, tags = excluded.tags,
         language = excluded.language, published_at = excluded.published_at, score = excluded.score,
         room_id = excluded.room_id, job_status = excluded.job_status, tier = 1
   -- An unchanged entry is not rewritten (no dead row, no index churn).
   where (search_entries.*) is distinct from (excluded.*);
end;
$$;

create or replace function app_hidden.search_entry_visible(kind text, author_id uuid, room_id uuid, job_status app_public.job_status, blocked_ids uuid[])
  returns boolean language sql stable as $$
  select (room_id is null or app_hidden.room_readable(room_id))
     and (kind <> 'message' or author_id is null or author_id <> all(blocked_ids))
     and (job_status is null or app_hidden.job_posting_visible(job_status, author_id))
$$;
grant execute on function app_hidden.search_entry_visible(text, uuid, uuid, app_public.job_status, uuid[]) to anonymous, authenticated;
comment on function app_hidden.search_entry_visible(text, uuid, uuid, app_public.job_status, uuid[]) is 'Who may find a search entry (the rules of the source tables'' select policies, for the entries whose visibility depends on the searcher): a message of a private or direct room only its readers (app_hidden.room_readable), and not a member who blocked its author (blocked_ids: the searcher''s blocks); a job posting as app_hidden.job_posting_visible says. Inlined into app_hidden.search_candidates'' statements.';

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
  v_floors real[];
  v_found bigint := 0;
begin
  if char_length(search_candidates.query) > v_max_length then
    raise exception 'The search text is too long (% characters; at most %)', char_length(search_candidates.query), v_max_length
      using errcode = 'TLONG',
            detail = json_build_object('maxLength', v_max_length, 'length', char_length(search_candidates.query))::text;
  end if;
  v_query := websearch_to_tsquery('english', search_candidates.query);
  v_blocked := array(select b.blocked_id from app_public.user_blocks b where b.blocker_id = v_me);
  v_floors := array(select coalesce(t.floor, '-infinity') from app_private.search_tiers t order by t.tier);

  -- The tiers from the smallest (tier k: the best search.tier_shares[k] of
  -- entries by static score, and every entry new or changed since the tiers
  -- were placed), then the whole table (tier 4: every entry). Each step is
  -- one small statement, planned for its words and its tier (a custom plan:
  -- the tier is a constant there, so the tier's partial index serves it).
  -- When tier k holds search.candidates visible matches whose scores all
  -- reach its floor, they are exactly the best matches of the whole table:
  -- they are returned and the larger tiers are not searched. A rarer query
  -- falls through to where its matches are few; the whole table returns
  -- whatever it has.
  for v_tier in 1..4 loop
    return query
      with best as materialized (
        select e.kind, e.id, e.title, e.doc, e.author_id, e.category_id, e.published_at, e.score
          from app_private.search_entries e
         where e.tier <= v_tier and e.doc @@ v_query
           and (search_candidates.kinds is null or e.kind = any(search_candidates.kinds))
           and app_hidden.search_filters_pass(e.category_id, e.tags, e.author_id, e.published_at, e.language,
                 search_candidates.category_ids, search_candidates.tags, search_candidates.want_author_id,
                 search_candidates.published_after, search_candidates.published_before,
                 search_candidates.language, search_candidates.match_all)
           and app_hidden.search_entry_visible(e.kind, e.author_id, e.room_id, e.job_status, v_blocked)
         order by e.score desc limit v_limit)
      select b.kind, b.id, b.title,
             (ts_rank_cd(b.doc, v_query, 32)
               * case when lower(b.title) = lower(trim(search_candidates.query)) then 10 else 1 end)::real,
             b.author_id, b.category_id, b.published_at
        from best b
       where v_tier = 4 or (select count(*) = v_limit and min(b2.score) >= v_floors[v_tier] from best b2);
    get diagnostics v_found = row_count;
    exit when v_found > 0;
  end loop;

  -- Typo tolerance, only when full text found fewer than
  -- search.fuzzy_threshold: similar own titles and names in tier 2 (trigram
  -- index), ranked below every full-text hit.
  if v_found < v_fuzzy then
    return query
      select e.kind, e.id, e.title, (word_similarity(search_candidates.query, e.title) / 10)::real,
             e.author_id, e.category_id, e.published_at
        from app_private.search_entries e
       where e.tier <= 2 and e.title_is_own and search_candidates.query <% e.title and not (e.doc @@ v_query)
         and (search_candidates.kinds is null or e.kind = any(search_candidates.kinds))
         and app_hidden.search_filters_pass(e.category_id, e.tags, e.author_id, e.published_at, e.language,
               search_candidates.category_ids, search_candidates.tags, search_candidates.want_author_id,
               search_candidates.published_after, search_candidates.published_before,
               search_candidates.language, search_candidates.match_all)
         and app_hidden.search_entry_visible(e.kind, e.author_id, e.room_id, e.job_status, v_blocked)
       limit v_limit;
  end if;
end;
$function$;

comment on function app_hidden.search_candidates(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) is 'The documents one search ranks: visible full-text matches passing the filters, at most search.candidates of them (the best by static score, from the smallest search tier that provably holds them), with their text rank; similar titles of tier 2 when full text found fewer than search.fuzzy_threshold. Refuses a text longer than search.max_query_length (TLONG).';

-- Place the tiers (on a large table: promotes the best 5% out of tier 4), then index them.
select app_private.search_tiers_refresh();

drop index if exists app_private.search_entries_doc_tier1_idx;
create index search_entries_doc_tier1_idx on app_private.search_entries using gin (doc) where tier <= 1;
comment on index app_private.search_entries_doc_tier1_idx is 'Full-text matches in search tier 1 (tried first).';
drop index if exists app_private.search_entries_doc_tier2_idx;
create index search_entries_doc_tier2_idx on app_private.search_entries using gin (doc) where tier <= 2;
comment on index app_private.search_entries_doc_tier2_idx is 'Full-text matches in search tier 2.';
drop index if exists app_private.search_entries_doc_tier3_idx;
create index search_entries_doc_tier3_idx on app_private.search_entries using gin (doc) where tier <= 3;
comment on index app_private.search_entries_doc_tier3_idx is 'Full-text matches in search tier 3.';
-- Only the largest tier has a score index (the refresh demotes from its low
-- end). A smaller tier's would let the planner AND it with a larger tier's
-- GIN index (cheap in its estimate, a scan of ten times the matches in fact).
drop index if exists app_private.search_entries_score_tier1_idx;
drop index if exists app_private.search_entries_score_tier2_idx;
drop index if exists app_private.search_entries_score_tier3_idx;
create index search_entries_score_tier3_idx on app_private.search_entries (score) where tier <= 3;
comment on index app_private.search_entries_score_tier3_idx is 'Search tier 3 by score: the tier refresh demotes from its low end.';
drop index if exists app_private.search_entries_title_trgm_tier3_idx;
drop index if exists app_private.search_entries_title_trgm_tier2_idx;
create index search_entries_title_trgm_tier2_idx on app_private.search_entries using gin (title public.gin_trgm_ops) where title_is_own and tier <= 2;
comment on index app_private.search_entries_title_trgm_tier2_idx is 'Own titles of search tier 2 by trigram: typo-tolerant search (similar titles) looks only here.';

--! Previous: sha1:bf576c62e81f4e355d8a31861038fe592f5df0fd
--! Hash: sha1:c230007d3acd5151d727f6447a9aebf20a680b08
--! Message: Which tier a score belongs in, written once (app_private.search_tier) for both halves of the tier placement; app_private.search_tiers without row-level security, like every other app_private table

--! split: 1000-search-tier-of-a-score.sql
-- Which tier a score belongs in, written once (app_private.search_tier) for
-- both halves of search_tiers_refresh's placement (the value set and the
-- test that it changes), instead of the same case expression twice. And
-- app_private.search_tiers without row-level security, like every other
-- app_private table: no API role has usage on the schema; only functions
-- read it.

create or replace function app_private.search_tier(score real, floors real[]) returns smallint
  language sql immutable parallel safe as $$
  select (case when score >= floors[1] then 1 when score >= floors[2] then 2 when score >= floors[3] then 3 else 4 end)::smallint
$$;
comment on function app_private.search_tier(real, real[]) is 'The smallest search tier an entry with this static score belongs in, given the floors of tiers 1–3 (4: none). Used by app_private.search_tiers_refresh() to place the entries.';

create or replace function app_private.search_tiers_refresh() returns real[]
  language plpgsql set search_path = pg_catalog, public as $$
declare
  v_shares jsonb := app_private.setting('search.tier_shares');
  v_rows real;
  v_sizes bigint[];
  v_scores real[];
  v_floors real[] := '{}';
begin
  if jsonb_typeof(v_shares) is distinct from 'array' or jsonb_array_length(v_shares) <> 3 then
    raise exception 'search.tier_shares must be an array of three shares' using errcode = 'INVAL';
  end if;
  -- The tiers' sizes from the planner's row estimate (a count would read the whole table).
  select greatest(c.reltuples, 0) into v_rows from pg_class c where c.oid = 'app_private.search_entries'::regclass;
  v_sizes := array(select greatest(1, ceil(v_rows * (s.share #>> '{}')::real))::bigint
                     from jsonb_array_elements(v_shares) with ordinality s(share, k) order by s.k);
  -- The best scores, as many as the largest tier holds; tier k's floor is the score at its size.
  select array_agg(t.score order by t.score desc) into v_scores
    from (select e.score from app_private.search_entries e order by e.score desc limit (select max(n) from unnest(v_sizes) n)) t;
  for k in 1..3 loop
    -- Nested: a tier's floor is never above the floor of the tier inside it.
    v_floors := v_floors || least(coalesce(v_scores[v_sizes[k]], '-infinity'), coalesce(v_floors[k - 1], 'infinity'));
  end loop;
  -- Entries at or above the lowest floor get their tier (the score index from the top) …
  update app_private.search_entries e set tier = app_private.search_tier(e.score, v_floors)
   where e.score >= v_floors[3] and e.tier <> app_private.search_tier(e.score, v_floors);
  -- … and the rest leave the tiers (tier 3's score index from its low end).
  update app_private.search_entries e set tier = 4 where e.tier <= 3 and e.score < v_floors[3];
  update app_private.search_tiers t set floor = v_floors[t.tier], placed_at = now();
  return v_floors;
end;
$$;

alter table app_private.search_tiers disable row level security;
comment on table app_private.search_tiers is 'The floors of search tiers 1–3: every entry scoring at least a tier''s floor is in it (entries outside a tier score below its floor). Written by app_private.search_tiers_refresh(); read by app_hidden.search_candidates.';

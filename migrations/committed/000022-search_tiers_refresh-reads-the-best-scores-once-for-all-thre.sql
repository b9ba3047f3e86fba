--! Previous: sha1:a6f1d259d4ffd1fff60256b70127685bad041eb6
--! Hash: sha1:bf576c62e81f4e355d8a31861038fe592f5df0fd
--! Message: search_tiers_refresh reads the best scores once for all three floors instead of once per tier

--! split: 1000-search-tiers-one-pass.sql
-- app_private.search_tiers_refresh reads the best scores once for all three
-- floors (the largest tier's entries, best first) instead of once per tier:
-- after a bulk load, before the score index is built, each read was a pass
-- over the whole table.

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

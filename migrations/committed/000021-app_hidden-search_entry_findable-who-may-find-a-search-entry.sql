--! Previous: sha1:5fe860bbbf6f2d79dc6d8aca36365f83e14f8cd8
--! Hash: sha1:a6f1d259d4ffd1fff60256b70127685bad041eb6
--! Message: app_hidden.search_entry_findable: who may find a search entry with the filters asked, in one inlined function instead of the same conditions at search_candidates' two statements

--! split: 1000-search-entry-findable.sql
-- Who may find a search entry, with the filters asked, in one function
-- (app_hidden.search_entry_findable) instead of the same three conditions at
-- each of search_candidates' two statements (the tiers and the typo
-- tolerance). Inlined by the planner: same plans.

create or replace function app_hidden.search_entry_findable(
  e app_private.search_entries, kinds text[], category_ids uuid[], tags text[], want_author_id uuid,
  published_after timestamptz, published_before timestamptz, language text, match_all boolean, blocked_ids uuid[])
  returns boolean language sql stable as $$
  select (kinds is null or e.kind = any(kinds))
     and app_hidden.search_filters_pass(e.category_id, e.tags, e.author_id, e.published_at, e.language,
           category_ids, tags, want_author_id, published_after, published_before, language, match_all)
     -- A message of a private or direct room: only its readers; never a member who blocked its author.
     and (e.room_id is null or app_hidden.room_readable(e.room_id))
     and (e.kind <> 'message' or e.author_id is null or e.author_id <> all(blocked_ids))
     and (e.job_status is null or app_hidden.job_posting_visible(e.job_status, e.author_id))
$$;
comment on function app_hidden.search_entry_findable(app_private.search_entries, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean, uuid[]) is 'Whether the searcher may find a search entry with the filters asked: its kind is among kinds (null: any), app_hidden.search_filters_pass holds, and the rules of the source tables'' select policies that depend on the searcher — a message of a private or direct room only for its readers (app_hidden.room_readable) and never for a member who blocked its author (blocked_ids: the searcher''s blocks), a job posting as app_hidden.job_posting_visible says. Inlined into app_hidden.search_candidates'' statements (its owner''s; not granted to the API roles).';
revoke all on function app_hidden.search_entry_findable(app_private.search_entries, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean, uuid[]) from public;

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
           and app_hidden.search_entry_findable(e, search_candidates.kinds, search_candidates.category_ids, search_candidates.tags,
                 search_candidates.want_author_id, search_candidates.published_after, search_candidates.published_before,
                 search_candidates.language, search_candidates.match_all, v_blocked)
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
         and app_hidden.search_entry_findable(e, search_candidates.kinds, search_candidates.category_ids, search_candidates.tags,
               search_candidates.want_author_id, search_candidates.published_after, search_candidates.published_before,
               search_candidates.language, search_candidates.match_all, v_blocked)
       limit v_limit;
  end if;
end;
$function$;

drop function if exists app_hidden.search_entry_visible(text, uuid, uuid, app_public.job_status, uuid[]);

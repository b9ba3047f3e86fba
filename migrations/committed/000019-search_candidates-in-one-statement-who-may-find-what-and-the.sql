--! Previous: sha1:860f984356484fd00252cdc60cc2aba03e734686
--! Hash: sha1:6da1eae93141e8214fb8f3401321fb590c8d0b77
--! Message: search_candidates in one statement: who may find what and the filters written once (a not-materialized CTE) for the hot tier, the whole table and the similar titles

--! split: 1000-search-candidates-one-statement.sql
-- app_hidden.search_candidates: who may find what, and the filters, written
-- once (the `searchable` CTE, inlined into each use) instead of once per
-- tier and again for typo tolerance; the hot tier, the whole table and the
-- similar titles in one statement. Same plans, same results.

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
  v_floor real;
begin
  if char_length(search_candidates.query) > v_max_length then
    raise exception 'The search text is too long (% characters; at most %)', char_length(search_candidates.query), v_max_length
      using errcode = 'TLONG',
            detail = json_build_object('maxLength', v_max_length, 'length', char_length(search_candidates.query))::text;
  end if;
  v_query := websearch_to_tsquery('english', search_candidates.query);
  v_blocked := array(select b.blocked_id from app_public.user_blocks b where b.blocker_id = v_me);

  -- One statement: what this searcher may find with the filters asked
  -- (`searchable`, written once; inlined into each use, so every use keeps
  -- its own index), then the hot tier first (the best search.hot_share of
  -- entries by static score, and every entry changed since the tiers were
  -- last placed): when it holds search.candidates matches whose scores all
  -- reach the tier's floor, they are exactly the best matches of the whole
  -- table. Otherwise (a rarer query) the whole table is searched, where such
  -- a query's matches are few. Typo tolerance last, only when full text
  -- found fewer than search.fuzzy_threshold: similar own titles and names
  -- (trigram index), ranked below every full-text hit.
  select h.floor into v_floor from app_private.search_hot h;
  return query
    with searchable as not materialized (
      select e.* from app_private.search_entries e
       where (search_candidates.kinds is null or e.kind = any(search_candidates.kinds))
         and app_hidden.search_filters_pass(e.category_id, e.tags, e.author_id, e.published_at, e.language,
               search_candidates.category_ids, search_candidates.tags, search_candidates.want_author_id,
               search_candidates.published_after, search_candidates.published_before,
               search_candidates.language, search_candidates.match_all)
         and (e.room_id is null or app_hidden.room_readable(e.room_id))
         and (e.kind <> 'message' or e.author_id is null or e.author_id <> all(v_blocked))
         and (e.job_status is null or app_hidden.job_posting_visible(e.job_status, e.author_id))),
    hot as materialized (
      select s.* from searchable s where s.hot and s.doc @@ v_query order by s.score desc limit v_limit),
    hot_suffices as materialized (
      select count(*) = v_limit and min(hot.score) >= coalesce(v_floor, '-infinity') as yes from hot),
    best as materialized (
      select hot.* from hot where (select yes from hot_suffices)
      union all
      select f.* from (select s.* from searchable s where s.doc @@ v_query order by s.score desc limit v_limit) f
       where not (select yes from hot_suffices)),
    similar_titles as (
      select s.* from searchable s
       where (select count(*) from best) < v_fuzzy
         and s.title_is_own and search_candidates.query <% s.title and not (s.doc @@ v_query)
       limit v_limit)
    select b.kind, b.id, b.title,
           (ts_rank_cd(b.doc, v_query, 32)
             * case when lower(b.title) = lower(trim(search_candidates.query)) then 10 else 1 end)::real,
           b.author_id, b.category_id, b.published_at
      from best b
    union all
    select s.kind, s.id, s.title, (word_similarity(search_candidates.query, s.title) / 10)::real,
           s.author_id, s.category_id, s.published_at
      from similar_titles s;
end;
$function$;

--------------------------------------------------------------------------------
-- Search filters, stated once. search_matches (before the 500 cap) and
-- search (the visible documents) both ask "does this document pass the
-- filters?"; they used to spell the rule out five times.
--
-- Immutable and without sub-selects, so PostgreSQL inlines it: the planner
-- still sees plain column conditions next to `@@` and can use the indexes.
create or replace function app_hidden.search_filters_pass(
  category_id uuid, tags text[], author_id uuid, published_at timestamptz, language text,
  want_category_ids uuid[], want_tags text[], want_author_id uuid,
  published_after timestamptz, published_before timestamptz, want_language text, match_all boolean
) returns boolean
  language sql immutable
as $$
  select case when match_all then
           (want_category_ids is null or category_id = any(want_category_ids))
           and (want_tags is null or tags @> want_tags)
           and (want_author_id is null or author_id = want_author_id)
           and (published_after is null or published_at >= published_after)
           and (published_before is null or published_at < published_before)
           and (want_language is null or language = want_language)
         else
           (want_category_ids is null and want_tags is null and want_author_id is null
             and published_after is null and published_before is null and want_language is null)
           or category_id = any(want_category_ids) or tags && want_tags or author_id = want_author_id
           or published_at >= published_after or published_at < published_before
           or language = want_language
         end
$$;
comment on function app_hidden.search_filters_pass(uuid, text[], uuid, timestamptz, text, uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) is
  'The search filters: with match_all every given filter must hold (tags: all of them), otherwise any one (tags: any of them); no filter given passes everything. A filter given as NULL is not applied.';
grant execute on function app_hidden.search_filters_pass(uuid, text[], uuid, timestamptz, text, uuid[], text[], uuid, timestamptz, timestamptz, text, boolean)
  to anonymous, authenticated;

/*
 * The documents a search ranks: at most 500 published matches per kind (see
 * app_public.search). Security definer because under row-level security
 * PostgreSQL cannot use the GIN indexes for `@@` (not leakproof); it returns
 * only ids of published documents, and app_public.search still reads every
 * document through app_hidden.search_documents' visibility rules. With
 * match_all, the filters a kind's own columns can answer apply before the cap
 * (answers and comments have no category, tags or language of their own).
 */
create or replace function app_hidden.search_matches(
  query text, kinds text[], category_ids uuid[], tags text[], author_id uuid,
  published_after timestamptz, published_before timestamptz, language text, match_all boolean
) returns table (kind text, id uuid)
  language sql stable security definer
  set search_path = pg_catalog, public
  set synchronize_seqscans = off
as $$
  (select 'post'::text as kind, p.id from app_public.posts p
    where p.status = 'published' and p.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'post' = any(search_matches.kinds))
      and (not search_matches.match_all or app_hidden.search_filters_pass(
            p.category_id, p.tags, p.author_id, p.published_at, p.language,
            search_matches.category_ids, search_matches.tags, search_matches.author_id,
            search_matches.published_after, search_matches.published_before, search_matches.language, true))
    limit 500)
  union all
  (select 'question', q.id from app_public.questions q
    where q.status = 'published' and q.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'question' = any(search_matches.kinds))
      and (not search_matches.match_all or app_hidden.search_filters_pass(
            q.category_id, q.tags, q.author_id, q.published_at, q.language,
            search_matches.category_ids, search_matches.tags, search_matches.author_id,
            search_matches.published_after, search_matches.published_before, search_matches.language, true))
    limit 500)
  union all
  (select 'answer', a.id from app_public.answers a
    where a.status = 'published' and a.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'answer' = any(search_matches.kinds))
      and (not search_matches.match_all or app_hidden.search_filters_pass(
            null, null, a.author_id, a.created_at, null,
            null, null, search_matches.author_id,
            search_matches.published_after, search_matches.published_before, null, true))
    limit 500)
  union all
  (select 'comment', c.id from app_public.comments c
    where c.status = 'published' and c.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'comment' = any(search_matches.kinds))
      and (not search_matches.match_all or app_hidden.search_filters_pass(
            null, null, c.author_id, c.created_at, null,
            null, null, search_matches.author_id,
            search_matches.published_after, search_matches.published_before, null, true))
    limit 500)
  union all
  (select 'user', u.id from app_public.users u
    where u.is_active and u.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'user' = any(search_matches.kinds))
    limit 500)
$$;

create or replace function app_public.search(
  query text,
  kinds text[] default null,
  category_ids uuid[] default null,
  tags text[] default null,
  author_id uuid default null,
  published_after timestamptz default null,
  published_before timestamptz default null,
  language text default null,
  match_all boolean default true
) returns setof app_public.search_result
  language sql stable
as $$
  with filtered as not materialized (
    select d.* from app_hidden.search_documents d
     where (search.kinds is null or d.kind = any(search.kinds))
       and app_hidden.search_filters_pass(d.category_id, d.tags, d.author_id, d.published_at, d.language,
                                          search.category_ids, search.tags, search.author_id,
                                          search.published_after, search.published_before, search.language, search.match_all)
  ),
  matches as materialized (
    select * from app_hidden.search_matches(search.query, search.kinds, search.category_ids, search.tags, search.author_id,
                                            search.published_after, search.published_before, search.language, search.match_all)
  ),
  fts as materialized (
    select f.*, ts_rank_cd(f.doc, websearch_to_tsquery('english', search.query), 32)
             * case when lower(f.title) = lower(trim(search.query)) then 10 else 1 end as rank
      from filtered f
     -- An array, so each branch of the view looks its matches up by primary key.
     where f.id = any(array(select m.id from matches m))
  ),
  fuzzy as (
    -- Typo tolerance, only when full text found little: similar titles and names (trigram indexes).
    select f.*, word_similarity(search.query, f.title) / 10 as rank
      from filtered f
     where f.kind in ('post', 'question', 'user')
       and search.query <% f.title
       and (select count(*) from fts) < (app_hidden.setting('search.fuzzy_threshold') #>> '{}')::int
       and f.id not in (select fts.id from fts)
     limit 500
  )
  select r.kind, r.id, r.title,
         -- HTML-escaped text with <mark> around the matches: safe to show as HTML.
         ts_headline('english', replace(replace(replace(left(r.body, 5000), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                     websearch_to_tsquery('english', search.query),
                     'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2'),
         r.rank::real, r.author_id, r.category_id, r.published_at
    from (select * from fts union all select * from fuzzy) r
   order by r.rank desc, r.published_at desc nulls last, r.id
$$;

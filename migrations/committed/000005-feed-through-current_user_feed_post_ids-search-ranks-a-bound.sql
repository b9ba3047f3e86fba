--! Previous: sha1:0d3e48954ce2aa31f6e99ed03b54d3838991b234
--! Hash: sha1:96799d81186abb85246187a3d9d13eb13859a1e8
--! Message: Feed through current_user_feed_post_ids; search ranks a bounded set of matches

/*
 * The personal feed as one set of post ids: posts by the members I follow
 * and posts in the categories I follow, reached from my follows through
 * posts (author_id, published_at) and (category_id, published_at). It
 * replaces "author in (my followees) or category in (my categories)",
 * which the planner could only answer by walking every post newest first
 * (0.9 s on 800k posts; this: 6 ms). An inlinable SQL function: used in
 * FROM, the planner sees through it.
 */
drop function if exists app_public.current_user_feed_post_ids();
create function app_public.current_user_feed_post_ids() returns setof uuid
  language sql stable
  rows 200
as $$
  select p.id from app_public.follows f join app_public.posts p on p.author_id = f.followee_id
   where f.follower_id = (select app_public.current_user_id())
  union all
  select p.id from app_public.category_follows cf join app_public.posts p on p.category_id = cf.category_id
   where cf.user_id = (select app_public.current_user_id())
$$;
comment on function app_public.current_user_feed_post_ids() is
  E'@behavior -*\nThe posts of my feed: by the members and in the categories I follow (any status; the feed shows the published ones).';
grant execute on function app_public.current_user_feed_post_ids() to anonymous, authenticated;

drop function if exists app_public.current_user_followee_ids();
drop function if exists app_public.current_user_followed_category_ids();

/*
 * Search: a bounded amount of work per query. Ranking every match costs
 * seconds once a word is common (one word in ten documents: 500k matches on
 * the `large` seed). Now each kind contributes at most 500 matches (GIN
 * bitmap or a short scan, whichever the planner finds cheaper), and the
 * ranking and snippets work on those; the typo fallback looks at no more
 * than 500 similar titles. A query matching fewer
 * than 500 documents of a kind is ranked exactly as before; for more, the
 * best of 500 of them is shown. Filters given with matchAll (the default)
 * narrow the matches before the cap; with matchAll false they apply after it.
 */
/*
 * The documents a search ranks: at most 500 published matches per kind (see
 * app_public.search). Security definer because under row-level security
 * PostgreSQL cannot use the GIN indexes for `@@` (not leakproof); it returns
 * only ids of published documents, and app_public.search still reads every
 * document through app_hidden.search_documents' visibility rules. With
 * match_all, the filters a kind's own columns can answer apply before the cap.
 */
drop function if exists app_hidden.search_matches(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean);
create function app_hidden.search_matches(
  query text, kinds text[], category_ids uuid[], tags text[], author_id uuid,
  published_after timestamptz, published_before timestamptz, language text, match_all boolean
) returns table (kind text, id uuid)
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
(select 'post'::text as kind, p.id from app_public.posts p
    where p.status = 'published' and p.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'post' = any(search_matches.kinds))
      and (not search_matches.match_all or ((search_matches.category_ids is null or p.category_id = any(search_matches.category_ids))
           and (search_matches.tags is null or p.tags @> search_matches.tags) and (search_matches.author_id is null or p.author_id = search_matches.author_id)
           and (search_matches.published_after is null or p.published_at >= search_matches.published_after)
           and (search_matches.published_before is null or p.published_at < search_matches.published_before)
           and (search_matches.language is null or p.language = search_matches.language)))
    limit 500)
  union all
  (select 'question', q.id from app_public.questions q
    where q.status = 'published' and q.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'question' = any(search_matches.kinds))
      and (not search_matches.match_all or ((search_matches.category_ids is null or q.category_id = any(search_matches.category_ids))
           and (search_matches.tags is null or q.tags @> search_matches.tags) and (search_matches.author_id is null or q.author_id = search_matches.author_id)
           and (search_matches.published_after is null or q.published_at >= search_matches.published_after)
           and (search_matches.published_before is null or q.published_at < search_matches.published_before)
           and (search_matches.language is null or q.language = search_matches.language)))
    limit 500)
  union all
  (select 'answer', a.id from app_public.answers a
    where a.status = 'published' and a.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'answer' = any(search_matches.kinds))
      and (not search_matches.match_all or ((search_matches.author_id is null or a.author_id = search_matches.author_id)
           and (search_matches.published_after is null or a.created_at >= search_matches.published_after)
           and (search_matches.published_before is null or a.created_at < search_matches.published_before)))
    limit 500)
  union all
  (select 'comment', c.id from app_public.comments c
    where c.status = 'published' and c.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'comment' = any(search_matches.kinds))
      and (not search_matches.match_all or ((search_matches.author_id is null or c.author_id = search_matches.author_id)
           and (search_matches.published_after is null or c.created_at >= search_matches.published_after)
           and (search_matches.published_before is null or c.created_at < search_matches.published_before)))
    limit 500)
  union all
  (select 'user', u.id from app_public.users u
    where u.is_active and u.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'user' = any(search_matches.kinds))
    limit 500)
$$;
comment on function app_hidden.search_matches(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) is
  'Ids of at most 500 published documents per kind matching a search (for app_public.search).';
grant execute on function app_hidden.search_matches(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) to anonymous, authenticated;

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
       and case when search.match_all then
             (search.category_ids is null or d.category_id = any(search.category_ids))
             and (search.tags is null or d.tags @> search.tags)
             and (search.author_id is null or d.author_id = search.author_id)
             and (search.published_after is null or d.published_at >= search.published_after)
             and (search.published_before is null or d.published_at < search.published_before)
             and (search.language is null or d.language = search.language)
           else
             (search.category_ids is null and search.tags is null and search.author_id is null
               and search.published_after is null and search.published_before is null and search.language is null)
             or d.category_id = any(search.category_ids) or d.tags && search.tags or d.author_id = search.author_id
             or d.published_at >= search.published_after or d.published_at < search.published_before
             or d.language = search.language
           end
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

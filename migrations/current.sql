-- === search: one maintained table (search_entries), bounded candidates, length limit ===
--
-- Every searchable thing (post, question, answer, comment, member, chat
-- message, job posting) has one row in app_private.search_entries, kept by
-- triggers on its source table. app_public.search reads that table only:
-- the best matches by a static score (recency, popularity) are ranked, so a
-- very common word stops after search.candidates rows instead of ranking
-- every match. docs/content.md ("Search") says how to add a kind.

insert into app_private.settings (key, value, description) values
  ('search.max_query_length', '200', 'Longest search text accepted, in characters; longer is refused with TLONG'),
  ('search.candidates', '500', 'How many full-text matches one search ranks at most: the matches with the best static score (recency, popularity)')
on conflict (key) do update set value = excluded.value, description = excluded.description;

drop function if exists app_public.search(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean);
drop function if exists app_hidden.search_matches(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean);
drop function if exists app_hidden.search_candidates(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean);
drop function if exists app_hidden.search_snippet(text, uuid, text);
drop function if exists app_private.search_refresh(text, uuid);
drop function if exists app_private.search_rebuild();
drop function if exists app_private.tg__search_refresh() cascade;
drop function if exists app_private.tg_content__search_cascade() cascade;
drop view if exists app_private.search_sources;
drop table if exists app_private.search_entries;
drop function if exists app_private.search_score(timestamptz, bigint);

-- The per-table full-text indexes served only search; search_entries has its own.
drop index if exists app_public.posts_search_idx;
drop index if exists app_public.questions_search_idx;
drop index if exists app_public.answers_search_idx;
drop index if exists app_public.comments_search_idx;
drop index if exists app_public.users_search_idx;

create function app_private.search_score(published_at timestamptz, popularity bigint) returns real
  language sql immutable parallel safe
as $$
  -- Months since 1970, plus one per doubling of popularity: a document twice
  -- as popular counts as one month newer.
  select (coalesce(extract(epoch from published_at), 0) / 2592000
          + floor(log(2, 1 + greatest(coalesce(popularity, 0), 0))))::real
$$;
comment on function app_private.search_score(timestamptz, bigint) is
  'The static score of a search entry: months since 1970 of its publication, plus one per doubling of its popularity (reactions, replies, followers). Search ranks the matches with the best static score.';

create table app_private.search_entries (
  kind text not null,
  id uuid not null,
  doc tsvector not null,
  title text,
  title_is_own boolean not null,
  body text,
  author_id uuid,
  category_id uuid,
  tags text[],
  language text,
  published_at timestamptz,
  score real not null,
  room_id uuid,
  job_status app_public.job_status,
  constraint search_entries_pkey primary key (kind, id)
);
comment on table app_private.search_entries is
  'One row per searchable document, whatever its kind, kept by triggers on the source tables (app_private.search_refresh) from app_private.search_sources. Only documents someone may see are here; room_id and job_status carry the rules that depend on who searches.';
comment on column app_private.search_entries.kind is 'post, question, answer, comment, user, message or job.';
comment on column app_private.search_entries.doc is 'The weighted full-text vector (title A, body B, comment or message C).';
comment on column app_private.search_entries.title is 'The title shown with a hit (an answer shows its question''s).';
comment on column app_private.search_entries.title_is_own is 'Whether title is the document''s own, so typo-tolerant search matches it (not for answers, which borrow their question''s).';
comment on column app_private.search_entries.body is 'The first 5000 characters of the text, for snippets.';
comment on column app_private.search_entries.score is 'Static score (app_private.search_score): which matches a common word ranks first.';
comment on column app_private.search_entries.room_id is 'For messages of private and direct rooms: the room, readable only to those app_hidden.room_readable allows. Null: no room rule.';
comment on column app_private.search_entries.job_status is 'For job postings: the status, shown by app_hidden.job_posting_visible.';
create index search_entries_doc_idx on app_private.search_entries using gin (doc);
create index search_entries_score_idx on app_private.search_entries (score desc);
create index search_entries_kind_score_idx on app_private.search_entries (kind, score desc);
create index search_entries_title_trgm_idx on app_private.search_entries using gin (title public.gin_trgm_ops) where title_is_own;

-- What each kind contributes: one branch per kind, its visibility rules in
-- its WHERE clause. Column order is the table's.
create view app_private.search_sources as
  select 'post'::text as kind, p.id, p.search as doc, p.title, true as title_is_own, left(p.body, 5000) as body,
         p.author_id, p.category_id, p.tags, p.language, p.published_at,
         app_private.search_score(p.published_at, p.like_count + p.comment_count) as score,
         null::uuid as room_id, null::app_public.job_status as job_status
    from app_public.posts p
   where p.status = 'published'
  union all
  select 'question', q.id, q.search, q.title, true, left(q.body, 5000),
         q.author_id, q.category_id, q.tags, q.language, q.published_at,
         app_private.search_score(q.published_at, q.like_count + q.answer_count), null, null
    from app_public.questions q
   where q.status = 'published'
  union all
  select 'answer', a.id, a.search, q.title, false, left(a.body, 5000),
         a.author_id, q.category_id, q.tags, q.language, a.created_at,
         app_private.search_score(a.created_at, a.like_count), null, null
    from app_public.answers a join app_public.questions q on q.id = a.question_id
   where a.status = 'published' and q.status = 'published'
  union all
  select 'comment', c.id, c.search, null, false, left(c.body, 5000),
         c.author_id, null, null, null, c.created_at,
         app_private.search_score(c.created_at, c.like_count + c.reply_count), null, null
    from app_public.comments c
         left join app_public.posts cp on cp.id = c.post_id
         left join app_public.questions cq on cq.id = c.question_id
         left join app_public.answers ca on ca.id = c.answer_id
         left join app_public.questions caq on caq.id = ca.question_id
   where c.status = 'published'
     and c.document_id is null -- comments on documents join search with documents
     and (c.post_id is null or cp.status = 'published')
     and (c.question_id is null or cq.status = 'published')
     and (c.answer_id is null or (ca.status = 'published' and caq.status = 'published'))
  union all
  select 'user', u.id, u.search, u.display_name, true, concat_ws(' — ', u.job_title, u.affiliation, u.bio),
         u.id, null, null, null, u.created_at,
         app_private.search_score(u.created_at, u.follower_count), null, null
    from app_public.users u
   where u.is_active
  union all
  select 'message', m.id, setweight(to_tsvector('english', m.body), 'C'), null, false, left(m.body, 5000),
         m.author_id, null, null, null, m.created_at,
         app_private.search_score(m.created_at, m.reply_count),
         case when r.kind = 'public' then null else r.id end, null
    from app_public.messages m join app_public.rooms r on r.id = m.room_id
   where m.kind = 'text' and m.deleted_at is null
  union all
  select 'job', j.id,
         setweight(to_tsvector('english', j.title), 'A')
           || setweight(to_tsvector('english', coalesce(j.organization_name, '')), 'B')
           || setweight(to_tsvector('english', concat_ws(' ', j.description, j.requirements, j.responsibilities, j.location)), 'B'),
         j.title, true, left(j.description, 5000),
         j.employer_id, j.category_id, j.tags, null, coalesce(j.published_at, j.created_at),
         app_private.search_score(coalesce(j.published_at, j.created_at), j.application_count), null, j.status
    from app_public.job_postings j;
comment on view app_private.search_sources is
  'What search indexes, per kind (one UNION ALL branch each, with the rules that make a document searchable at all): the rows app_private.search_refresh copies into app_private.search_entries.';

create function app_private.search_refresh(kind text, id uuid) returns void
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v app_private.search_entries;
begin
  select s.* into v from app_private.search_sources s where s.kind = search_refresh.kind and s.id = search_refresh.id;
  if v.id is null then
    delete from app_private.search_entries e where e.kind = search_refresh.kind and e.id = search_refresh.id;
    return;
  end if;
  insert into app_private.search_entries values (v.*)
  on conflict on constraint search_entries_pkey do update
     set doc = excluded.doc, title = excluded.title, title_is_own = excluded.title_is_own, body = excluded.body,
         author_id = excluded.author_id, category_id = excluded.category_id, tags = excluded.tags,
         language = excluded.language, published_at = excluded.published_at, score = excluded.score,
         room_id = excluded.room_id, job_status = excluded.job_status
   -- An unchanged entry is not rewritten (no dead row, no index churn).
   where (search_entries.*) is distinct from (excluded.*);
end;
$$;
comment on function app_private.search_refresh(text, uuid) is
  'Brings one search entry up to date with its source: copies it from app_private.search_sources, or deletes it when the source is gone or no longer searchable.';

create function app_private.search_rebuild() returns bigint
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_count bigint;
begin
  truncate app_private.search_entries;
  insert into app_private.search_entries select * from app_private.search_sources;
  get diagnostics v_count = row_count;
  analyze app_private.search_entries;
  return v_count;
end;
$$;
comment on function app_private.search_rebuild() is
  'Refills app_private.search_entries from the sources in one statement and analyzes it; returns the number of entries. For bulk loads that switch triggers off (npm run seed) and after adding a kind.';

-- The trigger functions are security definer: the entries live in
-- app_private, and the sources must be read whole, not through the writer's
-- row-level security.
create function app_private.tg__search_refresh() returns trigger
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
begin
  -- tg_argv[0]: the kind this table feeds.
  if tg_op = 'DELETE' then
    perform app_private.search_refresh(tg_argv[0], old.id);
  else
    perform app_private.search_refresh(tg_argv[0], new.id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg__search_refresh() is
  'After a write on a searchable table: refreshes the row''s search entry (the kind is the trigger argument). Security definer: writes app_private.search_entries and reads the sources past the writer''s row-level security.';

create function app_private.tg_content__search_cascade() returns trigger
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Entries that borrow from this row (visibility, title, category, tags, language).
  if tg_table_name = 'posts' then
    perform app_private.search_refresh('comment', c.id) from app_public.comments c where c.post_id = new.id;
  elsif tg_table_name = 'questions' then
    perform app_private.search_refresh('answer', a.id) from app_public.answers a where a.question_id = new.id;
    perform app_private.search_refresh('comment', c.id) from app_public.comments c where c.question_id = new.id;
    perform app_private.search_refresh('comment', c.id)
       from app_public.answers a join app_public.comments c on c.answer_id = a.id
      where a.question_id = new.id;
  elsif tg_table_name = 'answers' then
    perform app_private.search_refresh('comment', c.id) from app_public.comments c where c.answer_id = new.id;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_content__search_cascade() is
  'After a post, question or answer changes status (or a question its title, category, tags or language): refreshes the search entries of its answers and comments. Security definer, as app_private.tg__search_refresh.';

create trigger _700_search after insert or delete or update of title, body, status, category_id, tags, language, published_at
  on app_public.posts for each row execute function app_private.tg__search_refresh('post');
create trigger _701_search_cascade after update of status on app_public.posts
  for each row when (old.status is distinct from new.status)
  execute function app_private.tg_content__search_cascade();
create trigger _700_search after insert or delete or update of title, body, status, category_id, tags, language, published_at
  on app_public.questions for each row execute function app_private.tg__search_refresh('question');
create trigger _701_search_cascade after update of status, title, category_id, tags, language on app_public.questions
  for each row when (old.status is distinct from new.status or old.title is distinct from new.title
                     or old.category_id is distinct from new.category_id or old.tags is distinct from new.tags
                     or old.language is distinct from new.language)
  execute function app_private.tg_content__search_cascade();
create trigger _700_search after insert or delete or update of body, status
  on app_public.answers for each row execute function app_private.tg__search_refresh('answer');
create trigger _701_search_cascade after update of status on app_public.answers
  for each row when (old.status is distinct from new.status)
  execute function app_private.tg_content__search_cascade();
create trigger _700_search after insert or delete or update of body, status
  on app_public.comments for each row execute function app_private.tg__search_refresh('comment');
create trigger _700_search after insert or delete or update of username, display_name, bio, job_title, affiliation, is_active
  on app_public.users for each row execute function app_private.tg__search_refresh('user');
create trigger _700_search after insert or delete or update of body, kind, deleted_at
  on app_public.messages for each row execute function app_private.tg__search_refresh('message');
create trigger _700_search after insert or delete or update of title, organization_name, description, requirements,
    responsibilities, location, status, category_id, tags, published_at
  on app_public.job_postings for each row execute function app_private.tg__search_refresh('job');

insert into app_private.search_entries select * from app_private.search_sources;
analyze app_private.search_entries;

/*
 * The candidates of one search: visible matches, the best search.candidates
 * of them by static score, each with its text rank. Security definer because
 * the entries live in app_private (and a GIN index cannot serve a query under
 * row-level security); it applies the visibility rules itself: everything in
 * search_entries is public except messages of private and direct rooms
 * (app_hidden.room_readable), messages of members the searcher blocked (the
 * rule of the messages select policy) and job drafts
 * (app_hidden.job_posting_visible). plan_cache_mode: each call is planned for
 * its own words, so a rare word uses the GIN index and a common one walks the
 * score index and stops early.
 */
create function app_hidden.search_candidates(
  query text, kinds text[], category_ids uuid[], tags text[], want_author_id uuid,
  published_after timestamptz, published_before timestamptz, language text, match_all boolean
) returns table (kind text, id uuid, title text, rank real, author_id uuid, category_id uuid, published_at timestamptz)
  language plpgsql stable security definer
  set search_path = pg_catalog, public
  set plan_cache_mode = force_custom_plan
as $$
declare
  v_max_length int := (app_private.setting('search.max_query_length') #>> '{}')::int;
  v_limit int := (app_private.setting('search.candidates') #>> '{}')::int;
  v_fuzzy int := (app_private.setting('search.fuzzy_threshold') #>> '{}')::int;
  v_query tsquery;
  v_me uuid := app_public.current_user_id();
  v_blocked uuid[];
  v_found int;
begin
  if char_length(search_candidates.query) > v_max_length then
    raise exception 'The search text is too long (% characters; at most %)', char_length(search_candidates.query), v_max_length
      using errcode = 'TLONG',
            detail = json_build_object('maxLength', v_max_length, 'length', char_length(search_candidates.query))::text;
  end if;
  v_query := websearch_to_tsquery('english', search_candidates.query);
  v_blocked := array(select b.blocked_id from app_public.user_blocks b where b.blocker_id = v_me);

  return query
    select e.kind, e.id, e.title,
           (ts_rank_cd(e.doc, v_query, 32)
             * case when lower(e.title) = lower(trim(search_candidates.query)) then 10 else 1 end)::real,
           e.author_id, e.category_id, e.published_at
      from (select e.* from app_private.search_entries e
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
             limit v_limit) e;
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
$$;
comment on function app_hidden.search_candidates(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) is
  'The documents one search ranks: visible full-text matches passing the filters, at most search.candidates of them (the best by static score), with their text rank; similar titles when full text found fewer than search.fuzzy_threshold. Refuses a text longer than search.max_query_length (TLONG).';
grant execute on function app_hidden.search_candidates(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) to anonymous, authenticated;

create function app_hidden.search_snippet(kind text, id uuid, query text) returns text
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  -- HTML-escaped text with <mark> around the matches: safe to show as HTML.
  -- Only called for the page returned (after search's ORDER BY and LIMIT).
  select ts_headline('english', replace(replace(replace(e.body, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                     websearch_to_tsquery('english', search_snippet.query),
                     'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2')
    from app_private.search_entries e
   where e.kind = search_snippet.kind and e.id = search_snippet.id
$$;
comment on function app_hidden.search_snippet(text, uuid, text) is
  'The highlighted snippet of one search hit (up to two fragments, HTML-escaped, matches in <mark>). Security definer: reads app_private.search_entries; gives only text of an entry search already returned to the caller.';
grant execute on function app_hidden.search_snippet(text, uuid, text) to anonymous, authenticated;

create function app_public.search(
  query text, kinds text[] default null, category_ids uuid[] default null, tags text[] default null,
  author_id uuid default null, published_after timestamptz default null, published_before timestamptz default null,
  language text default null, match_all boolean default true
) returns setof app_public.search_result
  language sql stable
as $$
  select c.kind, c.id, c.title,
         app_hidden.search_snippet(c.kind, c.id, search.query),
         c.rank, c.author_id, c.category_id, c.published_at
    from app_hidden.search_candidates(search.query, search.kinds, search.category_ids, search.tags, search.author_id,
                                      search.published_after, search.published_before, search.language, search.match_all) c
   order by c.rank desc, c.published_at desc nulls last, c.id
$$;
comment on function app_public.search(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) is
  'Ranked full-text search over posts, questions, answers, comments, members, chat messages (of rooms you may read) and job postings, with highlighted snippets, typo tolerance and filters (combined with AND, or OR when matchAll is false). A very common word ranks the most recent and popular matches; the text is at most search.max_query_length characters (TLONG).';
grant execute on function app_public.search(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) to anonymous, authenticated;

comment on type app_public.search_result is 'A search hit: kind (post, question, answer, comment, user, message, job), its id, a title, a snippet (HTML-escaped, matches in <mark>) and its rank.';
comment on column app_public.search_result.kind is 'What was found: post, question, answer, comment, user, message (chat) or job (posting).';
comment on column app_public.search_result.id is 'The id of the post, question, answer, comment, user, chat message or job posting found.';
comment on column app_public.search_result.title is 'The title of a post, question or job posting, the question''s title for an answer, a user''s display name; null for comments and chat messages.';
comment on column app_public.search_result.author_id is 'The author of the content found (the employer for a job posting); for a user, the user''s own id.';
comment on column app_public.search_result.category_id is 'The category of the post, question or job posting found, when it has one.';
comment on column app_public.search_result.published_at is 'When the post, question or job posting was published, the answer, comment or message written, the user joined.';

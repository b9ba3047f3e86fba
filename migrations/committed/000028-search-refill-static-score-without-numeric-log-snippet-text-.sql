--! Previous: sha1:0fea1003b6c68911070c998428653c062711b5bf
--! Hash: sha1:a73cfc06b135fd600a3b1b7a9f84ff65416a6062
--! Message: search refill: static score without numeric log, snippet text without counting characters

-- Search's static score without numeric arithmetic for its popularity part:
-- floor(log(2, x)) on numeric cost ≈ 20 µs per call (numeric logarithms are
-- computed to many digits), and the seed's search refill computes it for
-- every entry (8.6M on large). The position of the highest set bit gives the
-- same whole number (checked for every x from 1 to 5,000,001) in ≈ 1 µs.
-- The scores do not change, so the stored ones stay valid.
create or replace function app_private.search_score(published_at timestamptz, popularity bigint) returns real
language sql immutable parallel safe
as $$
  -- Months since 1970, plus one per doubling of popularity: a document twice
  -- as popular counts as one month newer. floor(log2(x)) for x ≥ 1 is 63 minus
  -- the position of x's highest set bit in its 63 low bits.
  select (coalesce(extract(epoch from published_at), 0) / 2592000
          + (63 - position(B'1' in (1 + greatest(coalesce(popularity, 0), 0))::bit(63))))::real
$$;

-- The text kept for snippets, capped at 5000 characters, without counting
-- the characters of a shorter text: left() walks a multi-byte text character
-- by character (≈ 7 µs for a post's body), for every entry of a refill.
create or replace function app_private.search_body(body text) returns text
language sql immutable parallel safe
as $$
  -- A text of at most 5000 bytes has at most 5000 characters: returned as it is.
  select case when octet_length(body) <= 5000 then body else left(body, 5000) end
$$;
comment on function app_private.search_body(body text) is 'The text a search entry keeps for its snippet: the first 5000 characters of the document''s text (app_private.search_sources).';

create or replace view app_private.search_sources as
 SELECT 'post'::text AS kind,
    p.id,
    p.search AS doc,
    p.title,
    true AS title_is_own,
    app_private.search_body(p.body) AS body,
    p.author_id,
    p.category_id,
    p.tags,
    p.language,
    p.published_at,
    app_private.search_score(p.published_at, (p.like_count + p.comment_count)::bigint) AS score,
    NULL::uuid AS room_id,
    NULL::app_public.job_status AS job_status
   FROM app_public.posts p
  WHERE p.status = 'published'::app_public.content_status
UNION ALL
 SELECT 'question'::text AS kind,
    q.id,
    q.search AS doc,
    q.title,
    true AS title_is_own,
    app_private.search_body(q.body) AS body,
    q.author_id,
    q.category_id,
    q.tags,
    q.language,
    q.published_at,
    app_private.search_score(q.published_at, (q.like_count + q.answer_count)::bigint) AS score,
    NULL::uuid AS room_id,
    NULL::app_public.job_status AS job_status
   FROM app_public.questions q
  WHERE q.status = 'published'::app_public.content_status
UNION ALL
 SELECT 'answer'::text AS kind,
    a.id,
    a.search AS doc,
    q.title,
    false AS title_is_own,
    app_private.search_body(a.body) AS body,
    a.author_id,
    q.category_id,
    q.tags,
    q.language,
    a.created_at AS published_at,
    app_private.search_score(a.created_at, a.like_count::bigint) AS score,
    NULL::uuid AS room_id,
    NULL::app_public.job_status AS job_status
   FROM app_public.answers a
     JOIN app_public.questions q ON q.id = a.question_id
  WHERE a.status = 'published'::app_public.content_status AND q.status = 'published'::app_public.content_status
UNION ALL
 SELECT 'comment'::text AS kind,
    c.id,
    c.search AS doc,
    NULL::text AS title,
    false AS title_is_own,
    app_private.search_body(c.body) AS body,
    c.author_id,
    NULL::uuid AS category_id,
    NULL::text[] AS tags,
    NULL::text AS language,
    c.created_at AS published_at,
    app_private.search_score(c.created_at, (c.like_count + c.reply_count)::bigint) AS score,
    NULL::uuid AS room_id,
    NULL::app_public.job_status AS job_status
   FROM app_public.comments c
     LEFT JOIN app_public.posts cp ON cp.id = c.post_id
     LEFT JOIN app_public.questions cq ON cq.id = c.question_id
     LEFT JOIN app_public.answers ca ON ca.id = c.answer_id
     LEFT JOIN app_public.questions caq ON caq.id = ca.question_id
  WHERE c.status = 'published'::app_public.content_status AND c.document_id IS NULL AND (c.post_id IS NULL OR cp.status = 'published'::app_public.content_status) AND (c.question_id IS NULL OR cq.status = 'published'::app_public.content_status) AND (c.answer_id IS NULL OR ca.status = 'published'::app_public.content_status AND caq.status = 'published'::app_public.content_status)
UNION ALL
 SELECT 'user'::text AS kind,
    u.id,
    u.search AS doc,
    u.display_name AS title,
    true AS title_is_own,
    concat_ws(' — '::text, u.job_title, u.affiliation, u.bio) AS body,
    u.id AS author_id,
    NULL::uuid AS category_id,
    NULL::text[] AS tags,
    NULL::text AS language,
    u.created_at AS published_at,
    app_private.search_score(u.created_at, u.follower_count::bigint) AS score,
    NULL::uuid AS room_id,
    NULL::app_public.job_status AS job_status
   FROM app_public.users u
  WHERE u.is_active
UNION ALL
 SELECT 'message'::text AS kind,
    m.id,
    setweight(to_tsvector('english'::regconfig, m.body), 'C'::"char") AS doc,
    NULL::text AS title,
    false AS title_is_own,
    app_private.search_body(m.body) AS body,
    m.author_id,
    NULL::uuid AS category_id,
    NULL::text[] AS tags,
    NULL::text AS language,
    m.created_at AS published_at,
    app_private.search_score(m.created_at, m.reply_count::bigint) AS score,
        CASE
            WHEN r.kind = 'public'::app_public.room_kind THEN NULL::uuid
            ELSE r.id
        END AS room_id,
    NULL::app_public.job_status AS job_status
   FROM app_public.messages m
     JOIN app_public.rooms r ON r.id = m.room_id
  WHERE m.kind = 'text'::app_public.message_kind AND m.deleted_at IS NULL AND m.hidden_at IS NULL
UNION ALL
 SELECT 'job'::text AS kind,
    j.id,
    (setweight(to_tsvector('english'::regconfig, j.title), 'A'::"char") || setweight(to_tsvector('english'::regconfig, COALESCE(j.organization_name, ''::text)), 'B'::"char")) || setweight(to_tsvector('english'::regconfig, concat_ws(' '::text, j.description, j.requirements, j.responsibilities, j.location)), 'B'::"char") AS doc,
    j.title,
    true AS title_is_own,
    app_private.search_body(j.description) AS body,
    j.employer_id AS author_id,
    j.category_id,
    j.tags,
    NULL::text AS language,
    COALESCE(j.published_at, j.created_at) AS published_at,
    app_private.search_score(COALESCE(j.published_at, j.created_at), j.application_count::bigint) AS score,
    NULL::uuid AS room_id,
    j.status AS job_status
   FROM app_public.job_postings j
  WHERE j.hidden_at IS NULL
UNION ALL
 SELECT 'document'::text AS kind,
    d.id,
    setweight(to_tsvector('english'::regconfig, (d.title || ' '::text) || array_to_string(d.tags, ' '::text)), 'A'::"char") || setweight(to_tsvector('english'::regconfig, d.description), 'B'::"char") AS doc,
    d.title,
    true AS title_is_own,
    app_private.search_body(d.description) AS body,
    d.owner_id AS author_id,
    NULL::uuid AS category_id,
    d.tags,
    NULL::text AS language,
    d.created_at AS published_at,
    app_private.search_score(d.created_at, (d.like_count + d.comment_count + d.download_count)::bigint) AS score,
    NULL::uuid AS room_id,
    NULL::app_public.job_status AS job_status
   FROM app_public.documents d
  WHERE d.is_public AND d.hidden_at IS NULL;

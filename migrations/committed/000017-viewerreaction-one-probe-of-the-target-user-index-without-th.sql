--! Previous: sha1:2ec26af3f97edd45328679e5848178414b58c8c2
--! Hash: sha1:9791c44e8b048c3cf7e409881b3d3827dee5be62
--! Message: viewerReaction: one probe of the (target, user) index without the reactions' per-row visibility policy (security definer, own reaction only); feed SQL 3.0 -> 1.75 ms

--! split: 1000-viewer-reaction-lookups.sql
-- "My reaction" (viewerReaction) on posts, questions, answers and comments:
-- one probe of the (target, user) unique index, without the reactions' row
-- level security. The policy re-checked per call that the target is visible
-- (a subplan per kind), on a row the caller was already allowed to read; on
-- a feed page of 21 posts that was 40% of the statement's time (3.0 ms ->
-- 1.75 ms on `large`). Security definer: reads only the caller's own
-- reaction (user_id = current_user_id(); none when signed out), so nothing
-- another member did can be learnt through it.

create or replace function app_public.posts_viewer_reaction(p app_public.posts) returns app_public.reaction_kind
  language sql stable security definer set search_path = pg_catalog as $$
  select r.kind from app_public.reactions r where r.post_id = p.id and r.user_id = app_public.current_user_id()
$$;
comment on function app_public.posts_viewer_reaction(app_public.posts) is 'My reaction to this post (null: none, or signed out). Security definer: reads only my own reaction, through the (post, user) unique index, without re-checking the post''s visibility per row.';

create or replace function app_public.questions_viewer_reaction(q app_public.questions) returns app_public.reaction_kind
  language sql stable security definer set search_path = pg_catalog as $$
  select r.kind from app_public.reactions r where r.question_id = q.id and r.user_id = app_public.current_user_id()
$$;
comment on function app_public.questions_viewer_reaction(app_public.questions) is 'My reaction to this question (null: none, or signed out). Security definer: reads only my own reaction, through the (question, user) unique index, without re-checking the question''s visibility per row.';

create or replace function app_public.answers_viewer_reaction(a app_public.answers) returns app_public.reaction_kind
  language sql stable security definer set search_path = pg_catalog as $$
  select r.kind from app_public.reactions r where r.answer_id = a.id and r.user_id = app_public.current_user_id()
$$;
comment on function app_public.answers_viewer_reaction(app_public.answers) is 'My reaction to this answer (null: none, or signed out). Security definer: reads only my own reaction, through the (answer, user) unique index, without re-checking the answer''s visibility per row.';

create or replace function app_public.comments_viewer_reaction(c app_public.comments) returns app_public.reaction_kind
  language sql stable security definer set search_path = pg_catalog as $$
  select r.kind from app_public.reactions r where r.comment_id = c.id and r.user_id = app_public.current_user_id()
$$;
comment on function app_public.comments_viewer_reaction(app_public.comments) is 'My reaction to this comment (null: none, or signed out). Security definer: reads only my own reaction, through the (comment, user) unique index, without re-checking the comment''s visibility per row.';

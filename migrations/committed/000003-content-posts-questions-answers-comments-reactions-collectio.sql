--! Previous: sha1:9189bf1ef8e653b5e2e2280c260a7244667c2be3
--! Hash: sha1:f4d5760b0ef7f222cba44ed1245305009b0bba04
--! Message: Content: posts, questions, answers, comments, reactions, collections, contributions, search

-- Community content: categories, tags, posts, questions, answers, threaded
-- comments, reactions, bookmarks, collections, follows, edit history,
-- contributions, posting limits, banned words, and search.

--------------------------------------------------------------------------------
-- Idempotence for `npm run db:watch`.
drop table if exists app_public.contributions cascade;
drop table if exists app_public.content_revisions cascade;
drop table if exists app_public.collection_items cascade;
drop table if exists app_public.collections cascade;
drop table if exists app_public.bookmarks cascade;
drop table if exists app_public.reactions cascade;
drop table if exists app_public.comments cascade;
drop table if exists app_public.answers cascade;
drop table if exists app_public.questions cascade;
drop table if exists app_public.posts cascade;
drop table if exists app_public.category_follows cascade;
drop table if exists app_public.follows cascade;
drop table if exists app_public.tags cascade;
drop table if exists app_public.categories cascade;
drop table if exists app_private.banned_words cascade;
drop type if exists app_public.content_status cascade;
drop type if exists app_public.reaction_kind cascade;
drop type if exists app_public.contribution_status cascade;
drop type if exists app_public.search_result cascade;
drop view if exists app_hidden.search_documents cascade;
drop type if exists app_public.search_suggestion cascade;
drop function if exists app_private.slugify(text) cascade;
drop function if exists app_hidden.setting(text) cascade;
drop function if exists app_private.tg_contributions__rules() cascade;
drop function if exists app_private.assert_no_banned_words(text[]) cascade;
drop function if exists app_private.normalize_tags(text[]) cascade;
drop function if exists app_private.tg_content__before_write() cascade;
drop function if exists app_private.tg_content__posting_limit() cascade;
drop function if exists app_private.tg_content__revision() cascade;
drop function if exists app_private.tg_content__tags() cascade;
drop function if exists app_private.tg_comments__thread() cascade;
drop function if exists app_private.tg_counter() cascade;
drop function if exists app_private.tg_reactions__count() cascade;
drop function if exists app_private.tg_follows__count() cascade;
drop function if exists app_private.bump(text, uuid, text, int) cascade;
drop function if exists app_public.react(app_public.reaction_kind, uuid, uuid, uuid, uuid) cascade;
drop function if exists app_public.accept_answer(uuid) cascade;
drop function if exists app_public.review_contribution(uuid, boolean, text) cascade;
drop function if exists app_public.record_post_view(uuid) cascade;
drop function if exists app_public.current_user_feed() cascade;
drop function if exists app_public.current_user_followee_ids() cascade;
drop function if exists app_public.current_user_followed_category_ids() cascade;
drop function if exists app_public.search(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) cascade;
drop function if exists app_public.search_suggestions(text, int) cascade;
drop function if exists app_public.users_follower_count(app_public.users) cascade;
alter table app_public.users drop column if exists follower_count;
alter table app_public.users drop column if exists following_count;
alter table app_public.users drop column if exists search;
drop index if exists app_public.users_username_prefix_idx;
drop index if exists app_public.users_display_name_trgm_idx;
delete from app_private.settings where key in ('posting.posts_per_hour', 'posting.comments_per_hour', 'comment.edit_window',
  'comment.max_depth', 'rate_limit.post:create', 'rate_limit.comment:create', 'search.fuzzy_threshold');
delete from app_public.role_permissions where permission_id = 'category:manage';
delete from app_public.permissions where id = 'category:manage';

--------------------------------------------------------------------------------
-- Settings and permissions of this part.
insert into app_private.settings (key, value, description) values
  ('rate_limit.post:create', '{"max": 10, "window": "1 hour"}', 'Posts and questions a user may publish per hour'),
  ('rate_limit.comment:create', '{"max": 20, "window": "1 hour"}', 'Comments and answers a user may write per hour'),
  ('comment.edit_window', '"1 hour"', 'How long the author may edit a comment'),
  ('comment.max_depth', '5', 'Deepest level of a comment thread (1 = top level)'),
  ('search.fuzzy_threshold', '5', 'Below this many full-text hits, search adds typo-tolerant (trigram) matches');

insert into app_public.permissions (id, description) values ('category:manage', 'Create and edit categories');
insert into app_public.role_permissions (role_id, permission_id) values ('admin', 'category:manage');

--------------------------------------------------------------------------------
-- Shared helpers.
create type app_public.content_status as enum ('draft', 'published', 'archived', 'hidden', 'deleted');
comment on type app_public.content_status is
  'draft: only the author sees it; published: everyone; archived: read-only, still visible; hidden (by moderators) and deleted: only the author and moderators.';

create function app_private.slugify(value text) returns text
  language sql immutable
  set search_path = pg_catalog, public
as $$
  select coalesce(nullif(trim(both '-' from left(regexp_replace(lower(value), '[^a-z0-9]+', '-', 'g'), 80)), ''), 'untitled')
$$;

create table app_private.banned_words (
  word citext primary key constraint banned_word_format check (word ~ '^\S{2,50}$'),
  created_at timestamptz not null default now()
);
comment on table app_private.banned_words is 'Words that content may not contain (whole words, any case). Managed by the DBA or admins.';

/* Raises BANND naming the first banned word found (whole words, any case). */
create function app_private.assert_no_banned_words(texts text[]) returns void
  language plpgsql stable
  set search_path = pg_catalog, public
as $$
declare
  v_word text;
begin
  select b.word into v_word
    from app_private.banned_words b, unnest(texts) t(body)
   where lower(t.body) ~ ('(^|[^[:alnum:]_])' || regexp_replace(lower(b.word::text), '([^[:alnum:]_])', '\\\1', 'g') || '($|[^[:alnum:]_])')
   limit 1;
  if v_word is not null then
    raise exception 'Your text contains a word that is not allowed here: "%"', v_word
      using errcode = 'BANND', detail = json_build_object('word', v_word)::text;
  end if;
end;
$$;

/* Lower-cased, trimmed, de-duplicated; at most 5 tags of 1–50 characters [a-z0-9+#.-]. */
create function app_private.normalize_tags(tags text[]) returns text[]
  language plpgsql immutable
  set search_path = pg_catalog, public
as $$
declare
  v_tags text[] := array(select distinct lower(trim(t)) from unnest(coalesce(tags, '{}')) t where trim(t) <> '' order by 1);
begin
  if cardinality(v_tags) > 5 then
    raise exception 'At most 5 tags' using errcode = 'INVAL';
  end if;
  if exists (select 1 from unnest(v_tags) t where t !~ '^[a-z0-9][a-z0-9+#.-]{0,49}$') then
    raise exception 'Tags are 1–50 characters of letters, digits, +, #, . and -' using errcode = 'INVAL';
  end if;
  return v_tags;
end;
$$;

/* Settings for code running as the API roles (invoker functions); settings hold no secrets. */
create function app_hidden.setting(key text) returns jsonb
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select app_private.setting(key)
$$;

--------------------------------------------------------------------------------
-- Categories and tags.
create table app_public.categories (
  id uuid primary key default gen_random_uuid(),
  slug citext not null unique constraint category_slug_format check (slug ~ '^[a-z0-9-]{2,60}$'),
  name text not null constraint category_name_length check (char_length(name) between 2 and 80),
  description text constraint category_description_length check (char_length(description) <= 1000),
  icon text constraint category_icon_length check (char_length(icon) <= 100),
  color text constraint category_color_format check (color ~ '^#[0-9a-fA-F]{6}$'),
  is_active boolean not null default true,
  position int not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table app_public.categories is 'A topic area that posts and questions belong to.';
create index categories_position_idx on app_public.categories (position);
create trigger _100_timestamps before insert or update on app_public.categories
  for each row execute function app_private.tg__timestamps();
alter table app_public.categories enable row level security;
create policy select_active on app_public.categories for select
  using (is_active or (select app_public.current_user_has_permission('category:manage')));
create policy manage on app_public.categories for all
  using ((select app_public.current_user_has_permission('category:manage')))
  with check ((select app_public.current_user_has_permission('category:manage')));
grant select on app_public.categories to anonymous, authenticated;
grant insert (slug, name, description, icon, color, is_active, position),
  update (slug, name, description, icon, color, is_active, position) on app_public.categories to authenticated;

create table app_public.tags (
  name text primary key,
  post_count int not null default 0,
  question_count int not null default 0
);
comment on table app_public.tags is E'@behavior -insert -update -delete\nEvery tag in use, with how many published posts and questions carry it. Maintained by the database.';
create index tags_name_prefix_idx on app_public.tags (name text_pattern_ops);
create index tags_post_count_idx on app_public.tags (post_count);
alter table app_public.tags enable row level security;
create policy select_all on app_public.tags for select using (true);
grant select on app_public.tags to anonymous, authenticated;

--------------------------------------------------------------------------------
-- Follows.
alter table app_public.users add column follower_count int not null default 0;
alter table app_public.users add column following_count int not null default 0;
comment on column app_public.users.follower_count is 'How many members follow this one. Maintained by the database.';

create table app_public.follows (
  follower_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  followee_id uuid not null references app_public.users on delete cascade,
  created_at timestamptz not null default now(),
  primary key (follower_id, followee_id),
  constraint no_self_follow check (follower_id <> followee_id)
);
comment on table app_public.follows is E'@behavior -update\nA member following another. Nobody follows themselves.';
create index follows_followee_id_idx on app_public.follows (followee_id);
alter table app_public.follows enable row level security;
create policy select_all on app_public.follows for select using (true);
create policy insert_own on app_public.follows for insert with check (follower_id = (select app_public.current_user_id()));
create policy delete_own on app_public.follows for delete using (follower_id = (select app_public.current_user_id()));
grant select on app_public.follows to anonymous, authenticated;
grant insert (followee_id), delete on app_public.follows to authenticated;

create table app_public.category_follows (
  user_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  category_id uuid not null references app_public.categories on delete cascade,
  created_at timestamptz not null default now(),
  primary key (user_id, category_id)
);
comment on table app_public.category_follows is E'@behavior -update\nA member following a category (for the personal feed).';
create index category_follows_category_id_idx on app_public.category_follows (category_id);
alter table app_public.category_follows enable row level security;
create policy select_own on app_public.category_follows for select using (user_id = (select app_public.current_user_id()));
create policy insert_own on app_public.category_follows for insert with check (user_id = (select app_public.current_user_id()));
create policy delete_own on app_public.category_follows for delete using (user_id = (select app_public.current_user_id()));
grant select, delete on app_public.category_follows to authenticated;
grant insert (category_id) on app_public.category_follows to authenticated;

--------------------------------------------------------------------------------
-- Posts, questions, answers.
create table app_public.posts (
  id uuid primary key default gen_random_uuid(),
  author_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  category_id uuid references app_public.categories on delete set null,
  title text not null constraint post_title_length check (char_length(title) between 3 and 200),
  slug text not null unique,
  body text not null constraint post_body_length check (char_length(body) between 1 and 100000),
  cover_image_url text constraint post_cover_image_url_format check (cover_image_url ~ '^https?://'),
  tags text[] not null default '{}',
  language text not null default 'en' constraint post_language_format check (language ~ '^[a-z]{2}$'),
  status app_public.content_status not null default 'draft',
  published_at timestamptz,
  view_count int not null default 0,
  like_count int not null default 0,
  dislike_count int not null default 0,
  comment_count int not null default 0,
  bookmark_count int not null default 0,
  search tsvector not null generated always as (
    setweight(to_tsvector('english'::regconfig, title), 'A') || setweight(to_tsvector('english'::regconfig, body), 'B')
  ) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table app_public.posts is 'An article: markdown body, category, tags, status.';
comment on column app_public.posts.body is 'Markdown, stored as written. bodyHtml renders it, sanitised.';
comment on column app_public.posts.search is E'@behavior -*\nFull-text document: title (weight A) and body (B).';
comment on column app_public.posts.slug is 'URL name, made from the title on creation.';
create index posts_author_published_idx on app_public.posts (author_id, published_at);
create index posts_category_published_idx on app_public.posts (category_id, published_at);
create index posts_published_at_idx on app_public.posts (published_at);
create index posts_created_at_idx on app_public.posts (created_at);
create index posts_status_idx on app_public.posts (status);
create index posts_like_count_idx on app_public.posts (like_count);
create index posts_comment_count_idx on app_public.posts (comment_count);
create index posts_language_idx on app_public.posts (language);
create index posts_tags_idx on app_public.posts using gin (tags);
create index posts_search_idx on app_public.posts using gin (search);
create index posts_title_trgm_idx on app_public.posts using gin (title gin_trgm_ops);

create table app_public.questions (
  id uuid primary key default gen_random_uuid(),
  author_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  category_id uuid references app_public.categories on delete set null,
  title text not null constraint question_title_length check (char_length(title) between 3 and 200),
  slug text not null unique,
  body text not null constraint question_body_length check (char_length(body) between 1 and 50000),
  target_audience text constraint question_target_audience_length check (char_length(target_audience) <= 200),
  attachment_url text constraint question_attachment_url_format check (attachment_url ~ '^https?://'),
  tags text[] not null default '{}',
  language text not null default 'en' constraint question_language_format check (language ~ '^[a-z]{2}$'),
  status app_public.content_status not null default 'published',
  accepted_answer_id uuid,
  published_at timestamptz,
  view_count int not null default 0,
  like_count int not null default 0,
  dislike_count int not null default 0,
  comment_count int not null default 0,
  answer_count int not null default 0,
  bookmark_count int not null default 0,
  search tsvector not null generated always as (
    setweight(to_tsvector('english'::regconfig, title), 'A') || setweight(to_tsvector('english'::regconfig, body), 'B')
  ) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table app_public.questions is 'A question; its author (or a moderator) accepts one answer.';
comment on column app_public.questions.search is E'@behavior -*\nFull-text document: title (A) and body (B).';
comment on column app_public.questions.accepted_answer_id is 'The accepted answer (set with acceptAnswer).';
create index questions_author_published_idx on app_public.questions (author_id, published_at);
create index questions_category_published_idx on app_public.questions (category_id, published_at);
create index questions_published_at_idx on app_public.questions (published_at);
create index questions_status_idx on app_public.questions (status);
create index questions_like_count_idx on app_public.questions (like_count);
create index questions_answer_count_idx on app_public.questions (answer_count);
create index questions_tags_idx on app_public.questions using gin (tags);
create index questions_search_idx on app_public.questions using gin (search);
create index questions_title_trgm_idx on app_public.questions using gin (title gin_trgm_ops);
create index questions_accepted_answer_id_idx on app_public.questions (accepted_answer_id);

create table app_public.answers (
  id uuid primary key default gen_random_uuid(),
  question_id uuid not null references app_public.questions on delete cascade,
  author_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  body text not null constraint answer_body_length check (char_length(body) between 1 and 50000),
  status app_public.content_status not null default 'published',
  like_count int not null default 0,
  dislike_count int not null default 0,
  comment_count int not null default 0,
  search tsvector not null generated always as (setweight(to_tsvector('english'::regconfig, body), 'B')) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table app_public.answers is 'An answer to a question.';
comment on column app_public.answers.search is E'@behavior -*';
create index answers_question_created_idx on app_public.answers (question_id, created_at);
create index answers_author_id_idx on app_public.answers (author_id);
create index answers_like_count_idx on app_public.answers (like_count);
create index answers_search_idx on app_public.answers using gin (search);
alter table app_public.questions add constraint questions_accepted_answer_id_fkey
  foreign key (accepted_answer_id) references app_public.answers on delete set null;

--------------------------------------------------------------------------------
-- Comments: on exactly one of a post, question, answer or document; threaded.
create table app_public.comments (
  id uuid primary key default gen_random_uuid(),
  post_id uuid references app_public.posts on delete cascade,
  question_id uuid references app_public.questions on delete cascade,
  answer_id uuid references app_public.answers on delete cascade,
  document_id uuid, -- references app_public.documents once documents exist
  parent_id uuid references app_public.comments on delete cascade,
  depth int not null default 1,
  author_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  body text not null constraint comment_body_length check (char_length(body) <= 10000 and (status = 'deleted' or char_length(body) >= 1)),
  status app_public.content_status not null default 'published'
    constraint comment_status check (status in ('published', 'hidden', 'deleted')),
  like_count int not null default 0,
  dislike_count int not null default 0,
  reply_count int not null default 0,
  search tsvector not null generated always as (setweight(to_tsvector('english'::regconfig, body), 'C')) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint comment_has_one_target check (num_nonnulls(post_id, question_id, answer_id, document_id) = 1)
);
comment on table app_public.comments is
  'A comment on a post, question, answer or document; replies nest up to 5 levels. Deleting keeps the thread (the body is emptied).';
comment on column app_public.comments.search is E'@behavior -*';
comment on column app_public.comments.document_id is E'@behavior -*';
create index comments_post_created_idx on app_public.comments (post_id, created_at);
create index comments_question_created_idx on app_public.comments (question_id, created_at);
create index comments_answer_created_idx on app_public.comments (answer_id, created_at);
create index comments_document_created_idx on app_public.comments (document_id, created_at);
create index comments_parent_id_idx on app_public.comments (parent_id);
create index comments_author_id_idx on app_public.comments (author_id);
create index comments_search_idx on app_public.comments using gin (search);

--------------------------------------------------------------------------------
-- Visibility and write rules for the four content tables, written once.
do $$
declare
  t text;
begin
  foreach t in array array['posts', 'questions', 'answers', 'comments'] loop
    execute format('alter table app_public.%I enable row level security', t);
    -- Drafts: author only. Hidden and deleted: author and moderators. (Deleted comments stay visible, emptied, to keep threads.)
    execute format($p$create policy select_visible on app_public.%I for select using (
        (status in ('published', 'archived') %s %s)
        or author_id = (select app_public.current_user_id())
        or (select app_public.current_user_has_permission('post:moderate')))$p$,
      t,
      case when t = 'comments' then $c$or status = 'deleted'$c$ else '' end,
      -- Answers and comments are seen only where what they respond to is seen.
      case t
        when 'answers' then $c$and exists (select 1 from app_public.questions q where q.id = question_id)$c$
        when 'comments' then $c$and (post_id is null or exists (select 1 from app_public.posts p where p.id = post_id))
          and (question_id is null or exists (select 1 from app_public.questions q where q.id = question_id))
          and (answer_id is null or exists (select 1 from app_public.answers a where a.id = answer_id))$c$
        else '' end);
    execute format('create policy insert_own on app_public.%I for insert with check (author_id = (select app_public.current_user_id()))', t);
    execute format($p$create policy update_own_or_moderate on app_public.%I for update using (
        author_id = (select app_public.current_user_id()) or (select app_public.current_user_has_permission('post:moderate')))$p$, t);
    execute format('grant select on app_public.%I to anonymous, authenticated', t);
    execute format('create trigger _100_timestamps before insert or update on app_public.%I for each row execute function app_private.tg__timestamps()', t);
  end loop;
end;
$$;
grant insert (category_id, title, body, cover_image_url, tags, language, status),
  update (category_id, title, body, cover_image_url, tags, language, status) on app_public.posts to authenticated;
grant insert (category_id, title, body, target_audience, attachment_url, tags, language, status),
  update (category_id, title, body, target_audience, attachment_url, tags, language, status) on app_public.questions to authenticated;
grant insert (question_id, body, status), update (body, status) on app_public.answers to authenticated;
grant insert (post_id, question_id, answer_id, parent_id, body), update (body, status) on app_public.comments to authenticated;

/*
 * Before insert/update on posts, questions, answers and comments: status
 * rules, slugs, publication time, tags, banned words.
 */
create function app_private.tg_content__before_write() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_moderator boolean := app_public.current_user_has_permission('post:moderate');
  v_new jsonb := to_jsonb(new);
  v_old jsonb := case when tg_op = 'UPDATE' then to_jsonb(old) end;
  v_target_visible boolean;
begin
  if tg_op = 'UPDATE' and new.author_id is distinct from old.author_id then
    raise exception 'The author of content cannot change' using errcode = 'INVAL';
  end if;
  -- Only moderators hide, or bring back what they hid. (Requests only: a DBA at psql is not a member.)
  if not v_moderator and app_public.current_user_id() is not null then
    if new.status = 'hidden' and (tg_op = 'INSERT' or old.status <> 'hidden') then
      raise exception 'Only moderators can hide content' using errcode = 'FORBD';
    end if;
    if tg_op = 'UPDATE' and old.status = 'hidden' and new.status <> 'hidden' then
      raise exception 'Hidden content can only be restored by a moderator' using errcode = 'FORBD';
    end if;
  end if;
  -- Archived content is read-only, except for moderators and a change of status.
  if tg_op = 'UPDATE' and old.status = 'archived' and not v_moderator and app_public.current_user_id() is not null
     and (v_new -> 'title' is distinct from v_old -> 'title' or v_new -> 'body' is distinct from v_old -> 'body') then
    raise exception 'Archived content is read-only' using errcode = 'FORBD';
  end if;
  -- Answers and comments go on published content you can see.
  if tg_op = 'INSERT' and tg_table_name in ('answers', 'comments') then
    v_target_visible := coalesce(
      (select true from app_public.questions q where q.id = (v_new ->> 'question_id')::uuid and q.status = 'published'),
      (select true from app_public.posts p where p.id = (v_new ->> 'post_id')::uuid and p.status = 'published'),
      (select true from app_public.answers a where a.id = (v_new ->> 'answer_id')::uuid and a.status = 'published'),
      (v_new ->> 'document_id') is not null,
      false);
    if not v_target_visible then
      raise exception 'There is nothing published to respond to there' using errcode = 'NOTFD';
    end if;
  end if;
  if tg_table_name in ('posts', 'questions') then
    if tg_op = 'INSERT' then
      new.slug := app_private.slugify(new.title) || '-' || left(replace(new.id::text, '-', ''), 8);
    end if;
    new.tags := app_private.normalize_tags(new.tags);
    if new.status = 'published' and new.published_at is null then
      new.published_at := now();
    end if;
  end if;
  if tg_op = 'INSERT' or v_new -> 'title' is distinct from v_old -> 'title' or v_new -> 'body' is distinct from v_old -> 'body' then
    perform app_private.assert_no_banned_words(array[v_new ->> 'title', v_new ->> 'body']);
  end if;
  return new;
end;
$$;

/*
 * Posting limits through the SQL rate limiter: posts+questions, and
 * answers+comments, per author per hour. A bulk load outside any request
 * (seeding, imports by the owner) may skip them with
 * `set local agora.bulk_load = 'on'`; requests never can (they carry a user).
 */
create function app_private.tg_content__posting_limit() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if current_setting('agora.bulk_load', true) = 'on' and app_public.current_user_id() is null then
    return new;
  end if;
  perform app_private.rate_limit(
    case when tg_table_name in ('posts', 'questions') then 'post:create' else 'comment:create' end,
    new.author_id::text);
  return new;
end;
$$;

/* Edit history: the version being replaced, whenever a title or body changes. */
create function app_private.tg_content__revision() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_old jsonb := to_jsonb(old);
  v_new jsonb := to_jsonb(new);
begin
  if v_old -> 'body' is distinct from v_new -> 'body' or v_old -> 'title' is distinct from v_new -> 'title' then
    insert into app_public.content_revisions (post_id, question_id, answer_id, comment_id, editor_id, title, body)
    values (
      case when tg_table_name = 'posts' then old.id end,
      case when tg_table_name = 'questions' then old.id end,
      case when tg_table_name = 'answers' then old.id end,
      case when tg_table_name = 'comments' then old.id end,
      app_public.current_user_id(), v_old ->> 'title', v_old ->> 'body');
  end if;
  return new;
end;
$$;

/* Comments: thread depth, one target shared with the parent, the 1-hour edit window, soft delete. */
create function app_private.tg_comments__thread() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_parent app_public.comments;
  v_max int := (app_private.setting('comment.max_depth'))::int;
begin
  if tg_op = 'INSERT' then
    if new.parent_id is not null then
      select * into v_parent from app_public.comments c where c.id = new.parent_id;
      if v_parent.id is null or v_parent.status <> 'published' then
        raise exception 'There is no such comment to reply to' using errcode = 'NOTFD';
      end if;
      if num_nonnulls(new.post_id, new.question_id, new.answer_id, new.document_id) = 0 then
        new.post_id := v_parent.post_id; new.question_id := v_parent.question_id;
        new.answer_id := v_parent.answer_id; new.document_id := v_parent.document_id;
      elsif (new.post_id, new.question_id, new.answer_id, new.document_id) is distinct from
            (v_parent.post_id, v_parent.question_id, v_parent.answer_id, v_parent.document_id) then
        raise exception 'A reply belongs to the same thread as its parent' using errcode = 'INVAL';
      end if;
      new.depth := v_parent.depth + 1;
      if new.depth > v_max then
        raise exception 'Replies nest at most % levels deep', v_max using errcode = 'DEPTH';
      end if;
    else
      new.depth := 1;
    end if;
    return new;
  end if;
  -- UPDATE
  if new.status = 'deleted' and old.status <> 'deleted' then
    new.body := ''; -- the thread stays; the old body is kept in the edit history
  elsif new.body is distinct from old.body then
    if old.status = 'deleted' then
      raise exception 'A deleted comment cannot be edited' using errcode = 'INVAL';
    end if;
    if not app_public.current_user_has_permission('post:moderate')
       and old.created_at + (app_private.setting('comment.edit_window') #>> '{}')::interval < now() then
      raise exception 'Comments can be edited for % after posting', app_private.setting('comment.edit_window') #>> '{}'
        using errcode = 'EDITW';
    end if;
  end if;
  return new;
end;
$$;

do $$
declare
  t text;
begin
  foreach t in array array['posts', 'questions', 'answers', 'comments'] loop
    execute format('create trigger _200_rules before insert or update on app_public.%I for each row execute function app_private.tg_content__before_write()', t);
    execute format('create trigger _300_posting_limit before insert on app_public.%I for each row execute function app_private.tg_content__posting_limit()', t);
    execute format('create trigger _600_revision after update on app_public.%I for each row execute function app_private.tg_content__revision()', t);
  end loop;
end;
$$;
create trigger _150_thread before insert or update on app_public.comments
  for each row execute function app_private.tg_comments__thread();

--------------------------------------------------------------------------------
-- Counters, kept exact under concurrency: each change is one
-- `update … set n = n + delta` on the target row, which serialises writers.

/* Adds delta to a counter column of one row of a content table. */
create function app_private.bump(table_name text, id uuid, counter text, delta int) returns void
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
begin
  if id is not null and delta <> 0 then
    execute format('update app_public.%I set %I = %I + $1 where id = $2', table_name, counter, counter) using delta, id;
  end if;
end;
$$;

/* The target table of a row with post_id/question_id/answer_id/comment_id columns. */
create function app_private.tg_counter() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  r record;
  v_sign int;
  v_counter text := tg_argv[0];
  v_row jsonb;
begin
  -- A row counts when it is live (comments and answers: not deleted).
  foreach v_sign in array case tg_op when 'INSERT' then array[1] when 'DELETE' then array[-1] else array[-1, 1] end loop
    v_row := case when v_sign = -1 then to_jsonb(old) else to_jsonb(new) end;
    if coalesce(v_row ->> 'status', 'published') = 'deleted' then
      continue;
    end if;
    perform app_private.bump('posts', (v_row ->> 'post_id')::uuid, v_counter, v_sign);
    perform app_private.bump('questions', (v_row ->> 'question_id')::uuid, v_counter, v_sign);
    if tg_table_name <> 'answers' then
      perform app_private.bump('answers', (v_row ->> 'answer_id')::uuid, v_counter, v_sign);
    end if;
    if tg_table_name = 'comments' and v_row ->> 'parent_id' is not null then
      perform app_private.bump('comments', (v_row ->> 'parent_id')::uuid, 'reply_count', v_sign);
    end if;
  end loop;
  return null;
end;
$$;
create trigger _500_count after insert or delete or update of status on app_public.comments
  for each row execute function app_private.tg_counter('comment_count');
create trigger _500_count after insert or delete or update of status on app_public.answers
  for each row execute function app_private.tg_counter('answer_count');

--------------------------------------------------------------------------------
-- Reactions: like/dislike, one per user per target; repeating removes it.
create type app_public.reaction_kind as enum ('like', 'dislike');

create table app_public.reactions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  kind app_public.reaction_kind not null,
  post_id uuid references app_public.posts on delete cascade,
  question_id uuid references app_public.questions on delete cascade,
  answer_id uuid references app_public.answers on delete cascade,
  comment_id uuid references app_public.comments on delete cascade,
  document_id uuid, -- references app_public.documents once documents exist
  created_at timestamptz not null default now(),
  constraint reaction_has_one_target check (num_nonnulls(post_id, question_id, answer_id, comment_id, document_id) = 1)
);
comment on table app_public.reactions is E'@behavior -insert -update -delete\nA like or dislike. Use the react mutation: one per user per target; repeating it removes it.';
comment on column app_public.reactions.document_id is E'@behavior -*';
create unique index reactions_user_post_key on app_public.reactions (post_id, user_id) where post_id is not null;
create unique index reactions_user_question_key on app_public.reactions (question_id, user_id) where question_id is not null;
create unique index reactions_user_answer_key on app_public.reactions (answer_id, user_id) where answer_id is not null;
create unique index reactions_user_comment_key on app_public.reactions (comment_id, user_id) where comment_id is not null;
create unique index reactions_user_document_key on app_public.reactions (document_id, user_id) where document_id is not null;
create index reactions_user_id_idx on app_public.reactions (user_id, created_at);
alter table app_public.reactions enable row level security;
create policy select_all on app_public.reactions for select using (true);
grant select on app_public.reactions to anonymous, authenticated;

create function app_private.tg_reactions__count() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_sign int;
  v_row jsonb;
  v_counter text;
begin
  foreach v_sign in array case tg_op when 'INSERT' then array[1] when 'DELETE' then array[-1] else array[-1, 1] end loop
    v_row := case when v_sign = -1 then to_jsonb(old) else to_jsonb(new) end;
    v_counter := (v_row ->> 'kind') || '_count';
    perform app_private.bump('posts', (v_row ->> 'post_id')::uuid, v_counter, v_sign);
    perform app_private.bump('questions', (v_row ->> 'question_id')::uuid, v_counter, v_sign);
    perform app_private.bump('answers', (v_row ->> 'answer_id')::uuid, v_counter, v_sign);
    perform app_private.bump('comments', (v_row ->> 'comment_id')::uuid, v_counter, v_sign);
  end loop;
  return null;
end;
$$;
create trigger _500_count after insert or update or delete on app_public.reactions
  for each row execute function app_private.tg_reactions__count();

/*
 * Likes or dislikes one target (pass exactly one id). Repeating the same
 * reaction removes it; the other kind replaces it. Returns the reaction now
 * in place, or null when it was removed. The target must be visible to you.
 */
create function app_public.react(
  kind app_public.reaction_kind, post_id uuid default null, question_id uuid default null,
  answer_id uuid default null, comment_id uuid default null
) returns app_public.reactions
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_user uuid := app_public.current_user_id();
  v_existing app_public.reactions;
  v_result app_public.reactions;
  v_visible boolean;
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  if num_nonnulls(post_id, question_id, answer_id, comment_id) <> 1 then
    raise exception 'React to exactly one thing' using errcode = 'INVAL';
  end if;
  -- Only published content takes reactions (drafts, hidden and deleted do not).
  v_visible := coalesce(
    (select true from app_public.posts p where p.id = react.post_id and p.status = 'published'),
    (select true from app_public.questions q where q.id = react.question_id and q.status = 'published'),
    (select true from app_public.answers a where a.id = react.answer_id and a.status = 'published'),
    (select true from app_public.comments c where c.id = react.comment_id and c.status = 'published'),
    false);
  if not v_visible then
    raise exception 'Nothing to react to there' using errcode = 'NOTFD';
  end if;
  select * into v_existing from app_public.reactions r
   where r.user_id = v_user
     and (r.post_id = react.post_id or r.question_id = react.question_id
          or r.answer_id = react.answer_id or r.comment_id = react.comment_id)
   for update;
  if v_existing.id is not null and v_existing.kind = react.kind then
    delete from app_public.reactions r where r.id = v_existing.id;
    return null;
  elsif v_existing.id is not null then
    update app_public.reactions r set kind = react.kind, created_at = now() where r.id = v_existing.id returning * into v_result;
    return v_result;
  end if;
  insert into app_public.reactions (user_id, kind, post_id, question_id, answer_id, comment_id)
  values (v_user, react.kind, react.post_id, react.question_id, react.answer_id, react.comment_id)
  on conflict do nothing
  returning * into v_result;
  if v_result.id is null then
    raise exception 'You reacted to this at the same moment; try again' using errcode = 'RETRY';
  end if;
  return v_result;
end;
$$;
comment on function app_public.react(app_public.reaction_kind, uuid, uuid, uuid, uuid) is
  'Likes or dislikes a post, question, answer or comment. Repeating the same reaction removes it.';

--------------------------------------------------------------------------------
-- Bookmarks and collections.
create table app_public.bookmarks (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  post_id uuid references app_public.posts on delete cascade,
  question_id uuid references app_public.questions on delete cascade,
  created_at timestamptz not null default now(),
  constraint bookmark_has_one_target check (num_nonnulls(post_id, question_id) = 1)
);
comment on table app_public.bookmarks is E'@behavior -update\nA post or question I saved. Only I see my bookmarks.';
create unique index bookmarks_user_post_key on app_public.bookmarks (user_id, post_id) where post_id is not null;
create unique index bookmarks_user_question_key on app_public.bookmarks (user_id, question_id) where question_id is not null;
create index bookmarks_user_created_idx on app_public.bookmarks (user_id, created_at);
create index bookmarks_post_id_idx on app_public.bookmarks (post_id);
create index bookmarks_question_id_idx on app_public.bookmarks (question_id);
alter table app_public.bookmarks enable row level security;
create policy select_own on app_public.bookmarks for select using (user_id = (select app_public.current_user_id()));
create policy insert_own on app_public.bookmarks for insert with check (
  user_id = (select app_public.current_user_id())
  and (post_id is null or exists (select 1 from app_public.posts p where p.id = post_id and p.status = 'published'))
  and (question_id is null or exists (select 1 from app_public.questions q where q.id = question_id and q.status = 'published')));
create policy delete_own on app_public.bookmarks for delete using (user_id = (select app_public.current_user_id()));
grant select, delete on app_public.bookmarks to authenticated;
grant insert (post_id, question_id) on app_public.bookmarks to authenticated;
create trigger _500_count after insert or delete on app_public.bookmarks
  for each row execute function app_private.tg_counter('bookmark_count');

create table app_public.collections (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  name text not null constraint collection_name_length check (char_length(name) between 1 and 100),
  description text constraint collection_description_length check (char_length(description) <= 1000),
  is_public boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table app_public.collections is 'A named, ordered list of posts and questions; public or private.';
create index collections_owner_id_idx on app_public.collections (owner_id);
create trigger _100_timestamps before insert or update on app_public.collections
  for each row execute function app_private.tg__timestamps();
alter table app_public.collections enable row level security;
create policy select_public_or_own on app_public.collections for select
  using (is_public or owner_id = (select app_public.current_user_id()));
create policy write_own on app_public.collections for all
  using (owner_id = (select app_public.current_user_id())) with check (owner_id = (select app_public.current_user_id()));
grant select on app_public.collections to anonymous, authenticated;
grant insert (name, description, is_public), update (name, description, is_public), delete on app_public.collections to authenticated;

create table app_public.collection_items (
  id uuid primary key default gen_random_uuid(),
  collection_id uuid not null references app_public.collections on delete cascade,
  post_id uuid references app_public.posts on delete cascade,
  question_id uuid references app_public.questions on delete cascade,
  position int not null default 0,
  note text constraint collection_item_note_length check (char_length(note) <= 500),
  created_at timestamptz not null default now(),
  constraint collection_item_has_one_target check (num_nonnulls(post_id, question_id) = 1)
);
comment on table app_public.collection_items is 'An entry of a collection, in position order.';
create index collection_items_collection_position_idx on app_public.collection_items (collection_id, position);
create unique index collection_items_post_key on app_public.collection_items (collection_id, post_id) where post_id is not null;
create unique index collection_items_question_key on app_public.collection_items (collection_id, question_id) where question_id is not null;
create index collection_items_post_id_idx on app_public.collection_items (post_id);
create index collection_items_question_id_idx on app_public.collection_items (question_id);
alter table app_public.collection_items enable row level security;
create policy select_visible on app_public.collection_items for select
  using (exists (select 1 from app_public.collections c where c.id = collection_id));
create policy write_own on app_public.collection_items for all
  using (exists (select 1 from app_public.collections c where c.id = collection_id and c.owner_id = (select app_public.current_user_id())))
  with check (exists (select 1 from app_public.collections c where c.id = collection_id and c.owner_id = (select app_public.current_user_id())));
grant select on app_public.collection_items to anonymous, authenticated;
grant insert (collection_id, post_id, question_id, position, note), update (position, note), delete
  on app_public.collection_items to authenticated;

--------------------------------------------------------------------------------
-- Follow counters.
create function app_private.tg_follows__count() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_sign int := case when tg_op = 'INSERT' then 1 else -1 end;
  v_row app_public.follows := case when tg_op = 'INSERT' then new else old end;
begin
  update app_public.users u set follower_count = follower_count + v_sign where u.id = v_row.followee_id;
  update app_public.users u set following_count = following_count + v_sign where u.id = v_row.follower_id;
  return null;
end;
$$;
create trigger _500_count after insert or delete on app_public.follows
  for each row execute function app_private.tg_follows__count();

--------------------------------------------------------------------------------
-- Tags in use (for suggestions and counts per tag).
create function app_private.tg_content__tags() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_counter text := case tg_table_name when 'posts' then 'post_count' else 'question_count' end;
  v_old text[] := case when tg_op <> 'INSERT' and old.status = 'published' then old.tags else '{}' end;
  v_new text[] := case when tg_op <> 'DELETE' and new.status = 'published' then new.tags else '{}' end;
begin
  if v_old is distinct from v_new then
    insert into app_public.tags (name) select unnest(v_new) on conflict do nothing;
    execute format('update app_public.tags set %I = %I + 1 where name = any($1) and not name = any($2)', v_counter, v_counter)
      using v_new, v_old;
    execute format('update app_public.tags set %I = %I - 1 where name = any($1) and not name = any($2)', v_counter, v_counter)
      using v_old, v_new;
  end if;
  return null;
end;
$$;
create trigger _510_tags after insert or update or delete on app_public.posts
  for each row execute function app_private.tg_content__tags();
create trigger _510_tags after insert or update or delete on app_public.questions
  for each row execute function app_private.tg_content__tags();

--------------------------------------------------------------------------------
-- Edit history and contributions.
create table app_public.content_revisions (
  id uuid primary key default gen_random_uuid(),
  post_id uuid references app_public.posts on delete cascade,
  question_id uuid references app_public.questions on delete cascade,
  answer_id uuid references app_public.answers on delete cascade,
  comment_id uuid references app_public.comments on delete cascade,
  editor_id uuid references app_public.users on delete set null,
  title text,
  body text not null,
  created_at timestamptz not null default now(),
  constraint revision_has_one_target check (num_nonnulls(post_id, question_id, answer_id, comment_id) = 1)
);
comment on table app_public.content_revisions is E'@behavior -insert -update -delete\nA previous version of a post, question, answer or comment, recorded when it was edited.';
create index content_revisions_post_idx on app_public.content_revisions (post_id, created_at);
create index content_revisions_question_idx on app_public.content_revisions (question_id, created_at);
create index content_revisions_answer_idx on app_public.content_revisions (answer_id, created_at);
create index content_revisions_comment_idx on app_public.content_revisions (comment_id, created_at);
create index content_revisions_editor_id_idx on app_public.content_revisions (editor_id);
alter table app_public.content_revisions enable row level security;
-- The history of what you may see; a deleted comment's history only for its author and moderators.
create policy select_visible on app_public.content_revisions for select using (
  exists (select 1 from app_public.posts p where p.id = post_id)
  or exists (select 1 from app_public.questions q where q.id = question_id)
  or exists (select 1 from app_public.answers a where a.id = answer_id)
  or exists (select 1 from app_public.comments c where c.id = comment_id
              and (c.status <> 'deleted' or c.author_id = (select app_public.current_user_id())
                   or (select app_public.current_user_has_permission('post:moderate')))));
grant select on app_public.content_revisions to anonymous, authenticated;

create type app_public.contribution_status as enum ('pending', 'accepted', 'rejected');

create table app_public.contributions (
  id uuid primary key default gen_random_uuid(),
  post_id uuid not null references app_public.posts on delete cascade,
  contributor_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  title text constraint contribution_title_length check (char_length(title) between 3 and 200),
  body text not null constraint contribution_body_length check (char_length(body) between 1 and 100000),
  message text constraint contribution_message_length check (char_length(message) <= 2000),
  status app_public.contribution_status not null default 'pending',
  reviewer_id uuid references app_public.users on delete set null,
  review_reason text constraint contribution_review_reason_length check (char_length(review_reason) <= 2000),
  reviewed_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table app_public.contributions is E'@behavior -update -delete\nA suggested edit to someone else''s post. A reviewer accepts it (the edit is applied, with history) or rejects it with a reason.';
create index contributions_post_id_idx on app_public.contributions (post_id, created_at);
create index contributions_contributor_id_idx on app_public.contributions (contributor_id);
create index contributions_status_idx on app_public.contributions (status, created_at);
create index contributions_reviewer_id_idx on app_public.contributions (reviewer_id);
alter table app_public.contributions enable row level security;
create policy select_involved on app_public.contributions for select using (
  contributor_id = (select app_public.current_user_id())
  or exists (select 1 from app_public.posts p where p.id = post_id and p.author_id = (select app_public.current_user_id()))
  or (select app_public.current_user_has_permission('contribution:review')));
create policy insert_own on app_public.contributions for insert with check (
  contributor_id = (select app_public.current_user_id())
  and exists (select 1 from app_public.posts p where p.id = post_id and p.status = 'published'
              and p.author_id <> (select app_public.current_user_id())));
grant select on app_public.contributions to authenticated;
grant insert (post_id, title, body, message) on app_public.contributions to authenticated;

create function app_private.tg_contributions__rules() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  perform app_private.assert_no_banned_words(array[new.title, new.body, new.message]);
  return new;
end;
$$;
create trigger _200_rules before insert on app_public.contributions
  for each row execute function app_private.tg_contributions__rules();

create function app_public.review_contribution(contribution_id uuid, accept boolean, reason text default null)
  returns app_public.contributions
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_contribution app_public.contributions;
begin
  if not app_public.current_user_has_permission('contribution:review') then
    raise exception 'Only reviewers can review suggested edits' using errcode = 'FORBD';
  end if;
  select * into v_contribution from app_public.contributions c where c.id = contribution_id for update;
  if v_contribution.id is null then
    raise exception 'No such suggested edit' using errcode = 'NOTFD';
  end if;
  if v_contribution.contributor_id = app_public.current_user_id() then
    raise exception 'You cannot review your own suggested edit' using errcode = 'FORBD';
  end if;
  if v_contribution.status <> 'pending' then
    raise exception 'This suggested edit was already reviewed' using errcode = 'INVAL';
  end if;
  if not accept and coalesce(trim(reason), '') = '' then
    raise exception 'Give a reason when rejecting' using errcode = 'INVAL';
  end if;
  if accept then
    update app_public.posts p
       set title = coalesce(v_contribution.title, p.title), body = v_contribution.body
     where p.id = v_contribution.post_id;
  end if;
  update app_public.contributions c
     set status = case when accept then 'accepted'::app_public.contribution_status else 'rejected' end,
         reviewer_id = app_public.current_user_id(), review_reason = nullif(trim(reason), ''), reviewed_at = now()
   where c.id = contribution_id
  returning * into v_contribution;
  return v_contribution;
end;
$$;
comment on function app_public.review_contribution(uuid, boolean, text) is
  'Accepts (applies the edit, keeping history) or rejects (with a reason) a suggested edit. Needs contribution:review.';

--------------------------------------------------------------------------------
-- Answers: accepting one.
create function app_public.accept_answer(answer_id uuid) returns app_public.questions
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_question app_public.questions;
begin
  select q.* into v_question
    from app_public.answers a join app_public.questions q on q.id = a.question_id
   where a.id = answer_id and a.status = 'published';
  if v_question.id is null then
    raise exception 'No such answer' using errcode = 'NOTFD';
  end if;
  if v_question.author_id is distinct from app_public.current_user_id()
     and not app_public.current_user_has_permission('post:moderate') then
    raise exception 'Only the question''s author or a moderator can accept an answer' using errcode = 'FORBD';
  end if;
  update app_public.questions q set accepted_answer_id = answer_id where q.id = v_question.id returning * into v_question;
  return v_question;
end;
$$;
comment on function app_public.accept_answer(uuid) is 'Accepts one answer of a question (replacing any earlier choice). Question author or moderator.';

create function app_public.record_post_view(post_id uuid) returns int
  language sql volatile security definer
  set search_path = pg_catalog, public
as $$
  update app_public.posts p set view_count = view_count + 1
   where p.id = record_post_view.post_id and p.status = 'published'
  returning view_count
$$;
comment on function app_public.record_post_view(uuid) is 'Counts one view of a published post; returns the new count.';

--------------------------------------------------------------------------------
-- The viewer's own reaction, as a field of each reactable type (one
-- sub-select in the same statement as the list that shows it).
create function app_public.posts_viewer_reaction(p app_public.posts) returns app_public.reaction_kind
  language sql stable
as $$
  select r.kind from app_public.reactions r where r.post_id = p.id and r.user_id = app_public.current_user_id()
$$;
create function app_public.questions_viewer_reaction(q app_public.questions) returns app_public.reaction_kind
  language sql stable
as $$
  select r.kind from app_public.reactions r where r.question_id = q.id and r.user_id = app_public.current_user_id()
$$;
create function app_public.answers_viewer_reaction(a app_public.answers) returns app_public.reaction_kind
  language sql stable
as $$
  select r.kind from app_public.reactions r where r.answer_id = a.id and r.user_id = app_public.current_user_id()
$$;
create function app_public.comments_viewer_reaction(c app_public.comments) returns app_public.reaction_kind
  language sql stable
as $$
  select r.kind from app_public.reactions r where r.comment_id = c.id and r.user_id = app_public.current_user_id()
$$;
comment on function app_public.posts_viewer_reaction(app_public.posts) is 'My reaction to this post (null: none, or signed out).';
comment on function app_public.questions_viewer_reaction(app_public.questions) is 'My reaction to this question.';
comment on function app_public.answers_viewer_reaction(app_public.answers) is 'My reaction to this answer.';
comment on function app_public.comments_viewer_reaction(app_public.comments) is 'My reaction to this comment.';

--------------------------------------------------------------------------------
-- The personal feed: published posts of followed members and categories.
-- Exposed as `allPosts(condition: { inMyFeed: true })` (plugins/content-filters.ts),
-- so it pages, sorts and joins like any list, in one statement.
create function app_public.current_user_followee_ids() returns setof uuid
  language sql stable
as $$
  select f.followee_id from app_public.follows f where f.follower_id = app_public.current_user_id()
$$;
create function app_public.current_user_followed_category_ids() returns setof uuid
  language sql stable
as $$
  select cf.category_id from app_public.category_follows cf where cf.user_id = app_public.current_user_id()
$$;
comment on function app_public.current_user_followee_ids() is E'@behavior -*\nWho I follow (for the feed).';
comment on function app_public.current_user_followed_category_ids() is E'@behavior -*\nThe categories I follow (for the feed).';

--------------------------------------------------------------------------------
-- Search.
alter table app_public.users add column search tsvector not null generated always as (
  setweight(to_tsvector('english'::regconfig, username::text), 'A')
  || setweight(to_tsvector('english'::regconfig, coalesce(display_name, '')), 'A')
  || setweight(to_tsvector('english'::regconfig, coalesce(job_title, '') || ' ' || coalesce(affiliation, '')), 'B')
  || setweight(to_tsvector('english'::regconfig, coalesce(bio, '')), 'C')
) stored;
comment on column app_public.users.search is E'@behavior -*';
create index users_search_idx on app_public.users using gin (search);
create index users_username_prefix_idx on app_public.users (lower(username::text) text_pattern_ops);
create index users_display_name_trgm_idx on app_public.users using gin (display_name gin_trgm_ops);

/*
 * Everything search may return, with the visibility rules written out:
 * published posts and questions, published answers of published questions,
 * published comments on published content, active members. A plain view
 * owned by the owner: row-level security of the tables is not applied here
 * (these rules replace it), so the search predicates (@@, trigram) can use
 * the GIN indexes — under RLS, non-leakproof operators cannot.
 */
create view app_hidden.search_documents as
  select 'post'::text as kind, p.id, p.title, p.body, p.search as doc, p.author_id, p.category_id, p.tags, p.published_at, p.language
    from app_public.posts p where p.status = 'published'
  union all
  select 'question', q2.id, q2.title, q2.body, q2.search, q2.author_id, q2.category_id, q2.tags, q2.published_at, q2.language
    from app_public.questions q2 where q2.status = 'published'
  union all
  select 'answer', a.id, q3.title, a.body, a.search, a.author_id, q3.category_id, q3.tags, a.created_at, q3.language
    from app_public.answers a join app_public.questions q3 on q3.id = a.question_id
   where a.status = 'published' and q3.status = 'published'
  union all
  select 'comment', c.id, null, c.body, c.search, c.author_id, null, null, c.created_at, null
    from app_public.comments c
    left join app_public.posts cp on cp.id = c.post_id
    left join app_public.questions cq on cq.id = c.question_id
    left join app_public.answers ca on ca.id = c.answer_id
    left join app_public.questions caq on caq.id = ca.question_id
   where c.status = 'published'
     and (c.post_id is null or cp.status = 'published')
     and (c.question_id is null or cq.status = 'published')
     and (c.answer_id is null or (ca.status = 'published' and caq.status = 'published'))
  union all
  select 'user', u.id, u.display_name, concat_ws(' — ', u.job_title, u.affiliation, u.bio),
         u.search, u.id, null, null, u.created_at, null
    from app_public.users u
     where u.is_active;
comment on view app_hidden.search_documents is 'Searchable documents (kind, id, title, body, doc tsvector, author, category, tags, time, language), visible to everyone.';
grant select on app_hidden.search_documents to anonymous, authenticated;

create type app_public.search_result as (
  kind text,
  id uuid,
  title text,
  snippet text,
  rank real,
  author_id uuid,
  category_id uuid,
  published_at timestamptz
);
-- Typo tolerance: a query word this similar to a word of a title still matches (pg_trgm's `<%`).
alter database :DATABASE_NAME set pg_trgm.word_similarity_threshold = 0.4;

comment on type app_public.search_result is 'A search hit: kind (post, question, answer, comment, user), its id, a title, a snippet (HTML-escaped, matches in <mark>) and its rank.';

/*
 * Ranked full-text search over posts, questions, answers, comments and
 * users. Filters: kinds, categories, tags, author, date range, language.
 * match_all (default true) combines the given filters with AND; false with
 * OR. When full text finds fewer than search.fuzzy_threshold hits, titles
 * and names similar to the query (trigram, typo-tolerant) are added.
 * Only content the caller may see is searched (row-level security applies).
 */
create function app_public.search(
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
  fts as materialized (
    select f.*, ts_rank_cd(f.doc, websearch_to_tsquery('english', search.query), 32)
             * case when lower(f.title) = lower(trim(search.query)) then 10 else 1 end as rank
      from filtered f
     where f.doc @@ websearch_to_tsquery('english', search.query)
  ),
  fuzzy as (
    -- Typo tolerance, only when full text found little: similar titles and names (trigram indexes).
    select f.*, word_similarity(search.query, f.title) / 10 as rank
      from filtered f
     where f.kind in ('post', 'question', 'user')
       and search.query <% f.title
       and (select count(*) from fts) < (app_hidden.setting('search.fuzzy_threshold') #>> '{}')::int
       and f.id not in (select fts.id from fts)
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
comment on function app_public.search(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) is
  'Ranked full-text search with highlighted snippets, typo tolerance and filters (combined with AND, or OR when matchAll is false).';

create type app_public.search_suggestion as (kind text, value text, id uuid);
comment on type app_public.search_suggestion is 'A completion for what the user is typing: a title, a tag or a username.';

create function app_public.search_suggestions(prefix text, max_results int default 10) returns setof app_public.search_suggestion
  language sql stable
as $$
  with p as (
    -- The prefix as typed, with the LIKE wildcards taken literally (chr(92) is the backslash escape).
    select replace(replace(replace(lower(trim(prefix)), chr(92), chr(92) || chr(92)), '%', chr(92) || '%'), '_', chr(92) || '_') as pattern,
           char_length(trim(prefix)) as length
  )
  (select 'tag'::text, t.name, null::uuid from app_public.tags t, p
    where t.name like p.pattern || '%' and p.length >= 1 and t.post_count + t.question_count > 0
    order by t.post_count + t.question_count desc, t.name limit max_results)
  union all
  (select 'user', u.username::text, u.id from app_public.users u, p
    where lower(u.username::text) like p.pattern || '%' and p.length >= 1
    order by lower(u.username::text) limit max_results)
  union all
  (select 'title', d.title, d.id from app_hidden.search_documents d, p
    where d.kind in ('post', 'question') and d.title ilike p.pattern || '%' and p.length >= 3
    order by d.published_at desc limit max_results)
$$;
comment on function app_public.search_suggestions(text, int) is 'Prefix completions: tags, usernames and titles (titles from 3 characters).';

--------------------------------------------------------------------------------
-- Who may call what.
grant execute on function app_public.react(app_public.reaction_kind, uuid, uuid, uuid, uuid) to authenticated;
grant execute on function app_public.accept_answer(uuid) to authenticated;
grant execute on function app_public.review_contribution(uuid, boolean, text) to authenticated;
grant execute on function app_public.record_post_view(uuid) to anonymous, authenticated;
grant execute on function app_public.current_user_followee_ids() to anonymous, authenticated;
grant execute on function app_public.current_user_followed_category_ids() to anonymous, authenticated;
grant execute on function app_public.posts_viewer_reaction(app_public.posts) to anonymous, authenticated;
grant execute on function app_public.questions_viewer_reaction(app_public.questions) to anonymous, authenticated;
grant execute on function app_public.answers_viewer_reaction(app_public.answers) to anonymous, authenticated;
grant execute on function app_public.comments_viewer_reaction(app_public.comments) to anonymous, authenticated;
grant execute on function app_public.search(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) to anonymous, authenticated;
grant execute on function app_public.search_suggestions(text, int) to anonymous, authenticated;
grant execute on function app_hidden.setting(text) to anonymous, authenticated;

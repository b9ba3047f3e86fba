--! Previous: sha1:2bb29875af6b2864c14ccd640aa7cfe52b04db51
--! Hash: sha1:60714af436c9c5c9ebbfb4ee7d1262bf077a7eeb
--! Message: Defects: change_password needs the old password; content policies written out; open content; counters; tokens and password rule from one place

--------------------------------------------------------------------------------
-- Passwords: a missing current password is a wrong one.
-- `crypt(NULL, hash) <> hash` is NULL, and `if NULL` skipped the refusal:
-- any signed-in caller could change the password without knowing it.
create or replace function app_public.change_password(old_password text, new_password text) returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, public
as $$
declare
  v_user uuid := app_public.current_user_id();
  v_hash text;
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  select s.password_hash into v_hash from app_private.user_secrets s where s.user_id = v_user;
  if old_password is null or v_hash is null or public.crypt(old_password, v_hash) is distinct from v_hash then
    raise exception 'The current password is not correct' using errcode = 'CREDS';
  end if;
  perform app_private.assert_strong_password(new_password);
  update app_private.user_secrets s set password_hash = app_private.hash_password(new_password), password_changed_at = now()
   where s.user_id = v_user;
  perform app_private.revoke_sessions(v_user, 'password_changed', app_public.current_session_id());
  perform app_private.record_security_event('password_changed', v_user);
  return true;
end;
$$;
comment on function app_public.change_password(text, text) is
  'Changes my password (the current one is required and checked) and ends my other sessions.';

--------------------------------------------------------------------------------
-- Who sees content. One rule for posts, questions, answers and comments,
-- named once and called by each table's policy below.
--
-- Written without sub-selects so PostgreSQL inlines it into the policies
-- (a SQL function containing a sub-select is called per row instead). The
-- status test comes first: for published rows, the bulk of every list, the
-- identity helpers are never called.
create or replace function app_hidden.content_visible(status app_public.content_status, author_id uuid) returns boolean
  language sql stable
as $$
  select status in ('published', 'archived')
      or author_id = app_public.current_user_id()
      or app_public.current_user_has_permission('post:moderate')
$$;
comment on function app_hidden.content_visible(app_public.content_status, uuid) is
  'The visibility rule of content by its own state: published and archived content is public; drafts, hidden and deleted content only to its author and moderators (post:moderate). Answers and comments are further limited to parents the viewer can see (their policies).';
grant execute on function app_hidden.content_visible(app_public.content_status, uuid) to anonymous, authenticated;

-- Posts.
drop policy if exists select_visible on app_public.posts;
drop policy if exists insert_own on app_public.posts;
drop policy if exists update_own_or_moderate on app_public.posts;
create policy select_visible on app_public.posts for select using (
  app_hidden.content_visible(status, author_id));
create policy insert_own on app_public.posts for insert with check (
  author_id = (select app_public.current_user_id()));
create policy update_own_or_moderate on app_public.posts for update using (
  author_id = (select app_public.current_user_id()) or (select app_public.current_user_has_permission('post:moderate')));

-- Questions.
drop policy if exists select_visible on app_public.questions;
drop policy if exists insert_own on app_public.questions;
drop policy if exists update_own_or_moderate on app_public.questions;
create policy select_visible on app_public.questions for select using (
  app_hidden.content_visible(status, author_id));
create policy insert_own on app_public.questions for insert with check (
  author_id = (select app_public.current_user_id()));
create policy update_own_or_moderate on app_public.questions for update using (
  author_id = (select app_public.current_user_id()) or (select app_public.current_user_has_permission('post:moderate')));

-- Answers: only under a question the viewer can see.
drop policy if exists select_visible on app_public.answers;
drop policy if exists insert_own on app_public.answers;
drop policy if exists update_own_or_moderate on app_public.answers;
create policy select_visible on app_public.answers for select using (
  app_hidden.content_visible(status, author_id)
  and exists (select 1 from app_public.questions q where q.id = question_id));
create policy insert_own on app_public.answers for insert with check (
  author_id = (select app_public.current_user_id()));
create policy update_own_or_moderate on app_public.answers for update using (
  author_id = (select app_public.current_user_id()) or (select app_public.current_user_has_permission('post:moderate')));

-- Comments: only under a post, question or answer the viewer can see.
-- Deleted comments stay visible there (emptied), so threads keep their shape.
-- (The 000003 version, generated by a format() loop, let `and` bind to the
-- deleted case only: comments under hidden or draft posts leaked.)
drop policy if exists select_visible on app_public.comments;
drop policy if exists insert_own on app_public.comments;
drop policy if exists update_own_or_moderate on app_public.comments;
create policy select_visible on app_public.comments for select using (
  (status = 'deleted' or app_hidden.content_visible(status, author_id))
  and (post_id is null or exists (select 1 from app_public.posts p where p.id = post_id))
  and (question_id is null or exists (select 1 from app_public.questions q where q.id = question_id))
  and (answer_id is null or exists (select 1 from app_public.answers a where a.id = answer_id)));
create policy insert_own on app_public.comments for insert with check (
  author_id = (select app_public.current_user_id()));
create policy update_own_or_moderate on app_public.comments for update using (
  author_id = (select app_public.current_user_id()) or (select app_public.current_user_has_permission('post:moderate')));

--------------------------------------------------------------------------------
-- Open content: what members may answer, comment on, react to and bookmark.
-- Published, under published parents (an answer's question; a comment's
-- post, question or answer). The search index states the same rule for
-- what it ranks (app_hidden.search_documents).
create or replace function app_hidden.content_is_open(post_id uuid, question_id uuid, answer_id uuid, comment_id uuid)
  returns boolean
  language sql stable
as $$
  select case
    when num_nonnulls(post_id, question_id, answer_id, comment_id) <> 1 then false
    when post_id is not null then exists (
      select 1 from app_public.posts p where p.id = post_id and p.status = 'published')
    when question_id is not null then exists (
      select 1 from app_public.questions q where q.id = question_id and q.status = 'published')
    when answer_id is not null then exists (
      select 1 from app_public.answers a join app_public.questions q on q.id = a.question_id
       where a.id = answer_id and a.status = 'published' and q.status = 'published')
    else exists (
      select 1
        from app_public.comments c
        left join app_public.posts cp on cp.id = c.post_id
        left join app_public.questions cq on cq.id = c.question_id
        left join app_public.answers ca on ca.id = c.answer_id
        left join app_public.questions caq on caq.id = ca.question_id
       where c.id = comment_id and c.status = 'published'
         and (c.post_id is null or cp.status = 'published')
         and (c.question_id is null or cq.status = 'published')
         and (c.answer_id is null or (ca.status = 'published' and caq.status = 'published')))
  end
$$;
comment on function app_hidden.content_is_open(uuid, uuid, uuid, uuid) is
  'True when exactly one target is given and it is published under published parents: what members may answer, comment on, react to and bookmark.';
grant execute on function app_hidden.content_is_open(uuid, uuid, uuid, uuid) to anonymous, authenticated;

/*
 * Before insert/update on posts, questions, answers and comments: status
 * rules, slugs, publication time, tags, banned words. Answers and comments
 * go on open content only (app_hidden.content_is_open).
 */
create or replace function app_private.tg_content__before_write() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_moderator boolean := app_public.current_user_has_permission('post:moderate');
  v_new jsonb := to_jsonb(new);
  v_old jsonb := case when tg_op = 'UPDATE' then to_jsonb(old) end;
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
  -- Answers and comments go on open content (a reply's thread is checked by _150_thread).
  -- (Rows with no target or several are left to the tables' constraints: INVAL.)
  if tg_op = 'INSERT' and tg_table_name in ('answers', 'comments') and (v_new ->> 'document_id') is null
     and num_nonnulls((v_new ->> 'post_id'), (v_new ->> 'question_id'), (v_new ->> 'answer_id')) = 1
     and not app_hidden.content_is_open((v_new ->> 'post_id')::uuid, (v_new ->> 'question_id')::uuid,
                                        (v_new ->> 'answer_id')::uuid, null) then
    raise exception 'There is nothing published to respond to there' using errcode = 'NOTFD';
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
comment on function app_private.tg_content__before_write() is
  'Before insert/update on posts, questions, answers and comments: author fixed, hiding by moderators only, archived read-only, answers and comments on open content only, slugs, publication time, tags, banned words.';

/*
 * Likes or dislikes one target (pass exactly one id). Repeating the same
 * reaction removes it; the other kind replaces it. Returns the reaction now
 * in place, or null when it was removed. The target must be open content.
 */
create or replace function app_public.react(
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
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  if kind is null or num_nonnulls(post_id, question_id, answer_id, comment_id) <> 1 then
    raise exception 'React to exactly one thing, with a kind' using errcode = 'INVAL';
  end if;
  if not app_hidden.content_is_open(react.post_id, react.question_id, react.answer_id, react.comment_id) then
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
  'Likes or dislikes a published post, question, answer or comment. Repeating the same reaction removes it; the other kind replaces it.';

-- Bookmarks: on open content; anything else is "not found" (NOTFD), as for
-- comments and reactions, not a policy refusal.
create or replace function app_private.tg_bookmarks__open_target() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
begin
  if not app_hidden.content_is_open(new.post_id, new.question_id, null, null) then
    raise exception 'Nothing to bookmark there' using errcode = 'NOTFD';
  end if;
  return new;
end;
$$;
comment on function app_private.tg_bookmarks__open_target() is
  'Before insert on bookmarks: the target must be open content (published under published parents), else NOTFD.';
drop trigger if exists _200_open_target on app_public.bookmarks;
create trigger _200_open_target before insert on app_public.bookmarks
  for each row execute function app_private.tg_bookmarks__open_target();
drop policy if exists insert_own on app_public.bookmarks;
create policy insert_own on app_public.bookmarks for insert with check (
  user_id = (select app_public.current_user_id()));

--------------------------------------------------------------------------------
-- Personal tables answer everyone: empty for anonymous visitors (their
-- policies match the signed-in member only), instead of a permission error
-- for a whole query that merely selects them (e.g. a post's bookmarks, the
-- feed, which reads category_follows).
grant select on app_public.bookmarks to anonymous;
grant select on app_public.category_follows to anonymous;
grant select on app_public.contributions to anonymous;
grant select on app_public.user_emails to anonymous;

--------------------------------------------------------------------------------
-- Counters count what everyone can see: published and archived rows (not
-- drafts, hidden or deleted ones). Reactions and bookmarks have no status and
-- always count.
create or replace function app_private.tg_counter() returns trigger
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
    if coalesce(v_row ->> 'status', 'published') not in ('published', 'archived') then
      continue;
    end if;
    v_counter := coalesce(tg_argv[0], (v_row ->> 'kind') || '_count');
    perform app_private.bump('posts', (v_row ->> 'post_id')::uuid, v_counter, v_sign);
    perform app_private.bump('questions', (v_row ->> 'question_id')::uuid, v_counter, v_sign);
    perform app_private.bump('answers', (v_row ->> 'answer_id')::uuid, v_counter, v_sign);
    perform app_private.bump('comments', (v_row ->> 'comment_id')::uuid, v_counter, v_sign);
    perform app_private.bump('comments', (v_row ->> 'parent_id')::uuid, 'reply_count', v_sign);
  end loop;
  return null;
end;
$$;
comment on function app_private.tg_counter() is
  'After insert/update/delete: keeps like/dislike/comment/answer/bookmark/reply counters exact with one `n = n ± 1` per counted row. Counts rows everyone can see (published or archived, or rows without a status).';

-- Recount, with the rule above, what the old rule counted differently
-- (hidden answers and comments were counted).
update app_public.questions q set answer_count = coalesce(n.n, 0)
  from app_public.questions x
  left join (select question_id, count(*) n from app_public.answers
              where status in ('published', 'archived') group by question_id) n on n.question_id = x.id
 where q.id = x.id and q.answer_count is distinct from coalesce(n.n, 0);
update app_public.posts p set comment_count = coalesce(n.n, 0)
  from app_public.posts x
  left join (select post_id, count(*) n from app_public.comments
              where post_id is not null and status in ('published', 'archived') group by post_id) n on n.post_id = x.id
 where p.id = x.id and p.comment_count is distinct from coalesce(n.n, 0);
update app_public.questions q set comment_count = coalesce(n.n, 0)
  from app_public.questions x
  left join (select question_id, count(*) n from app_public.comments
              where question_id is not null and status in ('published', 'archived') group by question_id) n on n.question_id = x.id
 where q.id = x.id and q.comment_count is distinct from coalesce(n.n, 0);
update app_public.answers a set comment_count = coalesce(n.n, 0)
  from app_public.answers x
  left join (select answer_id, count(*) n from app_public.comments
              where answer_id is not null and status in ('published', 'archived') group by answer_id) n on n.answer_id = x.id
 where a.id = x.id and a.comment_count is distinct from coalesce(n.n, 0);
update app_public.comments c set reply_count = coalesce(n.n, 0)
  from app_public.comments x
  left join (select parent_id, count(*) n from app_public.comments
              where parent_id is not null and status in ('published', 'archived') group by parent_id) n on n.parent_id = x.id
 where c.id = x.id and c.reply_count is distinct from coalesce(n.n, 0);

--------------------------------------------------------------------------------
-- The accepted answer is one everyone can see: deleting or hiding it
-- withdraws the acceptance; only published answers can be accepted.
create or replace function app_private.tg_answers__withdraw_acceptance() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  update app_public.questions q set accepted_answer_id = null where q.accepted_answer_id = new.id;
  return null;
end;
$$;
comment on function app_private.tg_answers__withdraw_acceptance() is
  'After an answer becomes hidden or deleted: the question it answered no longer has it as its accepted answer.';
drop trigger if exists _700_withdraw_acceptance on app_public.answers;
create trigger _700_withdraw_acceptance after update of status on app_public.answers
  for each row when (new.status in ('hidden', 'deleted') and old.status not in ('hidden', 'deleted'))
  execute function app_private.tg_answers__withdraw_acceptance();

update app_public.questions q set accepted_answer_id = null
  from app_public.answers a
 where a.id = q.accepted_answer_id and a.status in ('hidden', 'deleted');

--------------------------------------------------------------------------------
-- The content tables' grants and triggers, written out per table (000003
-- generated them in a format() loop, which nobody can grep). Same objects,
-- same order: _100 timestamps, _150 thread (comments), _200 rules,
-- _300 posting limit, _500 count, _600 revision, _700 acceptance (answers).
grant select on app_public.posts to anonymous, authenticated;
drop trigger if exists _100_timestamps on app_public.posts;
drop trigger if exists _200_rules on app_public.posts;
drop trigger if exists _300_posting_limit on app_public.posts;
drop trigger if exists _600_revision on app_public.posts;
create trigger _100_timestamps before insert or update on app_public.posts
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert or update on app_public.posts
  for each row execute function app_private.tg_content__before_write();
create trigger _300_posting_limit before insert on app_public.posts
  for each row execute function app_private.tg_content__posting_limit();
create trigger _600_revision after update on app_public.posts
  for each row execute function app_private.tg_content__revision();

grant select on app_public.questions to anonymous, authenticated;
drop trigger if exists _100_timestamps on app_public.questions;
drop trigger if exists _200_rules on app_public.questions;
drop trigger if exists _300_posting_limit on app_public.questions;
drop trigger if exists _600_revision on app_public.questions;
create trigger _100_timestamps before insert or update on app_public.questions
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert or update on app_public.questions
  for each row execute function app_private.tg_content__before_write();
create trigger _300_posting_limit before insert on app_public.questions
  for each row execute function app_private.tg_content__posting_limit();
create trigger _600_revision after update on app_public.questions
  for each row execute function app_private.tg_content__revision();

grant select on app_public.answers to anonymous, authenticated;
drop trigger if exists _100_timestamps on app_public.answers;
drop trigger if exists _200_rules on app_public.answers;
drop trigger if exists _300_posting_limit on app_public.answers;
drop trigger if exists _600_revision on app_public.answers;
create trigger _100_timestamps before insert or update on app_public.answers
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert or update on app_public.answers
  for each row execute function app_private.tg_content__before_write();
create trigger _300_posting_limit before insert on app_public.answers
  for each row execute function app_private.tg_content__posting_limit();
create trigger _600_revision after update on app_public.answers
  for each row execute function app_private.tg_content__revision();

grant select on app_public.comments to anonymous, authenticated;
drop trigger if exists _100_timestamps on app_public.comments;
drop trigger if exists _200_rules on app_public.comments;
drop trigger if exists _300_posting_limit on app_public.comments;
drop trigger if exists _600_revision on app_public.comments;
create trigger _100_timestamps before insert or update on app_public.comments
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert or update on app_public.comments
  for each row execute function app_private.tg_content__before_write();
create trigger _300_posting_limit before insert on app_public.comments
  for each row execute function app_private.tg_content__posting_limit();
create trigger _600_revision after update on app_public.comments
  for each row execute function app_private.tg_content__revision();

--------------------------------------------------------------------------------
-- Reactions are seen where what they react to is seen (they were readable
-- by everyone, so who liked a hidden or draft post leaked).
drop policy if exists select_all on app_public.reactions;
drop policy if exists select_visible on app_public.reactions;
create policy select_visible on app_public.reactions for select using (
  (post_id is null or exists (select 1 from app_public.posts p where p.id = post_id))
  and (question_id is null or exists (select 1 from app_public.questions q where q.id = question_id))
  and (answer_id is null or exists (select 1 from app_public.answers a where a.id = answer_id))
  and (comment_id is null or exists (select 1 from app_public.comments c where c.id = comment_id)));

--------------------------------------------------------------------------------
-- Tokens: one way to mint a single-use secret and one way to hash it for
-- storage, used by refresh tokens, e-mail verification and password resets.
create or replace function app_private.new_token(bytes int) returns text
  language sql volatile
  set search_path = pg_catalog, public
as $$
  select translate(encode(public.gen_random_bytes(bytes), 'base64'), '+/=', '-_')
$$;
comment on function app_private.new_token(int) is
  'A new random secret of `bytes` random bytes, URL-safe base64. Handed out once; only its token_hash is stored.';

create or replace function app_private.token_hash(token text) returns bytea
  language sql immutable strict
  set search_path = pg_catalog, public
as $$
  select sha256(convert_to(token, 'UTF8'))
$$;
comment on function app_private.token_hash(text) is
  'How a token is stored and looked up: sha256 of its UTF-8 bytes. NULL for NULL (strict), which matches no stored token.';

-- The functions that mint, store or check tokens, now through those helpers
-- (a missing row is tested with FOUND, not with a record IS NULL); the
-- password rule reads password.min_length; mails carry how long their link
-- works, read from the setting.
create or replace function app_private.issue_refresh_token(session_id uuid)
 returns text
 language plpgsql
 set search_path to 'pg_catalog', 'public'
as $function$
declare
  v_token text := app_private.new_token(32);
begin
  insert into app_private.refresh_tokens (token_hash, session_id, expires_at)
  values (app_private.token_hash(v_token), session_id,
          now() + (app_private.setting('session.refresh_ttl') #>> '{}')::interval);
  return v_token;
end;
$function$

;
create or replace function app_private.send_email_verification(user_email_id uuid)
 returns void
 language plpgsql
 set search_path to 'pg_catalog', 'public'
as $function$
declare
  v_token text := app_private.new_token(24);
  v_email app_public.user_emails;
begin
  select * into v_email from app_public.user_emails e where e.id = user_email_id;
  if v_email.is_verified then
    return;
  end if;
  insert into app_private.email_verification_tokens (token_hash, user_email_id, expires_at)
  values (app_private.token_hash(v_token), v_email.id,
          now() + (app_private.setting('email.verification_ttl') #>> '{}')::interval);
  perform app_private.add_job('send_email', json_build_object(
    'template', 'verify_email',
    'to', v_email.email,
    'variables', json_build_object('token', v_token, 'email', v_email.email,
                                   'valid_for', app_private.setting('email.verification_ttl') #>> '{}')
  ));
end;
$function$

;
create or replace function app_public.forgot_password(email citext)
 returns boolean
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'public'
as $function$
declare
  v_email app_public.user_emails;
  v_token text := app_private.new_token(24);
begin
  begin
    perform app_private.rate_limit('forgot_password:ip', host(app_hidden.client_ip()));
    perform app_private.rate_limit('forgot_password:account', lower(email));
  exception when sqlstate 'RLIMT' then
    return true; -- same answer: a limit must not reveal anything either
  end;
  select e.* into v_email
    from app_public.user_emails e join app_public.users u on u.id = e.user_id
   where e.email = forgot_password.email and (e.is_verified or e.is_primary) and u.is_active
   order by e.is_verified desc
   limit 1;
  if v_email.id is not null then
    insert into app_private.password_reset_tokens (token_hash, user_id, expires_at)
    values (app_private.token_hash(v_token), v_email.user_id,
            now() + (app_private.setting('password.reset_ttl') #>> '{}')::interval);
    perform app_private.add_job('send_email', json_build_object(
      'template', 'reset_password', 'to', v_email.email,
      'variables', json_build_object('token', v_token, 'email', v_email.email,
                                     'valid_for', app_private.setting('password.reset_ttl') #>> '{}')));
    perform app_private.record_security_event('password_reset_requested', v_email.user_id);
  end if;
  return true;
end;
$function$

;
create or replace function app_private.refresh_session(refresh_token text, ip inet, user_agent text)
 returns app_public.user_session
 language plpgsql
 set search_path to 'pg_catalog', 'public'
as $function$
declare
  v_token app_private.refresh_tokens;
  v_session app_private.sessions;
begin
  select * into v_token from app_private.refresh_tokens t
   where t.token_hash = app_private.token_hash(refresh_token) for update;
  if not found then
    return row('invalid', null, null, null, null, null)::app_public.user_session;
  end if;
  select * into v_session from app_private.sessions s where s.id = v_token.session_id for update;
  if v_token.rotated_at is not null then
    if v_session.revoked_at is null then
      update app_private.sessions s set revoked_at = now(), revoke_reason = 'refresh_token_reused' where s.id = v_session.id;
    end if;
    insert into app_private.security_events (kind, user_id, ip, detail)
    values ('refresh_token_reused', v_session.user_id, ip, jsonb_build_object('session_id', v_session.id));
    return row('reused', null, null, null, null, null)::app_public.user_session;
  end if;
  if v_session.revoked_at is not null or v_token.expires_at <= now() or v_session.expires_at <= now() then
    return row('expired', null, null, null, null, null)::app_public.user_session;
  end if;
  update app_private.refresh_tokens t set rotated_at = now() where t.token_hash = v_token.token_hash;
  update app_private.sessions s
     set last_active_at = now(), ip = coalesce(refresh_session.ip, s.ip),
         user_agent = coalesce(left(refresh_session.user_agent, 500), s.user_agent),
         expires_at = now() + (app_private.setting('session.refresh_ttl') #>> '{}')::interval
   where s.id = v_session.id;
  return row('ok', v_session.user_id, v_session.id, app_private.issue_refresh_token(v_session.id),
             now() + (app_private.setting('session.refresh_ttl') #>> '{}')::interval, null)::app_public.user_session;
end;
$function$

;
create or replace function app_public.reset_password(token text, new_password text)
 returns boolean
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'public'
as $function$
declare
  v_token app_private.password_reset_tokens;
begin
  select * into v_token from app_private.password_reset_tokens t
   where t.token_hash = app_private.token_hash(token) for update;
  if not found or v_token.used_at is not null then
    raise exception 'This reset link is not valid' using errcode = 'TOKEN';
  end if;
  if v_token.expires_at <= now() then
    raise exception 'This reset link has expired; ask for a new one' using errcode = 'EXPRD';
  end if;
  perform app_private.assert_strong_password(new_password);
  update app_private.password_reset_tokens t set used_at = now() where t.token_hash = v_token.token_hash;
  update app_private.user_secrets s set password_hash = app_private.hash_password(new_password), password_changed_at = now()
   where s.user_id = v_token.user_id;
  delete from app_private.login_failures f where f.account_key = v_token.user_id::text;
  perform app_private.revoke_sessions(v_token.user_id, 'password_reset');
  perform app_private.record_security_event('password_reset', v_token.user_id);
  return true;
end;
$function$

;
create or replace function app_public.verify_email(token text)
 returns boolean
 language plpgsql
 security definer
 set search_path to 'pg_catalog', 'public'
as $function$
declare
  v_token app_private.email_verification_tokens;
  v_email app_public.user_emails;
begin
  select * into v_token from app_private.email_verification_tokens t
   where t.token_hash = app_private.token_hash(token) for update;
  if not found or v_token.used_at is not null then
    raise exception 'This verification link is not valid' using errcode = 'TOKEN';
  end if;
  if v_token.expires_at <= now() then
    raise exception 'This verification link has expired; ask for a new one' using errcode = 'EXPRD';
  end if;
  update app_private.email_verification_tokens t set used_at = now() where t.token_hash = v_token.token_hash;
  select * into v_email from app_public.user_emails e where e.id = v_token.user_email_id;
  if exists (select 1 from app_public.user_emails e where e.email = v_email.email and e.is_verified and e.id <> v_email.id) then
    raise exception 'That e-mail address is already in use' using errcode = 'NUNIQ';
  end if;
  update app_public.user_emails e set is_verified = true where e.id = v_email.id;
  perform app_private.record_security_event('email_verified', v_email.user_id, jsonb_build_object('email_id', v_email.id));
  return true;
end;
$function$

;
create or replace function app_private.assert_strong_password(password text)
 returns void
 language plpgsql
 stable
 set search_path to 'pg_catalog', 'public'
as $function$
declare
  v_min int := (app_private.setting('password.min_length'))::int;
  v_classes int := (password ~ '[a-z]')::int + (password ~ '[A-Z]')::int + (password ~ '[0-9]')::int
                   + (password ~ '[^a-zA-Z0-9]')::int;
begin
  if password is null or char_length(password) < v_min or v_classes < 2 then
    raise exception 'Password is too weak: use at least % characters mixing at least two of lower case, upper case, digits and symbols', v_min
      using errcode = 'WEAKP';
  end if;
end;
$function$

;

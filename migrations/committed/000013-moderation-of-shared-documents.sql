--! Previous: sha1:4ee291d06f645c088bfc6b877ead4b41a47cf6d0
--! Hash: sha1:50285455e3c80ea783bc6c16374e65b9e2d76016
--! Message: moderation of shared documents

-- === moderation: documents as a target ===
-- Shared documents (app_public.documents) become a moderation target kind, the
-- steps of docs/moderation.md: the enum value, one foreign-key column with its
-- constraints, one branch in each per-kind function; documents get hidden_at
-- (a restrictive select policy: the owner and moderators still see a hidden
-- document) and a hidden document leaves search.
--
-- The new enum value is added in this migration's transaction, and PostgreSQL
-- refuses to use a value added in the same transaction ("unsafe use of new
-- value") in anything it evaluates when it is defined: CHECK constraints and
-- `language sql` bodies. Those compare `kind::text` with 'document' instead;
-- plpgsql bodies are only parsed when they first run, so they name the value.

alter type app_public.moderation_target_kind add value if not exists 'document' after 'job';
comment on type app_public.moderation_target_kind is 'What a report or a moderation action is about: a post, question, answer, comment, chat message, job posting, shared document, or a member (user).';

-- Documents hidden by moderation: out of sight for everyone but their owner and moderators.
alter table app_public.documents add column if not exists hidden_at timestamptz;
comment on column app_public.documents.hidden_at is 'When moderation hid the document (reports or a moderator); null when visible. A hidden document (its versions, files, comments and reactions) is seen by its owner and moderators only, and is not in search.';
drop policy if exists select_not_hidden_by_moderation on app_public.documents;
create policy select_not_hidden_by_moderation on app_public.documents as restrictive for select
  using (hidden_at is null or owner_id = (select app_public.current_user_id())
         or (select app_public.current_user_has_permission('report:review')));

-- react_to_document reads documents with definer rights (document_readable, no
-- row-level security), so the restrictive policy does not reach it: this
-- trigger refuses reacting to a hidden document as if it did not exist.
create or replace function app_private.tg_reactions__document_hidden() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if new.document_id is not null and exists (
       select 1 from app_public.documents d
        where d.id = new.document_id and d.hidden_at is not null
          and d.owner_id is distinct from app_public.current_user_id()
          and not app_public.current_user_has_permission('report:review')) then
    raise exception 'Nothing to react to there' using errcode = 'NOTFD';
  end if;
  return new;
end;
$$;
comment on function app_private.tg_reactions__document_hidden() is 'Trigger on reactions: a document hidden by moderation takes reactions from its owner and moderators only (NOTFD for others, as for a document they cannot read). Security definer: reads the document whatever its visibility.';
drop trigger if exists _250_document_hidden on app_public.reactions;
create trigger _250_document_hidden before insert or update of kind on app_public.reactions
  for each row execute function app_private.tg_reactions__document_hidden();

-- The target's foreign-key column and its two constraints.
alter table app_public.moderation_targets add column if not exists document_id uuid;
alter table app_public.moderation_targets drop constraint if exists moderation_targets_document_id_fkey;
alter table app_public.moderation_targets add constraint moderation_targets_document_id_fkey
  foreign key (document_id) references app_public.documents (id) on delete cascade;
alter table app_public.moderation_targets drop constraint if exists moderation_targets_document_key;
alter table app_public.moderation_targets add constraint moderation_targets_document_key unique (document_id);
comment on column app_public.moderation_targets.document_id is 'The shared document, when kind is document.';
alter table app_public.moderation_targets drop constraint if exists moderation_target_one_target;
alter table app_public.moderation_targets add constraint moderation_target_one_target
  check (num_nonnulls(post_id, question_id, answer_id, comment_id, message_id, job_id, document_id, user_id) = 1);
alter table app_public.moderation_targets drop constraint if exists moderation_target_kind_matches;
alter table app_public.moderation_targets add constraint moderation_target_kind_matches check (
        (kind = 'post') = (post_id is not distinct from content_id)
    and (kind = 'question') = (question_id is not distinct from content_id)
    and (kind = 'answer') = (answer_id is not distinct from content_id)
    and (kind = 'comment') = (comment_id is not distinct from content_id)
    and (kind = 'message') = (message_id is not distinct from content_id)
    and (kind = 'job') = (job_id is not distinct from content_id)
    and (kind::text = 'document') = (document_id is not distinct from content_id)
    and (kind = 'user') = (user_id is not distinct from content_id));
comment on table app_public.moderation_targets is '@behavior -insert -update -delete -aggregates
A reported (or moderated) post, question, answer, comment, chat message, job posting, shared document or member: one row per target, with its open reports counted. The moderation queue (moderationQueue) is the targets with open reports. Moderators (report:review) only.';
comment on column app_public.moderation_targets.content_id is 'The id of the post, question, answer, comment, message, job posting, document or member.';
comment on column app_public.moderation_targets.author_id is 'The member responsible: the author (the employer for a job, the owner for a document, the member for a user); whom warn and suspend act on.';

create or replace function app_hidden.report_target_visible(kind app_public.moderation_target_kind, content_id uuid) returns boolean
  language sql stable
as $$
  select case kind::text
    when 'post' then exists (select 1 from app_public.posts p where p.id = content_id)
    when 'question' then exists (select 1 from app_public.questions q where q.id = content_id)
    when 'answer' then exists (select 1 from app_public.answers a where a.id = content_id)
    when 'comment' then exists (select 1 from app_public.comments c where c.id = content_id and c.status <> 'deleted')
    when 'message' then exists (select 1 from app_public.messages m where m.id = content_id and m.kind = 'text' and m.deleted_at is null)
    when 'job' then exists (select 1 from app_public.job_postings j where j.id = content_id)
    when 'document' then exists (select 1 from app_public.documents d where d.id = content_id)
    when 'user' then exists (select 1 from app_public.users u where u.id = content_id)
    else false
  end
$$;

create or replace function app_private.moderation_target_author(kind app_public.moderation_target_kind, content_id uuid) returns uuid
  language sql stable
  set search_path = pg_catalog, public
as $$
  select case kind::text
    when 'post' then (select p.author_id from app_public.posts p where p.id = content_id)
    when 'question' then (select q.author_id from app_public.questions q where q.id = content_id)
    when 'answer' then (select a.author_id from app_public.answers a where a.id = content_id)
    when 'comment' then (select c.author_id from app_public.comments c where c.id = content_id)
    when 'message' then (select m.author_id from app_public.messages m where m.id = content_id and m.kind = 'text')
    when 'job' then (select j.employer_id from app_public.job_postings j where j.id = content_id)
    when 'document' then (select d.owner_id from app_public.documents d where d.id = content_id)
    when 'user' then (select u.id from app_public.users u where u.id = content_id)
  end
$$;
comment on function app_private.moderation_target_author(app_public.moderation_target_kind, uuid) is 'The member responsible for a target (author, employer, document owner, the member itself), or null when it does not exist.';

create or replace function app_private.lock_moderation_target(kind app_public.moderation_target_kind, content_id uuid)
returns app_public.moderation_targets
  language plpgsql
  set search_path = pg_catalog, public
as $$
declare
  v_author uuid := app_private.moderation_target_author(kind, content_id);
  v_target app_public.moderation_targets;
begin
  if v_author is null then
    raise exception 'There is no such % to moderate', kind using errcode = 'NOTFD';
  end if;
  insert into app_public.moderation_targets
    (kind, content_id, post_id, question_id, answer_id, comment_id, message_id, job_id, document_id, user_id, author_id)
  values (lock_moderation_target.kind, lock_moderation_target.content_id,
          case when lock_moderation_target.kind = 'post' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'question' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'answer' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'comment' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'message' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'job' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'document' then lock_moderation_target.content_id end,
          case when lock_moderation_target.kind = 'user' then lock_moderation_target.content_id end,
          v_author)
  on conflict do nothing;
  update app_public.moderation_targets t set author_id = v_author
   where t.kind = lock_moderation_target.kind and t.content_id = lock_moderation_target.content_id
  returning t.* into v_target;
  return v_target;
end;
$$;
comment on function app_private.lock_moderation_target(app_public.moderation_target_kind, uuid) is 'The moderation target row of a post, question, answer, comment, message, job, document or member, created on first use and row-locked until commit (NOTFD when the thing does not exist). Concurrent first uses create it once.';

-- A document has no status: hide sets hidden_at; delete hides it for good (as
-- for jobs: the row, its versions and their bytes stay, so the reports, the
-- queue entry and the evidence stay too; its owner may still delete it); restore
-- clears hidden_at unless the document was already hidden when moderation hid it.
create or replace function app_private.moderation_write(kind app_public.moderation_target_kind, content_id uuid, change text)
returns text
  language plpgsql
  set search_path = pg_catalog, public
as $$
declare
  v_sid text := current_setting('jwt.claims.sid', true);
  v_table text := case kind when 'post' then 'posts' when 'question' then 'questions'
                            when 'answer' then 'answers' when 'comment' then 'comments' end;
  v_status text;
begin
  perform set_config('jwt.claims.sid', '', true);
  if v_table is not null then
    execute format('select status::text from app_public.%I where id = $1 for update', v_table) into v_status using content_id;
    if change in ('hide', 'delete') and v_status not in ('hidden', 'deleted') then
      execute format('update app_public.%I set status = $2::app_public.content_status where id = $1', v_table)
        using content_id, case change when 'hide' then 'hidden' else 'deleted' end;
    elsif change = 'delete' and v_status = 'hidden' then
      execute format('update app_public.%I set status = ''deleted'' where id = $1', v_table) using content_id;
    elsif change like 'restore:%' and v_status = 'hidden' then
      execute format('update app_public.%I set status = $2::app_public.content_status where id = $1', v_table)
        using content_id, coalesce(nullif(split_part(change, ':', 2), ''), 'published');
    end if;
  elsif kind = 'message' then
    select case when m.deleted_at is not null then 'deleted' when m.hidden_at is not null then 'hidden' else 'visible' end
      into v_status from app_public.messages m where m.id = content_id for update;
    if change = 'hide' then
      update app_public.messages m set hidden_at = coalesce(m.hidden_at, now()) where m.id = content_id;
    elsif change = 'delete' then
      update app_public.messages m set deleted_at = now() where m.id = content_id and m.deleted_at is null;
      delete from app_public.room_pins p where p.message_id = content_id;
    elsif change like 'restore:%' then
      update app_public.messages m set hidden_at = null where m.id = content_id;
    end if;
  elsif kind = 'job' then
    select j.status::text into v_status from app_public.job_postings j where j.id = content_id for update;
    if change = 'hide' then
      update app_public.job_postings j set hidden_at = coalesce(j.hidden_at, now()) where j.id = content_id;
    elsif change = 'delete' then
      -- A job has no deleted state: removing it closes it (if open) and hides it for good.
      update app_public.job_postings j
         set hidden_at = coalesce(j.hidden_at, now()),
             status = case when j.status in ('active', 'paused') then 'closed' else j.status end
       where j.id = content_id;
    elsif change like 'restore:%' then
      update app_public.job_postings j set hidden_at = null where j.id = content_id;
    end if;
  elsif kind = 'document' then
    select case when d.hidden_at is not null then 'hidden' else 'visible' end
      into v_status from app_public.documents d where d.id = content_id for update;
    if change in ('hide', 'delete') then
      -- delete: hidden for good (the target keeps no hidden_at, so approve does not bring it back).
      update app_public.documents d set hidden_at = coalesce(d.hidden_at, now()) where d.id = content_id;
    elsif change like 'restore:%' and split_part(change, ':', 2) is distinct from 'hidden' then
      update app_public.documents d set hidden_at = null where d.id = content_id;
    end if;
  end if;
  perform set_config('jwt.claims.sid', coalesce(v_sid, ''), true);
  return v_status;
end;
$$;
comment on function app_private.moderation_write(app_public.moderation_target_kind, uuid, text) is 'Hides (hide), removes (delete) or un-hides (restore:<previous status>) a target as the database; returns the status it had before. Content: status hidden / deleted; messages: hiddenAt / deleted; jobs: hiddenAt (delete also closes an open job); documents: hiddenAt (delete hides for good).';

create or replace function app_public.moderation_targets_content_text(t app_public.moderation_targets) returns text
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select case when app_public.current_user_has_permission('report:review') then
    case t.kind::text
      when 'post' then (select p.title || E'\n\n' || p.body from app_public.posts p where p.id = t.content_id)
      when 'question' then (select q.title || E'\n\n' || q.body from app_public.questions q where q.id = t.content_id)
      when 'answer' then (select a.body from app_public.answers a where a.id = t.content_id)
      when 'comment' then (select c.body from app_public.comments c where c.id = t.content_id)
      when 'message' then (select coalesce(nullif(m.body, ''),
                                  (select r.body from app_public.message_revisions r where r.message_id = m.id order by r.created_at desc limit 1))
                             from app_public.messages m where m.id = t.content_id)
      when 'job' then (select j.title || E'\n\n' || j.description from app_public.job_postings j where j.id = t.content_id)
      when 'document' then (select concat_ws(E'\n\n', d.title, nullif(d.description, ''), nullif(array_to_string(d.tags, ', '), ''))
                              from app_public.documents d where d.id = t.content_id)
      when 'user' then (select concat_ws(E'\n', u.username, u.display_name, u.job_title, u.bio) from app_public.users u where u.id = t.content_id)
    end
  end
$$;
comment on function app_public.moderation_targets_content_text(app_public.moderation_targets) is 'The reported content as text (title and body; a message''s last text even if deleted; a document''s title, description and tags; a member''s profile), for moderators (report:review) whatever room or status it is in. Security definer: moderators need not be members of a private room to judge a message.';

-- Search: a hidden document leaves search_entries (the view's document branch)
-- and the documents' search trigger fires on hidden_at.
create or replace view app_private.search_sources as
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
     and c.document_id is null -- comments on documents: the document is the search hit
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
   where m.kind = 'text' and m.deleted_at is null and m.hidden_at is null
  union all
  select 'job', j.id,
         setweight(to_tsvector('english', j.title), 'A')
           || setweight(to_tsvector('english', coalesce(j.organization_name, '')), 'B')
           || setweight(to_tsvector('english', concat_ws(' ', j.description, j.requirements, j.responsibilities, j.location)), 'B'),
         j.title, true, left(j.description, 5000),
         j.employer_id, j.category_id, j.tags, null, coalesce(j.published_at, j.created_at),
         app_private.search_score(coalesce(j.published_at, j.created_at), j.application_count), null, j.status
    from app_public.job_postings j
   where j.hidden_at is null
  union all
  select 'document', d.id,
         setweight(to_tsvector('english', d.title || ' ' || array_to_string(d.tags, ' ')), 'A')
           || setweight(to_tsvector('english', d.description), 'B'),
         d.title, true, left(d.description, 5000),
         d.owner_id, null, d.tags, null, d.created_at,
         app_private.search_score(d.created_at, d.like_count + d.comment_count + d.download_count), null, null
    from app_public.documents d
   where d.is_public and d.hidden_at is null;
comment on view app_private.search_sources is
  'What search indexes, per kind (one UNION ALL branch each, with the rules that make a document searchable at all: published, not hidden by moderation, public): the rows app_private.search_refresh copies into app_private.search_entries.';
drop trigger if exists _700_search on app_public.documents;
create trigger _700_search after insert or delete or update of title, description, tags, is_public, hidden_at
  on app_public.documents for each row execute function app_private.tg__search_refresh('document');

--! Previous: sha1:604ba5560de6d2b8589ed07e7e1fb44f904602a9
--! Hash: sha1:90e2dc52e61c396e47627e21fc20c0fa756e20e9
--! Message: Chat, jobs board, reputation and badges, notifications, files

-- === reputation ===
-- Reputation ledger, levels, badges, leaderboards, trending, analyst views.
-- See docs/reputation.md. Idempotent: everything below is dropped and rebuilt.

drop function if exists app_public.leaderboard(text);
drop function if exists app_public.trending(text);
drop view if exists app_analytics.reputation_distribution;
drop view if exists app_analytics.content_per_category_day;
drop view if exists app_analytics.daily_active_users;
drop view if exists app_analytics.leaderboards;
drop view if exists app_analytics.trending;
drop view if exists app_public.trending_items;
drop view if exists app_public.leaderboard_entries;
drop materialized view if exists app_private.trending_scores;
drop materialized view if exists app_private.leaderboard_scores;
drop function if exists app_private.refresh_rankings();
drop function if exists app_private.award_badges();
drop function if exists app_private.award_badge(uuid, text, uuid);
drop table if exists app_public.user_badges;
drop table if exists app_public.badges;
drop type if exists app_public.badge_class;
drop function if exists app_public.users_level(app_public.users);
drop type if exists app_public.reputation_level;
drop trigger if exists _700_reputation on app_public.reactions;
drop trigger if exists _710_reputation on app_public.questions;
drop trigger if exists _720_reputation_source on app_public.answers;
drop trigger if exists _720_reputation_source on app_public.questions;
drop trigger if exists _720_reputation_source on app_public.posts;
drop trigger if exists _730_badges on app_public.posts;
drop trigger if exists _730_badges on app_public.answers;
drop trigger if exists _731_badges on app_public.posts;
drop trigger if exists _731_badges on app_public.answers;
drop trigger if exists _800_reputation on app_public.users;
drop table if exists app_public.reputation_events;
drop function if exists app_private.tg_reactions__reputation();
drop function if exists app_private.tg_questions__reputation();
drop function if exists app_private.tg_content__reputation_source();
drop function if exists app_private.tg_content__badges();
drop function if exists app_private.tg_users__reputation();
drop trigger if exists _100_erase_all on app_public.users;
drop function if exists app_private.tg_users__truncate();
drop function if exists app_private.tg_reputation_events__append_only();
drop function if exists app_private.tg_reputation_events__total();
drop function if exists app_private.reputation_apply_reaction(app_public.reactions);
drop function if exists app_private.reputation_reverse(uuid, uuid, uuid, uuid);
drop function if exists app_private.reputation_credit(uuid, integer, app_public.reputation_reason, boolean, uuid, uuid, uuid, uuid, boolean);
drop function if exists app_private.check_reputation();
drop function if exists app_private.lock_users(uuid[]);
drop type if exists app_public.reputation_reason;
alter table app_public.users drop column if exists reputation;
delete from app_private.settings where key like 'reputation.%' or key like 'level.%' or key like 'trending.%';

insert into app_private.settings (key, value, description) values
  ('reputation.like_answer', '10', 'Points to an answer''s author for a like on it'),
  ('reputation.like_question', '5', 'Points to a question''s author for a like on it'),
  ('reputation.like_post', '5', 'Points to a post''s author for a like on it'),
  ('reputation.dislike_answer_author', '-2', 'Points to an answer''s author for a dislike on it'),
  ('reputation.dislike_answer_voter', '-1', 'Points to the member who dislikes an answer'),
  ('reputation.accepted_answer', '15', 'Points to the author of an accepted answer'),
  ('reputation.accepted_answer_accepter', '2', 'Points to the question''s author when an answer to it is accepted'),
  ('reputation.daily_vote_cap', '200', 'Most points a member gains from votes (likes, dislikes) per UTC day, net; accepted answers are exempt'),
  ('reputation.floor', '1', 'Reputation never goes below this; a new member starts here'),
  ('level.beginner', '50', 'Reputation from which a member is a Beginner (below: Newcomer)'),
  ('level.intermediate', '200', 'Reputation from which a member is Intermediate'),
  ('level.advanced', '1000', 'Reputation from which a member is Advanced'),
  ('level.expert', '5000', 'Reputation from which a member is an Expert'),
  ('trending.window', '"30 days"', 'Posts and questions published longer ago than this do not trend'),
  ('trending.like_weight', '1', 'Trending score: weight of one like'),
  ('trending.comment_weight', '2', 'Trending score: weight of one comment'),
  ('trending.answer_weight', '3', 'Trending score: weight of one answer (questions)'),
  ('trending.view_weight', '0.5', 'Trending score: weight of ln(1 + views)'),
  ('trending.gravity', '1.5', 'Trending score: exponent of (age in hours + 2) that the engagement is divided by'),
  ('trending.size', '100', 'How many posts and how many questions the trending list keeps');

create type app_public.reputation_reason as enum (
  'joined', 'post_liked', 'question_liked', 'answer_liked', 'answer_disliked', 'disliked_an_answer',
  'answer_accepted', 'accepted_an_answer'
);
comment on type app_public.reputation_reason is 'Why reputation changed: joined (the starting point), post_liked, question_liked, answer_liked, answer_disliked (to the answer''s author), disliked_an_answer (to the voter), answer_accepted (to the answer''s author), accepted_an_answer (to the question''s author).';

alter table app_public.users add column reputation integer not null default 1
  constraint users_reputation_not_negative check (reputation >= 0);
-- Existing members get their starting point now (below, set-based); new ones start at 0
-- and get it from the ''joined'' ledger row written by _800_reputation in the same statement.
alter table app_public.users alter column reputation set default 0;
comment on column app_public.users.reputation is 'Reputation points: the sum of the member''s reputation events (never below the reputation.floor setting). Maintained by the database.';
create index users_reputation_idx on app_public.users (reputation);

--------------------------------------------------------------------------------
-- The ledger
create table app_public.reputation_events (
  id bigint generated always as identity,
  user_id uuid not null,
  points integer not null,
  reason app_public.reputation_reason not null,
  is_vote boolean not null default false,
  is_reversal boolean not null default false,
  reaction_id uuid,
  post_id uuid,
  question_id uuid,
  answer_id uuid,
  created_at timestamptz not null default now(),
  constraint reputation_events_pkey primary key (id),
  constraint reputation_events_user_id_fkey foreign key (user_id) references app_public.users (id) on delete cascade
);
alter table app_public.reputation_events enable row level security;
create policy select_own on app_public.reputation_events for select
  using (user_id = (select app_public.current_user_id()));
grant select on app_public.reputation_events to authenticated;
comment on table app_public.reputation_events is E'@behavior -insert -update -delete\nThe reputation ledger: one row per change of a member''s reputation, written by the database when its cause happens (a like, a dislike, an accepted answer) and never changed; a reversal (a reaction removed or changed, an answer un-accepted, content hidden or deleted) is a new row with the opposite points. Members see their own rows.';
comment on column app_public.reputation_events.id is 'The event''s number, increasing.';
comment on column app_public.reputation_events.user_id is 'The member whose reputation changed.';
comment on column app_public.reputation_events.points is 'Points added (negative: taken away), after the daily vote cap and the floor.';
comment on column app_public.reputation_events.reason is 'The cause.';
comment on column app_public.reputation_events.is_vote is 'True for points from likes and dislikes (they count towards the daily cap); false for accepted answers and the starting point.';
comment on column app_public.reputation_events.is_reversal is 'True when the row takes back earlier points of the same source.';
comment on column app_public.reputation_events.reaction_id is 'The reaction that caused it (it may since have been removed).';
comment on column app_public.reputation_events.post_id is 'The post concerned, if any (it may since have been deleted).';
comment on column app_public.reputation_events.question_id is 'The question concerned, if any (it may since have been deleted).';
comment on column app_public.reputation_events.answer_id is 'The answer concerned, if any (it may since have been deleted).';
comment on column app_public.reputation_events.created_at is 'When the change happened.';
create index reputation_events_user_created_idx on app_public.reputation_events (user_id, created_at);
create index reputation_events_created_idx on app_public.reputation_events (created_at);
create index reputation_events_reaction_idx on app_public.reputation_events (reaction_id) where reaction_id is not null;
create index reputation_events_post_idx on app_public.reputation_events (post_id) where post_id is not null;
create index reputation_events_question_idx on app_public.reputation_events (question_id) where question_id is not null;
create index reputation_events_answer_idx on app_public.reputation_events (answer_id) where answer_id is not null;

-- Starting point of existing members (set-based, before the total trigger exists: their column already says 1).
insert into app_public.reputation_events (user_id, points, reason)
select u.id, 1, 'joined' from app_public.users u;

create function app_private.tg_reputation_events__append_only() returns trigger
  language plpgsql set search_path = pg_catalog, public as $$
begin
  -- The one exception: a member's account being erased (ON DELETE CASCADE from users):
  -- by then their users row is gone.
  if tg_op = 'DELETE' then
    if not exists (select 1 from app_public.users u where u.id = old.user_id) then
      return old;
    end if;
  end if;
  -- ... or every account at once: TRUNCATE app_public.users CASCADE (the seed's --replace).
  -- _100_erase_all on users fires first and marks the transaction.
  if tg_op = 'TRUNCATE' and current_setting('agora.truncating_members', true) = 'on' then
    return null;
  end if;
  raise exception 'The reputation ledger is append-only: write a compensating event instead' using errcode = 'APPND';
end;
$$;
comment on function app_private.tg_reputation_events__append_only() is 'Trigger: refuses every UPDATE, DELETE and TRUNCATE of the reputation ledger, for every role including the owner; only erasing accounts removes rows (the ON DELETE CASCADE of a member, or TRUNCATE app_public.users CASCADE).';

create function app_private.tg_users__truncate() returns trigger
  language plpgsql set search_path = pg_catalog, public as $$
begin
  perform set_config('agora.truncating_members', 'on', true);
  return null;
end;
$$;
comment on function app_private.tg_users__truncate() is 'Trigger: before TRUNCATE of users (every account erased, e.g. the seed''s --replace), lets the cascade empty the reputation ledger too (see tg_reputation_events__append_only).';
create trigger _100_erase_all before truncate on app_public.users
  for each statement execute function app_private.tg_users__truncate();

create function app_private.tg_reputation_events__total() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  -- Once per statement, one update per member: a set-based insert (a backfill) costs one pass.
  update app_public.users u set reputation = u.reputation + n.points
    from (select r.user_id, sum(r.points)::integer as points from new_rows r group by r.user_id) n
   where u.id = n.user_id and n.points <> 0;
  return null;
end;
$$;
comment on function app_private.tg_reputation_events__total() is 'Trigger (per statement): adds the new ledger rows'' points to users.reputation, so the total always equals the ledger''s sum. Security definer: the cause may be any member''s request.';

create trigger _100_append_only before update or delete on app_public.reputation_events
  for each row execute function app_private.tg_reputation_events__append_only();
create trigger _101_append_only before truncate on app_public.reputation_events
  for each statement execute function app_private.tg_reputation_events__append_only();
create trigger _500_total after insert on app_public.reputation_events
  referencing new table as new_rows
  for each statement execute function app_private.tg_reputation_events__total();

create function app_private.lock_users(user_ids uuid[]) returns void
  language plpgsql set search_path = pg_catalog, public as $$
begin
  -- Always in id order, so two transactions crediting the same two members cannot deadlock.
  perform 1 from app_public.users u where u.id = any(user_ids) order by u.id for no key update;
end;
$$;
comment on function app_private.lock_users(uuid[]) is 'Locks members'' rows (in id order) before their reputation changes: serializes every change per member, so the daily vote cap holds under concurrent votes.';

create function app_private.reputation_credit(
  user_id uuid, points integer, reason app_public.reputation_reason, is_vote boolean,
  reaction_id uuid, post_id uuid, question_id uuid, answer_id uuid, is_reversal boolean
) returns void
  language plpgsql set search_path = pg_catalog, public as $$
declare
  v_total integer;
  v_points integer := points;
  v_floor integer := (app_private.setting('reputation.floor') #>> '{}')::integer;
  v_today integer;
begin
  if user_id is null or points = 0 then
    return;
  end if;
  -- Serialize per member: the cap and the floor below read what committed before us.
  select u.reputation into v_total from app_public.users u where u.id = reputation_credit.user_id for no key update;
  if not found then
    return; -- the member's account is being erased
  end if;
  if is_vote and v_points > 0 and not is_reversal then
    select coalesce(sum(e.points), 0)::integer into v_today
      from app_public.reputation_events e
     where e.user_id = reputation_credit.user_id and e.is_vote
       and e.created_at >= date_trunc('day', now(), 'UTC');
    v_points := least(v_points, greatest((app_private.setting('reputation.daily_vote_cap') #>> '{}')::integer - v_today, 0));
  end if;
  if v_points < 0 then
    v_points := least(0, greatest(v_points, v_floor - v_total));
  end if;
  if v_points = 0 then
    return;
  end if;
  insert into app_public.reputation_events (user_id, points, reason, is_vote, is_reversal, reaction_id, post_id, question_id, answer_id)
  values (reputation_credit.user_id, v_points, reputation_credit.reason, reputation_credit.is_vote, reputation_credit.is_reversal,
          reputation_credit.reaction_id, reputation_credit.post_id, reputation_credit.question_id, reputation_credit.answer_id);
end;
$$;
comment on function app_private.reputation_credit(uuid, integer, app_public.reputation_reason, boolean, uuid, uuid, uuid, uuid, boolean) is 'Writes one ledger row for a member, under a lock on their row: a vote''s gain is cut to what the daily vote cap (net vote points of the UTC day) leaves, a loss stops at the floor; nothing is written when nothing is left.';

create function app_private.reputation_reverse(reaction_id uuid, content_id uuid, accepted_question_id uuid, accepted_answer_id uuid)
returns void
  language plpgsql set search_path = pg_catalog, public as $$
declare
  v_row record;
  v_users uuid[];
begin
  -- What is still owed, per member and source: the net of the source's rows (a capped gain
  -- is taken back only as far as it was granted; a reversed source nets to 0).
  for v_row in
    select e.user_id, e.reaction_id, e.reason, e.is_vote, e.post_id, e.question_id, e.answer_id, sum(e.points)::integer as net
      from app_public.reputation_events e
     where (reputation_reverse.reaction_id is not null and e.reaction_id = reputation_reverse.reaction_id)
        or (reputation_reverse.content_id is not null and e.is_vote
            and (e.post_id = reputation_reverse.content_id or e.question_id = reputation_reverse.content_id
                 or e.answer_id = reputation_reverse.content_id))
        or (reputation_reverse.accepted_question_id is not null and e.question_id = reputation_reverse.accepted_question_id
            and e.answer_id = reputation_reverse.accepted_answer_id and e.reason in ('answer_accepted', 'accepted_an_answer'))
     group by e.user_id, e.reaction_id, e.reason, e.is_vote, e.post_id, e.question_id, e.answer_id
    having sum(e.points) <> 0
     order by e.user_id
  loop
    v_users := v_users || v_row.user_id;
  end loop;
  perform app_private.lock_users(v_users);
  for v_row in
    select e.user_id, e.reaction_id, e.reason, e.is_vote, e.post_id, e.question_id, e.answer_id, sum(e.points)::integer as net
      from app_public.reputation_events e
     where (reputation_reverse.reaction_id is not null and e.reaction_id = reputation_reverse.reaction_id)
        or (reputation_reverse.content_id is not null and e.is_vote
            and (e.post_id = reputation_reverse.content_id or e.question_id = reputation_reverse.content_id
                 or e.answer_id = reputation_reverse.content_id))
        or (reputation_reverse.accepted_question_id is not null and e.question_id = reputation_reverse.accepted_question_id
            and e.answer_id = reputation_reverse.accepted_answer_id and e.reason in ('answer_accepted', 'accepted_an_answer'))
     group by e.user_id, e.reaction_id, e.reason, e.is_vote, e.post_id, e.question_id, e.answer_id
    having sum(e.points) <> 0
     -- Give back before taking back, so the floor does not swallow a loss that a gain would have covered.
     order by sum(e.points), e.user_id
  loop
    perform app_private.reputation_credit(v_row.user_id, -v_row.net, v_row.reason, v_row.is_vote,
      v_row.reaction_id, v_row.post_id, v_row.question_id, v_row.answer_id, true);
  end loop;
end;
$$;
comment on function app_private.reputation_reverse(uuid, uuid, uuid, uuid) is 'Takes back, with compensating ledger rows, what is still credited for a source: a reaction (reaction_id), the votes on a post, question or answer (content_id), or an acceptance (accepted_question_id and accepted_answer_id).';

create function app_private.reputation_apply_reaction(r app_public.reactions) returns void
  language plpgsql set search_path = pg_catalog, public as $$
declare
  v_author uuid;
begin
  if r.answer_id is not null then
    select a.author_id into v_author from app_public.answers a where a.id = r.answer_id and a.status in ('published', 'archived');
  elsif r.question_id is not null then
    select q.author_id into v_author from app_public.questions q where q.id = r.question_id and q.status in ('published', 'archived');
  elsif r.post_id is not null then
    select p.author_id into v_author from app_public.posts p where p.id = r.post_id and p.status in ('published', 'archived');
  end if;
  -- No points for reactions to comments, to content that does not count, or to one's own content.
  if v_author is null or v_author = r.user_id then
    return;
  end if;
  if r.kind = 'like' then
    perform app_private.reputation_credit(v_author,
      (app_private.setting(case when r.answer_id is not null then 'reputation.like_answer'
                                when r.question_id is not null then 'reputation.like_question'
                                else 'reputation.like_post' end) #>> '{}')::integer,
      case when r.answer_id is not null then 'answer_liked'
           when r.question_id is not null then 'question_liked'
           else 'post_liked' end::app_public.reputation_reason,
      true, r.id, r.post_id, r.question_id, r.answer_id, false);
  elsif r.answer_id is not null then
    perform app_private.lock_users(array[v_author, r.user_id]);
    perform app_private.reputation_credit(v_author, (app_private.setting('reputation.dislike_answer_author') #>> '{}')::integer,
      'answer_disliked', true, r.id, null, null, r.answer_id, false);
    perform app_private.reputation_credit(r.user_id, (app_private.setting('reputation.dislike_answer_voter') #>> '{}')::integer,
      'disliked_an_answer', true, r.id, null, null, r.answer_id, false);
  end if;
end;
$$;
comment on function app_private.reputation_apply_reaction(app_public.reactions) is 'Credits a reaction''s points: a like on an answer, question or post to its author; a dislike on an answer to its author and to the voter. Nothing for comments, for one''s own content, or for content that is not published or archived.';

create function app_private.tg_reactions__reputation() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    perform app_private.reputation_reverse(old.id, null, null, null);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform app_private.reputation_apply_reaction(new);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_reactions__reputation() is 'Trigger on reactions: a new reaction earns its points; a removed one is reversed; a changed one (like ↔ dislike) is reversed, then earns the new kind''s points. Security definer: reactions change through any member''s react().';
create trigger _700_reputation after insert or delete or update of kind on app_public.reactions
  for each row execute function app_private.tg_reactions__reputation();

create function app_private.tg_content__reputation_source() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_reaction app_public.reactions;
begin
  if new.status not in ('published', 'archived') then
    -- Hidden, deleted (or back to draft): its vote points are taken back.
    perform app_private.reputation_reverse(null, new.id, null, null);
  else
    -- Restored: its current reactions earn again (those not already credited).
    for v_reaction in
      select r.* from app_public.reactions r
       where case tg_table_name when 'posts' then r.post_id when 'questions' then r.question_id else r.answer_id end = new.id
         and not exists (select 1 from app_public.reputation_events e where e.reaction_id = r.id group by e.reaction_id having sum(e.points) <> 0)
       order by r.created_at, r.id
    loop
      perform app_private.reputation_apply_reaction(v_reaction);
    end loop;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_content__reputation_source() is 'Trigger on posts, questions and answers when their status moves between counting (published, archived) and not counting (draft, hidden, deleted): reverses the votes'' points, or credits them again on restore. Security definer: moderators and authors change status.';
create trigger _720_reputation_source after update of status on app_public.posts
  for each row when ((old.status in ('published', 'archived')) is distinct from (new.status in ('published', 'archived')))
  execute function app_private.tg_content__reputation_source();
create trigger _720_reputation_source after update of status on app_public.questions
  for each row when ((old.status in ('published', 'archived')) is distinct from (new.status in ('published', 'archived')))
  execute function app_private.tg_content__reputation_source();
create trigger _720_reputation_source after update of status on app_public.answers
  for each row when ((old.status in ('published', 'archived')) is distinct from (new.status in ('published', 'archived')))
  execute function app_private.tg_content__reputation_source();

create function app_private.tg_users__reputation() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  insert into app_public.reputation_events (user_id, points, reason)
  select n.id, (app_private.setting('reputation.floor') #>> '{}')::integer, 'joined' from new_rows n;
  return null;
end;
$$;
comment on function app_private.tg_users__reputation() is 'Trigger: a new member''s starting reputation (the reputation.floor setting) is their first ledger row. Security definer: registration runs as any role.';
create trigger _800_reputation after insert on app_public.users
  referencing new table as new_rows
  for each statement execute function app_private.tg_users__reputation();

create function app_private.check_reputation()
returns table (user_id uuid, reputation integer, ledger_sum integer)
  language sql stable set search_path = pg_catalog, public as $$
  select u.id, u.reputation, coalesce(l.total, 0)::integer
    from app_public.users u
    left join (select e.user_id, sum(e.points) as total from app_public.reputation_events e group by e.user_id) l on l.user_id = u.id
   where u.reputation is distinct from coalesce(l.total, 0)
      or u.reputation < (app_private.setting('reputation.floor') #>> '{}')::integer
$$;
comment on function app_private.check_reputation() is 'For DBAs: members whose users.reputation differs from the sum of their ledger rows, or is below the floor. Empty when all is well.';

create type app_public.reputation_level as enum ('newcomer', 'beginner', 'intermediate', 'advanced', 'expert');
comment on type app_public.reputation_level is 'A member''s level, from reputation: newcomer, beginner, intermediate, advanced, expert (thresholds are the level.* settings).';

create function app_public.users_level(u app_public.users) returns app_public.reputation_level
  language sql stable set search_path = pg_catalog, public as $$
  select case
    when u.reputation >= (app_hidden.setting('level.expert') #>> '{}')::integer then 'expert'
    when u.reputation >= (app_hidden.setting('level.advanced') #>> '{}')::integer then 'advanced'
    when u.reputation >= (app_hidden.setting('level.intermediate') #>> '{}')::integer then 'intermediate'
    when u.reputation >= (app_hidden.setting('level.beginner') #>> '{}')::integer then 'beginner'
    else 'newcomer'
  end::app_public.reputation_level
$$;
grant execute on function app_public.users_level(app_public.users) to anonymous, authenticated;
comment on function app_public.users_level(app_public.users) is 'The member''s level from their reputation (thresholds: the level.* settings).';

create function app_private.tg_questions__reputation() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_answer_author uuid;
begin
  if old.accepted_answer_id is not null then
    perform app_private.reputation_reverse(null, null, new.id, old.accepted_answer_id);
  end if;
  if new.accepted_answer_id is not null then
    select a.author_id into v_answer_author from app_public.answers a where a.id = new.accepted_answer_id;
    -- Accepting one's own answer earns nothing.
    if v_answer_author is not null and v_answer_author <> new.author_id then
      perform app_private.lock_users(array[v_answer_author, new.author_id]);
      perform app_private.reputation_credit(v_answer_author, (app_private.setting('reputation.accepted_answer') #>> '{}')::integer,
        'answer_accepted', false, null, null, new.id, new.accepted_answer_id, false);
      perform app_private.reputation_credit(new.author_id, (app_private.setting('reputation.accepted_answer_accepter') #>> '{}')::integer,
        'accepted_an_answer', false, null, null, new.id, new.accepted_answer_id, false);
      perform app_private.award_badge(v_answer_author, 'first_accepted_answer', null);
    end if;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_questions__reputation() is 'Trigger on questions when the accepted answer changes: takes back the earlier acceptance''s points, credits the new one (to the answer''s author and to the question''s author) and awards the first-accepted-answer badge. Security definer: the question''s author or a moderator accepts.';

--------------------------------------------------------------------------------
-- Badges
create type app_public.badge_class as enum ('bronze', 'silver', 'gold');
comment on type app_public.badge_class is 'A badge''s rank: bronze, silver or gold.';

create table app_public.badges (
  id text not null,
  name text not null,
  class app_public.badge_class not null,
  description text not null,
  threshold integer,
  is_repeatable boolean not null default false,
  constraint badges_pkey primary key (id),
  constraint badge_id_format check (id ~ '^[a-z][a-z0-9_]{1,50}$')
);
alter table app_public.badges enable row level security;
create policy select_all on app_public.badges for select using (true);
grant select on app_public.badges to anonymous, authenticated;
comment on table app_public.badges is E'@behavior -insert -update -delete\nThe badge catalogue: what members can earn, and how.';
comment on column app_public.badges.id is 'The badge''s key, e.g. first_post.';
comment on column app_public.badges.name is 'The badge''s name as shown.';
comment on column app_public.badges.class is 'bronze, silver or gold.';
comment on column app_public.badges.description is 'The criterion, in words; the number it names is threshold.';
comment on column app_public.badges.threshold is 'The number in the criterion (accepted answers, reputation, likes, followers, answers); null for first-time badges.';
comment on column app_public.badges.is_repeatable is 'True when a member can earn the badge again, once per post or question that meets the criterion; false: once per member.';

insert into app_public.badges (id, name, class, description, threshold, is_repeatable) values
  ('first_post', 'Author', 'bronze', 'Published a first post.', null, false),
  ('first_answer', 'Helper', 'bronze', 'Wrote a first answer.', null, false),
  ('first_accepted_answer', 'Scholar', 'bronze', 'Had an answer accepted for the first time.', null, false),
  ('accepted_answers', 'Guru', 'silver', 'Had threshold answers accepted.', 10, false),
  ('reputation', 'Trusted', 'silver', 'Reached threshold reputation.', 500, false),
  ('great_post', 'Great post', 'gold', 'Wrote a post with threshold likes (once per post).', 25, true),
  ('popular', 'Popular', 'gold', 'Has threshold followers.', 100, false),
  ('great_question', 'Great question', 'silver', 'Asked a question with threshold answers (once per question).', 10, true);

create table app_public.user_badges (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  badge_id text not null,
  source_id uuid,
  awarded_at timestamptz not null default now(),
  constraint user_badges_pkey primary key (id),
  constraint user_badges_once unique nulls not distinct (user_id, badge_id, source_id),
  constraint user_badges_user_id_fkey foreign key (user_id) references app_public.users (id) on delete cascade,
  constraint user_badges_badge_id_fkey foreign key (badge_id) references app_public.badges (id) on delete cascade
);
alter table app_public.user_badges enable row level security;
create policy select_all on app_public.user_badges for select using (true);
grant select on app_public.user_badges to anonymous, authenticated;
comment on table app_public.user_badges is E'@behavior -insert -update -delete\nA badge a member earned. Awarded by the database (on the event, or by the scheduled award_badges job); kept even if the content that earned it is later removed.';
comment on column app_public.user_badges.id is 'The award''s id.';
comment on column app_public.user_badges.user_id is 'The member who earned the badge.';
comment on column app_public.user_badges.badge_id is 'The badge earned.';
comment on column app_public.user_badges.source_id is 'For a repeatable badge, the post or question that earned it; null otherwise.';
comment on column app_public.user_badges.awarded_at is 'When the badge was awarded.';
comment on constraint user_badges_once on app_public.user_badges is '@behavior -single';
create index user_badges_badge_id_idx on app_public.user_badges (badge_id, awarded_at);
create index user_badges_user_id_idx on app_public.user_badges (user_id, awarded_at);

create function app_private.award_badge(user_id uuid, badge_id text, source_id uuid) returns void
  language sql set search_path = pg_catalog, public as $$
  insert into app_public.user_badges (user_id, badge_id, source_id)
  select award_badge.user_id, b.id, case when b.is_repeatable then award_badge.source_id end
    from app_public.badges b
   where b.id = award_badge.badge_id and award_badge.user_id is not null
  on conflict on constraint user_badges_once do nothing
$$;
comment on function app_private.award_badge(uuid, text, uuid) is 'Awards a badge to a member unless they hold it already (for a repeatable badge: for that source). Badge-earned notifications will hook in here (see docs/reputation.md).';

create function app_private.tg_content__badges() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_badge text := case tg_table_name when 'posts' then 'first_post' else 'first_answer' end;
begin
  if tg_level = 'STATEMENT' then
    -- After an insert: one set-based award for the statement's published rows (bulk inserts stay cheap).
    insert into app_public.user_badges (user_id, badge_id)
    select distinct n.author_id, v_badge from new_rows n where n.status = 'published'
    on conflict on constraint user_badges_once do nothing;
  else
    perform app_private.award_badge(new.author_id, v_badge, null);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_content__badges() is 'Trigger on posts and answers (per insert statement, set-based; per row when a status becomes published): a member''s first published post or answer earns its badge. Security definer: authors write as themselves.';
create trigger _730_badges after insert on app_public.posts
  referencing new table as new_rows
  for each statement execute function app_private.tg_content__badges();
create trigger _731_badges after update of status on app_public.posts
  for each row when (new.status = 'published' and old.status <> 'published') execute function app_private.tg_content__badges();
create trigger _730_badges after insert on app_public.answers
  referencing new table as new_rows
  for each statement execute function app_private.tg_content__badges();
create trigger _731_badges after update of status on app_public.answers
  for each row when (new.status = 'published' and old.status <> 'published') execute function app_private.tg_content__badges();

create trigger _710_reputation after update of accepted_answer_id on app_public.questions
  for each row when (old.accepted_answer_id is distinct from new.accepted_answer_id)
  execute function app_private.tg_questions__reputation();

create function app_private.award_badges() returns integer
  language sql set search_path = pg_catalog, public as $$
  with b as (select id, threshold from app_public.badges),
  candidates (user_id, badge_id, source_id) as (
    select p.author_id, 'first_post', null::uuid from app_public.posts p where p.status in ('published', 'archived') group by p.author_id
    union all
    select a.author_id, 'first_answer', null from app_public.answers a where a.status in ('published', 'archived') group by a.author_id
    union all
    select a.author_id, 'first_accepted_answer', null
      from app_public.questions q join app_public.answers a on a.id = q.accepted_answer_id
     where a.author_id <> q.author_id group by a.author_id
    union all
    select a.author_id, 'accepted_answers', null
      from app_public.questions q join app_public.answers a on a.id = q.accepted_answer_id
     where a.author_id <> q.author_id
     group by a.author_id having count(*) >= (select threshold from b where id = 'accepted_answers')
    union all
    select u.id, 'reputation', null from app_public.users u where u.reputation >= (select threshold from b where id = 'reputation')
    union all
    select u.id, 'popular', null from app_public.users u where u.follower_count >= (select threshold from b where id = 'popular')
    union all
    select p.author_id, 'great_post', p.id from app_public.posts p
     where p.status in ('published', 'archived') and p.like_count >= (select threshold from b where id = 'great_post')
    union all
    select q.author_id, 'great_question', q.id from app_public.questions q
     where q.status in ('published', 'archived') and q.answer_count >= (select threshold from b where id = 'great_question')
  ),
  inserted as (
    insert into app_public.user_badges (user_id, badge_id, source_id)
    select c.user_id, c.badge_id, c.source_id from candidates c
    on conflict on constraint user_badges_once do nothing
    returning 1
  )
  select count(*)::integer from inserted
$$;
comment on function app_private.award_badges() is 'Awards, set-based over all members, every badge whose criterion is met and not yet held (the catalogue''s thresholds); idempotent. Returns how many awards it made. Run by the award_badges task (src/tasks/crontab).';

--------------------------------------------------------------------------------
-- Leaderboards and trending: materialized views (app_private), refreshed
-- concurrently by the refresh_rankings task; read through app_public views.
create materialized view app_private.leaderboard_scores as
with periods (period, since) as (
  values ('week', now() - interval '7 days'), ('month', now() - interval '30 days'), ('all', '-infinity'::timestamptz)
),
gains as (
  select p.period, e.user_id, sum(e.points)::integer as points
    from periods p
    join app_public.reputation_events e on e.created_at >= p.since
   where e.reason <> 'joined'
   group by p.period, e.user_id
)
select g.period, g.user_id, g.points,
       row_number() over (partition by g.period order by g.points desc, g.user_id)::integer as rank,
       now() as computed_at
  from gains g
  join app_public.users u on u.id = g.user_id and u.is_active
 where g.points > 0;
comment on materialized view app_private.leaderboard_scores is 'Reputation gained per member in the last 7 days (week), 30 days (month) and ever (all), the starting point excluded; rank 1 = most, ties by user id. Refreshed concurrently by the refresh_rankings task.';
create unique index leaderboard_scores_key on app_private.leaderboard_scores (period, user_id);
create unique index leaderboard_scores_rank on app_private.leaderboard_scores (period, rank);

create materialized view app_private.trending_scores as
with params as (
  select (app_private.setting('trending.like_weight') #>> '{}')::float8 as w_like,
         (app_private.setting('trending.comment_weight') #>> '{}')::float8 as w_comment,
         (app_private.setting('trending.answer_weight') #>> '{}')::float8 as w_answer,
         (app_private.setting('trending.view_weight') #>> '{}')::float8 as w_view,
         (app_private.setting('trending.gravity') #>> '{}')::float8 as gravity,
         now() - (app_private.setting('trending.window') #>> '{}')::interval as since,
         (app_private.setting('trending.size') #>> '{}')::integer as size
),
items as (
  select 'post'::text as kind, p.id, p.published_at, p.like_count, p.comment_count, 0 as answer_count, p.view_count
    from app_public.posts p, params
   where p.status = 'published' and p.published_at >= params.since
  union all
  select 'question', q.id, q.published_at, q.like_count, q.comment_count, q.answer_count, q.view_count
    from app_public.questions q, params
   where q.status = 'published' and q.published_at >= params.since
),
scored as (
  select i.kind, i.id,
         (params.w_like * i.like_count + params.w_comment * i.comment_count + params.w_answer * i.answer_count
          + params.w_view * ln(1 + i.view_count))
         / power(greatest(extract(epoch from now() - i.published_at) / 3600, 0) + 2, params.gravity) as score
    from items i, params
),
ranked as (
  select s.*, row_number() over (partition by s.kind order by s.score desc, s.id)::integer as rank from scored s
)
select r.kind, r.id, r.score, r.rank, now() as computed_at
  from ranked r, params
 where r.rank <= params.size and r.score > 0;
comment on materialized view app_private.trending_scores is 'The trending posts and questions: score = (like_weight·likes + comment_weight·comments + answer_weight·answers + view_weight·ln(1 + views)) / (age in hours + 2)^gravity over published content of the trending.window; the best trending.size of each kind. Refreshed concurrently by the refresh_rankings task.';
create unique index trending_scores_key on app_private.trending_scores (kind, id);
create unique index trending_scores_rank on app_private.trending_scores (kind, rank);

create function app_private.refresh_rankings() returns void
  language plpgsql set search_path = pg_catalog, public as $$
begin
  refresh materialized view concurrently app_private.leaderboard_scores;
  refresh materialized view concurrently app_private.trending_scores;
  -- Fresh statistics, so the planner reads a page by the (period, rank) and (kind, rank) indexes.
  analyze app_private.leaderboard_scores;
  analyze app_private.trending_scores;
end;
$$;
comment on function app_private.refresh_rankings() is 'Refreshes the leaderboards and trending concurrently (readers are not blocked). Run by the refresh_rankings task (src/tasks/crontab).';

create view app_public.leaderboard_entries with (security_barrier) as
select l.period, l.rank, l.user_id, l.points, l.computed_at
  from app_private.leaderboard_scores l
  join app_public.users u on u.id = l.user_id
 where u.is_active;
grant select on app_public.leaderboard_entries to anonymous, authenticated;
comment on view app_public.leaderboard_entries is E'@primaryKey period,user_id\n@foreignKey (user_id) references app_public.users (id)|@fieldName user\n@behavior -query:resource:list -query:resource:connection\nA place on a leaderboard: reputation gained in the last 7 days (week), 30 days (month) or ever (all). Recomputed every few minutes (computedAt). Read with the leaderboard query.';
comment on column app_public.leaderboard_entries.period is 'week (last 7 days), month (last 30 days) or all (all time).';
comment on column app_public.leaderboard_entries.rank is 'The place, 1 = most points; ties go to the lower user id.';
comment on column app_public.leaderboard_entries.user_id is 'The member.';
comment on column app_public.leaderboard_entries.points is 'Reputation gained in the period (the starting point not counted).';
comment on column app_public.leaderboard_entries.computed_at is 'When the leaderboard was last recomputed.';

create view app_public.trending_items with (security_barrier) as
select t.kind, t.rank, t.id, t.score, t.computed_at,
       case when t.kind = 'post' then t.id end as post_id,
       case when t.kind = 'question' then t.id end as question_id
  from app_private.trending_scores t
 where (t.kind = 'post' and exists (select 1 from app_public.posts p where p.id = t.id and p.status = 'published'))
    or (t.kind = 'question' and exists (select 1 from app_public.questions q where q.id = t.id and q.status = 'published'));
grant select on app_public.trending_items to anonymous, authenticated;
comment on view app_public.trending_items is E'@primaryKey kind,id\n@foreignKey (post_id) references app_public.posts (id)|@fieldName post\n@foreignKey (question_id) references app_public.questions (id)|@fieldName question\n@behavior -query:resource:list -query:resource:connection\nA trending post or question (see docs/reputation.md for the score). Recomputed every few minutes; content hidden since then is left out. Read with the trending query.';
comment on column app_public.trending_items.kind is 'post or question.';
comment on column app_public.trending_items.rank is 'The place among its kind, 1 = most trending.';
comment on column app_public.trending_items.id is 'The post''s or question''s id.';
comment on column app_public.trending_items.score is 'The time-decayed engagement score (higher trends more).';
comment on column app_public.trending_items.computed_at is 'When trending was last recomputed.';
comment on column app_public.trending_items.post_id is 'The post, when kind is post.';
comment on column app_public.trending_items.question_id is 'The question, when kind is question.';

create function app_public.leaderboard(period text) returns setof app_public.leaderboard_entries
  -- No SET clause: PostgreSQL inlines it, so a page reads only its rows by the (period, rank) index.
  language sql stable as $$
  select * from app_public.leaderboard_entries e where e.period = leaderboard.period order by e.rank
$$;
grant execute on function app_public.leaderboard(text) to anonymous, authenticated;
comment on function app_public.leaderboard(text) is 'A leaderboard, best first: period is week (last 7 days), month (last 30 days) or all.';

create function app_public.trending(kind text) returns setof app_public.trending_items
  -- No SET clause: PostgreSQL inlines it, so a page reads only its rows by the (period, rank) index.
  language sql stable as $$
  select * from app_public.trending_items t where t.kind = trending.kind order by t.rank
$$;
grant execute on function app_public.trending(text) to anonymous, authenticated;
comment on function app_public.trending(text) is 'The trending posts (kind post) or questions (kind question), most trending first.';

--------------------------------------------------------------------------------
-- Analytics: read-only views for the analyst role (owned by the owner, so they
-- read what analysts cannot: no e-mail, secret, token, IP or session column
-- appears in them; test/reputation/analytics.test.ts checks the catalog).
create view app_analytics.trending as
select t.kind, t.rank, t.id, t.score, t.computed_at from app_private.trending_scores t;
grant select on app_analytics.trending to analyst;
comment on view app_analytics.trending is 'The trending posts and questions as last computed (kind, rank, id, score).';

create view app_analytics.leaderboards as
select l.period, l.rank, l.user_id, u.username::text as username, l.points, l.computed_at
  from app_private.leaderboard_scores l join app_public.users u on u.id = l.user_id;
grant select on app_analytics.leaderboards to analyst;
comment on view app_analytics.leaderboards is 'The leaderboards as last computed: period (week, month, all), rank, member, points gained.';

create view app_analytics.daily_active_users as
with activity (user_id, day) as (
  select s.user_id, (s.created_at at time zone 'UTC')::date from app_private.sessions s
  union
  select s.user_id, (s.last_active_at at time zone 'UTC')::date from app_private.sessions s
  union
  select p.author_id, (p.created_at at time zone 'UTC')::date from app_public.posts p
  union
  select q.author_id, (q.created_at at time zone 'UTC')::date from app_public.questions q
  union
  select a.author_id, (a.created_at at time zone 'UTC')::date from app_public.answers a
  union
  select c.author_id, (c.created_at at time zone 'UTC')::date from app_public.comments c
  union
  select r.user_id, (r.created_at at time zone 'UTC')::date from app_public.reactions r
)
select day, count(distinct user_id)::integer as active_members from activity group by day;
grant select on app_analytics.daily_active_users to analyst;
comment on view app_analytics.daily_active_users is 'Members active per UTC day. Active: signed in (a session started), a session was last active, or wrote a post, question, answer, comment or reaction that day. Sessions keep only their last activity, so a member who only read on earlier days of a long session is not counted for those days.';

create view app_analytics.content_per_category_day as
with content (category_id, day, posts, questions, answers, comments, likes) as (
  select p.category_id, (p.published_at at time zone 'UTC')::date, 1, 0, 0, 0, 0
    from app_public.posts p where p.status in ('published', 'archived')
  union all
  select q.category_id, (q.published_at at time zone 'UTC')::date, 0, 1, 0, 0, 0
    from app_public.questions q where q.status in ('published', 'archived')
  union all
  select q.category_id, (a.created_at at time zone 'UTC')::date, 0, 0, 1, 0, 0
    from app_public.answers a join app_public.questions q on q.id = a.question_id
   where a.status in ('published', 'archived')
  union all
  select coalesce(p.category_id, q.category_id, aq.category_id), (c.created_at at time zone 'UTC')::date, 0, 0, 0, 1, 0
    from app_public.comments c
    left join app_public.posts p on p.id = c.post_id
    left join app_public.questions q on q.id = c.question_id
    left join app_public.answers a on a.id = c.answer_id
    left join app_public.questions aq on aq.id = a.question_id
   where c.status in ('published', 'archived')
  union all
  select coalesce(p.category_id, q.category_id, aq.category_id), (r.created_at at time zone 'UTC')::date, 0, 0, 0, 0, 1
    from app_public.reactions r
    left join app_public.posts p on p.id = r.post_id
    left join app_public.questions q on q.id = r.question_id
    left join app_public.answers a on a.id = r.answer_id
    left join app_public.questions aq on aq.id = a.question_id
   where r.kind = 'like' and r.comment_id is null
)
select c.category_id, cat.slug::text as category_slug, c.day,
       sum(c.posts)::integer as posts, sum(c.questions)::integer as questions, sum(c.answers)::integer as answers,
       sum(c.comments)::integer as comments, sum(c.likes)::integer as likes
  from content c left join app_public.categories cat on cat.id = c.category_id
 group by c.category_id, cat.slug, c.day;
grant select on app_analytics.content_per_category_day to analyst;
comment on view app_analytics.content_per_category_day is 'Per category (null: none) and UTC day: posts and questions published, answers, comments and likes (on posts, questions, answers) written. Answers and comments count in their question''s or post''s category. Removed content is not counted.';

create view app_analytics.reputation_distribution as
with thresholds as (
  -- The level.* settings, read here rather than through app_public.users_level(): a view runs
  -- functions with the reader's rights, and the analyst may call none.
  select max(case s.key when 'level.beginner' then (s.value #>> '{}')::integer end) as beginner,
         max(case s.key when 'level.intermediate' then (s.value #>> '{}')::integer end) as intermediate,
         max(case s.key when 'level.advanced' then (s.value #>> '{}')::integer end) as advanced,
         max(case s.key when 'level.expert' then (s.value #>> '{}')::integer end) as expert
    from app_private.settings s where s.key like 'level.%'
)
select case when u.reputation >= t.expert then 'expert'
            when u.reputation >= t.advanced then 'advanced'
            when u.reputation >= t.intermediate then 'intermediate'
            when u.reputation >= t.beginner then 'beginner'
            else 'newcomer' end as level,
       count(*)::integer as members,
       min(u.reputation) as min_reputation, max(u.reputation) as max_reputation,
       percentile_cont(0.5) within group (order by u.reputation) as median_reputation
  from app_public.users u, thresholds t
 where u.is_active
 group by 1;
grant select on app_analytics.reputation_distribution to analyst;
comment on view app_analytics.reputation_distribution is 'Active members per level: how many, and their lowest, highest and median reputation.';


-- === jobs board ===
-- Job postings by holders of job:post, applications with their status
-- workflow, the status history, the employer's private reviews, and the
-- analysts' funnel. docs/jobs.md describes the rules; every rule is here.

drop view if exists app_analytics.job_funnel;
drop table if exists app_public.job_application_reviews cascade;
drop table if exists app_public.job_application_events cascade;
drop table if exists app_public.job_applications cascade;
drop table if exists app_public.job_postings cascade;
drop function if exists app_hidden.is_job_employer(uuid);
drop function if exists app_hidden.job_posting_visible(app_public.job_status, uuid);
drop function if exists app_hidden.job_postings_tagged(text);
drop function if exists app_hidden.job_postings_by_salary(numeric, numeric);
drop function if exists app_hidden.job_postings_of_type(app_public.job_employment_type);
drop function if exists app_hidden.job_postings_with_workplace(app_public.job_workplace);
drop function if exists app_hidden.can_see_job_application(uuid);
drop function if exists app_private.tg_job_postings__rules();
drop function if exists app_private.tg_job_applications__before_insert();
drop function if exists app_private.tg_job_applications__before_update();
drop function if exists app_private.tg_job_applications__after_write();
drop function if exists app_public.record_job_view(uuid);
drop type if exists app_public.job_employment_type;
drop type if exists app_public.job_workplace;
drop type if exists app_public.job_status;
drop type if exists app_public.job_salary_period;
drop type if exists app_public.job_application_status;

-- Who may post: the new role `employer` (granted by admins with grantRole)
-- and admin (who holds every permission). Plain members no longer post jobs.
insert into app_public.roles (id, description)
  values ('employer', 'Posts jobs and reviews the applications to them')
  on conflict (id) do update set description = excluded.description;
insert into app_public.permissions (id, description)
  values ('job:moderate', 'See every job posting and application; edit, pause, close or delete any posting')
  on conflict (id) do update set description = excluded.description;
delete from app_public.role_permissions where permission_id = 'job:post' and role_id in ('user', 'reviewer', 'moderator');
insert into app_public.role_permissions (role_id, permission_id)
  values ('employer', 'job:post'), ('admin', 'job:post'), ('admin', 'job:moderate')
  on conflict do nothing;

create type app_public.job_employment_type as enum ('full_time', 'part_time', 'contract', 'temporary', 'internship', 'volunteer', 'freelance');
comment on type app_public.job_employment_type is 'The kind of employment a job offers.';
create type app_public.job_workplace as enum ('remote', 'hybrid', 'on_site');
comment on type app_public.job_workplace is 'Where the work happens: remote, hybrid or on site.';
create type app_public.job_status as enum ('draft', 'active', 'paused', 'closed', 'filled');
comment on type app_public.job_status is
  'draft (only the employer sees it) → active (accepting applications) ⇄ paused → closed or filled (final: never reopens).';
create type app_public.job_salary_period as enum ('hour', 'day', 'week', 'month', 'year');
comment on type app_public.job_salary_period is 'The period a salary amount is paid for.';
create type app_public.job_application_status as enum
  ('pending', 'reviewing', 'shortlisted', 'interviewed', 'accepted', 'rejected', 'withdrawn');
comment on type app_public.job_application_status is
  'pending → reviewing → shortlisted → interviewed → accepted; rejected from any of the first four (set by the employer); withdrawn from any of the first four (set by the applicant). accepted, rejected and withdrawn are final.';

-- ---------------------------------------------------------------------------
create function app_hidden.job_posting_visible(status app_public.job_status, employer_id uuid) returns boolean
  language sql stable
as $$
  select status <> 'draft'
      or employer_id = app_public.current_user_id()
      or app_public.current_user_has_permission('job:moderate')
$$;
grant execute on function app_hidden.job_posting_visible(app_public.job_status, uuid) to anonymous, authenticated;
comment on function app_hidden.job_posting_visible(app_public.job_status, uuid) is
  'The visibility rule of a job posting: every status but draft is public; drafts only to their employer and to job:moderate. Used by the select policy and by the filter functions.';

create table app_public.job_postings (
  id uuid primary key default gen_random_uuid(),
  employer_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  organization_name text constraint job_organization_name_length check (char_length(organization_name) between 1 and 200),
  title text not null constraint job_title_length check (char_length(title) between 3 and 200),
  description text not null constraint job_description_length check (char_length(description) between 1 and 50000),
  requirements text constraint job_requirements_length check (char_length(requirements) <= 20000),
  responsibilities text constraint job_responsibilities_length check (char_length(responsibilities) <= 20000),
  employment_type app_public.job_employment_type not null default 'full_time',
  location text constraint job_location_length check (char_length(location) between 1 and 200),
  workplace app_public.job_workplace not null default 'on_site',
  salary_min numeric(12, 2) constraint job_salary_min_positive check (salary_min >= 0),
  salary_max numeric(12, 2) constraint job_salary_max_positive check (salary_max >= 0),
  salary_currency text constraint job_salary_currency_format check (salary_currency ~ '^[A-Z]{3}$'),
  salary_period app_public.job_salary_period,
  salary_range numrange generated always as (
    case when salary_min is null and salary_max is null then null else numrange(salary_min, salary_max, '[]') end
  ) stored,
  application_deadline timestamptz,
  starts_on date,
  tags text[] not null default '{}',
  category_id uuid references app_public.categories on delete set null,
  status app_public.job_status not null default 'draft',
  published_at timestamptz,
  closed_at timestamptz,
  view_count integer not null default 0,
  application_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint job_salary_range_order check (salary_min is null or salary_max is null or salary_min <= salary_max),
  constraint job_salary_terms check (
    (salary_min is null and salary_max is null) or (salary_currency is not null and salary_period is not null))
);
alter table app_public.job_postings enable row level security;
create policy select_visible on app_public.job_postings for select
  using (app_hidden.job_posting_visible(status, employer_id));
create policy insert_own on app_public.job_postings for insert
  with check (employer_id = (select app_public.current_user_id()) and (select app_public.current_user_has_permission('job:post')));
create policy update_own_or_moderate on app_public.job_postings for update
  using (employer_id = (select app_public.current_user_id()) or (select app_public.current_user_has_permission('job:moderate')));
create policy delete_draft_or_moderate on app_public.job_postings for delete
  using ((status = 'draft' and employer_id = (select app_public.current_user_id()))
         or (select app_public.current_user_has_permission('job:moderate')));
grant select on app_public.job_postings to anonymous, authenticated;
grant insert (organization_name, title, description, requirements, responsibilities, employment_type, location, workplace,
              salary_min, salary_max, salary_currency, salary_period, application_deadline, starts_on, tags, category_id, status)
  on app_public.job_postings to authenticated;
grant update (organization_name, title, description, requirements, responsibilities, employment_type, location, workplace,
              salary_min, salary_max, salary_currency, salary_period, application_deadline, starts_on, tags, category_id, status)
  on app_public.job_postings to authenticated;
grant delete on app_public.job_postings to authenticated;
comment on table app_public.job_postings is 'A job offered by an employer (a member holding job:post). Drafts are seen only by their employer; every other status is public.';
comment on column app_public.job_postings.id is 'The posting''s id.';
comment on column app_public.job_postings.employer_id is 'The member who posted the job and reviews its applications. Cannot change.';
comment on column app_public.job_postings.organization_name is 'The hiring organisation''s name, 1–200 characters, if the employer gives one.';
comment on column app_public.job_postings.title is 'Job title, 3–200 characters.';
comment on column app_public.job_postings.description is 'Markdown, stored as written; descriptionHtml renders it, sanitised. At most 50 000 characters.';
comment on column app_public.job_postings.requirements is 'What the candidate needs (markdown; requirementsHtml renders it). At most 20 000 characters.';
comment on column app_public.job_postings.responsibilities is 'What the job involves (markdown; responsibilitiesHtml renders it). At most 20 000 characters.';
comment on column app_public.job_postings.employment_type is '@behavior -filterBy
Full time (default), part time, contract, temporary, internship, volunteer or freelance.';
comment on column app_public.job_postings.location is 'Where the job is, free text (e.g. "Berlin, Germany"); the location filter matches it exactly.';
comment on column app_public.job_postings.workplace is '@behavior -filterBy
Remote, hybrid or on site (default).';
comment on column app_public.job_postings.salary_min is 'Lowest salary offered per salary period, in salary currency; at most salary max.';
comment on column app_public.job_postings.salary_max is 'Highest salary offered per salary period, in salary currency; at least salary min.';
comment on column app_public.job_postings.salary_currency is 'ISO 4217 code (e.g. EUR), required when a salary is given.';
comment on column app_public.job_postings.salary_period is 'The period the salary is paid for, required when a salary is given.';
comment on column app_public.job_postings.salary_range is '@behavior -*
The salary as a range [min, max] for the salary filters (an open end when one bound is missing). Set by the database.';
comment on column app_public.job_postings.application_deadline is 'Applications are refused from this moment on (compared with the current time at each application; no job runs). Null: no deadline.';
comment on column app_public.job_postings.starts_on is 'The expected start date, if known.';
comment on column app_public.job_postings.tags is 'Up to 5 tags, stored lower-case, trimmed, sorted and without duplicates.';
comment on column app_public.job_postings.category_id is 'The category of the job; null if none (or if the category was deleted).';
comment on column app_public.job_postings.status is 'draft (default), active, paused, closed or filled; see JobStatus. Only active jobs accept applications.';
comment on column app_public.job_postings.published_at is 'When the job first became active; set by the database, then kept. "Posted since" and "newest" use it.';
comment on column app_public.job_postings.closed_at is 'When the job was closed or filled; set by the database.';
comment on column app_public.job_postings.view_count is 'How many times the job was viewed (recordJobView). Maintained by the database.';
comment on column app_public.job_postings.application_count is 'How many applications the job received, withdrawn ones not counted. Maintained by the database.';
comment on column app_public.job_postings.created_at is 'When the posting was created.';
comment on column app_public.job_postings.updated_at is 'When the posting last changed. Set by the database.';
create index job_postings_employer_id_idx on app_public.job_postings (employer_id);
create index job_postings_category_published_idx on app_public.job_postings (category_id, published_at);
create index job_postings_published_at_idx on app_public.job_postings (published_at);
create index job_postings_deadline_idx on app_public.job_postings (application_deadline);
create index job_postings_salary_max_idx on app_public.job_postings (salary_max);
create index job_postings_salary_min_idx on app_public.job_postings (salary_min);
create index job_postings_salary_range_idx on app_public.job_postings using gist (salary_range);
create index job_postings_employment_type_published_idx on app_public.job_postings (employment_type, published_at);
create index job_postings_workplace_published_idx on app_public.job_postings (workplace, published_at);
create index job_postings_salary_currency_idx on app_public.job_postings (salary_currency);
create index job_postings_location_idx on app_public.job_postings (location);
create index job_postings_status_idx on app_public.job_postings (status);
create index job_postings_tags_idx on app_public.job_postings using gin (tags);

create function app_private.tg_job_postings__rules() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Definer rights: calls app_private.normalize_tags, which the API roles cannot.
  new.tags := app_private.normalize_tags(new.tags);
  if tg_op = 'INSERT' then
    if new.status not in ('draft', 'active') then
      raise exception 'A new job is a draft or active, not %', new.status
        using errcode = 'JOBTR', detail = json_build_object('from', null, 'to', new.status)::text;
    end if;
  elsif new.status is distinct from old.status then
    if not (
         (old.status = 'draft' and new.status = 'active')
      or (old.status = 'active' and new.status in ('paused', 'closed', 'filled'))
      or (old.status = 'paused' and new.status in ('active', 'closed', 'filled'))
    ) then
      raise exception 'A job cannot go from % to %', old.status, new.status
        using errcode = 'JOBTR', detail = json_build_object('from', old.status, 'to', new.status)::text;
    end if;
  end if;
  if new.status <> 'draft' then
    new.published_at := coalesce(case when tg_op = 'UPDATE' then old.published_at end, now());
  end if;
  if new.status in ('closed', 'filled') then
    new.closed_at := coalesce(case when tg_op = 'UPDATE' then old.closed_at end, now());
  end if;
  return new;
end;
$$;
comment on function app_private.tg_job_postings__rules() is
  'Trigger: normalises tags, enforces the job status transitions (JOBTR), stamps published_at and closed_at.';
create trigger _100_timestamps before insert or update on app_public.job_postings
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert or update on app_public.job_postings
  for each row execute function app_private.tg_job_postings__rules();

create function app_public.job_postings_is_accepting_applications(job app_public.job_postings) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select job.status = 'active' and (job.application_deadline is null or job.application_deadline > now())
$$;
grant execute on function app_public.job_postings_is_accepting_applications(app_public.job_postings) to anonymous, authenticated;
comment on function app_public.job_postings_is_accepting_applications(app_public.job_postings) is
  'Whether the job accepts applications now: active and before its deadline.';

-- Security definer: anyone may count a view of a public job without the right to update it.
create function app_public.record_job_view(job_id uuid) returns integer
  language sql volatile security definer
  set search_path = pg_catalog, public
as $$
  update app_public.job_postings j set view_count = view_count + 1
   where j.id = record_job_view.job_id and j.status <> 'draft'
  returning view_count
$$;
grant execute on function app_public.record_job_view(uuid) to anonymous, authenticated;
comment on function app_public.record_job_view(uuid) is 'Counts one view of a public (not draft) job; returns the new count.';

-- The list filters whose operators are not leakproof (enum =, array @>,
-- range &&): under row-level security PostgreSQL would check the policy on
-- every row before them and never use their indexes. Each filter is this
-- function instead: definer rights (no row policy), the visibility rule
-- stated by app_hidden.job_posting_visible, and the index. The jobs list
-- keeps the rows whose id is in the set (uuid = is leakproof).
create function app_hidden.job_postings_tagged(tag text) returns setof uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select j.id from app_public.job_postings j
   where j.tags @> array[lower(job_postings_tagged.tag)] and app_hidden.job_posting_visible(j.status, j.employer_id)
$$;
grant execute on function app_hidden.job_postings_tagged(text) to anonymous, authenticated;
comment on function app_hidden.job_postings_tagged(text) is 'Ids of the visible jobs carrying this tag (GIN index on tags). Security definer: see the note above it in the migration.';

create function app_hidden.job_postings_by_salary(salary_from numeric, salary_to numeric) returns setof uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select j.id from app_public.job_postings j
   where j.salary_range && numrange(job_postings_by_salary.salary_from, job_postings_by_salary.salary_to, '[]')
     and app_hidden.job_posting_visible(j.status, j.employer_id)
$$;
grant execute on function app_hidden.job_postings_by_salary(numeric, numeric) to anonymous, authenticated;
comment on function app_hidden.job_postings_by_salary(numeric, numeric) is 'Ids of the visible jobs whose salary range overlaps [salary_from, salary_to] (null: open end; GiST index on salary_range). Security definer: leakproofness, as above.';

create function app_hidden.job_postings_of_type(employment_type app_public.job_employment_type) returns setof uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select j.id from app_public.job_postings j
   where j.employment_type = job_postings_of_type.employment_type and app_hidden.job_posting_visible(j.status, j.employer_id)
$$;
grant execute on function app_hidden.job_postings_of_type(app_public.job_employment_type) to anonymous, authenticated;
comment on function app_hidden.job_postings_of_type(app_public.job_employment_type) is 'Ids of the visible jobs of this employment type (index on employment_type). Security definer: leakproofness, as above.';

create function app_hidden.job_postings_with_workplace(workplace app_public.job_workplace) returns setof uuid
  language sql stable security definer
  set search_path = pg_catalog, public
as $$
  select j.id from app_public.job_postings j
   where j.workplace = job_postings_with_workplace.workplace and app_hidden.job_posting_visible(j.status, j.employer_id)
$$;
grant execute on function app_hidden.job_postings_with_workplace(app_public.job_workplace) to anonymous, authenticated;
comment on function app_hidden.job_postings_with_workplace(app_public.job_workplace) is 'Ids of the visible jobs with this workplace (index on workplace). Security definer: leakproofness, as above.';

create function app_hidden.is_job_employer(job_id uuid) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select exists (select 1 from app_public.job_postings j
                  where j.id = is_job_employer.job_id and j.employer_id = app_public.current_user_id())
$$;
grant execute on function app_hidden.is_job_employer(uuid) to anonymous, authenticated;
comment on function app_hidden.is_job_employer(uuid) is 'Whether the signed-in member posted this job. Shared by the application policies.';

-- ---------------------------------------------------------------------------
create table app_public.job_applications (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references app_public.job_postings on delete cascade,
  applicant_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  cover_letter text constraint job_application_cover_letter_length check (char_length(cover_letter) <= 10000),
  status app_public.job_application_status not null default 'pending',
  status_changed_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint job_applications_one_per_applicant unique (job_id, applicant_id)
);
alter table app_public.job_applications enable row level security;
create policy select_party on app_public.job_applications for select
  using (applicant_id = (select app_public.current_user_id()) or app_hidden.is_job_employer(job_id)
         or (select app_public.current_user_has_permission('job:moderate')));
create policy insert_own on app_public.job_applications for insert
  with check (applicant_id = (select app_public.current_user_id()));
create policy update_party on app_public.job_applications for update
  using (applicant_id = (select app_public.current_user_id()) or app_hidden.is_job_employer(job_id));
grant select on app_public.job_applications to anonymous, authenticated;
grant insert (job_id, cover_letter) on app_public.job_applications to authenticated;
grant update (cover_letter, status) on app_public.job_applications to authenticated;
comment on table app_public.job_applications is 'A member''s application to a job: one per member and job. Seen by the applicant, the job''s employer and admins.';
comment on column app_public.job_applications.id is 'The application''s id.';
comment on column app_public.job_applications.job_id is 'The job applied to: active and before its deadline at the time of applying.';
comment on column app_public.job_applications.applicant_id is 'The member who applied (the signed-in member). Cannot change.';
comment on column app_public.job_applications.cover_letter is 'The cover letter, at most 10 000 characters; the applicant may change it while the application is pending.';
comment on column app_public.job_applications.status is 'See JobApplicationStatus: the employer moves it forward or rejects; the applicant may only withdraw.';
comment on column app_public.job_applications.status_changed_at is 'When the status last changed. Set by the database.';
comment on column app_public.job_applications.created_at is 'When the member applied.';
comment on column app_public.job_applications.updated_at is 'When the application last changed. Set by the database.';
create index job_applications_applicant_id_idx on app_public.job_applications (applicant_id);

create function app_private.tg_job_applications__before_insert() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_job app_public.job_postings;
  v_previous app_public.job_application_status;
begin
  -- Definer rights: reads the job whatever its visibility, and locks it so
  -- that applications to one job (and its status changes) queue: the
  -- duplicate check below then sees a concurrent twin once it committed.
  select * into v_job from app_public.job_postings j where j.id = new.job_id for no key update;
  if not found or v_job.status = 'draft' then
    raise exception 'No such job' using errcode = 'NOTFD';
  end if;
  if v_job.employer_id = new.applicant_id then
    raise exception 'You cannot apply to your own job' using errcode = 'JOBOW';
  end if;
  if v_job.status <> 'active' then
    raise exception 'This job is not accepting applications (it is %)', v_job.status
      using errcode = 'JOBCL', detail = json_build_object('status', v_job.status)::text;
  end if;
  if v_job.application_deadline is not null and v_job.application_deadline <= now() then
    raise exception 'The application deadline has passed' using errcode = 'JOBDL';
  end if;
  select a.status into v_previous from app_public.job_applications a
   where a.job_id = new.job_id and a.applicant_id = new.applicant_id;
  if found then
    raise exception '%', case when v_previous = 'withdrawn'
        then 'You withdrew your application to this job; it cannot be submitted again'
        else 'You have already applied to this job' end
      using errcode = 'APPEX', detail = json_build_object('status', v_previous)::text;
  end if;
  new.status := 'pending';
  new.status_changed_at := now();
  return new;
end;
$$;
comment on function app_private.tg_job_applications__before_insert() is
  'Trigger: a member applies only to an active job before its deadline (JOBCL, JOBDL), never to their own (JOBOW), once (APPEX).';

create function app_private.tg_job_applications__before_update() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_actor uuid := app_public.current_user_id();
  v_employer uuid;
begin
  -- Definer rights: reads the job's employer without depending on the caller's view of it.
  select j.employer_id into v_employer from app_public.job_postings j where j.id = new.job_id;
  if new.cover_letter is distinct from old.cover_letter then
    if v_actor is distinct from old.applicant_id then
      raise exception 'Only the applicant may change the cover letter' using errcode = 'FORBD';
    end if;
    if old.status <> 'pending' then
      raise exception 'The cover letter can change only while the application is pending' using errcode = 'APPTR',
        detail = json_build_object('from', old.status, 'to', new.status)::text;
    end if;
  end if;
  if new.status is distinct from old.status then
    if old.status in ('accepted', 'rejected', 'withdrawn') then
      raise exception 'The application is % and cannot change any more', old.status using errcode = 'APPTR',
        detail = json_build_object('from', old.status, 'to', new.status)::text;
    end if;
    if new.status = 'withdrawn' then
      if v_actor is distinct from old.applicant_id then
        raise exception 'Only the applicant may withdraw an application' using errcode = 'FORBD';
      end if;
    else
      if v_actor is distinct from v_employer then
        raise exception 'Only the job''s employer may set an application to %', new.status using errcode = 'FORBD';
      end if;
      if not (
           (old.status = 'pending' and new.status = 'reviewing')
        or (old.status = 'reviewing' and new.status = 'shortlisted')
        or (old.status = 'shortlisted' and new.status = 'interviewed')
        or (old.status = 'interviewed' and new.status = 'accepted')
        or new.status = 'rejected'
      ) then
        raise exception 'An application cannot go from % to %', old.status, new.status using errcode = 'APPTR',
          detail = json_build_object('from', old.status, 'to', new.status)::text;
      end if;
    end if;
    new.status_changed_at := now();
  end if;
  return new;
end;
$$;
comment on function app_private.tg_job_applications__before_update() is
  'Trigger: enforces the application status transitions (APPTR) and who may make them (FORBD): the employer reviews, the applicant withdraws or edits the cover letter while pending.';

create trigger _100_timestamps before insert or update on app_public.job_applications
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert on app_public.job_applications
  for each row execute function app_private.tg_job_applications__before_insert();
create trigger _210_transitions before update on app_public.job_applications
  for each row execute function app_private.tg_job_applications__before_update();

-- ---------------------------------------------------------------------------
create function app_hidden.can_see_job_application(application_id uuid) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select exists (select 1 from app_public.job_applications a where a.id = can_see_job_application.application_id)
$$;
grant execute on function app_hidden.can_see_job_application(uuid) to anonymous, authenticated;
comment on function app_hidden.can_see_job_application(uuid) is
  'Whether the caller may see this application (through its row-level security: applicant, employer, job:moderate). Used by the history policy.';

create table app_public.job_application_events (
  id bigint primary key generated always as identity,
  application_id uuid not null references app_public.job_applications on delete cascade,
  actor_id uuid references app_public.users on delete set null,
  from_status app_public.job_application_status,
  to_status app_public.job_application_status not null,
  created_at timestamptz not null default now()
);
alter table app_public.job_application_events enable row level security;
create policy select_party on app_public.job_application_events for select
  using (app_hidden.can_see_job_application(application_id));
grant select on app_public.job_application_events to anonymous, authenticated;
comment on table app_public.job_application_events is 'The status history of an application: who changed it from what to what, when. Written by the database; seen by the applicant, the employer and admins. Private notes are not here (JobApplicationReview).';
comment on column app_public.job_application_events.id is 'The event''s id, increasing.';
comment on column app_public.job_application_events.application_id is 'The application whose status changed.';
comment on column app_public.job_application_events.actor_id is 'Who changed it: the applicant (applying, withdrawing) or the employer; null if that account was deleted or the change was made by the system.';
comment on column app_public.job_application_events.from_status is 'The status before; null for the submission.';
comment on column app_public.job_application_events.to_status is 'The status after.';
comment on column app_public.job_application_events.created_at is 'When it changed.';
create index job_application_events_application_idx on app_public.job_application_events (application_id, id);
create index job_application_events_actor_id_idx on app_public.job_application_events (actor_id);

create function app_private.tg_job_applications__after_write() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Definer rights: writes the history and the job's counter, which the API roles cannot.
  -- Notifications (application received → employer; status changed → applicant)
  -- will be enqueued here when notifications exist (docs/jobs.md).
  if tg_op = 'INSERT' then
    insert into app_public.job_application_events (application_id, actor_id, from_status, to_status)
      values (new.id, app_public.current_user_id(), null, new.status);
    update app_public.job_postings set application_count = application_count + 1 where id = new.job_id;
  elsif tg_op = 'UPDATE' then
    if new.status is distinct from old.status then
      insert into app_public.job_application_events (application_id, actor_id, from_status, to_status)
        values (new.id, app_public.current_user_id(), old.status, new.status);
      if new.status = 'withdrawn' then
        update app_public.job_postings set application_count = application_count - 1 where id = new.job_id;
      end if;
    end if;
  elsif old.status <> 'withdrawn' then
    update app_public.job_postings set application_count = application_count - 1 where id = old.job_id;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_job_applications__after_write() is
  'Trigger: records each status change in job_application_events and keeps the job''s application_count (withdrawn not counted).';
create trigger _500_after_write after insert or update or delete on app_public.job_applications
  for each row execute function app_private.tg_job_applications__after_write();

-- ---------------------------------------------------------------------------
create table app_public.job_application_reviews (
  application_id uuid primary key references app_public.job_applications on delete cascade,
  reviewer_id uuid not null default app_public.current_user_id() references app_public.users on delete cascade,
  notes text constraint job_application_review_notes_length check (char_length(notes) <= 10000),
  rating smallint constraint job_application_review_rating_range check (rating between 1 and 5),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table app_public.job_application_reviews enable row level security;
create policy employer_only on app_public.job_application_reviews for all
  using (exists (select 1 from app_public.job_applications a
                  where a.id = application_id and app_hidden.is_job_employer(a.job_id)))
  with check (reviewer_id = (select app_public.current_user_id())
              and exists (select 1 from app_public.job_applications a
                           where a.id = application_id and app_hidden.is_job_employer(a.job_id)));
grant select on app_public.job_application_reviews to anonymous, authenticated;
grant delete on app_public.job_application_reviews to authenticated;
grant insert (application_id, notes, rating) on app_public.job_application_reviews to authenticated;
grant update (notes, rating) on app_public.job_application_reviews to authenticated;
comment on table app_public.job_application_reviews is 'The employer''s private notes and rating of an application: readable and writable only by the job''s employer (not the applicant, not admins).';
comment on column app_public.job_application_reviews.application_id is 'The application reviewed (one review per application).';
comment on column app_public.job_application_reviews.reviewer_id is 'The employer who wrote the review.';
comment on column app_public.job_application_reviews.notes is 'Private notes, at most 10 000 characters.';
comment on column app_public.job_application_reviews.rating is 'A private rating from 1 to 5.';
comment on column app_public.job_application_reviews.created_at is 'When the review was first written.';
comment on column app_public.job_application_reviews.updated_at is 'When the review last changed. Set by the database.';
create index job_application_reviews_reviewer_id_idx on app_public.job_application_reviews (reviewer_id);
create trigger _100_timestamps before insert or update on app_public.job_application_reviews
  for each row execute function app_private.tg__timestamps();

-- ---------------------------------------------------------------------------
create view app_analytics.job_funnel as
  select a.job_id, j.category_id, date_trunc('week', a.created_at) as week, a.status, count(*)::integer as applications
    from app_public.job_applications a
    join app_public.job_postings j on j.id = a.job_id
   group by a.job_id, j.category_id, date_trunc('week', a.created_at), a.status;
grant select on app_analytics.job_funnel to analyst;
comment on view app_analytics.job_funnel is
  'Applications per job, category, week applied (Monday, UTC) and current status; sum over job_id for per-category figures. No personal data.';


-- === chat ===
-- Rooms (public, private, direct), members with room roles, messages with one
-- level of threads, edit history, soft delete, reactions with counts, mentions,
-- read state, pins, mutes, blocks and typed system messages. Every rule is
-- enforced here (RLS, triggers, functions), so psql and jobs meet the same rules
-- as the API. See docs/chat.md.

drop function if exists app_public.my_room_unreads();
drop function if exists app_public.messages_around(uuid, integer);
drop function if exists app_public.open_direct_room(uuid);
drop function if exists app_public.transfer_room_ownership(uuid, uuid);
drop function if exists app_public.set_room_member_role(uuid, uuid, app_public.room_role);
drop function if exists app_public.mark_room_read(uuid, uuid);
drop function if exists app_public.toggle_reaction(uuid, text);
drop function if exists app_public.delete_message(uuid);
drop function if exists app_public.pin_message(uuid);
drop function if exists app_public.unpin_message(uuid);
drop function if exists app_public.mute_room_member(uuid, uuid, timestamptz, text);
drop function if exists app_public.unmute_room_member(uuid, uuid);
drop table if exists app_public.room_pins cascade;
drop table if exists app_public.message_mentions cascade;
drop table if exists app_public.message_reaction_counts cascade;
drop table if exists app_public.message_reactions cascade;
drop table if exists app_public.message_revisions cascade;
drop table if exists app_public.messages cascade;
drop table if exists app_public.room_members cascade;
drop table if exists app_public.rooms cascade;
drop table if exists app_public.user_blocks cascade;
drop function if exists app_hidden.room_is_being_created(uuid);
drop function if exists app_hidden.room_role(uuid);
drop function if exists app_hidden.room_readable(uuid);
drop function if exists app_hidden.is_blocked_between(uuid, uuid);
drop function if exists app_hidden.can_moderate_room(uuid, text);
drop type if exists app_public.room_kind;
drop type if exists app_public.room_role;
drop type if exists app_public.message_kind;

create type app_public.room_kind as enum ('public', 'private', 'direct');
comment on type app_public.room_kind is 'public: any member may find, read and join; private: invite only, invisible to non-members; direct: exactly two people.';
create type app_public.room_role as enum ('owner', 'admin', 'member');
comment on type app_public.room_role is 'A member''s role in a room: owner (everything, hands over with transferRoomOwnership), admin (invites, removes, mutes, pins, edits the room), member.';
create type app_public.message_kind as enum ('text', 'join', 'leave', 'remove', 'rename', 'pin');
comment on type app_public.message_kind is 'text: written by a member; the others are system messages written by the database (join, leave, remove: subjectUserId; rename: systemData {oldName, newName}; pin: subjectMessageId), typed so clients can localise them.';

insert into app_private.settings (key, value, description) values
  ('rate_limit.message:send', '{"max": 30, "window": "1 minute"}', 'Chat messages a member may send per minute (all rooms together)'),
  ('chat.max_pins', '3', 'Pinned messages per chat room')
on conflict (key) do nothing;

--------------------------------------------------------------------------------
-- user_blocks

create table app_public.user_blocks (
  blocker_id uuid not null default app_public.current_user_id() references app_public.users(id) on delete cascade,
  blocked_id uuid not null references app_public.users(id) on delete cascade,
  created_at timestamptz not null default now(),
  constraint user_blocks_pkey primary key (blocker_id, blocked_id),
  constraint user_blocks_not_self check (blocker_id <> blocked_id)
);
alter table app_public.user_blocks enable row level security;
create policy select_own on app_public.user_blocks for select
  using (blocker_id = (select app_public.current_user_id()));
create policy insert_own on app_public.user_blocks for insert
  with check (blocker_id = (select app_public.current_user_id()));
create policy delete_own on app_public.user_blocks for delete
  using (blocker_id = (select app_public.current_user_id()));
grant select on app_public.user_blocks to anonymous;
grant select, delete on app_public.user_blocks to authenticated;
grant insert (blocked_id) on app_public.user_blocks to authenticated;
comment on table app_public.user_blocks is 'A member''s blocks: the blocker no longer sees the blocked member''s chat messages, neither can open a direct room with the other, and an existing direct room between them is read-only. Only the blocker sees the block; delete it to unblock.';
comment on column app_public.user_blocks.blocker_id is 'The member who blocks (you).';
comment on column app_public.user_blocks.blocked_id is 'The member blocked.';
comment on column app_public.user_blocks.created_at is 'When the block was made.';
create index user_blocks_blocked_idx on app_public.user_blocks (blocked_id);

create or replace function app_hidden.is_blocked_between(a uuid, b uuid) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select exists (select 1 from app_public.user_blocks
                  where (blocker_id = a and blocked_id = b) or (blocker_id = b and blocked_id = a))
$$;
comment on function app_hidden.is_blocked_between(uuid, uuid) is 'Whether either member blocked the other. Security definer: a block is visible to its blocker only, but both sides are held to it.';
grant execute on function app_hidden.is_blocked_between(uuid, uuid) to anonymous, authenticated;

--------------------------------------------------------------------------------
-- rooms

create table app_public.rooms (
  id uuid primary key default gen_random_uuid(),
  kind app_public.room_kind not null default 'public',
  name text,
  slug text,
  description text not null default '',
  guidelines text not null default '',
  topic text not null default '',
  is_archived boolean not null default false,
  member_count integer not null default 0,
  created_by uuid default app_public.current_user_id() references app_public.users(id) on delete set null,
  direct_low_id uuid references app_public.users(id) on delete cascade,
  direct_high_id uuid references app_public.users(id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint room_name_length check (kind = 'direct' or char_length(name) between 1 and 80),
  constraint room_texts_length check (char_length(description) <= 1000 and char_length(guidelines) <= 5000 and char_length(topic) <= 250),
  constraint room_direct_pair check (
    (kind = 'direct') = (direct_low_id is not null and direct_high_id is not null)
    and (direct_low_id is null or direct_low_id < direct_high_id)),
  constraint rooms_slug_key unique (slug),
  constraint rooms_direct_pair_key unique (direct_low_id, direct_high_id)
);
--------------------------------------------------------------------------------
-- room_members

create table app_public.room_members (
  room_id uuid not null references app_public.rooms(id) on delete cascade,
  user_id uuid not null references app_public.users(id) on delete cascade,
  role app_public.room_role not null default 'member',
  joined_at timestamptz not null default now(),
  last_read_message_id uuid,
  last_read_at timestamptz,
  muted_until timestamptz,
  mute_reason text,
  muted_by uuid references app_public.users(id) on delete set null,
  constraint room_members_pkey primary key (room_id, user_id)
);

-- (rooms, continued: its policies need room_members)
alter table app_public.rooms enable row level security;

create or replace function app_hidden.room_role(room_id uuid) returns app_public.room_role
  language sql stable security definer set search_path = pg_catalog, public as $$
  select m.role from app_public.room_members m
   where m.room_id = room_role.room_id and m.user_id = app_public.current_user_id()
$$;
comment on function app_hidden.room_role(uuid) is 'The signed-in member''s role in a room, or null when not a member. Security definer so that policies on room_members can ask it without recursing.';
grant execute on function app_hidden.room_role(uuid) to anonymous, authenticated;

create or replace function app_hidden.room_readable(room_id uuid) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select exists (select 1 from app_public.rooms r where r.id = room_readable.room_id and r.kind = 'public')
      or app_hidden.room_role(room_id) is not null
$$;
comment on function app_hidden.room_readable(uuid) is 'Whether the signed-in user (or an anonymous visitor) may see a room and read it: public rooms to everyone, private and direct rooms to their members only. The one predicate of the chat tables'' select policies.';
grant execute on function app_hidden.room_readable(uuid) to anonymous, authenticated;

create or replace function app_hidden.can_moderate_room(room_id uuid, permission text) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select coalesce(app_hidden.room_role(room_id) in ('owner', 'admin'), false)
      or (app_public.current_user_has_permission(permission) and app_hidden.room_readable(room_id))
$$;
comment on function app_hidden.can_moderate_room(uuid, text) is 'Whether the signed-in user may act as a moderator in a room: a room owner or admin, or a holder of the platform permission (message:delete, message:pin, user:mute) in a room they can see.';
grant execute on function app_hidden.can_moderate_room(uuid, text) to anonymous, authenticated;

create or replace function app_hidden.room_is_being_created(room_id uuid) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select not exists (select 1 from app_public.room_members m where m.room_id = room_is_being_created.room_id)
$$;
comment on function app_hidden.room_is_being_created(uuid) is 'Whether a room has no members yet: true only while the statement creating it runs (its owner''s membership is added right after), so that the creator can read back the private room they just created. Security definer: counts members whatever the caller sees.';
grant execute on function app_hidden.room_is_being_created(uuid) to anonymous, authenticated;

create policy select_readable on app_public.rooms for select
  using (kind = 'public' or app_hidden.room_readable(id)
    or (created_by = (select app_public.current_user_id()) and app_hidden.room_is_being_created(id)));
create policy insert_own on app_public.rooms for insert
  with check (created_by = (select app_public.current_user_id()) and kind <> 'direct');
create policy update_admin on app_public.rooms for update
  using (app_hidden.room_role(id) in ('owner', 'admin'));
create policy delete_owner on app_public.rooms for delete
  using (app_hidden.room_role(id) = 'owner');
grant select on app_public.rooms to anonymous, authenticated;
grant insert (kind, name, slug, description, guidelines, topic) on app_public.rooms to authenticated;
grant update (name, description, guidelines, topic, is_archived) on app_public.rooms to authenticated;
grant delete on app_public.rooms to authenticated;
comment on table app_public.rooms is 'A chat room: public (anyone finds, reads and joins it), private (invite only; invisible to non-members) or direct (two people; open with openDirectRoom). The creator becomes its owner.';
comment on column app_public.rooms.id is 'The room''s id.';
comment on column app_public.rooms.kind is 'public, private or direct. Cannot change.';
comment on column app_public.rooms.name is 'The room''s name, 1–80 characters; null for a direct room. Renaming posts a rename system message.';
comment on column app_public.rooms.slug is 'The room''s URL fragment, unique; derived from the name when not given. Null for a direct room.';
comment on column app_public.rooms.description is 'What the room is for (at most 1000 characters).';
comment on column app_public.rooms.guidelines is 'The room''s rules, markdown (at most 5000 characters).';
comment on column app_public.rooms.topic is 'The current topic (at most 250 characters).';
comment on column app_public.rooms.is_archived is 'An archived room is read-only: no messages, edits or reactions (code ARCHV). Room admins archive and unarchive.';
comment on column app_public.rooms.member_count is 'How many members the room has. Maintained by the database.';
comment on column app_public.rooms.created_by is 'The member who created the room.';
comment on column app_public.rooms.direct_low_id is 'For a direct room: the lower of the two members'' ids (the pair is unique).';
comment on column app_public.rooms.direct_high_id is 'For a direct room: the higher of the two members'' ids.';
comment on column app_public.rooms.created_at is 'When the room was created.';
comment on column app_public.rooms.updated_at is 'When the room last changed. Set by the database.';
create index rooms_created_by_idx on app_public.rooms (created_by);
create index rooms_direct_high_idx on app_public.rooms (direct_high_id);

create or replace function app_private.tg_rooms__before_write() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'UPDATE' and new.kind is distinct from old.kind then
    raise exception 'A room''s kind cannot change' using errcode = 'INVAL';
  end if;
  if new.kind <> 'direct' and (tg_op = 'INSERT' or new.name is distinct from old.name) then
    perform app_private.assert_no_banned_words(array[new.name, new.topic, new.description]);
  end if;
  if tg_op = 'INSERT' and new.kind <> 'direct' and new.slug is null then
    new.slug := app_private.slugify(new.name) || '-' || left(replace(new.id::text, '-', ''), 8);
  end if;
  return new;
end;
$$;
comment on function app_private.tg_rooms__before_write() is 'Trigger on rooms: the kind cannot change; banned words in name, topic and description; derives the slug from the name. Security definer: the banned-words check lives in app_private.';

create or replace function app_private.tg_rooms__after_write() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' and new.kind <> 'direct' and new.created_by is not null then
    insert into app_public.room_members (room_id, user_id, role) values (new.id, new.created_by, 'owner');
  elsif tg_op = 'UPDATE' and new.name is distinct from old.name then
    insert into app_public.messages (room_id, author_id, kind, system_data)
    values (new.id, app_public.current_user_id(), 'rename', jsonb_build_object('oldName', old.name, 'newName', new.name));
  end if;
  return null;
end;
$$;
comment on function app_private.tg_rooms__after_write() is 'Trigger on rooms: the creator becomes the owner; a rename posts a rename system message. Security definer: writes rows the caller may not write directly.';

create trigger _100_timestamps before insert or update on app_public.rooms
  for each row execute function app_private.tg__timestamps();
create trigger _200_rules before insert or update on app_public.rooms
  for each row execute function app_private.tg_rooms__before_write();
create trigger _500_after_write after insert or update on app_public.rooms
  for each row execute function app_private.tg_rooms__after_write();


-- (room_members, continued)
alter table app_public.room_members enable row level security;
create policy select_readable on app_public.room_members for select
  using (app_hidden.room_readable(room_id));
create policy insert_join_or_invite on app_public.room_members for insert
  with check (role = 'member' and (
    (user_id = (select app_public.current_user_id())
      and exists (select 1 from app_public.rooms r where r.id = room_id and r.kind = 'public'))
    or (app_hidden.room_role(room_id) in ('owner', 'admin')
      and exists (select 1 from app_public.rooms r where r.id = room_id and r.kind <> 'direct'))));
create policy delete_leave_or_remove on app_public.room_members for delete
  using (exists (select 1 from app_public.rooms r where r.id = room_id and r.kind <> 'direct') and (
    user_id = (select app_public.current_user_id())
    or app_hidden.room_role(room_id) = 'owner'
    or (app_hidden.room_role(room_id) = 'admin' and role = 'member')));
grant select on app_public.room_members to anonymous, authenticated;
grant insert (room_id, user_id) on app_public.room_members to authenticated;
grant delete on app_public.room_members to authenticated;
comment on table app_public.room_members is 'Who is in a room, with their room role. Join a public room by inserting yourself; room admins invite others (private rooms too); leave by deleting yourself; admins remove members, owners remove admins. Roles change through setRoomMemberRole and transferRoomOwnership; the last owner cannot leave (LASTO). Private rooms'' member lists are visible to their members only.';
comment on column app_public.room_members.room_id is 'The room.';
comment on column app_public.room_members.user_id is 'The member.';
comment on column app_public.room_members.role is 'owner, admin or member. Joining and invitations make members.';
comment on column app_public.room_members.joined_at is 'When the member joined.';
comment on column app_public.room_members.last_read_message_id is 'The newest message the member has read (markRoomRead; never moves backwards). In direct rooms this is the read receipt.';
comment on column app_public.room_members.last_read_at is 'The creation time of lastReadMessageId (the read position).';
comment on column app_public.room_members.muted_until is 'Muted (cannot post) until this time; the mute lapses by itself. Set by muteRoomMember.';
comment on column app_public.room_members.mute_reason is 'Why the member was muted.';
comment on column app_public.room_members.muted_by is 'Who muted the member.';
create index room_members_user_idx on app_public.room_members (user_id);
create index room_members_muted_by_idx on app_public.room_members (muted_by);

create or replace function app_private.tg_room_members__before_delete() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if old.role = 'owner'
     and exists (select 1 from app_public.rooms r where r.id = old.room_id)
     and not exists (select 1 from app_public.room_members m
                      where m.room_id = old.room_id and m.role = 'owner' and m.user_id <> old.user_id) then
    raise exception 'The last owner cannot leave the room; transfer ownership first' using errcode = 'LASTO';
  end if;
  return old;
end;
$$;
comment on function app_private.tg_room_members__before_delete() is 'Trigger on room_members: the last owner of a room cannot leave or be removed (LASTO) unless the room itself is deleted. Security definer: counts owners whatever the caller sees.';

create or replace function app_private.tg_room_members__system_message() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_me uuid := app_public.current_user_id();
  v_row app_public.room_members;
begin
  if tg_op = 'INSERT' then
    v_row := new;
  else
    v_row := old;
  end if;
  if exists (select 1 from app_public.rooms r where r.id = v_row.room_id and r.kind <> 'direct') then
    insert into app_public.messages (room_id, author_id, kind, subject_user_id)
    values (v_row.room_id, coalesce(v_me, v_row.user_id),
            case when tg_op = 'INSERT' then 'join'
                 when v_me is null or v_me = v_row.user_id then 'leave'
                 else 'remove' end::app_public.message_kind,
            v_row.user_id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_room_members__system_message() is 'Trigger on room_members: posts a join, leave or remove system message in public and private rooms. Security definer: system messages are written by the database only.';

create or replace function app_private.tg_room_members__count() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    update app_public.rooms set member_count = member_count + 1 where id = new.room_id;
  else
    update app_public.rooms set member_count = member_count - 1 where id = old.room_id;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_room_members__count() is 'Trigger on room_members: keeps rooms.member_count exact (the room row is locked by the update, so concurrent joins serialise on it). Security definer: writes a maintained column.';

create trigger _200_last_owner before delete on app_public.room_members
  for each row execute function app_private.tg_room_members__before_delete();
create trigger _500_count after insert or delete on app_public.room_members
  for each row execute function app_private.tg_room_members__count();
create trigger _510_system_message after insert or delete on app_public.room_members
  for each row execute function app_private.tg_room_members__system_message();

--------------------------------------------------------------------------------
-- messages

create table app_public.messages (
  id uuid primary key default gen_random_uuid(),
  room_id uuid not null references app_public.rooms(id) on delete cascade,
  author_id uuid default app_public.current_user_id() references app_public.users(id) on delete set null,
  parent_id uuid references app_public.messages(id) on delete cascade,
  kind app_public.message_kind not null default 'text',
  body text not null default '',
  subject_user_id uuid references app_public.users(id) on delete set null,
  subject_message_id uuid references app_public.messages(id) on delete set null,
  system_data jsonb,
  reply_count integer not null default 0,
  last_reply_at timestamptz,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp(),
  edited_at timestamptz,
  deleted_at timestamptz,
  constraint message_body_length check (char_length(body) <= 4000
    and (kind <> 'text' or deleted_at is not null or char_length(body) >= 1)),
  constraint message_reply_is_text check (parent_id is null or kind = 'text')
);
alter table app_public.messages enable row level security;
create policy select_readable on app_public.messages for select
  using (app_hidden.room_readable(room_id)
    and not exists (select 1 from app_public.user_blocks b
                     where b.blocker_id = (select app_public.current_user_id()) and b.blocked_id = messages.author_id));
create policy insert_member on app_public.messages for insert
  with check (author_id = (select app_public.current_user_id()) and app_hidden.room_role(room_id) is not null);
create policy update_own on app_public.messages for update
  using (author_id = (select app_public.current_user_id()) and kind = 'text');
grant select on app_public.messages to anonymous, authenticated;
grant insert (room_id, parent_id, body) on app_public.messages to authenticated;
grant update (body) on app_public.messages to authenticated;
comment on table app_public.messages is 'A chat message: markdown written by a member, or a typed system message (join, leave, remove, rename, pin). Replies thread one level under a top-level message. Members post; anyone reads public rooms, members read private and direct rooms; messages of members you blocked are hidden from you. Edit by updating body (history kept); delete with deleteMessage.';
comment on column app_public.messages.id is 'The message''s id.';
comment on column app_public.messages.room_id is 'The room.';
comment on column app_public.messages.author_id is 'Who wrote it (for a system message: who caused it).';
comment on column app_public.messages.parent_id is 'For a thread reply: the top-level message of the same room it replies to.';
comment on column app_public.messages.kind is 'text, or the kind of system message.';
comment on column app_public.messages.body is 'Markdown, at most 4000 characters; empty for system messages and once deleted (moderators read the old text in messageRevisions).';
comment on column app_public.messages.subject_user_id is 'join, leave, remove: the member who joined, left or was removed.';
comment on column app_public.messages.subject_message_id is 'pin: the message pinned.';
comment on column app_public.messages.system_data is 'rename: {"oldName": …, "newName": …}.';
comment on column app_public.messages.reply_count is 'How many replies (not deleted) the thread has. Maintained by the database.';
comment on column app_public.messages.last_reply_at is 'When the latest reply was posted. Maintained by the database.';
comment on column app_public.messages.created_at is 'When it was sent.';
comment on column app_public.messages.updated_at is 'When it last changed. Set by the database.';
comment on column app_public.messages.edited_at is 'When the body was last edited (null: never). Set by the database.';
comment on column app_public.messages.deleted_at is 'When it was deleted (the message stays, shown as deleted, so its thread stays).';
create index messages_room_history_idx on app_public.messages (room_id, created_at desc, id desc);
create index messages_parent_idx on app_public.messages (parent_id, created_at);
create index messages_author_idx on app_public.messages (author_id);
create index messages_subject_user_idx on app_public.messages (subject_user_id);
create index messages_subject_message_idx on app_public.messages (subject_message_id);

create or replace function app_private.tg_messages__timestamps() returns trigger
  language plpgsql set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    -- The clock, not the transaction's start: messages sent in one transaction keep their order.
    -- A bulk load outside a request (seeds, tests) may set created_at itself.
    if not (current_setting('agora.bulk_load', true) = 'on' and app_public.current_user_id() is null) then
      new.created_at := clock_timestamp();
    end if;
    new.updated_at := new.created_at;
  else
    new.created_at := old.created_at;
    new.updated_at := greatest(clock_timestamp(), old.updated_at + interval '1 microsecond');
  end if;
  return new;
end;
$$;
comment on function app_private.tg_messages__timestamps() is 'Trigger on messages: created_at from the clock (so messages of one transaction keep their order; a bulk load outside a request may set it), updated_at moves forward.';

create or replace function app_private.tg_messages__before_write() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_room app_public.rooms;
  v_member app_public.room_members;
  v_parent app_public.messages;
  v_other uuid;
begin
  if tg_op = 'UPDATE' then
    if new.room_id <> old.room_id or new.author_id is distinct from old.author_id or new.kind <> old.kind
       or new.parent_id is distinct from old.parent_id then
      raise exception 'A message''s room, author, kind and thread cannot change' using errcode = 'INVAL';
    end if;
    if new.body is not distinct from old.body and new.deleted_at is not distinct from old.deleted_at then
      return new;
    end if;
    if old.deleted_at is not null then
      raise exception 'A deleted message cannot be edited' using errcode = 'DELTD';
    end if;
  end if;
  if new.kind <> 'text' then
    return new; -- system messages come from the database's own triggers
  end if;
  select * into v_room from app_public.rooms where id = new.room_id;
  if v_room.is_archived then
    raise exception 'This room is archived: it is read-only' using errcode = 'ARCHV';
  end if;
  if tg_op = 'UPDATE' and new.deleted_at is not null then
    new.body := '';
    return new;
  end if;
  if v_room.kind = 'direct' then
    v_other := case when new.author_id = v_room.direct_low_id then v_room.direct_high_id else v_room.direct_low_id end;
    if app_hidden.is_blocked_between(new.author_id, v_other) then
      raise exception 'One of you blocked the other: this conversation is read-only' using errcode = 'BLOCK';
    end if;
  end if;
  if tg_op = 'INSERT' then
    select * into v_member from app_public.room_members where room_id = new.room_id and user_id = new.author_id;
    if v_member.muted_until > now() then
      raise exception 'You are muted in this room until %', v_member.muted_until
        using errcode = 'MUTED', detail = json_build_object('mutedUntil', v_member.muted_until, 'reason', v_member.mute_reason)::text;
    end if;
    if new.parent_id is not null then
      select * into v_parent from app_public.messages where id = new.parent_id;
      if v_parent.id is null or v_parent.room_id <> new.room_id or v_parent.parent_id is not null or v_parent.kind <> 'text' then
        raise exception 'A reply goes under a top-level message of the same room' using errcode = 'THRED';
      end if;
    end if;
    if not (current_setting('agora.bulk_load', true) = 'on' and app_public.current_user_id() is null) then
      perform app_private.rate_limit('message:send', new.author_id::text);
    end if;
    new.edited_at := null;
    new.deleted_at := null;
  else
    new.edited_at := now();
  end if;
  perform app_private.assert_no_banned_words(array[new.body]);
  return new;
end;
$$;
comment on function app_private.tg_messages__before_write() is 'Trigger on messages: room, author, kind and thread cannot change; deleted messages cannot be edited (DELTD); archived rooms are read-only (ARCHV); a block makes a direct room read-only (BLOCK); muted members cannot post (MUTED); replies go under a top-level message of the same room (THRED); the message:send rate limit (RLIMT); banned words (BANND); sets edited_at and empties a deleted body. Security definer: reads blocks, mutes and parents the caller may not see.';

create or replace function app_private.tg_messages__after_write() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'DELETE' then
    if old.parent_id is not null and old.deleted_at is null then
      update app_public.messages set reply_count = reply_count - 1 where id = old.parent_id;
    end if;
    return null;
  end if;
  -- Thread counters on the parent.
  if tg_op = 'INSERT' and new.parent_id is not null then
    update app_public.messages set reply_count = reply_count + 1, last_reply_at = greatest(last_reply_at, new.created_at)
     where id = new.parent_id;
  elsif tg_op = 'UPDATE' and new.parent_id is not null and old.deleted_at is null and new.deleted_at is not null then
    update app_public.messages set reply_count = reply_count - 1 where id = new.parent_id;
  end if;
  -- Edit history: the previous body.
  if tg_op = 'UPDATE' and new.body is distinct from old.body then
    insert into app_public.message_revisions (message_id, editor_id, body) values (old.id, app_public.current_user_id(), old.body);
  end if;
  -- Mentions, parsed once: @username of members of the room.
  if new.kind = 'text' and (tg_op = 'INSERT' or new.body is distinct from old.body) then
    if tg_op = 'UPDATE' then
      delete from app_public.message_mentions where message_id = new.id;
    end if;
    if new.deleted_at is null then
      insert into app_public.message_mentions (message_id, user_id, room_id, created_at)
      select distinct new.id, m.user_id, new.room_id, new.created_at
        from regexp_matches(new.body, '(?:^|[^[:alnum:]_@])@([[:alnum:]_]+)', 'g') as t(groups)
        join app_public.users u on u.username = (t.groups)[1]::citext
        join app_public.room_members m on m.room_id = new.room_id and m.user_id = u.id
       where u.id is distinct from new.author_id;
    end if;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_messages__after_write() is 'Trigger on messages: maintains the parent''s reply_count and last_reply_at, keeps the previous body in message_revisions, and records @username mentions of the room''s members. Security definer: writes maintained rows.';

create trigger _100_timestamps before insert or update on app_public.messages
  for each row execute function app_private.tg_messages__timestamps();
create trigger _200_rules before insert or update on app_public.messages
  for each row execute function app_private.tg_messages__before_write();
create trigger _500_after_write after insert or update or delete on app_public.messages
  for each row execute function app_private.tg_messages__after_write();

--------------------------------------------------------------------------------
-- message_revisions

create table app_public.message_revisions (
  id uuid primary key default gen_random_uuid(),
  message_id uuid not null references app_public.messages(id) on delete cascade,
  editor_id uuid references app_public.users(id) on delete set null,
  body text not null,
  created_at timestamptz not null default now()
);
alter table app_public.message_revisions enable row level security;
create policy select_visible on app_public.message_revisions for select
  using (exists (select 1 from app_public.messages m
                  where m.id = message_id
                    and (m.deleted_at is null or app_hidden.can_moderate_room(m.room_id, 'message:delete'))));
grant select on app_public.message_revisions to anonymous, authenticated;
comment on table app_public.message_revisions is '@behavior -insert -update -delete
A previous body of a chat message, kept when it was edited or deleted. Those of a deleted message are visible to moderators and room admins only.';
comment on column app_public.message_revisions.id is 'The revision''s id.';
comment on column app_public.message_revisions.message_id is 'The message.';
comment on column app_public.message_revisions.editor_id is 'Who made the edit (or deletion) that replaced this body.';
comment on column app_public.message_revisions.body is 'The body before the edit, as markdown.';
comment on column app_public.message_revisions.created_at is 'When the edit was made: this body was current until then.';
create index message_revisions_message_idx on app_public.message_revisions (message_id, created_at);
create index message_revisions_editor_idx on app_public.message_revisions (editor_id);

--------------------------------------------------------------------------------
-- message_reactions and their counts

create table app_public.message_reactions (
  message_id uuid not null references app_public.messages(id) on delete cascade,
  user_id uuid not null default app_public.current_user_id() references app_public.users(id) on delete cascade,
  emoji text not null,
  created_at timestamptz not null default now(),
  constraint message_reactions_pkey primary key (message_id, user_id, emoji),
  constraint message_reaction_emoji check (char_length(emoji) between 1 and 32 and emoji !~ '\s')
);
alter table app_public.message_reactions enable row level security;
create policy select_visible on app_public.message_reactions for select
  using (exists (select 1 from app_public.messages m where m.id = message_id));
create policy insert_member on app_public.message_reactions for insert
  with check (user_id = (select app_public.current_user_id())
    and exists (select 1 from app_public.messages m where m.id = message_id and app_hidden.room_role(m.room_id) is not null));
create policy delete_own on app_public.message_reactions for delete
  using (user_id = (select app_public.current_user_id()));
grant select on app_public.message_reactions to anonymous, authenticated;
grant insert (message_id, emoji) on app_public.message_reactions to authenticated;
grant delete on app_public.message_reactions to authenticated;
comment on table app_public.message_reactions is '@behavior -update -delete
Emoji reactions on chat messages: one per member per emoji per message. Members of the room react; toggleReaction adds or removes (in SQL, a member may also delete their own row). Counts per emoji are in messageReactionCounts.';
comment on column app_public.message_reactions.message_id is 'The message.';
comment on column app_public.message_reactions.user_id is 'Who reacted.';
comment on column app_public.message_reactions.emoji is 'The emoji (a character or a :shortcode:, at most 32 characters, no spaces).';
comment on column app_public.message_reactions.created_at is 'When the reaction was made.';
create index message_reactions_user_idx on app_public.message_reactions (user_id);

create table app_public.message_reaction_counts (
  message_id uuid not null references app_public.messages(id) on delete cascade,
  emoji text not null,
  count integer not null,
  constraint message_reaction_counts_pkey primary key (message_id, emoji),
  constraint message_reaction_counts_positive check (count > 0)
);
alter table app_public.message_reaction_counts enable row level security;
create policy select_visible on app_public.message_reaction_counts for select
  using (exists (select 1 from app_public.messages m where m.id = message_id));
grant select on app_public.message_reaction_counts to anonymous, authenticated;
comment on table app_public.message_reaction_counts is '@behavior -insert -update -delete
How many members reacted to a message with each emoji. Maintained by the database.';
comment on column app_public.message_reaction_counts.message_id is 'The message.';
comment on column app_public.message_reaction_counts.emoji is 'The emoji.';
comment on column app_public.message_reaction_counts.count is 'How many members reacted with it (at least 1; emojis nobody uses have no row).';

create or replace function app_private.tg_message_reactions__rules() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if exists (select 1 from app_public.messages m join app_public.rooms r on r.id = m.room_id
              where m.id = new.message_id and r.is_archived) then
    raise exception 'This room is archived: it is read-only' using errcode = 'ARCHV';
  end if;
  if exists (select 1 from app_public.messages m where m.id = new.message_id and (m.deleted_at is not null or m.kind <> 'text')) then
    raise exception 'Only live messages take reactions' using errcode = 'DELTD';
  end if;
  return new;
end;
$$;
comment on function app_private.tg_message_reactions__rules() is 'Trigger on message_reactions: archived rooms are read-only (ARCHV); deleted and system messages take no reactions (DELTD). Security definer: reads the room whatever the caller sees.';

create or replace function app_private.tg_message_reactions__count() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    insert into app_public.message_reaction_counts as c (message_id, emoji, count) values (new.message_id, new.emoji, 1)
    on conflict (message_id, emoji) do update set count = c.count + 1;
  else
    update app_public.message_reaction_counts set count = count - 1
     where message_id = old.message_id and emoji = old.emoji and count > 1;
    if not found then
      delete from app_public.message_reaction_counts where message_id = old.message_id and emoji = old.emoji;
    end if;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_message_reactions__count() is 'Trigger on message_reactions: keeps message_reaction_counts exact (an upsert per reaction, so concurrent reactions serialise on the count row). Security definer: writes maintained rows.';

create trigger _200_rules before insert on app_public.message_reactions
  for each row execute function app_private.tg_message_reactions__rules();
create trigger _500_count after insert or delete on app_public.message_reactions
  for each row execute function app_private.tg_message_reactions__count();

--------------------------------------------------------------------------------
-- message_mentions

create table app_public.message_mentions (
  message_id uuid not null references app_public.messages(id) on delete cascade,
  user_id uuid not null references app_public.users(id) on delete cascade,
  room_id uuid not null references app_public.rooms(id) on delete cascade,
  created_at timestamptz not null,
  constraint message_mentions_pkey primary key (message_id, user_id)
);
alter table app_public.message_mentions enable row level security;
create policy select_visible on app_public.message_mentions for select
  using (exists (select 1 from app_public.messages m where m.id = message_id));
grant select on app_public.message_mentions to anonymous, authenticated;
comment on table app_public.message_mentions is '@behavior -insert -update -delete
Who a message mentions: @username of a member of the room, parsed once when the message is written (again when edited). Maintained by the database.';
comment on column app_public.message_mentions.message_id is 'The message.';
comment on column app_public.message_mentions.user_id is 'The member mentioned.';
comment on column app_public.message_mentions.room_id is 'The message''s room (for counting a member''s unread mentions per room).';
comment on column app_public.message_mentions.created_at is 'When the message was sent.';
create index message_mentions_user_room_idx on app_public.message_mentions (user_id, room_id, created_at, message_id);
create index message_mentions_room_idx on app_public.message_mentions (room_id);

--------------------------------------------------------------------------------
-- room_pins

create table app_public.room_pins (
  room_id uuid not null references app_public.rooms(id) on delete cascade,
  message_id uuid not null references app_public.messages(id) on delete cascade,
  pinned_by uuid references app_public.users(id) on delete set null,
  created_at timestamptz not null default now(),
  constraint room_pins_pkey primary key (room_id, message_id)
);
alter table app_public.room_pins enable row level security;
create policy select_readable on app_public.room_pins for select
  using (app_hidden.room_readable(room_id));
grant select on app_public.room_pins to anonymous, authenticated;
comment on table app_public.room_pins is '@behavior -insert -update -delete
Pinned messages of a room, at most the chat.max_pins setting (PINMX past it). Pin and unpin with pinMessage and unpinMessage (room admins and holders of message:pin).';
comment on column app_public.room_pins.room_id is 'The room.';
comment on column app_public.room_pins.message_id is 'The pinned message.';
comment on column app_public.room_pins.pinned_by is 'Who pinned it.';
comment on column app_public.room_pins.created_at is 'When it was pinned.';
create unique index room_pins_message_idx on app_public.room_pins (message_id);
create index room_pins_pinned_by_idx on app_public.room_pins (pinned_by);

create or replace function app_private.tg_room_pins__before_insert() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_max int := (app_private.setting('chat.max_pins'))::int;
begin
  perform 1 from app_public.rooms where id = new.room_id for update; -- serialise pins per room
  if not exists (select 1 from app_public.messages m where m.id = new.message_id and m.room_id = new.room_id
                  and m.kind = 'text' and m.deleted_at is null) then
    raise exception 'Only a live message of the room can be pinned' using errcode = 'INVAL';
  end if;
  if (select count(*) from app_public.room_pins where room_id = new.room_id) >= v_max then
    raise exception 'This room has the most pinned messages it may have; unpin one first'
      using errcode = 'PINMX', detail = json_build_object('max', v_max)::text;
  end if;
  return new;
end;
$$;
comment on function app_private.tg_room_pins__before_insert() is 'Trigger on room_pins: at most chat.max_pins per room (PINMX), counted under a lock on the room; only live messages of the room. Security definer: reads the room whatever the caller sees.';

create or replace function app_private.tg_room_pins__system_message() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  insert into app_public.messages (room_id, author_id, kind, subject_message_id)
  values (new.room_id, coalesce(new.pinned_by, app_public.current_user_id()), 'pin', new.message_id);
  return null;
end;
$$;
comment on function app_private.tg_room_pins__system_message() is 'Trigger on room_pins: posts a pin system message. Security definer: system messages are written by the database only.';

create trigger _200_rules before insert on app_public.room_pins
  for each row execute function app_private.tg_room_pins__before_insert();
create trigger _500_system_message after insert on app_public.room_pins
  for each row execute function app_private.tg_room_pins__system_message();

-- The read position points at a message of the room.
alter table app_public.room_members
  add constraint room_members_last_read_fkey foreign key (last_read_message_id) references app_public.messages(id) on delete set null;
create index room_members_last_read_idx on app_public.room_members (last_read_message_id);

--------------------------------------------------------------------------------
-- chat functions

create or replace function app_public.open_direct_room(user_id uuid) returns app_public.rooms
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_me uuid := app_public.current_user_id();
  v_room app_public.rooms;
begin
  if v_me is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  if user_id = v_me or not exists (select 1 from app_public.users u where u.id = open_direct_room.user_id) then
    raise exception 'There is nobody to talk to there' using errcode = 'INVAL';
  end if;
  if app_hidden.is_blocked_between(v_me, user_id) then
    raise exception 'One of you blocked the other' using errcode = 'BLOCK';
  end if;
  insert into app_public.rooms (kind, created_by, direct_low_id, direct_high_id)
  values ('direct', v_me, least(v_me, user_id), greatest(v_me, user_id))
  on conflict (direct_low_id, direct_high_id) do nothing
  returning * into v_room;
  if v_room.id is null then
    select * into v_room from app_public.rooms r
     where r.direct_low_id = least(v_me, user_id) and r.direct_high_id = greatest(v_me, user_id);
  else
    insert into app_public.room_members (room_id, user_id, role) values (v_room.id, v_me, 'member'), (v_room.id, user_id, 'member');
  end if;
  return v_room;
end;
$$;
comment on function app_public.open_direct_room(uuid) is 'Opens the direct room between you and another member, or returns the one that exists (at most one per pair). Refused if either blocked the other (BLOCK). Security definer: creates both memberships.';
grant execute on function app_public.open_direct_room(uuid) to authenticated;

create or replace function app_public.transfer_room_ownership(room_id uuid, user_id uuid) returns app_public.rooms
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_room app_public.rooms;
begin
  if app_hidden.room_role(room_id) is distinct from 'owner' then
    raise exception 'Only the room''s owner can hand it over' using errcode = 'FORBD';
  end if;
  update app_public.room_members m set role = 'owner' where m.room_id = transfer_room_ownership.room_id and m.user_id = transfer_room_ownership.user_id;
  if not found then
    raise exception 'The new owner must be a member of the room' using errcode = 'NOTFD';
  end if;
  update app_public.room_members m set role = 'admin'
   where m.room_id = transfer_room_ownership.room_id and m.user_id = app_public.current_user_id() and m.user_id <> transfer_room_ownership.user_id;
  select * into v_room from app_public.rooms r where r.id = room_id;
  return v_room;
end;
$$;
comment on function app_public.transfer_room_ownership(uuid, uuid) is 'Hands the room over to another member: they become owner, you become admin. Owners only (FORBD). Security definer: room roles change only through this and setRoomMemberRole.';
grant execute on function app_public.transfer_room_ownership(uuid, uuid) to authenticated;

create or replace function app_public.set_room_member_role(room_id uuid, user_id uuid, role app_public.room_role) returns app_public.room_members
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_member app_public.room_members;
begin
  if app_hidden.room_role(room_id) is distinct from 'owner' then
    raise exception 'Only the room''s owner can change roles' using errcode = 'FORBD';
  end if;
  if role = 'owner' then
    raise exception 'Hand the room over with transferRoomOwnership' using errcode = 'INVAL';
  end if;
  if user_id = app_public.current_user_id() then
    raise exception 'Hand the room over with transferRoomOwnership before changing your own role' using errcode = 'INVAL';
  end if;
  update app_public.room_members m set role = set_room_member_role.role
   where m.room_id = set_room_member_role.room_id and m.user_id = set_room_member_role.user_id
  returning * into v_member;
  if v_member.user_id is null then
    raise exception 'Not a member of the room' using errcode = 'NOTFD';
  end if;
  return v_member;
end;
$$;
comment on function app_public.set_room_member_role(uuid, uuid, app_public.room_role) is 'Makes a member of your room an admin or a member again. Room owners only (FORBD). Security definer: room_members has no update grant.';
grant execute on function app_public.set_room_member_role(uuid, uuid, app_public.room_role) to authenticated;

create or replace function app_public.mark_room_read(room_id uuid, message_id uuid) returns app_public.room_members
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_msg app_public.messages;
  v_member app_public.room_members;
begin
  select * into v_msg from app_public.messages m where m.id = message_id and m.room_id = mark_room_read.room_id;
  if v_msg.id is null then
    raise exception 'No such message in that room' using errcode = 'NOTFD';
  end if;
  update app_public.room_members m
     set last_read_message_id = v_msg.id, last_read_at = v_msg.created_at
   where m.room_id = mark_room_read.room_id and m.user_id = app_public.current_user_id()
     and (m.last_read_at is null or (m.last_read_at, m.last_read_message_id) < (v_msg.created_at, v_msg.id))
  returning * into v_member;
  if v_member.user_id is null then
    select * into v_member from app_public.room_members m
     where m.room_id = mark_room_read.room_id and m.user_id = app_public.current_user_id();
    if v_member.user_id is null then
      raise exception 'You are not a member of that room' using errcode = 'NOTFD';
    end if;
  end if;
  return v_member;
end;
$$;
comment on function app_public.mark_room_read(uuid, uuid) is 'Moves your read position in a room up to a message; a message older than your position is ignored (the position never moves backwards). Returns your membership. Security definer: room_members has no update grant.';
grant execute on function app_public.mark_room_read(uuid, uuid) to authenticated;

create or replace function app_public.my_room_unreads() returns table (room_id uuid, unread integer, mentions integer)
  language sql stable set search_path = pg_catalog, public as $$
  select rm.room_id,
         (select count(*)::int from (
            select 1 from app_public.messages m
             where m.room_id = rm.room_id
               and (rm.last_read_at is null or (m.created_at, m.id) > (rm.last_read_at, rm.last_read_message_id))
               and m.author_id is distinct from rm.user_id and m.kind = 'text' and m.deleted_at is null
             limit 100) u),
         (select count(*)::int from (
            select 1 from app_public.message_mentions mm
             where mm.user_id = rm.user_id and mm.room_id = rm.room_id
               and (rm.last_read_at is null or (mm.created_at, mm.message_id) > (rm.last_read_at, rm.last_read_message_id))
             limit 100) n)
    from app_public.room_members rm
   where rm.user_id = app_public.current_user_id()
$$;
comment on function app_public.my_room_unreads() is 'For each of your rooms: unread messages (after your read position, not yours, not deleted) and unread mentions of you, each counted up to 100 (show 100 as "99+"). One statement for all your rooms.';
grant execute on function app_public.my_room_unreads() to authenticated;

create or replace function app_public.messages_around(message_id uuid, count integer) returns setof app_public.messages
  language plpgsql stable set search_path = pg_catalog, public as $$
declare
  v_room uuid;
  v_at timestamptz;
  v_id uuid;
  v_n int := least(greatest(count, 0), 100);
begin
  -- The target as the caller may see it (row-level security applies), then two index range scans from it.
  select m.room_id, m.created_at, m.id into v_room, v_at, v_id from app_public.messages m where m.id = messages_around.message_id;
  if v_id is null then
    return;
  end if;
  return query
    select s.* from (
      (select m.* from app_public.messages m
        where m.room_id = v_room and (m.created_at, m.id) >= (v_at, v_id)
        order by m.created_at, m.id limit v_n + 1)
      union all
      (select m.* from app_public.messages m
        where m.room_id = v_room and (m.created_at, m.id) < (v_at, v_id)
        order by m.created_at desc, m.id desc limit v_n)
    ) s order by s.created_at desc, s.id desc;
end;
$$;
comment on function app_public.messages_around(uuid, integer) is 'A page of a room''s history centred on a message (to jump to a reply or a search hit): the message, up to count (at most 100) newer and count older messages, newest first.';
grant execute on function app_public.messages_around(uuid, integer) to anonymous, authenticated;

create or replace function app_public.toggle_reaction(message_id uuid, emoji text) returns boolean
  language plpgsql volatile set search_path = pg_catalog, public as $$
begin
  insert into app_public.message_reactions (message_id, emoji) values (toggle_reaction.message_id, toggle_reaction.emoji)
  on conflict do nothing;
  if found then
    return true;
  end if;
  delete from app_public.message_reactions r
   where r.message_id = toggle_reaction.message_id and r.emoji = toggle_reaction.emoji and r.user_id = app_public.current_user_id();
  return false;
end;
$$;
comment on function app_public.toggle_reaction(uuid, text) is 'Adds your reaction with this emoji to a message, or removes it if you had it. Returns whether you now have it. Members of the room only.';
grant execute on function app_public.toggle_reaction(uuid, text) to authenticated;

create or replace function app_public.delete_message(message_id uuid) returns app_public.messages
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_msg app_public.messages;
begin
  select * into v_msg from app_public.messages m where m.id = message_id and m.kind = 'text';
  if v_msg.id is null or not app_hidden.room_readable(v_msg.room_id) then
    raise exception 'No such message' using errcode = 'NOTFD';
  end if;
  if v_msg.author_id is distinct from app_public.current_user_id() and not app_hidden.can_moderate_room(v_msg.room_id, 'message:delete') then
    raise exception 'Only the author, room admins and moderators delete messages' using errcode = 'FORBD';
  end if;
  if v_msg.deleted_at is not null then
    return v_msg;
  end if;
  update app_public.messages m set deleted_at = now() where m.id = v_msg.id returning * into v_msg;
  delete from app_public.room_pins p where p.message_id = v_msg.id;
  return v_msg;
end;
$$;
comment on function app_public.delete_message(uuid) is 'Deletes a message: it stays as "deleted" (thread kept), its body is emptied for everyone; moderators and room admins read the old body in messageRevisions. The author, room admins and holders of message:delete. Security definer: messages have no delete grant.';
grant execute on function app_public.delete_message(uuid) to authenticated;

create or replace function app_public.pin_message(message_id uuid) returns app_public.room_pins
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_msg app_public.messages;
  v_pin app_public.room_pins;
begin
  select * into v_msg from app_public.messages m where m.id = message_id;
  if v_msg.id is null or not app_hidden.room_readable(v_msg.room_id) then
    raise exception 'No such message' using errcode = 'NOTFD';
  end if;
  if not app_hidden.can_moderate_room(v_msg.room_id, 'message:pin') then
    raise exception 'Only room admins and holders of message:pin pin messages' using errcode = 'FORBD';
  end if;
  select * into v_pin from app_public.room_pins p where p.message_id = v_msg.id;
  if v_pin.message_id is null then
    insert into app_public.room_pins (room_id, message_id, pinned_by) values (v_msg.room_id, v_msg.id, app_public.current_user_id())
    returning * into v_pin;
  end if;
  return v_pin;
end;
$$;
comment on function app_public.pin_message(uuid) is 'Pins a message in its room (already pinned: no change). Room admins and holders of message:pin (FORBD); at most chat.max_pins per room (PINMX). Security definer: room_pins has no insert grant.';
grant execute on function app_public.pin_message(uuid) to authenticated;

create or replace function app_public.unpin_message(message_id uuid) returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_room uuid;
begin
  select p.room_id into v_room from app_public.room_pins p where p.message_id = unpin_message.message_id;
  if v_room is null or not app_hidden.room_readable(v_room) then
    raise exception 'That message is not pinned' using errcode = 'NOTFD';
  end if;
  if not app_hidden.can_moderate_room(v_room, 'message:pin') then
    raise exception 'Only room admins and holders of message:pin unpin messages' using errcode = 'FORBD';
  end if;
  delete from app_public.room_pins p where p.message_id = unpin_message.message_id;
  return true;
end;
$$;
comment on function app_public.unpin_message(uuid) is 'Unpins a message. Room admins and holders of message:pin (FORBD). Security definer: room_pins has no delete grant.';
grant execute on function app_public.unpin_message(uuid) to authenticated;

create or replace function app_public.mute_room_member(room_id uuid, user_id uuid, until timestamptz, reason text) returns app_public.room_members
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_member app_public.room_members;
begin
  if not app_hidden.can_moderate_room(room_id, 'user:mute') then
    raise exception 'Only room admins and holders of user:mute mute members' using errcode = 'FORBD';
  end if;
  if until <= now() then
    raise exception 'A mute ends in the future' using errcode = 'INVAL';
  end if;
  if user_id = app_public.current_user_id() then
    raise exception 'You cannot mute yourself' using errcode = 'INVAL';
  end if;
  if exists (select 1 from app_public.room_members m where m.room_id = mute_room_member.room_id and m.user_id = mute_room_member.user_id and m.role = 'owner') then
    raise exception 'The room''s owner cannot be muted' using errcode = 'FORBD';
  end if;
  update app_public.room_members m
     set muted_until = until, mute_reason = reason, muted_by = app_public.current_user_id()
   where m.room_id = mute_room_member.room_id and m.user_id = mute_room_member.user_id
  returning * into v_member;
  if v_member.user_id is null then
    raise exception 'Not a member of the room' using errcode = 'NOTFD';
  end if;
  return v_member;
end;
$$;
comment on function app_public.mute_room_member(uuid, uuid, timestamptz, text) is 'Mutes a member of a room until a time, with a reason: they cannot post (MUTED) until it lapses by itself. Room admins and holders of user:mute (FORBD); owners cannot be muted. Security definer: room_members has no update grant.';
grant execute on function app_public.mute_room_member(uuid, uuid, timestamptz, text) to authenticated;

create or replace function app_public.unmute_room_member(room_id uuid, user_id uuid) returns app_public.room_members
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_member app_public.room_members;
begin
  if not app_hidden.can_moderate_room(room_id, 'user:mute') then
    raise exception 'Only room admins and holders of user:mute unmute members' using errcode = 'FORBD';
  end if;
  update app_public.room_members m set muted_until = null, mute_reason = null, muted_by = null
   where m.room_id = unmute_room_member.room_id and m.user_id = unmute_room_member.user_id
  returning * into v_member;
  if v_member.user_id is null then
    raise exception 'Not a member of the room' using errcode = 'NOTFD';
  end if;
  return v_member;
end;
$$;
comment on function app_public.unmute_room_member(uuid, uuid) is 'Lifts a mute before it lapses. Room admins and holders of user:mute (FORBD). Security definer: room_members has no update grant.';
grant execute on function app_public.unmute_room_member(uuid, uuid) to authenticated;


-- === notifications ===
-- docs/notifications.md describes the model, the trigger point of every type and the delivery paths.

insert into app_private.settings (key, value, description) values
  ('notification.reaction_window', '"1 day"', 'Reactions to one target within this window share one notification, updated rather than multiplied'),
  ('notification.last_actors', '3', 'How many of the latest actors an aggregated notification remembers (for "Ana, Bo and 4 others")')
on conflict (key) do nothing;

do $$ begin
  create type app_public.notification_channel as enum ('in_app', 'email');
exception when duplicate_object then null; end $$;
comment on type app_public.notification_channel is 'Where a notification is delivered: in_app (the notifications list, live) or email.';

do $$ begin
  create type app_public.notification_digest as enum ('immediate', 'hourly', 'daily', 'off');
exception when duplicate_object then null; end $$;
comment on type app_public.notification_digest is 'How notification e-mails are sent: immediate (one mail per notification), hourly or daily (one mail batching everything pending), off (none).';

-- One shared predicate for the recipient-only policies below.
create or replace function app_hidden.is_current_user(user_id uuid) returns boolean
  language sql stable
as $$ select user_id = (select app_public.current_user_id()) $$;
grant execute on function app_hidden.is_current_user(uuid) to anonymous, authenticated;
comment on function app_hidden.is_current_user(uuid) is 'True when user_id is the signed-in member: the rule of the recipient-only notification tables.';

create table if not exists app_public.notification_types (
  id text primary key,
  description text not null,
  trigger_point text not null,
  is_aggregated boolean not null default false,
  default_in_app boolean not null default true,
  default_email boolean not null default false,
  in_app_required boolean not null default false,
  constraint notification_type_id_format check (id ~ '^[a-z][a-z_]{1,40}$')
);
alter table app_public.notification_types enable row level security;
drop policy if exists select_all on app_public.notification_types;
create policy select_all on app_public.notification_types for select using (true);
grant select on app_public.notification_types to anonymous, authenticated;
comment on table app_public.notification_types is '@behavior -insert -update -delete
The kinds of notification, with their default channels. Rows exist for kinds whose source lands later (jobs, badges, chat); their triggerPoint says where they will be created.';
comment on column app_public.notification_types.id is 'The type''s key, e.g. new_follower, reaction, security_alert.';
comment on column app_public.notification_types.description is 'What the notification tells the member.';
comment on column app_public.notification_types.trigger_point is 'The database event that creates it (table and trigger), or the planned one for sources not built yet.';
comment on column app_public.notification_types.is_aggregated is 'True when causes on one target within the notification.reaction_window setting update one notification ("Ana and 4 others") instead of adding rows.';
comment on column app_public.notification_types.default_in_app is 'Whether members get it in the app unless they change their preference.';
comment on column app_public.notification_types.default_email is 'Whether members get it by e-mail unless they change their preference.';
comment on column app_public.notification_types.in_app_required is 'True when the in-app channel cannot be turned off (security alerts).';

insert into app_public.notification_types (id, description, trigger_point, is_aggregated, default_in_app, default_email, in_app_required) values
  ('new_follower', 'A member started following you.', 'follows: after insert (_700_notify)', false, true, false, false),
  ('comment_on_content', 'A member commented on your post, question or answer.', 'comments: after insert (_700_notify), for the author of the commented target', false, true, true, false),
  ('reply_to_comment', 'A member replied to your comment.', 'comments: after insert with a parent (_700_notify), for the parent''s author', false, true, true, false),
  ('answer_to_question', 'A member answered your question.', 'answers: after insert published, or first publication of a draft (_700_notify)', false, true, true, false),
  ('answer_accepted', 'Your answer was accepted.', 'questions: after update of accepted_answer_id (_700_notify; accept_answer)', false, true, true, false),
  ('reaction', 'Members liked your post, question, answer or comment (aggregated per target and window).', 'reactions: after insert, update of kind, delete (_700_notify; react); a removed like updates or withdraws it', true, true, false, false),
  ('mention', 'A member mentioned you in a comment or chat message.', 'planned: comments and chat messages, after insert, for each @username the body names', false, true, true, false),
  ('direct_message', 'A member sent you a direct message (one per conversation burst).', 'planned: chat messages, after insert, aggregated per conversation', true, true, false, false),
  ('job_application_received', 'A member applied to your job posting.', 'planned: job applications, after insert, for the job''s poster', false, true, true, false),
  ('application_status_changed', 'The status of your job application changed.', 'planned: job applications, after update of status, for the applicant', false, true, true, false),
  ('job_posted_in_category', 'A job was posted in a category you follow.', 'planned: jobs, after insert published, fanned out by a job to the category''s followers', false, true, false, false),
  ('badge_earned', 'You earned a badge.', 'planned: user badges, after insert', false, true, false, false),
  ('announcement', 'An announcement from the administrators.', 'planned: announcements, fanned out set-based by a job to everyone or a role', false, true, true, false),
  ('security_alert', 'Security: a sign-in from a new address, your password or e-mail changed, or a session was revoked because a refresh token was reused.', 'app_private.security_events: after insert (_700_notify), kinds login (new IP), password_changed, password_reset, primary_email_changed, refresh_token_reused', false, true, true, true)
on conflict (id) do update set description = excluded.description, trigger_point = excluded.trigger_point,
  is_aggregated = excluded.is_aggregated, default_in_app = excluded.default_in_app,
  default_email = excluded.default_email, in_app_required = excluded.in_app_required;

create table if not exists app_public.notifications (
  id uuid primary key default gen_random_uuid(),
  recipient_id uuid not null references app_public.users (id) on delete cascade,
  type_id text not null references app_public.notification_types (id),
  actor_id uuid references app_public.users (id) on delete set null,
  actor_count integer not null default 1,
  last_actor_ids uuid[] not null default '{}',
  post_id uuid references app_public.posts (id) on delete set null,
  question_id uuid references app_public.questions (id) on delete set null,
  answer_id uuid references app_public.answers (id) on delete set null,
  comment_id uuid references app_public.comments (id) on delete set null,
  detail jsonb not null default '{}',
  is_in_app boolean not null default true,
  read_at timestamptz,
  emailed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint notification_actor_count check (actor_count >= 0)
);
alter table app_public.notifications enable row level security;
drop policy if exists select_own on app_public.notifications;
create policy select_own on app_public.notifications for select
  using (app_hidden.is_current_user(recipient_id) and is_in_app);
drop policy if exists update_own on app_public.notifications;
create policy update_own on app_public.notifications for update
  using (app_hidden.is_current_user(recipient_id) and is_in_app);
drop policy if exists delete_own on app_public.notifications;
create policy delete_own on app_public.notifications for delete
  using (app_hidden.is_current_user(recipient_id) and is_in_app);
grant select, delete on app_public.notifications to authenticated;
grant update (read_at) on app_public.notifications to authenticated;
comment on table app_public.notifications is '@behavior -insert -update
Something that happened to you: created by the database in the same transaction as its cause, never through the API. Only you see, mark read and delete yours. A target that was deleted since leaves its id null: show "no longer available".';
comment on column app_public.notifications.id is 'The notification''s id.';
comment on column app_public.notifications.recipient_id is 'The member notified: always you.';
comment on column app_public.notifications.type_id is 'What happened; see NotificationType.';
comment on column app_public.notifications.actor_id is 'The member who caused it (the latest one, for aggregated types); null for security alerts and deleted accounts.';
comment on column app_public.notifications.actor_count is 'How many members caused it (aggregated types: "Ana and actorCount - 1 others"); 1 otherwise.';
comment on column app_public.notifications.last_actor_ids is 'The latest actors, newest first, at most the notification.last_actors setting.';
comment on column app_public.notifications.post_id is 'The post concerned (the commented or liked post, or the post a comment is under), for deep links; null when none or deleted.';
comment on column app_public.notifications.question_id is 'The question concerned, for deep links; null when none or deleted.';
comment on column app_public.notifications.answer_id is 'The answer concerned, for deep links; null when none or deleted.';
comment on column app_public.notifications.comment_id is 'The comment concerned (the new comment or reply, or the liked comment); null when none or deleted.';
comment on column app_public.notifications.detail is 'Extra facts: for security alerts {"event": "new_sign_in" | "password_changed" | "email_changed" | "session_revoked_reuse", "ip": …}.';
comment on column app_public.notifications.is_in_app is '@behavior -*
False when the member turned the in-app channel off but wants the e-mail: the row exists only for the mail.';
comment on column app_public.notifications.read_at is 'When you marked it read; null while unread.';
comment on column app_public.notifications.emailed_at is '@behavior -*
When its e-mail was sent: the marker that keeps a retried job from sending twice.';
comment on column app_public.notifications.created_at is 'When it was created.';
comment on column app_public.notifications.updated_at is 'When it last changed (an aggregated notification moves up when someone else reacts): the list is newest first by this.';
create index if not exists notifications_recipient_updated_idx on app_public.notifications (recipient_id, updated_at desc, id desc);
create index if not exists notifications_recipient_unread_idx on app_public.notifications (recipient_id) where read_at is null and is_in_app;
create index if not exists notifications_type_id_idx on app_public.notifications (type_id);
create index if not exists notifications_actor_id_idx on app_public.notifications (actor_id);
create index if not exists notifications_post_id_idx on app_public.notifications (post_id) where post_id is not null;
create index if not exists notifications_question_id_idx on app_public.notifications (question_id) where question_id is not null;
create index if not exists notifications_answer_id_idx on app_public.notifications (answer_id) where answer_id is not null;
create index if not exists notifications_comment_id_idx on app_public.notifications (comment_id) where comment_id is not null;
-- No _100_timestamps here: marking read must not move a notification up the list; notify_reaction sets updated_at.
drop trigger if exists _100_timestamps on app_public.notifications;

create table if not exists app_public.notification_preferences (
  user_id uuid not null default app_public.current_user_id() references app_public.users (id) on delete cascade,
  type_id text not null references app_public.notification_types (id),
  channel app_public.notification_channel not null,
  enabled boolean not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, type_id, channel)
);
alter table app_public.notification_preferences enable row level security;
drop policy if exists select_own on app_public.notification_preferences;
create policy select_own on app_public.notification_preferences for select using (app_hidden.is_current_user(user_id));
drop policy if exists insert_own on app_public.notification_preferences;
create policy insert_own on app_public.notification_preferences for insert with check (app_hidden.is_current_user(user_id));
drop policy if exists update_own on app_public.notification_preferences;
create policy update_own on app_public.notification_preferences for update using (app_hidden.is_current_user(user_id));
drop policy if exists delete_own on app_public.notification_preferences;
create policy delete_own on app_public.notification_preferences for delete using (app_hidden.is_current_user(user_id));
grant select, delete on app_public.notification_preferences to authenticated;
grant insert (type_id, channel, enabled) on app_public.notification_preferences to authenticated;
grant update (enabled) on app_public.notification_preferences to authenticated;
comment on table app_public.notification_preferences is '@behavior -insert -update -delete
Your choices per notification type and channel, where they differ from the type''s defaults. Set them with setNotificationPreference.';
comment on column app_public.notification_preferences.user_id is 'The member: always you.';
comment on column app_public.notification_preferences.type_id is 'The notification type.';
comment on column app_public.notification_preferences.channel is 'in_app or email.';
comment on column app_public.notification_preferences.enabled is 'Whether you get this type on this channel. Security alerts cannot be turned off in the app.';
comment on column app_public.notification_preferences.updated_at is 'When you last changed it.';
create index if not exists notification_preferences_type_id_idx on app_public.notification_preferences (type_id);

create or replace function app_private.tg_notification_preferences__rules() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
begin
  if new.channel = 'in_app' and not new.enabled
     and exists (select 1 from app_public.notification_types t where t.id = new.type_id and t.in_app_required) then
    raise exception 'This notification type cannot be turned off in the app' using errcode = 'INVAL';
  end if;
  new.updated_at := now();
  return new;
end;
$$;
comment on function app_private.tg_notification_preferences__rules() is 'Trigger on notification_preferences: refuses turning off the in-app channel of a type that requires it (security alerts); sets updated_at.';
drop trigger if exists _200_rules on app_public.notification_preferences;
create trigger _200_rules before insert or update on app_public.notification_preferences
  for each row execute function app_private.tg_notification_preferences__rules();

create table if not exists app_public.notification_settings (
  user_id uuid primary key default app_public.current_user_id() references app_public.users (id) on delete cascade,
  email_digest app_public.notification_digest not null default 'immediate',
  last_digest_at timestamptz,
  updated_at timestamptz not null default now()
);
alter table app_public.notification_settings enable row level security;
drop policy if exists select_own on app_public.notification_settings;
create policy select_own on app_public.notification_settings for select using (app_hidden.is_current_user(user_id));
drop policy if exists insert_own on app_public.notification_settings;
create policy insert_own on app_public.notification_settings for insert with check (app_hidden.is_current_user(user_id));
drop policy if exists update_own on app_public.notification_settings;
create policy update_own on app_public.notification_settings for update using (app_hidden.is_current_user(user_id));
grant select on app_public.notification_settings to authenticated;
grant insert (email_digest) on app_public.notification_settings to authenticated;
grant update (email_digest) on app_public.notification_settings to authenticated;
comment on table app_public.notification_settings is '@behavior -insert -update -delete
Your notification e-mail settings (absent: immediate). Change with setNotificationEmailDigest.';
comment on column app_public.notification_settings.user_id is 'The member: always you.';
comment on column app_public.notification_settings.email_digest is 'immediate, hourly, daily or off.';
comment on column app_public.notification_settings.last_digest_at is 'When your last digest mail was prepared. Set by the database.';
comment on column app_public.notification_settings.updated_at is 'When you last changed the settings.';

create or replace function app_private.tg_notification_settings__touch() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function app_private.tg_notification_settings__touch() is 'Trigger on notification_settings: sets updated_at.';
drop trigger if exists _100_timestamps on app_public.notification_settings;
create trigger _100_timestamps before insert or update on app_public.notification_settings
  for each row execute function app_private.tg_notification_settings__touch();

-- Preferences ----------------------------------------------------------------

create or replace function app_private.notification_wanted(user_id uuid, type_id text, channel app_public.notification_channel)
  returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  select coalesce(
    (select p.enabled from app_public.notification_preferences p
      where p.user_id = notification_wanted.user_id and p.type_id = notification_wanted.type_id
        and p.channel = notification_wanted.channel),
    (select case when notification_wanted.channel = 'in_app' then t.default_in_app else t.default_email end
       from app_public.notification_types t where t.id = notification_wanted.type_id),
    false)
$$;
comment on function app_private.notification_wanted(uuid, text, app_public.notification_channel) is 'Whether a member gets a type on a channel: their preference, else the type''s default.';

create or replace function app_private.notification_blocked(recipient_id uuid, actor_id uuid) returns boolean
  language sql stable
  set search_path = pg_catalog, public
as $$
  -- Seam: blocks do not exist yet. When they land, answer true when either member blocked the other.
  select false
$$;
comment on function app_private.notification_blocked(uuid, uuid) is 'Whether a block between recipient and actor suppresses the notification. Always false until blocks exist (the seam docs/notifications.md describes).';

create or replace function app_public.set_notification_preference(type_id text, channel app_public.notification_channel, enabled boolean)
  returns app_public.notification_preferences
  language sql volatile
as $$
  insert into app_public.notification_preferences (type_id, channel, enabled)
  values (set_notification_preference.type_id, set_notification_preference.channel, set_notification_preference.enabled)
  on conflict (user_id, type_id, channel) do update set enabled = excluded.enabled
  returning *
$$;
grant execute on function app_public.set_notification_preference(text, app_public.notification_channel, boolean) to authenticated;
comment on function app_public.set_notification_preference(text, app_public.notification_channel, boolean) is 'Turns one notification type on or off on one channel for you. Security alerts cannot be turned off in the app (INVAL).';

create or replace function app_public.set_notification_email_digest(email_digest app_public.notification_digest)
  returns app_public.notification_settings
  language sql volatile
as $$
  insert into app_public.notification_settings (email_digest) values (set_notification_email_digest.email_digest)
  on conflict (user_id) do update set email_digest = excluded.email_digest
  returning *
$$;
grant execute on function app_public.set_notification_email_digest(app_public.notification_digest) to authenticated;
comment on function app_public.set_notification_email_digest(app_public.notification_digest) is 'Chooses how your notification e-mails come: immediate, hourly, daily (one mail batching what is pending) or off.';

-- Creating notifications ---------------------------------------------------------

create or replace function app_private.notify(recipient_id uuid, type_id text, actor_id uuid,
    post_id uuid default null, question_id uuid default null, answer_id uuid default null,
    comment_id uuid default null, detail jsonb default '{}')
  returns uuid
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_in_app boolean;
  v_id uuid;
begin
  if recipient_id is null or recipient_id = actor_id
     or app_private.notification_blocked(recipient_id, actor_id) then
    return null;
  end if;
  v_in_app := app_private.notification_wanted(recipient_id, type_id, 'in_app');
  if not v_in_app and not app_private.notification_wanted(recipient_id, type_id, 'email') then
    return null;
  end if;
  insert into app_public.notifications
    (recipient_id, type_id, actor_id, last_actor_ids, post_id, question_id, answer_id, comment_id, detail, is_in_app)
  values (notify.recipient_id, notify.type_id, notify.actor_id,
          case when notify.actor_id is null then '{}' else array[notify.actor_id] end,
          notify.post_id, notify.question_id, notify.answer_id, notify.comment_id, coalesce(notify.detail, '{}'), v_in_app)
  returning id into v_id;
  return v_id;
end;
$$;
comment on function app_private.notify(uuid, text, uuid, uuid, uuid, uuid, uuid, jsonb) is 'Creates one notification, unless the recipient is the actor, a block separates them, or the recipient turned the type off on every channel. Every trigger below goes through it.';

create or replace function app_private.content_author(post_id uuid, question_id uuid, answer_id uuid, comment_id uuid)
  returns uuid
  language sql stable
  set search_path = pg_catalog, public
as $$
  select case
    when post_id is not null then (select p.author_id from app_public.posts p where p.id = post_id)
    when question_id is not null then (select q.author_id from app_public.questions q where q.id = question_id)
    when answer_id is not null then (select a.author_id from app_public.answers a where a.id = answer_id)
    when comment_id is not null then (select c.author_id from app_public.comments c where c.id = comment_id)
  end
$$;
comment on function app_private.content_author(uuid, uuid, uuid, uuid) is 'The author of the one post, question, answer or comment given.';

create or replace function app_private.tg_follows__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  perform app_private.notify(new.followee_id, 'new_follower', new.follower_id);
  return null;
end;
$$;
comment on function app_private.tg_follows__notify() is 'Trigger on follows (security definer: writes notifications for another member): notifies the followee.';
drop trigger if exists _700_notify on app_public.follows;
create trigger _700_notify after insert on app_public.follows
  for each row execute function app_private.tg_follows__notify();

create or replace function app_private.tg_comments__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_parent_author uuid;
  v_target_author uuid;
begin
  -- Only what everyone may see: a published comment under published parents.
  if new.status <> 'published' or new.document_id is not null
     or not app_hidden.content_is_open(null, null, null, new.id) then
    return null;
  end if;
  if new.parent_id is not null then
    select c.author_id into v_parent_author from app_public.comments c where c.id = new.parent_id;
    perform app_private.notify(v_parent_author, 'reply_to_comment', new.author_id,
                               new.post_id, new.question_id, new.answer_id, new.id);
  end if;
  v_target_author := app_private.content_author(new.post_id, new.question_id, new.answer_id, null);
  if v_target_author is distinct from v_parent_author then
    perform app_private.notify(v_target_author, 'comment_on_content', new.author_id,
                               new.post_id, new.question_id, new.answer_id, new.id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_comments__notify() is 'Trigger on comments (security definer: writes notifications for other members): notifies the parent comment''s author of a reply and the target''s author of a comment (once, when they are the same member).';
drop trigger if exists _700_notify on app_public.comments;
create trigger _700_notify after insert on app_public.comments
  for each row execute function app_private.tg_comments__notify();

create or replace function app_private.tg_answers__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if new.status <> 'published' or (tg_op = 'UPDATE' and old.status <> 'draft')
     or not app_hidden.content_is_open(null, null, new.id, null) then
    return null;
  end if;
  perform app_private.notify(app_private.content_author(null, new.question_id, null, null), 'answer_to_question',
                             new.author_id, null, new.question_id, new.id);
  return null;
end;
$$;
comment on function app_private.tg_answers__notify() is 'Trigger on answers (security definer: writes notifications for another member): notifies the question''s author when an answer is published (written published, or a draft published).';
drop trigger if exists _700_notify on app_public.answers;
create trigger _700_notify after insert or update of status on app_public.answers
  for each row execute function app_private.tg_answers__notify();

create or replace function app_private.tg_questions__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if new.accepted_answer_id is not null and new.accepted_answer_id is distinct from old.accepted_answer_id
     and app_hidden.content_is_open(null, null, new.accepted_answer_id, null) then
    perform app_private.notify(app_private.content_author(null, null, new.accepted_answer_id, null), 'answer_accepted',
                               coalesce(app_public.current_user_id(), new.author_id), null, new.id, new.accepted_answer_id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_questions__notify() is 'Trigger on questions (security definer: writes notifications for another member): notifies an answer''s author when it is accepted.';
drop trigger if exists _700_notify on app_public.questions;
create trigger _700_notify after update of accepted_answer_id on app_public.questions
  for each row execute function app_private.tg_questions__notify();

-- Reactions: likes aggregate per target and window; a withdrawn like updates or removes its notification.
create or replace function app_private.notify_reaction(r app_public.reactions, added boolean) returns void
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_recipient uuid;
  v_existing app_public.notifications;
  v_keep int := (app_private.setting('notification.last_actors'))::int;
begin
  if r.document_id is not null then
    return;
  end if;
  v_recipient := app_private.content_author(r.post_id, r.question_id, r.answer_id, r.comment_id);
  if v_recipient is null or v_recipient = r.user_id then
    return;
  end if;
  -- The notification that holds this target's likes: the latest one, if it is within the window (adding)
  -- or was created before this like (withdrawing).
  select n.* into v_existing from app_public.notifications n
   where n.recipient_id = v_recipient and n.type_id = 'reaction'
     and n.post_id is not distinct from r.post_id and n.question_id is not distinct from r.question_id
     and n.answer_id is not distinct from r.answer_id and n.comment_id is not distinct from r.comment_id
     and (case when added
               then n.created_at > now() - (app_private.setting('notification.reaction_window') #>> '{}')::interval
               else n.created_at <= r.created_at end)
   order by n.created_at desc
   limit 1
   for update;
  if added then
    if v_existing.id is null then
      if app_hidden.content_is_open(r.post_id, r.question_id, r.answer_id, r.comment_id) then
        perform app_private.notify(v_recipient, 'reaction', r.user_id, r.post_id, r.question_id, r.answer_id, r.comment_id);
      end if;
    else
      update app_public.notifications n
         set actor_id = r.user_id,
             actor_count = n.actor_count + 1,
             last_actor_ids = (array[r.user_id] || array_remove(n.last_actor_ids, r.user_id))[1:v_keep],
             read_at = null,
             updated_at = now()
       where n.id = v_existing.id;
    end if;
  elsif v_existing.id is not null then
    if v_existing.actor_count <= 1 then
      delete from app_public.notifications n where n.id = v_existing.id;
    else
      update app_public.notifications n
         set actor_count = n.actor_count - 1,
             last_actor_ids = array_remove(n.last_actor_ids, r.user_id),
             actor_id = coalesce((array_remove(n.last_actor_ids, r.user_id))[1], n.actor_id)
       where n.id = v_existing.id;
    end if;
  end if;
end;
$$;
comment on function app_private.notify_reaction(app_public.reactions, boolean) is 'Adds a like to (or withdraws it from) the aggregated reaction notification of its target: one per target per notification.reaction_window setting.';

create or replace function app_private.tg_reactions__notify() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Only likes notify ("Ana and 4 others liked your post"); dislikes never do.
  if tg_op in ('UPDATE', 'DELETE') and old.kind = 'like' then
    perform app_private.notify_reaction(old, false);
  end if;
  if tg_op in ('INSERT', 'UPDATE') and new.kind = 'like' then
    perform app_private.notify_reaction(new, true);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_reactions__notify() is 'Trigger on reactions (security definer: writes notifications for another member): a like adds to its target''s aggregated notification, an unlike or a switch to dislike withdraws it.';
drop trigger if exists _700_notify on app_public.reactions;
create trigger _700_notify after insert or delete or update of kind on app_public.reactions
  for each row execute function app_private.tg_reactions__notify();

create or replace function app_private.tg_security_events__notify() returns trigger
  language plpgsql
  set search_path = pg_catalog, public
as $$
declare
  v_event text;
begin
  v_event := case new.kind
    when 'password_changed' then 'password_changed'
    when 'password_reset' then 'password_changed'
    when 'primary_email_changed' then 'email_changed'
    when 'refresh_token_reused' then 'session_revoked_reuse'
    when 'login' then 'new_sign_in'
  end;
  if v_event is null or new.user_id is null then
    return null;
  end if;
  -- A sign-in is news only from an address this member never signed in from (the first sign-in is not).
  if new.kind = 'login' and (
       new.ip is null
       or not exists (select 1 from app_private.security_events e
                       where e.user_id = new.user_id and e.kind = 'login' and e.id < new.id)
       or exists (select 1 from app_private.security_events e
                   where e.user_id = new.user_id and e.kind = 'login' and e.id < new.id and e.ip = new.ip)) then
    return null;
  end if;
  perform app_private.notify(new.user_id, 'security_alert', null, detail =>
    jsonb_strip_nulls(jsonb_build_object('event', v_event, 'ip', host(new.ip))));
  return null;
end;
$$;
comment on function app_private.tg_security_events__notify() is 'Trigger on security_events: a security alert for a sign-in from a new IP address, a password change or reset, a primary e-mail change, and a session revoked by refresh-token reuse.';
drop trigger if exists _700_notify on app_private.security_events;
create trigger _700_notify after insert on app_private.security_events
  for each row execute function app_private.tg_security_events__notify();

-- Delivery -------------------------------------------------------------------

create or replace function app_private.tg_notifications__deliver() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  -- Live seam: realtime does not exist yet; a subscription will LISTEN on this per-member topic.
  if new.is_in_app then
    perform pg_notify('notifications:' || new.recipient_id::text,
                      json_build_object('event', lower(tg_op), 'id', new.id)::text);
  end if;
  if tg_op = 'INSERT' and app_private.notification_wanted(new.recipient_id, new.type_id, 'email')
     and coalesce((select s.email_digest from app_public.notification_settings s where s.user_id = new.recipient_id),
                  'immediate') = 'immediate'
     and exists (select 1 from app_public.user_emails e
                  where e.user_id = new.recipient_id and e.is_primary and e.is_verified) then
    perform app_private.add_job('send_notification_email', json_build_object('notificationId', new.id),
                                job_key => 'notification_email:' || new.id::text);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_notifications__deliver() is 'Trigger on notifications (security definer: members marking read cannot read settings or e-mail addresses): announces it on the pg_notify topic notifications:<recipient id> (the live seam) and enqueues its e-mail when the member wants it immediately and has a verified primary address.';
drop trigger if exists _500_deliver on app_public.notifications;
create trigger _500_deliver after insert or update of read_at, actor_count, last_actor_ids on app_public.notifications
  for each row execute function app_private.tg_notifications__deliver();

create table if not exists app_private.notification_secrets (
  id boolean primary key default true,
  unsubscribe_key bytea not null default public.gen_random_bytes(32),
  constraint notification_secrets_one_row check (id)
);
comment on table app_private.notification_secrets is 'The key that signs one-click unsubscribe links (HMAC-SHA256), generated once per database.';
insert into app_private.notification_secrets default values on conflict do nothing;

create or replace function app_private.unsubscribe_token(user_id uuid, type_id text) returns text
  language sql stable
  set search_path = pg_catalog, public
as $$
  select user_id::text || '.' || type_id || '.' ||
         encode(public.hmac(convert_to(user_id::text || ':' || type_id || ':email', 'UTF8'), s.unsubscribe_key, 'sha256'), 'hex')
    from app_private.notification_secrets s
$$;
comment on function app_private.unsubscribe_token(uuid, text) is 'The signed token of a one-click unsubscribe link: member, type and an HMAC of both.';

create or replace function app_private.unsubscribe(token text) returns boolean
  language plpgsql volatile
  set search_path = pg_catalog, public
as $$
declare
  v_parts text[] := string_to_array(token, '.');
  v_user uuid;
begin
  if cardinality(v_parts) <> 3 or v_parts[1] !~ '^[0-9a-f-]{36}$' then
    return false;
  end if;
  v_user := v_parts[1]::uuid;
  if app_private.unsubscribe_token(v_user, v_parts[2]) is distinct from token then
    return false;
  end if;
  if v_parts[2] = 'digest' then
    insert into app_public.notification_settings (user_id, email_digest) values (v_user, 'off')
    on conflict (user_id) do update set email_digest = 'off';
    return true;
  end if;
  if not exists (select 1 from app_public.notification_types t where t.id = v_parts[2]) then
    return false;
  end if;
  insert into app_public.notification_preferences (user_id, type_id, channel, enabled)
  values (v_user, v_parts[2], 'email', false)
  on conflict (user_id, type_id, channel) do update set enabled = false;
  return true;
end;
$$;
comment on function app_private.unsubscribe(text) is 'One-click unsubscribe: verifies the signed token and turns that type''s e-mails off for its member (a digest''s token, type "digest", turns the digest off). False for a bad token.';

create or replace function app_private.claim_notification_email(notification_id uuid,
    out email text, out type_id text, out actor_name text, out actor_count int, out target_title text,
    out detail jsonb, out unsubscribe_token text)
  language sql volatile
  set search_path = pg_catalog, public
as $$
  -- Locks the notification until the sending transaction ends: a retried or concurrent job waits, then sees emailed_at.
  with n as (
    select n.* from app_public.notifications n
     where n.id = notification_id and n.emailed_at is null
       and app_private.notification_wanted(n.recipient_id, n.type_id, 'email')
     for update
  )
  select e.email::text, n.type_id,
         coalesce(u.display_name, u.username::text), n.actor_count,
         coalesce(p.title, q.title, aq.title, cp.title, cq.title),
         n.detail, app_private.unsubscribe_token(n.recipient_id, n.type_id)
    from n
    join app_public.user_emails e on e.user_id = n.recipient_id and e.is_primary and e.is_verified
    left join app_public.users u on u.id = n.actor_id
    left join app_public.posts p on p.id = n.post_id
    left join app_public.questions q on q.id = n.question_id
    left join app_public.answers a on a.id = n.answer_id
    left join app_public.questions aq on aq.id = a.question_id
    left join app_public.comments c on c.id = n.comment_id
    left join app_public.posts cp on cp.id = c.post_id
    left join app_public.questions cq on cq.id = c.question_id
$$;
comment on function app_private.claim_notification_email(uuid) is 'What the send_notification_email task needs to mail one notification, locking it; no row when it was already mailed, the member no longer wants it, or has no verified primary address.';

create or replace function app_private.mark_notification_emailed(notification_id uuid) returns void
  language sql volatile
  set search_path = pg_catalog, public
as $$
  update app_public.notifications n set emailed_at = now() where n.id = notification_id
$$;
comment on function app_private.mark_notification_emailed(uuid) is 'Records that a notification''s e-mail was sent (in the sending transaction).';

-- Reading --------------------------------------------------------------------

create or replace function app_public.current_user_notifications(only_unread boolean default false, type_id text default null)
  returns setof app_public.notifications
  language sql stable
as $$
  select n.* from app_public.notifications n
   where n.recipient_id = app_public.current_user_id() and n.is_in_app
     and (not coalesce(only_unread, false) or n.read_at is null)
     and (current_user_notifications.type_id is null or n.type_id = current_user_notifications.type_id)
   order by n.updated_at desc, n.id desc
$$;
grant execute on function app_public.current_user_notifications(boolean, text) to authenticated;
comment on function app_public.current_user_notifications(boolean, text) is '@sortable false
Your notifications, newest first (by last change); onlyUnread and typeId filter them.';

create or replace function app_public.current_user_unread_notification_count() returns integer
  language sql stable
as $$
  select count(*)::int from app_public.notifications n
   where n.recipient_id = app_public.current_user_id() and n.read_at is null and n.is_in_app
$$;
grant execute on function app_public.current_user_unread_notification_count() to authenticated;
comment on function app_public.current_user_unread_notification_count() is 'How many of your notifications are unread (one index-only count).';

create or replace function app_public.mark_notifications_read(notification_ids uuid[]) returns integer
  language sql volatile
as $$
  with marked as (
    update app_public.notifications n set read_at = now()
     where n.id = any (notification_ids) and n.read_at is null
       and n.recipient_id = app_public.current_user_id()
    returning 1)
  select count(*)::int from marked
$$;
grant execute on function app_public.mark_notifications_read(uuid[]) to authenticated;
comment on function app_public.mark_notifications_read(uuid[]) is 'Marks one or several of your notifications read; returns how many changed (others'' ids are ignored).';

create or replace function app_public.mark_all_notifications_read() returns integer
  language sql volatile
as $$
  with marked as (
    update app_public.notifications n set read_at = now()
     where n.recipient_id = app_public.current_user_id() and n.read_at is null
    returning 1)
  select count(*)::int from marked
$$;
grant execute on function app_public.mark_all_notifications_read() to authenticated;
comment on function app_public.mark_all_notifications_read() is 'Marks all your notifications read; returns how many changed.';

-- Digests: hourly or daily, one mail batching every notification still waiting for its e-mail.

create or replace function app_private.pending_notification_emails(user_id uuid)
  returns setof app_public.notifications
  language sql stable
  set search_path = pg_catalog, public
as $$
  select n.* from app_public.notifications n
   where n.recipient_id = pending_notification_emails.user_id and n.emailed_at is null
     and app_private.notification_wanted(n.recipient_id, n.type_id, 'email')
   order by n.created_at
$$;
comment on function app_private.pending_notification_emails(uuid) is 'A member''s notifications that want an e-mail and have not had one: what a digest batches.';

create or replace function app_private.enqueue_notification_digests() returns integer
  language sql volatile
  set search_path = pg_catalog, public
as $$
  with due as (
    select s.user_id from app_public.notification_settings s
     where (s.email_digest = 'hourly' and (s.last_digest_at is null or s.last_digest_at <= now() - interval '1 hour' + interval '1 minute'))
        or (s.email_digest = 'daily' and (s.last_digest_at is null or s.last_digest_at <= now() - interval '1 day' + interval '1 minute'))
  ), queued as (
    select app_private.add_job('send_notification_digest', json_build_object('userId', due.user_id),
                               job_key => 'notification_digest:' || due.user_id::text)
      from due
     where exists (select 1 from app_private.pending_notification_emails(due.user_id))
  )
  select count(*)::int from queued
$$;
comment on function app_private.enqueue_notification_digests() is 'Enqueues one send_notification_digest job per member whose hourly or daily digest is due and has something pending (run by the hourly cron task).';

create or replace function app_private.claim_notification_digest(user_id uuid,
    out email text, out notification_id uuid, out type_id text, out actor_name text, out actor_count int,
    out target_title text, out detail jsonb, out unsubscribe_token text)
  returns setof record
  language sql volatile
  set search_path = pg_catalog, public
as $$
  -- Locks the member's settings row until the sending transaction ends, so a retried job waits and then finds nothing pending.
  with s as (
    select s.user_id from app_public.notification_settings s
     where s.user_id = claim_notification_digest.user_id and s.email_digest in ('hourly', 'daily')
     for update
  )
  select e.email::text, n.id, n.type_id, coalesce(u.display_name, u.username::text), n.actor_count,
         coalesce(p.title, q.title, aq.title, cp.title, cq.title), n.detail,
         app_private.unsubscribe_token(s.user_id, 'digest')
    from s
    join app_public.user_emails e on e.user_id = s.user_id and e.is_primary and e.is_verified
    cross join lateral app_private.pending_notification_emails(s.user_id) n
    left join app_public.users u on u.id = n.actor_id
    left join app_public.posts p on p.id = n.post_id
    left join app_public.questions q on q.id = n.question_id
    left join app_public.answers a on a.id = n.answer_id
    left join app_public.questions aq on aq.id = a.question_id
    left join app_public.comments c on c.id = n.comment_id
    left join app_public.posts cp on cp.id = c.post_id
    left join app_public.questions cq on cq.id = c.question_id
   order by n.created_at
$$;
comment on function app_private.claim_notification_digest(uuid) is 'The pending notifications of a member''s digest, with the address and an unsubscribe token; locks the member''s settings. No rows when nothing is pending, the digest is not hourly/daily, or the address is unverified.';

create or replace function app_private.mark_notification_digest_sent(user_id uuid, notification_ids uuid[]) returns void
  language sql volatile
  set search_path = pg_catalog, public
as $$
  update app_public.notifications n set emailed_at = now()
   where n.id = any (notification_ids) and n.recipient_id = mark_notification_digest_sent.user_id;
  update app_public.notification_settings s set last_digest_at = now() where s.user_id = mark_notification_digest_sent.user_id;
$$;
comment on function app_private.mark_notification_digest_sent(uuid, uuid[]) is 'Records a sent digest: its notifications are e-mailed, and the member''s last_digest_at moves.';

-- Retention: read notifications older than a setting are pruned, in batches, by an hourly cron task.

insert into app_private.settings (key, value, description) values
  ('notification.retention', '"90 days"', 'Read notifications older than this (since they were read) are deleted by the prune_notifications task')
on conflict (key) do nothing;
create index if not exists notifications_read_at_idx on app_public.notifications (read_at) where read_at is not null;

create or replace function app_private.prune_notifications(batch_size integer default 10000) returns integer
  language sql volatile
  set search_path = pg_catalog, public
as $$
  with doomed as (
    select n.id from app_public.notifications n
     where n.read_at < now() - (app_private.setting('notification.retention') #>> '{}')::interval
     limit batch_size
     for update skip locked
  ), pruned as (
    delete from app_public.notifications n using doomed where n.id = doomed.id returning 1
  )
  select count(*)::int from pruned
$$;
comment on function app_private.prune_notifications(integer) is 'Deletes up to batch_size notifications read longer ago than the notification.retention setting; returns how many. The prune_notifications task calls it until a batch comes back short.';

-- === files ===
-- Uploaded files: metadata here, bytes in the storage back-end (docs/files.md).
-- Two steps: app_public.create_upload reserves a pending row; the edge streams
-- the bytes (PUT /uploads/:id, HMAC-signed URL), sniffs their type and calls
-- app_private.finish_upload, which re-checks everything and marks the row ready.

drop trigger if exists _200_avatar_file on app_public.users;
drop trigger if exists _900_replace_avatar on app_public.users;
drop function if exists app_private.tg_users__replace_avatar();
drop function if exists app_private.tg_files__delete_bytes();
alter table app_public.users drop column if exists avatar_file_id;
drop function if exists app_private.tg_users__avatar_file();
drop function if exists app_public.create_upload(app_public.file_purpose, text, bigint, boolean);
drop function if exists app_private.finish_upload(uuid, uuid, text, bigint);
drop function if exists app_private.upload_target(uuid, uuid);
drop function if exists app_private.file_max_bytes(app_public.file_purpose, text);
drop function if exists app_private.file_type_of_name(text);
drop table if exists app_public.files;
drop type if exists app_public.file_purpose;
drop type if exists app_public.file_status;

create type app_public.file_purpose as enum ('avatar', 'post_image', 'question_attachment', 'cv', 'application_letter', 'document');
comment on type app_public.file_purpose is 'What an upload is for; decides the types and size allowed (app_private.file_max_bytes) and whether it may be public.';
create type app_public.file_status as enum ('pending', 'ready');
comment on type app_public.file_status is 'pending: reserved, bytes not (yet) accepted; ready: bytes checked and stored.';

delete from app_private.settings where key in ('files.max_bytes.image', 'files.max_bytes.document', 'files.quota_bytes', 'files.pending_lifetime', 'rate_limit.file:upload', 'files.thumbnail_sizes');
insert into app_private.settings (key, value, description) values
  ('files.max_bytes.image', '5242880', 'Largest image upload in bytes (jpeg, png, gif, webp)'),
  ('files.max_bytes.document', '10485760', 'Largest document upload in bytes (pdf, doc, docx)'),
  ('files.quota_bytes', '104857600', 'Bytes a member may hold in uploads (ready files plus pending reservations younger than files.pending_lifetime)'),
  ('files.pending_lifetime', '"1 hour"', 'How long a pending reservation counts against the quota'),
  ('rate_limit.file:upload', '{"max": 30, "window": "1 hour"}', 'Uploads a member may reserve per hour'),
  ('files.thumbnail_sizes', '[64, 256, 1024]', 'Widths and heights (px, the image fitted inside) of the webp thumbnails made of every uploaded image');

create table app_public.files (
  id uuid default gen_random_uuid() not null,
  owner_id uuid not null,
  purpose app_public.file_purpose not null,
  file_name text not null,
  declared_size bigint not null,
  byte_size bigint,
  content_type text,
  storage_key text not null,
  is_public boolean not null,
  status app_public.file_status default 'pending' not null,
  created_at timestamp with time zone default now() not null,
  ready_at timestamp with time zone,
  thumbnail_sizes integer[] default '{}' not null,
  constraint files_pkey primary key (id),
  constraint files_owner_id_fkey foreign key (owner_id) references app_public.users(id) on delete cascade,
  constraint files_storage_key_key unique (storage_key),
  constraint file_name_length check (char_length(file_name) between 1 and 255 and file_name !~ '[[:cntrl:]/\\]'),
  constraint file_declared_size check (declared_size > 0),
  constraint file_storage_key check (storage_key = purpose::text || '/' || id::text),
  constraint file_private_purposes check (not (is_public and purpose in ('cv', 'application_letter'))),
  constraint file_ready_complete check ((status = 'ready') = (byte_size is not null and content_type is not null and ready_at is not null))
);
alter table app_public.files enable row level security;
create policy select_own on app_public.files for select
  using (owner_id = (select app_public.current_user_id()));
create policy select_public_ready on app_public.files for select
  using (is_public and status = 'ready');
create policy delete_own on app_public.files for delete
  using (owner_id = (select app_public.current_user_id()));
grant select on app_public.files to anonymous, authenticated;
grant delete on app_public.files to authenticated;
comment on table app_public.files is E'@behavior -insert -update\nAn uploaded file: its owner, purpose, checked type and size, and where its bytes are stored. The owner sees their own; everyone sees public ready files. Created by createUpload, made ready by the upload endpoint, deleted by its owner (the bytes go in a job after commit).';
comment on column app_public.files.id is 'The file''s id (also in its URLs).';
comment on column app_public.files.owner_id is 'The member who uploaded it.';
comment on column app_public.files.purpose is 'What it is for (avatar, post_image, question_attachment, cv, application_letter, document).';
comment on column app_public.files.file_name is 'The client''s file name, a display string only (never a path).';
comment on column app_public.files.declared_size is 'Bytes the client announced when reserving; the upload may not send more.';
comment on column app_public.files.byte_size is 'Bytes received (ready files).';
comment on column app_public.files.content_type is 'The type decided by the bytes (magic numbers), never by the name or the client.';
comment on column app_public.files.storage_key is E'@behavior -*\nWhere the bytes live in the store: purpose/id.';
comment on column app_public.files.is_public is 'Public files are readable by everyone once ready; private ones by their owner only (CVs and letters are always private).';
comment on column app_public.files.status is 'pending until the bytes are accepted, then ready.';
comment on column app_public.files.created_at is 'When it was reserved.';
comment on column app_public.files.ready_at is 'When its bytes were accepted.';
comment on column app_public.files.thumbnail_sizes is 'Sizes (px) of the webp thumbnails made so far (images only, by the make_thumbnails job after upload); GET /files/:id?size=<n>.';
create index files_owner_id_idx on app_public.files (owner_id, created_at);

create function app_private.tg_files__delete_bytes() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  -- A job, not a call: it exists only if this transaction commits (a rolled-back delete keeps the bytes).
  perform app_private.add_job('delete_file_bytes', json_build_object('key', old.storage_key, 'id', old.id, 'thumbnails', old.thumbnail_sizes));
  return old;
end;
$$;
comment on function app_private.tg_files__delete_bytes() is 'Trigger on files: a deleted file''s bytes (and thumbnails) are removed by the delete_file_bytes job, which runs only after the delete commits.';
create trigger _900_delete_bytes after delete on app_public.files
  for each row execute function app_private.tg_files__delete_bytes();

create function app_private.file_max_bytes(purpose app_public.file_purpose, content_type text) returns bigint
  language sql stable set search_path = pg_catalog as $$
  select case
    when content_type in ('image/jpeg', 'image/png', 'image/gif', 'image/webp')
         and purpose in ('avatar', 'post_image', 'question_attachment', 'document')
      then (app_private.setting('files.max_bytes.image'))::text::bigint
    when content_type in ('application/pdf', 'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document')
         and purpose in ('question_attachment', 'cv', 'application_letter', 'document')
      then (app_private.setting('files.max_bytes.document'))::text::bigint
  end
$$;
comment on function app_private.file_max_bytes(app_public.file_purpose, text) is 'The largest size allowed for a content type in a purpose''s slot, or null when the type is not allowed there: images (jpeg, png, gif, webp) for avatar, post_image, question_attachment, document; documents (pdf, doc, docx) for question_attachment, cv, application_letter, document.';

create function app_private.file_type_of_name(file_name text) returns text
  language sql immutable set search_path = pg_catalog as $$
  select case lower(substring(file_name from '\.([A-Za-z0-9]+)$'))
    when 'jpg' then 'image/jpeg' when 'jpeg' then 'image/jpeg' when 'png' then 'image/png'
    when 'gif' then 'image/gif' when 'webp' then 'image/webp' when 'pdf' then 'application/pdf'
    when 'doc' then 'application/msword'
    when 'docx' then 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
  end
$$;
comment on function app_private.file_type_of_name(text) is 'The content type a file name''s extension claims, or null for an extension we do not know (then only the bytes decide).';

create function app_public.create_upload(purpose app_public.file_purpose, file_name text, size bigint, is_public boolean default null)
  returns app_public.files
  language plpgsql volatile security definer set search_path = pg_catalog as $$
declare
  v_user uuid := app_public.current_user_id();
  v_max bigint := greatest(
    app_private.file_max_bytes(purpose, 'image/png'), app_private.file_max_bytes(purpose, 'application/pdf'));
  v_used bigint;
  v_quota bigint := (app_private.setting('files.quota_bytes'))::text::bigint;
  v_public boolean := coalesce(is_public, purpose in ('avatar', 'post_image', 'question_attachment'));
  v_file app_public.files;
  v_id uuid := gen_random_uuid();
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  if size is null or size <= 0 then
    raise exception 'The file is empty' using errcode = 'FEMPT';
  end if;
  if size > v_max then
    raise exception 'The file is too large for this slot' using errcode = 'FSIZE',
      detail = json_build_object('maxBytes', v_max)::text;
  end if;
  if v_public and purpose in ('cv', 'application_letter') then
    raise exception 'CVs and application letters are always private' using errcode = 'INVAL';
  end if;
  -- One reservation at a time per member: the quota check below cannot be raced.
  perform pg_advisory_xact_lock(hashtextextended('files:' || v_user::text, 0));
  select coalesce(sum(coalesce(f.byte_size, f.declared_size)), 0) into v_used
    from app_public.files f
    where f.owner_id = v_user
      and (f.status = 'ready' or f.created_at > now() - (app_private.setting('files.pending_lifetime') #>> '{}')::interval);
  if v_used + size > v_quota then
    raise exception 'Your upload quota is used up' using errcode = 'FQUOT',
      detail = json_build_object('quotaBytes', v_quota, 'usedBytes', v_used)::text;
  end if;
  perform app_private.rate_limit('file:upload', v_user::text);
  insert into app_public.files (id, owner_id, purpose, file_name, declared_size, is_public, storage_key)
    values (v_id, v_user, purpose, file_name, size, v_public, purpose::text || '/' || v_id::text)
    returning * into v_file;
  return v_file;
end;
$$;
grant execute on function app_public.create_upload(app_public.file_purpose, text, bigint, boolean) to authenticated;
comment on function app_public.create_upload(app_public.file_purpose, text, bigint, boolean) is 'Reserves an upload: a pending file of the given purpose, display name and size (bytes). isPublic defaults to true for avatars, post images and question attachments, false otherwise (CVs and letters cannot be public). Checks the size limit of the slot (FSIZE), the member''s quota (FQUOT) and the file:upload rate limit (RLIMT). Select uploadUrl on the result and PUT the bytes there (docs/files.md).';

create function app_private.upload_target(file_id uuid, user_id uuid)
  returns table (status app_public.file_status, declared_size bigint, max_bytes bigint, storage_key text)
  language sql stable set search_path = pg_catalog as $$
  select f.status, f.declared_size,
         greatest(app_private.file_max_bytes(f.purpose, 'image/png'), app_private.file_max_bytes(f.purpose, 'application/pdf')),
         f.storage_key
    from app_public.files f
    where f.id = file_id and f.owner_id = user_id
$$;
comment on function app_private.upload_target(uuid, uuid) is 'For the upload endpoint (run by the owner role): the file''s status, declared size, largest size its slot allows and storage key, when it belongs to the user; no row otherwise.';

create function app_private.finish_upload(file_id uuid, user_id uuid, content_type text, byte_size bigint)
  returns app_public.files
  language plpgsql volatile set search_path = pg_catalog as $$
declare
  v_file app_public.files;
  v_max bigint;
  v_named text;
begin
  select * into v_file from app_public.files f where f.id = file_id and f.owner_id = user_id for update;
  if not found then
    raise exception 'No such upload' using errcode = 'NOTFD';
  end if;
  if v_file.status <> 'pending' then
    raise exception 'This upload is already complete' using errcode = 'FDONE';
  end if;
  if byte_size is null or byte_size <= 0 then
    raise exception 'The file is empty' using errcode = 'FEMPT';
  end if;
  if content_type is null then
    raise exception 'The file''s content is not an allowed type' using errcode = 'FTYPE';
  end if;
  v_named := app_private.file_type_of_name(v_file.file_name);
  if v_named is not null and v_named <> content_type then
    raise exception 'The file''s name does not match its content' using errcode = 'FMISM',
      detail = json_build_object('contentType', content_type)::text;
  end if;
  v_max := app_private.file_max_bytes(v_file.purpose, content_type);
  if v_max is null then
    raise exception 'This type of file is not allowed here' using errcode = 'FTYPE',
      detail = json_build_object('contentType', content_type)::text;
  end if;
  if byte_size > v_max or byte_size > v_file.declared_size then
    raise exception 'The file is too large' using errcode = 'FSIZE',
      detail = json_build_object('maxBytes', least(v_max, v_file.declared_size))::text;
  end if;
  update app_public.files f
    set status = 'ready', byte_size = finish_upload.byte_size, content_type = finish_upload.content_type, ready_at = now()
    where f.id = file_id
    returning * into v_file;
  if content_type like 'image/%' then
    -- Thumbnails in the background, after commit; a failing job retries and never blocks the upload.
    perform app_private.add_job('make_thumbnails', json_build_object('id', file_id));
  end if;
  return v_file;
end;
$$;
comment on function app_private.finish_upload(uuid, uuid, text, bigint) is 'For the upload endpoint (run by the owner role, with the user the signed URL names): checks the file is the user''s and pending (NOTFD, FDONE), not empty (FEMPT), of a type the slot allows (FTYPE), named consistently with its content (FMISM) and within the limits (FSIZE); marks it ready and, for images, queues make_thumbnails.';

alter table app_public.users add column avatar_file_id uuid;
alter table app_public.users add constraint users_avatar_file_id_fkey
  foreign key (avatar_file_id) references app_public.files(id) on delete set null;
grant update (avatar_file_id) on app_public.users to authenticated;
comment on column app_public.users.avatar_file_id is 'The avatar: a ready file of purpose avatar that this user uploaded (FSLOT otherwise).';
create index users_avatar_file_id_idx on app_public.users (avatar_file_id);

create function app_private.tg_users__avatar_file() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  if new.avatar_file_id is not null and not exists (
    select 1 from app_public.files f
    where f.id = new.avatar_file_id and f.owner_id = new.id and f.purpose = 'avatar' and f.status = 'ready'
  ) then
    raise exception 'That file cannot be this user''s avatar' using errcode = 'FSLOT';
  end if;
  return new;
end;
$$;
comment on function app_private.tg_users__avatar_file() is 'Trigger on users: an avatar must be a ready avatar file owned by the user (FSLOT).';
create trigger _200_avatar_file before insert or update of avatar_file_id on app_public.users
  for each row execute function app_private.tg_users__avatar_file();

create function app_private.tg_users__replace_avatar() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  -- The previous avatar file goes (its bytes in a job after commit). When the file itself is
  -- being deleted (the foreign key sets the column to null), it is already gone: no row matches.
  delete from app_public.files f where f.id = old.avatar_file_id;
  return null;
end;
$$;
comment on function app_private.tg_users__replace_avatar() is 'Trigger on users: replacing or clearing the avatar deletes the previous avatar file (and, after commit, its bytes).';
create trigger _900_replace_avatar after update of avatar_file_id on app_public.users
  for each row when (old.avatar_file_id is distinct from new.avatar_file_id and old.avatar_file_id is not null)
  execute function app_private.tg_users__replace_avatar();

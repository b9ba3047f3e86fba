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

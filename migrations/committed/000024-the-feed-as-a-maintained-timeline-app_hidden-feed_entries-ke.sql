--! Previous: sha1:c230007d3acd5151d727f6447a9aebf20a680b08
--! Hash: sha1:8c7848a091f671ea8a14330bd1e0784ec617a863
--! Message: The feed as a maintained timeline: app_hidden.feed_entries, kept by triggers on posts, follows and category_follows

-- The feed as a maintained timeline (fan-out on write): one row per member
-- and post of their feed, written when a post is published or a follow
-- begins, so reading a feed page walks 21 rows of one index instead of
-- gathering and sorting every post of every followee.

drop function if exists app_public.current_user_feed_post_ids();

create table if not exists app_hidden.feed_entries (
  user_id uuid not null,
  published_at timestamptz not null,
  post_id uuid not null,
  constraint feed_entries_pkey primary key (user_id, published_at, post_id),
  constraint feed_entries_user_id_fkey foreign key (user_id) references app_public.users (id) on delete cascade,
  constraint feed_entries_post_id_fkey foreign key (post_id) references app_public.posts (id) on delete cascade
);
create index if not exists feed_entries_post_id_idx on app_hidden.feed_entries (post_id);
alter table app_hidden.feed_entries enable row level security;
drop policy if exists select_own on app_hidden.feed_entries;
create policy select_own on app_hidden.feed_entries for select
  using (user_id = (select app_public.current_user_id()));
grant select on app_hidden.feed_entries to anonymous, authenticated;
comment on table app_hidden.feed_entries is
  'The feed, one row per member and post in it: the published posts by the members and in the categories the member follows. Kept by triggers on posts, follows and category_follows (app_private.tg_*__feed); refilled by app_private.feed_rebuild(). Read through allPosts(condition: { inMyFeed: true }); each member reads only their own rows.';
comment on column app_hidden.feed_entries.user_id is 'The member whose feed it is.';
comment on column app_hidden.feed_entries.published_at is 'The post''s published_at, kept equal to it: the feed''s order is this index''s order.';
comment on column app_hidden.feed_entries.post_id is 'The post.';

-- Who sees a post in their feed: the followers of its author and of its category.
create or replace function app_private.feed_audience(author_id uuid, category_id uuid) returns setof uuid
  language sql stable
  set search_path = pg_catalog, public
as $$
  select f.follower_id from app_public.follows f where f.followee_id = feed_audience.author_id
  union
  select cf.user_id from app_public.category_follows cf where cf.category_id = feed_audience.category_id
$$;
comment on function app_private.feed_audience(uuid, uuid) is
  'The members whose feed shows a published post by author_id in category_id: the author''s followers and the category''s followers.';

create or replace function app_private.tg_posts__feed() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_old boolean := tg_op = 'UPDATE' and old.status = 'published' and old.published_at is not null;
  v_new boolean := new.status = 'published' and new.published_at is not null;
begin
  if v_old and v_new and old.author_id = new.author_id and old.category_id is not distinct from new.category_id then
    if old.published_at <> new.published_at then
      update app_hidden.feed_entries set published_at = new.published_at where post_id = new.id;
    end if;
    return null;
  end if;
  if v_old then
    delete from app_hidden.feed_entries where post_id = old.id;
  end if;
  if v_new then
    insert into app_hidden.feed_entries (user_id, published_at, post_id)
    select a.user_id, new.published_at, new.id from app_private.feed_audience(new.author_id, new.category_id) a(user_id)
    on conflict do nothing;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_posts__feed() is
  'Puts a post in its audience''s feeds when it is published, takes it out when it stops being published (a deleted post leaves with its rows), follows a change of published_at, author or category.';

drop trigger if exists _750_feed on app_public.posts;
create trigger _750_feed after insert or update of status, published_at, author_id, category_id on app_public.posts
  for each row execute function app_private.tg_posts__feed();

create or replace function app_private.tg_follows__feed() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if tg_op = 'INSERT' then
    insert into app_hidden.feed_entries (user_id, published_at, post_id)
    select new.follower_id, p.published_at, p.id from app_public.posts p
     where p.author_id = new.followee_id and p.status = 'published' and p.published_at is not null
    on conflict do nothing;
  else
    delete from app_hidden.feed_entries e using app_public.posts p
     where p.author_id = old.followee_id and e.user_id = old.follower_id and e.published_at = p.published_at and e.post_id = p.id
       and not exists (select 1 from app_public.category_follows cf where cf.user_id = old.follower_id and cf.category_id = p.category_id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_follows__feed() is
  'Following a member brings their published posts into the follower''s feed; unfollowing takes them out, except those in a category the follower still follows.';

drop trigger if exists _600_feed on app_public.follows;
create trigger _600_feed after insert or delete on app_public.follows
  for each row execute function app_private.tg_follows__feed();

create or replace function app_private.tg_category_follows__feed() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
begin
  if tg_op = 'INSERT' then
    insert into app_hidden.feed_entries (user_id, published_at, post_id)
    select new.user_id, p.published_at, p.id from app_public.posts p
     where p.category_id = new.category_id and p.status = 'published' and p.published_at is not null
    on conflict do nothing;
  else
    delete from app_hidden.feed_entries e using app_public.posts p
     where p.category_id = old.category_id and e.user_id = old.user_id and e.published_at = p.published_at and e.post_id = p.id
       and not exists (select 1 from app_public.follows f where f.follower_id = old.user_id and f.followee_id = p.author_id);
  end if;
  return null;
end;
$$;
comment on function app_private.tg_category_follows__feed() is
  'Following a category brings its published posts into the member''s feed; unfollowing takes them out, except those by a member still followed.';

drop trigger if exists _600_feed on app_public.category_follows;
create trigger _600_feed after insert or delete on app_public.category_follows
  for each row execute function app_private.tg_category_follows__feed();

create or replace function app_private.feed_rebuild() returns void
  language sql security definer
  set search_path = pg_catalog, public
as $$
  delete from app_hidden.feed_entries;
  insert into app_hidden.feed_entries (user_id, published_at, post_id)
  select f.follower_id, p.published_at, p.id
    from app_public.follows f join app_public.posts p on p.author_id = f.followee_id
   where p.status = 'published' and p.published_at is not null
  union
  select cf.user_id, p.published_at, p.id
    from app_public.category_follows cf join app_public.posts p on p.category_id = cf.category_id
   where p.status = 'published' and p.published_at is not null;
$$;
comment on function app_private.feed_rebuild() is
  'Refills every feed from the posts and follows in one statement: after a bulk load with triggers off (the seed) or to repair.';

-- Existing feeds: filled once (empty on a new database, so re-running this file costs nothing).
select app_private.feed_rebuild() where not exists (select 1 from app_hidden.feed_entries);

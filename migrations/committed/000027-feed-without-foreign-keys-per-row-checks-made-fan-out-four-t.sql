--! Previous: sha1:051d75a1d4728fa18f909fb97d17967c1a2ed02e
--! Hash: sha1:0fea1003b6c68911070c998428653c062711b5bf
--! Message: Feed without foreign keys (per-row checks made fan-out four times slower); the posts trigger removes a deleted post's rows

-- The feed without foreign keys: checked per inserted row they made a
-- post's fan-out four times slower (10k followers: 1.25 s instead of
-- 0.31 s). The triggers keep the rows that the keys kept: a deleted post's
-- rows go with it (below), and a deleted member's go as their follows end
-- (each ending follow reconciles their feed).
alter table app_hidden.feed_entries drop constraint if exists feed_entries_post_id_fkey;
alter table app_hidden.feed_entries drop constraint if exists feed_entries_user_id_fkey;

create or replace function app_private.tg_posts__feed() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_old boolean := tg_op <> 'INSERT' and old.status = 'published' and old.published_at is not null;
  v_new boolean := tg_op <> 'DELETE' and new.status = 'published' and new.published_at is not null;
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
  'Puts a post in its audience''s feeds when it is published, takes it out when it stops being published or is deleted, follows a change of published_at, author or category.';

drop trigger if exists _750_feed on app_public.posts;
create trigger _750_feed after insert or delete or update of status, published_at, author_id, category_id on app_public.posts
  for each row execute function app_private.tg_posts__feed();

comment on table app_hidden.feed_entries is
  'The feed, one row per member and post in it: the published posts by the members and in the categories the member follows. Kept by triggers on posts, follows and category_follows (app_private.tg_posts__feed, app_private.tg__feed_follows), which also remove the rows of deleted posts and members (no foreign keys: checked per row they made publishing four times slower); refilled by app_private.feed_rebuild(). Read through allPosts(condition: { inMyFeed: true }); each member reads only their own rows.';

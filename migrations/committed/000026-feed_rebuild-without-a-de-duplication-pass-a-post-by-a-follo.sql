--! Previous: sha1:d71309e7c0fc7e724cacde0511952dec4b132922
--! Hash: sha1:051d75a1d4728fa18f909fb97d17967c1a2ed02e
--! Message: feed_rebuild without a de-duplication pass: a post by a followed member comes from the follows branch only

-- feed_rebuild without a de-duplication pass over every row: a post by a
-- followed member comes from the first branch, and from the second only when
-- its author is not followed (each branch is unique by its keys).
create or replace function app_private.feed_rebuild() returns void
  language sql security definer
  set search_path = pg_catalog, public
as $$
  delete from app_hidden.feed_entries;
  insert into app_hidden.feed_entries (user_id, published_at, post_id)
  select f.follower_id, p.published_at, p.id
    from app_public.follows f join app_public.posts p on p.author_id = f.followee_id
   where p.status = 'published' and p.published_at is not null
  union all
  select cf.user_id, p.published_at, p.id
    from app_public.category_follows cf join app_public.posts p on p.category_id = cf.category_id
   where p.status = 'published' and p.published_at is not null
     and not exists (select 1 from app_public.follows f where f.follower_id = cf.user_id and f.followee_id = p.author_id);
$$;

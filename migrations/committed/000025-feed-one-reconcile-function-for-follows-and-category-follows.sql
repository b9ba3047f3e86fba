--! Previous: sha1:8c7848a091f671ea8a14330bd1e0784ec617a863
--! Hash: sha1:d71309e7c0fc7e724cacde0511952dec4b132922
--! Message: Feed: one reconcile function for follows and category follows; a new follow brings at most feed.backfill (200) earlier posts

-- Following and unfollowing, members or categories, keep a feed right with
-- one statement of the rule instead of two mirrored trigger functions; a new
-- follow brings at most the newest feed.backfill posts of its author or
-- category (following a category of 64k posts wrote 64k rows: 8 s).

insert into app_private.settings (key, value, description) values
  ('feed.backfill', '200', 'How many earlier posts a new follow (of a member or a category) brings into the follower''s feed at most: the newest ones. Later posts all come as they are published.')
on conflict (key) do nothing;

drop trigger if exists _600_feed on app_public.follows;
drop trigger if exists _600_feed on app_public.category_follows;
drop function if exists app_private.tg_follows__feed();
drop function if exists app_private.tg_category_follows__feed();

create or replace function app_private.feed_reconcile(member uuid, author_id uuid, category_id uuid) returns void
  language sql security definer
  set search_path = pg_catalog, public
as $$
  -- Out: the member's entries for these posts that no follow brings any more.
  delete from app_hidden.feed_entries e using app_public.posts p
   where e.user_id = member and p.id = e.post_id
     and (p.author_id = feed_reconcile.author_id or p.category_id = feed_reconcile.category_id)
     and not exists (select 1 from app_public.follows f where f.follower_id = member and f.followee_id = p.author_id)
     and not exists (select 1 from app_public.category_follows cf where cf.user_id = member and cf.category_id = p.category_id);
  -- In: the newest of those published posts (at most feed.backfill).
  insert into app_hidden.feed_entries (user_id, published_at, post_id)
  select member, p.published_at, p.id from app_public.posts p
   where (p.author_id = feed_reconcile.author_id or p.category_id = feed_reconcile.category_id)
     and p.status = 'published' and p.published_at is not null
     -- while the member follows this author or category (one check, not one per post: after an unfollow nothing is read)
     and exists (select 1 from app_public.follows f where f.follower_id = member and f.followee_id = feed_reconcile.author_id
                 union all
                 select 1 from app_public.category_follows cf where cf.user_id = member and cf.category_id = feed_reconcile.category_id)
   order by p.published_at desc
   limit (app_private.setting('feed.backfill') #>> '{}')::int
  on conflict do nothing;
$$;
comment on function app_private.feed_reconcile(uuid, uuid, uuid) is
  'Makes member''s feed right for the posts by author_id or in category_id (either may be null): out when no follow of its author or category brings it any more; in when published and followed (the newest feed.backfill of them). Run when a follow of that author or category begins or ends.';

create or replace function app_private.tg__feed_follows() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, public
as $$
declare
  v_row jsonb;
begin
  if tg_op = 'DELETE' then v_row := to_jsonb(old); else v_row := to_jsonb(new); end if;
  if tg_table_name = 'follows' then
    perform app_private.feed_reconcile((v_row->>'follower_id')::uuid, (v_row->>'followee_id')::uuid, null);
  else
    perform app_private.feed_reconcile((v_row->>'user_id')::uuid, null, (v_row->>'category_id')::uuid);
  end if;
  return null;
end;
$$;
comment on function app_private.tg__feed_follows() is
  'On follows and category_follows: a follow that begins or ends reconciles the member''s feed for that author''s or category''s posts (app_private.feed_reconcile).';

create trigger _600_feed after insert or delete on app_public.follows
  for each row execute function app_private.tg__feed_follows();
create trigger _600_feed after insert or delete on app_public.category_follows
  for each row execute function app_private.tg__feed_follows();

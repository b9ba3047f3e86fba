--! Previous: sha1:e348026268940e191640c6f0abe6496833302a69
--! Hash: sha1:2ec26af3f97edd45328679e5848178414b58c8c2
--! Message: Category statistics: per category and UTC day, maintained by a trigger on posts; categories.postStats(since); index for a category's posts by likes

--! split: 1000-category-post-stats.sql
-- Per category and UTC day: how many public posts were published, and the
-- sums of their likes and comments, kept exact by a trigger on posts. A
-- category page's "last 30 days" totals then read at most 30 rows instead of
-- every post of the window under row-level security (issue 12).

drop function if exists app_public.categories_post_stats(app_public.categories, date);
drop trigger if exists _740_category_stats on app_public.posts;
drop function if exists app_private.tg_posts__category_stats();
drop function if exists app_private.category_stats_rebuild();
drop table if exists app_public.category_daily_stats;
drop type if exists app_public.post_stats;

create table app_public.category_daily_stats (
  category_id uuid not null references app_public.categories (id) on delete cascade,
  day date not null,
  post_count integer not null default 0,
  like_count bigint not null default 0,
  comment_count bigint not null default 0,
  constraint category_daily_stats_pkey primary key (category_id, day)
);
alter table app_public.category_daily_stats enable row level security;
create policy select_visible on app_public.category_daily_stats for select
  using (exists (select 1 from app_public.categories c where c.id = category_id));
grant select on app_public.category_daily_stats to anonymous, authenticated;
comment on table app_public.category_daily_stats is E'@behavior -insert -update -delete\nPer category and UTC day of publication: the public (published or archived) posts, with the sums of their likes and comments as they are now. Maintained by the database (a trigger on posts); visible where the category is.';
comment on column app_public.category_daily_stats.category_id is 'The category.';
comment on column app_public.category_daily_stats.day is 'The UTC day the posts were published.';
comment on column app_public.category_daily_stats.post_count is 'Public posts published in the category that day (0 once all were removed).';
comment on column app_public.category_daily_stats.like_count is 'The sum of those posts'' like counts.';
comment on column app_public.category_daily_stats.comment_count is 'The sum of those posts'' comment counts.';

-- A post's contribution moves when its state, category, publication time or
-- counters change: subtract the old one, add the new one (one upsert when
-- both fall on the same row, as for every like). Concurrent likes of posts
-- of one category and day serialise on its row until they commit, like the
-- post's own like_count.
create function app_private.tg_posts__category_stats() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_old boolean := tg_op <> 'INSERT' and old.status in ('published', 'archived') and old.published_at is not null and old.category_id is not null;
  v_new boolean := tg_op <> 'DELETE' and new.status in ('published', 'archived') and new.published_at is not null and new.category_id is not null;
  v_old_day date := case when v_old then (old.published_at at time zone 'UTC')::date end;
  v_new_day date := case when v_new then (new.published_at at time zone 'UTC')::date end;
begin
  if v_old and v_new and old.category_id = new.category_id and v_old_day = v_new_day then
    update app_public.category_daily_stats
       set like_count = like_count + new.like_count - old.like_count,
           comment_count = comment_count + new.comment_count - old.comment_count
     where category_id = new.category_id and day = v_new_day;
    return null;
  end if;
  if v_old then
    update app_public.category_daily_stats
       set post_count = post_count - 1, like_count = like_count - old.like_count, comment_count = comment_count - old.comment_count
     where category_id = old.category_id and day = v_old_day;
  end if;
  if v_new then
    insert into app_public.category_daily_stats as s (category_id, day, post_count, like_count, comment_count)
    values (new.category_id, v_new_day, 1, new.like_count, new.comment_count)
    on conflict (category_id, day) do update
      set post_count = s.post_count + 1, like_count = s.like_count + excluded.like_count, comment_count = s.comment_count + excluded.comment_count;
  end if;
  return null;
end;
$$;
comment on function app_private.tg_posts__category_stats() is 'Trigger on posts: keeps category_daily_stats exact (subtracts the post''s old contribution, adds its new one). Security definer: writes maintained rows.';

create trigger _740_category_stats after insert or delete or update of status, category_id, published_at, like_count, comment_count
  on app_public.posts for each row
  execute function app_private.tg_posts__category_stats();

create function app_private.category_stats_rebuild() returns void
  language sql security definer set search_path = pg_catalog, public as $$
  delete from app_public.category_daily_stats;
  insert into app_public.category_daily_stats (category_id, day, post_count, like_count, comment_count)
  select category_id, (published_at at time zone 'UTC')::date, count(*), sum(like_count), sum(comment_count)
    from app_public.posts
   where status in ('published', 'archived') and published_at is not null and category_id is not null
   group by 1, 2;
$$;
comment on function app_private.category_stats_rebuild() is 'Recomputes category_daily_stats from the posts in one statement: after a bulk load with triggers off (the seed) or to repair. Security definer: writes maintained rows.';

select app_private.category_stats_rebuild();

create type app_public.post_stats as (
  post_count integer,
  like_count bigint,
  comment_count bigint,
  like_average numeric
);
comment on type app_public.post_stats is 'Totals over a set of public posts.';
comment on column app_public.post_stats.post_count is 'How many posts.';
comment on column app_public.post_stats.like_count is 'The sum of their likes.';
comment on column app_public.post_stats.comment_count is 'The sum of their comments.';
comment on column app_public.post_stats.like_average is 'Likes per post, to two decimals; null when there are no posts.';

create function app_public.categories_post_stats(category app_public.categories, since date default null)
  returns app_public.post_stats language sql stable parallel safe as $$
  select coalesce(sum(s.post_count), 0)::integer, coalesce(sum(s.like_count), 0)::bigint, coalesce(sum(s.comment_count), 0)::bigint,
         round(sum(s.like_count)::numeric / nullif(sum(s.post_count), 0), 2)
    from app_public.category_daily_stats s
   where s.category_id = category.id and (since is null or s.day >= since)
$$;
comment on function app_public.categories_post_stats(app_public.categories, date) is 'The category''s public posts published on or after the UTC day `since` (all time when null): count, likes, comments and likes per post, read from the maintained daily statistics (at most one row per day), so "the last 30 days" costs 30 rows whatever the traffic. The viewer''s own drafts are not included.';
grant execute on function app_public.categories_post_stats(app_public.categories, date) to anonymous, authenticated;

-- A category's posts by likes (the category page's "most liked"): walked in
-- order and stopped after a page, the publication window checked per entry.
drop index if exists app_public.posts_category_likes_idx;
create index posts_category_likes_idx on app_public.posts (category_id, like_count desc, id desc);

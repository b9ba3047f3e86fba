--! Previous: sha1:f4d5760b0ef7f222cba44ed1245305009b0bba04
--! Hash: sha1:0d3e48954ce2aa31f6e99ed03b54d3838991b234
--! Message: Tidy: current_user_id from current_session_id; one counter trigger

-- Tidy-ups with no change in behaviour:
-- 1. "Which live session is asking" is decided once, in current_session_id();
--    current_user_id() derives from it instead of repeating the rule.
-- 2. One counter trigger for comments, answers, bookmarks and reactions
--    (reactions used a copy of the same loop).

create or replace function app_public.current_user_id() returns uuid
  language sql stable security definer
  set search_path = pg_catalog
as $$
  select s.user_id from app_private.sessions s where s.id = app_public.current_session_id()
$$;

drop trigger if exists _500_count on app_public.reactions;
drop function if exists app_private.tg_reactions__count();

/*
 * Counters of live rows (not deleted), one `n = n ± 1` per counted row:
 * the counter named by the trigger argument, or for reactions the row's
 * kind (`like_count`, `dislike_count`); replies also count on their parent.
 */
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
    if coalesce(v_row ->> 'status', 'published') = 'deleted' then
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

create trigger _500_count after insert or update or delete on app_public.reactions
  for each row execute function app_private.tg_counter();

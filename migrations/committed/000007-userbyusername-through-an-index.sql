--! Previous: sha1:f5365be50c7b1cada7e01c068fe55e8b1dcd3fea
--! Hash: sha1:2bb29875af6b2864c14ccd640aa7cfe52b04db51
--! Message: userByUsername through an index

/*
 * Looking a member up by username. username is citext, whose equality is not
 * leakproof, so under row-level security PostgreSQL checks the row policy
 * first and cannot use the unique index: every userByUsername was a
 * sequential scan of users (46 ms at 100k members). userByUsername is now
 * this function: the policy's rule (active members only) stated here, and
 * the index. The generated lookup by the unique constraint is switched off.
 */
comment on constraint users_username_key on app_public.users is E'@behavior -single';
drop function if exists app_public.user_by_username(text);
create function app_public.user_by_username(username text) returns app_public.users
  language sql stable strict security definer
  set search_path = pg_catalog, public
as $$
  select u.* from app_public.users u where u.username = user_by_username.username::citext and u.is_active
$$;
comment on function app_public.user_by_username(text) is 'The active member with this username (letter case does not matter).';
grant execute on function app_public.user_by_username(text) to anonymous, authenticated;

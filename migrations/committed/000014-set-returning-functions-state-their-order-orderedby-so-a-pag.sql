--! Previous: sha1:50285455e3c80ea783bc6c16374e65b9e2d76016
--! Hash: sha1:b8eb26009d639859ba3752a897edbefd536912d1
--! Message: Set-returning functions state their order (@orderedBy) so a page and its relations are one statement

-- === rankings in one statement ===
-- A page of a set-returning function and its relations is one statement when
-- the function states its order (@orderedBy, plugins/ordered-functions.ts).
comment on function app_public.leaderboard(period text) is '@orderedBy rank
A leaderboard, best first: period is week (last 7 days), month (last 30 days) or all.';
comment on function app_public.trending(kind text) is '@orderedBy rank
The trending posts (kind post) or questions (kind question), most trending first.';
comment on function app_public.jobs_in_followed_categories() is '@sortable false
@orderedBy published_at desc, id desc
Active jobs in the categories you follow (createCategoryFollow), newest first: job_postings_category_published_idx, per followed category.';
comment on function app_public.current_user_notifications(only_unread boolean, type_id text) is '@sortable false
@orderedBy updated_at desc, id desc
Your notifications, newest first (by last change); onlyUnread and typeId filter them.';
comment on function app_public.messages_around(message_id uuid, count integer) is '@orderedBy created_at desc, id desc
A page of a room''s history centred on a message (to jump to a reply or a search hit): the message, up to count (at most 100) newer and count older messages, newest first.';

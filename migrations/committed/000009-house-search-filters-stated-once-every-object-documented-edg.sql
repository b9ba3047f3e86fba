--! Previous: sha1:60714af436c9c5c9ebbfb4ee7d1262bf077a7eeb
--! Hash: sha1:cf164a4a68e271d9d43e52cf4bf99b9a1e411804
--! Message: House: search filters stated once; every object documented; edge rate-limit classes

--------------------------------------------------------------------------------
-- Search filters, stated once. search_matches (before the 500 cap) and
-- search (the visible documents) both ask "does this document pass the
-- filters?"; they used to spell the rule out five times.
--
-- Immutable and without sub-selects, so PostgreSQL inlines it: the planner
-- still sees plain column conditions next to `@@` and can use the indexes.
create or replace function app_hidden.search_filters_pass(
  category_id uuid, tags text[], author_id uuid, published_at timestamptz, language text,
  want_category_ids uuid[], want_tags text[], want_author_id uuid,
  published_after timestamptz, published_before timestamptz, want_language text, match_all boolean
) returns boolean
  language sql immutable
as $$
  select case when match_all then
           (want_category_ids is null or category_id = any(want_category_ids))
           and (want_tags is null or tags @> want_tags)
           and (want_author_id is null or author_id = want_author_id)
           and (published_after is null or published_at >= published_after)
           and (published_before is null or published_at < published_before)
           and (want_language is null or language = want_language)
         else
           (want_category_ids is null and want_tags is null and want_author_id is null
             and published_after is null and published_before is null and want_language is null)
           or category_id = any(want_category_ids) or tags && want_tags or author_id = want_author_id
           or published_at >= published_after or published_at < published_before
           or language = want_language
         end
$$;
comment on function app_hidden.search_filters_pass(uuid, text[], uuid, timestamptz, text, uuid[], text[], uuid, timestamptz, timestamptz, text, boolean) is
  'The search filters: with match_all every given filter must hold (tags: all of them), otherwise any one (tags: any of them); no filter given passes everything. A filter given as NULL is not applied.';
grant execute on function app_hidden.search_filters_pass(uuid, text[], uuid, timestamptz, text, uuid[], text[], uuid, timestamptz, timestamptz, text, boolean)
  to anonymous, authenticated;

/*
 * The documents a search ranks: at most 500 published matches per kind (see
 * app_public.search). Security definer because under row-level security
 * PostgreSQL cannot use the GIN indexes for `@@` (not leakproof); it returns
 * only ids of published documents, and app_public.search still reads every
 * document through app_hidden.search_documents' visibility rules. With
 * match_all, the filters a kind's own columns can answer apply before the cap
 * (answers and comments have no category, tags or language of their own).
 */
create or replace function app_hidden.search_matches(
  query text, kinds text[], category_ids uuid[], tags text[], author_id uuid,
  published_after timestamptz, published_before timestamptz, language text, match_all boolean
) returns table (kind text, id uuid)
  language sql stable security definer
  set search_path = pg_catalog, public
  set synchronize_seqscans = off
as $$
  (select 'post'::text as kind, p.id from app_public.posts p
    where p.status = 'published' and p.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'post' = any(search_matches.kinds))
      and (not search_matches.match_all or app_hidden.search_filters_pass(
            p.category_id, p.tags, p.author_id, p.published_at, p.language,
            search_matches.category_ids, search_matches.tags, search_matches.author_id,
            search_matches.published_after, search_matches.published_before, search_matches.language, true))
    limit 500)
  union all
  (select 'question', q.id from app_public.questions q
    where q.status = 'published' and q.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'question' = any(search_matches.kinds))
      and (not search_matches.match_all or app_hidden.search_filters_pass(
            q.category_id, q.tags, q.author_id, q.published_at, q.language,
            search_matches.category_ids, search_matches.tags, search_matches.author_id,
            search_matches.published_after, search_matches.published_before, search_matches.language, true))
    limit 500)
  union all
  (select 'answer', a.id from app_public.answers a
    where a.status = 'published' and a.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'answer' = any(search_matches.kinds))
      and (not search_matches.match_all or app_hidden.search_filters_pass(
            null, null, a.author_id, a.created_at, null,
            null, null, search_matches.author_id,
            search_matches.published_after, search_matches.published_before, null, true))
    limit 500)
  union all
  (select 'comment', c.id from app_public.comments c
    where c.status = 'published' and c.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'comment' = any(search_matches.kinds))
      and (not search_matches.match_all or app_hidden.search_filters_pass(
            null, null, c.author_id, c.created_at, null,
            null, null, search_matches.author_id,
            search_matches.published_after, search_matches.published_before, null, true))
    limit 500)
  union all
  (select 'user', u.id from app_public.users u
    where u.is_active and u.search @@ websearch_to_tsquery('english', search_matches.query)
      and (search_matches.kinds is null or 'user' = any(search_matches.kinds))
    limit 500)
$$;

create or replace function app_public.search(
  query text,
  kinds text[] default null,
  category_ids uuid[] default null,
  tags text[] default null,
  author_id uuid default null,
  published_after timestamptz default null,
  published_before timestamptz default null,
  language text default null,
  match_all boolean default true
) returns setof app_public.search_result
  language sql stable
as $$
  with filtered as not materialized (
    select d.* from app_hidden.search_documents d
     where (search.kinds is null or d.kind = any(search.kinds))
       and app_hidden.search_filters_pass(d.category_id, d.tags, d.author_id, d.published_at, d.language,
                                          search.category_ids, search.tags, search.author_id,
                                          search.published_after, search.published_before, search.language, search.match_all)
  ),
  matches as materialized (
    select * from app_hidden.search_matches(search.query, search.kinds, search.category_ids, search.tags, search.author_id,
                                            search.published_after, search.published_before, search.language, search.match_all)
  ),
  fts as materialized (
    select f.*, ts_rank_cd(f.doc, websearch_to_tsquery('english', search.query), 32)
             * case when lower(f.title) = lower(trim(search.query)) then 10 else 1 end as rank
      from filtered f
     -- An array, so each branch of the view looks its matches up by primary key.
     where f.id = any(array(select m.id from matches m))
  ),
  fuzzy as (
    -- Typo tolerance, only when full text found little: similar titles and names (trigram indexes).
    select f.*, word_similarity(search.query, f.title) / 10 as rank
      from filtered f
     where f.kind in ('post', 'question', 'user')
       and search.query <% f.title
       and (select count(*) from fts) < (app_hidden.setting('search.fuzzy_threshold') #>> '{}')::int
       and f.id not in (select fts.id from fts)
     limit 500
  )
  select r.kind, r.id, r.title,
         -- HTML-escaped text with <mark> around the matches: safe to show as HTML.
         ts_headline('english', replace(replace(replace(left(r.body, 5000), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                     websearch_to_tsquery('english', search.query),
                     'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2'),
         r.rank::real, r.author_id, r.category_id, r.published_at
    from (select * from fts union all select * from fuzzy) r
   order by r.rank desc, r.published_at desc nulls last, r.id
$$;

-- === comments ===
-- Every table, view, type and function of Agora's schemas, and every column of
-- app_public, has a comment: they are the GraphQL documentation (test:
-- test/platform/documentation.test.ts). Existing smart tags are kept.

-- enums
comment on type app_public.contribution_status is 'Where a suggested edit stands: pending (waiting for a reviewer), accepted (applied to the post, with history) or rejected (with the reviewer''s reason).';
comment on type app_public.expertise_level is 'How a member rates their own expertise, from none to expert. Self-declared, not verified.';
comment on type app_public.reaction_kind is 'A like or a dislike. Each target counts them separately (likeCount, dislikeCount).';

-- app_public.users
comment on column app_public.users.id is 'The member''s id; the subject of their access token.';
comment on column app_public.users.bio is 'A short self-description in plain text, at most 2000 characters. Set by the member.';
comment on column app_public.users.avatar_url is 'Link (http or https) to the member''s picture. Set by the member.';
comment on column app_public.users.affiliation is 'Employer, school or organisation, at most 200 characters. Set by the member.';
comment on column app_public.users.job_title is 'Current role or position, at most 200 characters. Set by the member.';
comment on column app_public.users.expertise_level is 'Self-declared level of expertise (none by default). Set by the member.';
comment on column app_public.users.website_url is 'Personal website (http or https). Set by the member.';
comment on column app_public.users.linkedin_url is 'LinkedIn profile link (http or https). Set by the member.';
comment on column app_public.users.x_url is 'X (Twitter) profile link (http or https). Set by the member.';
comment on column app_public.users.last_seen_at is 'When the member was last seen online. Reserved for presence: nothing records it yet, so it is null.';
comment on column app_public.users.created_at is 'When the account was registered.';
comment on column app_public.users.updated_at is 'When the profile last changed. Set by the database.';
comment on column app_public.users.following_count is 'How many members this one follows. Maintained by the database.';

-- app_public.user_emails
comment on column app_public.user_emails.id is 'The address''s id (for makeEmailPrimary, resendEmailVerification, deleteUserEmail).';
comment on column app_public.user_emails.user_id is 'The member who owns the address: always the signed-in member.';
comment on column app_public.user_emails.email is 'The address, case-insensitive, at most 320 characters. A verified address belongs to one member only.';
comment on column app_public.user_emails.created_at is 'When the address was added.';
comment on column app_public.user_emails.updated_at is 'When the address last changed (verified, made primary). Set by the database.';

-- roles and permissions
comment on column app_public.roles.id is 'The role''s name, e.g. moderator: 2–31 lower-case letters and _.';
comment on column app_public.roles.description is 'What members holding this role may do, in words.';
comment on column app_public.permissions.id is 'The permission''s name, resource:action (e.g. post:moderate).';
comment on column app_public.permissions.description is 'What the permission allows, in words.';
comment on column app_public.role_permissions.role_id is 'The role that carries the permission.';
comment on column app_public.role_permissions.permission_id is 'The permission the role carries.';
comment on column app_public.user_roles.user_id is 'The member who holds the role.';
comment on column app_public.user_roles.role_id is 'The role held. Granted and revoked with grantRole and revokeRole (admins only).';
comment on column app_public.user_roles.granted_by is 'The administrator who granted the role; null if granted by the system or if that account is gone.';
comment on column app_public.user_roles.granted_at is 'When the role was (last) granted.';

-- app_public.categories
comment on column app_public.categories.id is 'The category''s id.';
comment on column app_public.categories.slug is 'URL name, unique, case-insensitive: 2–60 characters of a–z, 0–9 and -. Set by category managers.';
comment on column app_public.categories.name is 'Display name, 2–80 characters.';
comment on column app_public.categories.description is 'What belongs in this category, at most 1000 characters.';
comment on column app_public.categories.icon is 'An icon name or symbol for clients to show, at most 100 characters.';
comment on column app_public.categories.color is 'Display colour as #rrggbb.';
comment on column app_public.categories.is_active is 'Inactive categories are hidden from everyone but category managers.';
comment on column app_public.categories.position is 'Sort key for listing categories (ascending).';
comment on column app_public.categories.created_at is 'When the category was created.';
comment on column app_public.categories.updated_at is 'When the category last changed. Set by the database.';

-- app_public.tags
comment on column app_public.tags.name is 'The tag as stored on content: lower case, 1–50 characters of a–z, 0–9, +, #, . and -.';
comment on column app_public.tags.post_count is 'How many published posts carry the tag. Maintained by the database.';
comment on column app_public.tags.question_count is 'How many published questions carry the tag. Maintained by the database.';

-- follows
comment on column app_public.follows.follower_id is 'The member who follows: always the signed-in member.';
comment on column app_public.follows.followee_id is 'The member being followed.';
comment on column app_public.follows.created_at is 'When the follow began.';
comment on column app_public.category_follows.user_id is 'The member who follows: always the signed-in member.';
comment on column app_public.category_follows.category_id is 'The category followed; its posts appear in the member''s feed.';
comment on column app_public.category_follows.created_at is 'When the follow began.';

-- app_public.posts
comment on column app_public.posts.id is 'The post''s id.';
comment on column app_public.posts.author_id is 'The author: the member who created the post. Cannot change.';
comment on column app_public.posts.category_id is 'The category the post belongs to; null if none (or if the category was deleted).';
comment on column app_public.posts.title is 'Title, 3–200 characters; checked against the banned words.';
comment on column app_public.posts.cover_image_url is 'Link (http or https) to an image shown above the post.';
comment on column app_public.posts.tags is 'Up to 5 tags, stored lower-case, trimmed, sorted and without duplicates.';
comment on column app_public.posts.language is 'Two-letter language code (ISO 639-1), en by default; search can filter on it.';
comment on column app_public.posts.status is 'draft (default), published, archived, hidden (moderators only) or deleted. See ContentStatus.';
comment on column app_public.posts.published_at is 'When the post was first published; set by the database, then kept.';
comment on column app_public.posts.view_count is 'How many times the post was viewed (recordPostView). Maintained by the database.';
comment on column app_public.posts.like_count is 'How many likes the post has. Maintained by the database.';
comment on column app_public.posts.dislike_count is 'How many dislikes the post has. Maintained by the database.';
comment on column app_public.posts.comment_count is 'How many comments (not deleted) the post has, replies included. Maintained by the database.';
comment on column app_public.posts.bookmark_count is 'How many members bookmarked the post. Maintained by the database.';
comment on column app_public.posts.created_at is 'When the post was created (as a draft or published).';
comment on column app_public.posts.updated_at is 'When the post last changed. Set by the database.';

-- app_public.questions
comment on column app_public.questions.id is 'The question''s id.';
comment on column app_public.questions.author_id is 'The author: the member who asked. Cannot change.';
comment on column app_public.questions.category_id is 'The category the question belongs to; null if none (or if the category was deleted).';
comment on column app_public.questions.title is 'Title, 3–200 characters; checked against the banned words.';
comment on column app_public.questions.slug is 'URL name, made from the title on creation.';
comment on column app_public.questions.body is 'Markdown, stored as written, 1–50000 characters. bodyHtml renders it, sanitised.';
comment on column app_public.questions.target_audience is 'Who the author hopes will answer, in words (at most 200 characters).';
comment on column app_public.questions.attachment_url is 'Link (http or https) to a file that goes with the question.';
comment on column app_public.questions.tags is 'Up to 5 tags, stored lower-case, trimmed, sorted and without duplicates.';
comment on column app_public.questions.language is 'Two-letter language code (ISO 639-1), en by default; search can filter on it.';
comment on column app_public.questions.status is 'published (default), draft, archived, hidden (moderators only) or deleted. See ContentStatus.';
comment on column app_public.questions.published_at is 'When the question was first published; set by the database, then kept.';
comment on column app_public.questions.view_count is 'View counter of the question. Nothing counts question views yet (recordPostView counts posts only), so it stays 0.';
comment on column app_public.questions.like_count is 'How many likes the question has. Maintained by the database.';
comment on column app_public.questions.dislike_count is 'How many dislikes the question has. Maintained by the database.';
comment on column app_public.questions.comment_count is 'How many comments (not deleted) the question has, replies included. Maintained by the database.';
comment on column app_public.questions.answer_count is 'How many answers (not deleted) the question has. Maintained by the database.';
comment on column app_public.questions.bookmark_count is 'How many members bookmarked the question. Maintained by the database.';
comment on column app_public.questions.created_at is 'When the question was created.';
comment on column app_public.questions.updated_at is 'When the question last changed. Set by the database.';

-- app_public.answers
comment on column app_public.answers.id is 'The answer''s id.';
comment on column app_public.answers.question_id is 'The question answered; it must be published when the answer is written.';
comment on column app_public.answers.author_id is 'The author: the member who answered. Cannot change.';
comment on column app_public.answers.body is 'Markdown, stored as written, 1–50000 characters. bodyHtml renders it, sanitised.';
comment on column app_public.answers.status is 'published (default), draft, archived, hidden (moderators only) or deleted. See ContentStatus.';
comment on column app_public.answers.like_count is 'How many likes the answer has. Maintained by the database.';
comment on column app_public.answers.dislike_count is 'How many dislikes the answer has. Maintained by the database.';
comment on column app_public.answers.comment_count is 'How many comments (not deleted) the answer has, replies included. Maintained by the database.';
comment on column app_public.answers.created_at is 'When the answer was written.';
comment on column app_public.answers.updated_at is 'When the answer last changed. Set by the database.';

-- app_public.comments
comment on column app_public.comments.id is 'The comment''s id.';
comment on column app_public.comments.post_id is 'The post commented on (exactly one of postId, questionId, answerId is set; a reply inherits its parent''s).';
comment on column app_public.comments.question_id is 'The question commented on (exactly one of postId, questionId, answerId is set; a reply inherits its parent''s).';
comment on column app_public.comments.answer_id is 'The answer commented on (exactly one of postId, questionId, answerId is set; a reply inherits its parent''s).';
comment on column app_public.comments.parent_id is 'The comment this one replies to; null for a top-level comment.';
comment on column app_public.comments.depth is 'Nesting level: 1 for a top-level comment, parent''s depth + 1 for a reply (at most the comment.max_depth setting). Set by the database.';
comment on column app_public.comments.author_id is 'The author: the member who commented. Cannot change.';
comment on column app_public.comments.body is 'Markdown, stored as written, at most 10000 characters; emptied when the comment is deleted. Editable for the comment.edit_window setting after posting.';
comment on column app_public.comments.status is 'published, hidden (moderators only) or deleted (the thread stays, the body is emptied).';
comment on column app_public.comments.like_count is 'How many likes the comment has. Maintained by the database.';
comment on column app_public.comments.dislike_count is 'How many dislikes the comment has. Maintained by the database.';
comment on column app_public.comments.reply_count is 'How many direct replies (not deleted) the comment has. Maintained by the database.';
comment on column app_public.comments.created_at is 'When the comment was posted.';
comment on column app_public.comments.updated_at is 'When the comment last changed. Set by the database.';

-- app_public.reactions
comment on column app_public.reactions.id is 'The reaction''s id.';
comment on column app_public.reactions.user_id is 'The member who reacted.';
comment on column app_public.reactions.kind is 'like or dislike.';
comment on column app_public.reactions.post_id is 'The post reacted to (exactly one target is set).';
comment on column app_public.reactions.question_id is 'The question reacted to (exactly one target is set).';
comment on column app_public.reactions.answer_id is 'The answer reacted to (exactly one target is set).';
comment on column app_public.reactions.comment_id is 'The comment reacted to (exactly one target is set).';
comment on column app_public.reactions.created_at is 'When the reaction was made (or last switched between like and dislike).';

-- app_public.bookmarks
comment on column app_public.bookmarks.id is 'The bookmark''s id.';
comment on column app_public.bookmarks.user_id is 'The member who saved it: always the signed-in member.';
comment on column app_public.bookmarks.post_id is 'The post saved (exactly one of postId and questionId is set); it must be published.';
comment on column app_public.bookmarks.question_id is 'The question saved (exactly one of postId and questionId is set); it must be published.';
comment on column app_public.bookmarks.created_at is 'When it was saved.';

-- collections
comment on column app_public.collections.id is 'The collection''s id.';
comment on column app_public.collections.owner_id is 'The member who made the collection: always the signed-in member.';
comment on column app_public.collections.name is 'Name, 1–100 characters.';
comment on column app_public.collections.description is 'What the collection gathers, at most 1000 characters.';
comment on column app_public.collections.is_public is 'Public collections are visible to everyone; private ones (the default) to their owner only.';
comment on column app_public.collections.created_at is 'When the collection was made.';
comment on column app_public.collections.updated_at is 'When the collection last changed. Set by the database.';
comment on column app_public.collection_items.id is 'The entry''s id.';
comment on column app_public.collection_items.collection_id is 'The collection the entry belongs to (one of the signed-in member''s own).';
comment on column app_public.collection_items.post_id is 'The post listed (exactly one of postId and questionId is set).';
comment on column app_public.collection_items.question_id is 'The question listed (exactly one of postId and questionId is set).';
comment on column app_public.collection_items.position is 'Sort key within the collection (ascending). Set by the owner.';
comment on column app_public.collection_items.note is 'The owner''s note on the entry, at most 500 characters.';
comment on column app_public.collection_items.created_at is 'When the entry was added.';

-- app_public.content_revisions
comment on column app_public.content_revisions.id is 'The revision''s id.';
comment on column app_public.content_revisions.post_id is 'The post this was a version of (exactly one target is set).';
comment on column app_public.content_revisions.question_id is 'The question this was a version of (exactly one target is set).';
comment on column app_public.content_revisions.answer_id is 'The answer this was a version of (exactly one target is set).';
comment on column app_public.content_revisions.comment_id is 'The comment this was a version of (exactly one target is set).';
comment on column app_public.content_revisions.editor_id is 'The member whose edit replaced this version (for an accepted contribution: the reviewer); null if unknown or the account is gone.';
comment on column app_public.content_revisions.title is 'The title before the edit (posts and questions only).';
comment on column app_public.content_revisions.body is 'The body before the edit, as markdown.';
comment on column app_public.content_revisions.created_at is 'When the edit was made: this version was current until then.';

-- app_public.contributions
comment on column app_public.contributions.id is 'The contribution''s id.';
comment on column app_public.contributions.post_id is 'The post the edit is suggested for.';
comment on column app_public.contributions.contributor_id is 'The member who suggested it: always the signed-in member.';
comment on column app_public.contributions.title is 'The suggested new title (3–200 characters); null keeps the current one.';
comment on column app_public.contributions.body is 'The suggested new body, markdown, 1–100000 characters.';
comment on column app_public.contributions.message is 'The contributor''s note to the reviewer, at most 2000 characters.';
comment on column app_public.contributions.status is 'pending until reviewed with reviewContribution, then accepted or rejected.';
comment on column app_public.contributions.reviewer_id is 'Who reviewed it; null while pending (or if that account is gone).';
comment on column app_public.contributions.review_reason is 'The reviewer''s reason, at most 2000 characters.';
comment on column app_public.contributions.reviewed_at is 'When it was reviewed; null while pending.';
comment on column app_public.contributions.created_at is 'When it was suggested.';

-- functions
comment on function app_hidden.setting(text) is 'The value of one app_private.settings entry, for API-role code that may not read app_private (security definer).';
comment on function app_private.assert_no_banned_words(text[]) is 'Raises BANND (detail: the word) if any of the texts contains a word of app_private.banned_words as a whole word, case-insensitively.';
comment on function app_private.assert_strong_password(text) is 'Raises WEAKP unless the password is long enough and mixes at least two of lower case, upper case, digits and symbols.';
comment on function app_private.bump(text, uuid, text, integer) is 'Adds delta to one counter column of one row of an app_public table (no-op for a null id or zero delta). Used by the counter triggers.';
comment on function app_private.create_user(public.citext, public.citext, text, text, boolean) is 'Creates a member: profile, password hash and e-mail address (verified or not; an unverified one gets a verification mail). Raises INVAL, WEAKP or NUNIQ.';
comment on function app_private.hash_password(text) is 'bcrypt hash of a password, at the cost in the password.bcrypt_cost setting.';
comment on function app_private.issue_refresh_token(uuid) is 'Mints a refresh token for a session: returns the token, stores only its SHA-256 hash, valid for the session.refresh_ttl setting.';
comment on function app_private.normalize_tags(text[]) is 'Lower-cases, trims, de-duplicates and sorts tags; raises INVAL for more than 5 or a malformed tag.';
comment on function app_private.record_security_event(text, uuid, jsonb) is 'Appends an entry to app_private.security_events, with the acting member and client IP of the current request.';
comment on function app_private.revoke_sessions(uuid, text, uuid) is 'Revokes every live session of a member (except one, e.g. the caller''s), with a reason; returns how many were revoked.';
comment on function app_private.send_email_verification(uuid) is 'Mints a verification token for an unverified address (hash stored, valid for the email.verification_ttl setting) and enqueues the verify_email mail.';
comment on function app_private.slugify(text) is 'A URL fragment from a title: lower case a–z and 0–9 joined by -, at most 80 characters; "untitled" if nothing is left.';
comment on function app_private.start_session(uuid, inet, text) is 'Opens a session for a member (IP, user agent) lasting the session.refresh_ttl setting; returns its id.';
comment on function app_private.tg_comments__thread() is 'Trigger on comments: a reply joins its parent''s thread and depth (at most comment.max_depth); deleting empties the body; edits after comment.edit_window need a moderator (EDITW).';
comment on function app_private.tg_content__before_write() is 'Trigger on posts, questions, answers and comments: the author cannot change, only moderators hide or restore, archived content is read-only, responses go on published content; sets slug, tags, published_at; checks banned words.';
comment on function app_private.tg_content__posting_limit() is 'Trigger on posts, questions, answers and comments: counts the author''s post:create or comment:create rate limit (RLIMT when exceeded). Skipped for bulk loads outside a request.';
comment on function app_private.tg_content__revision() is 'Trigger on posts, questions, answers and comments: keeps the previous title and body in content_revisions when either changes.';
comment on function app_private.tg_content__tags() is 'Trigger on posts and questions: keeps app_public.tags and its post_count/question_count in step with the tags of published content.';
comment on function app_private.tg_contributions__rules() is 'Trigger on contributions: checks the suggested title, body and message against the banned words.';
comment on function app_private.tg_counter() is 'Trigger that keeps a target''s counter in step with rows pointing at it (argument: the counter column; default <kind>_count for reactions); deleted rows do not count. Also counts replies.';
comment on function app_private.tg_follows__count() is 'Trigger on follows: keeps users.follower_count and users.following_count in step.';
comment on function app_private.tg_user_emails__after_write() is 'Trigger on user_emails: sends the verification mail for a new unverified address, records email_added/email_removed security events, keeps users.is_verified in step.';
comment on function app_private.tg_user_emails__before_insert() is 'Trigger on user_emails: a member''s first address is primary; an address verified by another member is refused (NUNIQ).';

-- composite types returned by app_public functions (their fields are GraphQL fields too)
comment on column app_public.search_result.kind is 'What was found: post, question, answer, comment or user.';
comment on column app_public.search_result.id is 'The id of the post, question, answer, comment or user found.';
comment on column app_public.search_result.title is 'The title of a post or question, the question''s title for an answer, a user''s display name; null for comments.';
comment on column app_public.search_result.snippet is 'Up to two fragments of the text around the matches, HTML-escaped, matches wrapped in <mark>: safe to show as HTML.';
comment on column app_public.search_result.rank is 'Relevance (higher is better); only comparable within one search. Results come sorted by it.';
comment on column app_public.search_result.author_id is 'The author of the content found; for a user, the user''s own id.';
comment on column app_public.search_result.category_id is 'The category of the post or question found, when it has one.';
comment on column app_public.search_result.published_at is 'When the post or question was published, the answer or comment written, the user joined.';
comment on column app_public.search_suggestion.kind is 'tag, user or title.';
comment on column app_public.search_suggestion.value is 'The completion to show: the tag, the username or the title.';
comment on column app_public.search_suggestion.id is 'The user''s id (kind user) or the post''s or question''s id (kind title); null for tags.';
comment on column app_public.session_info.session_id is 'The session''s id (for revokeSession).';
comment on column app_public.session_info.user_agent is 'The browser or app that last used the session, as it described itself (at most 500 characters).';
comment on column app_public.session_info.ip is 'The client address that last used the session (sign-in or refresh).';
comment on column app_public.session_info.created_at is 'When the session began (sign-in).';
comment on column app_public.session_info.last_active_at is 'When the session was last used to refresh its tokens.';
comment on column app_public.session_info.expires_at is 'When the session ends unless refreshed before then; each refresh extends it.';
comment on column app_public.session_info.is_current is 'True for the session of this request.';

-- === Edge rate-limit classes (issue 10, item 5) ===
-- Every GraphQL request (HTTP or WebSocket operation) and every WebSocket
-- connect is counted, before any other SQL runs, in one of these budgets:
-- per member when the request carries a verified token, per IP address
-- otherwise (auth and WebSocket connects: always per IP). The counters are
-- rows of app_private.edge_rate_limits, so every API instance shares them.

delete from app_private.settings where key in (
  'rate_limit.api_read:member', 'rate_limit.api_read:ip',
  'rate_limit.api_write:member', 'rate_limit.api_write:ip',
  'rate_limit.api_search:member', 'rate_limit.api_search:ip',
  'rate_limit.api_auth:ip', 'rate_limit.ws_connect:ip'
);
insert into app_private.settings (key, value, description) values
  ('rate_limit.api_read:member', '{"max": 600, "window": "1 minute"}', 'GraphQL queries (other than search) per signed-in member'),
  ('rate_limit.api_read:ip', '{"max": 300, "window": "1 minute"}', 'GraphQL queries (other than search) per IP address, anonymous'),
  ('rate_limit.api_write:member', '{"max": 120, "window": "1 minute"}', 'GraphQL mutations (other than auth) per signed-in member'),
  ('rate_limit.api_write:ip', '{"max": 60, "window": "1 minute"}', 'GraphQL mutations (other than auth) per IP address, anonymous'),
  ('rate_limit.api_search:member', '{"max": 60, "window": "1 minute"}', 'GraphQL operations that search, per signed-in member'),
  ('rate_limit.api_search:ip', '{"max": 30, "window": "1 minute"}', 'GraphQL operations that search, per IP address, anonymous'),
  ('rate_limit.api_auth:ip', '{"max": 30, "window": "1 minute"}', 'Sign-in mutations (register, login, refreshSession, forgotPassword, resetPassword, verifyEmail, changePassword) per IP address'),
  ('rate_limit.ws_connect:ip', '{"max": 30, "window": "1 minute"}', 'WebSocket connections opened per IP address');

/*
 * UNLOGGED: every request writes here, and a transaction that writes only
 * unlogged tables commits without waiting for a WAL flush (with
 * synchronous_commit on, that flush would be the largest part of a one-row
 * upsert). The price: after a database crash the edge counters start from
 * zero, and standbys do not have them (they serve no writes anyway).
 */
drop function if exists app_hidden.take_rate_limit(text, text);
drop table if exists app_private.edge_rate_limits;
create unlogged table app_private.edge_rate_limits (
  bucket text not null,
  key text not null,
  window_started_at timestamptz not null,
  hits int not null,
  primary key (bucket, key)
);
comment on table app_private.edge_rate_limits is 'Counters of the edge rate-limit classes (app_hidden.take_rate_limit); unlogged: reset by a database crash.';

/*
 * The edge's limiter: counts one hit for (bucket, key) and returns the state
 * of its window instead of raising, so the server can answer 429 with the
 * standard RateLimit headers. One statement, one row lock held for an
 * instant (autocommit). Limits come from the setting rate_limit.<bucket>;
 * an unknown bucket returns nulls (the edge treats that as a server error).
 * Security definer: the authenticator calls it outside any request
 * transaction, and has no grant on app_private.
 */
create function app_hidden.take_rate_limit(
  bucket_name text, bucket_key text,
  out allowed boolean, out max_hits int, out remaining int, out reset_seconds int, out window_seconds int
)
  language sql volatile security definer
  set search_path = pg_catalog, public
as $$
  with setting as (
    select (v ->> 'max')::int as max_hits, (v ->> 'window')::interval as per
      from app_private.setting('rate_limit.' || bucket_name) v
     where v is not null
  ), hit as (
    insert into app_private.edge_rate_limits as r (bucket, key, window_started_at, hits)
    select bucket_name, bucket_key, now(), 1 from setting
    on conflict (bucket, key) do update
      set hits = case when r.window_started_at + (select per from setting) <= now() then 1 else r.hits + 1 end,
          window_started_at = case when r.window_started_at + (select per from setting) <= now() then now() else r.window_started_at end
    returning r.hits, r.window_started_at
  )
  select hit.hits <= setting.max_hits,
         setting.max_hits,
         greatest(0, setting.max_hits - hit.hits),
         greatest(1, ceil(extract(epoch from hit.window_started_at + setting.per - now())))::int,
         ceil(extract(epoch from setting.per))::int
    from hit, setting
$$;
comment on function app_hidden.take_rate_limit(text, text) is
  'Edge rate limiter: counts a hit for (bucket, key) against rate_limit.<bucket> and returns allowed, limit, remaining, seconds to reset, window.';
revoke all on function app_hidden.take_rate_limit(text, text) from public;
grant usage on schema app_hidden to :DATABASE_AUTHENTICATOR;
grant execute on function app_hidden.take_rate_limit(text, text) to :DATABASE_AUTHENTICATOR;

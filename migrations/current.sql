-- === files ===
-- Uploaded files: metadata here, bytes in the storage back-end (docs/files.md).
-- Two steps: app_public.create_upload reserves a pending row; the edge streams
-- the bytes (PUT /uploads/:id, HMAC-signed URL), sniffs their type and calls
-- app_private.finish_upload, which re-checks everything and marks the row ready.

drop trigger if exists _200_avatar_file on app_public.users;
drop trigger if exists _900_replace_avatar on app_public.users;
drop function if exists app_private.tg_users__replace_avatar();
drop function if exists app_private.tg_files__delete_bytes();
alter table app_public.users drop column if exists avatar_file_id;
drop function if exists app_private.tg_users__avatar_file();
drop function if exists app_public.create_upload(app_public.file_purpose, text, bigint, boolean);
drop function if exists app_private.finish_upload(uuid, uuid, text, bigint);
drop function if exists app_private.upload_target(uuid, uuid);
drop function if exists app_private.file_max_bytes(app_public.file_purpose, text);
drop function if exists app_private.file_type_of_name(text);
drop table if exists app_public.files;
drop type if exists app_public.file_purpose;
drop type if exists app_public.file_status;

create type app_public.file_purpose as enum ('avatar', 'post_image', 'question_attachment', 'cv', 'application_letter', 'document');
comment on type app_public.file_purpose is 'What an upload is for; decides the types and size allowed (app_private.file_max_bytes) and whether it may be public.';
create type app_public.file_status as enum ('pending', 'ready');
comment on type app_public.file_status is 'pending: reserved, bytes not (yet) accepted; ready: bytes checked and stored.';

delete from app_private.settings where key in ('files.max_bytes.image', 'files.max_bytes.document', 'files.quota_bytes', 'files.pending_lifetime', 'rate_limit.file:upload', 'files.thumbnail_sizes');
insert into app_private.settings (key, value, description) values
  ('files.max_bytes.image', '5242880', 'Largest image upload in bytes (jpeg, png, gif, webp)'),
  ('files.max_bytes.document', '10485760', 'Largest document upload in bytes (pdf, doc, docx)'),
  ('files.quota_bytes', '104857600', 'Bytes a member may hold in uploads (ready files plus pending reservations younger than files.pending_lifetime)'),
  ('files.pending_lifetime', '"1 hour"', 'How long a pending reservation counts against the quota'),
  ('rate_limit.file:upload', '{"max": 30, "window": "1 hour"}', 'Uploads a member may reserve per hour'),
  ('files.thumbnail_sizes', '[64, 256, 1024]', 'Widths and heights (px, the image fitted inside) of the webp thumbnails made of every uploaded image');

create table app_public.files (
  id uuid default gen_random_uuid() not null,
  owner_id uuid not null,
  purpose app_public.file_purpose not null,
  file_name text not null,
  declared_size bigint not null,
  byte_size bigint,
  content_type text,
  storage_key text not null,
  is_public boolean not null,
  status app_public.file_status default 'pending' not null,
  created_at timestamp with time zone default now() not null,
  ready_at timestamp with time zone,
  thumbnail_sizes integer[] default '{}' not null,
  constraint files_pkey primary key (id),
  constraint files_owner_id_fkey foreign key (owner_id) references app_public.users(id) on delete cascade,
  constraint files_storage_key_key unique (storage_key),
  constraint file_name_length check (char_length(file_name) between 1 and 255 and file_name !~ '[[:cntrl:]/\\]'),
  constraint file_declared_size check (declared_size > 0),
  constraint file_storage_key check (storage_key = purpose::text || '/' || id::text),
  constraint file_private_purposes check (not (is_public and purpose in ('cv', 'application_letter'))),
  constraint file_ready_complete check ((status = 'ready') = (byte_size is not null and content_type is not null and ready_at is not null))
);
alter table app_public.files enable row level security;
create policy select_own on app_public.files for select
  using (owner_id = (select app_public.current_user_id()));
create policy select_public_ready on app_public.files for select
  using (is_public and status = 'ready');
create policy delete_own on app_public.files for delete
  using (owner_id = (select app_public.current_user_id()));
grant select on app_public.files to anonymous, authenticated;
grant delete on app_public.files to authenticated;
comment on table app_public.files is E'@behavior -insert -update\nAn uploaded file: its owner, purpose, checked type and size, and where its bytes are stored. The owner sees their own; everyone sees public ready files. Created by createUpload, made ready by the upload endpoint, deleted by its owner (the bytes go in a job after commit).';
comment on column app_public.files.id is 'The file''s id (also in its URLs).';
comment on column app_public.files.owner_id is 'The member who uploaded it.';
comment on column app_public.files.purpose is 'What it is for (avatar, post_image, question_attachment, cv, application_letter, document).';
comment on column app_public.files.file_name is 'The client''s file name, a display string only (never a path).';
comment on column app_public.files.declared_size is 'Bytes the client announced when reserving; the upload may not send more.';
comment on column app_public.files.byte_size is 'Bytes received (ready files).';
comment on column app_public.files.content_type is 'The type decided by the bytes (magic numbers), never by the name or the client.';
comment on column app_public.files.storage_key is E'@behavior -*\nWhere the bytes live in the store: purpose/id.';
comment on column app_public.files.is_public is 'Public files are readable by everyone once ready; private ones by their owner only (CVs and letters are always private).';
comment on column app_public.files.status is 'pending until the bytes are accepted, then ready.';
comment on column app_public.files.created_at is 'When it was reserved.';
comment on column app_public.files.ready_at is 'When its bytes were accepted.';
comment on column app_public.files.thumbnail_sizes is 'Sizes (px) of the webp thumbnails made so far (images only, by the make_thumbnails job after upload); GET /files/:id?size=<n>.';
create index files_owner_id_idx on app_public.files (owner_id, created_at);

create function app_private.tg_files__delete_bytes() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  -- A job, not a call: it exists only if this transaction commits (a rolled-back delete keeps the bytes).
  perform app_private.add_job('delete_file_bytes', json_build_object('key', old.storage_key, 'id', old.id, 'thumbnails', old.thumbnail_sizes));
  return old;
end;
$$;
comment on function app_private.tg_files__delete_bytes() is 'Trigger on files: a deleted file''s bytes (and thumbnails) are removed by the delete_file_bytes job, which runs only after the delete commits.';
create trigger _900_delete_bytes after delete on app_public.files
  for each row execute function app_private.tg_files__delete_bytes();

create function app_private.file_max_bytes(purpose app_public.file_purpose, content_type text) returns bigint
  language sql stable set search_path = pg_catalog as $$
  select case
    when content_type in ('image/jpeg', 'image/png', 'image/gif', 'image/webp')
         and purpose in ('avatar', 'post_image', 'question_attachment', 'document')
      then (app_private.setting('files.max_bytes.image'))::text::bigint
    when content_type in ('application/pdf', 'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document')
         and purpose in ('question_attachment', 'cv', 'application_letter', 'document')
      then (app_private.setting('files.max_bytes.document'))::text::bigint
  end
$$;
comment on function app_private.file_max_bytes(app_public.file_purpose, text) is 'The largest size allowed for a content type in a purpose''s slot, or null when the type is not allowed there: images (jpeg, png, gif, webp) for avatar, post_image, question_attachment, document; documents (pdf, doc, docx) for question_attachment, cv, application_letter, document.';

create function app_private.file_type_of_name(file_name text) returns text
  language sql immutable set search_path = pg_catalog as $$
  select case lower(substring(file_name from '\.([A-Za-z0-9]+)$'))
    when 'jpg' then 'image/jpeg' when 'jpeg' then 'image/jpeg' when 'png' then 'image/png'
    when 'gif' then 'image/gif' when 'webp' then 'image/webp' when 'pdf' then 'application/pdf'
    when 'doc' then 'application/msword'
    when 'docx' then 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
  end
$$;
comment on function app_private.file_type_of_name(text) is 'The content type a file name''s extension claims, or null for an extension we do not know (then only the bytes decide).';

create function app_public.create_upload(purpose app_public.file_purpose, file_name text, size bigint, is_public boolean default null)
  returns app_public.files
  language plpgsql volatile security definer set search_path = pg_catalog as $$
declare
  v_user uuid := app_public.current_user_id();
  v_max bigint := greatest(
    app_private.file_max_bytes(purpose, 'image/png'), app_private.file_max_bytes(purpose, 'application/pdf'));
  v_used bigint;
  v_quota bigint := (app_private.setting('files.quota_bytes'))::text::bigint;
  v_public boolean := coalesce(is_public, purpose in ('avatar', 'post_image', 'question_attachment'));
  v_file app_public.files;
  v_id uuid := gen_random_uuid();
begin
  if v_user is null then
    raise exception 'You must be signed in' using errcode = 'LOGIN';
  end if;
  if size is null or size <= 0 then
    raise exception 'The file is empty' using errcode = 'FEMPT';
  end if;
  if size > v_max then
    raise exception 'The file is too large for this slot' using errcode = 'FSIZE',
      detail = json_build_object('maxBytes', v_max)::text;
  end if;
  if v_public and purpose in ('cv', 'application_letter') then
    raise exception 'CVs and application letters are always private' using errcode = 'INVAL';
  end if;
  -- One reservation at a time per member: the quota check below cannot be raced.
  perform pg_advisory_xact_lock(hashtextextended('files:' || v_user::text, 0));
  select coalesce(sum(coalesce(f.byte_size, f.declared_size)), 0) into v_used
    from app_public.files f
    where f.owner_id = v_user
      and (f.status = 'ready' or f.created_at > now() - (app_private.setting('files.pending_lifetime') #>> '{}')::interval);
  if v_used + size > v_quota then
    raise exception 'Your upload quota is used up' using errcode = 'FQUOT',
      detail = json_build_object('quotaBytes', v_quota, 'usedBytes', v_used)::text;
  end if;
  perform app_private.rate_limit('file:upload', v_user::text);
  insert into app_public.files (id, owner_id, purpose, file_name, declared_size, is_public, storage_key)
    values (v_id, v_user, purpose, file_name, size, v_public, purpose::text || '/' || v_id::text)
    returning * into v_file;
  return v_file;
end;
$$;
grant execute on function app_public.create_upload(app_public.file_purpose, text, bigint, boolean) to authenticated;
comment on function app_public.create_upload(app_public.file_purpose, text, bigint, boolean) is 'Reserves an upload: a pending file of the given purpose, display name and size (bytes). isPublic defaults to true for avatars, post images and question attachments, false otherwise (CVs and letters cannot be public). Checks the size limit of the slot (FSIZE), the member''s quota (FQUOT) and the file:upload rate limit (RLIMT). Select uploadUrl on the result and PUT the bytes there (docs/files.md).';

create function app_private.upload_target(file_id uuid, user_id uuid)
  returns table (status app_public.file_status, declared_size bigint, max_bytes bigint, storage_key text)
  language sql stable set search_path = pg_catalog as $$
  select f.status, f.declared_size,
         greatest(app_private.file_max_bytes(f.purpose, 'image/png'), app_private.file_max_bytes(f.purpose, 'application/pdf')),
         f.storage_key
    from app_public.files f
    where f.id = file_id and f.owner_id = user_id
$$;
comment on function app_private.upload_target(uuid, uuid) is 'For the upload endpoint (run by the owner role): the file''s status, declared size, largest size its slot allows and storage key, when it belongs to the user; no row otherwise.';

create function app_private.finish_upload(file_id uuid, user_id uuid, content_type text, byte_size bigint)
  returns app_public.files
  language plpgsql volatile set search_path = pg_catalog as $$
declare
  v_file app_public.files;
  v_max bigint;
  v_named text;
begin
  select * into v_file from app_public.files f where f.id = file_id and f.owner_id = user_id for update;
  if not found then
    raise exception 'No such upload' using errcode = 'NOTFD';
  end if;
  if v_file.status <> 'pending' then
    raise exception 'This upload is already complete' using errcode = 'FDONE';
  end if;
  if byte_size is null or byte_size <= 0 then
    raise exception 'The file is empty' using errcode = 'FEMPT';
  end if;
  if content_type is null then
    raise exception 'The file''s content is not an allowed type' using errcode = 'FTYPE';
  end if;
  v_named := app_private.file_type_of_name(v_file.file_name);
  if v_named is not null and v_named <> content_type then
    raise exception 'The file''s name does not match its content' using errcode = 'FMISM',
      detail = json_build_object('contentType', content_type)::text;
  end if;
  v_max := app_private.file_max_bytes(v_file.purpose, content_type);
  if v_max is null then
    raise exception 'This type of file is not allowed here' using errcode = 'FTYPE',
      detail = json_build_object('contentType', content_type)::text;
  end if;
  if byte_size > v_max or byte_size > v_file.declared_size then
    raise exception 'The file is too large' using errcode = 'FSIZE',
      detail = json_build_object('maxBytes', least(v_max, v_file.declared_size))::text;
  end if;
  update app_public.files f
    set status = 'ready', byte_size = finish_upload.byte_size, content_type = finish_upload.content_type, ready_at = now()
    where f.id = file_id
    returning * into v_file;
  if content_type like 'image/%' then
    -- Thumbnails in the background, after commit; a failing job retries and never blocks the upload.
    perform app_private.add_job('make_thumbnails', json_build_object('id', file_id));
  end if;
  return v_file;
end;
$$;
comment on function app_private.finish_upload(uuid, uuid, text, bigint) is 'For the upload endpoint (run by the owner role, with the user the signed URL names): checks the file is the user''s and pending (NOTFD, FDONE), not empty (FEMPT), of a type the slot allows (FTYPE), named consistently with its content (FMISM) and within the limits (FSIZE); marks it ready and, for images, queues make_thumbnails.';

alter table app_public.users add column avatar_file_id uuid;
alter table app_public.users add constraint users_avatar_file_id_fkey
  foreign key (avatar_file_id) references app_public.files(id) on delete set null;
grant update (avatar_file_id) on app_public.users to authenticated;
comment on column app_public.users.avatar_file_id is 'The avatar: a ready file of purpose avatar that this user uploaded (FSLOT otherwise).';
create index users_avatar_file_id_idx on app_public.users (avatar_file_id);

create function app_private.tg_users__avatar_file() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  if new.avatar_file_id is not null and not exists (
    select 1 from app_public.files f
    where f.id = new.avatar_file_id and f.owner_id = new.id and f.purpose = 'avatar' and f.status = 'ready'
  ) then
    raise exception 'That file cannot be this user''s avatar' using errcode = 'FSLOT';
  end if;
  return new;
end;
$$;
comment on function app_private.tg_users__avatar_file() is 'Trigger on users: an avatar must be a ready avatar file owned by the user (FSLOT).';
create trigger _200_avatar_file before insert or update of avatar_file_id on app_public.users
  for each row execute function app_private.tg_users__avatar_file();

create function app_private.tg_users__replace_avatar() returns trigger
  language plpgsql security definer set search_path = pg_catalog as $$
begin
  -- The previous avatar file goes (its bytes in a job after commit). When the file itself is
  -- being deleted (the foreign key sets the column to null), it is already gone: no row matches.
  delete from app_public.files f where f.id = old.avatar_file_id;
  return null;
end;
$$;
comment on function app_private.tg_users__replace_avatar() is 'Trigger on users: replacing or clearing the avatar deletes the previous avatar file (and, after commit, its bytes).';
create trigger _900_replace_avatar after update of avatar_file_id on app_public.users
  for each row when (old.avatar_file_id is distinct from new.avatar_file_id and old.avatar_file_id is not null)
  execute function app_private.tg_users__replace_avatar();

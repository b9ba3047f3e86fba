-- Runs as the superuser right after graphile-migrate creates (or re-creates)
-- the database, before any migration. Roles are created beforehand by the
-- start-up bootstrap (src/db/bootstrap.ts) or by the DBA.
begin;
grant connect on database :DATABASE_NAME to :DATABASE_OWNER;
grant connect on database :DATABASE_NAME to :DATABASE_AUTHENTICATOR;
grant all on database :DATABASE_NAME to :DATABASE_OWNER;
-- Nobody but the owner creates objects in public.
alter schema public owner to :DATABASE_OWNER;
revoke all on schema public from public;
-- Extensions that need a superuser; trusted ones are created by migrations.
create extension if not exists pg_stat_statements;
commit;

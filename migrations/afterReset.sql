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
-- It grants its views to PUBLIC: only the superuser (the benchmark) reads them; the analyst
-- and the API roles must not (test/reputation/analytics.test.ts lists what analysts reach).
revoke all on pg_stat_statements, pg_stat_statements_info from public;
commit;

-- Roles for a production pust database. Run once as a superuser, then `pust migrate` as
-- pust_owner; the services connect as pust_app.
--
--   psql -v owner_password="'…'" -v app_password="'…'" -f deploy/postgresql/roles.sql
--
-- pust_app may read and write the application tables but can never rewrite history:
-- it has no UPDATE, DELETE or TRUNCATE on audit_event (and the table's trigger refuses them
-- for everyone, the owner included).

CREATE ROLE pust_owner LOGIN PASSWORD :owner_password;
CREATE ROLE pust_app LOGIN PASSWORD :app_password;
CREATE DATABASE pust OWNER pust_owner;
\connect pust
ALTER DEFAULT PRIVILEGES FOR ROLE pust_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO pust_app;
ALTER DEFAULT PRIVILEGES FOR ROLE pust_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO pust_app;

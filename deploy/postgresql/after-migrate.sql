-- Run after each `pust migrate` (as pust_owner): the audit log is append-only for the app.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM pust_app;
GRANT SELECT, INSERT ON audit_event TO pust_app;

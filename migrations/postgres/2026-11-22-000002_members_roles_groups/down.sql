DROP INDEX audit_logs_org_time;
ALTER TABLE audit_logs DROP COLUMN status_code;
ALTER TABLE audit_logs DROP COLUMN user_agent;
ALTER TABLE audit_logs DROP COLUMN ip;
ALTER TABLE audit_logs DROP COLUMN request_id;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE custom_role_permissions;
DROP TABLE custom_roles;

DROP TABLE audit_logs;
DROP TABLE api_keys;
DROP TABLE organization_member_roles;
DROP TABLE organization_members;
DROP TABLE user_site_roles;
DROP TABLE users;
DROP TABLE organizations;

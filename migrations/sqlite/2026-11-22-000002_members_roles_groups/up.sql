-- Custom organization roles, groups (with each organization's Everyone group, whose
-- id is the organization's), and request metadata on audit records.

CREATE TABLE custom_roles (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, name)
);
CREATE UNIQUE INDEX custom_roles_name_lower ON custom_roles (organization_id, lower(name));

-- One row per permission; level is 'org' (organization-wide) or 'member'.
CREATE TABLE custom_role_permissions (
    organization_id TEXT NOT NULL,
    role_name TEXT NOT NULL,
    level TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    action TEXT NOT NULL,
    negate BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, role_name, level, resource_type, action, negate),
    FOREIGN KEY (organization_id, role_name)
        REFERENCES custom_roles (organization_id, name) ON DELETE CASCADE
);

CREATE TABLE groups (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    avatar_url TEXT NOT NULL DEFAULT '',
    quota_allowance INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT 'user',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX groups_org_name_lower ON groups (organization_id, lower(name));

-- Explicit members only: the Everyone group's members are the organization's.
-- Leaving the organization removes the user from its groups.
CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id) ON DELETE CASCADE
);
CREATE INDEX group_members_user ON group_members (user_id);

INSERT INTO groups (id, organization_id, name, display_name, avatar_url, quota_allowance, source, created_at, updated_at)
SELECT id, id, 'Everyone', '', '', 0, 'user', created_at, updated_at FROM organizations;

ALTER TABLE audit_logs ADD COLUMN request_id TEXT;
ALTER TABLE audit_logs ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_logs ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_logs ADD COLUMN status_code INTEGER NOT NULL DEFAULT 200;
CREATE INDEX audit_logs_org_time ON audit_logs (organization_id, time DESC);

-- Warden's initial schema: users, organizations, memberships, API keys, audit log.
-- UUIDs are stored as text and timestamps as UTC without zone, identically on both
-- backends, so one query codebase serves PostgreSQL and SQLite.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    icon TEXT NOT NULL DEFAULT '',
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organizations_name_lower ON organizations (lower(name));
CREATE UNIQUE INDEX organizations_single_default ON organizations (is_default) WHERE is_default;

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    username TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    avatar_url TEXT NOT NULL DEFAULT '',
    hashed_password TEXT,
    status TEXT NOT NULL,
    login_type TEXT NOT NULL,
    is_service_account BOOLEAN NOT NULL DEFAULT FALSE,
    theme_preference TEXT NOT NULL DEFAULT '',
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_username_lower ON users (lower(username)) WHERE NOT deleted;
CREATE UNIQUE INDEX users_email_lower ON users (lower(email)) WHERE NOT deleted;

-- Site-wide roles held by a user ('member' is implied and never stored).
CREATE TABLE user_site_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_name TEXT NOT NULL,
    PRIMARY KEY (user_id, role_name)
);

CREATE TABLE organization_members (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user ON organization_members (user_id);

-- Organization roles of a member ('organization-member' is implied and never stored).
CREATE TABLE organization_member_roles (
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role_name TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id, role_name),
    FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id) ON DELETE CASCADE
);
CREATE INDEX organization_member_roles_user ON organization_member_roles (user_id);

-- API keys: '<id>-<secret>' tokens of which only sha256(secret) is kept. Scopes and
-- the allow list are small value lists always read whole with the key, kept as JSON.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hashed_secret BYTEA NOT NULL,
    last_used TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    login_type TEXT NOT NULL,
    lifetime_seconds BIGINT NOT NULL,
    token_name TEXT NOT NULL DEFAULT '',
    scopes TEXT NOT NULL,
    allow_list TEXT NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id);
CREATE UNIQUE INDEX api_keys_user_token_name ON api_keys (user_id, token_name) WHERE token_name <> '';

CREATE TABLE audit_logs (
    id TEXT PRIMARY KEY NOT NULL,
    time TIMESTAMP NOT NULL,
    user_id TEXT,
    organization_id TEXT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_target TEXT NOT NULL,
    diff TEXT NOT NULL
);
CREATE INDEX audit_logs_time ON audit_logs (time DESC, id DESC);

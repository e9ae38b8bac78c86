-- The OAuth2 authorization server: registered applications, their client secrets,
-- authorization codes and refresh tokens. Every secret is kept as sha256 only; the
-- prefix before it is the lookup key. Access tokens are ordinary api_keys rows.

CREATE TABLE oauth2_apps (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    icon TEXT NOT NULL DEFAULT '',
    -- 'confidential' (must authenticate at the token endpoint) or 'public'.
    client_type TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX oauth2_apps_name ON oauth2_apps (name);

CREATE TABLE oauth2_app_secrets (
    id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
    prefix TEXT NOT NULL,
    hashed_secret BYTEA NOT NULL,
    -- The last characters of the secret, shown in listings.
    display_secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE UNIQUE INDEX oauth2_app_secrets_prefix ON oauth2_app_secrets (prefix);
CREATE INDEX oauth2_app_secrets_app ON oauth2_app_secrets (app_id);

-- Authorization codes: single-use (used_at is set, never cleared), short-lived,
-- bound to the app, the user, the redirect URI, the PKCE challenge, scope and resource.
CREATE TABLE oauth2_codes (
    id TEXT PRIMARY KEY NOT NULL,
    prefix TEXT NOT NULL,
    hashed_secret BYTEA NOT NULL,
    app_id TEXT NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    redirect_uri_given BOOLEAN NOT NULL,
    code_challenge TEXT NOT NULL,
    scopes TEXT NOT NULL,
    resource TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE UNIQUE INDEX oauth2_codes_prefix ON oauth2_codes (prefix);
CREATE INDEX oauth2_codes_app_user ON oauth2_codes (app_id, user_id);

-- Refresh tokens. A family is everything issued from one authorization code
-- (family_id = the code's id); rotation marks the old row rotated and adds a new one.
-- Presenting a rotated token after the grace window revokes the whole family.
CREATE TABLE oauth2_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    prefix TEXT NOT NULL,
    hashed_secret BYTEA NOT NULL,
    family_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_id TEXT REFERENCES oauth2_app_secrets (id) ON DELETE CASCADE,
    api_key_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    audience TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    rotated_at TIMESTAMP
);
CREATE UNIQUE INDEX oauth2_tokens_prefix ON oauth2_tokens (prefix);
CREATE INDEX oauth2_tokens_family ON oauth2_tokens (family_id);
CREATE INDEX oauth2_tokens_app_user ON oauth2_tokens (app_id, user_id);
CREATE INDEX oauth2_tokens_api_key ON oauth2_tokens (api_key_id);
CREATE INDEX oauth2_tokens_secret ON oauth2_tokens (secret_id);

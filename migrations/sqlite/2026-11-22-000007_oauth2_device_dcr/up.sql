-- Public clients, RFC 7591/7592 dynamic client registration and the RFC 8628 device
-- authorization grant.

-- The grants an application may use (JSON array). Apps created through the admin API
-- may use every grant Warden offers; registered clients the ones they registered.
ALTER TABLE oauth2_apps ADD COLUMN grant_types TEXT NOT NULL
    DEFAULT '["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"]';

-- Every redirect URI an application registered, in registration order. The first is
-- the app's callback_url.
CREATE TABLE oauth2_app_redirect_uris (
    app_id TEXT NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    uri TEXT NOT NULL,
    PRIMARY KEY (app_id, position)
);
INSERT INTO oauth2_app_redirect_uris (app_id, position, uri)
    SELECT id, 0, callback_url FROM oauth2_apps;

-- Clients registered through RFC 7591: the registration access token (sha256 of its
-- secret part; the prefix is checked too) and the client metadata as registered (JSON).
CREATE TABLE oauth2_registrations (
    app_id TEXT PRIMARY KEY NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
    token_prefix TEXT NOT NULL,
    hashed_token BLOB NOT NULL,
    metadata TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- RFC 8628 device authorizations. The device code is coder_<prefix>_<secret> (sha256
-- of the secret kept); the user code is kept as the hex sha256 of its normalized form.
-- status: pending, approved, denied, redeemed. The id is the token family's id.
CREATE TABLE oauth2_device_codes (
    id TEXT PRIMARY KEY NOT NULL,
    prefix TEXT NOT NULL,
    hashed_secret BLOB NOT NULL,
    user_code_hash TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES oauth2_apps (id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    resource TEXT,
    status TEXT NOT NULL,
    interval_seconds BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_polled_at TIMESTAMP
);
CREATE UNIQUE INDEX oauth2_device_codes_prefix ON oauth2_device_codes (prefix);
CREATE UNIQUE INDEX oauth2_device_codes_user_code ON oauth2_device_codes (user_code_hash);
CREATE INDEX oauth2_device_codes_app_user ON oauth2_device_codes (app_id, user_id);

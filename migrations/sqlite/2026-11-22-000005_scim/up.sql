-- SCIM 2.0 provisioning: what an identity provider said about the users it
-- provisioned. `user_name` is the SCIM userName exactly as sent (Okta sends email
-- addresses, which are not valid Warden usernames). Only users with a row here are
-- visible through SCIM. Empty strings rather than NULL keep every filter a plain
-- comparison.
CREATE TABLE scim_users (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    external_id TEXT NOT NULL DEFAULT '',
    given_name TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL DEFAULT '',
    -- Set by SCIM DELETE: the user stays (suspended, for the audit trail) but SCIM
    -- answers 404 for it until it is provisioned again (RFC 7644 §3.6).
    deleted BOOLEAN NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (organization_id, lower(user_name));
CREATE INDEX scim_users_external_id ON scim_users (organization_id, external_id);

-- What an identity provider sent for a user beyond the Warden user's fields, kept as
-- sent so that SCIM answers with it: `name.formatted` and `displayName` apart (the
-- Warden name, which Coder shows, is derived from them), the kept email's `type`
-- and `primary`, and whether `active` was asserted at all (a removed `active` is
-- unassigned, RFC 7644 §3.5.2.2). Rows from before keep what SCIM showed for them.
ALTER TABLE scim_users ADD COLUMN formatted_name TEXT NOT NULL DEFAULT '';
ALTER TABLE scim_users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE scim_users ADD COLUMN email_type TEXT NOT NULL DEFAULT '';
-- NULL: `primary` was not sent (neither true nor false).
ALTER TABLE scim_users ADD COLUMN email_primary BOOLEAN;
ALTER TABLE scim_users ADD COLUMN active_assigned BOOLEAN NOT NULL DEFAULT 1;
UPDATE scim_users SET
    formatted_name = (SELECT users.name FROM users WHERE users.id = scim_users.user_id),
    display_name = (SELECT users.name FROM users WHERE users.id = scim_users.user_id),
    email_type = 'work',
    email_primary = 1;

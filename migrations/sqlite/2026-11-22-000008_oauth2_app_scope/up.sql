-- The scope allowlist of a client registered through RFC 7591 (space-separated
-- canonical names, as registered); NULL: the client may ask for any scope. Kept on the
-- application so that authorization requests read it with the (cached) app.
ALTER TABLE oauth2_apps ADD COLUMN scope TEXT;
UPDATE oauth2_apps SET scope = (
    SELECT json_extract(r.metadata, '$.scope') FROM oauth2_registrations r WHERE r.app_id = oauth2_apps.id
);

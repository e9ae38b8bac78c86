DROP TABLE oauth2_device_codes;
DROP TABLE oauth2_registrations;
DROP TABLE oauth2_app_redirect_uris;
ALTER TABLE oauth2_apps DROP COLUMN grant_types;

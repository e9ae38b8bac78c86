ALTER TABLE oauth2_apps DROP COLUMN scope;

DELETE FROM api_keys WHERE login_type = 'oauth2_provider_app';
DROP TABLE oauth2_tokens;
DROP TABLE oauth2_codes;
DROP TABLE oauth2_app_secrets;
DROP TABLE oauth2_apps;

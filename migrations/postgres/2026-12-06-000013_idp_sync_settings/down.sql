DROP TABLE idp_sync_settings;

ALTER TABLE scim_users DROP COLUMN active_assigned;
ALTER TABLE scim_users DROP COLUMN email_primary;
ALTER TABLE scim_users DROP COLUMN email_type;
ALTER TABLE scim_users DROP COLUMN display_name;
ALTER TABLE scim_users DROP COLUMN formatted_name;

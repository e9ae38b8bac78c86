ALTER TABLE audit_logs DROP COLUMN additional_fields;
DROP TABLE scim_groups;

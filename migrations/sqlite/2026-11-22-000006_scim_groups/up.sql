-- SCIM 2.0 Groups: what an identity provider said about a group beyond its Warden
-- fields. A group without a row here has no externalId. The Everyone group never
-- gets one (SCIM does not expose it).
CREATE TABLE scim_groups (
    group_id TEXT PRIMARY KEY NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX scim_groups_external_id ON scim_groups (organization_id, external_id);

-- Coder's audit `additional_fields`: set for changes made by an automatic subsystem
-- (SCIM: {"automatic_actor": "coder", "automatic_subsystem": "scim"}).
ALTER TABLE audit_logs ADD COLUMN additional_fields TEXT NOT NULL DEFAULT '{}';

-- IdP sync settings (Coder's idpsync runtime config): one JSON document per scope —
-- `organization` for the deployment's organization sync, `group:<org id>` and
-- `role:<org id>` for an organization's group and role sync. `revision` moves on every
-- write, so that read-modify-write PATCHes can compare and set.
CREATE TABLE idp_sync_settings (
    scope TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    revision BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

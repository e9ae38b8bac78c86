-- The member count moves to its own table, as on PostgreSQL, where one row per
-- organization was a hot spot for concurrent writers (see the PostgreSQL migration).
-- SQLite has one writer at a time, so it keeps a single slot, 0.
CREATE TABLE organization_member_counts (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, slot)
);
INSERT INTO organization_member_counts (organization_id, slot, count)
SELECT id, 0, member_count FROM organizations;

DROP TRIGGER organization_members_count_insert;
DROP TRIGGER organization_members_count_delete;

CREATE TRIGGER organization_member_count_slots AFTER INSERT ON organizations
BEGIN
    INSERT INTO organization_member_counts (organization_id, slot, count) VALUES (NEW.id, 0, 0);
END;

CREATE TRIGGER organization_members_count_insert AFTER INSERT ON organization_members
BEGIN
    UPDATE organization_member_counts SET count = count + 1
    WHERE organization_id = NEW.organization_id AND slot = 0;
END;

CREATE TRIGGER organization_members_count_delete AFTER DELETE ON organization_members
BEGIN
    UPDATE organization_member_counts SET count = count - 1
    WHERE organization_id = OLD.organization_id AND slot = 0;
END;

ALTER TABLE organizations DROP COLUMN member_count;

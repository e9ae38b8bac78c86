ALTER TABLE organizations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE organizations SET member_count = COALESCE(
    (SELECT sum(c.count) FROM organization_member_counts c WHERE c.organization_id = organizations.id), 0);

DROP TRIGGER organization_members_count_insert;
DROP TRIGGER organization_members_count_delete;
DROP TRIGGER organization_member_count_slots;

CREATE TRIGGER organization_members_count_insert AFTER INSERT ON organization_members
BEGIN
    UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.organization_id;
END;

CREATE TRIGGER organization_members_count_delete AFTER DELETE ON organization_members
BEGIN
    UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.organization_id;
END;

DROP TABLE organization_member_counts;

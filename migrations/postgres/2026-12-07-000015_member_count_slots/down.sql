ALTER TABLE organizations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE organizations SET member_count = COALESCE(
    (SELECT sum(c.count) FROM organization_member_counts c WHERE c.organization_id = organizations.id), 0);

CREATE OR REPLACE FUNCTION organization_members_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.organization_id;
    ELSE
        UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.organization_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER organization_member_count_slots ON organizations;
DROP FUNCTION organization_member_count_slots();
DROP TABLE organization_member_counts;

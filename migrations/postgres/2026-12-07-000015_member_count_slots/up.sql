-- Each organization's member count moves with every membership added or removed. On the
-- organization's own row it was a hot spot: every member add in one organization (and
-- every SCIM user provisioned into it) updated that row and held its lock across the
-- commit's WAL flush, so those writes committed one after another, one flush each.
-- The count is now spread over 32 slots per organization, summed on read; a trigger
-- moves the slot of the writing database session (its backend pid modulo 32), so
-- concurrent writers update different rows and their commits share flushes.
CREATE TABLE organization_member_counts (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, slot)
);
INSERT INTO organization_member_counts (organization_id, slot, count)
SELECT o.id, s.slot, CASE WHEN s.slot = 0 THEN o.member_count ELSE 0 END
FROM organizations o CROSS JOIN generate_series(0, 31) AS s(slot);

-- Slots exist from the organization's creation on, so that the membership trigger only
-- ever updates (an update finds nothing while a cascade deletes the organization).
CREATE FUNCTION organization_member_count_slots() RETURNS trigger AS $$
BEGIN
    INSERT INTO organization_member_counts (organization_id, slot)
    SELECT NEW.id, slot FROM generate_series(0, 31) AS slot;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER organization_member_count_slots
    AFTER INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION organization_member_count_slots();

CREATE OR REPLACE FUNCTION organization_members_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE organization_member_counts SET count = count + 1
        WHERE organization_id = NEW.organization_id AND slot = pg_backend_pid() % 32;
    ELSE
        UPDATE organization_member_counts SET count = count - 1
        WHERE organization_id = OLD.organization_id AND slot = pg_backend_pid() % 32;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

ALTER TABLE organizations DROP COLUMN member_count;

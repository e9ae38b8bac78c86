-- Each organization's member count, kept by triggers so that every path that adds or
-- removes a membership (cascades included) keeps it exact; unfiltered member
-- listings read it instead of counting every row.
ALTER TABLE organizations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE organizations SET member_count =
    (SELECT count(*) FROM organization_members m WHERE m.organization_id = organizations.id);

CREATE TRIGGER organization_members_count_insert AFTER INSERT ON organization_members
BEGIN
    UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.organization_id;
END;

CREATE TRIGGER organization_members_count_delete AFTER DELETE ON organization_members
BEGIN
    UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.organization_id;
END;

-- Each organization's member count, kept by a trigger so that every path that adds or
-- removes a membership (cascades included) keeps it exact; unfiltered member
-- listings read it instead of counting every row.
ALTER TABLE organizations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE organizations SET member_count =
    (SELECT count(*) FROM organization_members m WHERE m.organization_id = organizations.id);

CREATE FUNCTION organization_members_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.organization_id;
    ELSE
        UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.organization_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER organization_members_count
    AFTER INSERT OR DELETE ON organization_members
    FOR EACH ROW EXECUTE FUNCTION organization_members_count();

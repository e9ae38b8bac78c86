DROP TRIGGER organization_members_count ON organization_members;
DROP FUNCTION organization_members_count();
ALTER TABLE organizations DROP COLUMN member_count;

DROP TRIGGER organization_members_count_delete;
DROP TRIGGER organization_members_count_insert;
ALTER TABLE organizations DROP COLUMN member_count;

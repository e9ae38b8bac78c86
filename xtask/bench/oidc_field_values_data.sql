CREATE TABLE oidc_claim_values (user_id TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (user_id, field, value));
CREATE INDEX oidc_claim_values_field_value ON oidc_claim_values (field, value, user_id);
CREATE TABLE organization_members (organization_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (organization_id, user_id));
INSERT INTO oidc_claim_values SELECT 'u' || u, 'groups', 'group-' || ((u * 7 + k * 13) % 200) FROM generate_series(1, 100000) u, generate_series(1, 5) k ON CONFLICT DO NOTHING;
INSERT INTO oidc_claim_values SELECT 'u' || u, 'email', 'u' || u || '@example.com' FROM generate_series(1, 100000) u;
INSERT INTO organization_members SELECT CASE WHEN u % 2 = 0 THEN 'org-a' ELSE 'org-b' END, 'u' || u FROM generate_series(1, 100000) u;
ANALYZE;

DROP TABLE oidc_claim_values;
DROP TABLE oidc_claim_fields;
DROP TABLE user_links;

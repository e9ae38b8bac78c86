-- How a user signs in through an outside identity provider (Coder's user_links).
-- `linked_id` is the provider's stable name for the account (for OIDC the issuer and
-- `sub`, joined by `||`); `claims` is the JSON of the last sign-in's ID token,
-- userinfo and merged claims.
CREATE TABLE user_links (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    login_type TEXT NOT NULL,
    linked_id TEXT NOT NULL,
    claims TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, login_type),
    UNIQUE (login_type, linked_id)
);

-- The merged claims of OIDC links, one row per top-level field and one per string
-- value (a string claim, or each string of an array claim), kept with the link. They
-- answer the IdP sync `available-fields` and `field-values` endpoints with an index
-- walk over distinct entries instead of a scan of every user's claims.
CREATE TABLE oidc_claim_fields (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    PRIMARY KEY (user_id, field)
);
CREATE INDEX oidc_claim_fields_by_field ON oidc_claim_fields (field, user_id);

CREATE TABLE oidc_claim_values (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, field, value)
);
CREATE INDEX oidc_claim_values_by_value ON oidc_claim_values (field, value, user_id);

-- Attempts counted by the rate limits every replica shares: a row per attempt,
-- removed once it is older than its limit's window. `bucket` names the limit and
-- what it is keyed on, as in 'oauth2-register 203.0.113.7'.
CREATE TABLE rate_limit_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    bucket TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX rate_limit_attempts_bucket_at ON rate_limit_attempts (bucket, at);

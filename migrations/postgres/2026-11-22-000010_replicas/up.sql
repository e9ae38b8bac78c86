-- Every warden process serving this database (a replica): each inserts its row at
-- start, moves `updated_at` every few seconds and deletes the row when it stops. A
-- replica is alive while its row is fresh; rows left by replicas that died are
-- deleted by the others after a while.
CREATE TABLE replicas (
    id TEXT PRIMARY KEY NOT NULL,
    hostname TEXT NOT NULL,
    region_id INTEGER NOT NULL,
    relay_address TEXT NOT NULL,
    -- What went wrong with the replica's last heartbeat; empty when nothing did.
    error TEXT NOT NULL,
    -- The round trip to the database, in microseconds, at the last heartbeat.
    database_latency BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX replicas_updated_at ON replicas (updated_at);

-- Each user's Git SSH key pair (Coder's `gitsshkeys`): an Ed25519 key, the private half
-- in OpenSSH format, the public half as an authorized_keys line. Made on first use and
-- replaced on request; it goes with the user row.
CREATE TABLE git_ssh_keys (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

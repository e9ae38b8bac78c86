DROP TABLE git_ssh_keys;

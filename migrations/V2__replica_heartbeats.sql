-- Every running gateway replica renews its row every few seconds; the live count divides each
-- tenant's rate limit, so that N replicas together enforce the tenant's limit.
CREATE TABLE replica_heartbeats (
    replica_id  uuid        PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    hostname    text        NOT NULL DEFAULT '',

    CONSTRAINT replica_heartbeats_hostname_length CHECK (char_length(hostname) <= 253)
);

CREATE INDEX replica_heartbeats_last_seen ON replica_heartbeats (last_seen);

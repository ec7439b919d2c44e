-- Per-minute exchange statistics, one row per tenant, minute and replica: each replica rewrites its
-- own running totals for the minute (no cross-replica write conflicts), readers sum the replicas.
-- Rows older than two days are pruned by the gateway.
CREATE TABLE exchange_stats (
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    minute           timestamptz NOT NULL,
    replica_id       uuid        NOT NULL,
    -- {"ok": 10, "invalid_token": 2}: exchanges by outcome (an API error code, or "ok")
    outcomes         jsonb       NOT NULL DEFAULT '{}',
    cache_hits       bigint      NOT NULL DEFAULT 0,
    upstream_calls   bigint      NOT NULL DEFAULT 0,
    -- exchanges per latency bucket; the bounds are fixed in the gateway (stats.rs)
    latency_buckets  bigint[]    NOT NULL,

    PRIMARY KEY (tenant_id, minute, replica_id),
    CONSTRAINT exchange_stats_whole_minute CHECK (
        date_trunc('minute', minute AT TIME ZONE 'UTC') = minute AT TIME ZONE 'UTC'
    ),
    CONSTRAINT exchange_stats_outcomes_object CHECK (jsonb_typeof(outcomes) = 'object'),
    CONSTRAINT exchange_stats_counts_positive CHECK (cache_hits >= 0 AND upstream_calls >= 0)
);

CREATE INDEX exchange_stats_minute ON exchange_stats (minute);

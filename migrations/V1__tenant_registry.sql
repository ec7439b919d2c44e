-- The tenant registry: tenants, admin keys, audit events.
-- Rules live here as well as in Rust: a row that breaks them cannot be written by any path.

CREATE TABLE tenants (
    id                        uuid        PRIMARY KEY,
    slug                      text        NOT NULL,
    display_name              text        NOT NULL,
    status                    text        NOT NULL DEFAULT 'active',
    entra_authority           text        NOT NULL,
    entra_tenant_id           uuid,
    entra_allowed_tenant_ids  uuid[]      NOT NULL DEFAULT '{}',
    entra_allowed_app_ids     uuid[]      NOT NULL,
    acs_endpoint              text        NOT NULL,
    -- {"type": "accessKey", "accessKey": <sealed>} or
    -- {"type": "clientSecret", "tenantId", "clientId", "clientSecret": <sealed>}
    acs_credential            jsonb       NOT NULL,
    acs_key_fingerprint       text        NOT NULL,
    -- {"type": "entra" | "jwt" | "webhook" | "none", ...}; secrets inside are sealed
    authorization_policy      jsonb       NOT NULL,
    exchanges_per_second      integer     NOT NULL,
    burst                     integer     NOT NULL,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    version                   bigint      NOT NULL DEFAULT 1,

    CONSTRAINT tenants_slug_unique UNIQUE (slug),
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9-]{3,63}$'),
    CONSTRAINT tenants_display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 200),
    CONSTRAINT tenants_status_known CHECK (status IN ('active', 'suspended')),
    CONSTRAINT tenants_authority_known CHECK (entra_authority IN ('tenant', 'organizations')),
    CONSTRAINT tenants_authority_complete CHECK (
        (entra_authority = 'tenant' AND entra_tenant_id IS NOT NULL
            AND cardinality(entra_allowed_tenant_ids) = 0)
        OR (entra_authority = 'organizations' AND entra_tenant_id IS NULL
            AND cardinality(entra_allowed_tenant_ids) > 0)
    ),
    -- The Microsoft consumer tenant (personal accounts) is never a customer.
    CONSTRAINT tenants_no_consumer_tenant CHECK (
        entra_tenant_id IS DISTINCT FROM '9188040d-6c67-4c5b-b112-36a304b66dad'
        AND NOT ('9188040d-6c67-4c5b-b112-36a304b66dad'::uuid = ANY (entra_allowed_tenant_ids))
    ),
    CONSTRAINT tenants_app_ids_present CHECK (cardinality(entra_allowed_app_ids) > 0),
    CONSTRAINT tenants_acs_endpoint_url CHECK (acs_endpoint ~ '^https?://[^/?#]+$'),
    CONSTRAINT tenants_acs_credential_known CHECK (
        acs_credential ->> 'type' IN ('accessKey', 'clientSecret')
    ),
    CONSTRAINT tenants_fingerprint_format CHECK (acs_key_fingerprint ~ '^sha256:[0-9a-f]{8}$'),
    CONSTRAINT tenants_policy_known CHECK (
        authorization_policy ->> 'type' IN ('entra', 'jwt', 'webhook', 'none')
    ),
    CONSTRAINT tenants_rate_positive CHECK (exchanges_per_second BETWEEN 1 AND 100000),
    CONSTRAINT tenants_burst_positive CHECK (burst BETWEEN 1 AND 1000000),
    CONSTRAINT tenants_version_positive CHECK (version >= 1)
);

-- Newest-first listing with a (created_at, id) cursor.
CREATE INDEX tenants_created_at_id ON tenants (created_at DESC, id DESC);

CREATE TABLE admin_keys (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    -- SHA-256 of the key; keys are 256-bit random, so a fast hash is enough.
    key_hash    bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,

    CONSTRAINT admin_keys_hash_unique UNIQUE (key_hash),
    CONSTRAINT admin_keys_hash_length CHECK (octet_length(key_hash) = 32),
    CONSTRAINT admin_keys_name_format CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$')
);

CREATE TABLE audit_events (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor        text        NOT NULL,
    action       text        NOT NULL,
    -- No foreign key: the trail outlives the tenant.
    tenant_id    uuid,
    tenant_slug  text,
    -- [{"field": "/displayName", "from": ..., "to": ...}]; never secret values
    changes      jsonb       NOT NULL DEFAULT '[]',
    request_id   text,

    CONSTRAINT audit_events_action_known CHECK (action IN (
        'tenant.created', 'tenant.updated', 'tenant.acs_rotated', 'tenant.deleted',
        'admin_key.created', 'secrets.resealed'
    )),
    CONSTRAINT audit_events_changes_array CHECK (jsonb_typeof(changes) = 'array')
);

CREATE INDEX audit_events_tenant_slug_id ON audit_events (tenant_slug, id DESC);

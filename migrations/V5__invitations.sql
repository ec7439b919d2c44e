-- Onboarding: a tenant may be `pending` (created before its customer's Entra tenant is known; it
-- exchanges nothing until connected), and invitations are the one-time, expiring links that its
-- customer's admin opens to connect it.

ALTER TABLE tenants DROP CONSTRAINT tenants_status_known;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_known
    CHECK (status IN ('pending', 'active', 'suspended'));

-- As before, plus: a pending tenant may have no Entra tenant yet (authority `tenant` without
-- `entra_tenant_id`, or `organizations` with an empty allow-list). Only a pending one.
ALTER TABLE tenants DROP CONSTRAINT tenants_authority_complete;
ALTER TABLE tenants ADD CONSTRAINT tenants_authority_complete CHECK (
    (entra_authority = 'tenant' AND entra_tenant_id IS NOT NULL
        AND cardinality(entra_allowed_tenant_ids) = 0)
    OR (entra_authority = 'organizations' AND entra_tenant_id IS NULL
        AND cardinality(entra_allowed_tenant_ids) > 0)
    OR (status = 'pending' AND entra_tenant_id IS NULL
        AND cardinality(entra_allowed_tenant_ids) = 0)
);

CREATE TABLE invitations (
    id                 uuid        PRIMARY KEY,
    tenant_id          uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- SHA-256 of the token in the link: 256 random bits, so a fast hash is enough. Never in clear.
    token_hash         bytea       NOT NULL,
    -- Stored states only. `expired` is never stored: it is read as an open state (`pending`,
    -- `consent_denied`, `service_principal_missing`) whose expires_at has passed, by Postgres' clock.
    state              text        NOT NULL DEFAULT 'pending',
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    -- The admin key's name (or `cli:...`), as in audit events.
    created_by         text        NOT NULL,
    consumed_at        timestamptz,
    revoked_at         timestamptz,
    -- The customer's Entra tenant and the admin who connected it (never a token).
    connected_tid      uuid,
    connected_by_oid   uuid,
    connected_by_name  text,
    -- What the last failed attempt found, in plain words (e.g. consent was declined).
    last_error         text,

    CONSTRAINT invitations_token_hash_unique UNIQUE (token_hash),
    CONSTRAINT invitations_token_hash_length CHECK (octet_length(token_hash) = 32),
    CONSTRAINT invitations_state_known CHECK (state IN (
        'pending', 'consent_denied', 'service_principal_missing', 'connected', 'revoked'
    )),
    CONSTRAINT invitations_expires_after_creation CHECK (expires_at > created_at),
    CONSTRAINT invitations_connected_complete CHECK (
        (state = 'connected') = (consumed_at IS NOT NULL AND connected_tid IS NOT NULL
                                 AND connected_by_oid IS NOT NULL)
    ),
    CONSTRAINT invitations_revoked_when CHECK ((state = 'revoked') = (revoked_at IS NOT NULL)),
    CONSTRAINT invitations_connected_by_name_length CHECK (char_length(connected_by_name) <= 256),
    CONSTRAINT invitations_last_error_length CHECK (char_length(last_error) <= 1000)
);

-- A tenant's invitations, newest first.
CREATE INDEX invitations_tenant_created_at ON invitations (tenant_id, created_at DESC, id DESC);

ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known CHECK (action IN (
    'tenant.created', 'tenant.updated', 'tenant.acs_rotated', 'tenant.deleted',
    'admin_key.created', 'admin_key.revoked', 'secrets.resealed',
    'invitation.created', 'invitation.revoked', 'invitation.connected'
));

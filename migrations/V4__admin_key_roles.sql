-- Admin keys get a role, an optional tenant binding, an expiry and a last-used time.
-- Existing keys could do everything, so they become `owner` keys.

ALTER TABLE admin_keys
    ADD COLUMN role          text        NOT NULL DEFAULT 'owner',
    -- A `tenant` key's tenant: its id (a tenant deleted and created again under the same slug is
    -- another tenant) and its slug (immutable; kept for lists and audit after the tenant is gone).
    -- No foreign key: a deleted tenant's keys stay listed, and stop authenticating.
    ADD COLUMN tenant_id     uuid,
    ADD COLUMN tenant_slug   text,
    ADD COLUMN expires_at    timestamptz,
    -- Written in batches, every few seconds, not on each request.
    ADD COLUMN last_used_at  timestamptz;

-- New keys name their role.
ALTER TABLE admin_keys ALTER COLUMN role DROP DEFAULT;

ALTER TABLE admin_keys
    ADD CONSTRAINT admin_keys_role_known
        CHECK (role IN ('owner', 'operator', 'reader', 'tenant')),
    -- A `tenant` key is bound to exactly one tenant; no other key is.
    ADD CONSTRAINT admin_keys_tenant_binding
        CHECK ((role = 'tenant') = (tenant_id IS NOT NULL)
               AND (tenant_id IS NULL) = (tenant_slug IS NULL));

-- Newest first in lists.
CREATE INDEX admin_keys_created_at_id ON admin_keys (created_at DESC, id DESC);

-- Revoking a key is audited like creating one.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known CHECK (action IN (
    'tenant.created', 'tenant.updated', 'tenant.acs_rotated', 'tenant.deleted',
    'admin_key.created', 'admin_key.revoked', 'secrets.resealed'
));

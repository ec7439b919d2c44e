//! Request bodies of the admin API and their conversion into domain types. Parsing collects every
//! problem with a JSON pointer to its field, so one answer tells the operator everything to fix.

use std::collections::BTreeMap;

use registry::domain::{
    AcsEndpoint, AppId, Authority, AuthorityKind, AuthorizationPolicy, ConnectionString, DisplayName,
    EntraSettings, EntraTenantId, InvalidValue, JwtKey, Limits, NewAcsConnection, NewAcsCredential,
    SecretInput, ServiceUrl, TenantSlug, TenantStatus, Transport, WebhookTimeouts, check_shared_secret,
};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::problem::FieldError;

/// `POST /admin/v1/tenants`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateTenantRequest {
    #[schema(example = "fabrikam", pattern = "^[a-z0-9-]{3,63}$")]
    pub slug: String,
    #[schema(example = "Fabrikam Inc.")]
    pub display_name: String,
    /// `active` (default), `suspended`, or `pending`: not connected yet (no Entra tenant needed; it
    /// exchanges nothing until its customer's admin connects it through an invitation)
    pub status: Option<String>,
    pub entra: EntraInput,
    pub acs: AcsInput,
    pub authorization: AuthorizationInput,
    pub limits: Option<LimitsInput>,
}

/// The mutable fields, as a merge patch leaves them (`PATCH /admin/v1/tenants/{slug}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantDocument {
    pub display_name: String,
    pub status: String,
    pub entra: EntraInput,
    pub authorization: AuthorizationInput,
    pub limits: LimitsInput,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EntraInput {
    /// `tenant` or `organizations`
    #[schema(example = "tenant")]
    pub authority: String,
    /// Required for `authority: tenant`, unless the tenant is `pending`.
    pub tenant_id: Option<String>,
    /// Required and non-empty for `authority: organizations`, unless the tenant is `pending`.
    pub allowed_tenant_ids: Option<Vec<String>>,
    pub allowed_app_ids: Vec<String>,
}

/// Either `connectionString`, or `endpoint` with a `credential`. Write-only: never returned.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcsInput {
    #[schema(example = "endpoint=https://fabrikam.communication.azure.com/;accesskey=BASE64")]
    pub connection_string: Option<String>,
    pub endpoint: Option<String>,
    pub credential: Option<AcsCredentialInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", tag = "type")]
pub enum AcsCredentialInput {
    /// An Entra service principal with a role on the ACS resource.
    #[serde(rename = "clientSecret", rename_all = "camelCase")]
    ClientSecret { tenant_id: String, client_id: String, client_secret: String },
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum AuthorizationInput {
    Entra {
        audience: String,
        required_scopes: Vec<String>,
    },
    Jwt {
        issuer: String,
        audience: String,
        jwks_uri: Option<String>,
        /// Write-only.
        hs256_secret: Option<String>,
        user_claim: Option<String>,
        #[serde(default)]
        required_claims: BTreeMap<String, String>,
    },
    Webhook {
        url: String,
        /// Write-only; required when creating.
        secret: Option<String>,
        timeout_ms: Option<u32>,
        cache_seconds: Option<u32>,
    },
    None,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitsInput {
    #[schema(example = 16)]
    pub exchanges_per_second: u32,
    #[schema(example = 32)]
    pub burst: u32,
}

/// Collects field problems while converting; `finish` turns them into one answer.
#[derive(Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn check<T>(&mut self, field: &str, result: Result<T, InvalidValue>) -> Option<T> {
        result.map_err(|e| self.push(field, e.to_string())).ok()
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.to_owned(), message: message.into() });
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

/// Secrets already stored, which a patch may leave as they are.
pub trait StoredSecrets {
    fn stored(&self) -> Option<registry::sealing::StoredSecret>;
}

impl StoredSecrets for AuthorizationPolicy<registry::sealing::StoredSecret> {
    fn stored(&self) -> Option<registry::sealing::StoredSecret> {
        match self {
            Self::Jwt { key: JwtKey::Hs256Secret(secret), .. } | Self::Webhook { secret, .. } => {
                Some(secret.clone())
            }
            _ => None,
        }
    }
}

pub fn slug(p: &mut Problems, value: &str) -> Option<TenantSlug> {
    p.check("/slug", TenantSlug::parse(value))
}

pub fn display_name(p: &mut Problems, value: &str) -> Option<DisplayName> {
    p.check("/displayName", DisplayName::parse(value))
}

pub fn status(p: &mut Problems, value: Option<&str>) -> Option<TenantStatus> {
    p.check("/status", TenantStatus::parse(value.unwrap_or("active")))
}

pub fn limits(p: &mut Problems, value: Option<&LimitsInput>) -> Option<Limits> {
    match value {
        None => Some(Limits::default()),
        Some(l) => {
            let rate = Limits::check_exchanges_per_second(l.exchanges_per_second);
            let rate = p.check("/limits/exchangesPerSecond", rate);
            let burst = p.check("/limits/burst", Limits::check_burst(l.burst));
            Limits::new(rate?, burst?).ok()
        }
    }
}

/// The Entra settings; `status` is the tenant's (when it parsed): only a `pending` tenant may name no
/// Entra tenant yet.
pub fn entra(p: &mut Problems, input: &EntraInput, status: Option<TenantStatus>) -> Option<EntraSettings> {
    let pending = status == Some(TenantStatus::Pending);
    let mut guids = |field: String, values: &[String]| -> Vec<Option<EntraTenantId>> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| p.check(&format!("{field}/{i}"), EntraTenantId::parse(v)))
            .collect()
    };
    let authority = match (input.authority.as_str(), &input.tenant_id, &input.allowed_tenant_ids) {
        ("tenant", Some(id), None) => {
            p.check("/entra/tenantId", EntraTenantId::parse(id)).map(Authority::Tenant)
        }
        ("tenant", None, None) if pending => Some(Authority::NotConnected(AuthorityKind::Tenant)),
        ("tenant", None, _) => {
            p.push("/entra/tenantId", "is required for authority 'tenant' (unless status is 'pending')");
            None
        }
        ("tenant", Some(_), Some(_)) => {
            p.push("/entra/allowedTenantIds", "applies only to authority 'organizations'");
            None
        }
        ("organizations", None, None) if pending => {
            Some(Authority::NotConnected(AuthorityKind::Organizations))
        }
        ("organizations", None, Some(ids)) if pending && ids.is_empty() => {
            Some(Authority::NotConnected(AuthorityKind::Organizations))
        }
        ("organizations", None, Some(ids)) => {
            let parsed = guids("/entra/allowedTenantIds".into(), ids);
            let parsed: Option<Vec<_>> = parsed.into_iter().collect();
            parsed.and_then(|ids| p.check("/entra/allowedTenantIds", Authority::organizations(ids)))
        }
        ("organizations", None, None) => {
            p.push(
                "/entra/allowedTenantIds",
                "is required for authority 'organizations' (unless status is 'pending')",
            );
            None
        }
        ("organizations", Some(_), _) => {
            p.push("/entra/tenantId", "applies only to authority 'tenant'");
            None
        }
        _ => {
            p.push("/entra/authority", "must be 'tenant' or 'organizations'");
            None
        }
    };
    let apps: Vec<Option<AppId>> = input
        .allowed_app_ids
        .iter()
        .enumerate()
        .map(|(i, v)| p.check(&format!("/entra/allowedAppIds/{i}"), AppId::parse(v)))
        .collect();
    let apps: Option<Vec<AppId>> = apps.into_iter().collect();
    let (authority, apps) = (authority?, apps?);
    p.check("/entra/allowedAppIds", EntraSettings::new(authority, apps))
}

pub fn acs(
    p: &mut Problems,
    prefix: &str,
    input: AcsInput,
    transport: Transport,
) -> Option<NewAcsConnection> {
    let field = |name: &str| format!("{prefix}{name}");
    match (input.connection_string, input.endpoint, input.credential) {
        (Some(cs), None, None) => {
            let parsed = p.check(&field("/connectionString"), ConnectionString::parse(&cs, transport))?;
            Some(NewAcsConnection {
                endpoint: parsed.endpoint,
                credential: NewAcsCredential::AccessKey(parsed.access_key),
            })
        }
        (
            None,
            Some(endpoint),
            Some(AcsCredentialInput::ClientSecret { tenant_id, client_id, client_secret }),
        ) => {
            let endpoint = p.check(&field("/endpoint"), AcsEndpoint::parse(&endpoint, transport));
            let tenant_id = p.check(&field("/credential/tenantId"), EntraTenantId::parse(&tenant_id));
            let client_id = p.check(&field("/credential/clientId"), AppId::parse(&client_id));
            if client_secret.is_empty() {
                p.push(&field("/credential/clientSecret"), "must not be empty");
                return None;
            }
            Some(NewAcsConnection {
                endpoint: endpoint?,
                credential: NewAcsCredential::ClientSecret {
                    tenant_id: tenant_id?,
                    client_id: client_id?,
                    client_secret: SecretString::from(client_secret),
                },
            })
        }
        (None, Some(_), None) => {
            p.push(&field("/credential"), "is required with endpoint");
            None
        }
        (None, None, Some(_)) => {
            p.push(&field("/endpoint"), "is required with credential");
            None
        }
        _ => {
            p.push(prefix, "must have either connectionString, or endpoint and credential");
            None
        }
    }
}

/// Converts a policy; `kept` is the secret already stored, used when a patch sends none.
pub fn authorization(
    p: &mut Problems,
    input: AuthorizationInput,
    kept: Option<&registry::sealing::StoredSecret>,
    transport: Transport,
) -> Option<AuthorizationPolicy<SecretInput>> {
    let before = p.0.len();
    let secret = |p: &mut Problems, field: &str, value: Option<String>| -> Option<SecretInput> {
        match (value, kept) {
            (Some(value), _) => {
                p.check(field, check_shared_secret(&value)).map(|()| SecretInput::New(value.into()))
            }
            (None, Some(stored)) => Some(SecretInput::Keep(stored.clone())),
            (None, None) => {
                p.push(field, "is required");
                None
            }
        }
    };
    let policy = match input {
        AuthorizationInput::Entra { audience, required_scopes } => {
            Some(AuthorizationPolicy::Entra { audience, required_scopes })
        }
        AuthorizationInput::Jwt { issuer, audience, jwks_uri, hs256_secret, user_claim, required_claims } => {
            let key = match (jwks_uri, hs256_secret) {
                (Some(uri), None) => {
                    p.check("/authorization/jwksUri", ServiceUrl::parse(&uri, transport)).map(JwtKey::JwksUri)
                }
                (None, value) => secret(p, "/authorization/hs256Secret", value).map(JwtKey::Hs256Secret),
                (Some(_), Some(_)) => {
                    p.push("/authorization", "must have either jwksUri or hs256Secret, not both");
                    None
                }
            };
            key.map(|key| AuthorizationPolicy::Jwt {
                issuer,
                audience,
                key,
                user_claim: user_claim.unwrap_or_else(|| "oid".to_owned()),
                required_claims,
            })
        }
        AuthorizationInput::Webhook { url, secret: value, timeout_ms, cache_seconds } => {
            let url = p.check("/authorization/url", ServiceUrl::parse(&url, transport));
            let secret = secret(p, "/authorization/secret", value);
            let defaults = WebhookTimeouts::default();
            let timeouts = WebhookTimeouts {
                timeout_ms: timeout_ms.unwrap_or(defaults.timeout_ms),
                cache_seconds: cache_seconds.unwrap_or(defaults.cache_seconds),
            };
            Some(AuthorizationPolicy::Webhook { url: url?, secret: secret?, timeouts })
        }
        AuthorizationInput::None => Some(AuthorizationPolicy::None),
    }?;
    for (field, problem) in policy.problems() {
        p.push(&format!("/authorization{field}"), problem.to_string());
    }
    (p.0.len() == before).then_some(policy)
}

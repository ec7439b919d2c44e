use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{InvalidValue, ServiceUrl};

/// How a tenant checks artifact B, the vendor's own authorization. `S` is how secrets are held:
/// plain (`SecretString`) on the way in, sealed (`StoredSecret`) at rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum AuthorizationPolicy<S> {
    /// B is an Entra access token for the vendor's API, from the same Entra tenant and user as A1.
    Entra { audience: String, required_scopes: Vec<String> },
    /// B is a JWT from the vendor's own issuer.
    Jwt {
        issuer: String,
        audience: String,
        key: JwtKey<S>,
        user_claim: String,
        required_claims: BTreeMap<String, String>,
    },
    /// The vendor decides, per user, over a signed HTTP call.
    Webhook { url: ServiceUrl, secret: S, timeouts: WebhookTimeouts },
    /// Explicit opt-out: no B at all.
    None,
}

/// Where a `jwt` policy finds its verification key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JwtKey<S> {
    JwksUri(ServiceUrl),
    Hs256Secret(S),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTimeouts {
    pub timeout_ms: u32,
    pub cache_seconds: u32,
}

impl Default for WebhookTimeouts {
    fn default() -> Self {
        Self { timeout_ms: 500, cache_seconds: 60 }
    }
}

impl<S> AuthorizationPolicy<S> {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Entra { .. } => "entra",
            Self::Jwt { .. } => "jwt",
            Self::Webhook { .. } => "webhook",
            Self::None => "none",
        }
    }

    /// The same policy with each secret transformed (sealed, opened, kept).
    pub fn try_map_secrets<T, E>(
        self,
        mut f: impl FnMut(S) -> Result<T, E>,
    ) -> Result<AuthorizationPolicy<T>, E> {
        Ok(match self {
            Self::Entra { audience, required_scopes } => {
                AuthorizationPolicy::Entra { audience, required_scopes }
            }
            Self::Jwt { issuer, audience, key, user_claim, required_claims } => AuthorizationPolicy::Jwt {
                issuer,
                audience,
                key: match key {
                    JwtKey::JwksUri(uri) => JwtKey::JwksUri(uri),
                    JwtKey::Hs256Secret(secret) => JwtKey::Hs256Secret(f(secret)?),
                },
                user_claim,
                required_claims,
            },
            Self::Webhook { url, secret, timeouts } => {
                AuthorizationPolicy::Webhook { url, secret: f(secret)?, timeouts }
            }
            Self::None => AuthorizationPolicy::None,
        })
    }

    /// Every rule the schema cannot express, as `(relative JSON pointer, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, InvalidValue)> {
        let mut problems = Vec::new();
        match self {
            Self::Entra { audience, required_scopes } => {
                check_text(&mut problems, "/audience", audience, 256);
                if required_scopes.is_empty() {
                    problems.push(("/requiredScopes", InvalidValue::new("must list at least one scope")));
                }
                if required_scopes
                    .iter()
                    .any(|s| s.is_empty() || s.len() > 256 || s.contains(char::is_whitespace))
                {
                    problems.push(("/requiredScopes", InvalidValue::new("scopes must be single words")));
                }
            }
            Self::Jwt { issuer, audience, user_claim, required_claims, .. } => {
                check_text(&mut problems, "/issuer", issuer, 512);
                check_text(&mut problems, "/audience", audience, 256);
                check_text(&mut problems, "/userClaim", user_claim, 64);
                if required_claims.len() > 32 || required_claims.keys().any(|k| k.is_empty() || k.len() > 64)
                {
                    problems.push(("/requiredClaims", InvalidValue::new("must be at most 32 named claims")));
                }
            }
            Self::Webhook { timeouts, .. } => {
                if !(50..=10_000).contains(&timeouts.timeout_ms) {
                    problems.push(("/timeoutMs", InvalidValue::new("must be between 50 and 10000")));
                }
                if timeouts.cache_seconds > 3600 {
                    problems.push(("/cacheSeconds", InvalidValue::new("must be between 0 and 3600")));
                }
            }
            Self::None => {}
        }
        problems
    }
}

/// A shared secret (HS256 key, webhook signing secret) must be long enough not to be guessed.
pub fn check_shared_secret(secret: &str) -> Result<(), InvalidValue> {
    if secret.len() < 32 {
        return Err(InvalidValue::new("must be at least 32 characters"));
    }
    if secret.len() > 1024 {
        return Err(InvalidValue::new("must be at most 1024 characters"));
    }
    Ok(())
}

fn check_text(
    problems: &mut Vec<(&'static str, InvalidValue)>,
    field: &'static str,
    value: &str,
    max: usize,
) {
    if value.trim().is_empty() {
        problems.push((field, InvalidValue::new("must not be empty")));
    } else if value.len() > max {
        problems.push((field, InvalidValue::new(format!("must be at most {max} characters"))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entra_policy_without_audience_or_scopes_has_a_problem_for_each() {
        let policy: AuthorizationPolicy<String> =
            AuthorizationPolicy::Entra { audience: " ".into(), required_scopes: vec![] };
        let fields: Vec<_> = policy.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["/audience", "/requiredScopes"]);
    }

    #[test]
    fn webhook_timeouts_out_of_range_are_problems() {
        let policy = AuthorizationPolicy::Webhook {
            url: ServiceUrl::parse("https://contoso.example/decide", super::super::Transport::HttpsOnly)
                .unwrap(),
            secret: "x".repeat(32),
            timeouts: WebhookTimeouts { timeout_ms: 10, cache_seconds: 7200 },
        };
        let fields: Vec<_> = policy.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["/timeoutMs", "/cacheSeconds"]);
    }

    #[test]
    fn mapping_secrets_touches_only_secrets() {
        let policy = AuthorizationPolicy::Jwt {
            issuer: "https://auth.contoso.example".into(),
            audience: "api://contoso".into(),
            key: JwtKey::Hs256Secret("s".repeat(32)),
            user_claim: "oid".into(),
            required_claims: BTreeMap::new(),
        };
        let mapped = policy.try_map_secrets(|s| Ok::<_, ()>(s.len())).unwrap();
        assert!(matches!(mapped, AuthorizationPolicy::Jwt { key: JwtKey::Hs256Secret(32), .. }));
    }

    #[test]
    fn short_shared_secrets_are_refused() {
        assert!(check_shared_secret("short").is_err());
        assert!(check_shared_secret(&"k".repeat(32)).is_ok());
    }
}

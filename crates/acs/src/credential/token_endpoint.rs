//! Client credentials against the Entra token endpoint, for the bearer ACS credential.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::ClientSecretCredential;
use crate::{
    http::read_limited,
    observer::{TransportError, UpstreamCall, UpstreamKind, UpstreamObserver},
};

/// The resource `https://communication.azure.com/` plus `/.default`: the double slash is real.
pub(crate) const ACS_SCOPE: &str = "https://communication.azure.com//.default";

/// The bearer credential could not get a token. Every case is ours to fix (or Entra's), never the
/// caller's, so the gateway answers 502 `upstream_error` for all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenEndpointError {
    /// Entra refused the client credentials (4xx): wrong tenant, client id or secret, or expired secret.
    #[error("the Entra token endpoint refused the gateway's client credentials (HTTP {status}{})", error.as_deref().map(|e| format!(", {e}")).unwrap_or_default())]
    Rejected { status: u16, error: Option<String> },
    /// Entra answered 5xx.
    #[error("the Entra token endpoint failed (HTTP {status})")]
    Failed { status: u16 },
    #[error("the Entra token endpoint could not be reached")]
    Unreachable,
    #[error("the Entra token endpoint did not answer in time")]
    Timeout,
    #[error("the Entra token endpoint answered with something that is not a token")]
    Malformed,
    #[error("the authority host cannot be used to build a token endpoint URL")]
    InvalidAuthority,
}

/// A freshly fetched token and how long Entra says it lives.
pub(crate) struct FetchedToken {
    pub token: SecretString,
    pub lifetime: Duration,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Seconds,
}

/// `expires_in` is a number in the v2 endpoint, but older endpoints and some proxies send a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(u64),
    Text(String),
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: Option<String>,
    error_description: Option<String>,
}

/// `{authority_host}/{tenant_id}/oauth2/v2.0/token`, keeping any base path of the authority host.
pub(crate) fn token_url(authority_host: &Url, tenant_id: &str) -> Result<Url, TokenEndpointError> {
    if tenant_id.is_empty() {
        return Err(TokenEndpointError::InvalidAuthority);
    }
    let mut url = authority_host.clone();
    url.set_query(None);
    url.path_segments_mut()
        .map_err(|()| TokenEndpointError::InvalidAuthority)?
        .pop_if_empty()
        .extend([tenant_id, "oauth2", "v2.0", "token"]);
    Ok(url)
}

/// One client-credentials request, bounded by `timeout`, reported to `observer`.
pub(crate) async fn fetch_token(
    http: &reqwest::Client,
    credential: &ClientSecretCredential,
    tenant: &str,
    timeout: Duration,
    observer: Option<&dyn UpstreamObserver>,
) -> Result<FetchedToken, TokenEndpointError> {
    let url = token_url(&credential.authority_host, &credential.tenant_id)?;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", credential.client_id.as_str()),
        ("client_secret", credential.client_secret.expose_secret()),
        ("scope", ACS_SCOPE),
    ];
    let started = Instant::now();
    let answer = tokio::time::timeout(timeout, async {
        let mut response = http.post(url).form(&form).send().await?;
        let status = response.status().as_u16();
        read_limited(&mut response).await.map(|body| (status, body))
    })
    .await;
    let (status, error) = match &answer {
        Ok(Ok((status, _))) => (Some(*status), None),
        Ok(Err(e)) => (None, Some(TransportError::of(e))),
        Err(_) => (None, Some(TransportError::Timeout)),
    };
    if let Some(observer) = observer {
        let duration = started.elapsed();
        observer.on_attempt(&UpstreamCall {
            tenant,
            kind: UpstreamKind::EntraToken,
            attempt: 1,
            status,
            error,
            duration,
        });
    }
    let (status, body) = match answer {
        Ok(Ok((status, Some(body)))) => (status, body),
        Ok(Ok((_, None))) => return Err(TokenEndpointError::Malformed),
        Ok(Err(e)) if e.is_timeout() => return Err(TokenEndpointError::Timeout),
        Ok(Err(_)) => return Err(TokenEndpointError::Unreachable),
        Err(_) => return Err(TokenEndpointError::Timeout),
    };
    interpret(status, &body, tenant)
}

fn interpret(status: u16, body: &[u8], tenant: &str) -> Result<FetchedToken, TokenEndpointError> {
    match status {
        200 => {
            let response: TokenResponse =
                serde_json::from_slice(body).map_err(|_| TokenEndpointError::Malformed)?;
            let seconds = match response.expires_in {
                Seconds::Number(n) => n,
                Seconds::Text(text) => text.trim().parse().map_err(|_| TokenEndpointError::Malformed)?,
            };
            if response.access_token.is_empty() {
                return Err(TokenEndpointError::Malformed);
            }
            Ok(FetchedToken { token: response.access_token.into(), lifetime: Duration::from_secs(seconds) })
        }
        400..=499 => {
            let parsed = serde_json::from_slice::<ErrorResponse>(body).ok();
            let (error, description) = parsed.map(|p| (p.error, p.error_description)).unwrap_or_default();
            // Entra's descriptions name the AADSTS code and trace ids, never the secret.
            tracing::error!(
                tenant,
                status,
                error = error.as_deref().unwrap_or("-"),
                description = description.as_deref().unwrap_or("-"),
                "the Entra token endpoint refused the tenant's ACS client credentials; fix the tenant's ACS connection"
            );
            Err(TokenEndpointError::Rejected { status, error })
        }
        _ => {
            tracing::warn!(tenant, status, "the Entra token endpoint failed");
            Err(TokenEndpointError::Failed { status })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_url_appends_tenant_and_v2_path_to_the_authority_host() {
        let url = |host: &str| token_url(&Url::parse(host).unwrap(), "contoso-tid").unwrap().to_string();
        assert_eq!(
            url("https://login.microsoftonline.com"),
            "https://login.microsoftonline.com/contoso-tid/oauth2/v2.0/token"
        );
        assert_eq!(
            url("https://login.microsoftonline.com/"),
            "https://login.microsoftonline.com/contoso-tid/oauth2/v2.0/token"
        );
        assert_eq!(
            url("http://127.0.0.1:9000/entra/"),
            "http://127.0.0.1:9000/entra/contoso-tid/oauth2/v2.0/token"
        );
    }

    #[test]
    fn a_tenant_id_cannot_escape_its_path_segment() {
        let url = token_url(&Url::parse("https://login.microsoftonline.com").unwrap(), "../x?y").unwrap();
        assert_eq!(url.path(), "/..%2Fx%3Fy/oauth2/v2.0/token");
        assert!(token_url(&Url::parse("https://login.microsoftonline.com").unwrap(), "").is_err());
    }

    #[test]
    fn expires_in_is_accepted_as_a_number_or_a_string() {
        let number = interpret(200, br#"{"access_token":"a","expires_in":3599}"#, "t").unwrap();
        assert_eq!(number.lifetime, Duration::from_secs(3599));
        let text = interpret(200, br#"{"access_token":"a","expires_in":"3600"}"#, "t").unwrap();
        assert_eq!(text.lifetime, Duration::from_secs(3600));
        assert!(matches!(
            interpret(200, br#"{"access_token":"a"}"#, "t"),
            Err(TokenEndpointError::Malformed)
        ));
    }

    #[test]
    fn a_refusal_carries_the_entra_error_code() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#;
        let error = interpret(401, body, "t").err().unwrap();
        assert_eq!(error, TokenEndpointError::Rejected { status: 401, error: Some("invalid_client".into()) });
        assert_eq!(
            error.to_string(),
            "the Entra token endpoint refused the gateway's client credentials (HTTP 401, invalid_client)"
        );
        assert_eq!(interpret(503, b"", "t").err().unwrap(), TokenEndpointError::Failed { status: 503 });
    }
}

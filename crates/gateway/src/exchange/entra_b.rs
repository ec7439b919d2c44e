//! The `entra` policy for B checks an Entra token for the vendor's API with the same validator as A1.

use std::sync::Arc;

use uuid::Uuid;

pub struct EntraB(pub Arc<entra::Validator>);

#[async_trait::async_trait]
impl authz::EntraTokenVerifier for EntraB {
    async fn verify(
        &self,
        token: &str,
        tid: Uuid,
        audience: &str,
        required_scopes: &[String],
    ) -> Result<authz::VerifiedEntraToken, authz::Refusal> {
        let scopes: Vec<&str> = required_scopes.iter().map(String::as_str).collect();
        let expectations = entra::Expectations {
            authority: entra::Authority::Tenant(tid),
            audiences: &[audience],
            required_scopes: &scopes,
            user: None,
            app: None,
        };
        match self.0.validate(token, &expectations).await {
            Ok(valid) => {
                Ok(authz::VerifiedEntraToken { tid: valid.tid, oid: valid.oid, expires_at: valid.expires_at })
            }
            Err(entra::Rejection::KeysUnavailable) => Err(authz::Refusal::Unavailable),
            Err(entra::Rejection::TenantNotAllowed | entra::Rejection::UserMismatch) => {
                Err(authz::Refusal::OtherUser)
            }
            Err(rejection) => {
                Err(authz::Refusal::Invalid { reason: rejection.reason(), detail: rejection.to_string() })
            }
        }
    }
}

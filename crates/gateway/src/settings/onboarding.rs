//! Onboarding's settings: the gateway's public URL (for invitation links and, next, redirect URIs),
//! the vendor's onboarding app (its multi-tenant client app, which customers consent to) with its
//! client secret, and the vendor's name on the customer's page. All optional together: without them
//! the invitation routes and the onboarding pages answer 503 `not_configured` naming what is missing,
//! and everything else works. A value that is set must be valid (or start-up stops, naming it).

use std::sync::Arc;

use registry::domain::{AppId, ServiceUrl, Transport};
use secrecy::SecretString;
use url::Url;

use super::{SettingsError, Source};

pub const PUBLIC_BASE_URL: &str = "ACSGW_PUBLIC_BASE_URL";
pub const CLIENT_ID: &str = "ACSGW_ONBOARDING_CLIENT_ID";
pub const CLIENT_SECRET: &str = "ACSGW_ONBOARDING_CLIENT_SECRET";
pub const VENDOR_NAME: &str = "ACSGW_VENDOR_NAME";

/// Whether onboarding can run on this replica.
#[derive(Debug, Clone)]
pub enum OnboardingSettings {
    Configured(Arc<Onboarding>),
    /// The variables that are not set, in the order of the README's table.
    Missing(Vec<&'static str>),
}

/// What onboarding needs, every value checked.
#[derive(Debug)]
pub struct Onboarding {
    /// Where customers' browsers reach this gateway (`https://gateway.contoso.example`, perhaps
    /// with a path prefix).
    pub public_base_url: Url,
    /// The vendor's multi-tenant client app: the app customers consent to, which must be on a
    /// tenant's `entra.allowedAppIds`.
    pub client_id: AppId,
    /// The app's client secret (a certificate may come later); never logged.
    pub client_secret: SecretString,
    /// Who asks, on the customer's page.
    pub vendor_name: String,
    /// The origin of `ACSGW_ENTRA_AUTHORITY_HOST`, where the consent flow sends browsers (the pages'
    /// `form-action`).
    pub authority_origin: String,
}

impl Onboarding {
    /// The link of an invitation with this token.
    pub fn invitation_url(&self, token: &str) -> String {
        format!("{}/onboarding/{token}", self.public_base_url.as_str().trim_end_matches('/'))
    }
}

impl OnboardingSettings {
    pub(super) fn from_source(
        source: &Source,
        authority_host: &Url,
        transport: Transport,
    ) -> Result<Self, SettingsError> {
        let given = |variable: &'static str| source.values.get(variable).map(|v| v.trim().to_owned());
        let missing: Vec<&'static str> = [PUBLIC_BASE_URL, CLIENT_ID, CLIENT_SECRET, VENDOR_NAME]
            .into_iter()
            .filter(|&variable| given(variable).is_none_or(|v| v.is_empty()))
            .collect();
        // What is set is checked even while something else is missing: a typo shows at once.
        let public_base_url = given(PUBLIC_BASE_URL).map(|v| base_url(&v, transport)).transpose()?;
        let client_id = given(CLIENT_ID)
            .map(|v| AppId::parse(&v).map_err(|e| SettingsError::new(CLIENT_ID, e.to_string())))
            .transpose()?;
        let vendor_name = given(VENDOR_NAME).map(|v| vendor(&v)).transpose()?;
        let client_secret = source.values.get(CLIENT_SECRET).map(|v| SecretString::from(v.clone()));
        match (public_base_url, client_id, client_secret, vendor_name) {
            (Some(public_base_url), Some(client_id), Some(client_secret), Some(vendor_name))
                if missing.is_empty() =>
            {
                Ok(Self::Configured(Arc::new(Onboarding {
                    public_base_url,
                    client_id,
                    client_secret,
                    vendor_name,
                    authority_origin: authority_host.origin().ascii_serialization(),
                })))
            }
            _ => Ok(Self::Missing(missing)),
        }
    }

    /// The settings, or what to say about their absence.
    pub fn get(&self) -> Result<&Arc<Onboarding>, String> {
        match self {
            Self::Configured(onboarding) => Ok(onboarding),
            Self::Missing(missing) => {
                Err(format!("onboarding is not configured on this gateway: {} not set", missing.join(", ")))
            }
        }
    }
}

fn base_url(value: &str, transport: Transport) -> Result<Url, SettingsError> {
    let refuse = |message: String| SettingsError::new(PUBLIC_BASE_URL, message);
    let url = ServiceUrl::parse(value, transport).map_err(|e| refuse(e.to_string()))?.as_url().clone();
    if url.query().is_some() {
        return Err(refuse("must not have a query".into()));
    }
    Ok(url)
}

fn vendor(value: &str) -> Result<String, SettingsError> {
    let ok = (1..=100).contains(&value.chars().count()) && !value.chars().any(char::is_control);
    ok.then(|| value.to_owned())
        .ok_or_else(|| SettingsError::new(VENDOR_NAME, "expected 1 to 100 characters, no control characters"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn onboarding(pairs: &[(&str, &str)]) -> Result<OnboardingSettings, SettingsError> {
        let pairs: BTreeMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let source = Source::from_env_fn(|name| pairs.get(name).cloned())?;
        let host = Url::parse("https://login.microsoftonline.com").unwrap();
        OnboardingSettings::from_source(&source, &host, Transport::HttpsOnly)
    }

    const ALL: [(&str, &str); 4] = [
        (PUBLIC_BASE_URL, "https://gateway.contoso.example/acs/"),
        (CLIENT_ID, "11111111-2222-3333-4444-555555555555"),
        (CLIENT_SECRET, "the-app-secret"),
        (VENDOR_NAME, "Contoso Calling"),
    ];

    #[test]
    fn with_every_setting_onboarding_links_live_under_the_public_url() {
        let OnboardingSettings::Configured(settings) = onboarding(&ALL).unwrap() else {
            panic!("configured");
        };
        assert_eq!(settings.invitation_url("abc"), "https://gateway.contoso.example/acs/onboarding/abc");
        assert_eq!(settings.authority_origin, "https://login.microsoftonline.com");
        assert_eq!(settings.client_secret.expose_secret(), "the-app-secret");
        assert!(!format!("{settings:?}").contains("the-app-secret"), "the secret is never printed");
    }

    #[test]
    fn without_some_settings_onboarding_is_off_and_says_which_are_missing() {
        let message = onboarding(&ALL[..2]).unwrap().get().unwrap_err();
        assert_eq!(
            message,
            "onboarding is not configured on this gateway: ACSGW_ONBOARDING_CLIENT_SECRET, ACSGW_VENDOR_NAME not set"
        );
        assert!(onboarding(&[]).unwrap().get().is_err());
    }

    #[test]
    fn a_malformed_onboarding_setting_names_its_variable_even_when_others_are_missing() {
        for (variable, bad) in [
            (PUBLIC_BASE_URL, "http://gateway.contoso.example"),
            (PUBLIC_BASE_URL, "https://gateway.contoso.example/?x=1"),
            (CLIENT_ID, "not-a-guid"),
            (VENDOR_NAME, "line\nbreak"),
        ] {
            assert_eq!(onboarding(&[(variable, bad)]).unwrap_err().variable, variable, "{bad}");
        }
    }
}

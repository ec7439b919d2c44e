//! One report per upstream HTTP attempt, so the gateway can feed its metrics
//! (`acsgw_upstream_requests_total{tenant,status}`, `acsgw_upstream_duration_seconds{tenant}`)
//! without this crate depending on a metrics library.

use std::time::Duration;

/// Called once per upstream attempt, after it ends. Runs inline on the request's task: keep it cheap
/// (increment a counter, record a histogram) and never block.
pub trait UpstreamObserver: Send + Sync {
    fn on_attempt(&self, call: &UpstreamCall<'_>);
}

impl<F> UpstreamObserver for F
where
    F: Fn(&UpstreamCall<'_>) + Send + Sync,
{
    fn on_attempt(&self, call: &UpstreamCall<'_>) {
        self(call);
    }
}

/// One HTTP attempt to ACS or to the Entra token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamCall<'a> {
    pub tenant: &'a str,
    pub kind: UpstreamKind,
    /// 1 for the first try, 2 for the first retry, ...
    pub attempt: u32,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Why no usable response arrived, when none did.
    pub error: Option<TransportError>,
    pub duration: Duration,
}

impl UpstreamCall<'_> {
    /// A bounded label for metrics: the status code, or the transport failure's name.
    pub fn status_label(&self) -> String {
        match (self.status, self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => error.as_str().to_owned(),
            (None, None) => "unknown".to_owned(),
        }
    }
}

/// Which upstream an attempt went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpstreamKind {
    /// `POST /teamsUser/:exchangeAccessToken` on the tenant's ACS resource.
    AcsExchange,
    /// The Entra token endpoint, for a bearer (client secret) credential.
    EntraToken,
}

impl UpstreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AcsExchange => "acs_exchange",
            Self::EntraToken => "entra_token",
        }
    }
}

/// Why an attempt produced no usable response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportError {
    /// No connection (refused, DNS, TLS, connect timeout).
    Connect,
    /// The attempt's time budget ran out.
    Timeout,
    /// The connection broke after the request was sent, or the body was unreadable.
    Io,
}

impl TransportError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect_error",
            Self::Timeout => "timeout",
            Self::Io => "io_error",
        }
    }

    pub(crate) fn of(error: &reqwest::Error) -> Self {
        if error.is_connect() {
            Self::Connect
        } else if error.is_timeout() {
            Self::Timeout
        } else {
            Self::Io
        }
    }
}

//! Running the issuer's HTTP server on a listener the caller bound (port 0 in tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};

use actix_web::{
    App, HttpServer,
    dev::{Server, ServerHandle, Service as _},
    web,
};
use anyhow::Context as _;

use super::{DevIssuer, routes};

/// Two workers are plenty for a test double and keep many parallel test issuers cheap.
const WORKERS: usize = 2;
/// Seconds in-flight requests get to finish on [`RunningIssuer::stop`].
const SHUTDOWN_TIMEOUT_SECONDS: u64 = 5;

/// A started issuer: where it listens, its state, and the handle that stops it.
pub struct RunningIssuer {
    base_url: String,
    issuer: DevIssuer,
    handle: ServerHandle,
}

impl RunningIssuer {
    /// `http://127.0.0.1:PORT` (no trailing slash): what to set `ACSGW_ENTRA_AUTHORITY_HOST` to.
    /// A listener bound to an unspecified address is reported on loopback.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The shared state, to mint, rotate or register clients directly.
    pub fn issuer(&self) -> &DevIssuer {
        &self.issuer
    }

    /// How many times any JWKS document has been served, so tests can assert a relying party's
    /// key caching (for example "one fetch for ten tokens", "a refetch after rotation").
    pub fn key_set_fetches(&self) -> u64 {
        self.issuer.key_set_fetches()
    }

    /// How many times any OpenID metadata document has been served.
    pub fn metadata_fetches(&self) -> u64 {
        self.issuer.metadata_fetches()
    }

    /// Stops accepting connections and lets in-flight requests finish.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

pub(super) fn start(issuer: DevIssuer, listener: TcpListener) -> anyhow::Result<RunningIssuer> {
    let address = listener.local_addr().context("Failed to read the issuer listener's address")?;
    let server = http_server(issuer.clone(), listener)?;
    let handle = server.handle();
    // The listener is already listening, so connections queue from here on; the spawned server
    // accepts them as soon as its workers run.
    tokio::spawn(server);
    let base_url = base_url(address);
    tracing::debug!(%base_url, "Dev Entra issuer started");
    Ok(RunningIssuer { base_url, issuer, handle })
}

fn http_server(issuer: DevIssuer, listener: TcpListener) -> anyhow::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(issuer.clone()))
            .wrap_fn(|request, service| {
                // Method and path only: the query could carry anything, bodies carry secrets and
                // tokens, and neither belongs in a log.
                let method = request.method().clone();
                let path = request.path().to_owned();
                let response = service.call(request);
                async move {
                    let response = response.await?;
                    let status = response.status().as_u16();
                    tracing::debug!(%method, %path, status, "Dev issuer request");
                    Ok(response)
                }
            })
            .configure(routes::configure)
    })
    .workers(WORKERS)
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECONDS)
    .listen(listener)
    .context("Failed to serve the dev issuer on the given listener")?
    .run();
    Ok(server)
}

fn base_url(address: SocketAddr) -> String {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

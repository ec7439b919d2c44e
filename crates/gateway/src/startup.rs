//! `Application::build` wires settings into a running server on a bound listener (port 0 in tests).

use std::{
    net::TcpListener,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use actix_web::{App, HttpServer, ResponseError, dev::Server, middleware::from_fn, web};
use anyhow::Context;
use registry::{
    cache::{CacheConfig, CacheEvent, CacheObserver, TenantCache, TenantChange},
    health::{Budget, HealthConfig, RegistryHealth},
    tenants::TenantStore,
};
use secrecy::ExposeSecret;
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::task::JoinHandle;

use crate::{
    exchange::{EntraB, Exchanger, ExchangerParts},
    observability::{Metrics, StatsRecorder, metrics::status_label},
    problem::Problem,
    request_context::request_context,
    routes,
    settings::{DatabaseSettings, Settings},
    state::AppState,
    tenant::TenantResolver,
};

/// Request bodies are small JSON documents; anything larger is refused before it is read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a stop may spend on Postgres once the HTTP server has drained: the last statistics flush,
/// removing the heartbeat and closing the pool. Kubernetes' grace period leaves room for it after
/// the preStop sleep and `ACSGW_SHUTDOWN_TIMEOUT_SECONDS`.
pub const EXIT_WRITES_DEADLINE: Duration = Duration::from_secs(5);

pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
    state: web::Data<AppState>,
    background: Vec<JoinHandle<()>>,
    replica_id: uuid::Uuid,
}

/// A pool that connects on first use, so a replica can start before Postgres answers (`/readyz` says so).
pub fn pool(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(settings.url.expose_secret())
        .context("DATABASE_URL is not a usable Postgres URL")
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = pool(&settings.database)?;
        if settings.migrate_on_start {
            let applied = registry::migrate::run(&pool).await.context("migrations failed")?;
            tracing::info!(?applied, "migrations applied");
        }
        if let Err(off) = settings.onboarding.get() {
            tracing::info!("{off}: invitations and onboarding pages answer 503 not_configured");
        }
        if settings.allow_insecure_http {
            tracing::warn!(
                "ACSGW_ALLOW_INSECURE_HTTP is on: plain http upstreams are accepted (development only)"
            );
        }
        let registry = RegistryHealth::new(HealthConfig {
            lookup_timeout: settings.db_lookup_timeout,
            request_timeout: settings.db_request_timeout,
            ..HealthConfig::default()
        });
        let tenants = TenantStore::new(pool.clone(), settings.keyring.clone(), registry.clone());
        let metrics = Arc::new(Metrics::new(settings.slow_exchange));
        let replica_id = uuid::Uuid::now_v7();
        let stats = Arc::new(StatsRecorder::new(replica_id));
        let cache_metrics = metrics.clone();
        let observer: CacheObserver =
            Arc::new(move |event| cache_metrics.tenant_cache_event(cache_event_name(event)));
        let budgets = settings.cache_budgets();
        let cache_config = CacheConfig {
            ttl: settings.tenant_cache_ttl,
            stale_if_error: settings.tenant_stale_if_error,
            max_bytes: budgets.tenant_records,
            max_absent: registry::cache::MAX_ABSENT,
        };
        let tenant_cache = TenantCache::new(tenants.clone(), cache_config, observer);
        let listener_task = tenant_cache.spawn_listener(pool.clone());
        let exchanger = build_exchanger(&settings, &metrics, &stats)?;
        let resolver = web::Data::new(TenantResolver::new(
            tenant_cache.clone(),
            settings.keyring.clone(),
            settings.entra_authority_host.clone(),
            budgets.tenant_runtimes,
        ));
        let state = web::Data::new(AppState {
            pool,
            registry,
            tenants,
            tenant_cache,
            transport: settings.transport(),
            exchanger,
            metrics,
            stats,
            admin_key_usage: Default::default(),
            was_ready: AtomicBool::new(false),
            onboarding: settings.onboarding.clone(),
        });
        let background = vec![
            spawn_stats_flush(state.clone(), settings.stats_flush_interval),
            listener_task,
            spawn_heartbeat(state.clone(), replica_id, settings.heartbeat_interval),
            spawn_key_refresh(state.clone()),
            spawn_forget_changed_tenants(state.clone()),
        ];

        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {} (ACSGW_LISTEN)", settings.listen))?;
        let port = listener.local_addr()?.port();
        let app_state = state.clone();
        let metrics_here = settings.metrics_listen.is_none();
        let server =
            HttpServer::new(move || {
                App::new()
                    .app_data(app_state.clone())
                    .app_data(resolver.clone())
                    .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                    .app_data(web::QueryConfig::default().error_handler(|error, _| {
                        Problem::invalid_request(format!("query string: {error}")).into()
                    }))
                    .app_data(web::PathConfig::default().error_handler(|_, _| {
                        Problem::for_status(actix_web::http::StatusCode::NOT_FOUND).into()
                    }))
                    .configure(|cfg| routes::configure(cfg, metrics_here))
                    .default_service(web::to(|| async {
                        Problem::for_status(actix_web::http::StatusCode::NOT_FOUND).error_response()
                    }))
                    .wrap(from_fn(request_context))
            })
            .listen(listener)?
            .shutdown_timeout(settings.shutdown_timeout.as_secs())
            .run();
        tracing::info!(port, "gateway listening");
        let (metrics_server, metrics_port) = match settings.metrics_listen {
            Some(address) => {
                let (server, port) = metrics_server(address, state.clone())?;
                (Some(server), Some(port))
            }
            None => (None, None),
        };
        Ok(Self { port, metrics_port, server, metrics_server, state, background, replica_id })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, when `ACSGW_METRICS_LISTEN` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub fn tenant_cache(&self) -> &TenantCache {
        &self.state.tenant_cache
    }

    /// A handle to stop the server gracefully (in-flight requests finish first).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT or `handle().stop(true)`, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics_handle = self.metrics_server.as_ref().map(Server::handle);
        if let Some(metrics_server) = self.metrics_server {
            tokio::spawn(metrics_server);
        }
        let result = self.server.await;
        if let Some(handle) = metrics_handle {
            handle.stop(true).await;
        }
        for task in &self.background {
            task.abort();
        }
        // What this replica counted since the last flush is written before it goes, in the time
        // that Postgres gets at exit: a stop never waits longer on Postgres, up or not. A periodic
        // flush cut short above may still land after this one; it cannot set older totals back.
        let deadline = tokio::time::Instant::now() + EXIT_WRITES_DEADLINE;
        let (pool, stats) = (&self.state.pool, &self.state.stats);
        stats.flush_before_exit(pool, deadline).await;
        self.state.admin_key_usage.flush_before_exit(pool, deadline).await;
        match tokio::time::timeout_at(deadline, registry::replicas::leave(pool, self.replica_id)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not remove this replica's heartbeat"),
            Err(_) => tracing::warn!("could not remove this replica's heartbeat: no answer in time"),
        }
        // Connections still busy past the deadline are dropped with the process.
        let _ = tokio::time::timeout_at(deadline, pool.close()).await;
        result
    }
}

fn cache_event_name(event: CacheEvent) -> &'static str {
    match event {
        CacheEvent::Hit => "hit",
        CacheEvent::Miss => "miss",
        CacheEvent::Stale => "stale",
        CacheEvent::Invalidated => "invalidated",
        CacheEvent::Cleared => "cleared",
        CacheEvent::ListenerLost => "listener_lost",
    }
}

fn build_exchanger(
    settings: &Settings,
    metrics: &Arc<Metrics>,
    stats: &Arc<StatsRecorder>,
) -> anyhow::Result<Exchanger> {
    let budgets = settings.cache_budgets();
    let key_metrics = metrics.clone();
    let validator = Arc::new(entra::Validator::new(entra::ValidatorConfig {
        refresh_cooldown: settings.key_refresh_cooldown,
        allow_insecure_http: settings.allow_insecure_http,
        observer: Arc::new(move |fetch: entra::observe::FetchEvent<'_>| {
            key_metrics.key_fetch(fetch.authority, fetch.ok);
        }),
        verified_cache_capacity: budgets.verified_a1s,
        ..entra::ValidatorConfig::new(settings.entra_authority_host.clone())
    })?);
    let (upstream_metrics, upstream_stats) = (metrics.clone(), stats.clone());
    let upstream_observer = move |call: &acs::UpstreamCall<'_>| {
        if call.kind == acs::UpstreamKind::AcsExchange {
            let status = status_label(&call.status_label());
            upstream_metrics.upstream(call.tenant, status, call.duration.as_secs_f64());
            upstream_stats.upstream_call(call.tenant);
        }
    };
    let config =
        authz::AuthorizerConfig { decision_cache_bytes: budgets.webhook_answers, ..Default::default() };
    let authorizer = authz::Authorizer::new(config, Arc::new(EntraB(validator.clone())))
        .context("cannot build the authorizer")?;
    let acs = acs::AcsClient::new(acs::AcsClientConfig {
        api_version: settings.acs_api_version.clone(),
        attempt_timeout: settings.acs_attempt_timeout,
        total_timeout: settings.acs_total_timeout.max(settings.acs_attempt_timeout),
        observer: Some(Arc::new(upstream_observer)),
        ..acs::AcsClientConfig::default()
    })?;
    Ok(Exchanger::new(ExchangerParts {
        validator,
        authorizer,
        acs,
        transport: settings.transport(),
        user_exchanges_per_minute: settings.user_exchanges_per_minute,
        results_bytes: budgets.exchange_results,
        user_buckets_bytes: budgets.user_buckets,
        verified_b_bytes: budgets.verified_bs,
    }))
}

/// Announces this replica and learns how many share the cluster, for the rate limits.
fn spawn_heartbeat(state: web::Data<AppState>, replica_id: uuid::Uuid, every: Duration) -> JoinHandle<()> {
    let hostname = std::env::var("HOSTNAME").unwrap_or_default();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            let beat = registry::replicas::beat(&state.pool, replica_id, &hostname, every * 3);
            match state.registry.guard(Budget::Request, beat).await {
                Ok(live) => state.exchanger.set_live_replicas(live),
                Err(error) => tracing::warn!(%error, "replica heartbeat failed"),
            }
        }
    })
}

/// Entra signing keys and metadata in use are fetched again about hourly.
fn spawn_key_refresh(state: web::Data<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(3600));
        ticks.tick().await;
        loop {
            ticks.tick().await;
            state.exchanger.refresh_keys().await;
        }
    })
}

/// Per-tenant state kept outside the registry (breakers, policy decisions, limiter buckets, metric
/// series) follows the tenants' changes on every replica. A changed tenant's state is dropped when
/// its slug is announced. When announcements may have been missed (the listener reconnected, or this
/// task fell behind), the tenants that no longer exist are found with one query instead.
fn spawn_forget_changed_tenants(state: web::Data<AppState>) -> JoinHandle<()> {
    use tokio::sync::broadcast::error::RecvError;
    let mut changes = state.tenant_cache.subscribe();
    let mut sessions = state.tenant_cache.listener_sessions();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(TenantChange { slug, version }) => {
                        state.exchanger.forget(&slug);
                        // A deleted tenant's series go; a changed one keeps them.
                        if version.is_none() && matches!(state.tenant_cache.get(&slug).await, Ok(None)) {
                            state.metrics.forget_tenants(&[slug.as_str()]);
                        }
                    }
                    Err(RecvError::Lagged(_)) => forget_deleted_tenants(&state).await,
                    Err(RecvError::Closed) => return,
                },
                session = sessions.changed() => match session {
                    Ok(()) => forget_deleted_tenants(&state).await,
                    Err(_) => return,
                },
            }
        }
    })
}

/// Drops the state of every tenant that has metric series here but no longer exists.
async fn forget_deleted_tenants(state: &AppState) {
    // Labels read before the query: a tenant created meanwhile cannot be taken for deleted.
    let labelled: Vec<String> = state.metrics.tenants_with_series().into_iter().collect();
    if labelled.is_empty() {
        return;
    }
    let existing = match state.tenants.existing_slugs(&labelled).await {
        Ok(existing) => existing,
        Err(error) => {
            tracing::warn!(%error, "could not check which tenants still exist");
            return;
        }
    };
    let deleted: Vec<&str> =
        labelled.iter().map(String::as_str).filter(|slug| !existing.iter().any(|e| e == slug)).collect();
    for slug in &deleted {
        if let Ok(parsed) = registry::domain::TenantSlug::parse(slug) {
            state.exchanger.forget(&parsed);
        }
    }
    state.metrics.forget_tenants(&deleted);
}

/// Writes this replica's per-minute statistics and its admin keys' last use every `every`, and
/// prunes old statistics about hourly.
fn spawn_stats_flush(state: web::Data<AppState>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        let mut last_prune: Option<std::time::Instant> = None;
        loop {
            ticks.tick().await;
            state.stats.flush(&state.pool, &state.registry).await;
            if let Err(error) = state.admin_key_usage.flush(&state.pool, &state.registry).await {
                tracing::warn!(%error, "could not write when admin keys were last used; will retry");
            }
            if last_prune.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                let before = chrono::Utc::now() - crate::observability::stats::RETENTION;
                match registry::stats::prune(&state.pool, before).await {
                    Ok(pruned) => tracing::debug!(pruned, "old exchange statistics pruned"),
                    Err(error) => tracing::warn!(%error, "could not prune exchange statistics"),
                }
                last_prune = Some(std::time::Instant::now());
            }
        }
    })
}

/// `/metrics` alone on its own listener, so that it need not be public.
fn metrics_server(
    address: std::net::SocketAddr,
    state: web::Data<AppState>,
) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(address)
        .with_context(|| format!("cannot listen on {address} (ACSGW_METRICS_LISTEN)"))?;
    let port = listener.local_addr()?.port();
    let server =
        HttpServer::new(move || App::new().app_data(state.clone()).service(routes::metrics::metrics))
            .workers(1)
            .listen(listener)?
            .disable_signals()
            .run();
    Ok((server, port))
}

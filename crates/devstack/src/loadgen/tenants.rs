//! `many-tenants`: `--tenants` tenants in the registry, each its own Entra tenant, created
//! concurrently through the admin API (creates per second); then one A1 and B per tenant, a cold
//! first pass over all of them, and measured traffic spread over all of them (cache hits once warm),
//! with Postgres's committed transactions per exchange over the measured part.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection};

use super::{
    Run, admin,
    drive::{Load, Prepared, drive},
    report::Summary,
    tokens::{self, Flaw, Holder},
};

/// Longer than Postgres's `PGSTAT_IDLE_INTERVAL` (10 s), after which an idle backend publishes
/// its transaction counts.
const STATS_SETTLE: Duration = Duration::from_secs(11);

/// The `n`th loadgen tenant's slug: fixed, so a second run finds the tenants of the first.
pub fn slug(n: usize) -> String {
    format!("lg-{n:06}")
}

/// The `n`th loadgen tenant's Entra tenant id.
pub fn entra_tenant(n: usize) -> String {
    format!("7e4a0000-0000-4000-8000-{n:012x}")
}

/// The `n`th tenant as `POST /admin/v1/tenants` takes it: its own Entra tenant, the demo's app and
/// ACS resource (the emulator), the scenarios' B policy, and no rate limit to speak of.
fn tenant(n: usize, app: &str, connection_string: &str) -> Value {
    json!({
        "slug": slug(n),
        "displayName": format!("acs-loadgen tenant {n}"),
        "entra": {"authority": "tenant", "tenantId": entra_tenant(n), "allowedAppIds": [app]},
        "acs": {"connectionString": connection_string},
        "authorization": tokens::b_policy(),
        "limits": admin::lifted_limits(),
    })
}

pub async fn run(run: &Run) -> anyhow::Result<()> {
    let (args, target) = (&run.args, &run.target);
    let count = args.tenants;
    let created = create(run, count).await?;
    let holders = (0..count)
        .map(|n| Holder { entra_tenant: entra_tenant(n), user: tokens::user_id(n, count) })
        .collect();
    let pairs = tokens::mint_pairs(&run.client, &target.entra, &target.app, holders, Flaw::None).await?;
    let requests: anyhow::Result<Vec<Prepared>> = pairs
        .iter()
        .enumerate()
        .map(|(n, pair)| {
            let body = target.exchange_body(&pair.a1, &pair.user);
            Prepared::post_json(&target.exchange_url(&slug(n))?, body, Some(&pair.b))
        })
        .collect();
    let requests = Arc::new(requests?);
    let in_flight = args.concurrency;
    let label = format!("many-tenants N={count}");

    eprintln!("cold first pass: one exchange per tenant");
    let cold = Summary::of(&drive(&run.client, &requests, Load::once_each(in_flight, count)).await);
    run.output.result(&format!("{label}: cold first pass"), &cold, in_flight, "every tenant once: misses");

    let mut postgres = match &target.database_url {
        Some(url) => Some(PgConnection::connect(url).await.context("cannot connect to DATABASE_URL")?),
        None => None,
    };
    let before = committed(postgres.as_mut()).await?;
    eprintln!("measuring for {} s with {in_flight} in flight over {count} tenants", args.duration);
    let warm = Summary::of(&drive(&run.client, &requests, run.measured(usize::MAX)).await);
    let after = committed(postgres.as_mut()).await?;
    let per_exchange = match (before, after) {
        (Some(before), Some(after)) => {
            format!("{:.4}", (after - before) as f64 / warm.requests.max(1) as f64)
        }
        _ => "n/a (no DATABASE_URL in the env file)".to_owned(),
    };
    let notes = format!(
        "{count} tenants ({} created, {} there before: {:.0} POSTs/s); Postgres transactions per exchange {per_exchange}",
        created.created,
        created.existing,
        count as f64 / created.seconds.max(1e-9),
    );
    run.output.result(&format!("{label}: spread over all"), &warm, in_flight, &notes);
    if let Some(connection) = postgres {
        connection.close().await.ok();
    }
    Ok(())
}

/// What creating the tenants came to.
pub struct Created {
    created: usize,
    existing: usize,
    seconds: f64,
}

/// Creates tenants `0..count`, `--concurrency` at a time; those already there (409) are kept.
#[expect(clippy::print_stdout, reason = "the creation rate is one of the results")]
pub async fn create(run: &Run, count: usize) -> anyhow::Result<Created> {
    let admin = run.admin();
    eprintln!("creating {count} tenants, {} at a time", run.args.concurrency);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers = (0..run.args.concurrency).map(|_| {
        let (admin, next) = (admin.clone(), next.clone());
        let (app, connection_string) = (run.target.app.clone(), run.target.acs_connection_string.clone());
        tokio::spawn(async move {
            let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return statuses;
                }
                let status = admin.create(&tenant(n, &app, &connection_string)).await.unwrap_or(0);
                *statuses.entry(status).or_default() += 1;
            }
        })
    });
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for worker in futures_util::future::join_all(workers).await {
        for (status, n) in worker? {
            *statuses.entry(status).or_default() += n;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let (created, existing) = (statuses.remove(&201).unwrap_or(0), statuses.remove(&409).unwrap_or(0));
    if !statuses.is_empty() {
        bail!("some tenants could not be created: answers {statuses:?} (0: no answer)");
    }
    let per_second = count as f64 / seconds.max(1e-9);
    println!(
        "{count} tenants in {seconds:.1} s = {per_second:.0} POSTs/s ({created} created, {existing} there before)"
    );
    Ok(Created { created, existing, seconds })
}

/// Transactions committed in the registry's database so far, if it can be asked. Postgres publishes
/// a busy backend's counts about once a second and an idle one's after 10 s, so this waits
/// [`STATS_SETTLE`] first: the count then holds everything before the call, and the transactions
/// of the wait itself (heartbeats, a statistics flush: about one a second), which makes the figure
/// per exchange a slight overestimate.
async fn committed(postgres: Option<&mut PgConnection>) -> anyhow::Result<Option<i64>> {
    let Some(connection) = postgres else { return Ok(None) };
    eprintln!("waiting {STATS_SETTLE:?} for Postgres to publish its transaction counts");
    tokio::time::sleep(STATS_SETTLE).await;
    let query = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()";
    let count: i64 = sqlx::query_scalar(query).fetch_one(connection).await?;
    Ok(Some(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tenant_has_its_own_slug_and_entra_tenant() {
        assert_eq!(slug(42), "lg-000042");
        assert_ne!(entra_tenant(1), entra_tenant(2));
        assert!(registry::domain::EntraTenantId::parse(&entra_tenant(99_999)).is_ok());
        assert!(registry::domain::TenantSlug::parse(&slug(99_999)).is_ok());
        let body = tenant(7, "app", "endpoint=x;accesskey=y");
        assert_eq!(body["entra"]["tenantId"], entra_tenant(7));
        assert_eq!(body["authorization"], tokens::b_policy());
    }
}

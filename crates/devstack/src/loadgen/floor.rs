//! `floor`: the work no exchange can avoid, measured by itself on one thread of this machine: two
//! RS256 verifications (A1 and B, with the library and key type the gateway uses), one HMAC-SHA256
//! signature of the ACS request (the gateway's own signing code), and one keep-alive HTTP round trip
//! to the ACS emulator (the exchange request, with reqwest as the gateway sends it). Each is timed in
//! wall time and in this thread's CPU time (`/proc/thread-self/schedstat`): the round trip's wall
//! time includes the emulator's own work on the other core, its CPU time only what the caller
//! spends. The CPU sum per exchange is the least one core must spend, hence the most exchanges per
//! second one core could do.

use std::{
    future::Future,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context as _, bail, ensure};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;
use serde::Deserialize;

use super::{
    Run,
    tokens::{self, Flaw, Holder, Pair},
};

/// The gateway's default `ACSGW_ACS_API_VERSION`.
const API_VERSION: &str = "2023-10-01";
/// Each operation runs at least this often, however long it takes.
const MIN_ROUNDS: u32 = 50;

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<jose::jwk::Jwk>,
}

/// Everything one exchange's unavoidable work needs, prepared beforehand.
struct Work {
    a1: String,
    b: String,
    key: DecodingKey,
    url: Url,
    body: Vec<u8>,
    access_key: Vec<u8>,
}

/// What one operation costs on average.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall: Duration,
    /// `None` where the kernel does not say how long a thread ran.
    cpu: Option<Duration>,
}

impl Cost {
    fn spent(self) -> Duration {
        self.cpu.unwrap_or(self.wall)
    }
}

struct Costs {
    rs256: Cost,
    hmac: Cost,
    round_trip: Cost,
}

pub async fn run(run: &Run) -> anyhow::Result<()> {
    let target = &run.target;
    let holder = Holder { entra_tenant: target.entra_tenant.clone(), user: tokens::user_id(0, 1) };
    let minted =
        tokens::mint_pairs(&run.client, &target.entra, &target.app, vec![holder], Flaw::None).await?;
    let pair = minted.into_iter().next().context("no token minted")?;
    let keys_url = format!("{}/{}/discovery/keys", target.entra, target.entra_tenant);
    let keys: KeySet = run.client.get(keys_url).send().await?.error_for_status()?.json().await?;
    let work = Work::new(pair, &keys, &target.acs_connection_string, &target.app)?;
    let each = Duration::from_secs(run.args.duration).div_f64(3.0).max(Duration::from_secs(1));
    eprintln!("measuring each part of the floor for {each:.1?} on one thread");
    let costs = tokio::task::spawn_blocking(move || -> anyhow::Result<Costs> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(work.measure(each))
    })
    .await??;
    print(run, &costs);
    Ok(())
}

impl Work {
    fn new(pair: Pair, keys: &KeySet, connection_string: &str, app: &str) -> anyhow::Result<Self> {
        let header = jose::compact::split(&pair.a1).map_err(anyhow::Error::msg)?.header;
        let header =
            jose::base64url::decode(header).map_err(|_| anyhow::anyhow!("A1's header is not base64url"))?;
        let kid = serde_json::from_slice::<serde_json::Value>(&header)?["kid"].as_str().map(str::to_owned);
        let jwk = keys.keys.iter().find(|key| key.kid == kid).context("A1's key is not in the key set")?;
        let key = jwk.rs256_key().map_err(anyhow::Error::msg)?;
        let parsed = registry::domain::ConnectionString::parse(
            connection_string,
            registry::domain::Transport::AllowInsecureHttp,
        )?;
        let base = parsed.endpoint.as_str().trim_end_matches('/');
        let url = format!("{base}/teamsUser/:exchangeAccessToken?api-version={API_VERSION}").parse()?;
        let request = acs::ExchangeRequest { token: &pair.a1, app_id: app, user_id: &pair.user };
        let body = serde_json::to_vec(&request)?;
        let access_key = parsed.access_key.expose().to_vec();
        Ok(Self { a1: pair.a1, b: pair.b, key, url, body, access_key })
    }

    fn sign(&self) -> acs::signing::HmacHeaders {
        acs::signing::sign("POST", &self.url, &self.body, &self.access_key, SystemTime::now())
    }

    async fn measure(&self, each: Duration) -> anyhow::Result<Costs> {
        let rs256 = time(each, move || async move {
            verify(&self.a1, &self.key)?;
            verify(&self.b, &self.key)
        })
        .await?;
        let rs256 = Cost { wall: rs256.wall / 2, cpu: rs256.cpu.map(|cpu| cpu / 2) };
        let hmac = time(each, move || async move {
            std::hint::black_box(self.sign());
            Ok(())
        })
        .await?;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        let signed = self.sign();
        let client = &client;
        let signed = &signed;
        let round_trip = time(each, move || async move {
            let mut request = client.post(self.url.clone()).body(self.body.clone());
            for (name, value) in signed.iter() {
                request = request.header(name, value);
            }
            let response = request.header("Content-Type", "application/json").send().await?;
            let status = response.status();
            let _ = response.bytes().await?;
            ensure!(status.is_success(), "the emulator answered the exchange {status}");
            Ok(())
        })
        .await?;
        Ok(Costs { rs256, hmac, round_trip })
    }
}

fn verify(token: &str, key: &DecodingKey) -> anyhow::Result<()> {
    let compact = jose::compact::split(token).map_err(anyhow::Error::msg)?;
    let valid = jsonwebtoken::crypto::verify(
        compact.signature,
        compact.signing_input.as_bytes(),
        key,
        Algorithm::RS256,
    )?;
    if !valid {
        bail!("a token from the dev issuer did not verify");
    }
    Ok(())
}

/// Runs `op` again and again for `each` (at least [`MIN_ROUNDS`] times); its average cost.
async fn time<F, Fut>(each: Duration, mut op: F) -> anyhow::Result<Cost>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    // Once first, so that connections and lazy set-up are not counted.
    op().await?;
    let (started, cpu_before) = (Instant::now(), thread_cpu());
    let mut rounds = 0u32;
    while rounds < MIN_ROUNDS || started.elapsed() < each {
        op().await?;
        rounds += 1;
    }
    let wall = started.elapsed() / rounds;
    let cpu = thread_cpu().zip(cpu_before).map(|(after, before)| after.saturating_sub(before) / rounds);
    Ok(Cost { wall, cpu })
}

/// How long this thread has run on a CPU, if the kernel says (`/proc/thread-self/schedstat`).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

#[expect(clippy::print_stdout, reason = "the report is the program's output")]
fn print(run: &Run, costs: &Costs) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let cpu = |cost: Cost| cost.cpu.map_or_else(|| "n/a".to_owned(), |cpu| format!("{:.1} µs", us(cpu)));
    let Costs { rs256, hmac, round_trip } = *costs;
    let per_exchange = rs256.spent() * 2 + hmac.spent() + round_trip.spent();
    let wall = rs256.wall * 2 + hmac.wall + round_trip.wall;
    let per_second = 1e6 / us(per_exchange).max(1e-9);
    println!("floor: the unavoidable work of one exchange, on one thread");
    let lines = [
        ("RS256 verification (twice per exchange: A1 and B)", rs256),
        ("HMAC-SHA256 signature of the ACS request", hmac),
        ("keep-alive HTTP round trip to the ACS emulator", round_trip),
    ];
    for (what, cost) in lines {
        println!("  {what:<52} wall {:>8.1} µs  cpu {:>10}", us(cost.wall), cpu(cost));
    }
    let basis = if round_trip.cpu.is_some() { "CPU" } else { "wall (no CPU times here)" };
    println!(
        "  per exchange: {:.1} µs ({basis}) = {per_second:.0} exchanges/s on one core; wall {:.1} µs",
        us(per_exchange),
        us(wall),
    );
    let notes = format!(
        "RS256 {} ×2, HMAC {}, round trip {} (wall {:.0} µs): {:.1} µs per exchange ({basis})",
        cpu(rs256),
        cpu(hmac),
        cpu(round_trip),
        us(round_trip.wall),
        us(per_exchange),
    );
    run.output.row(&format!("| floor | 1 | {per_second:.0} | | | | | | {notes} |"));
}

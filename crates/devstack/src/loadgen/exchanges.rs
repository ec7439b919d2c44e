//! The scenarios that exchange the demo tenant's tokens under the `entra` B policy: misses, hits,
//! refusals, the hero sample's route, and misses under admin writes.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::bail;
use tokio::sync::watch;

use super::{
    Run, admin,
    drive::{Load, Prepared, drive},
    report::{self, Summary},
    scenario::{Plan, Route, Scenario},
    tenants,
    tokens::{self, Flaw, Holder, Pair},
};

/// The user of the probe that checks the policy is in force: apart from every loadgen user.
const PROBE_USER: &str = "10ad0000-0000-4000-9000-000000000000";
/// How long the gateway gets to apply a new policy.
const POLICY_DEADLINE: Duration = Duration::from_secs(10);

pub async fn run(run: &Run, scenario: Scenario, plan: Plan) -> anyhow::Result<()> {
    let (args, target) = (&run.args, &run.target);
    run.admin().prepare(&target.tenant, tokens::b_policy()).await?;
    await_policy(run).await?;
    let count = args.distinct_tokens.unwrap_or(plan.default_tokens);
    // admin-writes measures twice, each time with tokens of its own.
    let minted = if scenario == Scenario::AdminWrites { 2 * count } else { count };
    let users = args.users.unwrap_or(minted);
    let holders = (0..minted)
        .map(|n| Holder { entra_tenant: target.entra_tenant.clone(), user: tokens::user_id(n, users) })
        .collect();
    let pairs = tokens::mint_pairs(&run.client, &target.entra, &target.app, holders, plan.flaw).await?;
    let mut requests = prepare(run, &pairs, plan.route)?;
    if scenario == Scenario::AdminWrites {
        let second = requests.split_off(count);
        return admin_writes(run, requests, second).await;
    }
    let requests = Arc::new(requests);
    let name = scenario.name();
    if plan.warm_up && !args.no_warmup {
        let samples = drive(&run.client, &requests, Load::once_each(args.concurrency, requests.len())).await;
        report::print(&format!("{name} warm-up (every token once)"), &samples);
    }
    let limit = if plan.each_token_once { requests.len() } else { usize::MAX };
    eprintln!("measuring {name} for {} s with {} in flight", args.duration, args.concurrency);
    let samples = drive(&run.client, &requests, run.measured(limit)).await;
    let notes = describe(plan, requests.len());
    run.output.result(&name, &Summary::of(&samples), args.concurrency, &notes);
    Ok(())
}

/// What the run sent, for the notes column.
fn describe(plan: Plan, tokens: usize) -> String {
    let sent = match plan.flaw {
        Flaw::None => "A1 and B valid",
        Flaw::ForgedA1 => "A1 signed by an unpublished key",
        Flaw::ForgedB => "B signed by an unpublished key",
        Flaw::ExpiredA1 => "A1 expired an hour ago",
    };
    let how = if plan.each_token_once { "each sent once" } else { "sent in turn" };
    let route = match plan.route {
        Route::Post => "POST /v1/tenants/{tenant}/token/teams",
        Route::HeroGet => "GET /api/token/teams",
    };
    format!("{tokens} A1+B pairs ({sent}), {how}; {route}; B policy entra")
}

fn prepare(run: &Run, pairs: &[Pair], route: Route) -> anyhow::Result<Vec<Prepared>> {
    let target = &run.target;
    let url = match route {
        Route::Post => target.exchange_url(&target.tenant)?,
        Route::HeroGet => format!("{}/api/token/teams", target.gateway).parse()?,
    };
    let one = |pair: &Pair| match route {
        Route::Post => Prepared::post_json(&url, target.exchange_body(&pair.a1, &pair.user), Some(&pair.b)),
        Route::HeroGet => Prepared::hero_get(&url, &target.tenant, &pair.a1, &pair.b),
    };
    pairs.iter().map(one).collect()
}

/// Waits until the gateway applies the B policy just set: an exchange without B is refused (401).
/// Otherwise a run could measure the old policy while the change is on its way.
async fn await_policy(run: &Run) -> anyhow::Result<()> {
    let target = &run.target;
    let holder = Holder { entra_tenant: target.entra_tenant.clone(), user: PROBE_USER.to_owned() };
    let uti = format!("loadgen-probe-{}", tokens::run_tag());
    let request = tokens::a1_request(&holder, &target.app, &uti, Flaw::None);
    let a1 = tokens::mint(&run.client, &target.entra, vec![request]).await?.concat();
    let probe = Prepared::post_json(
        &target.exchange_url(&target.tenant)?,
        target.exchange_body(&a1, PROBE_USER),
        None,
    )?;
    let deadline = Instant::now() + POLICY_DEADLINE;
    loop {
        let status = probe.build(&run.client).send().await?.status();
        if status == 401 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "an exchange without B is still answered {status}: the gateway does not apply the B policy"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Misses alone, then misses while `--patches-per-second` PATCHes change the tenant under load
/// (and, with `--patch-tenants`, other tenants in turn).
async fn admin_writes(run: &Run, alone: Vec<Prepared>, with_writes: Vec<Prepared>) -> anyhow::Result<()> {
    let args = &run.args;
    let rate = args.patches_per_second;
    let patched = patch_targets(run).await?;
    let (quiet_limit, busy_limit) = (alone.len(), with_writes.len());
    eprintln!(
        "measuring misses for {} s with {} in flight, without PATCHes",
        args.duration, args.concurrency
    );
    let quiet = drive(&run.client, &Arc::new(alone), run.measured(quiet_limit)).await;
    eprintln!("measuring misses again, with {rate} PATCHes/s over {} tenant(s)", patched.len());
    let (stop, stopped) = watch::channel(false);
    // Each tenant its share of the rate, one PATCH at a time.
    let every = Duration::from_secs(patched.len() as u64) / rate.max(1);
    let patchers: Vec<_> = patched
        .iter()
        .map(|slug| tokio::spawn(admin::patch_steadily(run.admin(), slug.clone(), every, stopped.clone())))
        .collect();
    let busy = drive(&run.client, &Arc::new(with_writes), run.measured(busy_limit)).await;
    stop.send_replace(true);
    let mut patches = Vec::new();
    for patcher in patchers {
        patches.extend(patcher.await?);
    }
    let patches = Summary::of(&patches);
    let (quiet, busy) = (Summary::of(&quiet), Summary::of(&busy));
    let in_flight = args.concurrency;
    run.output.result("admin-writes: misses without PATCHes", &quiet, in_flight, "");
    let change = (busy.p99.as_secs_f64() / quiet.p99.as_secs_f64().max(1e-9) - 1.0) * 100.0;
    let notes = format!(
        "{:.0} PATCHes/s alongside over {} tenant(s) (p99 {:.2} ms; answers {}); exchange p99 {change:+.0} % against none",
        patches.per_second,
        patched.len(),
        report::ms(patches.p99),
        patches.statuses_text(),
    );
    run.output.result(&format!("admin-writes: misses with {rate} PATCHes/s"), &busy, in_flight, &notes);
    Ok(())
}

/// The tenants PATCHed: the one under load, then `--patch-tenants` - 1 loadgen tenants (created
/// if missing, before anything is measured).
async fn patch_targets(run: &Run) -> anyhow::Result<Vec<String>> {
    let others = run.args.patch_tenants.saturating_sub(1);
    if others > 0 {
        tenants::create(run, others).await?;
    }
    Ok(std::iter::once(run.target.tenant.clone()).chain((0..others).map(tenants::slug)).collect())
}

use super::*;

const TENANT: &str = "fabrikam";

fn breakers(failure_threshold: u32) -> Breakers {
    Breakers::new(
        BreakerConfig { failure_threshold, open_for: Duration::from_secs(10), max_tenants: 3 },
        Clock::real(),
    )
}

fn fail(breakers: &Breakers, tenant: &str, now: Instant) {
    let probe = breakers.admit_at(tenant, now).unwrap();
    breakers.record_at(tenant, probe, Verdict::Failed, now);
}

#[test]
fn the_breaker_opens_after_the_threshold_of_consecutive_failures() {
    let (breakers, now) = (breakers(3), Instant::now());
    fail(&breakers, TENANT, now);
    fail(&breakers, TENANT, now);
    assert_eq!(breakers.state_at(TENANT, now), BreakerState::Closed);
    fail(&breakers, TENANT, now);
    assert_eq!(breakers.state_at(TENANT, now), BreakerState::Open);
    assert_eq!(breakers.admit_at(TENANT, now + Duration::from_secs(4)), Err(Duration::from_secs(6)));
}

#[test]
fn a_success_resets_the_count_of_failures() {
    let (breakers, now) = (breakers(2), Instant::now());
    fail(&breakers, TENANT, now);
    breakers.record_at(TENANT, false, Verdict::Healthy, now);
    fail(&breakers, TENANT, now);
    assert_eq!(breakers.state_at(TENANT, now), BreakerState::Closed);
}

#[test]
fn after_the_cool_down_exactly_one_probe_is_let_through() {
    let (breakers, now) = (breakers(1), Instant::now());
    fail(&breakers, TENANT, now);
    let later = now + Duration::from_secs(10);
    assert_eq!(breakers.state_at(TENANT, later), BreakerState::HalfOpen);
    assert_eq!(breakers.admit_at(TENANT, later), Ok(true));
    assert_eq!(breakers.admit_at(TENANT, later), Err(PROBE_RETRY_AFTER));
}

#[test]
fn a_healthy_probe_closes_the_breaker_and_a_failed_one_reopens_it() {
    let (breakers, now) = (breakers(1), Instant::now());
    fail(&breakers, TENANT, now);
    let later = now + Duration::from_secs(10);
    fail(&breakers, TENANT, later);
    assert_eq!(breakers.state_at(TENANT, later), BreakerState::Open);
    let even_later = later + Duration::from_secs(10);
    assert_eq!(breakers.admit_at(TENANT, even_later), Ok(true));
    breakers.record_at(TENANT, true, Verdict::Healthy, even_later);
    assert_eq!(breakers.state_at(TENANT, even_later), BreakerState::Closed);
    assert!(breakers.states().is_empty());
}

#[test]
fn a_probe_that_ends_without_a_verdict_frees_the_slot_for_the_next_call() {
    let (breakers, now) = (Arc::new(breakers(1)), Instant::now());
    fail(&breakers, TENANT, now - Duration::from_secs(10));
    let admission = breakers.admit(TENANT).unwrap();
    assert!(admission.probe);
    drop(admission);
    assert!(breakers.admit(TENANT).unwrap().probe);
}

#[test]
fn stale_failures_while_open_do_not_extend_the_cool_down() {
    let (breakers, now) = (breakers(1), Instant::now());
    fail(&breakers, TENANT, now);
    breakers.record_at(TENANT, false, Verdict::Failed, now + Duration::from_secs(9));
    assert_eq!(breakers.state_at(TENANT, now + Duration::from_secs(10)), BreakerState::HalfOpen);
}

#[test]
fn tenants_are_independent_and_can_be_forgotten() {
    let (breakers, now) = (breakers(1), Instant::now());
    fail(&breakers, TENANT, now);
    assert_eq!(breakers.state_at("contoso", now), BreakerState::Closed);
    assert_eq!(breakers.states().len(), 1);
    breakers.forget(TENANT);
    assert_eq!(breakers.state_at(TENANT, now), BreakerState::Closed);
}

#[test]
fn a_full_table_drops_closed_entries_before_refusing_to_track() {
    let (breakers, now) = (breakers(2), Instant::now());
    for tenant in ["a", "b", "c"] {
        fail(&breakers, tenant, now);
    }
    fail(&breakers, "d", now);
    fail(&breakers, "d", now);
    assert_eq!(breakers.state_at("d", now), BreakerState::Open);
    assert_eq!(breakers.states().len(), 1);
}

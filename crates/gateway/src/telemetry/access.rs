//! The access line: one line per request, written by the request-context middleware once the answer
//! is ready, carrying what the handling noted about its outcome ([`note`]). A refusal is explained on
//! this one line rather than on lines of its own, and a successful exchange says no more than it must
//! (under 300 bytes). Its target is `access`, so `RUST_LOG=info,access=warn` keeps only failures.

use std::{
    borrow::Cow,
    cell::RefCell,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
    time::Duration,
};

use tracing::Level;
use uuid::Uuid;

/// The outcome of a successful exchange, as in metrics.
pub const OK: &str = "ok";

tokio::task_local! {
    static NOTES: RefCell<Notes>;
}

/// What the handling of a request says about its outcome (only exchanges say anything today).
#[derive(Debug, Default)]
pub struct Notes {
    pub tenant: Option<String>,
    /// The stable code of API.md (`ok`, `invalid_token`, ...), as the `outcome` label of metrics.
    pub outcome: Option<&'static str>,
    pub cache_hit: bool,
    /// Why it was refused: the validator's or the B policy's short label where there is one.
    pub reason: Option<Cow<'static, str>>,
    /// ACS's code, when ACS refused the user.
    pub acs_code: Option<&'static str>,
    /// The Entra tenant of a valid A1.
    pub tid: Option<Uuid>,
    /// What a refused A1 says about itself, unverified.
    pub token: Option<TokenHints>,
}

/// A refused token's `uti`, `kid`, `tid` and `ver` as it claims them: never the token.
#[derive(Debug, Default)]
pub struct TokenHints {
    pub uti: Option<String>,
    pub kid: Option<String>,
    pub tid: Option<String>,
    pub ver: Option<String>,
}

/// Adds to the current request's notes. Outside a request (a test calling the exchange directly)
/// there is no access line, and nothing happens.
pub fn note(add: impl FnOnce(&mut Notes)) {
    let _ = NOTES.try_with(|notes| {
        if let Ok(mut notes) = notes.try_borrow_mut() {
            add(&mut notes);
        }
    });
}

/// Runs the handling of a request with empty notes, and returns them with its output.
pub async fn collect<F: Future>(handling: F) -> (F::Output, Notes) {
    let mut scoped = std::pin::pin!(NOTES.scope(RefCell::default(), handling));
    let output = scoped.as_mut().await;
    let notes = scoped.as_mut().take_value().map(RefCell::into_inner).unwrap_or_default();
    (output, notes)
}

/// The request as its access line describes it.
pub struct Request<'a> {
    pub id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub latency: Duration,
    pub admin: Option<&'a str>,
}

/// Writes the request's access line: at error level for a 5xx, else at info; for a successful
/// exchange only if the sample keeps it. A refusal names the user's Entra tenant and, for a refused
/// A1, what the token says about itself; a success does not, to stay short.
pub fn write(request: &Request<'_>, notes: &Notes) {
    let succeeded = notes.outcome == Some(OK);
    if succeeded && (200..300).contains(&request.status) && !SAMPLE.keeps_next() {
        return;
    }
    let latency_ms = (request.latency.as_secs_f64() * 1e6).round() / 1e3;
    let hints = notes.token.as_ref().filter(|_| !succeeded);
    let tid = match hints.and_then(|hints| hints.tid.clone()) {
        Some(claimed) => Some(claimed),
        None => notes.tid.filter(|_| !succeeded).map(|tid| tid.to_string()),
    };
    let (uti, kid, ver) = (
        hints.and_then(|hints| hints.uti.as_deref()),
        hints.and_then(|hints| hints.kid.as_deref()),
        hints.and_then(|hints| hints.ver.as_deref()),
    );
    macro_rules! line {
        ($level:expr) => {
            tracing::event!(
                target: "access",
                $level,
                request_id = request.id,
                method = request.method,
                path = request.path,
                status = request.status,
                latency_ms,
                tenant = notes.tenant.as_deref(),
                outcome = notes.outcome,
                cache_hit = notes.cache_hit.then_some(true),
                reason = notes.reason.as_deref(),
                acs_code = notes.acs_code,
                uti,
                kid,
                tid = tid.as_deref(),
                ver,
                admin = request.admin,
            )
        };
    }
    if request.status >= 500 {
        line!(Level::ERROR);
    } else {
        line!(Level::INFO);
    }
}

/// The share of successful exchanges whose access line is written.
static SAMPLE: Sample = Sample::new();

/// Sets the share of successful exchanges whose access line is written (0 to 1).
pub(super) fn set_sample(fraction: f64) {
    SAMPLE.set(fraction);
}

const MILLION: u64 = 1_000_000;

/// Keeps a fraction of what it is asked about, evenly and predictably: the n-th is kept when
/// floor((n + 1) · rate) > floor(n · rate), so a rate of 1/4 keeps every fourth, starting with the
/// fourth, and a rate of 1 keeps all.
struct Sample {
    per_million: AtomicU32,
    seen: AtomicU64,
}

impl Sample {
    const fn new() -> Self {
        Self { per_million: AtomicU32::new(1_000_000), seen: AtomicU64::new(0) }
    }

    fn set(&self, fraction: f64) {
        let per_million = (fraction.clamp(0.0, 1.0) * 1e6).round() as u32;
        self.per_million.store(per_million, Ordering::Relaxed);
    }

    fn keeps_next(&self) -> bool {
        let rate = u64::from(self.per_million.load(Ordering::Relaxed));
        // The pattern repeats every million, so counting modulo a million never overflows.
        let n = self.seen.fetch_add(1, Ordering::Relaxed) % MILLION;
        (n + 1) * rate / MILLION > n * rate / MILLION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(fraction: f64, asked: usize) -> Vec<bool> {
        let sample = Sample::new();
        sample.set(fraction);
        (0..asked).map(|_| sample.keeps_next()).collect()
    }

    #[test]
    fn a_sample_keeps_an_even_share_and_the_same_ones_every_time() {
        assert_eq!(kept(0.25, 8), [false, false, false, true, false, false, false, true]);
        assert_eq!(kept(0.5, 4), [false, true, false, true]);
        assert!(kept(1.0, 100).into_iter().all(|kept| kept));
        assert!(kept(0.0, 100).into_iter().all(|kept| !kept));
        assert_eq!(kept(0.01, 1000).into_iter().filter(|kept| *kept).count(), 10);
    }

    #[tokio::test]
    async fn notes_made_while_handling_a_request_are_returned_with_its_output() {
        let (output, notes) = collect(async {
            note(|line| line.outcome = Some("invalid_token"));
            tokio::task::yield_now().await;
            note(|line| line.reason = Some("expired".into()));
            7
        })
        .await;
        assert_eq!(output, 7);
        assert_eq!((notes.outcome, notes.reason.as_deref()), (Some("invalid_token"), Some("expired")));
        note(|line| line.outcome = Some("ignored outside a request"));
    }
}

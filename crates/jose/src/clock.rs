//! The time source of key TTLs, refresh cool-downs, circuit breakers and other "how long ago"
//! rules, so tests can move time instead of sleeping past it.
//!
//! [`Clock::default()`] is the real clock (`Instant::now()`, `SystemTime::now()`), and production
//! code never uses anything else. [`Clock::manual()`] is a clock for tests: it stands still at the
//! moment it was made and moves only by [`Clock::advance`]. A clock is `Copy` so that `Copy` policies
//! can carry one; a manual clock is therefore leaked (a few bytes, once per test). Moka caches keep
//! their own time and cannot take this clock.

use std::{
    fmt,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// The real clock by default; see the [module documentation](self).
#[derive(Clone, Copy, Default)]
pub struct Clock {
    manual: Option<&'static Manual>,
}

struct Manual {
    instant: Instant,
    system: SystemTime,
    advanced: Mutex<Duration>,
}

impl Clock {
    /// The real clock.
    pub fn real() -> Self {
        Self::default()
    }

    /// A clock for tests, standing still at this moment until [`advance`](Self::advance)d.
    pub fn manual() -> Self {
        let manual =
            Manual { instant: Instant::now(), system: SystemTime::now(), advanced: Mutex::default() };
        Self { manual: Some(Box::leak(Box::new(manual))) }
    }

    /// Moves a manual clock forward by `by`; the real clock cannot be moved, and ignores it.
    pub fn advance(&self, by: Duration) {
        if let Some(manual) = self.manual {
            *manual.advanced.lock().unwrap_or_else(PoisonError::into_inner) += by;
        }
    }

    /// Now, for measuring intervals.
    pub fn now(&self) -> Instant {
        match self.manual {
            None => Instant::now(),
            Some(manual) => manual.instant + manual.advanced(),
        }
    }

    /// The time since `earlier` (zero if `earlier` is later): `Instant::elapsed` on this clock.
    pub fn elapsed(&self, earlier: Instant) -> Duration {
        self.now().saturating_duration_since(earlier)
    }

    /// Now, as seconds since the Unix epoch (a JWT NumericDate).
    pub fn unix_seconds(&self) -> i64 {
        let now = match self.manual {
            None => SystemTime::now(),
            Some(manual) => manual.system + manual.advanced(),
        };
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
    }
}

impl Manual {
    fn advanced(&self) -> Duration {
        *self.advanced.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.manual {
            None => f.write_str("Clock::Real"),
            Some(manual) => write!(f, "Clock::Manual(+{:?})", manual.advanced()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_advanced() {
        let clock = Clock::manual();
        let (start, unix) = (clock.now(), clock.unix_seconds());
        assert_eq!(clock.elapsed(start), Duration::ZERO);
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.elapsed(start), Duration::from_secs(2));
        assert_eq!(clock.unix_seconds(), unix + 2);
    }

    #[test]
    fn the_real_clock_ignores_advance() {
        let clock = Clock::real();
        let start = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.elapsed(start) < Duration::from_secs(3600));
    }
}

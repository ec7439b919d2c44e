use super::InvalidValue;

/// A tenant's exchange rate limit (a token bucket for the whole cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    exchanges_per_second: u32,
    burst: u32,
}

impl Limits {
    pub fn new(exchanges_per_second: u32, burst: u32) -> Result<Self, InvalidValue> {
        Ok(Self {
            exchanges_per_second: Self::check_exchanges_per_second(exchanges_per_second)?,
            burst: Self::check_burst(burst)?,
        })
    }

    /// One field's rule, so that callers can report each field on its own.
    pub fn check_exchanges_per_second(value: u32) -> Result<u32, InvalidValue> {
        if (1..=100_000).contains(&value) {
            Ok(value)
        } else {
            Err(InvalidValue::new("exchangesPerSecond must be between 1 and 100000"))
        }
    }

    pub fn check_burst(value: u32) -> Result<u32, InvalidValue> {
        if (1..=1_000_000).contains(&value) {
            Ok(value)
        } else {
            Err(InvalidValue::new("burst must be between 1 and 1000000"))
        }
    }

    pub fn exchanges_per_second(&self) -> u32 {
        self.exchanges_per_second
    }

    pub fn burst(&self) -> u32 {
        self.burst
    }
}

impl Default for Limits {
    /// ACS allows 500 exchanges per 30 s per resource: 16 per second and a burst of 20 stay within
    /// it even when the burst is spent at the start of a window (20 + 16 × 30 = 500).
    fn default() -> Self {
        Self { exchanges_per_second: 16, burst: 20 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_never_lets_more_than_acs_allows_in_thirty_seconds_through() {
        let limits = Limits::default();
        assert!(limits.burst() + limits.exchanges_per_second() * 30 <= 500);
    }

    #[test]
    fn each_field_has_its_own_range() {
        assert!(Limits::new(100_000, 1_000_000).is_ok());
        assert!(Limits::new(100_001, 1).is_err());
        assert!(Limits::new(1, 1_000_001).is_err());
        assert!(Limits::new(0, 1).is_err());
        assert!(Limits::new(1, 0).is_err());
    }
}

use super::InvalidValue;

/// A tenant's exchange rate limit (a token bucket for the whole cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    exchanges_per_second: u32,
    burst: u32,
}

impl Limits {
    pub fn new(exchanges_per_second: u32, burst: u32) -> Result<Self, InvalidValue> {
        if !(1..=100_000).contains(&exchanges_per_second) {
            return Err(InvalidValue::new("exchangesPerSecond must be between 1 and 100000"));
        }
        if !(1..=1_000_000).contains(&burst) {
            return Err(InvalidValue::new("burst must be between 1 and 1000000"));
        }
        Ok(Self { exchanges_per_second, burst })
    }

    pub fn exchanges_per_second(&self) -> u32 {
        self.exchanges_per_second
    }

    pub fn burst(&self) -> u32 {
        self.burst
    }
}

impl Default for Limits {
    /// ACS allows 500 exchanges per 30 s per resource: about 16 per second, with room for a burst.
    fn default() -> Self {
        Self { exchanges_per_second: 16, burst: 32 }
    }
}

//! Fault settings and the per-request draw that applies them.

use serde::{Deserialize, Serialize};

/// Fault injection settings, replaced as a whole by `set_faults` or `POST /dev/faults`.
///
/// The three rates are shares of all Identity requests, drawn once per request in the order
/// throttle, error, reset: with `throttleRate` 0.2 and `errorRate` 0.3, a fifth of the requests
/// are throttled and three tenths fail with a 5xx. Rates summing above 1 crowd out the later ones.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
    /// Delay added before every Identity request is handled.
    pub latency_ms: u64,
    /// Share (0..=1) answered 503 `ServiceUnavailable` or 500 `InternalServerError` (even odds).
    pub error_rate: f64,
    /// Share (0..=1) answered 429 `TooManyRequests` with `Retry-After: retry_after_seconds`.
    pub throttle_rate: f64,
    pub retry_after_seconds: u64,
    /// Share (0..=1) whose connection is cut before any response byte is sent.
    pub reset_rate: f64,
}

/// What fault injection decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Throttle,
    ServiceUnavailable,
    InternalError,
    Reset,
}

impl Faults {
    /// Refuses rates outside 0..=1 (or NaN), naming the field.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("errorRate", self.error_rate),
            ("throttleRate", self.throttle_rate),
            ("resetRate", self.reset_rate),
        ];
        match rates.into_iter().find(|(_, rate)| !(0.0..=1.0).contains(rate)) {
            Some((name, rate)) => Err(format!("{name} must be between 0 and 1, got {rate}")),
            None => Ok(()),
        }
    }

    /// Maps two uniform draws in `0..1` to a fault: `roll` picks the fault, `coin` the 5xx status.
    pub(crate) fn decide(&self, roll: f64, coin: f64) -> Option<Fault> {
        let throttle = self.throttle_rate;
        let error = throttle + self.error_rate;
        let reset = error + self.reset_rate;
        if roll < throttle {
            Some(Fault::Throttle)
        } else if roll < error {
            Some(if coin < 0.5 { Fault::ServiceUnavailable } else { Fault::InternalError })
        } else if roll < reset {
            Some(Fault::Reset)
        } else {
            None
        }
    }

    /// [`Self::decide`] with fresh randomness; no draw at all when every rate is zero.
    pub(crate) fn draw(&self) -> Option<Fault> {
        if self.throttle_rate + self.error_rate + self.reset_rate <= 0.0 {
            return None;
        }
        self.decide(rand::random::<f64>(), rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rates_means_no_faults() {
        let faults = Faults::default();
        assert_eq!(faults.decide(0.0, 0.0), None);
        assert_eq!(faults.draw(), None);
    }

    #[test]
    fn rates_are_cumulative_shares_in_the_order_throttle_error_reset() {
        let faults = Faults { throttle_rate: 0.2, error_rate: 0.3, reset_rate: 0.1, ..Faults::default() };
        assert_eq!(faults.decide(0.1, 0.0), Some(Fault::Throttle));
        assert_eq!(faults.decide(0.3, 0.2), Some(Fault::ServiceUnavailable));
        assert_eq!(faults.decide(0.3, 0.7), Some(Fault::InternalError));
        assert_eq!(faults.decide(0.55, 0.0), Some(Fault::Reset));
        assert_eq!(faults.decide(0.6, 0.0), None);
    }

    #[test]
    fn a_rate_of_one_always_applies() {
        let faults = Faults { reset_rate: 1.0, ..Faults::default() };
        assert!((0..100).all(|_| faults.draw() == Some(Fault::Reset)));
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        assert!(Faults { error_rate: 1.5, ..Faults::default() }.validate().is_err());
        assert!(Faults { reset_rate: f64::NAN, ..Faults::default() }.validate().is_err());
        assert!(Faults { throttle_rate: -0.1, ..Faults::default() }.validate().is_err());
        assert!(Faults { throttle_rate: 1.0, ..Faults::default() }.validate().is_ok());
    }

    #[test]
    fn settings_use_camel_case_and_refuse_unknown_fields() {
        let faults: Faults = serde_json::from_str(r#"{"throttleRate": 1, "retryAfterSeconds": 7}"#).unwrap();
        assert_eq!(faults, Faults { throttle_rate: 1.0, retry_after_seconds: 7, ..Faults::default() });
        assert!(serde_json::from_str::<Faults>(r#"{"errorRatio": 1}"#).is_err());
    }
}

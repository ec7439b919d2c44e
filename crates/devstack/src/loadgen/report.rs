//! Throughput, latency percentiles and statuses of a run.

use std::{collections::BTreeMap, time::Duration};

use super::Sample;

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[expect(clippy::print_stdout, reason = "the report is the program's output")]
pub fn print(title: &str, samples: &[Sample]) {
    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort_unstable();
    let span = samples.iter().map(|s| s.elapsed_total).max().unwrap_or_default().as_secs_f64().max(1e-9);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for sample in samples {
        *statuses.entry(sample.status).or_default() += 1;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{title}: {} requests in {span:.1} s = {:.0} exchanges/s",
        samples.len(),
        samples.len() as f64 / span
    );
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.9)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    println!("  statuses: {}", statuses.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_sample_at_the_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}

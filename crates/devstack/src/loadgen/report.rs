//! Throughput, latency percentiles and statuses of a run: printed for people and, with `--markdown`,
//! as a row of the table `bench/run.sh` assembles.

use std::{collections::BTreeMap, time::Duration};

use super::Sample;

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// What a run of samples amounts to.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub requests: usize,
    /// From the start of the run to its last answer.
    pub seconds: f64,
    pub per_second: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Answers by HTTP status; 0 counts requests that got no answer.
    pub statuses: BTreeMap<u16, usize>,
}

impl Summary {
    pub fn of(samples: &[Sample]) -> Self {
        let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
        latencies.sort_unstable();
        let span = samples.iter().map(|s| s.elapsed_total).max().unwrap_or_default();
        let seconds = span.as_secs_f64().max(1e-9);
        let mut statuses = BTreeMap::new();
        for sample in samples {
            *statuses.entry(sample.status).or_default() += 1;
        }
        Self {
            requests: samples.len(),
            seconds,
            per_second: samples.len() as f64 / seconds,
            p50: percentile(&latencies, 0.5),
            p90: percentile(&latencies, 0.9),
            p99: percentile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
            statuses,
        }
    }

    /// `200: 950, 401: 50`.
    pub fn statuses_text(&self) -> String {
        let statuses: Vec<String> = self.statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        statuses.join(", ")
    }

    #[expect(clippy::print_stdout, reason = "the report is the program's output")]
    pub fn print(&self, title: &str) {
        println!(
            "{title}: {} requests in {:.1} s = {:.0} exchanges/s",
            self.requests, self.seconds, self.per_second
        );
        println!(
            "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max),
        );
        println!("  statuses: {}", self.statuses_text());
    }

    /// A Markdown table row: `| scenario | in flight | req/s | p50 ms | p90 ms | p99 ms | max ms |
    /// answers | notes |` (`bench/run.sh` writes that header).
    pub fn row(&self, label: &str, in_flight: usize, notes: &str) -> String {
        format!(
            "| {label} | {in_flight} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {notes} |",
            self.per_second,
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max),
            self.statuses_text(),
        )
    }
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Prints a run's summary for people and returns it.
pub fn print(title: &str, samples: &[Sample]) -> Summary {
    let summary = Summary::of(samples);
    summary.print(title);
    summary
}

/// Where results go: always to people; as table rows too with `--markdown`.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub markdown: bool,
}

impl Output {
    /// Prints a result: the summary for people, any notes under it, and with `--markdown` the row.
    #[expect(clippy::print_stdout, reason = "the report is the program's output")]
    pub fn result(&self, label: &str, summary: &Summary, in_flight: usize, notes: &str) {
        summary.print(label);
        if !notes.is_empty() {
            println!("  {notes}");
        }
        if self.markdown {
            println!("{}", summary.row(label, in_flight, notes));
        }
    }

    /// Prints a row of its own (a result that is not a run of requests).
    #[expect(clippy::print_stdout, reason = "the report is the program's output")]
    pub fn row(&self, row: &str) {
        if self.markdown {
            println!("{row}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(millis: u64, status: u16, at_millis: u64) -> Sample {
        Sample {
            latency: Duration::from_millis(millis),
            status,
            elapsed_total: Duration::from_millis(at_millis),
        }
    }

    #[test]
    fn percentiles_pick_the_sample_at_the_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn a_summary_counts_answers_by_status_over_the_run_s_span() {
        let samples: Vec<Sample> =
            (1..=100).map(|n| sample(n, if n % 10 == 0 { 401 } else { 200 }, n * 20)).collect();
        let summary = Summary::of(&samples);
        assert_eq!(summary.requests, 100);
        assert!((summary.seconds - 2.0).abs() < 1e-9 && (summary.per_second - 50.0).abs() < 1e-9);
        assert_eq!((summary.p50, summary.p99), (Duration::from_millis(50), Duration::from_millis(99)));
        assert_eq!(summary.max, Duration::from_millis(100));
        assert_eq!(summary.statuses_text(), "200: 90, 401: 10");
    }

    #[test]
    fn a_row_has_one_cell_per_header_column() {
        let summary = Summary::of(&[sample(2, 200, 500), sample(4, 0, 1000)]);
        let row = summary.row("miss", 32, "two RS256 checks");
        assert_eq!(row, "| miss | 32 | 2 | 2.00 | 4.00 | 4.00 | 4.00 | 0: 1, 200: 1 | two RS256 checks |");
        assert_eq!(row.matches('|').count(), 10, "nine columns");
        assert_eq!(Summary::of(&[]).statuses_text(), "");
    }
}

//! Logs: JSON lines by default, human-readable with `ACSGW_LOG_FORMAT=pretty`; level from `RUST_LOG`
//! (`info` when unset). Each request writes one access line ([`access`]); the lines logged while
//! handling it carry its `request_id` in their span list, once. Lines are formatted where they are
//! logged and written by a thread of their own through a bounded queue ([`writer`]), so a request
//! never waits on stderr; what does not fit is dropped and counted ([`dropped_log_lines`]).

pub mod access;
mod writer;

use std::sync::OnceLock;

use tracing::Subscriber;
use tracing_appender::non_blocking::{ErrorCounter, WorkerGuard};
use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::{self, MakeWriter},
    layer::SubscriberExt,
    registry::LookupSpan,
    util::SubscriberInitExt,
};

use crate::settings::{LogFormat, LogSettings, Source};

/// The installed writer's count of dropped lines.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Writes the lines still queued when dropped (waiting a second at most): hold it until exit.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard(#[expect(dead_code, reason = "held for its Drop")] WorkerGuard);

/// Installs the global subscriber; when one is installed already (tests), this one is not, and its
/// guard does nothing useful.
pub fn install(settings: &LogSettings) -> LogGuard {
    let (writer, guard) = writer::queue(std::io::stderr(), settings.queue_lines);
    let dropped = writer.error_counter();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = match settings.format {
        LogFormat::Json => json_layer(writer).boxed(),
        LogFormat::Pretty => fmt::layer().pretty().with_writer(writer).boxed(),
    };
    if tracing_subscriber::registry().with(layer.with_filter(filter)).try_init().is_ok() {
        let _ = DROPPED.set(dropped);
        access::set_sample(settings.access_sample);
    }
    LogGuard(guard)
}

/// For tools and tests: installs with the given format and the environment's other log settings
/// (their defaults where unset or invalid). Hold the guard until exit, as with [`install`].
pub fn init(format: LogFormat) -> LogGuard {
    let settings = Source::load(None).and_then(|source| LogSettings::from_source(&source));
    let settings = settings.map_or_else(|_| LogSettings::defaults(format), |s| LogSettings { format, ..s });
    install(&settings)
}

/// Log lines dropped since start because the writer could not keep up (its queue was full).
pub fn dropped_log_lines() -> u64 {
    DROPPED.get().map_or(0, |counter| u64::try_from(counter.dropped_lines()).unwrap_or(u64::MAX))
}

/// One JSON object a line, event fields at the top level; a line logged inside spans lists them once
/// (`spans`), without repeating the innermost as `span`.
fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    fmt::layer().json().flatten_event(true).with_current_span(false).with_span_list(true).with_writer(writer)
}

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
        time::Duration,
    };

    use serde_json::Value;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Self;

        fn make_writer(&'w self) -> Self {
            self.clone()
        }
    }

    /// The JSON lines `log` writes.
    fn lines(log: impl FnOnce()) -> Vec<String> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(json_layer(captured.clone()));
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    /// Fails if a key appears twice anywhere in `line` (JSON parsers keep the last one silently).
    fn assert_no_key_twice(line: &str) {
        let value: Value = serde_json::from_str(line).unwrap();
        let mut keys = Vec::new();
        let mut stack = vec![&value];
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(map) => {
                    keys.extend(map.keys().map(|key| format!("\"{key}\":")));
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
        for key in keys {
            assert_eq!(line.matches(&key).count(), 1, "{key} twice in {line}");
        }
    }

    #[test]
    fn a_line_logged_inside_the_request_span_carries_the_request_id_once() {
        let [line] = lines(|| {
            let span = tracing::info_span!("request", request_id = "req-1");
            span.in_scope(|| tracing::warn!(attempt = 2, "retrying the ACS exchange"));
        })
        .try_into()
        .unwrap();
        assert_eq!(line.matches("req-1").count(), 1, "{line}");
        assert_no_key_twice(&line);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["message"], "retrying the ACS exchange", "{line}");
        assert_eq!(value["spans"][0]["request_id"], "req-1", "{line}");
    }

    #[test]
    fn the_access_line_of_a_successful_exchange_is_short_and_says_everything_once() {
        let request_id = uuid::Uuid::now_v7().to_string();
        let path = "/v1/tenants/t-0123456789ab/token/teams";
        let request = access::Request {
            id: &request_id,
            method: "POST",
            path,
            status: 200,
            latency: Duration::from_micros(12_345),
            admin: None,
        };
        let notes = access::Notes {
            tenant: Some("t-0123456789ab".into()),
            outcome: Some(access::OK),
            cache_hit: true,
            tid: Some(uuid::Uuid::new_v4()),
            ..Default::default()
        };
        let [line] = lines(|| access::write(&request, &notes)).try_into().unwrap();
        assert!(line.len() <= 300, "{} bytes: {line}", line.len());
        assert_no_key_twice(&line);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["target"], "access", "{line}");
        assert_eq!(value["request_id"], request_id.as_str());
        assert_eq!((value["status"].as_u64(), value["latency_ms"].as_f64()), (Some(200), Some(12.345)));
        assert_eq!((&value["outcome"], &value["cache_hit"]), (&Value::from("ok"), &Value::from(true)));
        assert!(value.get("tid").is_none(), "a success does not name the user's tenant: {line}");
    }
}

//! The bounded queue between the threads that log and the one that writes: a request never waits on
//! stderr, and when the writer falls behind, new lines are dropped and counted rather than queued
//! without bound or made to wait.

use std::io::{self, Write};

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};

/// The writer thread gathers what is queued into writes of up to this size, flushed whenever the
/// queue runs dry: one system call per batch rather than per line under load.
const BATCH_BYTES: usize = 64 * 1024;

/// A writer for the formatter that queues at most `lines` lines for the writer thread, which writes
/// them to `sink`; the guard writes what is still queued when dropped.
pub(super) fn queue<W: Write + Send + 'static>(sink: W, lines: usize) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(lines.max(1))
        .thread_name("acsgw-log-writer")
        .finish(io::BufWriter::with_capacity(BATCH_BYTES, sink))
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Arc, Mutex, mpsc},
        time::Duration,
    };

    use super::*;

    /// A sink whose first write stalls until released, as a stderr nobody reads; it tells each write.
    struct Stalled {
        written: Arc<Mutex<Vec<u8>>>,
        wrote: mpsc::Sender<&'static str>,
        release: mpsc::Receiver<()>,
        stalled: bool,
    }

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if !self.stalled {
                self.stalled = true;
                let _ = self.wrote.send("stalled");
                let _ = self.release.recv();
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            let _ = self.wrote.send("wrote");
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_writer_counts_dropped_lines_when_its_queue_is_full() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let (wrote_tx, wrote) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let sink = Stalled { written: written.clone(), wrote: wrote_tx, release: release_rx, stalled: false };
        let (mut writer, guard) = queue(sink, 2);
        let dropped = writer.error_counter();
        let next_write = || wrote.recv_timeout(Duration::from_secs(10)).expect("the writer thread writes");

        writer.write_all(b"0\n").unwrap();
        assert_eq!(next_write(), "stalled");
        for line in [b"1\n", b"2\n", b"3\n", b"4\n", b"5\n"] {
            writer.write_all(line).unwrap();
        }
        assert_eq!(dropped.dropped_lines(), 3, "two lines fit the queue; the other three are dropped");

        release.send(()).unwrap();
        let text = || String::from_utf8(written.lock().unwrap().clone()).unwrap();
        while text() != "0\n1\n2\n" {
            assert_eq!(next_write(), "wrote", "{}", text());
        }
        drop(guard);
        assert_eq!(text(), "0\n1\n2\n", "nothing dropped is written");
    }
}

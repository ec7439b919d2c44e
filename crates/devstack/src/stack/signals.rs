//! Ctrl-C and SIGTERM, listened to from the very start of a run: a signal that arrives while
//! Postgres or a server is starting is then a request to stop, never the end of the process with a
//! cluster left running behind it.

use tokio::{
    signal::unix::{SignalKind, signal},
    sync::watch,
};

/// Whether a stop was asked for. Cheap to clone; every clone sees the same signal.
#[derive(Clone)]
pub struct StopSignal {
    fired: watch::Receiver<bool>,
}

impl StopSignal {
    /// Installs the handlers. From here on SIGINT and SIGTERM no longer end the process by
    /// themselves: the stack stops its parts, then exits.
    pub fn install() -> anyhow::Result<Self> {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let (fire, fired) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                if *fire.borrow() {
                    eprintln!("acs-devstack: still stopping (servers, then Postgres); please wait");
                } else {
                    fire.send_replace(true);
                }
            }
        });
        Ok(Self { fired })
    }

    /// Resolves once a stop was asked for (at once if it already was).
    pub async fn received(&mut self) {
        if self.fired.wait_for(|fired| *fired).await.is_err() {
            // The listening task is gone, so no signal can come any more.
            std::future::pending::<()>().await;
        }
    }
}

//! What a run asks of the admin API: the tenant's limit and B policy before it starts, and steady
//! PATCHes while exchanges run (`admin-writes`).

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::Sample;

/// The admin API of the gateway under test.
#[derive(Clone)]
pub struct Admin {
    pub client: reqwest::Client,
    pub gateway: String,
    pub key: String,
}

impl Admin {
    fn tenant_url(&self, slug: &str) -> String {
        format!("{}/admin/v1/tenants/{slug}", self.gateway)
    }

    /// A merge patch of `slug`, whatever its version.
    pub fn patch(&self, slug: &str, patch: &Value) -> reqwest::RequestBuilder {
        self.client
            .patch(self.tenant_url(slug))
            .bearer_auth(&self.key)
            .header("If-Match", "*")
            .header("Content-Type", "application/merge-patch+json")
            .body(patch.to_string())
    }

    /// `POST /admin/v1/tenants`; the answer's status.
    pub async fn create(&self, tenant: &Value) -> anyhow::Result<u16> {
        let response = self
            .client
            .post(format!("{}/admin/v1/tenants", self.gateway))
            .bearer_auth(&self.key)
            .json(tenant)
            .send()
            .await?;
        Ok(response.status().as_u16())
    }

    /// Lifts the tenant's limit (the demo tenant's default, ACS's 500 per 30 s, would measure the
    /// limiter, not the gateway) and sets its B policy.
    pub async fn prepare(&self, slug: &str, policy: Value) -> anyhow::Result<()> {
        let patch = json!({"limits": lifted_limits(), "authorization": policy});
        let response = self.patch(slug, &patch).send().await?;
        if !response.status().is_success() {
            bail!("could not prepare tenant {slug}: HTTP {}: {}", response.status(), response.text().await?);
        }
        // Let every replica hear of the change.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    }
}

/// A limit no run reaches, so that runs measure the gateway, not its limiter.
pub fn lifted_limits() -> Value {
    json!({"exchangesPerSecond": 100000, "burst": 100000})
}

/// Two display names to flip between, so that every PATCH changes the tenant (a new version, a
/// change notice to every replica), as a real edit would.
fn display_name(n: u64) -> String {
    format!("Demo tenant (devstack, acs-loadgen edit {})", n % 2)
}

/// PATCHes `slug` once every `every` until `stop` turns true; returns every PATCH's sample. One at
/// a time, as an operator's edits come: PATCHes of one tenant that overlapped would race each other
/// for its version (`If-Match: *` is checked against the version read first) and most would be
/// refused 412 instead of writing. A PATCH that takes longer than `every` delays the next ones,
/// which then follow at once to keep the average, as far as they can.
pub async fn patch_steadily(
    admin: Admin,
    slug: String,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> Vec<Sample> {
    let started = Instant::now();
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut samples = Vec::new();
    for n in 0u64.. {
        tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            _ = interval.tick() => {}
        }
        let request = admin.patch(&slug, &json!({"displayName": display_name(n)}));
        samples.push(Sample::of(started, request).await);
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_patches_change_the_display_name() {
        assert_ne!(display_name(0), display_name(1));
        assert_eq!(display_name(0), display_name(2));
    }
}

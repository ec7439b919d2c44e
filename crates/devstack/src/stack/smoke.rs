//! `--smoke`: every component answers, the demo tenant is reachable through the admin API, and one
//! real exchange goes through the gateway to the emulator and back.

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::demo::{self, Demo, Urls};

pub async fn check(urls: &Urls, demo: &Demo) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
    let step = |name: &str| eprintln!("smoke: {name} ok");

    expect_ok(client.get(format!("{}/readyz", urls.gateway)).send().await, "gateway /readyz").await?;
    step("gateway ready");

    let metadata = format!("{}/{}/v2.0/.well-known/openid-configuration", urls.entra, demo::ENTRA_TENANT_ID);
    let document = expect_ok(client.get(metadata).send().await, "issuer metadata").await?;
    let expected = format!("https://login.microsoftonline.com/{}/v2.0", demo::ENTRA_TENANT_ID);
    if document["issuer"] != expected {
        bail!("issuer metadata names issuer {}, expected {expected}", document["issuer"]);
    }
    step("dev Entra issuer");

    expect_ok(client.get(format!("{}/dev/stats", urls.acs)).send().await, "ACS emulator /dev/stats").await?;
    step("ACS emulator");

    let tenant = client
        .get(format!("{}/admin/v1/tenants/{}", urls.gateway, demo::SLUG))
        .bearer_auth(&demo.admin_key)
        .send()
        .await;
    let tenant = expect_ok(tenant, "admin API, demo tenant").await?;
    if tenant["acs"]["endpoint"] != urls.acs.trim_end_matches('/') {
        bail!("the demo tenant points at {}, not at the emulator {}", tenant["acs"]["endpoint"], urls.acs);
    }
    step("admin API and demo tenant");

    let minted = client
        .post(format!("{}/dev/tokens", urls.entra))
        .json(&json!({"tenantId": demo::ENTRA_TENANT_ID, "oid": demo::USER_ID, "appId": demo::APP_ID}))
        .send()
        .await;
    let minted = expect_ok(minted, "minting A1").await?;
    let Some(a1) = minted["token"].as_str().filter(|t| !t.is_empty()) else {
        bail!("the dev issuer minted no token");
    };
    step("A1 minted");

    let exchanged = client
        .post(format!("{}/v1/tenants/{}/token/teams", urls.gateway, demo::SLUG))
        .json(&json!({"token": a1, "appId": demo::APP_ID, "userId": demo::USER_ID}))
        .send()
        .await;
    let exchanged = expect_ok(exchanged, "exchange through the gateway").await?;
    if exchanged["user"]["rawId"] != format!("8:orgid:{}", demo::USER_ID)
        || exchanged["token"].as_str().is_none()
    {
        bail!("the exchange answered without the user's ACS token: {exchanged}");
    }
    step("exchange A1 for an ACS token through the gateway");
    Ok(())
}

async fn expect_ok(response: reqwest::Result<reqwest::Response>, what: &str) -> anyhow::Result<Value> {
    let response = response.with_context(|| format!("{what}: no answer"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{what}: HTTP {status}: {body}");
    }
    Ok(body)
}

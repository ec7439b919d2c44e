//! What operators see of exchanges: refusals of A1 counted per reason, and the JSON log lines of the
//! real binary: one short access line per request, a refused A1 explained on it (entra-validation.md,
//! "error oracle": `uti`, `kid`, `tid`, `ver` and the reason, never the token), successes sampled,
//! ACS's attempts only when they failed (with `MS-CV` and the request id).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{binary::Binary, upstreams::spawn_exchange_app};

/// The gateway binary with JSON logs at info, then `settings` (which may override `RUST_LOG`).
async fn serve(database_url: &str, authority_host: &str, settings: &[(&str, &str)]) -> Binary {
    let path = std::env::var("PATH").unwrap_or_default();
    let mut all = vec![
        ("PATH", path.as_str()),
        ("ACSGW_LOG_FORMAT", "json"),
        ("ACSGW_SHUTDOWN_TIMEOUT_SECONDS", "2"),
        ("RUST_LOG", "info"),
    ];
    all.extend_from_slice(settings);
    Binary::serve(database_url, authority_host, &all).await
}

/// Sends an exchange of `token` for `slug`'s user with the given request id.
async fn exchange(gateway: &Binary, slug: &str, token: &str, request_id: &str) -> StatusCode {
    let request = gateway.exchange(&crate::helpers::http_client(), slug, token);
    request.header("x-request-id", request_id).send().await.unwrap().status()
}

/// The lines that mention `request_id`: its access line, and lines logged inside its span.
fn lines_of<'a>(logs: &'a [Value], request_id: &str) -> Vec<&'a Value> {
    logs.iter().filter(|line| line.to_string().contains(request_id)).collect()
}

fn unique_request_id(label: &str) -> String {
    format!("{label}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn refusals_of_a1_are_counted_per_tenant_and_reason() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    for n in 0..2 {
        let expired =
            up.a1_with(json!({"uti": format!("old{n}"), "exp": chrono::Utc::now().timestamp() - 600}));
        assert_eq!(app.exchange(&slug, &expired, None).await.status(), StatusCode::UNAUTHORIZED);
    }
    let graph = up.a1_with(json!({"aud": "https://graph.microsoft.com"}));
    assert_eq!(app.exchange(&slug, &graph, None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);

    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let rejections = |reason: &str| {
        let series = format!("acsgw_token_rejections_total{{reason=\"{reason}\",tenant=\"{slug}\"}} ");
        text.lines().find_map(|line| line.strip_prefix(&series)).map(|value| value.parse::<f64>().unwrap())
    };
    assert_eq!(rejections("expired"), Some(2.0), "{text}");
    assert_eq!(rejections("audience"), Some(1.0));
    assert_eq!(rejections("signature"), None, "no traffic, no series");
    assert!(text.contains("# HELP acsgw_token_rejections_total "));
}

#[tokio::test]
async fn a_successful_exchange_writes_exactly_one_line_under_300_bytes_with_the_request_id_and_no_field_twice()
 {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let gateway = serve(&app.database_url, up.issuer.base_url(), &[]).await;
    let request_id = unique_request_id("success");
    assert_eq!(exchange(&gateway, &slug, &up.a1(), &request_id).await, StatusCode::OK);
    let logs = gateway.stop().await.lines;

    let mine: Vec<&String> = logs.iter().filter(|line| line.contains(&request_id)).collect();
    let [line] = mine.as_slice() else { panic!("one line expected for {request_id}: {logs:#?}") };
    assert!(line.len() <= 300, "{} bytes: {line}", line.len());
    assert_eq!(line.matches(&request_id).count(), 1, "the request id once: {line}");
    let value: Value = serde_json::from_str(line).unwrap();
    for key in value.as_object().unwrap().keys() {
        assert_eq!(line.matches(&format!("\"{key}\":")).count(), 1, "{key} twice: {line}");
    }
    assert_eq!(value["target"], "access", "{line}");
    assert_eq!(value["level"], "INFO", "{line}");
    assert_eq!(value["status"], 200, "{line}");
    assert_eq!(value["method"], "POST", "{line}");
    assert_eq!(value["path"], format!("/v1/tenants/{slug}/token/teams"), "{line}");
    assert_eq!(value["tenant"], slug.as_str(), "{line}");
    assert_eq!(value["outcome"], "ok", "{line}");
    assert!(value["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{line}");
    assert!(value.get("spans").is_none() && value.get("span").is_none(), "{line}");
}

#[tokio::test]
async fn a_refused_a1_writes_one_line_with_its_reason_and_uti_kid_tid_ver_and_never_the_token() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let gateway = serve(&app.database_url, up.issuer.base_url(), &[]).await;
    let token = up.a1_with(json!({"uti": "oracle-uti-1", "aud": "https://graph.microsoft.com"}));
    let request_id = unique_request_id("refused");
    assert_eq!(exchange(&gateway, &slug, &token, &request_id).await, StatusCode::UNAUTHORIZED);
    let logs = gateway.stop().await.json();

    let [line] = lines_of(&logs, &request_id)[..] else { panic!("one line expected: {logs:#?}") };
    assert_eq!(line["target"], "access", "{line}");
    assert_eq!(line["status"], 401, "{line}");
    assert_eq!(line["outcome"], "invalid_token", "{line}");
    assert_eq!(line["reason"], "audience", "{line}");
    assert_eq!(line["uti"], "oracle-uti-1");
    assert_eq!(line["kid"], up.issuer.issuer().published_kids()[0].as_str());
    assert_eq!(line["tid"], crate::helpers::ENTRA_TENANT);
    assert_eq!(line["ver"], "1.0");
    assert_eq!(line["tenant"], slug.as_str());
    let text = serde_json::to_string(&logs).unwrap();
    for part in token.split('.') {
        assert!(!text.contains(part), "no part of the token is logged");
    }
}

#[tokio::test]
async fn a_sampled_out_success_writes_nothing_while_refusals_still_log() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let gateway = serve(&app.database_url, up.issuer.base_url(), &[("ACSGW_ACCESS_LOG_SAMPLE", "0")]).await;
    let (success, refusal) = (unique_request_id("sampled-out"), unique_request_id("refusal"));
    assert_eq!(exchange(&gateway, &slug, &up.a1(), &success).await, StatusCode::OK);
    let expired = up.a1_with(json!({"exp": chrono::Utc::now().timestamp() - 600}));
    assert_eq!(exchange(&gateway, &slug, &expired, &refusal).await, StatusCode::UNAUTHORIZED);
    let logs = gateway.stop().await.json();

    assert!(lines_of(&logs, &success).is_empty(), "{logs:#?}");
    let [line] = lines_of(&logs, &refusal)[..] else { panic!("the refusal is logged: {logs:#?}") };
    assert_eq!(line["reason"], "expired", "{line}");
    assert!(
        logs.iter().any(|line| line["target"] == "access" && line["path"] == "/healthz"),
        "only exchanges are sampled: {logs:#?}"
    );
}

#[tokio::test]
async fn an_acs_attempt_that_succeeded_first_time_logs_nothing_at_info_and_a_failed_one_does() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let gateway = serve(&app.database_url, up.issuer.base_url(), &[]).await;
    let (first_time, failing) = (unique_request_id("first-time"), unique_request_id("failing"));
    assert_eq!(exchange(&gateway, &slug, &up.a1(), &first_time).await, StatusCode::OK);
    up.set_faults(devstack::emulator::Faults { error_rate: 1.0, ..Default::default() });
    assert_eq!(exchange(&gateway, &slug, &up.a1(), &failing).await, StatusCode::SERVICE_UNAVAILABLE);
    let logs = gateway.stop().await.json();

    let attempts = |request_id: &str| -> Vec<Value> {
        let lines = lines_of(&logs, request_id).into_iter();
        lines.filter(|line| line["message"] == "ACS exchange attempt finished").cloned().collect()
    };
    assert!(attempts(&first_time).is_empty(), "{logs:#?}");
    let failed = attempts(&failing);
    assert!(!failed.is_empty(), "failed attempts are logged: {logs:#?}");
    for line in &failed {
        assert_eq!(line["level"], "INFO", "{line}");
        assert!(matches!(line["status"].as_u64(), Some(500 | 503)), "{line}");
    }
    assert_eq!(up.acs_exchanges(), 1 + failed.len() as u64, "one line per attempt");
}

#[tokio::test]
async fn acs_ms_cv_is_logged_on_one_line_with_the_request_id() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    // A first attempt that succeeds is logged at debug only.
    let gateway = serve(&app.database_url, up.issuer.base_url(), &[("RUST_LOG", "info,acs=debug")]).await;
    let request_id = format!("ms-cv-test-{}", uuid::Uuid::new_v4().simple());
    let request = gateway.exchange(&app.client, &slug, &up.a1()).header("x-request-id", &request_id);
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let logs = gateway.stop().await.json();

    let with_ms_cv: Vec<&Value> =
        logs.iter().filter(|line| line["ms_cv"].as_str().is_some_and(|cv| cv.len() > 10)).collect();
    assert!(
        with_ms_cv.iter().any(|line| line.to_string().contains(&request_id)),
        "no line with both ACS's MS-CV and the request id {request_id}: {logs:#?}"
    );
    assert_eq!(up.acs_exchanges(), 1);
}

#[tokio::test]
async fn a_users_refusal_by_acs_is_logged_at_info_with_acs_code_and_nothing_is_logged_as_an_error() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let refused = crate::upstreams::USER_ID.parse().unwrap();
    up.acs.set_refusal(refused, Some(devstack::emulator::Refusal::UserLicenseNotPresentForbidden));
    let gateway = serve(&app.database_url, up.issuer.base_url(), &[]).await;
    let response = gateway.exchange(&app.client, &slug, &up.a1()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let logs = gateway.stop().await.json();

    let refusal: Vec<&Value> =
        logs.iter().filter(|line| line["outcome"] == "teams_license_missing").collect();
    let [line] = refusal.as_slice() else { panic!("one refusal line expected: {logs:#?}") };
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["acs_code"], "UserLicenseNotPresentForbidden", "{line}");
    // The start-up warning about plain http (the test's own setting) is the only one expected.
    let alarming: Vec<&Value> = logs
        .iter()
        .filter(|line| matches!(line["level"].as_str(), Some("ERROR" | "WARN")))
        .filter(|line| line["target"] != "gateway::startup")
        .collect();
    assert!(alarming.is_empty(), "a user's refusal is nobody's incident: {alarming:#?}");
}

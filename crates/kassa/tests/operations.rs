//! What an operator of `kassa serve` sees: the metrics on `--metrics-listen`, and JSON log lines
//! (`--log-format json`) whose spans carry a request's correlation id, route and merchant, and a
//! callback's `caused_by`: the correlation id of the request whose change it reports.

use kassa_testkit::metrics::Exposition;
use kassa_testkit::{Client, Merchant, PATIENCE, Receiver};
use serde_json::{Value, json};

mod support;

use support::{DatabaseFile, serve_with};

const AUTH: (&str, &str) = ("ops", "ops-secret-123456789");

/// The value of `field` in the span named `span` of a JSON log line, if the line has that span.
fn span_field<'a>(line: &'a Value, span: &str, field: &str) -> Option<&'a str> {
    line["spans"].as_array()?.iter().find(|s| s["name"] == span)?[field].as_str()
}

#[tokio::test]
async fn metrics_are_served_apart_and_json_logs_trace_a_callback_to_its_request() {
    let database = DatabaseFile::new();
    let logs = tempfile::NamedTempFile::new().unwrap();
    let credentials = format!("{}:{}", AUTH.0, AUTH.1);
    let extra = ["--metrics-listen", "127.0.0.1:0", "--log-format", "json", "--sandbox-credentials", &credentials];
    let mut server = serve_with(&[], &database.url, &extra, |command| {
        command.env("RUST_LOG", "info,kassa_server=debug").stderr(logs.reopen().unwrap());
    });
    let url = server.url.clone();
    let metrics = server
        .banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("Metrics").map(|v| v.trim().to_owned()))
        .expect("a Metrics line");
    assert!(metrics.starts_with("http://127.0.0.1:") && metrics.ends_with("/metrics"), "{:?}", server.banner);
    assert_ne!(metrics.trim_end_matches("/metrics"), url, "the metrics are not on the API's address");

    let api = Client::new(&url, Merchant::new(AUTH.0, AUTH.1));
    let receiver = Receiver::start().await;
    let (hpp, _, _) = api.hpp_session(json!({}), json!({"status_update": format!("{}/cb", receiver.url)})).await;
    let opened = api.act(&hpp, "open").await;
    assert_eq!(opened.status, 200);
    let cause = opened.headers["klarna-correlation-id"].to_str().unwrap().to_owned();
    receiver.wait_for(1, PATIENCE).await;
    let missing = api.get("/hpp/v1/sessions/no-such-session").await;
    assert_eq!(missing.status, 404);
    let refused = missing.headers["klarna-correlation-id"].to_str().unwrap().to_owned();

    let scraped = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    let scraped = Exposition::parse(&scraped).unwrap();
    assert_eq!(scraped.value("kassa_delivery_attempts_total", &[("result", "delivered")]), 1.0);
    let acts = [("route", "/sandbox/v1/hpp/sessions/{session_id}/{action}"), ("method", "POST"), ("status", "200")];
    assert_eq!(scraped.value("kassa_http_requests_total", &acts), 1.0);
    // The API's address has no metrics.
    assert_eq!(reqwest::get(format!("{url}/metrics")).await.unwrap().status(), 404);

    // SIGTERM, waited for here: `Server::terminate` runs a runtime of its own.
    std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(server.child.wait().unwrap().success(), "kassa exits cleanly on SIGTERM");
    let text = std::fs::read_to_string(logs.path()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(|l| l["timestamp"].is_string() && l["level"].is_string()), "{text}");

    // The callback's attempt is logged in its span, which names the request that caused it.
    let attempt = lines
        .iter()
        .find(|l| l["fields"]["message"] == "callback attempt")
        .unwrap_or_else(|| panic!("no callback attempt logged: {text}"));
    assert_eq!(span_field(attempt, "callback", "caused_by"), Some(cause.as_str()), "{attempt}");
    assert_eq!(span_field(attempt, "callback", "session"), Some(hpp.as_str()), "{attempt}");

    // A refused request is logged once, in its span: correlation id, route and merchant.
    let refusals: Vec<&Value> = lines
        .iter()
        .filter(|l| span_field(l, "request", "correlation_id") == Some(refused.as_str()))
        .filter(|l| l["fields"]["message"] == "request refused")
        .collect();
    assert_eq!(refusals.len(), 1, "{text}");
    assert_eq!(span_field(refusals[0], "request", "route"), Some("/hpp/v1/sessions/{session_id}"));
    assert_eq!(span_field(refusals[0], "request", "merchant"), Some(AUTH.0));
}

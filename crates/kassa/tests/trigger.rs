//! `kassa trigger <scenario>`: every scenario, each against a `kassa serve` of its own (the clock
//! scenarios move its sandbox clock). Each test checks the steps the trigger claims (kind and
//! status, in order) against the scenario's expected sequence, then checks the claims
//! independently through the server's own read endpoints: each HPP session, distribution and
//! order is in the last status claimed for it, its events feed has each claimed status change
//! once and in order, and its payment session is where Klarna's semantics put it. Also the
//! human-readable output and the failure of a trigger with no kassa to talk to.

use kassa_testkit::{Client, Reply};
use serde_json::Value;
use std::process::{Command, Output};

mod support;

use support::{BIN, DatabaseFile, Server, serve};

#[tokio::test]
async fn hpp_approved_authorizes_the_order() {
    let run = Triggered::run("hpp-approved");
    run.assert_steps(&[
        ("payment", "incomplete"),
        ("hpp", "WAITING"),
        ("hpp", "IN_PROGRESS"),
        ("hpp", "COMPLETED"),
        ("order", "AUTHORIZED"),
    ]);
    run.assert_sessions(&["incomplete", "complete"]).await;
    run.assert_order_amounts(0, 0).await;
}

#[tokio::test]
async fn hpp_declined_then_approved_fails_then_completes() {
    let run = Triggered::run("hpp-declined-then-approved");
    run.assert_steps(&[
        ("payment", "incomplete"),
        ("hpp", "WAITING"),
        ("hpp", "IN_PROGRESS"),
        ("hpp", "FAILED"),
        ("hpp", "IN_PROGRESS"),
        ("hpp", "COMPLETED"),
        ("order", "AUTHORIZED"),
    ]);
    run.assert_sessions(&["incomplete", "complete"]).await;
    run.assert_order_amounts(0, 0).await;
}

#[tokio::test]
async fn hpp_back_ends_back() {
    let run = Triggered::run("hpp-back");
    run.assert_steps(&[("payment", "incomplete"), ("hpp", "WAITING"), ("hpp", "IN_PROGRESS"), ("hpp", "BACK")]);
    run.assert_sessions(&["incomplete"]).await;
}

#[tokio::test]
async fn hpp_cancelled_ends_cancelled() {
    let run = Triggered::run("hpp-cancelled");
    run.assert_steps(&[("payment", "incomplete"), ("hpp", "WAITING"), ("hpp", "IN_PROGRESS"), ("hpp", "CANCELLED")]);
    run.assert_sessions(&["incomplete"]).await;
}

#[tokio::test]
async fn hpp_disabled_ends_disabled() {
    let run = Triggered::run("hpp-disabled");
    run.assert_steps(&[("payment", "incomplete"), ("hpp", "WAITING"), ("hpp", "DISABLED")]);
    run.assert_sessions(&["incomplete"]).await;
}

#[tokio::test]
async fn hpp_expired_is_gone_after_the_clock_moves() {
    let run = Triggered::run("hpp-expired");
    run.assert_steps(&[("payment", "incomplete"), ("hpp", "WAITING"), ("hpp", "-"), ("hpp", "EXPIRED")]);
    // The HPP session answers 404 NOT_FOUND; its payment session (48 h) is still there.
    run.assert_sessions(&["incomplete"]).await;
}

#[tokio::test]
async fn instore_completed_is_paid_and_captured() {
    let run = Triggered::run("instore-completed");
    run.assert_steps(&[
        ("distribution", "WAITING"),
        ("distribution", "DISTRIBUTED"),
        ("distribution", "ACCESSED"),
        ("distribution", "COMPLETED"),
        ("order", "CAPTURED"),
    ]);
    run.assert_sessions(&["incomplete", "complete"]).await;
    run.assert_order_amounts(18000, 0).await;
}

#[tokio::test]
async fn instore_short_code_failed_then_retried_is_paid_and_captured() {
    let run = Triggered::run("instore-short-code-failed-then-retried");
    run.assert_steps(&[
        ("distribution", "WAITING"),
        ("distribution", "FAILED"),
        ("distribution", "FAILED"),
        ("distribution", "FAILED"),
        ("distribution", "WAITING"),
        ("distribution", "DISTRIBUTED"),
        ("distribution", "ACCESSED"),
        ("distribution", "COMPLETED"),
        ("order", "CAPTURED"),
    ]);
    assert_eq!(run.steps[2].action, "the failure: CONSUMER_SESSION_NOT_FOUND", "{}", run.json);
    run.assert_sessions(&["incomplete", "complete"]).await;
    run.assert_order_amounts(18000, 0).await;
    // The failure as the feed recorded it: retryable, for the code no phone has.
    let failed = run.events(&run.steps[0].id, "distribution").await;
    let failed = failed.iter().find(|e| e["status"] == "FAILED").expect("a FAILED event");
    assert_eq!(failed["body"]["error"]["code"], "CONSUMER_SESSION_NOT_FOUND", "{failed}");
    assert_eq!(failed["body"]["error"]["retryable"], true, "{failed}");
}

#[tokio::test]
async fn instore_auto_cancelled_is_canceled_after_three_hours() {
    let run = Triggered::run("instore-auto-cancelled");
    run.assert_steps(&[
        ("distribution", "WAITING"),
        ("distribution", "DISTRIBUTED"),
        ("distribution", "-"),
        ("distribution", "CANCELED"),
    ]);
    // Its payment session is cancelled with it (and reads 404 from then on).
    run.assert_sessions(&["incomplete", "cancelled"]).await;
}

#[tokio::test]
async fn order_captured_and_refunded_in_part() {
    let run = Triggered::run("order-captured-and-refunded");
    run.assert_steps(&[
        ("payment", "incomplete"),
        ("hpp", "WAITING"),
        ("hpp", "IN_PROGRESS"),
        ("hpp", "COMPLETED"),
        ("order", "AUTHORIZED"),
        ("order", "CAPTURED"),
        ("order", "CAPTURED"),
    ]);
    run.assert_sessions(&["incomplete", "complete"]).await;
    let order = run.assert_order_amounts(18000, 9000).await;
    // The capture and the refund the actions name, with their amounts.
    let named = |step: usize, what: &str| {
        let action = &run.steps[step].action;
        let id = action.split(&format!("({what} ")).nth(1).and_then(|rest| rest.strip_suffix(')'));
        id.unwrap_or_else(|| panic!("no {what} id in {action:?}")).to_owned()
    };
    assert!(run.steps[5].action.starts_with("captured 18000 "), "{}", run.json);
    assert!(run.steps[6].action.starts_with("refunded 9000 "), "{}", run.json);
    let captures: Vec<(&Value, &Value)> =
        order["captures"].as_array().unwrap().iter().map(|c| (&c["capture_id"], &c["captured_amount"])).collect();
    assert_eq!(captures, [(&Value::from(named(5, "capture")), &Value::from(18000))], "{order}");
    let refunds: Vec<(&Value, &Value)> =
        order["refunds"].as_array().unwrap().iter().map(|r| (&r["refund_id"], &r["refunded_amount"])).collect();
    assert_eq!(refunds, [(&Value::from(named(6, "refund")), &Value::from(9000))], "{order}");
}

#[test]
fn without_json_it_prints_a_line_per_step_and_without_a_kassa_it_fails_on_stderr() {
    let database = DatabaseFile::new();
    let server = serve(&database.url, &["--rate-limits", "off"]);
    let output = trigger(&server.url, &server.credentials().unwrap(), &["hpp-approved"]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first().copied(), Some(format!("hpp-approved on {}", server.url).as_str()), "{stdout}");
    let statuses = ["incomplete", "WAITING", "IN_PROGRESS", "COMPLETED", "AUTHORIZED"];
    assert_eq!(lines.len(), 1 + statuses.len(), "{stdout}");
    for (n, (line, status)) in lines[1..].iter().zip(statuses).enumerate() {
        assert!(line.starts_with(&format!("{:>2}. ", n + 1)), "{line:?}");
        assert!(line.ends_with(&format!(" {status}")), "{line:?} should end with {status}");
    }

    let credentials = server.credentials().unwrap();
    for json in [false, true] {
        let extra: &[&str] = if json { &["hpp-approved", "--json"] } else { &["hpp-approved"] };
        let output = trigger("http://127.0.0.1:9", &credentials, extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert!(stderr.contains("hpp-approved:") && stderr.contains("127.0.0.1:9"), "{stderr}");
        if json {
            let report: Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(report["steps"], serde_json::json!([]), "{report}");
            assert!(report["error"].as_str().is_some_and(|e| e.starts_with("hpp-approved:")), "{report}");
        }
    }
}

// ---- helpers ----

/// One step of the trigger's `--json` report.
#[derive(Debug)]
struct Step {
    action: String,
    kind: String,
    id: String,
    status: String,
}

/// A scenario triggered (`--json`, successfully) against a `kassa serve` of its own.
struct Triggered {
    _database: DatabaseFile,
    _server: Server,
    client: Client,
    /// The report as printed, for assertion messages.
    json: Value,
    steps: Vec<Step>,
}

impl Triggered {
    /// Starts a server, runs `kassa trigger <scenario> --json` against it, and checks the report:
    /// exit 0, the scenario's name, no error, and every step of one kind naming the same session.
    fn run(scenario: &str) -> Self {
        let database = DatabaseFile::new();
        let server = serve(&database.url, &["--rate-limits", "off"]);
        let credentials = server.credentials().expect("sandbox credentials");
        let output = trigger(&server.url, &credentials, &[scenario, "--json"]);
        assert!(output.status.success(), "{scenario}: {output:?}");
        let json: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
        assert_eq!(json["scenario"], scenario, "{json}");
        assert_eq!(json["error"], Value::Null, "{json}");
        let text =
            |step: &Value, field: &str| step[field].as_str().unwrap_or_else(|| panic!("{field}: {json}")).to_owned();
        let steps: Vec<Step> = json["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| Step {
                action: text(s, "action"),
                kind: text(s, "kind"),
                id: text(s, "id"),
                status: text(s, "status"),
            })
            .collect();
        for step in &steps {
            let first = steps.iter().find(|s| s.kind == step.kind).unwrap();
            assert!(!step.id.is_empty() && step.id == first.id, "one {} per scenario: {json}", step.kind);
        }
        let (username, secret) = credentials.split_once(':').unwrap();
        let client = server.client((username, secret));
        Self { _database: database, _server: server, client, json, steps }
    }

    /// The claimed (kind, status) of each step, in order, are `expected`.
    fn assert_steps(&self, expected: &[(&str, &str)]) {
        let claimed: Vec<(&str, &str)> = self.steps.iter().map(|s| (s.kind.as_str(), s.status.as_str())).collect();
        assert_eq!(claimed, expected, "{}", self.json);
    }

    /// The id of the session of `kind` the steps name, if any.
    fn id(&self, kind: &str) -> Option<&str> {
        self.steps.iter().find(|s| s.kind == kind).map(|s| s.id.as_str())
    }

    /// The statuses claimed for the session of `kind`, each change once: a step that leaves the
    /// status as it was, or that claims none (`-`), changes nothing. `EXPIRED` is what the
    /// trigger calls an HPP session's 404 past its expiry: no status of Klarna's, and no event.
    fn changes(&self, kind: &str) -> Vec<&str> {
        let mut changes: Vec<&str> = Vec::new();
        for step in self.steps.iter().filter(|s| s.kind == kind) {
            let status = step.status.as_str();
            if !["-", "EXPIRED"].contains(&status) && changes.last() != Some(&status) {
                changes.push(status);
            }
        }
        changes
    }

    /// Checks through the API that the HPP session, distribution and order the steps name are
    /// in the last status claimed for them and that each session's events feed has exactly the
    /// claimed changes; and that the payment session's feed is `payment` (its status now the
    /// last of these; `cancelled` reads 404).
    async fn assert_sessions(&self, payment: &[&str]) {
        if let Some(hpp) = self.id("hpp") {
            let reply = self.client.get(&format!("/hpp/v1/sessions/{hpp}")).await;
            match self.last("hpp") {
                "EXPIRED" => drop(reply.assert_error(404, "NOT_FOUND")),
                status => assert_eq!(read_status(&reply), status, "HPP session {hpp}"),
            }
            self.assert_feed(hpp, "hpp", &self.changes("hpp")).await;
        }
        if let Some(distribution) = self.id("distribution") {
            let reply = self.client.get(&format!("/iss/v1/distributions/{distribution}")).await;
            let status = self.last("distribution");
            assert_eq!(read_status(&reply), status, "distribution {distribution}");
            if status == "COMPLETED" {
                assert_eq!(reply.body["order_id"].as_str(), self.id("order"), "{}", reply.body);
            }
            self.assert_feed(distribution, "distribution", &self.changes("distribution")).await;
        }
        if let Some(order) = self.id("order") {
            assert_eq!(read_status(&self.order().await), self.last("order"), "order {order}");
        }
        // An in-store payment session is its distribution's session.
        let session = self.id("payment").or(self.id("distribution")).expect("a payment session");
        let reply = self.client.get(&format!("/payments/v1/sessions/{session}")).await;
        match *payment.last().unwrap() {
            "cancelled" => drop(reply.assert_error(404, "NOT_FOUND")),
            status => assert_eq!(read_status(&reply), status, "payment session {session}"),
        }
        self.assert_feed(session, "payment", payment).await;
    }

    /// The last status claimed for the session of `kind`.
    fn last(&self, kind: &str) -> &str {
        self.steps.iter().rev().find(|s| s.kind == kind && s.status != "-").map(|s| s.status.as_str()).unwrap()
    }

    /// The session's events (`kind` only), oldest first, numbered 1, 2, …, have the statuses
    /// `expected`.
    async fn assert_feed(&self, id: &str, kind: &str, expected: &[&str]) {
        let events = self.events(id, kind).await;
        let statuses: Vec<&str> = events.iter().map(|e| e["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, expected, "the {kind} events of {id}; claimed: {}", self.json);
        let sequences: Vec<u64> = events.iter().map(|e| e["sequence"].as_u64().unwrap()).collect();
        assert_eq!(sequences, (1..=expected.len() as u64).collect::<Vec<_>>(), "the {kind} events of {id}");
    }

    /// `GET /kassa/v1/events` of session `id`, its `kind` events only.
    async fn events(&self, id: &str, kind: &str) -> Vec<Value> {
        let reply = self.client.get(&format!("/kassa/v1/events?session_id={id}&kind={kind}&limit=1000")).await;
        let page = reply.assert_success().body;
        assert_eq!(page["has_more"], false, "{page}");
        page["events"].as_array().unwrap().clone()
    }

    /// The order the steps name, read.
    async fn order(&self) -> Reply {
        let order = self.id("order").expect("an order");
        self.client.get(&format!("/ordermanagement/v1/orders/{order}")).await
    }

    /// The order's amounts are the cart's 180.00 with `captured` and `refunded`; returns it.
    async fn assert_order_amounts(&self, captured: u64, refunded: u64) -> Value {
        let order = self.order().await.assert_success().body;
        let amounts: Vec<Option<u64>> =
            ["order_amount", "captured_amount", "refunded_amount"].iter().map(|f| order[f].as_u64()).collect();
        assert_eq!(amounts, [Some(18000), Some(captured), Some(refunded)], "{order}");
        order
    }
}

/// The `status` of a successful read.
fn read_status(reply: &Reply) -> &str {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["status"].as_str().unwrap_or_else(|| panic!("no status: {}", reply.body))
}

/// `kassa trigger <args> --url <url> --auth <credentials>`, run to its end.
fn trigger(url: &str, credentials: &str, args: &[&str]) -> Output {
    Command::new(BIN).arg("trigger").args(args).args(["--url", url, "--auth", credentials]).output().unwrap()
}

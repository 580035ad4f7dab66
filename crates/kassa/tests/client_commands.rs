//! The client commands besides `listen` and `trigger`: `events tail` and `sessions get`, and how
//! every client command finds its kassa (flags, environment, the profile file).

mod support;

use kassa_testkit::{Client, Merchant};
use serde_json::{Value, json};
use std::process::{Command, Output};
use support::{BIN, DatabaseFile, Server, serve};

const AUTH: &str = "tail:tail-secret-0123456789";

fn kassa() -> (DatabaseFile, Server, Client) {
    let database = DatabaseFile::new();
    let server = serve(&database.url, &["--rate-limits", "off", "--sandbox-credentials", AUTH]);
    let (username, secret) = AUTH.split_once(':').unwrap();
    let api = Client::new(&server.url, Merchant::new(username, secret));
    (database, server, api)
}

/// `kassa <args>` with no KASSA_* variables but those given.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("KASSA_URL").env_remove("KASSA_AUTH").env("HOME", "/nonexistent");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn events_tail_prints_the_feed_and_sessions_get_any_session() {
    let (_database, server, api) = kassa();
    let (hpp, payment, _) = api.hpp_session(json!({"place_order_mode": "NONE"}), json!({})).await;
    api.act(&hpp, "open").await;
    api.act(&hpp, "back").await;
    let feed = api.get("/kassa/v1/events").await.body["events"].as_array().unwrap().clone();
    assert_eq!(feed.len(), 4, "payment created, hpp WAITING, IN_PROGRESS, BACK");

    let env = [("KASSA_URL", server.url.as_str()), ("KASSA_AUTH", AUTH)];
    let tailed = stdout(&run(&["events", "tail", "--from-start", "--count", "4", "--json"], &env));
    let tailed: Vec<Value> = tailed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(tailed, feed, "events tail --json prints the feed's events");
    let summary = stdout(&run(&["events", "tail", "--from-start", "--count", "2", "--kind", "hpp"], &env));
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("hpp WAITING") && lines[1].contains("hpp IN_PROGRESS"), "{summary}");

    let got: Value = serde_json::from_str(&stdout(&run(&["sessions", "get", &hpp, "--json"], &env))).unwrap();
    let sessions = got["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!((sessions[0]["kind"].as_str(), sessions[0]["read"]["status"].as_str()), (Some("hpp"), Some("BACK")));
    let statuses: Vec<&str> =
        sessions[0]["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["WAITING", "IN_PROGRESS", "BACK"]);
    let got: Value = serde_json::from_str(&stdout(&run(&["sessions", "get", &payment, "--json"], &env))).unwrap();
    let payment_read = &got["sessions"][0];
    assert_eq!(
        (payment_read["kind"].as_str(), payment_read["read"]["status"].as_str()),
        (Some("payment"), Some("incomplete"))
    );

    // An in-store payment session and its distribution share their id: both are shown.
    let in_store = api.post("/payments/v1/sessions", kassa_testkit::in_store(json!({"method": "one_qr"}))).await;
    let in_store = in_store.body["session_id"].as_str().unwrap().to_owned();
    let got: Value = serde_json::from_str(&stdout(&run(&["sessions", "get", &in_store, "--json"], &env))).unwrap();
    let mut kinds: Vec<&str> =
        got["sessions"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["distribution", "payment"]);
    assert!(got["sessions"][1]["read"]["status"].is_string(), "{got}");
    let text = stdout(&run(&["sessions", "get", &hpp], &env));
    assert!(text.starts_with(&format!("hpp {hpp}")) && text.contains("#3 BACK"), "{text}");

    let unknown = run(&["sessions", "get", "no-such-session"], &env);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no session no-such-session"), "{unknown:?}");
}

#[tokio::test]
async fn the_kassa_comes_from_flags_the_environment_or_a_profile() {
    let (_database, server, api) = kassa();
    api.payment_session().await;
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("profiles.toml");
    std::fs::write(&profiles, format!("[staging]\nurl = \"{}\"\nauth = \"{AUTH}\"\n", server.url)).unwrap();
    let profiles = profiles.to_str().unwrap();
    let tail = ["events", "tail", "--from-start", "--count", "1"];

    let by_profile = run(&[&tail[..], &["--profiles", profiles, "--profile", "staging"]].concat(), &[]);
    assert!(stdout(&by_profile).contains("payment incomplete"), "{by_profile:?}");
    let by_env = run(&tail, &[("KASSA_PROFILES", profiles), ("KASSA_PROFILE", "staging")]);
    assert!(stdout(&by_env).contains("payment incomplete"));
    // Flags win over the profile.
    let wrong = run(
        &[&tail[..], &["--profiles", profiles, "--profile", "staging", "--auth", "tail:wrong-secret-000000"]].concat(),
        &[],
    );
    assert!(!wrong.status.success() && String::from_utf8_lossy(&wrong.stderr).contains("401"), "{wrong:?}");

    let missing = run(&[&tail[..], &["--profiles", profiles, "--profile", "prod"]].concat(), &[]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("has no [prod] profile"), "{missing:?}");
    let nothing = run(&tail, &[]);
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no kassa given"), "{nothing:?}");
    std::fs::write(dir.path().join("bad.toml"), "[staging]\nurl = 1\n").unwrap();
    let bad = run(
        &[&tail[..], &["--profiles", dir.path().join("bad.toml").to_str().unwrap(), "--profile", "staging"]].concat(),
        &[],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not valid"), "{bad:?}");
}

//! The `kassa` binary as a user runs it: start-up banner, the README walkthrough, merchants,
//! graceful shutdown.

use std::process::Command;

mod support;

use support::{BIN, DatabaseFile, serve};

#[test]
fn serve_prints_where_to_look_and_the_sandbox_credentials_then_stops_on_sigterm() {
    let database = DatabaseFile::new();
    let mut server = serve(&database.url, &[]);
    assert!(server.url.starts_with("http://127.0.0.1:"), "{:?}", server.banner);
    assert!(server.banner.iter().any(|l| l.contains("/openapi.json")), "{:?}", server.banner);
    let credentials = server.credentials().expect("sandbox credentials on a new database");
    let status = Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            "-o",
            "/dev/null",
            "-u",
            &credentials,
            &format!("{}/hpp/v1/sessions/x", server.url),
        ])
        .output()
        .unwrap();
    // Authenticated (404 for an unknown session, not 401).
    assert!(String::from_utf8_lossy(&status.stderr).contains("404"), "{status:?}");
    assert!(server.terminate(), "kassa must exit cleanly on SIGTERM");

    // A second start on the same database creates no second sandbox merchant.
    let server = serve(&database.url, &[]);
    assert!(server.credentials().is_none());
    assert!(server.banner.iter().any(|l| l.contains("1 merchant(s)")), "{:?}", server.banner);
}

#[test]
fn an_acknowledged_change_survives_sigkill() {
    let database = DatabaseFile::new();
    let db = database.url.as_str();
    let auth = "crash:crash-secret-123456789";
    let mut server = serve(db, &["--sandbox-credentials", auth]);
    let cart = kassa_testkit::cart().to_string();
    let created = Command::new("curl")
        .args(["-sS", "--fail-with-body", "-u", auth, "-H", "Content-Type: application/json", "-d", &cart])
        .arg(format!("{}/payments/v1/sessions", server.url))
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let body: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let id = body["session_id"].as_str().unwrap();
    // SIGKILL right after the acknowledgement: no shutdown code runs.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = serve(db, &[]);
    let read = Command::new("curl")
        .args(["-sS", "--fail-with-body", "-u", auth])
        .arg(format!("{}/payments/v1/sessions/{id}", server.url))
        .output()
        .unwrap();
    assert!(read.status.success(), "{read:?}");
    assert!(String::from_utf8_lossy(&read.stdout).contains("\"status\":\"incomplete\""));
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme.split("## Walkthrough").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    // Every block but the one that sets the variables (the test sets them), in order.
    let blocks: Vec<&str> = section
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .filter(|block| !block.starts_with("export "))
        .collect();
    assert!(blocks.len() >= 2 && blocks[0].starts_with("kassa()"), "the walkthrough scripts");
    let script = &blocks.join("\n");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let databases = runtime.block_on(kassa_store::testing::databases());
    for database in &databases {
        walk_through(script, &database.url);
    }
}

fn walk_through(script: &str, database: &str) {
    let server = serve(database, &["--sandbox-credentials", "walkthrough:walkthrough-secret-1234"]);
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .env("KASSA_URL", &server.url)
        .env("KASSA_AUTH", "walkthrough:walkthrough-secret-1234")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "walkthrough failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    for expected in [
        "\"status\":\"WAITING\"",
        "\"status\":\"FAILED\"",
        "\"order_id\"",
        "\"complete\"",
        "\"result_url\"",
        "\"status\":\"PART_CAPTURED\",\"captured_amount\":8000,\"remaining_authorized_amount\":10000",
        "\"status\":\"CAPTURED\",\"order_amount\":18000,\"captured_amount\":18000,\"refunded_amount\":2000",
        "\"refunds\":1",
        "\"status\":\"DISTRIBUTED\"",
        "\"status\":\"COMPLETED\"",
        "\"klarna_reference\"",
    ] {
        assert!(
            stdout.contains(expected) || stderr.contains(expected),
            "{expected} missing\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
    assert!(stderr.contains("\"redirect_url\":\"https://shop.example/ok?sid="), "{stderr}");
    assert!(stdout.to_ascii_lowercase().contains("capture-id: "), "the capture's id header\n{stdout}");
}

#[test]
fn merchant_add_creates_credentials_that_serve_accepts() {
    let database = DatabaseFile::new();
    let db = database.url.as_str();
    let output = Command::new(BIN)
        .args([
            "merchant",
            "add",
            "--name",
            "Bike shop",
            "--username",
            "bikes",
            "--secret",
            "bikes-secret-123456",
            "--database",
            db,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("username: bikes") && stdout.contains("secret:   bikes-secret-123456"), "{stdout}");
    let again = Command::new(BIN)
        .args(["merchant", "add", "--name", "Dup", "--username", "bikes", "--database", db])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a taken username is refused");
    let short = Command::new(BIN)
        .args(["merchant", "add", "--name", "S", "--secret", "short", "--database", db])
        .output()
        .unwrap();
    assert!(!short.status.success() && String::from_utf8_lossy(&short.stderr).contains("at least 16"));

    let server = serve(db, &["--mode", "production"]);
    assert!(server.credentials().is_none(), "no sandbox merchant when one exists (and none in production)");
    let status = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-u",
            "bikes:bikes-secret-123456",
            &format!("{}/payments/v1/sessions/x", server.url),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "404");
}

#[test]
fn unsupported_and_unreachable_databases_are_refused_clearly() {
    for (url, expected) in [
        ("mysql://x", "unsupported database URL"),
        ("postgres://kassa:hunter2@127.0.0.1:1/kassa", "cannot open postgres://kassa:***@127.0.0.1:1/kassa"),
    ] {
        let output = Command::new(BIN).args(["migrate", "--database", url]).output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected) && !stderr.contains("hunter2"), "{stderr}");
    }
}

/// `curl` as `args`: the HTTP status.
fn curl_status(args: &[&str]) -> String {
    let output =
        Command::new("curl").args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"]).args(args).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_auth_failures_flag_turns_the_throttling_on_and_off() {
    let database = DatabaseFile::new();
    let db = database.url.as_str();
    let credentials = ["--sandbox-credentials", "shop:shop-secret-123456"];
    let wrong = ["-u", "shop:not-the-secret-at-all"];
    {
        let server = serve(
            db,
            &[&credentials[..], &["--auth-failures", "2", "--scans-per-address", "1", "--scans-per-merchant", "0"]]
                .concat(),
        );
        let url = format!("{}/payments/v1/sessions/x", server.url);
        assert_eq!(curl_status(&[&wrong[..], &[url.as_str()]].concat()), "401");
        assert_eq!(curl_status(&[&wrong[..], &[url.as_str()]].concat()), "401");
        assert_eq!(curl_status(&[&wrong[..], &[url.as_str()]].concat()), "429");
    }
    let server = serve(db, &["--auth-failures", "0"]);
    let url = format!("{}/payments/v1/sessions/x", server.url);
    for _ in 0..5 {
        assert_eq!(curl_status(&[&wrong[..], &[url.as_str()]].concat()), "401");
    }
    assert_eq!(curl_status(&["-u", "shop:shop-secret-123456", &url]), "404");
}

#[test]
fn rotating_the_webhook_secret_ends_the_dashboard_logins() {
    let database = DatabaseFile::new();
    let db = database.url.as_str();
    let server = serve(db, &["--sandbox-credentials", "shop:shop-secret-123456"]);
    let login = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-D", "-", "-d", "username=shop&secret=shop-secret-123456"])
        .arg(format!("{}/login", server.url))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&login.stdout);
    let cookie = headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie: {headers}"))
        .to_owned();
    let dashboard = format!("{}/dashboard", server.url);
    assert_eq!(curl_status(&["-b", &cookie, &dashboard]), "200");
    let rotated = Command::new(BIN)
        .args(["merchant", "webhooks", "--username", "shop", "--rotate-secret", "--database", db])
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{rotated:?}");
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("1 dashboard login(s) ended"), "{rotated:?}");
    assert_eq!(curl_status(&["-b", &cookie, &dashboard]), "303", "logged out");
}

#[test]
fn encrypted_signing_secrets_need_their_key_to_start_and_move_to_a_new_key_by_reencrypt() {
    const OLD: &str = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const NEW: &str = "new:HxwdHhscGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";
    let database = DatabaseFile::new();
    let db = database.url.as_str();
    let kassa = |args: &[&str], key: Option<&str>| {
        let mut command = Command::new(BIN);
        command.args(args).args(["--database", db]).env_remove("KASSA_SECRET_KEY");
        if let Some(key) = key {
            command.env("KASSA_SECRET_KEY", key);
        }
        command.output().unwrap()
    };
    let added = kassa(&["merchant", "add", "--name", "Bike shop", "--username", "bikes"], Some(OLD));
    assert!(added.status.success(), "{added:?}");
    let stdout = String::from_utf8_lossy(&added.stdout);
    let secret = stdout.lines().find_map(|l| l.strip_prefix("webhook signing secret: ")).unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{stdout}");

    // Without the key (or with another one) neither serve nor the merchant commands start.
    for key in [None, Some(NEW)] {
        let serve = kassa(&["serve", "--listen", "127.0.0.1:0", "--mode", "production"], key);
        let stderr = String::from_utf8_lossy(&serve.stderr);
        assert!(!serve.status.success(), "{stderr}");
        assert!(
            stderr.contains(
                "kassa: the webhook signing secrets of merchant bikes cannot be read: it is encrypted under key old"
            ) && stderr.contains("--secret-key (KASSA_SECRET_KEY)"),
            "{stderr}"
        );
        let shown = kassa(&["merchant", "webhooks", "--username", "bikes"], key);
        assert!(!shown.status.success() && String::from_utf8_lossy(&shown.stderr).contains("cannot be read"));
    }
    let shown = kassa(&["merchant", "webhooks", "--username", "bikes"], Some(OLD));
    assert!(String::from_utf8_lossy(&shown.stdout).contains(&format!("signing secret 1: {secret} (newest)")));

    // Rotation: the new key first, re-encrypt, then the new key alone is enough.
    let moved = kassa(&["merchant", "reencrypt"], Some(&format!("{NEW},{OLD}")));
    assert!(
        String::from_utf8_lossy(&moved.stdout).contains("1 of 1 merchant(s) re-encrypted under key new"),
        "{moved:?}"
    );
    let shown = kassa(&["merchant", "webhooks", "--username", "bikes"], Some(NEW));
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains(&format!("signing secret 1: {secret} (newest)")),
        "{shown:?}"
    );
    let server = serve(db, &["--mode", "production", "--secret-key", NEW]);
    assert!(server.banner.iter().any(|l| l.contains("encrypted at rest (key new)")), "{:?}", server.banner);
}

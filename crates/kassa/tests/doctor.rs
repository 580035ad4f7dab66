//! `kassa doctor` on good and broken configurations: one line per check, exit 1 on a problem.

use std::process::{Command, Output};

mod support;

use support::{BIN, DatabaseFile, serve};

const CREDENTIALS: &str = "doctor:doctor-secret-123456";

fn doctor(args: &[&str]) -> Output {
    Command::new(BIN).arg("doctor").args(args).env_remove("KASSA_SECRET_KEY").output().unwrap()
}

fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn a_good_configuration_is_ok_on_every_check_and_a_listen_address_in_use_by_kassa_is_named() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for database in runtime.block_on(kassa_store::testing::databases()) {
        let server = serve(&database.url, &["--sandbox-credentials", CREDENTIALS]);
        let args = ["--database", &database.url, "--public-url", &server.url, "--sandbox-credentials", CREDENTIALS];
        let output = doctor(&[&args[..], &["--listen", "127.0.0.1:0"]].concat());
        let report = lines(&output);
        assert!(output.status.success(), "{report:#?}\n{}", String::from_utf8_lossy(&output.stderr));
        for expected in [
            "configuration: ok",
            "database: ok (",
            "migrations: ok (all ",
            "durable write: ok (",
            "merchants: ok (1)",
            "signing secrets: ok (stored in clear: no --secret-key)",
            "listen 127.0.0.1:0: ok (can be bound)",
            &format!("public URL {}: ok (a kassa answers /healthz there)", server.url),
            "message senders: ok (",
            "kassa doctor: 0 problem(s), 0 warning(s)",
        ] {
            assert!(report.iter().any(|l| l.starts_with(expected)), "{expected}\n{report:#?}");
        }

        // The server's own address is taken, by a kassa.
        let address = server.url.trim_start_matches("http://");
        let output = doctor(&[&args[..], &["--listen", address]].concat());
        let report = lines(&output);
        assert!(output.status.success(), "a warning is no problem: {report:#?}");
        let expected = format!("listen {address}: warning: in use by a running kassa (it answers /healthz)");
        assert!(report.iter().any(|l| l.starts_with(&expected)), "{report:#?}");
    }
}

#[test]
fn a_broken_configuration_has_each_problem_named_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kassa.toml");
    std::fs::write(&file, "mode = \"production\"\ncallback_leese = 20\n").unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let output = doctor(&[
        "--config",
        file.to_str().unwrap(),
        "--database",
        "postgres://kassa:hunter2@127.0.0.1:1/kassa",
        "--public-url",
        "http://127.0.0.1:1/shop?x=1",
        "--sandbox-credentials",
        CREDENTIALS,
        "--listen",
        &taken,
        "--email-sender",
        "smtp",
        "--smtp-url",
        "smtp://127.0.0.1:1",
        "--smtp-from",
        "kassa <noreply@example.com>",
        "--sms-sender",
        "http",
        "--sms-gateway-url",
        "http://127.0.0.1:1/sms",
    ]);
    let report = lines(&output);
    assert_eq!(output.status.code(), Some(1), "{report:#?}");
    for expected in [
        &format!(
            "configuration: problem: {}: unknown key `callback_leese` (did you mean `callback-lease`?)",
            file.display()
        ),
        "configuration: problem: --public-url \"http://127.0.0.1:1/shop?x=1\" must be an origin without a path",
        "configuration: problem: --sandbox-credentials names the sandbox merchant, which production mode does not create",
        "configuration: warning: no --secret-key",
        "database: problem: cannot connect to postgres://kassa:***@127.0.0.1:1/kassa",
        &format!("listen {taken}: problem: in use by something else"),
        "public URL http://127.0.0.1:1/shop?x=1: warning: no kassa answers there from here",
        "message senders: problem: SMTP server smtp://127.0.0.1:1: Connection error",
        "message senders: problem: SMS gateway http://127.0.0.1:1/sms",
        "kassa doctor: 7 problem(s)",
    ] {
        assert!(report.iter().any(|l| l.starts_with(expected)), "{expected}\n{report:#?}");
    }
    assert!(!String::from_utf8_lossy(&output.stdout).contains("hunter2"));

    let output = doctor(&["--public-url", "not a url", "--listen", "127.0.0.1:0"]);
    let report = lines(&output);
    assert_eq!(output.status.code(), Some(1), "{report:#?}");
    assert!(report.iter().any(|l| l.starts_with("public URL not a url: problem: not an http(s) URL")), "{report:#?}");
}

#[test]
fn doctor_creates_no_database() {
    let database = DatabaseFile::new();
    let path = database.url.trim_start_matches("sqlite://").to_owned();
    let output = doctor(&["--database", &database.url, "--listen", "127.0.0.1:0"]);
    let report = lines(&output);
    assert!(output.status.success(), "{report:#?}");
    assert!(report.contains(&format!("database: warning: {} does not exist yet: serve creates it", database.url)));
    assert!(!std::path::Path::new(&path).exists());
}

//! A real SMTP server for the message tests: aiosmtpd (PyPI) running `tests/smtp/server.py`,
//! with the Python of the venv scripts/test installs it into (`KASSA_TEST_SMTPD`).

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The login aiosmtpd accepts (AUTH PLAIN or LOGIN, without TLS).
pub const USER: &str = "kassa";
pub const PASSWORD: &str = "smtp-secret";

/// The Python that runs aiosmtpd. A test that needs it fails without it: it is never skipped.
fn python() -> String {
    std::env::var("KASSA_TEST_SMTPD").unwrap_or_else(|_| {
        panic!(
            "KASSA_TEST_SMTPD is not set: these tests send email to a real SMTP server (aiosmtpd from PyPI). \
             Run them through scripts/test, which installs it into target/tools/smtpd-venv and exports \
             KASSA_TEST_SMTPD=target/tools/smtpd-venv/bin/python"
        )
    })
}

/// A port on 127.0.0.1 that nothing listens on now (an SMTP server "down"; one started on it later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// kassa's `--smtp-url` for the server on `port`, with its login (plain SMTP: no TLS).
pub fn url(port: u16) -> String {
    format!("smtp://{USER}:{PASSWORD}@127.0.0.1:{port}")
}

/// An aiosmtpd process, killed when dropped. What it received stays in its folder.
pub struct SmtpServer {
    child: Child,
}

impl SmtpServer {
    /// Starts aiosmtpd on 127.0.0.1:`port`, keeping each email it receives as a file in `mailbox`;
    /// returns once it listens.
    pub fn start(port: u16, mailbox: &Mailbox) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/server.py");
        let mut child = Command::new(python())
            .arg(script)
            .args(["--port", &port.to_string(), "--user", USER, "--password", PASSWORD, "--out"])
            .arg(&mailbox.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd with {} (KASSA_TEST_SMTPD): {e}", python()));
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        assert_eq!(ready.trim(), "ready", "aiosmtpd did not start on port {port}");
        Self { child }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The folder an [`SmtpServer`] writes each email it receives to (`<n>.json`, whole).
pub struct Mailbox {
    dir: PathBuf,
    _temp: tempfile::TempDir,
}

impl Mailbox {
    pub fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        Self { dir: temp.path().to_owned(), _temp: temp }
    }

    /// Every email received so far, in arrival order: the envelope (`mail_from`, `rcpt_tos`), the
    /// login that sent it (`auth`: `mechanism`, `login`), its headers (`from`, `to`, `subject`,
    /// `message_id`) and text `body`.
    pub fn received(&self) -> Vec<Value> {
        let mut numbered: Vec<(u64, Value)> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|entry| {
                let path = entry.unwrap().path();
                let number = path.file_name()?.to_str()?.strip_suffix(".json")?.parse().ok()?;
                Some((number, serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()))
            })
            .collect();
        numbered.sort_by_key(|(number, _)| *number);
        numbered.into_iter().map(|(_, email)| email).collect()
    }
}

//! Running the `kassa` binary in tests. Each test file uses part of this.
#![allow(dead_code)]

pub mod smtp;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_kassa");

/// A SQLite database file in a temporary directory: it outlives the processes that use it
/// and is removed when dropped.
pub struct DatabaseFile {
    pub url: String,
    _dir: tempfile::TempDir,
}

impl DatabaseFile {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self { url: format!("sqlite://{}", dir.path().join("kassa.db").display()), _dir: dir }
    }
}

/// A `kassa serve` process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub banner: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The API of this process as the merchant `(username, secret)`.
    pub fn client(&self, (username, secret): (&str, &str)) -> kassa_testkit::Client {
        kassa_testkit::Client::new(&self.url, kassa_testkit::Merchant::new(username, secret))
    }

    /// The sandbox credentials the banner printed (`username:secret`), if any.
    pub fn credentials(&self) -> Option<String> {
        let field =
            |name: &str| self.banner.iter().find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()));
        Some(format!("{}:{}", field("username")?, field("secret")?))
    }

    /// Sends SIGTERM and returns whether the process exited cleanly within 10 s.
    pub fn terminate(&mut self) -> bool {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let child = std::cell::RefCell::new(&mut self.child);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let exited = runtime.block_on(kassa_testkit::until(Duration::from_secs(10), || async {
            child.borrow_mut().try_wait().unwrap()
        }));
        exited.is_ok_and(|status| status.success())
    }
}

/// Starts `kassa serve` on a free port with `database` and `extra` arguments, and reads its banner.
pub fn serve(database: &str, extra: &[&str]) -> Server {
    serve_via(&[], database, extra)
}

/// Like [`serve`], run through the command `prefix` (e.g. `prlimit --nofile=1024:1024 --`),
/// which must exec kassa in its own process.
pub fn serve_via(prefix: &[&str], database: &str, extra: &[&str]) -> Server {
    serve_with(prefix, database, extra, |_| {})
}

/// Like [`serve_via`], with the command set up further by `configure` first (its environment,
/// where its stderr goes).
pub fn serve_with(prefix: &[&str], database: &str, extra: &[&str], configure: impl FnOnce(&mut Command)) -> Server {
    let mut command = match prefix.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(BIN);
            command
        }
        None => Command::new(BIN),
    };
    command.args(["serve", "--listen", "127.0.0.1:0", "--database", database]).args(extra);
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    configure(&mut command);
    let mut child = command.spawn().unwrap();
    let mut banner = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Stop with Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    let url = banner.iter().find_map(|l| l.trim().strip_prefix("API").map(|v| v.trim().to_owned())).expect("API line");
    Server { child, url, banner }
}

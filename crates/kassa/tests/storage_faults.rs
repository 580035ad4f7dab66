//! Storage faults on SQLite: while every fsync of the running server fails (`strace` attached to
//! it injects `EIO` into `fsync`/`fdatasync`), or while its filesystem is full (a small tmpfs the
//! test mounts and fills: `ENOSPC`), kassa acknowledges no change (503 with Klarna's error body,
//! never 2xx) and `/readyz` says it is not ready; once the fault is gone (`strace` detached, the
//! filler removed) it is ready again and serves; after a restart every change it acknowledged is
//! there. The tests run as root (to attach to the server, to mount) and need `strace`: without
//! either they fail and say so (`scripts/test` installs `strace`).

use kassa_testkit::{Client, eventually};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{DatabaseFile, Server};

const AUTH: (&str, &str) = ("faults", "faults-secret-0123456789");
const SESSIONS: usize = 16;
const BEFORE: usize = 12;
const DURING: usize = 2;
const AFTER: usize = 6;

fn assert_root(why: &str) {
    let root = Command::new("id").arg("-u").output().expect("id -u");
    assert_eq!(String::from_utf8_lossy(&root.stdout).trim(), "0", "this test {why}: run it as root");
}

fn serve(database: &str) -> Server {
    support::serve(database, &["--rate-limits", "off", "--sandbox-credentials", &format!("{}:{}", AUTH.0, AUTH.1)])
}

/// `strace` attached to every thread of a process, failing each `fsync` and `fdatasync` with
/// `EIO` until it is dropped (then it detaches and the process runs on untouched).
struct FailingFsync(Child);

impl FailingFsync {
    fn attach(pid: u32) -> Self {
        assert_root("attaches strace");
        let found = Command::new("strace").arg("-V").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "strace is needed (apt-get install strace; scripts/test installs it)"
        );
        let child = Command::new("strace")
            .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync,fdatasync"])
            .args(["-e", "inject=fsync,fdatasync:error=EIO", "-p", &pid.to_string()])
            .stdin(Stdio::null())
            .spawn()
            .expect("strace starts");
        Self(child)
    }
}

impl Drop for FailingFsync {
    fn drop(&mut self) {
        // SIGINT: strace detaches from every thread and exits.
        let _ = Command::new("kill").args(["-INT", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

async fn ready(server: &Server) -> u16 {
    let reply = reqwest::get(format!("{}/readyz", server.url)).await;
    reply.map(|r| r.status().as_u16()).unwrap_or(0)
}

/// What one session went through: the statuses of its acknowledged changes, in order.
#[derive(Default, Clone)]
struct Ledger {
    acknowledged: Vec<String>,
    refused: usize,
}

/// `steps` status changes of `hpp` (open, back, open …); each answer is 2xx with the new status,
/// or (when `refused_is_503`) Klarna's 503, never anything else.
async fn toggle(client: &Client, hpp: &str, steps: usize, ledger: &mut Ledger, refused_is_503: bool) {
    for _ in 0..steps {
        let current = client.status(hpp).await;
        let action = if current == "IN_PROGRESS" { "back" } else { "open" };
        let reply = client.act(hpp, action).await;
        if reply.status.is_success() {
            assert!(!refused_is_503, "{hpp}: a change acknowledged during the fault: {}", reply.body);
            ledger.acknowledged.push(reply.body["session"]["status"].as_str().unwrap().to_owned());
        } else {
            assert!(refused_is_503, "{hpp}: {action} refused with the disk fine: {} {}", reply.status, reply.body);
            reply.assert_error(503, "SERVICE_UNAVAILABLE");
            ledger.refused += 1;
        }
    }
}

async fn round(client: &Client, ledgers: &mut BTreeMap<String, Ledger>, steps: usize, refused_is_503: bool) {
    let mut tasks = Vec::new();
    for (hpp, ledger) in ledgers.iter() {
        let (client, hpp, mut ledger) = (client.clone(), hpp.clone(), ledger.clone());
        tasks.push(tokio::spawn(async move {
            toggle(&client, &hpp, steps, &mut ledger, refused_is_503).await;
            (hpp, ledger)
        }));
    }
    for task in tasks {
        let (hpp, ledger) = task.await.unwrap();
        ledgers.insert(hpp, ledger);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_fsync_acknowledges_nothing_reports_not_ready_and_loses_nothing_acknowledged() {
    let database = DatabaseFile::new();
    let mut server = serve(&database.url);
    let client = server.client(AUTH);
    let mut ledgers = BTreeMap::new();
    for _ in 0..SESSIONS {
        let (hpp, _, _) = client.hpp_session(serde_json::json!({}), serde_json::json!({})).await;
        ledgers.insert(hpp, Ledger::default());
    }
    assert_eq!(ready(&server).await, 200);
    round(&client, &mut ledgers, BEFORE, false).await;

    // The fault: every fsync fails. Readiness says so, and no change is acknowledged.
    let fault = FailingFsync::attach(server.child.id());
    eventually("/readyz to report not ready while fsync fails", Duration::from_secs(20), || async {
        let status = ready(&server).await;
        if status == 503 { Ok(()) } else { Err(format!("/readyz answers {status}")) }
    })
    .await;
    round(&client, &mut ledgers, DURING, true).await;
    assert_eq!(ready(&server).await, 503, "still not ready");

    // The fault ends: ready again, and serving.
    drop(fault);
    let healed = Instant::now();
    eventually("/readyz to report ready once fsync works", Duration::from_secs(20), || async {
        let status = ready(&server).await;
        if status == 200 { Ok(()) } else { Err(format!("/readyz answers {status}")) }
    })
    .await;
    let time_to_ready = healed.elapsed();
    round(&client, &mut ledgers, AFTER, false).await;

    // A restart: every acknowledged change is there, in order.
    drop(std::mem::replace(&mut server, serve(&database.url)));
    let (acknowledged, lost, refused) = verify(&server, &ledgers).await;
    eprintln!(
        "storage faults: {acknowledged} changes acknowledged, {refused} refused during the fault (503), \
         {lost} lost; ready again {} ms after the fault ended",
        time_to_ready.as_millis()
    );
    assert_eq!(acknowledged, SESSIONS * (BEFORE + AFTER));
    assert_eq!(refused, SESSIONS * DURING);
    assert_eq!(lost, 0, "every acknowledged change is there after the restart");
}

/// After a restart: every change acknowledged in `ledgers` is committed, in order, and each
/// session shows its last acknowledged status; answers (acknowledged, lost, refused).
async fn verify(server: &Server, ledgers: &BTreeMap<String, Ledger>) -> (usize, usize, usize) {
    let client = server.client(AUTH);
    let (mut acknowledged, mut lost, mut refused) = (0, 0, 0);
    for (hpp, ledger) in ledgers {
        let feed = client.get(&format!("/kassa/v1/events?session_id={hpp}")).await.assert_success();
        let statuses: Vec<&str> =
            feed.body["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
        let mut committed = statuses.iter().skip(1);
        for status in &ledger.acknowledged {
            acknowledged += 1;
            if !committed.any(|c| c == status) {
                lost += 1;
            }
        }
        refused += ledger.refused;
        if let Some(last) = ledger.acknowledged.last() {
            assert_eq!(client.status(hpp).await, *last, "{hpp}: its last acknowledged status");
        }
    }
    (acknowledged, lost, refused)
}

/// A tmpfs of `megabytes` mounted on a temporary directory, unmounted when dropped.
struct SmallVolume {
    dir: tempfile::TempDir,
}

impl SmallVolume {
    fn mount(megabytes: u32) -> Self {
        assert_root("mounts a small filesystem");
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(mounted.success(), "mount -t tmpfs failed");
        Self { dir }
    }

    fn database(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("kassa.db").display())
    }

    /// Fills what is left with one file; answers its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.write_all(&[0u8; 512]);
        path
    }
}

impl Drop for SmallVolume {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_filesystem_acknowledges_nothing_reports_not_ready_and_loses_nothing_acknowledged() {
    let volume = SmallVolume::mount(16);
    let mut server = serve(&volume.database());
    let client = server.client(AUTH);
    let mut ledgers = BTreeMap::new();
    for _ in 0..8 {
        let (hpp, _, _) = client.hpp_session(serde_json::json!({}), serde_json::json!({})).await;
        ledgers.insert(hpp, Ledger::default());
    }
    round(&client, &mut ledgers, 4, false).await;
    assert_eq!(ready(&server).await, 200);

    // The fault: no space left. Nothing is acknowledged, and readiness says so.
    let filler = volume.fill();
    round(&client, &mut ledgers, DURING, true).await;
    // (A probe's outcome answers for a second: the first check after the fill may still be the
    // one from before it.)
    eventually("/readyz to report not ready while the filesystem is full", Duration::from_secs(20), || async {
        let status = ready(&server).await;
        if status == 503 { Ok(()) } else { Err(format!("/readyz answers {status}")) }
    })
    .await;

    std::fs::remove_file(filler).unwrap();
    let healed = Instant::now();
    eventually("/readyz to report ready once there is space", Duration::from_secs(20), || async {
        let status = ready(&server).await;
        if status == 200 { Ok(()) } else { Err(format!("/readyz answers {status}")) }
    })
    .await;
    let time_to_ready = healed.elapsed();
    round(&client, &mut ledgers, 4, false).await;

    drop(std::mem::replace(&mut server, serve(&volume.database())));
    let (acknowledged, lost, refused) = verify(&server, &ledgers).await;
    eprintln!(
        "full filesystem: {acknowledged} changes acknowledged, {refused} refused while full (503), {lost} lost; \
         ready again {} ms after space was freed",
        time_to_ready.as_millis()
    );
    assert_eq!((acknowledged, refused), (8 * 8, 8 * DURING));
    assert_eq!(lost, 0, "every acknowledged change is there after the restart");
    drop(server);
}

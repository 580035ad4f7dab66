//! PostgreSQL restarts in the middle of a run: both nodes recover, and no acknowledged change is
//! lost. PostgreSQL stopped mid-load: nothing is acknowledged meanwhile (503 in Klarna's body),
//! `/readyz` says not ready, and once it is back the node serves again with nothing lost. The test runs its own throw-away cluster (initdb + pg_ctl on a spare port), so the shared
//! server is never touched.

use kassa_testkit::{Client, eventually};
use reqwest::Method;
use std::cell::RefCell;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

mod support;

use support::Server;

const AUTH: (&str, &str) = ("restart", "restart-secret-0123456789");

/// A PostgreSQL cluster of the test's own, stopped and removed at the end.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

/// PostgreSQL refuses to run as root: as root, run `command` as the `postgres` user.
fn as_postgres(command: &str) -> Command {
    if is_root() {
        let mut su = Command::new("su");
        su.args(["postgres", "-s", "/bin/sh", "-c", command]);
        su
    } else {
        let mut sh = Command::new("sh");
        sh.args(["-c", command]);
        sh
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

impl Cluster {
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists())?;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Command::new("chmod").args(["777", &dir.path().display().to_string()]).status().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let init = format!("{}/initdb -D {} -A trust -U postgres >/dev/null", bin.display(), data.display());
        assert!(as_postgres(&init).status().unwrap().success(), "initdb failed");
        let cluster = Self { bin, data, port, _dir: dir };
        cluster.pg_ctl("start");
        Some(cluster)
    }

    fn pg_ctl(&self, action: &str) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.data.display());
        let command = format!(
            "{}/pg_ctl -D {} -o '{options}' -w -l {}/log {action} >/dev/null",
            self.bin.display(),
            self.data.display(),
            self.data.display()
        );
        assert!(as_postgres(&command).status().unwrap().success(), "pg_ctl {action} failed");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let command =
            format!("{}/pg_ctl -D {} -m immediate stop >/dev/null 2>&1", self.bin.display(), self.data.display());
        let _ = as_postgres(&command).status();
    }
}

fn node(database: &str) -> Server {
    support::serve(database, &["--rate-limits", "off", "--sandbox-credentials", &format!("{}:{}", AUTH.0, AUTH.1)])
}

/// Creates a payment session; `Some(id)` when kassa acknowledged it.
async fn create(node: &Client) -> Option<String> {
    let reply = node.try_call(Method::POST, "/payments/v1/sessions", Some(kassa_testkit::cart())).await.ok()?;
    if !reply.status.is_success() {
        return None;
    }
    reply.body["session_id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_nodes_recover_and_nothing_acknowledged_is_lost() {
    let Some(cluster) = Cluster::start() else {
        eprintln!("\n*** no PostgreSQL binaries under /usr/lib/postgresql: the restart test did NOT run ***\n");
        assert!(!kassa_store::testing::postgres_required(), "PostgreSQL is required");
        return;
    };
    let servers = [node(&cluster.url()), node(&cluster.url())];
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let nodes = servers.each_ref().map(|server| server.client(AUTH).with_http(http.clone()));
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        acknowledged.extend(create(&nodes[i % 2]).await);
    }
    assert_eq!(acknowledged.len(), 20);
    // An immediate stop: no clean shutdown, the restart recovers from the WAL.
    cluster.pg_ctl("-m immediate restart");
    // Requests during and right after the restart may fail (then they were not acknowledged);
    // within a few seconds both nodes serve again.
    let acknowledged = RefCell::new(acknowledged);
    let recovered = RefCell::new([false, false]);
    eventually("both nodes to serve again", Duration::from_secs(30), || async {
        for (i, node) in nodes.iter().enumerate() {
            if let Some(id) = create(node).await {
                acknowledged.borrow_mut().push(id);
                recovered.borrow_mut()[i] = true;
            }
        }
        let recovered = *recovered.borrow();
        if recovered.iter().all(|r| *r) { Ok(()) } else { Err(format!("recovered: {recovered:?}")) }
    })
    .await;
    let mut acknowledged = acknowledged.into_inner();
    for i in 0..20 {
        acknowledged.extend(create(&nodes[i % 2]).await);
    }
    // Every acknowledged session is there, on either node.
    for (i, id) in acknowledged.iter().enumerate() {
        let reply = nodes[i % 2].get(&format!("/payments/v1/sessions/{id}")).await;
        assert_eq!(reply.status, 200, "acknowledged session {id} is gone");
    }
    assert!(acknowledged.len() >= 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_is_down_nothing_is_acknowledged_and_the_node_is_not_ready() {
    let Some(cluster) = Cluster::start() else {
        eprintln!("\n*** no PostgreSQL binaries under /usr/lib/postgresql: the outage test did NOT run ***\n");
        assert!(!kassa_store::testing::postgres_required(), "PostgreSQL is required");
        return;
    };
    let server = node(&cluster.url());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let client = server.client(AUTH).with_http(http.clone());
    let ready = || async { http.get(format!("{}/readyz", server.url)).send().await.map(|r| r.status().as_u16()) };
    let mut acknowledged = Vec::new();
    for _ in 0..20 {
        acknowledged.push(create(&client).await.expect("acknowledged before the outage"));
    }
    assert_eq!(ready().await.unwrap(), 200);

    cluster.pg_ctl("-m immediate stop");
    let mut refused = 0;
    let during: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client.try_call(Method::POST, "/payments/v1/sessions", Some(kassa_testkit::cart())).await
            })
        })
        .collect();
    for request in during {
        let reply = request.await.unwrap().expect("an answer, not a dropped connection");
        reply.assert_error(503, "SERVICE_UNAVAILABLE");
        refused += 1;
    }
    assert_eq!(ready().await.unwrap(), 503, "not ready while PostgreSQL is down");

    cluster.pg_ctl("start");
    let back = std::time::Instant::now();
    eventually("/readyz to report ready once PostgreSQL is back", Duration::from_secs(30), || async {
        match ready().await {
            Ok(200) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let time_to_ready = back.elapsed();
    for _ in 0..20 {
        acknowledged.push(create(&client).await.expect("acknowledged after the outage"));
    }
    for id in &acknowledged {
        let reply = client.get(&format!("/payments/v1/sessions/{id}")).await;
        assert_eq!(reply.status, 200, "acknowledged session {id} is gone");
    }
    eprintln!(
        "postgres outage: {} acknowledged, {refused} refused during the outage (503), 0 lost; ready {} ms after \
         PostgreSQL was back",
        acknowledged.len(),
        time_to_ready.as_millis()
    );
}

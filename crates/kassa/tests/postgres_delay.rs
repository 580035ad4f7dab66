//! A slow network to PostgreSQL: every packet between kassa and its database waits in a proxy
//! of the test's own (a userspace stand-in for `tc netem`, which this kernel lacks). While the
//! delay lasts, kassa answers every change either 2xx (and then it is committed) or 503 in
//! Klarna's body, never anything else; `/readyz` says not ready while a durable write takes
//! longer than its deadline; once the delay is gone it is ready again, and after a restart every
//! acknowledged change is there.

use kassa_store::testing::TestDatabase;
use kassa_testkit::eventually;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod support;

use support::Server;

const AUTH: (&str, &str) = ("delay", "delay-secret-0123456789abc");

/// A TCP proxy to `upstream` that holds every chunk it forwards, both ways, for the current delay.
struct DelayProxy {
    address: SocketAddr,
    delay_ms: Arc<AtomicU64>,
}

impl DelayProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let delay_ms = Arc::new(AtomicU64::new(0));
        let delay = delay_ms.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let delay = delay.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::spawn(forward(client_read, server_write, delay.clone()));
                    forward(server_read, client_write, delay).await;
                });
            }
        });
        Self { address, delay_ms }
    }

    fn delay(&self, millis: u64) {
        self.delay_ms.store(millis, Ordering::SeqCst);
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Arc<AtomicU64>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        let wait = delay.load(Ordering::SeqCst);
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
}

fn serve(database: &str) -> Server {
    let credentials = format!("{}:{}", AUTH.0, AUTH.1);
    support::serve(database, &["--rate-limits", "off", "--ready-timeout", "1", "--sandbox-credentials", &credentials])
}

async fn ready(server: &Server) -> u16 {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let reply = client.get(format!("{}/readyz", server.url)).send().await;
    reply.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_network_to_postgres_never_acknowledges_what_it_did_not_commit() {
    let Some(database) = TestDatabase::postgres().await else { return };
    // postgres://user@host:port/database, with the proxy's address for host:port.
    let (head, rest) = database.url.split_once('@').expect("a user in the URL");
    let (host_port, path) = rest.split_once('/').expect("a database in the URL");
    let upstream: SocketAddr = host_port.parse().expect("host:port of an IP address");
    let proxy = DelayProxy::start(upstream).await;
    let proxied = format!("{head}@{}/{path}", proxy.address);
    let mut server = serve(&proxied);
    let client = server.client(AUTH);
    let mut acknowledged: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for _ in 0..2 {
        let (hpp, _, _) = client.hpp_session(serde_json::json!({}), serde_json::json!({})).await;
        acknowledged.insert(hpp, Vec::new());
    }
    assert_eq!(ready(&server).await, 200);

    // Every packet waits 300 ms each way: a durable write (a few round trips) takes longer than
    // the 1 s /readyz allows.
    proxy.delay(300);
    let slowed = Instant::now();
    let (mut refused, mut other) = (0, Vec::new());
    for (hpp, ledger) in acknowledged.iter_mut() {
        let action = if ledger.last().map(String::as_str) == Some("IN_PROGRESS") { "back" } else { "open" };
        let reply = client.act(hpp, action).await;
        match reply.status.as_u16() {
            200..=299 => ledger.push(reply.body["session"]["status"].as_str().unwrap().to_owned()),
            503 => {
                reply.assert_error(503, "SERVICE_UNAVAILABLE");
                refused += 1;
            }
            status => other.push(format!("{hpp} {action}: {status} {}", reply.body)),
        }
    }
    assert!(other.is_empty(), "only 2xx or 503 under delay: {other:?}");
    assert_eq!(ready(&server).await, 503, "not ready while a durable write takes longer than its deadline");
    let under_delay = slowed.elapsed();

    proxy.delay(0);
    let healed = Instant::now();
    eventually("/readyz to report ready once the delay is gone", Duration::from_secs(30), || async {
        let status = ready(&server).await;
        if status == 200 { Ok(()) } else { Err(status) }
    })
    .await;
    let time_to_ready = healed.elapsed();
    for (hpp, ledger) in acknowledged.iter_mut() {
        let action = if ledger.last().map(String::as_str) == Some("IN_PROGRESS") { "back" } else { "open" };
        let current = client.status(hpp).await;
        let action = if current == "IN_PROGRESS" { "back" } else { action };
        let reply = client.act(hpp, action).await.assert_success();
        ledger.push(reply.body["session"]["status"].as_str().unwrap().to_owned());
    }

    drop(std::mem::replace(&mut server, serve(&proxied)));
    let client = server.client(AUTH);
    let mut lost = 0;
    let mut total = 0;
    for (hpp, ledger) in &acknowledged {
        let feed = client.get(&format!("/kassa/v1/events?session_id={hpp}")).await.assert_success();
        let statuses: Vec<String> =
            feed.body["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap().to_owned()).collect();
        let mut committed = statuses.iter().skip(1);
        for status in ledger {
            total += 1;
            if !committed.any(|c| c == status) {
                lost += 1;
            }
        }
    }
    eprintln!(
        "figure: 300 ms each way to PostgreSQL: {total} changes acknowledged in all, {refused} refused (503) under the \
         delay ({under_delay:?} for 2 changes and a readiness check), {lost} lost; ready {time_to_ready:?} after the delay ended"
    );
    assert_eq!(lost, 0, "every acknowledged change is there after the restart");
}

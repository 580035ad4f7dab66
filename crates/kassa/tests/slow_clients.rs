//! Clients that never finish a request cannot hold the server: they are closed at the header
//! deadline, the connection cap stays under the file limit (an idle connection makes room for a
//! new one), and SIGTERM ends the process within the drain deadline without losing a change.

use kassa_testkit::{Answer, PATIENCE, Receiver, eventually};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;

use support::{DatabaseFile, Server};

const AUTH: (&str, &str) = ("slow", "slow-clients-secret-0123");
const HEADER_TIMEOUT: Duration = Duration::from_secs(3);

fn serve_limited(database: &str, prefix: &[&str], extra: &[&str]) -> Server {
    let credentials = format!("{}:{}", AUTH.0, AUTH.1);
    let mut args = vec!["--rate-limits", "off", "--sandbox-credentials", &credentials];
    args.extend_from_slice(extra);
    support::serve_via(prefix, database, &args)
}

fn address(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

/// A connection that sends part of a request and then nothing; resolves to how long after it
/// connected the server closed it.
async fn half_sent(address: &str, part: &'static [u8]) -> Option<tokio::task::JoinHandle<Duration>> {
    let mut stream = TcpStream::connect(address).await.ok()?;
    let opened = Instant::now();
    stream.write_all(part).await.ok()?;
    Some(tokio::spawn(async move {
        let mut buffer = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buffer)).await {
                Ok(Ok(0) | Err(_)) | Err(_) => return opened.elapsed(),
                Ok(Ok(_)) => {}
            }
        }
    }))
}

/// `/healthz` on a new connection, answered within 2 s.
async fn healthy(client: &reqwest::Client, url: &str) -> bool {
    let asked = client.get(format!("{url}/healthz")).timeout(Duration::from_secs(2)).send().await;
    asked.is_ok_and(|response| response.status().is_success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_at_the_header_deadline_and_never_starve_healthz() {
    rlimit::increase_nofile_limit(4096).unwrap();
    let database = DatabaseFile::new();
    let header_timeout = HEADER_TIMEOUT.as_secs().to_string();
    let server =
        serve_limited(&database.url, &["prlimit", "--nofile=1024:1024", "--"], &["--header-timeout", &header_timeout]);
    let address = address(&server);
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    assert!(healthy(&fresh, &server.url).await);

    let parts: [&'static [u8]; 3] =
        [b"GET /heal", b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"POST /v1/sessions HTTP/1.1\r\nContent-Le"];
    let mut slow = Vec::new();
    let mut unhealthy = 0;
    for i in 0..1_100 {
        if let Some(waiting) = half_sent(&address, parts[i % parts.len()]).await {
            slow.push(waiting);
        }
        if i % 100 == 99 && !healthy(&fresh, &server.url).await {
            unhealthy += 1;
        }
    }
    assert_eq!(slow.len(), 1_100, "every slow connection was accepted");
    // While they are all held (or being closed for room), /healthz keeps answering.
    let watch_until = Instant::now() + HEADER_TIMEOUT + Duration::from_secs(2);
    while Instant::now() < watch_until {
        if !healthy(&fresh, &server.url).await {
            unhealthy += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(unhealthy, 0, "/healthz must answer throughout");
    let slack = Duration::from_millis(1_500);
    let mut longest = Duration::ZERO;
    for waiting in slow {
        longest = longest.max(waiting.await.unwrap());
    }
    eprintln!(
        "figure: 1,100 half-sent connections under a 1,024 file limit: /healthz failed {unhealthy} times; the longest held {longest:?} (header timeout {HEADER_TIMEOUT:?})"
    );
    assert!(
        longest <= HEADER_TIMEOUT + slack,
        "a slow connection stayed open {longest:?} (header timeout {HEADER_TIMEOUT:?})"
    );
    assert!(healthy(&fresh, &server.url).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_within_the_drain_deadline_despite_a_half_sent_request_and_loses_nothing() {
    let database = DatabaseFile::new();
    let receiver = Receiver::start().await;
    receiver.answer_always(Answer::hang());
    let drain = ["--header-timeout", "120", "--drain-deadline", "2"];
    let mut first = serve_limited(&database.url, &[], &drain);
    let api = first.client(AUTH);
    let mut sessions = Vec::new();
    for _ in 0..5 {
        let (hpp, _, _) = api.hpp_session(json!({}), receiver.merchant_urls()).await;
        api.act(&hpp, "open").await.assert_success();
        sessions.push(hpp);
    }
    eventually("the first callbacks are in flight", PATIENCE, || async { receiver.count() >= 5 }).await;
    let _half_open =
        half_sent(&address(&first), b"POST /payments/v1/sessions HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{\"a\"")
            .await
            .expect("connected");
    let _idle = TcpStream::connect(address(&first)).await.unwrap();

    let asked = Instant::now();
    assert!(tokio::task::block_in_place(|| first.terminate()), "kassa must exit cleanly on SIGTERM");
    let took = asked.elapsed();
    eprintln!(
        "figure: SIGTERM with a half-sent request, an idle connection and hung callback attempts: exited after {took:?} (drain deadline 2 s)"
    );
    assert!(took < Duration::from_secs(6), "SIGTERM took {took:?} with a drain deadline of 2 s");

    receiver.answer_always(Answer::ok());
    let before = receiver.count();
    let second = serve_limited(&database.url, &[], &[]);
    let api = second.client(AUTH);
    for hpp in &sessions {
        let read = api.get(&format!("/hpp/v1/sessions/{hpp}")).await.assert_success().body;
        assert_eq!(read["status"], "IN_PROGRESS", "the acknowledged change survived: {read}");
    }
    eventually("the pending callbacks resumed after the restart", PATIENCE, || async {
        let ok: std::collections::BTreeSet<String> =
            receiver.received()[before..].iter().map(|r| r.session_id().to_owned()).collect();
        ok.len() == sessions.len()
    })
    .await;
}

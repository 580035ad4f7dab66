//! `kassa listen` against a remote kassa (another process): 1,000 events forwarded to a local
//! receiver while the stream between them is broken twice, each forwarded exactly once, in
//! per-session order, signed so that the independent `standardwebhooks` crate verifies them,
//! and what kassa's own callback of the same event carries. On SQLite, and on PostgreSQL with
//! the events made on another node than the one listen follows.

mod support;

use kassa_store::testing::TestDatabase;
use kassa_testkit::{Client, Merchant, Received, Receiver};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{BIN, DatabaseFile, serve};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const SESSIONS: usize = 250;
/// Each session: created (WAITING), opened (IN_PROGRESS), back (BACK), opened again.
const EVENTS_PER_SESSION: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_forwards_every_event_once_across_broken_streams() {
    let database = DatabaseFile::new();
    forwards_every_event_once(&database.url, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_follows_one_node_while_the_events_happen_on_another() {
    let Some(database) = TestDatabase::postgres().await else { return };
    forwards_every_event_once(&database.url, true).await;
}

/// Listens to one node of `database` through a proxy that is cut twice; the events are made
/// on that node or (`second_node`) on another one.
async fn forwards_every_event_once(database: &str, second_node: bool) {
    let secret = add_merchant(database);
    let server = serve(database, &["--rate-limits", "off"]);
    let other = second_node.then(|| serve(database, &["--rate-limits", "off"]));
    let writer = other.as_ref().unwrap_or(&server);
    let api = Client::new(&writer.url, Merchant::new("shop", "shop-secret-0123456789"));
    let proxy = Proxy::start(&server.url).await;
    let receiver = Receiver::start().await;
    let mut listen = Killed(
        Command::new(BIN)
            .args(["listen", "--from-start", "--kind", "hpp", "--forward-to", &format!("{}/hooks", receiver.url)])
            .args(["--url", &proxy.url, "--auth", "shop:shop-secret-0123456789"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let stdout = listen.0.stdout.take().unwrap();
    let collected = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            collected.lock().unwrap().push(line);
        }
    });

    // A few sessions also send kassa's own callbacks (to /real), to compare with what listen sends.
    let real = json!({"status_update": format!("{}/real", receiver.url)});
    let mut sessions = Vec::new();
    for half in 0..2 {
        for i in 0..SESSIONS / 2 {
            let urls = if half == 0 && i < 5 { real.clone() } else { json!({}) };
            let (id, _, _) = api.hpp_session(json!({"place_order_mode": "NONE"}), urls).await;
            for action in ["open", "back", "open"] {
                assert_eq!(api.act(&id, action).await.status, 200);
            }
            sessions.push(id);
        }
        // The stream breaks in the middle: once while events still wait to be forwarded, once
        // after the listener caught up.
        hooks(&receiver, 300).await;
        proxy.cut();
        if half == 0 {
            hooks(&receiver, SESSIONS / 2 * EVENTS_PER_SESSION).await;
            proxy.cut();
        }
    }

    hooks(&receiver, SESSIONS * EVENTS_PER_SESSION).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let forwarded: Vec<Received> = receiver.received().into_iter().filter(|r| r.uri.path() == "/hooks").collect();
    assert_eq!(forwarded.len(), SESSIONS * EVENTS_PER_SESSION, "each event forwarded once, no more");
    assert!(proxy.connections() >= 3, "the stream was broken and resumed: {} connections", proxy.connections());

    let ids: HashSet<&str> = forwarded.iter().map(Received::event_id).collect();
    assert_eq!(ids.len(), forwarded.len(), "no event forwarded twice");

    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    for request in &forwarded {
        verifier.verify(&request.body, &request.headers).unwrap_or_else(|e| panic!("{e}: {request:?}"));
        assert_eq!(request.header("kassa-session-kind"), "hpp");
        assert_eq!(request.header("content-type"), "application/json");
    }

    let mut per_session: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for request in &forwarded {
        per_session.entry(request.session_id()).or_default().push(request.sequence());
    }
    assert_eq!(per_session.len(), SESSIONS);
    for (session, sequences) in &per_session {
        assert_eq!(sequences, &[1, 2, 3, 4], "session {session} in order");
        assert!(sessions.iter().any(|s| s == session));
    }

    // What listen sent for an event is what kassa's own callback of it carries.
    let originals: Vec<Received> = receiver.received().into_iter().filter(|r| r.uri.path() == "/real").collect();
    assert!(!originals.is_empty(), "kassa sent its own callbacks too");
    for original in &originals {
        let copy = forwarded.iter().find(|f| f.event_id() == original.event_id()).expect("the event forwarded");
        assert_eq!(copy.json(), original.json(), "the body of {}", original.event_id());
        for header in ["kassa-event-sequence", "kassa-session-id", "kassa-session-kind"] {
            assert_eq!(copy.header(header), original.header(header), "{header}");
        }
        verifier.verify(&original.body, &original.headers).unwrap();
    }

    let printed = lines.lock().unwrap().clone();
    assert_eq!(printed.len(), forwarded.len(), "a line per event");
    assert!(printed.iter().all(|l| l.contains(" hpp ") && l.contains("<-- 204")), "{:?}", &printed[..3]);
}

/// A child process killed when dropped (also when the test fails).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Adds the merchant `shop` to the database with the CLI and returns its webhook signing secret
/// as `merchant add` printed it.
fn add_merchant(database: &str) -> String {
    let output = Command::new(BIN)
        .args(["merchant", "add", "--name", "Shop", "--username", "shop", "--secret", "shop-secret-0123456789"])
        .args(["--database", database])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("webhook signing secret:").map(|s| s.trim().to_owned()))
        .expect("the signing secret printed")
}

/// Waits for at least `count` forwarded requests.
async fn hooks(receiver: &Receiver, count: usize) -> Vec<Received> {
    kassa_testkit::eventually(format!("{count} forwarded events"), Duration::from_secs(60), || async {
        let got: Vec<Received> = receiver.received().into_iter().filter(|r| r.uri.path() == "/hooks").collect();
        if got.len() >= count { Ok(got) } else { Err(format!("{} forwarded", got.len())) }
    })
    .await
}

/// A TCP proxy in front of kassa whose connections the test can cut.
struct Proxy {
    url: String,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepted: Arc<Mutex<usize>>,
}

impl Proxy {
    async fn start(target_url: &str) -> Self {
        let target = target_url.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (pipes, accepted) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(0)));
        let (pipes_, accepted_) = (pipes.clone(), accepted.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                *accepted_.lock().unwrap() += 1;
                pipes_.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                }));
            }
        });
        Self { url, pipes, accepted }
    }

    /// Closes every connection open now.
    fn cut(&self) {
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    fn connections(&self) -> usize {
        *self.accepted.lock().unwrap()
    }
}

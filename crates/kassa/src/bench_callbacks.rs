//! `kassa bench-callbacks`: how fast status callbacks leave.
//!
//! Everything runs in this process on a fresh SQLite file: the server, its delivery worker, a
//! fast local receiver (answers 204 at once), and the load. Two runs:
//! 1. latency: status changes at a steady rate through the API; for each, the time from sending
//!    the request (so: before its commit) to its callback arriving at the receiver;
//! 2. throughput: a backlog of callbacks committed at once (many sessions, one change each),
//!    drained with `--in-flight` callbacks at a time; deliveries per second until the last one.

use crate::cli::CallbackBenchArgs;
use crate::local;
use crate::plot::{self, Series};
use crate::progress;
use axum::http::HeaderMap;
use indicatif::ProgressBar;
use kassa_core::hpp::{HppAction, HppOptions, HppSession, MerchantUrls, NewHppSession};
use kassa_server::AppState;
use kassa_server::model::ids;
use kassa_server::wire::hpp::HppSessionV1;
use kassa_store::{Change, NewDelivery, NewEvent, SessionKind, SessionWrite, Stored};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Default)]
struct Arrivals {
    by_session: Mutex<HashMap<String, Instant>>,
    arrived: Notify,
}

impl Arrivals {
    fn count(&self) -> usize {
        self.by_session.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Waits until `count` callbacks arrived in all; `bar` counts those from `from` on.
    async fn wait_for(&self, count: usize, within: Duration, bar: &ProgressBar, from: usize) -> Result<(), String> {
        let deadline = Instant::now() + within;
        while self.count() < count {
            bar.set_position(self.count().saturating_sub(from) as u64);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("only {} of {count} callbacks arrived in {within:?}", self.count()));
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(50)), self.arrived.notified()).await;
        }
        bar.finish_and_clear();
        Ok(())
    }
}

async fn receiver(arrivals: Arc<Arrivals>) -> Result<String, String> {
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let arrivals = arrivals.clone();
        async move {
            let at = Instant::now();
            if let Some(session) = headers.get("kassa-session-id").and_then(|v| v.to_str().ok()) {
                if let Ok(mut map) = arrivals.by_session.lock() {
                    map.entry(session.to_owned()).or_insert(at);
                }
                arrivals.arrived.notify_waiters();
            }
            axum::http::StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let url = format!("http://{}/callback", listener.local_addr().map_err(|e| e.to_string())?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

pub async fn run(args: CallbackBenchArgs) -> Result<(), String> {
    let durability = args.durability;
    let server = local::start(durability, |config| {
        config.delivery.max_in_flight = args.in_flight.into();
        config.delivery.max_per_host = args.in_flight.into();
    })
    .await?;
    let (state, base, store) = (server.state.clone(), server.url.clone(), server.state.store.clone());
    let arrivals = Arc::new(Arrivals::default());
    let target = receiver(arrivals.clone()).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().map_err(|e| e.to_string())?;
    let auth = (server.username.clone(), server.secret.clone());
    println!(
        "kassa bench-callbacks: durability {}, {} in flight, everything in one process",
        format!("{:?}", args.durability).to_lowercase(),
        args.in_flight
    );
    println!();
    println!("| run | callbacks | rate | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");

    // 1. Latency at a steady rate.
    let sessions = hpp_sessions(&client, &base, &auth, &target, args.changes).await?;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let acknowledged: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let period = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let paced = progress::bar(sessions.len(), &format!("status changes at {} per second", args.rate));
    let started = Instant::now();
    for session in &sessions {
        ticks.tick().await;
        paced.inc(1);
        let (client, session, base, auth) = (client.clone(), session.clone(), base.clone(), auth.clone());
        let (sent, acknowledged) = (sent.clone(), acknowledged.clone());
        tokio::spawn(async move {
            let at = Instant::now();
            if let Ok(mut map) = sent.lock() {
                map.insert(session.clone(), at);
            }
            let url = format!("{base}/sandbox/v1/hpp/sessions/{session}/open");
            let response = client.post(url).basic_auth(&auth.0, Some(&auth.1)).send().await;
            if response.is_ok_and(|r| r.status().is_success())
                && let Ok(mut map) = acknowledged.lock()
            {
                map.insert(session, Instant::now());
            }
        });
    }
    let offered = sessions.len() as f64 / started.elapsed().as_secs_f64();
    paced.finish_and_clear();
    let arriving = progress::bar(sessions.len(), "callbacks arrived");
    arrivals.wait_for(sessions.len(), Duration::from_secs(120), &arriving, 0).await?;
    // Let the last acknowledgements be recorded.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let between = |from: &Mutex<HashMap<String, Instant>>, to: &Mutex<HashMap<String, Instant>>| -> Vec<Duration> {
        let from = from.lock().map(|m| m.clone()).unwrap_or_default();
        let to = to.lock().map(|m| m.clone()).unwrap_or_default();
        let mut spans: Vec<Duration> =
            sessions.iter().filter_map(|s| Some(to.get(s)?.saturating_duration_since(*from.get(s)?))).collect();
        spans.sort();
        spans
    };
    let early = between(&acknowledged, &arrivals.by_session).iter().filter(|d| d.is_zero()).count();
    let runs = [
        ("status change: request sent → acknowledged", between(&sent, &acknowledged)),
        ("callback: request sent → callback arrived", between(&sent, &arrivals.by_session)),
        ("callback: acknowledged → callback arrived", between(&acknowledged, &arrivals.by_session)),
    ];
    for (name, spans) in &runs {
        println!(
            "| {name} | {} | {offered:.0} changes/s | {:.2} ms | {:.2} ms | {:.2} ms |",
            spans.len(),
            percentile(spans, 0.5),
            percentile(spans, 0.99),
            percentile(spans, 1.0)
        );
    }

    println!();
    println!("({early} callbacks arrived before the client had read its acknowledgement; they count as 0 ms above.)");
    println!();
    // 2. Throughput from a backlog.
    let before = arrivals.count();
    let backlog = backlog_change(&state, &server.merchant_id, &target, args.backlog)?;
    store.commit(backlog).await.map_err(|e| e.to_string())?;
    let drained_from = Instant::now();
    state.bus.deliveries_due();
    let draining = progress::bar(args.backlog as usize, "backlog delivered");
    arrivals.wait_for(before + args.backlog as usize, Duration::from_secs(300), &draining, before).await?;
    let elapsed = drained_from.elapsed();
    println!(
        "| backlog drained | {} | {:.0} deliveries/s | | | {:.2} s in all |",
        args.backlog,
        f64::from(args.backlog) / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    if let Some(path) = &args.plot {
        let mut series: Vec<Series> =
            runs.into_iter().map(|(name, latencies)| Series { name: format!("paced: {name}"), latencies }).collect();
        // The backlog's callbacks: every one that arrived that was not one of the paced run's.
        let paced: HashSet<&String> = sessions.iter().collect();
        let backlog = arrivals.by_session.lock().map(|m| m.clone()).unwrap_or_default();
        let latencies = backlog
            .iter()
            .filter(|(session, _)| !paced.contains(session))
            .map(|(_, at)| at.saturating_duration_since(drained_from))
            .collect();
        series.push(Series { name: "backlog: commit acknowledged → callback arrived".into(), latencies });
        plot::percentiles(path, "kassa bench-callbacks: latency distributions, p0 to p100", &series)?;
        eprintln!("kassa bench-callbacks: latency plot written to {}", path.display());
    }
    server.stop().await
}

/// `count` HPP sessions (over a few payment sessions) whose callbacks go to `target`.
async fn hpp_sessions(
    client: &reqwest::Client,
    base: &str,
    auth: &(String, String),
    target: &str,
    count: u32,
) -> Result<Vec<String>, String> {
    let cart = json!({"purchase_country": "SE", "purchase_currency": "SEK", "order_amount": 100,
                      "order_lines": [{"name": "x", "quantity": 1, "unit_price": 100, "total_amount": 100}]});
    let mut payments = Vec::new();
    for _ in 0..16 {
        let response = client
            .post(format!("{base}/payments/v1/sessions"))
            .basic_auth(&auth.0, Some(&auth.1))
            .json(&cart)
            .send()
            .await;
        let body: serde_json::Value = response.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        payments.push(body["session_id"].as_str().ok_or("no payment session")?.to_owned());
    }
    let mut sessions = Vec::with_capacity(count as usize);
    let bar = progress::bar(count as usize, "HPP sessions created");
    for i in 0..count as usize {
        bar.inc(1);
        let body = json!({
            "payment_session_url": format!("{base}/payments/v1/sessions/{}", payments[i % payments.len()]),
            "merchant_urls": {"status_update": target},
        });
        let response =
            client.post(format!("{base}/hpp/v1/sessions")).basic_auth(&auth.0, Some(&auth.1)).json(&body).send().await;
        let body: serde_json::Value = response.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        sessions.push(body["session_id"].as_str().ok_or_else(|| format!("no HPP session: {body}"))?.to_owned());
    }
    bar.finish_and_clear();
    Ok(sessions)
}

/// `count` HPP sessions, each created and opened, with the callback of the opening: one commit.
fn backlog_change(state: &AppState, merchant_id: &str, target: &str, count: u32) -> Result<Change, String> {
    let now = state.now();
    let mut change = Change::default();
    let event = |session: &HppSession, seq: u64| NewEvent {
        event_id: ids::new_id(),
        merchant_id: merchant_id.to_owned(),
        session_kind: SessionKind::Hpp,
        session_id: session.id.clone(),
        seq,
        status: session.status().as_str(),
        body: serde_json::to_value(HppSessionV1::from(session)).unwrap_or_default(),
        created_at: now,
        caused_by: None,
    };
    for _ in 0..count {
        let new = NewHppSession {
            id: ids::new_id(),
            merchant_id: merchant_id.to_owned(),
            payment_session_id: ids::new_id(),
            payment_session_expires_at: now.plus_hours(48),
            merchant_urls: MerchantUrls { status_update: Some(target.to_owned()), ..MerchantUrls::default() },
            options: HppOptions::default(),
            profile_id: None,
            distribution_token: ids::random_hex::<16>(),
        };
        let (created, _) = HppSession::create(new, now);
        let (opened, _) = created.apply(HppAction::Open, now).map_err(|e| e.to_string())?;
        let opening = event(&opened, 2);
        let delivery = NewDelivery {
            id: ids::new_id(),
            event_id: opening.event_id.clone(),
            merchant_id: merchant_id.to_owned(),
            session_kind: SessionKind::Hpp,
            session_id: opened.id.clone(),
            seq: 2,
            target: target.to_owned(),
            url: target.to_owned(),
            policy: kassa_core::retry::RetryPolicy::Klarna,
            created_at: now,
        };
        let stored = Stored { record: created.clone(), revision: 1 };
        change = change
            .session(SessionWrite::insert(&created).map_err(|e| e.to_string())?)
            .event(event(&created, 1))
            .session(SessionWrite::update(&stored, &opened).map_err(|e| e.to_string())?)
            .event(opening)
            .delivery(delivery);
    }
    Ok(change)
}

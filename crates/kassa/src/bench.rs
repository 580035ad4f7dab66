//! `kassa bench`: HPP create, read and status-change throughput, the hosted payment page, and the
//! in-store flow (create, result read, open, pay with an automatic captured order), over real HTTP.
//!
//! Without `--url` it starts its own server in this process on a fresh SQLite file (durable
//! commits, as `serve`); with `--url` it drives a running kassa (sandbox mode) from outside.

use crate::cli::BenchArgs;
use crate::local;
use crate::plot::{self, Series};
use crate::progress;
use kassa_store::sql::Durability;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
struct Target {
    url: String,
    username: String,
    secret: String,
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    let (target, local) = match (&args.url, &args.auth) {
        (Some(url), Some(auth)) => {
            let (username, secret) = auth.split_once(':').ok_or("--auth must be username:secret")?;
            let target =
                Target { url: url.trim_end_matches('/').to_owned(), username: username.into(), secret: secret.into() };
            (target, None)
        }
        (None, None) => {
            let server = local::start(Durability::Full, |_| {}).await?;
            let target =
                Target { url: server.url.clone(), username: server.username.clone(), secret: server.secret.clone() };
            (target, Some(server))
        }
        _ => return Err("give both --url and --auth, or neither".into()),
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.into())
        .build()
        .map_err(|e| e.to_string())?;
    let bench = Bench { client, target, concurrency: args.concurrency.into(), latencies: Arc::default() };
    println!(
        "kassa bench: {} requests per step, concurrency {}, target {}",
        args.requests, args.concurrency, bench.target.url
    );
    println!();
    println!("| step | requests | throughput | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");

    let payments = bench.payment_sessions(args.concurrency.into()).await?;
    let payments = Arc::new(payments);
    let created = bench
        .step("HPP create (POST /hpp/v1/sessions)", args.requests, {
            let payments = payments.clone();
            move |b, i| {
                let body = json!({
                    "payment_session_url": format!("{}/payments/v1/sessions/{}", b.target.url, payments[i % payments.len()]),
                    "merchant_urls": {"success": "https://shop.example/ok?sid={{session_id}}"},
                });
                b.send(reqwest::Method::POST, "/hpp/v1/sessions".into(), Some(body))
            }
        })
        .await?;
    let ids: Arc<Vec<String>> =
        Arc::new(created.iter().filter_map(|v| v["session_id"].as_str().map(str::to_owned)).collect());
    bench
        .step("HPP read (GET /hpp/v1/sessions/{id})", args.requests, {
            let ids = ids.clone();
            move |b, i| b.send(reqwest::Method::GET, format!("/hpp/v1/sessions/{}", ids[i % ids.len()]), None)
        })
        .await?;
    bench
        .step("HPP status change (sandbox open: WAITING → IN_PROGRESS)", ids.len(), {
            let ids = ids.clone();
            move |b, i| b.send(reqwest::Method::POST, format!("/sandbox/v1/hpp/sessions/{}/open", ids[i]), None)
        })
        .await?;
    bench
        .step("Payment page (GET /hpp/payments/{id}: the HTML a phone loads)", args.requests, {
            let ids = ids.clone();
            move |b, i| b.send(reqwest::Method::GET, format!("/hpp/payments/{}", ids[i % ids.len()]), None)
        })
        .await?;
    in_store(&bench, args.requests).await?;
    if let Some(path) = &args.plot {
        let series = std::mem::take(&mut *bench.latencies.lock().map_err(|e| e.to_string())?);
        plot::percentiles(path, "kassa bench: latency of each step, p0 to p100", &series)?;
        eprintln!("kassa bench: latency plot written to {}", path.display());
    }
    match local {
        Some(server) => server.stop().await,
        None => Ok(()),
    }
}

/// The in-store steps (seed 000): each session is distributed by the scheduler between its create
/// and the first read of it.
async fn in_store(bench: &Bench, requests: usize) -> Result<(), String> {
    let store = json!({"in_store_payment": [{"store_info": {"merchant_store_id": "Bench Shop", "store_terminal_id": "POS1",
        "store_address": {"street_address": "Drottninggatan", "postal_code": "11151", "city": "Stockholm", "country": "SE"}}}]});
    let mut session = cart();
    session["acquiring_channel"] = json!("in_store");
    session["attachment"] =
        json!({"content_type": "application/vnd.klarna.internal.emd-v2+json", "body": store.to_string()});
    session["distribution"] = json!({"method": "one_qr"});
    let created = bench
        .step("In-store create (POST /payments/v1/sessions, distribution)", requests, move |b, _| {
            b.send(reqwest::Method::POST, "/payments/v1/sessions".into(), Some(session.clone()))
        })
        .await?;
    let ids: Arc<Vec<String>> =
        Arc::new(created.iter().filter_map(|v| v["session_id"].as_str().map(str::to_owned)).collect());
    let read = bench
        .step("In-store result (GET /iss/v1/distributions/{id})", ids.len(), {
            let ids = ids.clone();
            move |b, i| b.send(reqwest::Method::GET, format!("/iss/v1/distributions/{}", ids[i]), None)
        })
        .await?;
    let waiting = read.iter().filter(|r| r["status"] == "WAITING").count();
    for (action, name) in [
        ("open", "In-store open (sandbox: DISTRIBUTED → ACCESSED)"),
        ("pay", "In-store pay (sandbox: order placed and captured, COMPLETED)"),
    ] {
        bench
            .step(name, ids.len() - waiting, {
                let ids = ids.clone();
                move |b, i| {
                    b.send(reqwest::Method::POST, format!("/sandbox/v1/distributions/{}/{action}", ids[i]), None)
                }
            })
            .await?;
    }
    println!();
    println!("{waiting} of {} in-store sessions were still WAITING at their first read", ids.len());
    Ok(())
}

fn cart() -> Value {
    json!({
        "purchase_country": "SE", "purchase_currency": "SEK", "locale": "en-SE",
        "order_amount": 18000, "order_tax_amount": 3000,
        "order_lines": [{"name": "Cool Bike", "quantity": 1, "unit_price": 20000, "tax_rate": 2000,
                         "total_amount": 18000, "total_discount_amount": 2000, "total_tax_amount": 3000}]
    })
}

#[derive(Clone)]
struct Bench {
    client: reqwest::Client,
    target: Target,
    concurrency: usize,
    /// Each step's latencies, in the order the steps ran.
    latencies: Arc<Mutex<Vec<Series>>>,
}

type Reply = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, String>> + Send>>;

impl Bench {
    fn send(&self, method: reqwest::Method, path: String, body: Option<Value>) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.target.url))
            .basic_auth(&self.target.username, Some(&self.target.secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        Box::pin(async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
            }
            Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        })
    }

    async fn payment_sessions(&self, count: usize) -> Result<Vec<String>, String> {
        let cart = cart();
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            let created = self.send(reqwest::Method::POST, "/payments/v1/sessions".into(), Some(cart.clone())).await?;
            ids.push(created["session_id"].as_str().ok_or("no session_id")?.to_owned());
        }
        Ok(ids)
    }

    /// Runs `requests` calls of `call` with `concurrency` workers, with a progress bar; prints
    /// one table row and keeps the latencies.
    async fn step<F>(&self, name: &str, requests: usize, call: F) -> Result<Vec<Value>, String>
    where
        F: Fn(&Bench, usize) -> Reply + Send + Sync + 'static,
    {
        let call = Arc::new(call);
        let next = Arc::new(AtomicUsize::new(0));
        let bar = progress::bar(requests, name);
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..self.concurrency {
            let (bench, call, next, bar) = (self.clone(), call.clone(), next.clone(), bar.clone());
            workers.push(tokio::spawn(async move {
                let mut results = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        return Ok::<_, String>(results);
                    }
                    let sent = Instant::now();
                    let value = call(&bench, i).await?;
                    results.push((sent.elapsed(), value));
                    bar.inc(1);
                }
            }));
        }
        let mut results = Vec::with_capacity(requests);
        for worker in workers {
            results.extend(worker.await.map_err(|e| e.to_string())??);
        }
        let elapsed = started.elapsed();
        bar.finish_and_clear();
        let mut latencies: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
        latencies.sort();
        let at =
            |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
        println!(
            "| {name} | {requests} | {:.0} req/s | {:.2} ms | {:.2} ms | {:.2} ms |",
            requests as f64 / elapsed.as_secs_f64(),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0))
        );
        if let Ok(mut kept) = self.latencies.lock() {
            kept.push(Series { name: name.to_owned(), latencies });
        }
        Ok(results.into_iter().map(|(_, v)| v).collect())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

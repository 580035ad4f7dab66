//! Spawning a server and talking to it.

use kassa_server::app::config::RateLimits;
use kassa_server::model::credentials;
use kassa_server::{AppState, Config, Mode};
use kassa_store::Store;
use kassa_store::testing::{Backend, TestDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct Merchant {
    pub username: String,
    pub secret: String,
}

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub merchant: Merchant,
    pub other: Merchant,
    pub state: AppState,
    database: TestDatabase,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn spawn() -> TestApp {
    spawn_in(Mode::Sandbox).await
}

/// A server without rate limits (tests create sessions faster than Klarna allows); rate-limit
/// tests use [`spawn_with`].
pub async fn spawn_in(mode: Mode) -> TestApp {
    spawn_with(mode, |config| config.rate_limits = RateLimits::off()).await
}

/// A response with its body read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Reply {
    /// Asserts Klarna's error body and returns it.
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "status; body {}", self.body);
        assert_eq!(self.headers["content-type"], "application/json", "content type of {}", self.body);
        assert_eq!(self.body["error_code"], code, "error_code; body {}", self.body);
        let messages = self.body["error_messages"].as_array().expect("error_messages array");
        assert!(!messages.is_empty() && messages.iter().all(Value::is_string));
        let correlation = self.body["correlation_id"].as_str().expect("correlation_id");
        assert_eq!(self.headers["klarna-correlation-id"], correlation);
        let keys: Vec<&String> = self.body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["correlation_id", "error_code", "error_messages"]);
        &self.body
    }

    pub fn message(&self) -> String {
        self.body["error_messages"]
            .as_array()
            .map(|m| m.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "))
            .unwrap_or_default()
    }
}

pub fn cart() -> Value {
    json!({
        "purchase_country": "SE",
        "purchase_currency": "SEK",
        "locale": "en-SE",
        "order_amount": 18000,
        "order_tax_amount": 3000,
        "order_lines": [{
            "type": "physical", "reference": "SKU-1", "name": "Cool Bike", "quantity": 1,
            "unit_price": 20000, "tax_rate": 2000, "total_amount": 18000,
            "total_discount_amount": 2000, "total_tax_amount": 3000
        }]
    })
}

/// The store-info attachment a point of sale sends (reference §3.1).
pub fn store_info() -> Value {
    let body = json!({"in_store_payment": [{"store_info": {
        "merchant_store_id": "Example Shop", "store_terminal_id": "POS1232",
        "store_address": {"street_address": "drottninggatan", "street_number": "12", "postal_code": "23451",
                          "city": "Stockholm", "country": "SE"}}}]});
    json!({"content_type": "application/vnd.klarna.internal.emd-v2+json", "body": body.to_string()})
}

/// An in-store session request (reference §3.1) with `distribution`.
pub fn in_store(distribution: Value) -> Value {
    let mut body = cart();
    body["acquiring_channel"] = json!("in_store");
    body["merchant_reference1"] = json!("ON4711");
    body["attachment"] = store_info();
    body["distribution"] = distribution;
    body
}

impl TestApp {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_as(&self.merchant, method, path, body).await
    }

    pub async fn call_as(&self, who: &Merchant, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request =
            self.client.request(method, format!("{}{path}", self.url)).basic_auth(&who.username, Some(&who.secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// A payment session of the default merchant; returns its id.
    pub async fn payment_session(&self) -> String {
        let reply = self.post("/payments/v1/sessions", cart()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["session_id"].as_str().unwrap().to_owned()
    }

    /// An HPP session over a fresh payment session; returns (hpp id, payment id, create body).
    pub async fn hpp_session(&self, options: Value, merchant_urls: Value) -> (String, String, Value) {
        let payment = self.payment_session().await;
        let body = json!({
            "payment_session_url": format!("{}/payments/v1/sessions/{payment}", self.url),
            "merchant_urls": merchant_urls,
            "options": options,
        });
        let reply = self.post("/hpp/v1/sessions", body).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        (reply.body["session_id"].as_str().unwrap().to_owned(), payment, reply.body)
    }

    pub async fn act(&self, hpp: &str, action: &str) -> Reply {
        self.call(Method::POST, &format!("/sandbox/v1/hpp/sessions/{hpp}/{action}"), None).await
    }

    pub async fn status(&self, hpp: &str) -> String {
        let reply = self.get(&format!("/hpp/v1/sessions/{hpp}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["status"].as_str().unwrap().to_owned()
    }

    /// Every row of every table, in a stable order: what "nothing changed" is checked against.
    pub async fn snapshot(&self) -> Vec<String> {
        use sqlx::{Column, Row};
        let url = match self.database.backend {
            Backend::Sqlite => format!("{}?mode=ro", self.database.url),
            Backend::Postgres => self.database.url.clone(),
        };
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let mut rows = Vec::new();
        for table in
            ["merchants", "sessions", "events", "authorizations", "orders", "messages", "jobs", "consumer_sessions"]
        {
            for row in sqlx::query(&format!("SELECT * FROM {table} ORDER BY 1, 2")).fetch_all(&pool).await.unwrap() {
                let values: Vec<String> = (0..row.columns().len())
                    .map(|i| {
                        let text: Option<String> = row.try_get(i).ok().flatten();
                        let number: Option<i64> = row.try_get(i).ok().flatten();
                        format!(
                            "{}={}",
                            row.columns()[i].name(),
                            text.or(number.map(|n| n.to_string())).unwrap_or_default()
                        )
                    })
                    .collect();
                rows.push(format!("{table}: {}", values.join(", ")));
            }
        }
        pool.close().await;
        rows
    }

    /// Stops the server and starts a new process-like one on the same database and address: a
    /// new store, a new (sandbox) clock, nothing kept in memory.
    pub async fn restart(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        let address = self.url.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind(&address).await.unwrap();
        let store: Arc<dyn Store> = Arc::new(self.database.open().await);
        self.state = AppState::new(store, (*self.state.config).clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.server = Some(tokio::spawn(kassa_server::serve(listener, self.state.clone(), async {
            let _ = rx.await;
        })));
        self.shutdown = Some(tx);
    }

    /// Another node on the same database (its own store and clock), without an HTTP listener.
    pub async fn other_node(&self) -> AppState {
        let store: Arc<dyn Store> = Arc::new(self.database.open().await);
        AppState::new(store, (*self.state.config).clone())
    }

    /// The events of a session, as the store holds them: (seq, status, body).
    pub async fn events(&self, session_id: &str) -> Vec<(u64, String, Value)> {
        let events = self.state.store.session_events(session_id).await.unwrap();
        events.into_iter().map(|e| (e.event.seq, e.event.status.to_owned(), e.event.body)).collect()
    }
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap().to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, body, bytes }
}

/// A server with `Config::new`'s settings (Klarna's production rate limits included) as changed
/// by `tweak`.
pub async fn spawn_with(mode: Mode, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let database = test_database().await;
    let store: Arc<dyn Store> = Arc::new(database.open().await);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config::new(&url, mode);
    tweak(&mut config);
    let state = AppState::new(store.clone(), config);
    let mut merchants = Vec::new();
    for name in ["Shop", "Other shop"] {
        let created = credentials::create(name, None, None, state.now()).unwrap();
        store.insert_merchant(&created.merchant).await.unwrap();
        merchants.push(Merchant { username: created.merchant.username, secret: created.secret });
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(kassa_server::serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    let other = merchants.pop().unwrap();
    let merchant = merchants.pop().unwrap();
    TestApp {
        url,
        client: reqwest::Client::new(),
        merchant,
        other,
        state,
        database,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// The backend under test: SQLite, or PostgreSQL with `KASSA_TEST_BACKEND=postgres` (then it
/// must be reachable).
async fn test_database() -> TestDatabase {
    match std::env::var("KASSA_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            TestDatabase::postgres().await.expect("KASSA_TEST_BACKEND=postgres needs a reachable PostgreSQL")
        }
        _ => TestDatabase::sqlite(),
    }
}

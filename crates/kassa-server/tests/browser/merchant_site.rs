//! A merchant's web site on loopback: pages the browser is sent back to (success, failure,
//! back, cancel, error), and the status-callback endpoint kassa POSTs to.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct MerchantSite {
    pub url: String,
    callbacks: Arc<Mutex<Vec<Value>>>,
}

impl MerchantSite {
    pub async fn start() -> Self {
        let callbacks = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(serve).with_state(callbacks.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, callbacks }
    }

    /// Every merchant URL of an HPP session, each page named by its outcome.
    pub fn merchant_urls(&self) -> Value {
        let page = |name: &str| format!("{}/{name}?sid={{{{session_id}}}}", self.url);
        json!({
            "success": format!("{}/success?sid={{{{session_id}}}}&authorization_token={{{{authorization_token}}}}", self.url),
            "failure": page("failure"),
            "back": page("back"),
            "cancel": page("cancel"),
            "error": page("error"),
            "status_update": format!("{}/callbacks", self.url),
        })
    }

    /// The statuses the callbacks carried, in arrival order, once at least `count` arrived.
    pub async fn callback_statuses(&self, count: usize, pointer: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got: Vec<String> = self
                .callbacks
                .lock()
                .unwrap()
                .iter()
                .map(|c| c.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned())
                .collect();
            if got.len() >= count || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn serve(State(callbacks): State<Arc<Mutex<Vec<Value>>>>, method: Method, uri: Uri, body: Bytes) -> Response {
    if method == Method::POST {
        callbacks.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
        return StatusCode::NO_CONTENT.into_response();
    }
    if uri.path().ends_with(".svg") {
        let image = if uri.path().contains("background") { BACKGROUND } else { LOGO };
        return ([("content-type", "image/svg+xml")], image).into_response();
    }
    let page = uri.path().trim_start_matches('/').to_owned();
    Html(format!("<!doctype html><title>Shop: {page}</title><h1 id=\"merchant-page\">{page}</h1>")).into_response()
}

/// The shop's background and logo (the `.svg` paths).
const BACKGROUND: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="300" viewBox="0 0 1200 300">
<defs><linearGradient id="b" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#2b6777"/><stop offset="1" stop-color="#c8d8e4"/></linearGradient></defs>
<rect width="1200" height="300" fill="url(#b)"/><circle cx="980" cy="60" r="140" fill="#52ab98" opacity=".5"/><circle cx="200" cy="280" r="120" fill="#f2f2f2" opacity=".25"/></svg>"##;
const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="240" height="80" viewBox="0 0 240 80">
<defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#2b6777"/><stop offset="1" stop-color="#52ab98"/></linearGradient></defs>
<rect width="240" height="80" rx="12" fill="url(#g)"/><text x="120" y="52" font-family="sans-serif" font-size="34" font-weight="700" fill="#fff" text-anchor="middle">Velo</text></svg>"##;

//! A merchant's web site on loopback: pages the browser is sent back to (success, failure,
//! back, cancel, error), and the status-callback endpoint kassa POSTs to (the test kit's
//! receiver, which records every POST).

use axum::http::Uri;
use axum::response::{Html, IntoResponse, Response};
use kassa_testkit::{PATIENCE, Receiver, TestApp};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct MerchantSite {
    pub url: String,
    receiver: Receiver,
}

impl MerchantSite {
    pub async fn start() -> Self {
        let receiver = Receiver::start_with_pages(page).await;
        Self { url: receiver.url.clone(), receiver }
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

    /// The statuses (at `pointer`) the callbacks of `session` carried, in arrival order, once
    /// at least `count` arrived and every delivery of the session is settled: then they are
    /// all it will get. Fails naming what it waited for when they do not arrive.
    pub async fn callback_statuses(&self, app: &TestApp, session: &str, count: usize, pointer: &str) -> Vec<String> {
        self.receiver.wait_for(count, PATIENCE).await;
        app.settled(session).await;
        self.receiver
            .received()
            .iter()
            .map(|c| c.json().pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned())
            .collect()
    }
}

/// The site's pages: the shop's images (the `.svg` paths), and a page named by its path.
fn page(uri: &Uri) -> Response {
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

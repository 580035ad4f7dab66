//! The stylesheet and the live-update script, compiled into the binary.

use crate::app::state::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const STYLESHEET: &str = include_str!("../../assets/kassa.css");
const SCRIPT: &str = include_str!("../../assets/live.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/kassa.css", get(|| asset("text/css; charset=utf-8", STYLESHEET)))
        .route("/assets/live.js", get(|| asset("text/javascript; charset=utf-8", SCRIPT)))
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body)
}

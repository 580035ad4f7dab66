//! The store page (`/stores/{store_id}`): the static QR a shop prints. Scanning it gives the
//! customer a short code (a consumer session) and a page that waits; when a point of sale sends
//! that code, the page moves to the payment page by itself.
//!
//! A `store_id` names the merchant and its store (`merchant_store_id`, as the POS sends it in
//! `store_info`): URL-safe base64 of `<merchant id>/<merchant_store_id>`.

use super::live::{self, Look};
use super::{Chrome, PageError, render, see_other};
use crate::app::state::AppState;
use crate::client::ClientAddress;
use crate::qr::{Asked, QrError, qr_image};
use crate::service::error::ServiceError;
use crate::service::instore::Scan;
use crate::service::{instore, views};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kassa_core::distribution::Distribution;
use kassa_store::{ConsumerSession, Merchant, StoreExt, Stored};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stores/{store_id}", get(scan))
        .route("/stores/{store_id}/qr", get(qr))
        .route("/stores/{store_id}/codes/{code_id}", get(code_page))
        .route("/stores/{store_id}/codes/{code_id}/live", get(code_live))
}

pub fn store_id(merchant_id: &str, merchant_store_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{merchant_id}/{merchant_store_id}"))
}

pub fn store_url(state: &AppState, merchant_id: &str, merchant_store_id: &str) -> String {
    state.config.url(&format!("/stores/{}", store_id(merchant_id, merchant_store_id)))
}

/// The merchant and its store name a store id stands for.
async fn store(state: &AppState, store_id: &str) -> Result<(Merchant, String), PageError> {
    let unknown = || PageError::not_found("This store QR code is unknown. Ask a member of staff for help.");
    let decoded = URL_SAFE_NO_PAD.decode(store_id).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(unknown)?;
    let (merchant_id, name) = decoded.split_once('/').ok_or_else(unknown)?;
    let merchant = state.store.merchant(merchant_id).await?.ok_or_else(unknown)?;
    Ok((merchant, name.to_owned()))
}

/// Scanning the store's QR: a new short code, on a page of its own (a reload keeps the code);
/// too many scans lately, or no code free, is a page that asks to wait.
async fn scan(
    State(state): State<AppState>,
    address: ClientAddress,
    Path(store_id): Path<String>,
) -> Result<Response, PageError> {
    let (merchant, _) = store(&state, &store_id).await?;
    let code = match instore::scan(&state, &merchant, address.0).await? {
        Scan::Code(code) => code,
        Scan::Limited(limited) => {
            tracing::warn!(client = %address, merchant = %merchant.id, by = limited.by, "store page scan limited");
            let wait = limited.retry_after_secs;
            let message = format!(
                "Too many codes were asked for {} just now. Please wait {} and scan the code again.",
                if limited.by == "address" { "from this device" } else { "at this shop" },
                seconds(wait)
            );
            return Err(PageError::wait(StatusCode::TOO_MANY_REQUESTS, "Please wait a moment", message, wait));
        }
        Scan::NoCodeFree => {
            let wait = instore::NO_CODE_FREE_RETRY_SECS;
            let message =
                format!("Every code of this shop is in use right now. Please scan again in {}.", seconds(wait));
            return Err(PageError::wait(StatusCode::SERVICE_UNAVAILABLE, "Please wait a moment", message, wait));
        }
    };
    see_other(&format!("/stores/{store_id}/codes/{}", code.consumer_session_id))
}

fn seconds(n: u64) -> String {
    if n == 1 { "1 second".into() } else { format!("{n} seconds") }
}

async fn qr(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    format: Result<Asked, QrError>,
) -> Result<Response, PageError> {
    store(&state, &store_id).await?;
    Ok(qr_image(state.config.url(&format!("/stores/{store_id}")), format).await?)
}

/// Where a code stands.
enum CodeState {
    Waiting,
    Expired,
    /// A payment arrived and has its link: its payment page (which explains every status).
    Paying(String),
}

async fn code_state(state: &AppState, code: &ConsumerSession) -> Result<CodeState, ServiceError> {
    if let Some(payment_id) = &code.payment_session_id {
        let distribution: Option<Stored<Distribution>> = state.store.load(payment_id).await?;
        if let Some(token) = distribution.as_ref().and_then(|d| d.link_token.as_deref()) {
            return Ok(CodeState::Paying(views::payment_link(&state.config, token)));
        }
        return Ok(CodeState::Waiting);
    }
    Ok(if code.expires_at <= state.merchant_now(&code.merchant_id).await {
        CodeState::Expired
    } else {
        CodeState::Waiting
    })
}

async fn code(state: &AppState, merchant: &Merchant, code_id: &str) -> Result<ConsumerSession, PageError> {
    let found = state.store.consumer_session(code_id).await?;
    found.filter(|c| c.merchant_id == merchant.id).ok_or_else(|| PageError::not_found("This code is unknown."))
}

#[derive(Template)]
#[template(path = "store_code.html")]
struct CodePage {
    chrome: Chrome,
    shop: String,
    store: String,
    store_id: String,
    code: String,
    code_id: String,
    expired: bool,
    expires_in_minutes: i64,
}

async fn code_page(
    State(state): State<AppState>,
    Path((store_id, code_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (merchant, store_name) = store(&state, &store_id).await?;
    let code = code(&state, &merchant, &code_id).await?;
    let found = code_state(&state, &code).await?;
    if let CodeState::Paying(link) = &found {
        return see_other(link);
    }
    let left = code.expires_at.millis() - state.now_for(&code.merchant_id).millis();
    let page = CodePage {
        chrome: Chrome::consumer(format!("Your code for {}", merchant.name), None),
        shop: merchant.name,
        store: store_name,
        store_id,
        code: code.short_code,
        code_id,
        expired: matches!(found, CodeState::Expired),
        expires_in_minutes: (left.max(0) + 59_999) / 60_000,
    };
    Ok(render(&page)?.into_response())
}

async fn code_live(
    State(state): State<AppState>,
    Path((store_id, code_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (merchant, _) = store(&state, &store_id).await?;
    code(&state, &merchant, &code_id).await?;
    let stream = live::follow(state, None, Some("waiting".into()), move |state| {
        let (merchant_id, code_id) = (merchant.id.clone(), code_id.clone());
        async move {
            let Ok(Some(code)) = state.store.consumer_session(&code_id).await else { return Look::Gone };
            if code.merchant_id != merchant_id {
                return Look::Gone;
            }
            match code_state(&state, &code).await {
                Ok(CodeState::Paying(link)) => Look::Go(link),
                Ok(CodeState::Expired) => Look::Settled("expired".into()),
                Ok(CodeState::Waiting) | Err(_) => Look::Shows("waiting".into()),
            }
        }
    });
    Ok(stream.into_response())
}

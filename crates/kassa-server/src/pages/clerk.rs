//! The clerk screen of an in-store payment (merchant login): the QR large enough to scan, the
//! payment link, the short code and the live status (Server-Sent Events; no reload), with
//! cancel and retry.

use super::live::{self, Look, Shown};
use super::login::MerchantLogin;
use super::store::store_url;
use super::{Chrome, PageError, PageForm, PageQuery, render, see_other};
use crate::app::state::AppState;
use crate::model::payment::PaymentRecord;
use crate::service::{instore, load, payments, views};
use crate::wire::instore::{DistributionCallbackUrls, DistributionRequest};
use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kassa_core::distribution::{Distribution, DistributionMachine, DistributionStatus, PlacedOrder};
use kassa_core::machine::StateMachine;
use kassa_store::{StoreExt, Stored};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/distributions/{id}", get(screen))
        .route("/dashboard/distributions/{id}/live", get(live_status))
        .route("/dashboard/distributions/{id}/cancel", post(cancel))
        .route("/dashboard/distributions/{id}/retry", post(retry))
}

fn path(id: &str) -> String {
    format!("/dashboard/distributions/{id}")
}

/// What the screen shows changes exactly when the distribution's version does.
fn shown(d: &Distribution) -> String {
    format!("v{}", d.lifecycle.version)
}

#[derive(Template)]
#[template(path = "clerk.html")]
struct ClerkScreen {
    chrome: Chrome,
    id: String,
    shown: String,
    status: String,
    tone: &'static str,
    explanation: &'static str,
    short_code: Option<String>,
    qr: Option<String>,
    payment_link: Option<String>,
    error: Option<String>,
    order: Option<PlacedOrder>,
    store_url: Option<String>,
    can_cancel: bool,
    can_retry: bool,
}

fn explain(d: &Distribution) -> (&'static str, &'static str) {
    match d.status() {
        DistributionStatus::Waiting => ("info", "Preparing the payment for the customer…"),
        DistributionStatus::Distributed => ("info", "Sent. Waiting for the customer to open the payment."),
        DistributionStatus::Accessed => ("info", "The customer has opened the payment and is paying."),
        DistributionStatus::Completed => ("ok", "Paid. The order is placed and captured."),
        DistributionStatus::Canceled => ("warn", "Cancelled. Nothing was charged."),
        DistributionStatus::Failed if d.retryable_failure() => {
            ("bad", "Could not reach the customer's phone. Let them scan the QR, or retry with a new code.")
        }
        DistributionStatus::Failed => ("bad", "The payment could not be distributed. Start a new payment."),
    }
}

async fn screen(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let d = load::distribution(&state, &merchant, &id).await?;
    let payment: Option<Stored<PaymentRecord>> = state.store.load(&id).await?;
    let result = views::distribution_result(&d, &state.config);
    let (tone, explanation) = explain(&d);
    let page = ClerkScreen {
        chrome: Chrome::merchant(format!("In-store payment {}", d.status()), &merchant),
        id: id.clone(),
        shown: shown(&d),
        status: d.status().to_string(),
        tone,
        explanation,
        short_code: d.short_code.clone(),
        qr: result.qr,
        payment_link: result.payment_link,
        error: d.error.map(|e| e.code.to_string()),
        order: d.order.clone(),
        store_url: payment
            .as_ref()
            .and_then(|p| views::merchant_store_id(&p.request))
            .map(|s| store_url(&state, &merchant.id, &s)),
        can_cancel: !DistributionMachine::is_final(d.status()),
        can_retry: d.retryable_failure(),
    };
    Ok(render(&page)?.into_response())
}

async fn live_status(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(id): Path<String>,
    PageQuery(query): PageQuery<Shown>,
) -> Result<Response, PageError> {
    load::distribution(&state, &merchant, &id).await?;
    let stream = live::follow(state, Some(id.clone()), query.shown, move |state| {
        let (merchant, id) = (merchant.clone(), id.clone());
        async move {
            match load::distribution(&state, &merchant, &id).await {
                Ok(d) if DistributionMachine::is_final(d.status()) => Look::Settled(shown(&d)),
                Ok(d) => Look::Shows(shown(&d)),
                Err(_) => Look::Gone,
            }
        }
    });
    Ok(stream.into_response())
}

async fn cancel(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    payments::cancel(&state, &merchant, &id).await?;
    see_other(&path(&id))
}

#[derive(Deserialize)]
struct RetryForm {
    #[serde(default)]
    short_code: String,
}

async fn retry(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(id): Path<String>,
    PageForm(form): PageForm<RetryForm>,
) -> Result<Response, PageError> {
    let before = load::distribution(&state, &merchant, &id).await?;
    let distribution = DistributionRequest {
        method: Some("one_qr".into()),
        short_code: Some(form.short_code.trim().to_owned()).filter(|c| !c.is_empty()),
        callback_urls: before
            .status_update_url
            .clone()
            .map(|url| DistributionCallbackUrls { status_update: Some(url) }),
    };
    instore::retry(&state, &merchant, &id, distribution).await?;
    see_other(&path(&id))
}

//! The distribution module's standalone page (`distribution_module.standalone_url`): the
//! operator's screen for handing an HPP session's link to a consumer (a QR to scan, or the link
//! by SMS or email). The session's current distribution-module token is the key: a new token
//! (`generation_url`) retires the old page.

use super::checkout::{Purchase, Subject};
use super::{Chrome, PageError, PageForm, PageQuery, render, see_other};
use crate::app::state::AppState;
use crate::service::messages;
use crate::wire::hpp::{DistributionContactV1, DistributionRequestV1};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kassa_core::hpp::{HppMachine, HppSession};
use kassa_core::machine::StateMachine;
use kassa_store::{Merchant, StoreExt, Stored};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/hpp/distributions/{session_id}/{token}", get(page).post(send))
}

/// The session and its merchant, if `token` is its current distribution-module token.
async fn find(state: &AppState, id: &str, token: &str) -> Result<(Stored<HppSession>, Merchant), PageError> {
    let unknown = || PageError::not_found("This distribution page is unknown, or a newer one replaced it.");
    let session: Option<Stored<HppSession>> = state.store.load(id).await?;
    // Expired sessions are gone, as for the merchant's API.
    let session = session.filter(|s| s.distribution_token == token).ok_or_else(unknown)?;
    if session.is_expired(state.merchant_now(&session.merchant_id).await) {
        return Err(unknown());
    }
    let merchant = state.store.merchant(&session.merchant_id).await?.ok_or_else(unknown)?;
    Ok((session, merchant))
}

#[derive(Template)]
#[template(path = "distribution.html")]
struct DistributionPage<'a> {
    chrome: Chrome,
    shop: &'a str,
    total: &'a str,
    status: String,
    open: bool,
    link: String,
    qr: String,
    here: String,
    sent: Option<&'a str>,
    error: Option<String>,
    phone: &'a str,
    phone_country: &'a str,
    email: &'a str,
}

#[derive(Debug, Default, Deserialize)]
struct Sent {
    sent: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SendForm {
    method: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    phone_country: String,
    #[serde(default)]
    email: String,
}

async fn show(
    state: &AppState,
    (session, merchant): (Stored<HppSession>, Merchant),
    sent: Option<&str>,
    form: &SendForm,
    error: Option<String>,
) -> Result<Response, PageError> {
    let status_now = session.status();
    let (id, token) = (session.id.clone(), session.distribution_token.clone());
    let purchase = Purchase::of(state, &Subject::Hpp(session), &merchant).await?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = DistributionPage {
        chrome: Chrome::consumer(format!("Send the payment link · {}", purchase.shop.name), Some(&purchase.locale)),
        shop: &purchase.shop.name,
        total: &purchase.cart.total,
        status: status_now.to_string(),
        open: !HppMachine::is_final(status_now),
        link: state.config.url(&format!("/hpp/payments/{id}")),
        qr: format!("/hpp/payments/{id}/qr"),
        here: format!("/hpp/distributions/{id}/{token}"),
        sent: sent.filter(|s| matches!(*s, "sms" | "email")),
        error,
        phone: &form.phone,
        phone_country: &form.phone_country,
        email: &form.email,
    };
    Ok((status, render(&page)?).into_response())
}

async fn page(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    PageQuery(query): PageQuery<Sent>,
) -> Result<Response, PageError> {
    let found = find(&state, &id, &token).await?;
    show(&state, found, query.sent.as_deref(), &SendForm::default(), None).await
}

/// Sends the link by SMS or email (recorded like the API's distribution), then shows the page
/// again saying so.
async fn send(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    PageForm(form): PageForm<SendForm>,
) -> Result<Response, PageError> {
    let (session, merchant) = find(&state, &id, &token).await?;
    let contact = match form.method.as_str() {
        "sms" => DistributionContactV1 {
            phone: Some(form.phone.trim().to_owned()),
            phone_country: Some(form.phone_country.trim().to_owned()),
            ..DistributionContactV1::default()
        },
        _ => DistributionContactV1 { email: Some(form.email.trim().to_owned()), ..DistributionContactV1::default() },
    };
    let request =
        DistributionRequestV1 { method: Some(form.method.clone()), contact_information: Some(contact), template: None };
    match messages::distribute(&state, &merchant, &session.id, request).await {
        Ok(()) => see_other(&format!("/hpp/distributions/{id}/{token}?sent={}", form.method)),
        Err(
            error @ (crate::service::error::ServiceError::BadValue { .. }
            | crate::service::error::ServiceError::Refused(_)),
        ) => {
            let message = PageError::from(error).message;
            show(&state, (session, merchant), None, &form, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

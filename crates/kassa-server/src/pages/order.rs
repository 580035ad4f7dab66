//! A merchant's order on the dashboard: its status and amounts, its captures and refunds, and
//! (in sandbox mode) buttons that capture and refund through the same use cases as Order
//! Management's API.

use super::login::MerchantLogin;
use super::{Chrome, PageError, PageForm, money, render, see_other};
use crate::app::Mode;
use crate::app::state::AppState;
use crate::service::error::ServiceError;
use crate::service::orders::manage;
use crate::wire::orders::{CaptureRequest, RefundRequest};
use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kassa_core::order::Order;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/orders/{order_id}", get(show))
        .route("/dashboard/orders/{order_id}/capture", post(capture))
        .route("/dashboard/orders/{order_id}/refund", post(refund))
}

fn path(order_id: &str) -> String {
    format!("/dashboard/orders/{order_id}")
}

struct Row {
    id: String,
    reference: String,
    amount: String,
    refunded: String,
    at: String,
    description: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    chrome: Chrome,
    order_id: String,
    status: String,
    klarna_reference: String,
    authorized: String,
    captured: String,
    refunded: String,
    remaining: String,
    expires_at: String,
    captures: Vec<Row>,
    refunds: Vec<Row>,
    /// What may still be captured and refunded, in minor units (the forms' maximums).
    capturable: i64,
    refundable: i64,
    /// Sandbox mode shows the capture and refund buttons.
    sandbox: bool,
    timeline: String,
}

async fn show(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(order_id): Path<String>,
) -> Result<Response, PageError> {
    let order = manage::read(&state, &merchant, &order_id).await?;
    let page = page(&state, &merchant, &order);
    Ok(render(&page)?.into_response())
}

fn page(state: &AppState, merchant: &kassa_store::Merchant, o: &Order) -> OrderPage {
    let locale = o.locale.clone().unwrap_or_else(|| "en-SE".into());
    let amount = |minor: i64| money::format(minor, &o.purchase_currency, &locale);
    let captures = o
        .captures
        .iter()
        .map(|c| Row {
            id: c.capture_id.clone(),
            reference: c.klarna_reference.clone(),
            amount: amount(c.captured_amount),
            refunded: amount(c.refunded_amount),
            at: c.captured_at.to_string(),
            description: c.description.clone(),
        })
        .collect();
    let refunds = o
        .refunds
        .iter()
        .map(|r| Row {
            id: r.refund_id.clone(),
            reference: r.reference.clone().unwrap_or_default(),
            amount: amount(r.refunded_amount),
            refunded: String::new(),
            at: r.refunded_at.to_string(),
            description: r.description.clone(),
        })
        .collect();
    OrderPage {
        chrome: Chrome::merchant(format!("Order {}", o.klarna_reference.as_str()), merchant),
        order_id: o.order_id.clone(),
        status: o.status().to_string(),
        klarna_reference: o.klarna_reference.as_str().to_owned(),
        authorized: amount(o.order_amount),
        captured: amount(o.captured_amount()),
        refunded: amount(o.refunded_amount()),
        remaining: amount(o.remaining_authorized_amount()),
        expires_at: o.expires_at.to_string(),
        captures,
        refunds,
        capturable: o.remaining_authorized_amount(),
        refundable: o.captured_amount() - o.refunded_amount(),
        sandbox: state.config.mode == Mode::Sandbox,
        timeline: format!("/dashboard/sessions/order/{}", o.order_id),
    }
}

#[derive(Deserialize)]
struct AmountForm {
    amount: i64,
    description: Option<String>,
}

/// The buttons act for the merchant only in sandbox mode (a production dashboard shows orders).
fn sandbox_only(state: &AppState) -> Result<(), PageError> {
    match state.config.mode {
        Mode::Sandbox => Ok(()),
        Mode::Production => Err(PageError::not_found("Capturing and refunding here is a sandbox control.")),
    }
}

async fn capture(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(order_id): Path<String>,
    PageForm(form): PageForm<AmountForm>,
) -> Result<Response, PageError> {
    sandbox_only(&state)?;
    let request = CaptureRequest {
        captured_amount: form.amount,
        description: form.description,
        order_lines: Vec::new(),
        reference: None,
        shipping_info: Vec::new(),
        shipping_delay: None,
    };
    done(manage::capture(&state, &merchant, &order_id, None, request).await.map(drop), &order_id)
}

async fn refund(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(order_id): Path<String>,
    PageForm(form): PageForm<AmountForm>,
) -> Result<Response, PageError> {
    sandbox_only(&state)?;
    let request = RefundRequest {
        refunded_amount: form.amount,
        description: form.description,
        order_lines: Vec::new(),
        reference: None,
    };
    done(manage::refund(&state, &merchant, &order_id, None, request).await.map(drop), &order_id)
}

/// Back to the order page; a refusal is shown as a page with its reason.
fn done(result: Result<(), ServiceError>, order_id: &str) -> Result<Response, PageError> {
    result?;
    see_other(&path(order_id))
}

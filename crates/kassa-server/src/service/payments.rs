//! Klarna Payments sessions: create, read, update, cancel.

use super::instore;
use super::watch::{Tagged, etag};
use super::{event_row, retry_on_conflict, validate};
use crate::app::config::Config;
use crate::app::state::AppState;
use crate::error::ApiError;
use crate::model::ids;
use crate::wire::decode as json;
use crate::wire::instore::DistributionCreated;
use crate::wire::payments::{
    AssetUrls, MerchantSession, PaymentMethodCategory, PaymentSessionRead, PaymentSessionRequest,
};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kassa_core::Timestamp;
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionMachine};
use kassa_core::hpp::{HppAction, HppSession};
use kassa_core::machine::StateMachine;
use kassa_core::payment::{AcquiringChannel, PaymentAction, PaymentSession, PaymentStatus};
use kassa_store::{Change, Merchant, SessionKind, SessionWrite, StoreExt, Stored};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A payment session as stored: its lifecycle, the request as (last) given, its client token,
/// and the latest authorization token issued for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentRecord {
    #[serde(flatten)]
    pub session: PaymentSession,
    pub request: PaymentSessionRequest,
    pub client_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_token: Option<String>,
}

kassa_store::session_record!(PaymentRecord, SessionKind::Payment, |r| {
    id: &r.session.id,
    merchant: &r.session.merchant_id,
    parent: None,
    lifecycle: r.session.lifecycle,
    created: r.session.created_at,
    expires: Some(r.session.expires_at),
    token: None,
});

const NOT_FOUND: &str = "Payment session not found (unknown, expired or cancelled)";

/// The payment categories every kassa session offers.
pub fn payment_method_categories(config: &Config) -> Vec<PaymentMethodCategory> {
    let badge = config.url("/assets/badges/klarna.svg");
    [("pay_now", "Pay now."), ("pay_later", "Pay later."), ("pay_over_time", "Financing.")]
        .into_iter()
        .map(|(identifier, name)| PaymentMethodCategory {
            identifier: identifier.into(),
            name: name.into(),
            asset_urls: AssetUrls { descriptive: badge.clone(), standard: badge.clone() },
        })
        .collect()
}

pub fn read_view(record: &PaymentRecord, config: &Config) -> PaymentSessionRead {
    let mut request = record.request.clone();
    request.intent.get_or_insert_with(|| "buy".to_owned());
    PaymentSessionRead {
        request,
        status: match record.session.status() {
            PaymentStatus::Complete => "complete",
            _ => "incomplete",
        }
        .into(),
        authorization_token: record.authorization_token.clone(),
        expires_at: record.session.expires_at.to_string(),
        client_token: record.client_token.clone(),
        payment_method_categories: payment_method_categories(config),
    }
}

/// A JWT-shaped opaque token for Klarna's JS SDK (which kassa's pages do not need).
fn client_token(session_id: &str, now: Timestamp) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = serde_json::json!({ "session_id": session_id, "iat": now.millis() / 1000, "iss": "kassa" });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.{}", ids::random_hex::<16>())
}

/// Checks a whole session request and spells its enums canonically.
fn validated(mut request: PaymentSessionRequest) -> Result<(PaymentSessionRequest, AcquiringChannel), ApiError> {
    request.cart().validate()?;
    let channel = validate::optional(
        "acquiring_channel",
        request.acquiring_channel.as_deref(),
        AcquiringChannel::parse,
        AcquiringChannel::expected,
    )?
    .unwrap_or(AcquiringChannel::Ecommerce);
    request.acquiring_channel = Some(channel.as_str().to_owned());
    if let Some(intent) = &request.intent {
        let known = ["buy", "tokenize", "buy_and_tokenize"].into_iter().find(|k| k.eq_ignore_ascii_case(intent));
        let known =
            known.ok_or_else(|| ApiError::bad_value("intent", "must be one of buy, tokenize, buy_and_tokenize"))?;
        request.intent = Some(known.to_owned());
    }
    validate::max_chars("merchant_reference1", request.merchant_reference1.as_deref(), 255)?;
    validate::max_chars("merchant_reference2", request.merchant_reference2.as_deref(), 255)?;
    validate::max_chars("merchant_data", request.merchant_data.as_deref(), 6000)?;
    if let Some(attachment) = &request.attachment {
        if attachment.content_type.is_none() {
            return Err(ApiError::bad_value("attachment.content_type", "is required with an attachment"));
        }
        if attachment.body.is_none() {
            return Err(ApiError::bad_value("attachment.body", "is required with an attachment"));
        }
    }
    if let Some(urls) = &request.merchant_urls {
        let urls = urls.as_object().ok_or_else(|| ApiError::bad_value("merchant_urls", "must be an object"))?;
        for (key, value) in urls {
            let field = format!("merchant_urls.{key}");
            let text = value.as_str().ok_or_else(|| ApiError::bad_value(&field, "must be a string"))?;
            validate::url(&field, text)?;
        }
    }
    Ok((request, channel))
}

pub async fn create(
    state: &AppState,
    merchant: &Merchant,
    request: PaymentSessionRequest,
) -> Result<MerchantSession, ApiError> {
    let (request, channel) = validated(request)?;
    let in_store = instore::setup(state, &request, channel).await?;
    let now = state.now();
    let id = ids::new_id();
    let (session, event) = PaymentSession::create(id.clone(), merchant.id.clone(), channel, now);
    let record = PaymentRecord { session, request, client_token: client_token(&id, now), authorization_token: None };
    let mut change = Change::default().session(SessionWrite::insert(&record)?).event(event_row(
        &record,
        &event,
        &read_view(&record, &state.config),
    )?);
    let distribution = match in_store {
        Some(setup) => {
            change = change.merge(instore::start(state, &id, &merchant.id, setup, now)?);
            Some(DistributionCreated { result_url: state.config.url(&format!("/iss/v1/distributions/{id}")) })
        }
        None => None,
    };
    state.commit(change).await?;
    Ok(MerchantSession {
        session_id: id,
        client_token: record.client_token,
        payment_method_categories: payment_method_categories(&state.config),
        distribution,
    })
}

/// The merchant's payment session, if it is still live.
pub async fn load(state: &AppState, merchant: &Merchant, id: &str) -> Result<Stored<PaymentRecord>, ApiError> {
    let record: Option<Stored<PaymentRecord>> = state.store.load(id).await?;
    record
        .filter(|r| r.session.merchant_id == merchant.id && r.session.is_live(state.now()))
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

/// The read body, tagged by the row's revision (an update changes the body without a status change).
pub async fn read(state: &AppState, merchant: &Merchant, id: &str) -> Result<Tagged<PaymentSessionRead>, ApiError> {
    let record = load(state, merchant, id).await?;
    Ok(Tagged { etag: etag(record.revision), body: read_view(&record.record, &state.config) })
}

/// Updates the given keys of an incomplete session (Klarna's `POST /payments/v1/sessions/{id}`).
pub async fn update(state: &AppState, merchant: &Merchant, id: &str, patch: Value) -> Result<(), ApiError> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::BadRequest("The request body must be a JSON object".into()));
    };
    retry_on_conflict(|| async {
        let before = load(state, merchant, id).await?;
        if before.session.status() != PaymentStatus::Incomplete {
            return Err(ApiError::invalid_operation(
                StatusCode::FORBIDDEN,
                "The session is complete and can no longer be updated",
            ));
        }
        let mut merged = serde_json::to_value(&before.request).map_err(|e| ApiError::Internal(e.to_string()))?;
        if let Value::Object(fields) = &mut merged {
            fields.extend(patch.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let (request, channel) = validated(json::from_value(merged)?)?;
        instore::check_fixed_fields(&before.request, &request)?;
        let mut after = PaymentRecord { request, ..before.record.clone() };
        after.session.acquiring_channel = channel;
        state.commit(Change::default().session(SessionWrite::update(&before, &after)?)).await?;
        Ok(())
    })
    .await
}

/// Cancels a session (`DELETE`): its HPP sessions that are not final become DISABLED, and an
/// in-store session's distribution CANCELED.
pub async fn cancel(state: &AppState, merchant: &Merchant, id: &str) -> Result<(), ApiError> {
    retry_on_conflict(|| async {
        let before = load(state, merchant, id).await?;
        let mut change = cancel_change(state, merchant, &before).await?;
        if before.session.acquiring_channel == AcquiringChannel::InStore {
            let distribution: Option<Stored<Distribution>> = state.store.load(id).await?;
            if let Some(distribution) = distribution.filter(|d| !DistributionMachine::is_final(d.status())) {
                change =
                    change.merge(instore::transition(state, merchant, &distribution, DistributionCommand::Cancel)?.0);
            }
        }
        state.commit(change).await?;
        Ok(())
    })
    .await
}

/// The payment session cancelled, with its event, and its open HPP sessions DISABLED.
pub(crate) async fn cancel_change(
    state: &AppState,
    merchant: &Merchant,
    before: &Stored<PaymentRecord>,
) -> Result<Change, ApiError> {
    let now = state.now();
    let (session, event) =
        before.session.apply(PaymentAction::Cancel, now).map_err(|r| ApiError::rejected(StatusCode::FORBIDDEN, r))?;
    let after = PaymentRecord { session, ..before.record.clone() };
    let change = Change::default().session(SessionWrite::update(before, &after)?).event(event_row(
        &after,
        &event,
        &read_view(&after, &state.config),
    )?);
    let hosted = state.store.load_children(&before.session.id).await?;
    Ok(change.merge(disable_open(&hosted, None, now, merchant)?))
}

/// DISABLED for every HPP session in `sessions` that is not final, but `except`: an HPP session
/// ends with the payment session it hosts (reference §2.1).
pub(crate) fn disable_open(
    sessions: &[Stored<HppSession>],
    except: Option<&str>,
    now: Timestamp,
    merchant: &Merchant,
) -> Result<Change, ApiError> {
    let mut change = Change::default();
    for hpp in sessions.iter().filter(|s| Some(s.id.as_str()) != except) {
        if let Ok((disabled, event)) = hpp.apply(HppAction::Disable, now) {
            change = change.merge(super::hpp::transition_change(hpp, &disabled, &event, merchant)?);
        }
    }
    Ok(change)
}

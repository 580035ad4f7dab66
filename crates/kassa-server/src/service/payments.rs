//! Klarna Payments sessions: create, read, update, cancel.

use super::case::{cancel_payment, event_row, start_distribution};
use super::error::{Rule, ServiceError, ServiceResult};
use super::validate::{self, instore, schema};
use super::watch::{Tagged, etag};
use super::{context, load, retry_on_conflict, views};
use crate::app::state::AppState;
use crate::model::ids;
use crate::model::payment::PaymentRecord;
use crate::wire::instore::DistributionCreated;
use crate::wire::payments::{MerchantSession, PaymentPatch, PaymentSessionRead, PaymentSessionRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kassa_core::Timestamp;
use kassa_core::payment::{AcquiringChannel, PaymentSession, PaymentStatus};
use kassa_store::{Change, Merchant, SessionWrite};

/// A JWT-shaped opaque token for Klarna's JS SDK (which kassa's pages do not need).
fn client_token(session_id: &str, now: Timestamp) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = serde_json::json!({ "session_id": session_id, "iat": now.millis() / 1000, "iss": "kassa" });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.{}", ids::random_hex::<16>())
}

/// Checks a whole session request and spells its enums canonically.
fn validated(mut request: PaymentSessionRequest) -> ServiceResult<(PaymentSessionRequest, AcquiringChannel)> {
    request.cart().parse()?;
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
            known.ok_or_else(|| ServiceError::bad_value("intent", "must be one of buy, tokenize, buy_and_tokenize"))?;
        request.intent = Some(known.to_owned());
    }
    validate::max_chars("merchant_reference1", request.merchant_reference1.as_deref(), 255)?;
    validate::max_chars("merchant_reference2", request.merchant_reference2.as_deref(), 255)?;
    validate::max_chars("merchant_data", request.merchant_data.as_deref(), 6000)?;
    schema::session_objects(&mut request)?;
    if let Some(attachment) = &request.attachment {
        if attachment.content_type.is_none() {
            return Err(ServiceError::bad_value("attachment.content_type", "is required with an attachment"));
        }
        if attachment.body.is_none() {
            return Err(ServiceError::bad_value("attachment.body", "is required with an attachment"));
        }
    }
    if let Some(urls) = &request.merchant_urls {
        let urls = urls.as_object().ok_or_else(|| ServiceError::bad_value("merchant_urls", "must be an object"))?;
        for (key, value) in urls {
            let field = format!("merchant_urls.{key}");
            let text = value.as_str().ok_or_else(|| ServiceError::bad_value(&field, "must be a string"))?;
            validate::url(&field, text)?;
        }
    }
    Ok((request, channel))
}

pub async fn create(
    state: &AppState,
    merchant: &Merchant,
    request: PaymentSessionRequest,
) -> ServiceResult<MerchantSession> {
    let (request, channel) = validated(request)?;
    let in_store = instore::setup(&state.config, &request, channel).await?;
    let ctx = context(state, merchant);
    let id = ids::new_id();
    let (session, event) = PaymentSession::create(id.clone(), merchant.id.clone(), channel, ctx.now);
    let record =
        PaymentRecord { session, request, client_token: client_token(&id, ctx.now), authorization_token: None };
    let mut change = Change::default().session(SessionWrite::insert(&record)?).event(event_row(
        &record,
        &event,
        &views::payment_read(&record, &state.config),
    )?);
    let distribution = match in_store {
        Some(setup) => {
            change = change.merge(start_distribution(ctx, &id, setup)?);
            Some(DistributionCreated { result_url: state.config.url(&format!("/iss/v1/distributions/{id}")) })
        }
        None => None,
    };
    state.commit(change).await?;
    Ok(MerchantSession {
        session_id: id,
        client_token: record.client_token,
        payment_method_categories: views::payment_method_categories(&state.config),
        distribution,
    })
}

/// The read body, tagged by the row's revision (an update changes the body without a status change).
pub async fn read(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<Tagged<PaymentSessionRead>> {
    let record = load::live_payment(state, merchant, id).await?;
    Ok(Tagged { etag: etag(record.revision), body: views::payment_read(&record.record, &state.config) })
}

/// Updates the given keys of an incomplete session (Klarna's `POST /payments/v1/sessions/{id}`).
pub async fn update(state: &AppState, merchant: &Merchant, id: &str, patch: PaymentPatch) -> ServiceResult<()> {
    retry_on_conflict(|| async {
        let before = load::live_payment(state, merchant, id).await?;
        if before.session.status() != PaymentStatus::Incomplete {
            let message = "The session is complete and can no longer be updated";
            return Err(Rule::PaymentClosed.refuses(message).into());
        }
        let (request, channel) = validated(patch.apply(&before.request)?)?;
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
pub async fn cancel(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<()> {
    retry_on_conflict(|| async {
        let case = load::live_case(state, merchant, id).await?;
        state.commit(cancel_payment(context(state, merchant), &case)?).await?;
        Ok(())
    })
    .await
}

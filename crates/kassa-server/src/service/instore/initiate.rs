//! Initiating an in-store payment (reference §3.1): the `distribution` object and the store-info
//! attachment Klarna requires; then a distribution that starts WAITING, with its work (the
//! distribution itself, and the 3-hour auto-cancel) scheduled in the same commit.

use super::jobs;
use super::result_view;
use crate::app::state::AppState;
use crate::error::ApiError;
use crate::service::{event_row, validate};
use crate::wire::decode as json;
use crate::wire::instore::DistributionRequest;
use crate::wire::payments::{Attachment, PaymentSessionRequest};
use kassa_core::Timestamp;
use kassa_core::distribution::Distribution;
use kassa_core::payment::AcquiringChannel;
use kassa_store::{Change, SessionWrite};
use serde_json::Value;

/// What a valid `distribution` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InStoreSetup {
    pub short_code: Option<String>,
    pub status_update_url: Option<String>,
}

const STORE_INFO_CONTENT_TYPE: &str = "application/vnd.klarna.internal.emd-v2+json";

/// The in-store part of a payment session request: `None` for other channels.
pub(crate) async fn setup(
    state: &AppState,
    request: &PaymentSessionRequest,
    channel: AcquiringChannel,
) -> Result<Option<InStoreSetup>, ApiError> {
    let distribution = match (channel, &request.distribution) {
        (AcquiringChannel::InStore, Some(distribution)) => distribution,
        (AcquiringChannel::InStore, None) => {
            return Err(ApiError::bad_request("distribution", "is required with acquiring_channel in_store"));
        }
        (_, Some(_)) => {
            return Err(ApiError::bad_request("distribution", "is only for acquiring_channel in_store"));
        }
        (_, None) => return Ok(None),
    };
    let setup = distribution_setup(state, "distribution", distribution).await?;
    check_store_info(request.attachment.as_ref())?;
    Ok(Some(setup))
}

/// Checks a `distribution` object (at `field`), as sent on initiation or retry.
pub(crate) async fn distribution_setup(state: &AppState, field: &str, value: &Value) -> Result<InStoreSetup, ApiError> {
    if !value.is_object() {
        return Err(ApiError::bad_request(field, "must be an object"));
    }
    let request: DistributionRequest = json::from_value(value.clone()).map_err(|e| match e {
        json::DecodeError::BadValue { field: inner, reason } => {
            ApiError::bad_request(&format!("{field}.{inner}"), reason)
        }
        other => ApiError::from(other),
    })?;
    match request.method.as_deref() {
        Some(method) if method.eq_ignore_ascii_case("one_qr") => {}
        Some(_) => return Err(ApiError::bad_request(&format!("{field}.method"), "must be one_qr")),
        None => return Err(ApiError::bad_request(&format!("{field}.method"), "is required (one_qr)")),
    }
    if let Some(code) = &request.short_code
        && !is_short_code(code)
    {
        return Err(ApiError::bad_request(&format!("{field}.short_code"), "must be 2 to 20 digits"));
    }
    let status_update_url = request.callback_urls.and_then(|urls| urls.status_update);
    if let Some(url) = &status_update_url {
        let url_field = format!("{field}.callback_urls.status_update");
        validate::url(&url_field, url)
            .map_err(|_| ApiError::bad_request(&url_field, "must be an absolute http or https URL"))?;
        state
            .config
            .callback_targets
            .check_resolved(url)
            .await
            .map_err(|reason| ApiError::bad_request(&url_field, reason))?;
    }
    Ok(InStoreSetup { short_code: request.short_code, status_update_url })
}

/// 2 to 20 digits.
pub(crate) fn is_short_code(code: &str) -> bool {
    (2..=20).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

/// The attachment must carry the store a point of sale is in:
/// `{"in_store_payment": [{"store_info": {merchant_store_id, store_terminal_id, store_address}}]}`.
fn check_store_info(attachment: Option<&Attachment>) -> Result<(), ApiError> {
    const HOW: &str = "with content_type application/vnd.klarna.internal.emd-v2+json and a body \
                       {\"in_store_payment\": [{\"store_info\": {...}}]}";
    let attachment =
        attachment.ok_or_else(|| ApiError::bad_request("attachment", format!("is required in store, {HOW}")))?;
    if attachment.content_type.as_deref() != Some(STORE_INFO_CONTENT_TYPE) {
        return Err(ApiError::bad_request("attachment.content_type", format!("must be {STORE_INFO_CONTENT_TYPE}")));
    }
    let body = attachment.body.as_deref().unwrap_or_default();
    let body: Value = serde_json::from_str(body)
        .map_err(|e| ApiError::bad_request("attachment.body", format!("must be a JSON document as a string ({e})")))?;
    let payments = body.get("in_store_payment").and_then(Value::as_array).filter(|a| !a.is_empty());
    let payments = payments.ok_or_else(|| {
        ApiError::bad_request("attachment.body.in_store_payment", "is required: a non-empty array of store_info")
    })?;
    for (i, payment) in payments.iter().enumerate() {
        let field = format!("attachment.body.in_store_payment[{i}].store_info");
        let info = payment.get("store_info").filter(|v| v.is_object());
        let info = info.ok_or_else(|| ApiError::bad_request(&field, "is required (an object)"))?;
        required_text(info, &field, "merchant_store_id")?;
        required_text(info, &field, "store_terminal_id")?;
        let address_field = format!("{field}.store_address");
        let address = info.get("store_address").filter(|v| v.is_object());
        let address = address.ok_or_else(|| ApiError::bad_request(&address_field, "is required (an object)"))?;
        for key in ["street_address", "postal_code", "city"] {
            required_text(address, &address_field, key)?;
        }
        let country = required_text(address, &address_field, "country")?;
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ApiError::bad_request(
                &format!("{address_field}.country"),
                "must be a two-letter country code",
            ));
        }
    }
    Ok(())
}

fn required_text<'a>(object: &'a Value, field: &str, key: &str) -> Result<&'a str, ApiError> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request(&format!("{field}.{key}"), "is required (a non-empty string)"))
}

/// An in-store session's channel and distribution are fixed when it is created (a failed
/// distribution is retried through its `retry_url`).
pub(crate) fn check_fixed_fields(
    before: &PaymentSessionRequest,
    after: &PaymentSessionRequest,
) -> Result<(), ApiError> {
    let in_store = |r: &PaymentSessionRequest| r.distribution.is_some();
    if (in_store(before) || in_store(after))
        && (before.acquiring_channel != after.acquiring_channel || before.distribution != after.distribution)
    {
        return Err(ApiError::bad_request(
            "distribution",
            "acquiring_channel and distribution are fixed when an in-store session is created; \
             retry a failed distribution at its retry_url",
        ));
    }
    Ok(())
}

/// The distribution of a new in-store payment session: WAITING, its distribution due after the
/// configured delay (none by default) and its auto-cancel three hours after creation.
pub(crate) fn start(
    state: &AppState,
    payment_session_id: &str,
    merchant_id: &str,
    setup: InStoreSetup,
    now: Timestamp,
) -> Result<Change, ApiError> {
    let (distribution, event) = Distribution::create(
        payment_session_id.to_owned(),
        merchant_id.to_owned(),
        setup.short_code,
        setup.status_update_url,
        now,
    );
    Ok(Change::default()
        .session(SessionWrite::insert(&distribution)?)
        .event(event_row(&distribution, &event, &result_view(&distribution, &state.config))?)
        .job(jobs::schedule(&distribution, jobs::JobAction::Distribute, state.config.distribution_due(now), now))
        .job(jobs::schedule(&distribution, jobs::JobAction::AutoCancel, distribution.auto_cancel_at(), now)))
}

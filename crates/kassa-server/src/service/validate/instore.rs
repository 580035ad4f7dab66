//! Checking what initiating an in-store payment needs (reference §3.1): the `distribution`
//! object (also sent on a retry) and the store-info attachment Klarna requires. A failure is
//! Klarna's in-store `BAD_REQUEST`, naming the field.

use crate::app::config::Config;
use crate::service::error::ServiceError;
use crate::wire::instore::DistributionRequest;
use crate::wire::payments::{Attachment, PaymentSessionRequest};
use kassa_core::payment::AcquiringChannel;
use serde_json::Value;

/// What a valid `distribution` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InStoreSetup {
    pub short_code: Option<String>,
    pub status_update_url: Option<String>,
}

const STORE_INFO_CONTENT_TYPE: &str = "application/vnd.klarna.internal.emd-v2+json";

/// The in-store part of a payment session request: `None` for other channels.
pub async fn setup(
    config: &Config,
    request: &PaymentSessionRequest,
    channel: AcquiringChannel,
) -> Result<Option<InStoreSetup>, ServiceError> {
    let distribution = match (channel, &request.distribution) {
        (AcquiringChannel::InStore, Some(distribution)) => distribution,
        (AcquiringChannel::InStore, None) => {
            return Err(ServiceError::malformed("distribution", "is required with acquiring_channel in_store"));
        }
        (_, Some(_)) => {
            return Err(ServiceError::malformed("distribution", "is only for acquiring_channel in_store"));
        }
        (_, None) => return Ok(None),
    };
    let setup =
        distribution_setup(config, "distribution", &DistributionRequest::decode("distribution", distribution)?).await?;
    check_store_info(request.attachment.as_ref())?;
    Ok(Some(setup))
}

/// Checks a `distribution` (at `field`), as sent on initiation or retry.
pub async fn distribution_setup(
    config: &Config,
    field: &str,
    request: &DistributionRequest,
) -> Result<InStoreSetup, ServiceError> {
    match request.method.as_deref() {
        Some(method) if method.eq_ignore_ascii_case("one_qr") => {}
        Some(_) => return Err(ServiceError::malformed(&format!("{field}.method"), "must be one_qr")),
        None => return Err(ServiceError::malformed(&format!("{field}.method"), "is required (one_qr)")),
    }
    if let Some(code) = &request.short_code
        && !is_short_code(code)
    {
        return Err(ServiceError::malformed(&format!("{field}.short_code"), "must be 2 to 20 digits"));
    }
    let status_update_url = request.callback_urls.as_ref().and_then(|urls| urls.status_update.clone());
    if let Some(url) = &status_update_url {
        let url_field = format!("{field}.callback_urls.status_update");
        super::url(&url_field, url)
            .map_err(|_| ServiceError::malformed(&url_field, "must be an absolute http or https URL"))?;
        config
            .callback_targets
            .check_resolved(url)
            .await
            .map_err(|reason| ServiceError::malformed(&url_field, reason))?;
    }
    Ok(InStoreSetup { short_code: request.short_code.clone(), status_update_url })
}

/// 2 to 20 digits.
pub fn is_short_code(code: &str) -> bool {
    (2..=20).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

/// The attachment must carry the store a point of sale is in:
/// `{"in_store_payment": [{"store_info": {merchant_store_id, store_terminal_id, store_address}}]}`.
fn check_store_info(attachment: Option<&Attachment>) -> Result<(), ServiceError> {
    const HOW: &str = "with content_type application/vnd.klarna.internal.emd-v2+json and a body \
                       {\"in_store_payment\": [{\"store_info\": {...}}]}";
    let attachment =
        attachment.ok_or_else(|| ServiceError::malformed("attachment", format!("is required in store, {HOW}")))?;
    if attachment.content_type.as_deref() != Some(STORE_INFO_CONTENT_TYPE) {
        return Err(ServiceError::malformed("attachment.content_type", format!("must be {STORE_INFO_CONTENT_TYPE}")));
    }
    let body = attachment.body.as_deref().unwrap_or_default();
    let body: Value = serde_json::from_str(body).map_err(|e| {
        ServiceError::malformed("attachment.body", format!("must be a JSON document as a string ({e})"))
    })?;
    let payments = body.get("in_store_payment").and_then(Value::as_array).filter(|a| !a.is_empty());
    let payments = payments.ok_or_else(|| {
        ServiceError::malformed("attachment.body.in_store_payment", "is required: a non-empty array of store_info")
    })?;
    for (i, payment) in payments.iter().enumerate() {
        let field = format!("attachment.body.in_store_payment[{i}].store_info");
        let info = payment.get("store_info").filter(|v| v.is_object());
        let info = info.ok_or_else(|| ServiceError::malformed(&field, "is required (an object)"))?;
        required_text(info, &field, "merchant_store_id")?;
        required_text(info, &field, "store_terminal_id")?;
        let address_field = format!("{field}.store_address");
        let address = info.get("store_address").filter(|v| v.is_object());
        let address = address.ok_or_else(|| ServiceError::malformed(&address_field, "is required (an object)"))?;
        for key in ["street_address", "postal_code", "city"] {
            required_text(address, &address_field, key)?;
        }
        let country = required_text(address, &address_field, "country")?;
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ServiceError::malformed(
                &format!("{address_field}.country"),
                "must be a two-letter country code",
            ));
        }
    }
    Ok(())
}

fn required_text<'a>(object: &'a Value, field: &str, key: &str) -> Result<&'a str, ServiceError> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ServiceError::malformed(&format!("{field}.{key}"), "is required (a non-empty string)"))
}

/// An in-store session's channel and distribution are fixed when it is created (a failed
/// distribution is retried through its `retry_url`).
pub fn check_fixed_fields(before: &PaymentSessionRequest, after: &PaymentSessionRequest) -> Result<(), ServiceError> {
    let in_store = |r: &PaymentSessionRequest| r.distribution.is_some();
    if (in_store(before) || in_store(after))
        && (before.acquiring_channel != after.acquiring_channel || before.distribution != after.distribution)
    {
        return Err(ServiceError::malformed(
            "distribution",
            "acquiring_channel and distribution are fixed when an in-store session is created; \
             retry a failed distribution at its retry_url",
        ));
    }
    Ok(())
}

//! The read bodies of each session kind, as the API shows them and as events freeze them.

use crate::app::config::Config;
use crate::model::payment::PaymentRecord;
use crate::wire::hpp::{DistributionModuleV1, HppCreated};
use crate::wire::instore::{DistributionErrorV1, DistributionResult};
use crate::wire::payments::{AssetUrls, PaymentMethodCategory, PaymentSessionRead, PaymentSessionRequest};
use kassa_core::distribution::{Distribution, DistributionStatus};
use kassa_core::hpp::HppSession;
use kassa_core::payment::PaymentStatus;

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

/// `GET /payments/v1/sessions/{id}`.
pub fn payment_read(record: &PaymentRecord, config: &Config) -> PaymentSessionRead {
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

/// The answer to an HPP session's creation: where everything about it lives.
pub fn hpp_created(session: &HppSession, config: &Config) -> HppCreated {
    let id = &session.id;
    let url = |path: String| config.url(&path);
    HppCreated {
        session_id: id.clone(),
        session_url: url(format!("/hpp/v1/sessions/{id}")),
        redirect_url: url(format!("/hpp/payments/{id}")),
        qr_code_url: url(format!("/hpp/payments/{id}/qr")),
        distribution_url: url(format!("/hpp/v1/sessions/{id}/distribution")),
        expires_at: session.expires_at.to_string(),
        distribution_module: DistributionModuleV1 {
            token: session.distribution_token.clone(),
            standalone_url: url(format!("/hpp/distributions/{id}/{}", session.distribution_token)),
            generation_url: url(format!("/hpp/v1/sessions/{id}/distribution-module/token")),
        },
        manual_identification_check_url: url(format!("/hpp/v1/sessions/{id}/manual-id-check")),
    }
}

/// The result payload of `distribution` now: the body of the result endpoint and of callbacks.
pub fn distribution_result(d: &Distribution, config: &Config) -> DistributionResult {
    let id = &d.session_id;
    let link = d.link_token.as_ref().filter(|_| d.shows_link());
    let failed = d.status() == DistributionStatus::Failed;
    DistributionResult {
        status: d.status().as_str().to_owned(),
        retry_url: failed.then(|| config.url(&format!("/iss/v1/distributions/{id}/retry"))),
        qr: link.map(|token| config.url(&format!("/iss/v1/distributions/{id}/qr/{token}"))),
        payment_link: link.map(|token| payment_link(config, token)),
        error: d.error.map(|e| DistributionErrorV1 { code: e.code.as_str().to_owned(), retryable: e.retryable }),
        order_id: d.order.as_ref().map(|order| order.order_id.clone()),
        klarna_reference: d.order.as_ref().map(|order| order.klarna_reference.clone()),
    }
}

/// The consumer's payment page for a link token.
pub fn payment_link(config: &Config, token: &str) -> String {
    config.url(&format!("/hpp/payments/{token}"))
}

/// The `merchant_store_id` of the first store in a session's store-info attachment.
pub fn merchant_store_id(request: &PaymentSessionRequest) -> Option<String> {
    let body: serde_json::Value = serde_json::from_str(request.attachment.as_ref()?.body.as_deref()?).ok()?;
    body.pointer("/in_store_payment/0/store_info/merchant_store_id")?.as_str().map(str::to_owned)
}

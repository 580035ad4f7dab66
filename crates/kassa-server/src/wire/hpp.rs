//! Hosted Payment Page v1 request and response bodies.

use kassa_core::hpp::{BackgroundImage, HppOutcome, HppSession, MerchantUrls};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `SessionCreationRequestV1`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct HppCreateRequest {
    /// `https://<host>/payments/v1/sessions/<id>`: a payment session of the same merchant.
    pub payment_session_url: Option<String>,
    pub merchant_urls: Option<MerchantUrlsV1>,
    pub options: Option<OptionsV1>,
    pub profile_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MerchantUrlsV1 {
    pub success: Option<String>,
    pub cancel: Option<String>,
    pub back: Option<String>,
    pub failure: Option<String>,
    pub error: Option<String>,
    pub status_update: Option<String>,
    /// Legacy key still sent by Klarna's SDKs; accepted and ignored.
    pub terms: Option<String>,
    /// Legacy key still sent by Klarna's SDKs; accepted and ignored.
    pub privacy_policy: Option<String>,
}

/// The URLs as kept (unchecked: the service validates them); the legacy keys are dropped.
impl From<MerchantUrlsV1> for MerchantUrls {
    fn from(urls: MerchantUrlsV1) -> Self {
        let MerchantUrlsV1 { success, cancel, back, failure, error, status_update, terms: _, privacy_policy: _ } = urls;
        Self { success, cancel, back, failure, error, status_update }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct OptionsV1 {
    pub background_images: Option<Vec<BackgroundImageV1>>,
    pub logo_url: Option<String>,
    pub page_title: Option<String>,
    pub payment_method_categories: Option<Vec<String>>,
    pub payment_method_category: Option<String>,
    pub payment_fallback: Option<bool>,
    pub place_order_mode: Option<String>,
    pub purchase_type: Option<String>,
    pub show_subtotal_detail: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct BackgroundImageV1 {
    pub url: Option<String>,
    pub width: Option<i64>,
}

impl From<BackgroundImageV1> for BackgroundImage {
    fn from(BackgroundImageV1 { url, width }: BackgroundImageV1) -> Self {
        Self { url, width }
    }
}

/// `SessionCreationResponseV1`: every key is always present.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HppCreated {
    pub session_id: String,
    pub session_url: String,
    pub redirect_url: String,
    pub qr_code_url: String,
    pub distribution_url: String,
    pub expires_at: String,
    pub distribution_module: DistributionModuleV1,
    pub manual_identification_check_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DistributionModuleV1 {
    pub token: String,
    pub standalone_url: String,
    pub generation_url: String,
}

/// `SessionResponseV1`: the read body, also the `session` of every status callback. Keys
/// without a value are omitted, as in Klarna's examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HppSessionV1 {
    pub session_id: String,
    /// WAITING, IN_PROGRESS, COMPLETED, FAILED, CANCELLED, BACK, ERROR or DISABLED.
    pub status: String,
    pub updated_at: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub klarna_reference: Option<String>,
}

impl From<&HppSession> for HppSessionV1 {
    fn from(session: &HppSession) -> Self {
        let (mut authorization_token, mut order_id, mut klarna_reference) = (None, None, None);
        match &session.outcome {
            Some(HppOutcome::Authorization { authorization_token: token }) => authorization_token = Some(token.clone()),
            Some(HppOutcome::Order { order_id: id, klarna_reference: reference }) => {
                order_id = Some(id.clone());
                klarna_reference = Some(reference.clone());
            }
            None => {}
        }
        Self {
            session_id: session.id.clone(),
            status: session.status().as_str().to_owned(),
            updated_at: session.lifecycle.updated_at.to_string(),
            expires_at: session.expires_at.to_string(),
            authorization_token,
            order_id,
            klarna_reference,
        }
    }
}

/// `DistributionRequestV1`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DistributionRequestV1 {
    /// `sms`, `email` or `token`.
    pub method: Option<String>,
    pub contact_information: Option<DistributionContactV1>,
    /// `INSTORE_PURCHASE`; accepted, not used (as at Klarna).
    pub template: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DistributionContactV1 {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub phone_country: Option<String>,
    pub access_id: Option<String>,
}

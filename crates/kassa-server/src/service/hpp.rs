//! Hosted Payment Page sessions: create, read, disable, and the consumer's actions.

use super::orders::order_change;
use super::payments::{self, PaymentRecord};
use super::watch::{Tagged, etag};
use super::{callbacks, event_row, retry_on_conflict, validate};
use crate::app::state::AppState;
use crate::error::ApiError;
use crate::model::ids;
use crate::wire::hpp::{DistributionModuleV1, HppCreateRequest, HppCreated, HppSessionV1, MerchantUrlsV1, OptionsV1};
use crate::wire::kassa::SandboxOutcome;
use axum::http::StatusCode;
use kassa_core::Event;
use kassa_core::hpp::{
    BackgroundImage, HppAction, HppMachine, HppOptions, HppOutcome, HppSession, HppStatus, MerchantUrls, NewHppSession,
    PaymentMethodCategory, PlaceOrderMode, PurchaseType, SubtotalDetail,
};
use kassa_core::machine::StateMachine;
use kassa_core::payment::{Authorization, AuthorizationStatus, PaymentStatus};
use kassa_store::{AuthorizationWrite, Change, Merchant, SessionWrite, StoreExt, Stored};

const NOT_FOUND: &str = "HPP session not found (unknown or expired)";

/// The id inside `https://<host>/payments/v1/sessions/<id>`.
fn payment_session_id(url: &str) -> Result<String, ApiError> {
    const FIELD: &str = "payment_session_url";
    if url.contains("/checkout/v3/orders/") {
        return Err(ApiError::bad_value(
            FIELD,
            "names a Klarna Checkout order; kassa hosts Klarna Payments sessions only",
        ));
    }
    let parsed = url::Url::parse(url).map_err(|_| ApiError::bad_value(FIELD, "must be an absolute URL"))?;
    let segments: Vec<&str> = parsed.path_segments().map(Iterator::collect).unwrap_or_default();
    match segments.as_slice() {
        [.., "payments", "v1", "sessions", id] if !id.is_empty() => Ok((*id).to_owned()),
        _ => Err(ApiError::bad_value(
            FIELD,
            "must be a payment session URL: https://<host>/payments/v1/sessions/<session_id>",
        )),
    }
}

fn merchant_urls(urls: Option<MerchantUrlsV1>) -> Result<MerchantUrls, ApiError> {
    let urls = urls.unwrap_or_default();
    let MerchantUrlsV1 { success, cancel, back, failure, error, status_update, terms: _, privacy_policy: _ } = urls;
    let checked = MerchantUrls { success, cancel, back, failure, error, status_update };
    for (key, value) in [
        ("success", &checked.success),
        ("cancel", &checked.cancel),
        ("back", &checked.back),
        ("failure", &checked.failure),
        ("error", &checked.error),
        ("status_update", &checked.status_update),
    ] {
        validate::optional_url(&format!("merchant_urls.{key}"), value.as_deref())?;
    }
    Ok(checked)
}

fn options(options: Option<OptionsV1>) -> Result<HppOptions, ApiError> {
    let o = options.unwrap_or_default();
    let categories = match (o.payment_method_category, o.payment_method_categories) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_value(
                "options.payment_method_categories",
                "cannot be sent together with options.payment_method_category; send one of them",
            ));
        }
        (Some(one), None) => vec![one],
        (None, Some(many)) => many,
        (None, None) => vec![],
    };
    let categories = categories
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let field = format!("options.payment_method_categories[{i}]");
            validate::one_of(&field, c, PaymentMethodCategory::parse, PaymentMethodCategory::expected)
        })
        .collect::<Result<Vec<_>, _>>()?;
    validate::optional_url("options.logo_url", o.logo_url.as_deref())?;
    validate::max_chars("options.page_title", o.page_title.as_deref(), 255)?;
    let background_images = o.background_images.unwrap_or_default();
    for (i, image) in background_images.iter().enumerate() {
        validate::optional_url(&format!("options.background_images[{i}].url"), image.url.as_deref())?;
    }
    Ok(HppOptions {
        background_images: background_images
            .into_iter()
            .map(|b| BackgroundImage { url: b.url, width: b.width })
            .collect(),
        logo_url: o.logo_url,
        page_title: o.page_title,
        payment_method_categories: categories,
        payment_fallback: o.payment_fallback,
        place_order_mode: validate::optional(
            "options.place_order_mode",
            o.place_order_mode.as_deref(),
            PlaceOrderMode::parse,
            PlaceOrderMode::expected,
        )?,
        purchase_type: validate::optional(
            "options.purchase_type",
            o.purchase_type.as_deref(),
            PurchaseType::parse,
            PurchaseType::expected,
        )?,
        show_subtotal_detail: validate::optional(
            "options.show_subtotal_detail",
            o.show_subtotal_detail.as_deref(),
            SubtotalDetail::parse,
            SubtotalDetail::expected,
        )?,
    })
}

fn created_view(session: &HppSession, state: &AppState) -> HppCreated {
    let id = &session.id;
    let url = |path: String| state.config.url(&path);
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

pub async fn create(state: &AppState, merchant: &Merchant, request: HppCreateRequest) -> Result<HppCreated, ApiError> {
    let url = request.payment_session_url.ok_or_else(|| ApiError::bad_value("payment_session_url", "is required"))?;
    let payment_id = payment_session_id(&url)?;
    let merchant_urls = merchant_urls(request.merchant_urls)?;
    if let Some(target) = &merchant_urls.status_update {
        let probe = target.replace("{{", "x").replace("}}", "x");
        let targets = &state.config.callback_targets;
        targets
            .check_resolved(&probe)
            .await
            .map_err(|reason| ApiError::bad_value("merchant_urls.status_update", reason))?;
    }
    let options = options(request.options)?;
    validate::max_chars("profile_id", request.profile_id.as_deref(), 255)?;
    let session = retry_on_conflict(|| async {
        let now = state.now();
        let payment: Option<Stored<PaymentRecord>> = state.store.load(&payment_id).await?;
        let payment = payment.filter(|p| p.session.merchant_id == merchant.id).ok_or_else(|| {
            ApiError::bad_value("payment_session_url", "does not name a payment session of this merchant")
        })?;
        let hpp_expiry = payment.session.expires_at.plus_hours(-HppSession::EXPIRES_BEFORE_PAYMENT_SESSION_HOURS);
        if !payment.session.is_live(now) || now >= hpp_expiry {
            return Err(ApiError::not_found("The payment session has expired or was cancelled"));
        }
        if payment.session.status() == PaymentStatus::Complete {
            return Err(ApiError::bad_value("payment_session_url", "names a payment session that is already complete"));
        }
        let new = NewHppSession {
            id: ids::new_id(),
            merchant_id: merchant.id.clone(),
            payment_session_id: payment_id.clone(),
            payment_session_expires_at: payment.session.expires_at,
            merchant_urls: merchant_urls.clone(),
            options: options.clone(),
            profile_id: request.profile_id.clone(),
            distribution_token: ids::random_hex::<16>(),
        };
        let (session, event) = HppSession::create(new, now);
        // Guarded on the payment session too: a concurrent cancel or order makes this retry.
        let change = Change::default()
            .session(SessionWrite::unchanged(&payment)?)
            .session(SessionWrite::insert(&session)?)
            .event(event_row(&session, &event, &HppSessionV1::from(&session))?);
        state.commit(change).await?;
        Ok(session)
    })
    .await?;
    Ok(created_view(&session, state))
}

/// The merchant's HPP session, unless it has expired.
pub async fn load(state: &AppState, merchant: &Merchant, id: &str) -> Result<Stored<HppSession>, ApiError> {
    let session: Option<Stored<HppSession>> = state.store.load(id).await?;
    session
        .filter(|s| s.merchant_id == merchant.id && !s.is_expired(state.now()))
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

/// The read body, tagged by the session's sequence number (the body changes only with it).
pub async fn read(state: &AppState, merchant: &Merchant, id: &str) -> Result<Tagged<HppSessionV1>, ApiError> {
    let session = load(state, merchant, id).await?;
    Ok(Tagged { etag: etag(session.lifecycle.version), body: HppSessionV1::from(&session.record) })
}

/// `before → after` with its event and the event's callback.
pub(crate) fn transition_change(
    before: &Stored<HppSession>,
    after: &HppSession,
    event: &Event<HppStatus>,
    merchant: &Merchant,
) -> Result<Change, ApiError> {
    let row = event_row(after, event, &HppSessionV1::from(after))?;
    let mut change = Change::default().session(SessionWrite::update(before, after)?);
    if let Some(delivery) = callbacks::hpp(after, &row, merchant) {
        change = change.delivery(delivery);
    }
    Ok(change.event(row))
}

pub async fn disable(state: &AppState, merchant: &Merchant, id: &str) -> Result<(), ApiError> {
    retry_on_conflict(|| async {
        let before = load(state, merchant, id).await?;
        let (after, event) = before
            .apply(HppAction::Disable, state.now())
            .map_err(|r| ApiError::rejected(StatusCode::BAD_REQUEST, r))?;
        state.commit(transition_change(&before, &after, &event, merchant)?).await?;
        Ok(())
    })
    .await
}

/// A session that still accepts distribution: not DISABLED and not otherwise final.
pub(crate) async fn load_open(state: &AppState, merchant: &Merchant, id: &str) -> Result<Stored<HppSession>, ApiError> {
    let session = load(state, merchant, id).await?;
    if HppMachine::is_final(session.status()) {
        return Err(ApiError::invalid_operation(
            StatusCode::BAD_REQUEST,
            format!("The session is {}, a final status; it can no longer be distributed", session.status()),
        ));
    }
    Ok(session)
}

/// Issues a new distribution-module token (the old one stops working).
pub async fn new_distribution_token(state: &AppState, merchant: &Merchant, id: &str) -> Result<String, ApiError> {
    retry_on_conflict(|| async {
        let before = load_open(state, merchant, id).await?;
        let after = HppSession { distribution_token: ids::random_hex::<16>(), ..before.record.clone() };
        state.commit(Change::default().session(SessionWrite::update(&before, &after)?)).await?;
        Ok(after.distribution_token)
    })
    .await
}

/// A consumer action (sandbox control; the hosted page drives the same function).
pub async fn consumer_action(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
    action: HppAction,
) -> Result<SandboxOutcome, ApiError> {
    let session = retry_on_conflict(|| async {
        let before = load(state, merchant, id).await?;
        let (change, after) = match action {
            HppAction::Approve => approve(state, merchant, &before).await?,
            _ => {
                let (after, event) =
                    before.apply(action, state.now()).map_err(|r| ApiError::rejected(StatusCode::CONFLICT, r))?;
                (transition_change(&before, &after, &event, merchant)?, after)
            }
        };
        state.commit(change).await?;
        Ok(after)
    })
    .await?;
    Ok(SandboxOutcome { redirect_url: session.merchant_url_after(action), session: HppSessionV1::from(&session) })
}

/// The payment session an approval draws on: live and without an order yet.
async fn live_payment(
    state: &AppState,
    merchant: &Merchant,
    hpp: &HppSession,
) -> Result<Stored<PaymentRecord>, ApiError> {
    let payment = match payments::load(state, merchant, &hpp.payment_session_id).await {
        Err(ApiError::NotFound(_)) => {
            let message = "The payment session behind this HPP session is no longer live";
            return Err(ApiError::invalid_operation(StatusCode::CONFLICT, message));
        }
        other => other?,
    };
    if payment.session.status() != PaymentStatus::Incomplete {
        let message = "An order has already been placed for the payment session";
        return Err(ApiError::invalid_operation(StatusCode::CONFLICT, message));
    }
    Ok(payment)
}

/// Approval: COMPLETED with an authorization token (`place_order_mode` NONE, the token also
/// recorded on the payment session) or with the order kassa places (and captures).
async fn approve(
    state: &AppState,
    merchant: &Merchant,
    before: &Stored<HppSession>,
) -> Result<(Change, HppSession), ApiError> {
    let now = state.now();
    // Refuse on the HPP status first: that is what the consumer did wrong.
    before
        .lifecycle
        .apply::<HppMachine>(HppAction::Approve, now)
        .map_err(|r| ApiError::rejected(StatusCode::CONFLICT, r))?;
    let payment = live_payment(state, merchant, before).await?;
    let mut authorization = Authorization::issue(ids::new_id(), &payment.session, now);
    let token = authorization.token.clone();
    let (change, outcome) = match before.options.place_order_mode() {
        PlaceOrderMode::None => {
            let after = PaymentRecord { authorization_token: Some(token.clone()), ..payment.record.clone() };
            let change = Change::default()
                .session(SessionWrite::update(&payment, &after)?)
                .authorization(AuthorizationWrite::Insert(authorization));
            (change, HppOutcome::Authorization { authorization_token: token })
        }
        mode => {
            authorization.status = AuthorizationStatus::Ordered;
            let capture = mode == PlaceOrderMode::CaptureOrder;
            let written = AuthorizationWrite::Insert(authorization);
            let (change, order) =
                order_change(state, merchant, &payment, written, &token, capture, Some(&before.id)).await?;
            let reference = order.klarna_reference.as_str().to_owned();
            (change, HppOutcome::Order { order_id: order.order_id, klarna_reference: reference })
        }
    };
    let (after, event) = before.approve(outcome, now).map_err(|r| ApiError::rejected(StatusCode::CONFLICT, r))?;
    Ok((transition_change(before, &after, &event, merchant)?.merge(change), after))
}

//! Hosted Payment Page sessions: create, read, disable, and the consumer's actions.

use super::case::{PaymentCase, approve_hpp, event_row, hpp_action};
use super::error::{Rule, ServiceError, ServiceResult};
use super::watch::{Tagged, etag};
use super::{context, load, retry_on_conflict, validate, views};
use crate::app::state::AppState;
use crate::model::ids;
use crate::model::payment::PaymentRecord;
use crate::wire::hpp::{HppCreateRequest, HppCreated, HppSessionV1, MerchantUrlsV1, OptionsV1};
use crate::wire::kassa::SandboxOutcome;
use kassa_core::hpp::{
    BackgroundImage, HppAction, HppOptions, HppSession, MerchantUrls, NewHppSession, PaymentMethodCategory,
    PlaceOrderMode, PurchaseType, SubtotalDetail,
};
use kassa_core::payment::PaymentStatus;
use kassa_store::{Change, Merchant, SessionWrite, StoreExt, Stored};

/// The id inside `https://<host>/payments/v1/sessions/<id>`.
fn payment_session_id(url: &str) -> Result<String, ServiceError> {
    const FIELD: &str = "payment_session_url";
    if url.contains("/checkout/v3/orders/") {
        return Err(ServiceError::bad_value(
            FIELD,
            "names a Klarna Checkout order; kassa hosts Klarna Payments sessions only",
        ));
    }
    let parsed = url::Url::parse(url).map_err(|_| ServiceError::bad_value(FIELD, "must be an absolute URL"))?;
    let segments: Vec<&str> = parsed.path_segments().map(Iterator::collect).unwrap_or_default();
    match segments.as_slice() {
        [.., "payments", "v1", "sessions", id] if !id.is_empty() => Ok((*id).to_owned()),
        _ => Err(ServiceError::bad_value(
            FIELD,
            "must be a payment session URL: https://<host>/payments/v1/sessions/<session_id>",
        )),
    }
}

fn merchant_urls(urls: Option<MerchantUrlsV1>) -> Result<MerchantUrls, ServiceError> {
    let checked = MerchantUrls::from(urls.unwrap_or_default());
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

fn options(options: Option<OptionsV1>) -> Result<HppOptions, ServiceError> {
    let o = options.unwrap_or_default();
    let categories = match (o.payment_method_category, o.payment_method_categories) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::bad_value(
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
        background_images: background_images.into_iter().map(BackgroundImage::from).collect(),
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

pub async fn create(state: &AppState, merchant: &Merchant, request: HppCreateRequest) -> ServiceResult<HppCreated> {
    let url =
        request.payment_session_url.ok_or_else(|| ServiceError::bad_value("payment_session_url", "is required"))?;
    let payment_id = payment_session_id(&url)?;
    let merchant_urls = merchant_urls(request.merchant_urls)?;
    if let Some(target) = &merchant_urls.status_update {
        let probe = target.replace("{{", "x").replace("}}", "x");
        let targets = &state.config.callback_targets;
        targets
            .check_resolved(&probe)
            .await
            .map_err(|reason| ServiceError::bad_value("merchant_urls.status_update", reason))?;
    }
    let options = options(request.options)?;
    validate::max_chars("profile_id", request.profile_id.as_deref(), 255)?;
    let session = retry_on_conflict(|| async {
        let now = state.now_for(&merchant.id);
        let payment: Option<Stored<PaymentRecord>> = state.store.load(&payment_id).await?;
        let payment = payment.filter(|p| p.session.merchant_id == merchant.id).ok_or_else(|| {
            ServiceError::bad_value("payment_session_url", "does not name a payment session of this merchant")
        })?;
        let hpp_expiry = payment.session.expires_at.plus_hours(-HppSession::EXPIRES_BEFORE_PAYMENT_SESSION_HOURS);
        if !payment.session.is_live(now) || now >= hpp_expiry {
            return Err(ServiceError::not_found("The payment session has expired or was cancelled"));
        }
        if payment.session.status() == PaymentStatus::Complete {
            return Err(ServiceError::bad_value(
                "payment_session_url",
                "names a payment session that is already complete",
            ));
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
    Ok(views::hpp_created(&session, &state.config))
}

/// The read body, tagged by the session's sequence number (the body changes only with it).
pub async fn read(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<Tagged<HppSessionV1>> {
    let session = load::read_hpp_session(state, merchant, id).await?;
    Ok(Tagged { etag: etag(session.lifecycle.version), body: HppSessionV1::from(&session.record) })
}

pub async fn disable(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<()> {
    retry_on_conflict(|| async {
        let before = load::hpp_session(state, merchant, id).await?;
        let (change, _) = hpp_action(context(state, merchant), &before, HppAction::Disable, Rule::HppMerchantAction)?;
        state.commit(change).await?;
        Ok(())
    })
    .await
}

/// Issues a new distribution-module token (the old one stops working).
pub async fn new_distribution_token(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<String> {
    retry_on_conflict(|| async {
        let before = load::open_hpp_session(state, merchant, id).await?;
        let after = HppSession { distribution_token: ids::random_hex::<16>(), ..before.record.clone() };
        state.commit(Change::default().session(SessionWrite::update(&before, &after)?)).await?;
        Ok(after.distribution_token)
    })
    .await
}

/// A consumer action (sandbox control; the hosted page drives the same function). An approval
/// draws on the payment session behind the HPP session, so it loads the whole case.
pub async fn consumer_action(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
    action: HppAction,
) -> ServiceResult<SandboxOutcome> {
    let session = retry_on_conflict(|| async {
        let before = load::hpp_session(state, merchant, id).await?;
        let ctx = context(state, merchant);
        let (change, after) = match action {
            HppAction::Approve => {
                let case = PaymentCase::load(state.store.as_ref(), &before.payment_session_id).await?;
                let case = case.ok_or_else(|| Rule::PaymentUnavailable.refuses("The payment session is gone"))?;
                approve_hpp(ctx, &case, &before)?
            }
            _ => hpp_action(ctx, &before, action, Rule::HppConsumerAction)?,
        };
        state.commit(change).await?;
        Ok(after)
    })
    .await?;
    Ok(SandboxOutcome { redirect_url: session.merchant_url_after(action), session: HppSessionV1::from(&session) })
}

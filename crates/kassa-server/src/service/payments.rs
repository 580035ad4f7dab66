//! Klarna Payments sessions, authorizations and orders.

use super::{event_row, retry_on_conflict, validate};
use crate::config::Config;
use crate::error::ApiError;
use crate::http::json;
use crate::ids;
use crate::state::AppState;
use crate::wire::payments::{
    AssetUrls, AuthorizedPaymentMethod, MerchantSession, OrderCreated, PaymentMethodCategory,
    PaymentSessionRead, PaymentSessionRequest,
};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kassa_core::Timestamp;
use kassa_core::hpp::{HppAction, HppSession};
use kassa_core::order::{Order, OrderStatus};
use kassa_core::payment::{
    AcquiringChannel, AuthorizationStatus, PaymentAction, PaymentSession, PaymentStatus,
};
use kassa_store::{
    AuthorizationWrite, Change, Merchant, SessionKind, SessionRecord, SessionWrite, StoreExt,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A payment session as stored: its lifecycle, the request as (last) given, its client token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentRecord {
    #[serde(flatten)]
    pub session: PaymentSession,
    pub request: PaymentSessionRequest,
    pub client_token: String,
}

impl SessionRecord for PaymentRecord {
    const KIND: SessionKind = SessionKind::Payment;
    fn id(&self) -> &str {
        &self.session.id
    }
    fn merchant_id(&self) -> &str {
        &self.session.merchant_id
    }
    fn parent_id(&self) -> Option<&str> {
        None
    }
    fn status_name(&self) -> &'static str {
        self.session.status().as_str()
    }
    fn version(&self) -> u64 {
        self.session.lifecycle.version
    }
    fn created_at(&self) -> Timestamp {
        self.session.created_at
    }
    fn updated_at(&self) -> Timestamp {
        self.session.lifecycle.updated_at
    }
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.session.expires_at)
    }
}

const NOT_FOUND: &str = "Payment session not found (unknown, expired or cancelled)";

/// The payment categories every kassa session offers.
pub fn payment_method_categories(config: &Config) -> Vec<PaymentMethodCategory> {
    let badge = config.url("/assets/badges/klarna.svg");
    [
        ("pay_now", "Pay now."),
        ("pay_later", "Pay later."),
        ("pay_over_time", "Financing."),
    ]
    .into_iter()
    .map(|(identifier, name)| PaymentMethodCategory {
        identifier: identifier.into(),
        name: name.into(),
        asset_urls: AssetUrls {
            descriptive: badge.clone(),
            standard: badge.clone(),
        },
    })
    .collect()
}

pub fn read_view(record: &PaymentRecord, config: &Config) -> PaymentSessionRead {
    PaymentSessionRead {
        request: record.request.clone(),
        status: match record.session.status() {
            PaymentStatus::Complete => "complete",
            _ => "incomplete",
        }
        .into(),
        expires_at: record.session.expires_at.to_string(),
        client_token: record.client_token.clone(),
        payment_method_categories: payment_method_categories(config),
    }
}

/// A JWT-shaped opaque token for Klarna's JS SDK (which kassa's pages do not need).
fn client_token(session_id: &str, now: Timestamp) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims =
        serde_json::json!({ "session_id": session_id, "iat": now.millis() / 1000, "iss": "kassa" });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.{}", ids::random_hex(16))
}

/// Checks a whole session request and spells its enums canonically.
fn validated(mut request: PaymentSessionRequest) -> Result<PaymentSessionRequest, ApiError> {
    request.cart().validate()?;
    let channel = match request.acquiring_channel.as_deref() {
        None => AcquiringChannel::Ecommerce,
        Some(text) => validate::one_of(
            "acquiring_channel",
            text,
            AcquiringChannel::parse,
            AcquiringChannel::expected(),
        )?,
    };
    request.acquiring_channel = Some(channel.as_str().to_owned());
    if request.distribution.is_some() {
        return Err(ApiError::bad_value(
            "distribution",
            "in-store distribution is not available in this kassa version yet",
        ));
    }
    if let Some(intent) = &request.intent {
        let known = ["buy", "tokenize", "buy_and_tokenize"]
            .into_iter()
            .find(|k| k.eq_ignore_ascii_case(intent));
        let known = known.ok_or_else(|| {
            ApiError::bad_value("intent", "must be one of buy, tokenize, buy_and_tokenize")
        })?;
        request.intent = Some(known.to_owned());
    }
    validate::max_chars(
        "merchant_reference1",
        request.merchant_reference1.as_deref(),
        255,
    )?;
    validate::max_chars(
        "merchant_reference2",
        request.merchant_reference2.as_deref(),
        255,
    )?;
    validate::max_chars("merchant_data", request.merchant_data.as_deref(), 6000)?;
    if let Some(attachment) = &request.attachment {
        if attachment.content_type.is_none() {
            return Err(ApiError::bad_value(
                "attachment.content_type",
                "is required with an attachment",
            ));
        }
        if attachment.body.is_none() {
            return Err(ApiError::bad_value(
                "attachment.body",
                "is required with an attachment",
            ));
        }
    }
    if let Some(urls) = &request.merchant_urls {
        let urls = urls
            .as_object()
            .ok_or_else(|| ApiError::bad_value("merchant_urls", "must be an object"))?;
        for (key, value) in urls {
            let field = format!("merchant_urls.{key}");
            let text = value
                .as_str()
                .ok_or_else(|| ApiError::bad_value(&field, "must be a string"))?;
            validate::url(&field, text)?;
        }
    }
    Ok(request)
}

pub async fn create(
    state: &AppState,
    merchant: &Merchant,
    request: PaymentSessionRequest,
) -> Result<MerchantSession, ApiError> {
    let request = validated(request)?;
    let now = state.now();
    let id = ids::new_id();
    let channel = request
        .acquiring_channel
        .as_deref()
        .and_then(AcquiringChannel::parse)
        .unwrap_or(AcquiringChannel::Ecommerce);
    let (session, event) = PaymentSession::create(id.clone(), merchant.id.clone(), channel, now);
    let record = PaymentRecord {
        session,
        request,
        client_token: client_token(&id, now),
    };
    let change = Change::default()
        .session(SessionWrite::insert(&record)?)
        .event(event_row(
            &record,
            &event,
            &read_view(&record, &state.config),
        )?);
    state.store.commit(change).await?;
    Ok(MerchantSession {
        session_id: id,
        client_token: record.client_token,
        payment_method_categories: payment_method_categories(&state.config),
    })
}

/// The merchant's payment session, if it is still live.
pub async fn load(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
) -> Result<PaymentRecord, ApiError> {
    let record: Option<PaymentRecord> = state.store.load(id).await?;
    record
        .filter(|r| r.session.merchant_id == merchant.id && r.session.is_live(state.now()))
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))
}

pub async fn read(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
) -> Result<PaymentSessionRead, ApiError> {
    Ok(read_view(&load(state, merchant, id).await?, &state.config))
}

/// Updates the given keys of an incomplete session (Klarna's `POST /payments/v1/sessions/{id}`).
pub async fn update(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
    patch: Value,
) -> Result<(), ApiError> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::BadRequest(
            "The request body must be a JSON object".into(),
        ));
    };
    retry_on_conflict(|| async {
        let before = load(state, merchant, id).await?;
        if before.session.status() != PaymentStatus::Incomplete {
            return Err(ApiError::invalid_operation(
                StatusCode::FORBIDDEN,
                "The session is complete and can no longer be updated",
            ));
        }
        let mut merged =
            serde_json::to_value(&before.request).map_err(|e| ApiError::Internal(e.to_string()))?;
        if let Value::Object(fields) = &mut merged {
            for (key, value) in &patch {
                fields.insert(key.clone(), value.clone());
            }
        }
        let request = validated(json::from_value(merged)?)?;
        let after = PaymentRecord {
            request,
            ..before.clone()
        };
        state
            .store
            .commit(Change::default().session(SessionWrite::update(&before, &after)?))
            .await?;
        Ok(())
    })
    .await
}

/// Cancels a session (`DELETE`); its HPP sessions that are not final become DISABLED.
pub async fn cancel(state: &AppState, merchant: &Merchant, id: &str) -> Result<(), ApiError> {
    retry_on_conflict(|| async {
        let before = load(state, merchant, id).await?;
        let now = state.now();
        let (session, event) = before
            .session
            .apply(PaymentAction::Cancel, now)
            .map_err(|r| ApiError::rejected(StatusCode::FORBIDDEN, r))?;
        let after = PaymentRecord {
            session,
            ..before.clone()
        };
        let mut change = Change::default()
            .session(SessionWrite::update(&before, &after)?)
            .event(event_row(
                &after,
                &event,
                &read_view(&after, &state.config),
            )?);
        let children: Vec<HppSession> = state.store.load_children(id).await?;
        for hpp in children {
            if let Ok((disabled, event)) = hpp.apply(HppAction::Disable, now) {
                let body = crate::wire::hpp::HppSessionV1::from(&disabled);
                change = change
                    .session(SessionWrite::update(&hpp, &disabled)?)
                    .event(event_row(&disabled, &event, &body)?);
            }
        }
        state.store.commit(change).await?;
        Ok(())
    })
    .await
}

/// Everything placing an order writes: the session completes, the authorization is used up,
/// the order exists. `authorization` is the write that marks the token as ordered.
pub(crate) fn order_change(
    payment: &PaymentRecord,
    authorization: AuthorizationWrite,
    token: &str,
    capture: bool,
    now: Timestamp,
    config: &Config,
) -> Result<(Change, Order), ApiError> {
    let (session, event) = payment
        .session
        .apply(PaymentAction::PlaceOrder, now)
        .map_err(|_| {
            ApiError::invalid_operation(
                StatusCode::FORBIDDEN,
                "An order has already been placed for this payment session",
            )
        })?;
    let after = PaymentRecord {
        session,
        ..payment.clone()
    };
    let amount = payment.request.order_amount.unwrap_or(0);
    let order = Order {
        order_id: ids::new_id(),
        klarna_reference: ids::klarna_reference(),
        merchant_id: payment.session.merchant_id.clone(),
        payment_session_id: payment.session.id.clone(),
        authorization_token: token.to_owned(),
        status: if capture {
            OrderStatus::Captured
        } else {
            OrderStatus::Authorized
        },
        purchase_currency: payment
            .request
            .purchase_currency
            .clone()
            .unwrap_or_default()
            .to_uppercase(),
        order_amount: amount,
        captured_amount: if capture { amount } else { 0 },
        created_at: now,
    };
    let change = Change::default()
        .session(SessionWrite::update(payment, &after)?)
        .event(event_row(&after, &event, &read_view(&after, config))?)
        .authorization(authorization)
        .order(order.clone());
    Ok((change, order))
}

const NO_AUTHORIZATION: &str =
    "No usable authorization with this token (unknown, expired, released or already used)";

/// Places an order from an authorization token (`POST /payments/v1/authorizations/{token}/order`).
pub async fn place_order(
    state: &AppState,
    merchant: &Merchant,
    token: &str,
    body: Value,
) -> Result<OrderCreated, ApiError> {
    let auto_capture = match body.get("auto_capture") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad_value("auto_capture", "must be a boolean")),
    };
    let request: PaymentSessionRequest = json::from_value(body)?;
    request.cart().validate()?;
    retry_on_conflict(|| async {
        let now = state.now();
        let authorization = state.store.authorization(token).await?;
        let authorization = authorization
            .filter(|a| a.merchant_id == merchant.id && a.is_usable(now))
            .ok_or_else(|| ApiError::not_found(NO_AUTHORIZATION))?;
        let payment = load(state, merchant, &authorization.payment_session_id).await?;
        for (field, ours, theirs) in [
            (
                "purchase_currency",
                &payment.request.purchase_currency,
                &request.purchase_currency,
            ),
            (
                "purchase_country",
                &payment.request.purchase_country,
                &request.purchase_country,
            ),
        ] {
            if !ours
                .as_deref()
                .unwrap_or("")
                .eq_ignore_ascii_case(theirs.as_deref().unwrap_or(""))
            {
                return Err(ApiError::Mismatch {
                    field: field.into(),
                    reason: "does not match the authorized session".into(),
                });
            }
        }
        if payment.request.order_amount != request.order_amount {
            return Err(ApiError::Mismatch {
                field: "order_amount".into(),
                reason: "does not match the authorized session".into(),
            });
        }
        let used = AuthorizationWrite::Transition {
            token: token.to_owned(),
            from: AuthorizationStatus::Valid,
            to: AuthorizationStatus::Ordered,
        };
        let (change, order) =
            order_change(&payment, used, token, auto_capture, now, &state.config)?;
        state.store.commit(change).await?;
        let confirmation = request
            .merchant_urls
            .as_ref()
            .and_then(|u| u.get("confirmation"))
            .and_then(Value::as_str);
        Ok(OrderCreated {
            order_id: order.order_id,
            redirect_url: confirmation.map(str::to_owned),
            fraud_status: "ACCEPTED".into(),
            authorized_payment_method: AuthorizedPaymentMethod {
                kind: "invoice".into(),
                number_of_days: 30,
                number_of_installments: 1,
            },
        })
    })
    .await
}

/// Releases an authorization that has not been used (`DELETE /payments/v1/authorizations/{token}`).
pub async fn release_authorization(
    state: &AppState,
    merchant: &Merchant,
    token: &str,
) -> Result<(), ApiError> {
    let authorization = state
        .store
        .authorization(token)
        .await?
        .filter(|a| a.merchant_id == merchant.id);
    let authorization =
        authorization.ok_or_else(|| ApiError::not_found("No authorization with this token"))?;
    match authorization.status {
        AuthorizationStatus::Valid => {
            let release = AuthorizationWrite::Transition {
                token: token.to_owned(),
                from: AuthorizationStatus::Valid,
                to: AuthorizationStatus::Released,
            };
            state
                .store
                .commit(Change::default().authorization(release))
                .await?;
            Ok(())
        }
        AuthorizationStatus::Released => Err(ApiError::not_found(
            "The authorization was already released",
        )),
        AuthorizationStatus::Ordered => Err(ApiError::invalid_operation(
            StatusCode::FORBIDDEN,
            "The authorization has been used to place an order",
        )),
    }
}

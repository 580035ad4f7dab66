//! Customer tokens: made from an authorization of a session created to tokenize, read and
//! cancelled by the merchant, and placing recurring orders with the consumer absent.

use crate::app::state::AppState;
use crate::model::ids;
use crate::model::payment::PaymentRecord;
use crate::service::case::{event_row, placed_order};
use crate::service::error::{Absent, Rule, ServiceError, ServiceResult};
use crate::service::idempotency::{self, IdempotencyKey, Receipt};
use crate::service::{context, load, retry_on_conflict, views};
use crate::wire::tokens::{TokenCreated, TokenCreationRequest, TokenOrderRequest};
use kassa_core::cart::{CartInput, is_locale};
use kassa_core::customer_token::{CustomerToken, Intent, TokenAction, TokenStatus};
use kassa_core::machine::Lifecycle;
use kassa_core::order::{NewOrder, PaymentMethod};
use kassa_core::payment::{AuthorizationStatus, PaymentAction};
use kassa_store::{AuthorizationWrite, Change, IdempotentOutcome, Merchant, SessionWrite, StoreExt, Stored};

const NO_TOKEN: &str = "Invalid customer-token ID";
const MAX_TOKEN_ORDER_AMOUNT: i64 = 100_000_000;
const NO_AUTHORIZATION: &str = "Invalid authorization token (unknown, expired, released or already used)";

/// Exchanges an authorization for a customer token (`POST …/authorizations/{token}/customer-token`).
/// With intent `tokenize` the authorization is used up and the payment session completes; with
/// `buy_and_tokenize` it still places today's order.
pub async fn create(
    state: &AppState,
    merchant: &Merchant,
    authorization_token: &str,
    request: TokenCreationRequest,
) -> ServiceResult<TokenCreated> {
    retry_on_conflict(|| async {
        let now = state.now_for(&merchant.id);
        // Within its 60 minutes; `buy_and_tokenize` may already have placed today's order with it.
        let authorization = state.store.authorization(authorization_token).await?;
        let authorization = authorization
            .filter(|a| a.merchant_id == merchant.id && now < a.expires_at && a.status != AuthorizationStatus::Released)
            .ok_or_else(|| ServiceError::not_found(NO_AUTHORIZATION))?;
        let case = load::live_case(state, merchant, &authorization.payment_session_id).await?;
        let payment = &case.payment;
        let intent = payment.request.intent.as_deref().and_then(Intent::parse).unwrap_or(Intent::Buy);
        if !intent.tokenizes() {
            let message = format!("Not allowed to create customer tokens for intent {intent}.");
            return Err(Rule::NotTokenizable.refuses(message).into());
        }
        if authorization.status == AuthorizationStatus::Ordered && intent != Intent::BuyAndTokenize {
            return Err(ServiceError::not_found(NO_AUTHORIZATION));
        }
        if state.store.load_by_token::<CustomerToken>(authorization_token).await?.is_some() {
            let message = "A customer token was already created from this authorization";
            return Err(Rule::NotTokenizable.refuses(message).into());
        }
        let cart = case.cart()?;
        let checked = checked_request(&request, &cart.country(), &cart.currency())?;
        let (token, event) = CustomerToken::create(
            CustomerToken {
                token_id: ids::new_id(),
                merchant_id: merchant.id.clone(),
                payment_session_id: payment.session.id.clone(),
                authorization_token: authorization_token.to_owned(),
                lifecycle: Lifecycle::start(TokenStatus::Active, now).0,
                created_at: now,
                description: checked.description,
                purchase_country: cart.country(),
                purchase_currency: cart.currency(),
                locale: checked.locale,
                payment_method_type: PaymentMethod::invoice().kind,
            },
            now,
        );
        let mut change = Change::default().session(SessionWrite::insert(&token)?).event(event_row(
            &token,
            &event,
            &token_body(&token),
        )?);
        if intent.token_spends_authorization() {
            let ctx = context(state, merchant);
            let (session, event) = payment
                .session
                .apply(PaymentAction::PlaceOrder, now)
                .map_err(|_| Rule::PaymentClosed.refuses("The payment session is complete"))?;
            let after = PaymentRecord { session, ..payment.record.clone() };
            change = change
                .session(SessionWrite::update(payment, &after)?)
                .event(event_row(&after, &event, &views::payment_read(&after, ctx.config))?)
                .authorization(AuthorizationWrite::Transition {
                    token: authorization_token.to_owned(),
                    from: AuthorizationStatus::Valid,
                    to: AuthorizationStatus::Ordered,
                });
        }
        state.commit(change).await?;
        let redirect_url = request
            .merchant_urls
            .as_ref()
            .and_then(|u| u.get("confirmation"))
            .and_then(|c| c.as_str())
            .map(str::to_owned);
        Ok(TokenCreated { token_id: token.token_id, redirect_url })
    })
    .await
}

/// The merchant's token (`GET /customer-token/v1/tokens/{token}`).
pub async fn read(state: &AppState, merchant: &Merchant, token_id: &str) -> ServiceResult<CustomerToken> {
    Ok(token_of(state, merchant, token_id).await.map_err(not_found)?.record)
}

/// Cancels a token (`PATCH …/status` with `CANCELLED`), at once; cancelling a cancelled token
/// is accepted again.
pub async fn cancel(state: &AppState, merchant: &Merchant, token_id: &str, status: Option<&str>) -> ServiceResult<()> {
    if !status.is_some_and(|s| s.eq_ignore_ascii_case(TokenStatus::Cancelled.as_str())) {
        return Err(ServiceError::bad_value("status", "must be CANCELLED"));
    }
    change_status(state, merchant, token_id, TokenAction::Cancel).await
}

/// Klarna suspends or resumes a token (a sandbox control).
pub async fn change_status(
    state: &AppState,
    merchant: &Merchant,
    token_id: &str,
    action: TokenAction,
) -> ServiceResult<()> {
    let _turn = state.turns.take(token_id).await;
    retry_on_conflict(|| async {
        let before = token_of(state, merchant, token_id).await.map_err(not_found)?;
        if action == TokenAction::Cancel && before.status() == TokenStatus::Cancelled {
            return Ok(());
        }
        let (after, event) =
            before.apply(action, state.now_for(&merchant.id)).map_err(|r| Rule::NotTokenizable.rejects(r))?;
        let change = Change::default().session(SessionWrite::update(&before, &after)?).event(event_row(
            &after,
            &event,
            &token_body(&after),
        )?);
        Ok(state.commit(change).await?)
    })
    .await
}

/// A recurring order (`POST /customer-token/v1/tokens/{token}/order`); the receipt names it.
pub async fn place_order(
    state: &AppState,
    merchant: &Merchant,
    token_id: &str,
    key: Option<&IdempotencyKey>,
    request: &TokenOrderRequest,
) -> ServiceResult<Receipt> {
    let _turn = state.turns.take(token_id).await;
    retry_on_conflict(|| async {
        if let Some(receipt) = idempotency::done_before(state, merchant, key).await? {
            return Ok(receipt);
        }
        let token = token_of(state, merchant, token_id).await?;
        token.usable().map_err(|unusable| {
            let message = match unusable {
                kassa_core::customer_token::TokenUnusable::Cancelled => "The customer token is cancelled",
                kassa_core::customer_token::TokenUnusable::Suspended => "The customer token is suspended by Klarna",
            };
            ServiceError::from(Rule::TokenUnusable(unusable).refuses(message))
        })?;
        let new = token_order(&token, request)?;
        let (mut change, order) = placed_order(context(state, merchant), new, request.auto_capture.unwrap_or(false))?;
        let resource_id = Some(order.order_id.clone());
        if let Some(key) = key {
            change = change.idempotency(key.record(
                merchant,
                IdempotentOutcome::Done { resource_id: resource_id.clone() },
                state,
            ));
        }
        state.commit(change).await?;
        Ok(Receipt { resource_id })
    })
    .await
}

/// The order a token places: the request's cart in the token's country, with its currency.
fn token_order(token: &CustomerToken, request: &TokenOrderRequest) -> ServiceResult<NewOrder> {
    let currency =
        request.purchase_currency.clone().ok_or_else(|| ServiceError::bad_value("purchase_currency", "is required"))?;
    if !currency.eq_ignore_ascii_case(&token.purchase_currency) {
        return Err(ServiceError::Mismatch {
            field: "purchase_currency".into(),
            reason: format!("does not match the customer token's currency {}", token.purchase_currency),
        });
    }
    let lines_given = request.order_lines.clone().unwrap_or_default();
    let cart = CartInput {
        purchase_country: Some(token.purchase_country.clone()),
        purchase_currency: Some(currency),
        locale: Some(token.locale.clone()),
        order_amount: request.order_amount,
        order_tax_amount: Some(
            request.order_tax_amount.ok_or_else(|| ServiceError::bad_value("order_tax_amount", "is required"))?,
        ),
        order_lines: Some(lines_given.iter().map(|l| l.input()).collect()),
    }
    .parse()?;
    // The Customer Token API takes at most 100000000 per order (Order Management: 200000000).
    if !(1..=MAX_TOKEN_ORDER_AMOUNT).contains(&cart.order_amount) {
        return Err(ServiceError::bad_value("order_amount", format!("must be 1 to {MAX_TOKEN_ORDER_AMOUNT}")));
    }
    Ok(NewOrder {
        order_id: ids::new_id(),
        klarna_reference: ids::klarna_reference(),
        merchant_id: token.merchant_id.clone(),
        payment_session_id: token.payment_session_id.clone(),
        authorization_token: token.authorization_token.clone(),
        customer_token_id: Some(token.token_id.clone()),
        purchase_country: cart.country(),
        purchase_currency: cart.currency(),
        locale: cart.locale.clone(),
        order_amount: cart.order_amount,
        order_lines: cart.lines,
        merchant_reference1: request.merchant_reference1.clone(),
        merchant_reference2: request.merchant_reference2.clone(),
        merchant_data: request.merchant_data.clone(),
        billing_address: None,
        shipping_address: request.shipping_address.clone(),
        initial_payment_method: PaymentMethod::invoice(),
    })
}

/// The creation request's fields, checked against the authorized session.
struct Checked {
    description: String,
    locale: String,
}

fn checked_request(request: &TokenCreationRequest, country: &str, currency: &str) -> ServiceResult<Checked> {
    let description = request.description.clone().unwrap_or_default();
    if description.is_empty() || description.chars().count() > 255 {
        return Err(ServiceError::bad_value("description", "must be 1 to 255 characters long"));
    }
    if !request.intended_use.as_deref().is_some_and(|u| u.eq_ignore_ascii_case("SUBSCRIPTION")) {
        return Err(ServiceError::bad_value("intended_use", "must be SUBSCRIPTION"));
    }
    let locale = request.locale.clone().filter(|l| is_locale(l));
    let locale =
        locale.ok_or_else(|| ServiceError::bad_value("locale", "must be an RFC 1766 language tag such as en-US"))?;
    let same =
        |given: &Option<String>, expected: &str| given.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(expected));
    if !same(&request.purchase_country, country) {
        return Err(ServiceError::bad_value("purchase_country", format!("must be the session's country {country}")));
    }
    if !same(&request.purchase_currency, currency) {
        return Err(ServiceError::bad_value("purchase_currency", format!("must be the session's currency {currency}")));
    }
    if let Some(billing) = request.billing_address.as_ref().and_then(|a| a.country.as_deref())
        && !billing.eq_ignore_ascii_case(country)
    {
        return Err(ServiceError::bad_value("purchase_country", "the billing address is in another country"));
    }
    Ok(Checked { description, locale })
}

/// The token API's own "not found" (the token order call says `TOKEN_NOT_FOUND`); every other
/// failure as it is.
fn not_found(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::Absent { what: Absent::Token, .. } => ServiceError::not_found(NO_TOKEN),
        other => other,
    }
}

async fn token_of(state: &AppState, merchant: &Merchant, token_id: &str) -> ServiceResult<Stored<CustomerToken>> {
    let token: Option<Stored<CustomerToken>> = state.store.load(token_id).await?;
    token.filter(|t| t.merchant_id == merchant.id).ok_or_else(|| ServiceError::Absent {
        what: Absent::Token,
        message: format!("Customer token {token_id} cannot be found"),
    })
}

/// A token event's body: what the token API reads of it.
fn token_body(token: &CustomerToken) -> serde_json::Value {
    serde_json::json!({"token_id": token.token_id, "status": token.status().as_str(), "payment_method_type": token.payment_method_type})
}

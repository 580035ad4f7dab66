//! Distributing an HPP session's link by SMS, email or a distribution-module token.

use super::load;
use super::validate;
use crate::app::state::AppState;
use crate::model::ids;
use crate::service::error::{Absent, Rule, ServiceError};
use crate::wire::hpp::{DistributionContactV1, DistributionRequestV1};
use crate::wire::kassa::{DistributionMessage, DistributionMessages};
use kassa_core::cart::is_country;
use kassa_core::hpp::HppSession;
use kassa_core::order::Order;
use kassa_store::{Change, Merchant, Message, MessageRecord, MessageStatus, StoreExt, Stored};

/// Who the message goes to, per method, after validation.
enum Recipient {
    Sms { phone: String, country: String },
    Email(String),
    Token(String),
}

fn recipient(method: Option<&str>, contact: Option<DistributionContactV1>) -> Result<Recipient, ServiceError> {
    let method = method.ok_or_else(|| ServiceError::bad_value("method", "is required (sms, email or token)"))?;
    let contact = contact.ok_or_else(|| ServiceError::bad_value("contact_information", "is required"))?;
    let need = |value: Option<String>, field: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ServiceError::bad_value(field, format!("is required for method {method}")))
    };
    match method.to_ascii_lowercase().as_str() {
        "sms" => {
            let phone = need(contact.phone, "contact_information.phone")?;
            validate::phone("contact_information.phone", &phone)?;
            let country = need(contact.phone_country, "contact_information.phone_country")?;
            if !is_country(&country) {
                return Err(ServiceError::bad_value(
                    "contact_information.phone_country",
                    "must be an ISO 3166 alpha-2 country code",
                ));
            }
            Ok(Recipient::Sms { phone, country: country.to_uppercase() })
        }
        "email" => {
            let email = need(contact.email, "contact_information.email")?;
            validate::email("contact_information.email", &email)?;
            Ok(Recipient::Email(email))
        }
        "token" => {
            let access_id = need(contact.access_id, "contact_information.access_id")?;
            validate::max_chars("contact_information.access_id", Some(&access_id), 255)?;
            Ok(Recipient::Token(access_id))
        }
        _ => Err(ServiceError::bad_value("method", "must be one of sms, email, token")),
    }
}

fn message(session: &HppSession, recipient: Recipient, link: String, now: kassa_core::Timestamp) -> Message {
    let title = session.options.page_title.clone().unwrap_or_else(|| "Complete your purchase".to_owned());
    let (method, to, country, subject, body) = match recipient {
        Recipient::Sms { phone, country } => ("sms", phone, Some(country), None, format!("{title}: {link}")),
        Recipient::Email(email) => (
            "email",
            email,
            None,
            Some(title.clone()),
            format!("{title}\n\nOpen this link to pay with Klarna:\n{link}\n"),
        ),
        Recipient::Token(access_id) => ("token", access_id, None, None, link),
    };
    Message {
        id: ids::ordered_id(now),
        merchant_id: session.merchant_id.clone(),
        session_id: session.id.clone(),
        method: method.to_owned(),
        recipient: to,
        country,
        subject,
        body,
        created_at: now,
        caused_by: None,
    }
}

pub async fn distribute(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
    request: DistributionRequestV1,
) -> Result<(), ServiceError> {
    let recipient = recipient(request.method.as_deref(), request.contact_information)?;
    if let Some(template) = &request.template
        && !template.eq_ignore_ascii_case("INSTORE_PURCHASE")
    {
        return Err(ServiceError::bad_value("template", "must be INSTORE_PURCHASE"));
    }
    let session = load::open_hpp_session(state, merchant, id).await?;
    let link = state.config.url(&format!("/hpp/payments/{}", session.id));
    let message = message(&session.record, recipient, link, state.now_for(&merchant.id));
    // Committed before it is sent: the message worker sends it (and again, should that fail).
    state.commit(Change::default().message(message)).await?;
    Ok(())
}

pub async fn list(state: &AppState, merchant: &Merchant, id: &str) -> Result<DistributionMessages, ServiceError> {
    let session = load::hpp_session(state, merchant, id).await?;
    listed(state, &session.id).await
}

/// The payment instructions sent again for an order's captures (`trigger-send-out`).
pub async fn of_order(
    state: &AppState,
    merchant: &Merchant,
    order_id: &str,
) -> Result<DistributionMessages, ServiceError> {
    let order: Option<Stored<Order>> = state.store.load(order_id).await?;
    let order = order.filter(|o| o.merchant_id == merchant.id).ok_or_else(|| ServiceError::Absent {
        what: Absent::Order,
        message: format!("Order {order_id} cannot be found"),
    })?;
    listed(state, &order.order_id).await
}

/// Sends a failed message of the merchant again: pending, due now with a fresh set of attempts,
/// once what made it fail (a wrong address, a gateway down for longer than its attempts lasted)
/// is mended. Answers it as it now stands.
pub async fn retry(
    state: &AppState,
    merchant: &Merchant,
    message_id: &str,
) -> Result<DistributionMessage, ServiceError> {
    let found = state.store.merchant_message(&merchant.id, message_id).await?;
    let found = found.ok_or_else(|| ServiceError::not_found("Message not found"))?;
    if found.status != MessageStatus::Failed {
        return Err(not_failed(found.status).into());
    }
    let retried = state.store.retry_message(&merchant.id, message_id, state.now_for(&merchant.id)).await?;
    let retried = retried.ok_or_else(|| Rule::MessageNotFailed.refuses("The message was sent again meanwhile"))?;
    tracing::info!(message = %message_id, session = %found.message.session_id, "a failed distribution message is sent again");
    // Answered as the retry left it: the worker, woken now, may send it at once.
    state.bus.messages_due();
    Ok(listing(retried))
}

fn not_failed(status: MessageStatus) -> crate::service::error::Refusal {
    Rule::MessageNotFailed.refuses(format!("Only a failed message can be sent again; this one is {}", status.as_str()))
}

async fn listed(state: &AppState, session_id: &str) -> Result<DistributionMessages, ServiceError> {
    let messages = state.store.session_messages(session_id).await?;
    Ok(DistributionMessages { messages: messages.into_iter().map(listing).collect() })
}

/// A message as the listing shows it, with how its delivery goes.
pub fn listing(record: MessageRecord) -> DistributionMessage {
    let MessageRecord { message: m, status, attempts, next_attempt_at, last_error, sent_at } = record;
    DistributionMessage {
        recipient: shown_recipient(&m),
        id: m.id,
        method: m.method,
        subject: m.subject,
        body: m.body,
        created_at: m.created_at.to_string(),
        status: status.as_str().to_owned(),
        attempts,
        next_attempt_at: next_attempt_at.map(|t| t.to_string()),
        last_error,
        sent_at: sent_at.map(|t| t.to_string()),
    }
}

/// The recipient as the listing has always shown it: an SMS's phone number with its country,
/// `+46701740615 (SE)`.
fn shown_recipient(message: &Message) -> String {
    match &message.country {
        Some(country) => format!("{} ({country})", message.recipient),
        None => message.recipient.clone(),
    }
}

//! What a use case answers when it does not do what was asked: a named refusal in the domain's
//! words. The surfaces decide what a person or a client sees: the API maps each case to Klarna's
//! status and body in one table (`crate::api::error`), the pages to a page.

use kassa_core::Rejected;
use kassa_core::cart::CartError;
use kassa_core::customer_token::TokenUnusable;
use kassa_core::order::OrderErrorCode;
use kassa_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field with a value kassa refuses; `field` is its JSON path.
    #[error("Bad value: {field}")]
    BadValue { field: String, reason: String },
    /// A malformed request or field of the in-store API (Klarna answers these `BAD_REQUEST`).
    #[error("{0}")]
    Malformed(String),
    /// A value that contradicts the resource it refers to (an order that does not match its
    /// authorized session).
    #[error("Bad value: {field}")]
    Mismatch { field: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    /// An order, or a capture or refund of one, that the merchant does not have (Order
    /// Management names which).
    #[error("{message}")]
    Absent { what: Absent, message: String },
    /// A rule of the resource's current state refuses the request.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// Another request changed the same session at the same moment, repeatedly.
    #[error("{0}")]
    Conflict(String),
    /// A fault of kassa or its database; the cause is for the log, not for the client.
    #[error("{0}")]
    Internal(String),
    /// The database cannot take the request now (its storage failed, or it is unreachable):
    /// nothing was done, and the request may be made again later. The cause is for the log.
    #[error("{0}")]
    Unavailable(String),
}

/// What Order Management could not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absent {
    Order,
    Capture,
    Refund,
    /// A customer token, as its order call names it (`TOKEN_NOT_FOUND`).
    Token,
}

/// A refusal: which rule refused, and why in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub rule: Rule,
    pub message: String,
}

/// The rules that refuse requests. Each is raised in one kind of situation, so a surface can
/// map each to one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The merchant acts on an HPP session whose status does not allow it (a disable, a
    /// distribution, a new distribution token of a final session).
    HppMerchantAction,
    /// The consumer acts on an HPP session whose status does not allow it.
    HppConsumerAction,
    /// The payment session behind an HPP session or a distribution is no longer live or has an
    /// order already: the consumer cannot pay with it.
    PaymentUnavailable,
    /// The merchant asks a complete (or cancelled) payment session for something only an open
    /// one can do: update it, order from it again, cancel it.
    PaymentClosed,
    /// The authorization has been used to place an order.
    AuthorizationUsed,
    /// The distribution's status does not allow what the consumer or the merchant did.
    DistributionStatus,
    /// Only a FAILED distribution with a retryable error, of an open payment session, can be
    /// retried.
    NotRetryable,
    /// A live consumer session already has this short code.
    ShortCodeTaken,
    /// A redelivery of an event that has no callback target.
    NoCallbackTarget,
    /// A retry of a job that is not set aside (it is scheduled and runs when due).
    JobNotSetAside,
    /// A retry of a distribution message that has not failed (it is pending or sent).
    MessageNotFailed,
    /// An order's status or amounts refuse the operation; Order Management's code says which.
    Order(OrderErrorCode),
    /// A customer token is asked of a session that was not created to tokenize (intent `buy`),
    /// or of an authorization that already has one.
    NotTokenizable,
    /// A customer token that is cancelled or suspended places no order.
    TokenUnusable(TokenUnusable),
}

impl Rule {
    /// A refusal by this rule.
    pub fn refuses(self, message: impl Into<String>) -> Refusal {
        Refusal { rule: self, message: message.into() }
    }

    /// A state machine's refusal, by this rule.
    pub fn rejects(self, rejected: Rejected) -> Refusal {
        self.refuses(rejected.to_string())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn bad_value(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadValue { field: field.into(), reason: reason.into() }
    }

    /// A malformed or missing in-store field (`field: reason`).
    pub fn malformed(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::Malformed(format!("{field}: {reason}"))
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(m) => Self::Conflict(format!("concurrent update, please retry: {m}")),
            unavailable if unavailable.is_unavailable() => Self::Unavailable(unavailable.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<CartError> for ServiceError {
    fn from(error: CartError) -> Self {
        Self::BadValue { field: error.field, reason: error.reason }
    }
}

impl From<crate::wire::decode::DecodeError> for ServiceError {
    fn from(error: crate::wire::decode::DecodeError) -> Self {
        use crate::wire::decode::DecodeError;
        match error {
            DecodeError::Malformed(message) => Self::Malformed(message),
            DecodeError::BadValue { field, reason } => Self::BadValue { field, reason },
        }
    }
}

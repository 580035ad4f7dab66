//! One atomic change: what a single accepted command writes.

use crate::jobs::JobWrite;
use crate::record::{SessionRecord, Stored};
use crate::{IdempotencyRecord, Message, NewDelivery, NewEvent, SessionKind, StoreError};
use kassa_core::Timestamp;
use kassa_core::order::Order;
use kassa_core::payment::{Authorization, AuthorizationStatus};

/// A session row to insert, or to update only if it is still at the status and revision it was
/// loaded with.
#[derive(Debug, Clone)]
pub struct SessionWrite {
    pub kind: SessionKind,
    pub id: String,
    pub merchant_id: String,
    pub parent_id: Option<String>,
    pub status: &'static str,
    pub version: u64,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub state: serde_json::Value,
    /// The consumer-facing token that finds the session, if it has one.
    pub token: Option<String>,
    /// `None` inserts; `Some((status, revision))` is the compare-and-set guard.
    pub expected: Option<(&'static str, u64)>,
}

impl SessionWrite {
    pub fn insert<T: SessionRecord>(record: &T) -> Result<Self, StoreError> {
        Self::build(record, 1, None)
    }

    /// Replaces `before` with `after`, guarded on `before`'s status and revision: it fails if
    /// anything wrote the row since `before` was loaded.
    pub fn update<T: SessionRecord>(before: &Stored<T>, after: &T) -> Result<Self, StoreError> {
        Self::build(after, before.revision + 1, Some((before.status_name(), before.revision)))
    }

    /// Asserts that `record` is unchanged since it was loaded, without writing anything new (its
    /// revision stays, so other readers of the row are not disturbed): a decision that depends
    /// on another row commits only if that row still says the same.
    pub fn unchanged<T: SessionRecord>(record: &Stored<T>) -> Result<Self, StoreError> {
        Self::build(&record.record, record.revision, Some((record.status_name(), record.revision)))
    }

    fn build<T: SessionRecord>(
        record: &T,
        revision: u64,
        expected: Option<(&'static str, u64)>,
    ) -> Result<Self, StoreError> {
        let state = serde_json::to_value(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Self {
            kind: T::KIND,
            id: record.id().to_owned(),
            merchant_id: record.merchant_id().to_owned(),
            parent_id: record.parent_id().map(str::to_owned),
            status: record.status_name(),
            version: record.version(),
            revision,
            created_at: record.created_at(),
            updated_at: record.updated_at(),
            expires_at: record.expires_at(),
            state,
            token: record.token().map(str::to_owned),
            expected,
        })
    }
}

/// An authorization to insert, or to move from one status to another (guarded on the former).
#[derive(Debug, Clone)]
pub enum AuthorizationWrite {
    Insert(Authorization),
    Transition { token: String, from: AuthorizationStatus, to: AuthorizationStatus },
}

/// An order's row in the `orders` ledger: the database keeps one order per authorization and per
/// payment session, and amounts within Klarna's rules (refunded ≤ captured ≤ authorized), whatever
/// the code above it does. The order itself is a session of kind `order`, written beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLedger {
    pub order_id: String,
    pub klarna_reference: String,
    pub merchant_id: String,
    pub payment_session_id: Option<String>,
    pub authorization_token: Option<String>,
    pub purchase_currency: String,
    pub order_amount: i64,
    pub captured_amount: i64,
    pub refunded_amount: i64,
    pub created_at: Timestamp,
}

impl OrderLedger {
    /// The row of `order`. A recurring order (placed with a customer token) is one of many of
    /// its payment session and authorization: it claims neither.
    pub fn of(order: &Order) -> Self {
        let placed_directly = order.customer_token_id.is_none();
        Self {
            order_id: order.order_id.clone(),
            klarna_reference: order.klarna_reference.as_str().to_owned(),
            merchant_id: order.merchant_id.clone(),
            payment_session_id: placed_directly.then(|| order.payment_session_id.clone()),
            authorization_token: placed_directly.then(|| order.authorization_token.clone()),
            purchase_currency: order.purchase_currency.clone(),
            order_amount: order.order_amount,
            captured_amount: order.captured_amount(),
            refunded_amount: order.refunded_amount(),
            created_at: order.created_at,
        }
    }
}

/// A new order's ledger row, or new amounts for an existing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderWrite {
    Place(OrderLedger),
    Amounts(OrderLedger),
}

/// Everything one accepted command writes, committed together or not at all.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub sessions: Vec<SessionWrite>,
    pub events: Vec<NewEvent>,
    pub authorizations: Vec<AuthorizationWrite>,
    pub orders: Vec<OrderWrite>,
    pub deliveries: Vec<NewDelivery>,
    /// Timers to schedule, and claimed ones whose work this change is.
    pub jobs: Vec<JobWrite>,
    /// Consumer sessions that a payment is pushed to (each only if still free).
    pub consumer_sessions: Vec<ConsumerSessionAttach>,
    /// Idempotency keys this change is the work of (each fails the change if live already).
    pub idempotency: Vec<IdempotencyRecord>,
    /// Messages to the consumer that the change sends (recorded with it, so none is lost).
    pub messages: Vec<Message>,
}

impl Change {
    pub fn session(mut self, write: SessionWrite) -> Self {
        self.sessions.push(write);
        self
    }

    pub fn event(mut self, event: NewEvent) -> Self {
        self.events.push(event);
        self
    }

    pub fn authorization(mut self, write: AuthorizationWrite) -> Self {
        self.authorizations.push(write);
        self
    }

    /// Places `order`: its session and its ledger row.
    pub fn order_placed(mut self, order: &Order) -> Result<Self, StoreError> {
        self.sessions.push(SessionWrite::insert(order)?);
        self.orders.push(OrderWrite::Place(OrderLedger::of(order)));
        Ok(self)
    }

    /// Moves `before` to `after`: the session (guarded on its revision) and the ledger's amounts.
    pub fn order_moved(mut self, before: &Stored<Order>, after: &Order) -> Result<Self, StoreError> {
        self.sessions.push(SessionWrite::update(before, after)?);
        self.orders.push(OrderWrite::Amounts(OrderLedger::of(after)));
        Ok(self)
    }

    pub fn delivery(mut self, delivery: NewDelivery) -> Self {
        self.deliveries.push(delivery);
        self
    }

    pub fn job(mut self, write: JobWrite) -> Self {
        self.jobs.push(write);
        self
    }

    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    pub fn idempotency(mut self, record: IdempotencyRecord) -> Self {
        self.idempotency.push(record);
        self
    }

    pub fn consumer_session(mut self, attach: ConsumerSessionAttach) -> Self {
        self.consumer_sessions.push(attach);
        self
    }

    /// Both changes in one transaction (`self`'s writes first). The other change is taken apart
    /// whole, so a list added to `Change` cannot be left out here.
    pub fn merge(mut self, other: Change) -> Self {
        let Change {
            sessions,
            events,
            authorizations,
            orders,
            deliveries,
            jobs,
            consumer_sessions,
            idempotency,
            messages,
        } = other;
        self.sessions.extend(sessions);
        self.events.extend(events);
        self.authorizations.extend(authorizations);
        self.orders.extend(orders);
        self.deliveries.extend(deliveries);
        self.jobs.extend(jobs);
        self.consumer_sessions.extend(consumer_sessions);
        self.idempotency.extend(idempotency);
        self.messages.extend(messages);
        self
    }
}

/// Ties a consumer session to the payment pushed to it; the change fails if another payment
/// took the session first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSessionAttach {
    pub consumer_session_id: String,
    pub payment_session_id: String,
}

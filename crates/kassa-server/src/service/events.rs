//! The pull side: the events feed and its live stream, a session's delivery log, manual
//! redelivery.

use super::error::{Rule, ServiceError};
use crate::app::bus::{Follower, Woke};
use crate::app::metrics::WaiterKind;
use crate::app::state::AppState;
use crate::model::ids;
use crate::wire::events::{AttemptV1, DeliveryLog, DeliveryV1, EventPage, EventV1, Redelivery};
use futures::Stream;
use kassa_store::{
    Change, DeliveryRecord, Destination, EventFilter, FeedPosition, Merchant, NewDelivery, SessionKind, StoredEvent,
};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

pub const MAX_PAGE: u32 = 1000;
pub const DEFAULT_PAGE: u32 = 100;

/// A feed position as its opaque cursor: the position alone where the transaction is 0 (SQLite;
/// PostgreSQL events from before transactions were kept), else `transaction.position`.
fn cursor(at: FeedPosition) -> String {
    match at.tx {
        0 => at.position.to_string(),
        tx => format!("{tx}.{}", at.position),
    }
}

/// A cursor this feed handed out; `None` for anything else.
fn parse_cursor(text: &str) -> Option<FeedPosition> {
    let number = |part: &str| part.parse::<i64>().ok().filter(|n| *n >= 0);
    match text.split_once('.') {
        None => Some(FeedPosition { tx: 0, position: number(text)? }),
        Some((tx, position)) => Some(FeedPosition { tx: number(tx)?, position: number(position)? }),
    }
}

/// Which events a caller of the feed or the stream asks for, as given.
#[derive(Debug, Clone, Default)]
pub struct FeedRequest {
    /// A cursor of this feed; from the start when absent or empty.
    pub after: Option<String>,
    /// Which parameter `after` came in, for the error (`after`, or the stream's `Last-Event-ID`).
    pub after_name: &'static str,
    pub limit: Option<u32>,
    pub session_id: Option<String>,
    /// A session kind (`hpp`, `payment`, …).
    pub kind: Option<String>,
    /// A status the events reached (of `kind`, or of any kind).
    pub status: Option<String>,
    pub undelivered: bool,
}

impl FeedRequest {
    /// The store's filter, each value checked.
    pub fn filter(self) -> Result<EventFilter, ServiceError> {
        let after = match self.after.as_deref() {
            None | Some("") => FeedPosition::default(),
            Some(text) => parse_cursor(text).ok_or_else(|| {
                ServiceError::bad_value(
                    self.after_name,
                    "must be a cursor returned by this feed (next_cursor or an event's cursor)",
                )
            })?,
        };
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ServiceError::bad_value("limit", format!("must be between 1 and {MAX_PAGE}")));
        }
        let session_kind = match self.kind.as_deref() {
            None => None,
            Some(text) => Some(SessionKind::parse(text).ok_or_else(|| {
                ServiceError::bad_value("kind", format!("must be one of {}", SessionKind::expected()))
            })?),
        };
        let status = match self.status.as_deref() {
            None => None,
            Some(text) => {
                let kinds = session_kind.as_ref().map_or(SessionKind::ALL, std::slice::from_ref);
                let named = kinds.iter().find_map(|kind| kind.status_name(text)).ok_or_else(|| {
                    let of =
                        session_kind.map_or("any kind of session".to_owned(), |k| format!("a {} session", k.as_str()));
                    ServiceError::bad_value("type", format!("is not a status of {of}"))
                })?;
                Some(named.to_owned())
            }
        };
        Ok(EventFilter {
            after,
            limit,
            session_id: self.session_id,
            session_kind,
            status,
            undelivered: self.undelivered,
        })
    }
}

fn event_view(stored: StoredEvent) -> EventV1 {
    let at = stored.feed_position();
    let event = stored.event;
    EventV1 {
        event_id: event.event_id,
        session_kind: event.session_kind.as_str().to_owned(),
        session_id: event.session_id,
        sequence: event.seq,
        status: event.status.to_owned(),
        created_at: event.created_at.to_string(),
        body: event.body,
        cursor: cursor(at),
    }
}

/// A page of the merchant's events after the request's cursor, in commit order.
pub async fn page(state: &AppState, merchant: &Merchant, request: FeedRequest) -> Result<EventPage, ServiceError> {
    let filter = request.filter()?;
    let found = state.store.merchant_events(&merchant.id, &filter).await?;
    let has_more = found.len() == filter.limit as usize;
    let next = found.last().map_or(filter.after, StoredEvent::feed_position);
    Ok(EventPage { events: found.into_iter().map(event_view).collect(), next_cursor: cursor(next), has_more })
}

/// Where the feed may lag ([`kassa_store::Store::feed_may_lag`]), how long a stream with nothing
/// new waits before it reads again without a wake-up: a commit on any node wakes it at once, but
/// an event held back behind an older change is released when that change ends, which may wake
/// nobody. This bounds how late such an event can be.
const STREAM_RECHECK: Duration = Duration::from_secs(1);

/// The merchant's events after `filter.after`, then each one as it commits, in commit order, until
/// the server shuts down. A failed read ends the stream (logged): the client resumes from the last
/// event it got.
pub fn follow(state: AppState, merchant_id: String, mut filter: EventFilter) -> impl Stream<Item = EventV1> {
    filter.limit = MAX_PAGE;
    // Followed before the first read, so a commit between the read and the wait still wakes it.
    let follower = state.bus.follow(None, WaiterKind::Stream);
    let recheck = state.store.feed_may_lag().then_some(STREAM_RECHECK);
    let following = Following { state, merchant_id, filter, follower, recheck, queue: VecDeque::new() };
    futures::stream::unfold(following, |mut f| async move {
        loop {
            if let Some(next) = f.queue.pop_front() {
                f.filter.after = next.feed_position();
                return Some((event_view(next), f));
            }
            match f.state.store.merchant_events(&f.merchant_id, &f.filter).await {
                Ok(page) => f.queue.extend(page),
                Err(error) => {
                    tracing::warn!(%error, merchant = %f.merchant_id, "an events stream could not read the feed and ends; its client resumes after its last event");
                    return None;
                }
            }
            if f.queue.is_empty()
                && f.follower.next_change(f.recheck.map(|after| Instant::now() + after)).await == Woke::Shutdown
            {
                return None;
            }
        }
    })
}

struct Following {
    state: AppState,
    merchant_id: String,
    filter: EventFilter,
    follower: Follower,
    /// When to read again without a wake-up, where the feed may lag.
    recheck: Option<Duration>,
    queue: VecDeque<StoredEvent>,
}

fn delivery_view(record: DeliveryRecord) -> DeliveryV1 {
    DeliveryV1 {
        delivery_id: record.id,
        event_id: record.event_id,
        sequence: record.seq,
        target: record.target,
        url: record.url,
        policy: record.policy.as_str().to_owned(),
        status: record.status.as_str().to_owned(),
        next_attempt_at: record.next_attempt_at.map(|t| t.to_string()),
        created_at: record.created_at.to_string(),
        attempts: record
            .attempts
            .into_iter()
            .map(|a| AttemptV1 {
                attempt: a.attempt,
                started_at: a.started_at.to_string(),
                duration_ms: a.duration_ms,
                status_code: a.status_code,
                error: a.error,
                response_excerpt: a.response_excerpt,
                probe: a.probe,
            })
            .collect(),
    }
}

/// A session's callbacks and their attempts, oldest first.
pub async fn deliveries(state: &AppState, merchant: &Merchant, session_id: &str) -> Result<DeliveryLog, ServiceError> {
    let events = state.store.session_events(session_id).await?;
    if !events.iter().any(|e| e.event.merchant_id == merchant.id) {
        return Err(ServiceError::not_found("Session not found"));
    }
    let records = state.store.session_deliveries(session_id).await?;
    Ok(DeliveryLog { deliveries: records.into_iter().map(delivery_view).collect() })
}

/// Sends an event again to every target it was sent to, with the merchant's current policy
/// (same `event_id`, so receivers deduplicate).
pub async fn redeliver(state: &AppState, merchant: &Merchant, event_id: &str) -> Result<Redelivery, ServiceError> {
    let event = state.store.event(event_id).await?.filter(|e| e.event.merchant_id == merchant.id);
    let event = event.ok_or_else(|| ServiceError::not_found("Event not found"))?.event;
    let mut targets: Vec<(String, String)> =
        state.store.event_deliveries(event_id).await?.into_iter().map(|d| (d.target, d.url)).collect();
    targets.sort();
    targets.dedup();
    if targets.is_empty() {
        let message =
            "This event has no callback target (the session has no status_update URL, or the event is a creation)";
        return Err(Rule::NoCallbackTarget.refuses(message).into());
    }
    // Only inserts: nothing to race with.
    let now = state.now_for(&merchant.id);
    let deliveries: Vec<NewDelivery> = targets
        .iter()
        .map(|(target, url)| {
            let to = Destination { target: target.clone(), url: url.clone() };
            NewDelivery::of(&event, ids::new_id(), to, merchant.retry_policy, now)
        })
        .collect();
    let ids = deliveries.iter().map(|d| d.id.clone()).collect();
    state.commit(Change { deliveries, ..Change::default() }).await?;
    Ok(Redelivery { delivery_ids: ids })
}

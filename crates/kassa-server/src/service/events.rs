//! The pull side: the events feed, a session's delivery log, manual redelivery.

use super::error::{Rule, ServiceError};
use crate::app::state::AppState;
use crate::model::ids;
use crate::wire::events::{AttemptV1, DeliveryLog, DeliveryV1, EventPage, EventV1, Redelivery};
use kassa_store::{Change, DeliveryRecord, Destination, EventFilter, Merchant, NewDelivery, StoredEvent};

pub const MAX_PAGE: u32 = 1000;
pub const DEFAULT_PAGE: u32 = 100;

fn cursor(position: i64) -> String {
    position.to_string()
}

fn parse_cursor(after: Option<&str>) -> Result<i64, ServiceError> {
    match after {
        None | Some("") => Ok(0),
        Some(text) => text.parse::<i64>().ok().filter(|p| *p >= 0).ok_or_else(|| {
            ServiceError::bad_value(
                "after",
                "must be a cursor returned by this feed (next_cursor or an event's cursor)",
            )
        }),
    }
}

fn event_view(stored: StoredEvent) -> EventV1 {
    let event = stored.event;
    EventV1 {
        event_id: event.event_id,
        session_kind: event.session_kind.as_str().to_owned(),
        session_id: event.session_id,
        sequence: event.seq,
        status: event.status.to_owned(),
        created_at: event.created_at.to_string(),
        body: event.body,
        cursor: cursor(stored.position),
    }
}

/// A page of the merchant's events after `after`, in commit order.
pub async fn page(
    state: &AppState,
    merchant: &Merchant,
    after: Option<&str>,
    limit: Option<u32>,
    session_id: Option<String>,
    undelivered: bool,
) -> Result<EventPage, ServiceError> {
    let after = parse_cursor(after)?;
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ServiceError::bad_value("limit", format!("must be between 1 and {MAX_PAGE}")));
    }
    let filter = EventFilter { after, limit, session_id, undelivered };
    let found = state.store.merchant_events(&merchant.id, &filter).await?;
    let has_more = found.len() == limit as usize;
    let next = found.last().map_or(after, |e| e.position);
    Ok(EventPage { events: found.into_iter().map(event_view).collect(), next_cursor: cursor(next), has_more })
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
    let now = state.now();
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

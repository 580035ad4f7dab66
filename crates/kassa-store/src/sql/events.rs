//! The event log as it is read: one session's events, one event, and a merchant's feed. Events
//! are appended inside a change (`commit.rs`).

use super::dialect::Dialect;
use super::rows::{all, at, get, json, name, optional};
use crate::{EventFilter, NewEvent, SessionKind, StoreError, StoreResult, StoredEvent};
use sqlx::AnyPool;
use sqlx::any::AnyRow;

/// A session's events, every kind of session spelled out so that `UNIQUE (session_kind,
/// session_id, seq)` serves the read without an index of its own (which every event insert would
/// pay for).
const OF_SESSION: &str = "SELECT * FROM events WHERE session_kind IN ('payment', 'hpp', 'distribution', 'order', 'customer_token') \
                          AND session_id = $1 ORDER BY session_kind, seq";

pub(super) async fn of_session(reader: &AnyPool, session_id: &str) -> StoreResult<Vec<StoredEvent>> {
    let query = sqlx::query(OF_SESSION);
    all(reader, query.bind(session_id), event).await
}

pub(super) async fn of_session_after(
    reader: &AnyPool,
    kind: SessionKind,
    session_id: &str,
    after: u64,
) -> StoreResult<Vec<StoredEvent>> {
    let query =
        sqlx::query("SELECT * FROM events WHERE session_kind = $1 AND session_id = $2 AND seq > $3 ORDER BY seq");
    // A sequence number beyond what the column holds has nothing after it (never wrap to negative).
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    all(reader, query.bind(kind.as_str()).bind(session_id).bind(after), event).await
}

pub(super) async fn by_id(reader: &AnyPool, event_id: &str) -> StoreResult<Option<StoredEvent>> {
    optional(reader, sqlx::query("SELECT * FROM events WHERE event_id = $1").bind(event_id), event).await
}

/// A page of the merchant's feed after `filter.after`, in commit order (see
/// [`FeedPosition`](crate::FeedPosition)): on PostgreSQL only the events of transactions below the
/// feed's horizon (`dialect.rs`), the oldest transaction that may still append one, so that
/// nothing can commit later in front of what a page showed.
pub(super) async fn of_merchant(
    reader: &AnyPool,
    dialect: Dialect,
    merchant_id: &str,
    filter: &EventFilter,
) -> StoreResult<Vec<StoredEvent>> {
    // First the horizon, then (a later snapshot) the events below it.
    let horizon = match dialect.feed_horizon() {
        Some(sql) => Some(sqlx::query_scalar::<_, i64>(sql).fetch_one(reader).await?),
        None => None,
    };
    let query = sqlx::query(
        "SELECT * FROM events e
         WHERE e.merchant_id = $1 AND (e.tx, e.position) > ($2, $3) AND e.tx < $4
           AND (CAST($5 AS TEXT) IS NULL OR e.session_id = $6)
           AND (CAST($7 AS TEXT) IS NULL OR e.session_kind = $8)
           AND (CAST($9 AS TEXT) IS NULL OR e.status = $10)
           AND ($11 = 0 OR (EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.event_id)
                          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.event_id AND d.status = 'delivered')))
         ORDER BY e.tx, e.position
         LIMIT $12",
    );
    let kind = filter.session_kind.map(SessionKind::as_str);
    let query = query
        .bind(merchant_id)
        .bind(filter.after.tx)
        .bind(filter.after.position)
        .bind(horizon.unwrap_or(i64::MAX))
        .bind(&filter.session_id)
        .bind(&filter.session_id)
        .bind(kind)
        .bind(kind)
        .bind(&filter.status)
        .bind(&filter.status)
        .bind(i64::from(filter.undelivered))
        .bind(i64::from(filter.limit));
    all(reader, query, event).await
}

fn event(row: &AnyRow) -> StoreResult<StoredEvent> {
    let kind = name(row, "session_kind", SessionKind::parse, "session kind")?;
    let seq: i64 = get(row, "seq")?;
    let status: String = get(row, "status")?;
    let status = kind
        .status_name(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown {} session status {status:?}", kind.as_str())))?;
    Ok(StoredEvent {
        position: get(row, "position")?,
        tx: get(row, "tx")?,
        event: NewEvent {
            event_id: get(row, "event_id")?,
            merchant_id: get(row, "merchant_id")?,
            session_kind: kind,
            session_id: get(row, "session_id")?,
            seq: seq as u64,
            status,
            body: json(row, "body")?,
            created_at: at(row, "created_at")?,
            caused_by: get(row, "caused_by")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sessions_events_are_read_for_every_kind() {
        for kind in SessionKind::ALL {
            assert!(OF_SESSION.contains(&format!("'{}'", kind.as_str())), "{kind} missing from {OF_SESSION}");
        }
    }
}

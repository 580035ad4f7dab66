//! Set-based writes for a group-commit batch: the batch's plain status changes (one guarded
//! session write, its events, its callbacks) are written with one statement per table for all of
//! them, instead of a savepoint and three statements each. Every statement is a round trip (on
//! SQLite a hop to the connection's worker thread and back), so under load this is most of what
//! a commit costs.
//!
//! The guards stay exact: the session updates are one compare-and-set per row
//! (`UPDATE … FROM (VALUES …) … RETURNING`), a change whose row does not match fails alone with
//! [`StoreError::Conflict`] and nothing else of it is written. Its events need no guard of their
//! own: each is the event of the version and status its session's write just set. Anything that
//! goes wrong otherwise (a unique key taken) fails the set-based part as a whole, and the batch
//! writes those changes one by one instead (see `group.rs`). The inserts here are also how one
//! change alone writes its new sessions and its callbacks (`commit.rs`).

use super::rows::Write;
use crate::{Change, NewDelivery, NewEvent, SessionWrite, StoreError, StoreResult};
use sqlx::AnyConnection;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use std::collections::HashSet;

/// The most bound values one statement takes (SQLite's limit is 32766, PostgreSQL's 65535); a
/// larger insert is sent in as many statements as it needs.
const MAX_VALUES: usize = 30_000;

/// The changes of a batch (by index) that can be written set-based: each writes exactly one
/// session that no other change of the batch writes, events only of that write's version and
/// status, and callbacks; nothing else.
pub(super) fn plain(changes: &[Change]) -> Vec<usize> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut twice: HashSet<&str> = HashSet::new();
    for write in changes.iter().flat_map(|c| &c.sessions) {
        if !seen.insert(&write.id) {
            twice.insert(&write.id);
        }
    }
    let plain: Vec<usize> = changes
        .iter()
        .enumerate()
        .filter(|(_, change)| is_plain(change) && !twice.contains(change.sessions[0].id.as_str()))
        .map(|(index, _)| index)
        .collect();
    let values = |per: usize, count: usize| per * count <= MAX_VALUES;
    let events = plain.iter().map(|&i| changes[i].events.len()).sum();
    let deliveries = plain.iter().map(|&i| changes[i].deliveries.len()).sum();
    // Worth it from two on, and only while every statement stays within the bound values.
    if plain.len() < 2
        || !values(SESSION_VALUES, plain.len())
        || !values(EVENT_VALUES, events)
        || !values(DELIVERY_VALUES, deliveries)
    {
        return Vec::new();
    }
    plain
}

fn is_plain(change: &Change) -> bool {
    let [write] = change.sessions.as_slice() else { return false };
    change.authorizations.is_empty()
        && change.orders.is_empty()
        && change.jobs.is_empty()
        && change.consumer_sessions.is_empty()
        && change.idempotency.is_empty()
        && change.messages.is_empty()
        && change.events.iter().all(|event| belongs_to(event, write))
}

fn belongs_to(event: &NewEvent, write: &SessionWrite) -> bool {
    event.session_kind == write.kind
        && event.session_id == write.id
        && event.seq == write.version
        && event.status == write.status
}

/// Writes the changes at `plain` (from [`plain`]) into the open transaction; answers, for each
/// in order, whether it was written (else its session changed since it was read). An error means
/// the transaction must be rolled back to before this call.
pub(super) async fn apply(tx: &mut AnyConnection, changes: &[Change], plain: &[usize]) -> StoreResult<Vec<bool>> {
    let writes: Vec<&SessionWrite> = plain.iter().map(|&i| &changes[i].sessions[0]).collect();
    let updated = update_sessions(tx, writes.iter().copied().filter(|w| w.expected.is_some())).await?;
    insert_sessions(tx, writes.iter().copied().filter(|w| w.expected.is_none())).await?;
    let written: Vec<bool> = writes.iter().map(|w| w.expected.is_none() || updated.contains(w.id.as_str())).collect();
    let kept = || plain.iter().zip(&written).filter(|(_, ok)| **ok).map(|(&i, _)| &changes[i]);
    insert_events(tx, kept().flat_map(|c| &c.events)).await?;
    insert_deliveries(tx, kept().flat_map(|c| &c.deliveries)).await?;
    Ok(written)
}

/// `(…), (…)` of `rows` rows of `per` placeholders each, numbered from `$1`.
pub(super) fn placeholders(rows: usize, per: usize) -> String {
    (0..rows)
        .map(|row| {
            let marks: Vec<String> = (1..=per).map(|col| format!("${}", row * per + col)).collect();
            format!("({})", marks.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const SESSION_VALUES: usize = 12;

/// The compare-and-set updates in one statement; answers the ids of the rows that matched.
async fn update_sessions<'w>(
    tx: &mut AnyConnection,
    writes: impl Iterator<Item = &'w SessionWrite>,
) -> StoreResult<HashSet<String>> {
    let writes: Vec<&SessionWrite> = writes.collect();
    if writes.is_empty() {
        return Ok(HashSet::new());
    }
    // VALUES columns are column1 … column11 on both databases.
    let sql = format!(
        "UPDATE sessions SET status = v.column3, version = v.column4, revision = v.column5, updated_at = v.column6,
                expires_at = v.column7, state = v.column8, token = v.column9
         FROM (VALUES {}) AS v
         WHERE sessions.kind = v.column1 AND sessions.id = v.column2
           AND sessions.status = v.column10 AND sessions.revision = v.column11
         RETURNING sessions.id",
        placeholders(writes.len(), 11)
    );
    let mut query = sqlx::query(&sql);
    for w in &writes {
        let (expected_status, expected_revision) = w.expected.unwrap_or_default();
        query = query
            .bind(w.kind.as_str())
            .bind(&w.id)
            .bind(w.status)
            .bind(w.version as i64)
            .bind(w.revision as i64)
            .bind(w.updated_at.millis())
            .bind(w.expires_at.map(|t| t.millis()))
            .bind(w.state.to_string())
            .bind(&w.token)
            .bind(expected_status)
            .bind(expected_revision as i64);
    }
    let rows = query.fetch_all(&mut *tx).await.map_err(StoreError::from_write)?;
    rows.iter().map(|row| super::rows::get::<String>(row, "id")).collect()
}

pub(super) async fn insert_sessions<'w>(
    tx: &mut AnyConnection,
    writes: impl Iterator<Item = &'w SessionWrite>,
) -> StoreResult<()> {
    let writes: Vec<&SessionWrite> = writes.collect();
    for writes in writes.chunks(MAX_VALUES / SESSION_VALUES) {
        insert_session_rows(tx, writes).await?;
    }
    Ok(())
}

async fn insert_session_rows(tx: &mut AnyConnection, writes: &[&SessionWrite]) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO sessions (kind, id, merchant_id, parent_id, status, version, revision, created_at, updated_at,
                               expires_at, state, token)
         VALUES {}",
        placeholders(writes.len(), SESSION_VALUES)
    );
    let mut query = sqlx::query(&sql);
    for w in writes {
        query = query
            .bind(w.kind.as_str())
            .bind(&w.id)
            .bind(&w.merchant_id)
            .bind(&w.parent_id)
            .bind(w.status)
            .bind(w.version as i64)
            .bind(w.revision as i64)
            .bind(w.created_at.millis())
            .bind(w.updated_at.millis())
            .bind(w.expires_at.map(|t| t.millis()))
            .bind(w.state.to_string())
            .bind(&w.token);
    }
    execute(tx, query).await
}

const EVENT_VALUES: usize = 9;

async fn insert_events<'e>(tx: &mut AnyConnection, events: impl Iterator<Item = &'e NewEvent>) -> StoreResult<()> {
    let events: Vec<&NewEvent> = events.collect();
    for events in events.chunks(MAX_VALUES / EVENT_VALUES) {
        let sql = format!(
            "INSERT INTO events (event_id, merchant_id, session_kind, session_id, seq, status, body, created_at, caused_by)
             VALUES {}",
            placeholders(events.len(), EVENT_VALUES)
        );
        let mut query = sqlx::query(&sql);
        for event in events {
            query = bind_event(query, event);
        }
        execute(tx, query).await?;
    }
    Ok(())
}

const DELIVERY_VALUES: usize = 13;

pub(super) async fn insert_deliveries<'d>(
    tx: &mut AnyConnection,
    deliveries: impl Iterator<Item = &'d NewDelivery>,
) -> StoreResult<()> {
    let deliveries: Vec<&NewDelivery> = deliveries.collect();
    for deliveries in deliveries.chunks(MAX_VALUES / DELIVERY_VALUES) {
        insert_delivery_rows(tx, deliveries).await?;
    }
    Ok(())
}

async fn insert_delivery_rows(tx: &mut AnyConnection, deliveries: &[&NewDelivery]) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO deliveries (id, event_id, merchant_id, session_kind, session_id, seq, target, url, policy,
                                 status, next_attempt_at, created_at, updated_at)
         VALUES {}",
        placeholders(deliveries.len(), DELIVERY_VALUES)
    );
    let mut query = sqlx::query(&sql);
    for d in deliveries {
        query = query
            .bind(&d.id)
            .bind(&d.event_id)
            .bind(&d.merchant_id)
            .bind(d.session_kind.as_str())
            .bind(&d.session_id)
            .bind(d.seq as i64)
            .bind(&d.target)
            .bind(&d.url)
            .bind(d.policy.as_str())
            .bind("pending")
            .bind(d.created_at.millis())
            .bind(d.created_at.millis())
            .bind(d.created_at.millis());
    }
    execute(tx, query).await
}

/// `event`'s columns as `INSERT INTO events` lists them (event id … caused by), bound next.
pub(super) fn bind_event<'q>(query: Statement<'q>, e: &'q NewEvent) -> Statement<'q> {
    query
        .bind(&e.event_id)
        .bind(&e.merchant_id)
        .bind(e.session_kind.as_str())
        .bind(&e.session_id)
        .bind(e.seq as i64)
        .bind(e.status)
        .bind(e.body.to_string())
        .bind(e.created_at.millis())
        .bind(&e.caused_by)
}

/// A statement and its bound values.
pub(super) type Statement<'q> = Query<'q, sqlx::Any, AnyArguments<'q>>;

pub(super) async fn execute<'q>(tx: &mut AnyConnection, query: Statement<'q>) -> StoreResult<()> {
    query.write(&mut *tx).await?;
    Ok(())
}

//! [`Change`] → SQL inside a transaction. Every update is a compare-and-set; a guard that does
//! not hold fails the change (the caller rolls it back).

use super::rows::Write;
use crate::notify::{CHANNEL, Notification};
use crate::{AuthorizationWrite, Change, JobWrite, NewEvent, OrderWrite, SessionWrite, StoreError, StoreResult};
use sqlx::AnyConnection;

/// Writes one change into the open transaction on `tx`.
pub(super) async fn apply(tx: &mut AnyConnection, change: &Change) -> StoreResult<()> {
    let mut events: Vec<&NewEvent> = change.events.iter().collect();
    for write in &change.sessions {
        write_session(tx, write).await?;
        // The events this write yields go in right after it, so one change may move a session
        // more than once and each event still meets the version it belongs to.
        let own: Vec<&NewEvent> = events
            .extract_if(.., |e| e.session_kind == write.kind && e.session_id == write.id && e.seq == write.version)
            .collect();
        for event in own {
            append_event(tx, event).await?;
        }
    }
    for event in events {
        append_event(tx, event).await?;
    }
    super::bulk::insert_deliveries(tx, change.deliveries.iter()).await?;
    for write in &change.authorizations {
        write_authorization(tx, write).await?;
    }
    for write in &change.jobs {
        match write {
            JobWrite::Schedule(job) => super::jobs::schedule(tx, job).await?,
            JobWrite::Done { job_id } => super::jobs::done(tx, job_id).await?,
        }
    }
    for attach in &change.consumer_sessions {
        super::consumer::attach(tx, attach).await?;
    }
    for write in &change.orders {
        write_order(tx, write).await?;
    }
    for record in &change.idempotency {
        super::idempotency::insert(tx, record).await?;
    }
    for message in &change.messages {
        super::messages::insert(tx, message).await?;
    }
    Ok(())
}

async fn write_session(tx: &mut AnyConnection, w: &SessionWrite) -> StoreResult<()> {
    let Some((expected_status, expected_revision)) = w.expected else {
        return super::bulk::insert_sessions(tx, std::iter::once(w)).await;
    };
    let state = w.state.to_string();
    let expires_at = w.expires_at.map(|t| t.millis());
    let updated = sqlx::query(
        "UPDATE sessions SET status = $1, version = $2, revision = $3, updated_at = $4, expires_at = $5, state = $6,
                             token = $7
         WHERE kind = $8 AND id = $9 AND status = $10 AND revision = $11",
    )
    .bind(w.status)
    .bind(w.version as i64)
    .bind(w.revision as i64)
    .bind(w.updated_at.millis())
    .bind(expires_at)
    .bind(state)
    .bind(&w.token)
    .bind(w.kind.as_str())
    .bind(&w.id)
    .bind(expected_status)
    .bind(expected_revision as i64)
    .write(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(session_changed(w));
    }
    Ok(())
}

/// The refusal of a session write whose row no longer has the status and revision it expects.
pub(super) fn session_changed(w: &SessionWrite) -> StoreError {
    let (status, revision) = w.expected.unwrap_or_default();
    StoreError::Conflict(format!(
        "{} session {} changed since it was read (expected {status} at revision {revision})",
        w.kind.as_str(),
        w.id
    ))
}

async fn write_authorization(tx: &mut AnyConnection, w: &AuthorizationWrite) -> StoreResult<()> {
    match w {
        AuthorizationWrite::Insert(a) => {
            sqlx::query(
                "INSERT INTO authorizations (token, merchant_id, payment_session_id, status, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&a.token)
            .bind(&a.merchant_id)
            .bind(&a.payment_session_id)
            .bind(a.status.as_str())
            .bind(a.created_at.millis())
            .bind(a.expires_at.millis())
            .write(&mut *tx)
            .await?;
        }
        AuthorizationWrite::Transition { token, from, to } => {
            let updated = sqlx::query("UPDATE authorizations SET status = $1 WHERE token = $2 AND status = $3")
                .bind(to.as_str())
                .bind(token)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!("authorization is no longer {from}")));
            }
        }
    }
    Ok(())
}

/// Appended only as the event of the session's current version and status: sequence numbers
/// cannot skip or repeat, whatever the caller computed.
async fn append_event(tx: &mut AnyConnection, event: &NewEvent) -> StoreResult<()> {
    let append = sqlx::query(
        "INSERT INTO events (event_id, merchant_id, session_kind, session_id, seq, status, body, created_at, caused_by)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
         WHERE EXISTS (SELECT 1 FROM sessions WHERE kind = $10 AND id = $11 AND version = $12 AND status = $13)",
    );
    let appended = super::bulk::bind_event(append, event)
        .bind(event.session_kind.as_str())
        .bind(&event.session_id)
        .bind(event.seq as i64)
        .bind(event.status)
        .write(&mut *tx)
        .await?;
    if appended.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "event {} of {} session {} is not its current version and status",
            event.seq,
            event.session_kind.as_str(),
            event.session_id
        )));
    }
    Ok(())
}

async fn write_order(tx: &mut AnyConnection, write: &OrderWrite) -> StoreResult<()> {
    match write {
        OrderWrite::Place(o) => {
            sqlx::query(
                "INSERT INTO orders (order_id, klarna_reference, merchant_id, payment_session_id, authorization_token,
                                     purchase_currency, order_amount, captured_amount, refunded_amount, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&o.order_id)
            .bind(&o.klarna_reference)
            .bind(&o.merchant_id)
            .bind(&o.payment_session_id)
            .bind(&o.authorization_token)
            .bind(&o.purchase_currency)
            .bind(o.order_amount)
            .bind(o.captured_amount)
            .bind(o.refunded_amount)
            .bind(o.created_at.millis())
            .write(&mut *tx)
            .await?;
        }
        OrderWrite::Amounts(o) => {
            let updated = sqlx::query(
                "UPDATE orders SET order_amount = $1, captured_amount = $2, refunded_amount = $3 WHERE order_id = $4",
            )
            .bind(o.order_amount)
            .bind(o.captured_amount)
            .bind(o.refunded_amount)
            .bind(&o.order_id)
            .write(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!("order {} has no ledger row", o.order_id)));
            }
        }
    }
    Ok(())
}

/// What other nodes are told of `change` once it commits: each session it wrote.
pub(super) fn notifications(change: &Change) -> impl Iterator<Item = Notification> + '_ {
    let deliveries = !change.deliveries.is_empty();
    change.sessions.iter().map(move |write| Notification {
        session_id: write.id.clone(),
        seq: write.version,
        deliveries,
    })
}

/// Tells other nodes, with the commit of the open transaction, of `notifications`: one `NOTIFY`
/// per commit (several when they do not fit one payload), not one per session.
pub(super) async fn notify(tx: &mut AnyConnection, notifications: &[Notification]) -> StoreResult<()> {
    for payload in Notification::payloads(notifications) {
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&mut *tx).await?;
    }
    Ok(())
}

//! Distribution messages (SMS, email, token link): inserted pending with the change that sends
//! them, claimed when due under a lease, finished under that lease, and listed per session.

use super::dialect::{Dialect, relaxed, restore};
use super::lease::Claim;
use super::outbox::due_on_merchant_clock;
use super::rows::{Write, all, at, count, get, maybe_at, name, optional};
use crate::{ClaimedMessage, FinishedMessage, Message, MessageNext, MessageRecord, MessageStatus, StoreResult};
use kassa_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

/// The most of an error a message keeps.
const MAX_ERROR_CHARS: usize = 2000;

/// Inside a change's transaction: the message, pending, due at once.
pub(super) async fn insert(tx: &mut AnyConnection, m: &Message) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO messages (id, merchant_id, session_id, method, recipient, country, subject, body, created_at,
                               status, attempts, next_attempt_at, updated_at, caused_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $11, $12)",
    )
    .bind(&m.id)
    .bind(&m.merchant_id)
    .bind(&m.session_id)
    .bind(&m.method)
    .bind(&m.recipient)
    .bind(&m.country)
    .bind(&m.subject)
    .bind(&m.body)
    .bind(m.created_at.millis())
    .bind(m.created_at.millis())
    .bind(m.created_at.millis())
    .bind(&m.caused_by)
    .write(&mut *tx)
    .await?;
    Ok(())
}

/// Pending messages due on their merchant's clock that no live lease holds, oldest due first.
pub(super) const CLAIM: Claim<ClaimedMessage> = Claim {
    table: "messages",
    due: concat!(
        "SELECT m.id FROM messages m WHERE m.status = 'pending' AND ",
        due_on_merchant_clock!(
            "m.next_attempt_at",
            "SELECT c.offset_millis FROM sandbox_clocks c WHERE c.merchant_id = m.merchant_id"
        ),
        " AND (m.lease_until IS NULL OR m.lease_until < $4) ORDER BY m.next_attempt_at, m.id LIMIT $5"
    ),
    read: "SELECT m.*, COALESCE(k.offset_millis, 0) AS clock_ahead_millis FROM messages m
           LEFT JOIN sandbox_clocks k ON k.merchant_id = m.merchant_id
           WHERE m.lease_token = $1 ORDER BY m.next_attempt_at, m.id",
    decode: |row| {
        Ok(ClaimedMessage {
            message: message(row)?,
            attempts: attempts(row)?,
            lease_token: get(row, "lease_token")?,
            clock_ahead_millis: get(row, "clock_ahead_millis")?,
        })
    },
};

/// Counts the send and records its outcome, under the claim it was made under (a relaxed write,
/// like a callback attempt's record: one lost to a power cut means the message is sent again).
pub(super) async fn finish(writer: &AnyPool, dialect: Dialect, finished: &FinishedMessage) -> StoreResult<bool> {
    let now = finished.now.millis();
    let (status, next_attempt_at, sent_at) = match finished.next {
        MessageNext::Sent => (MessageStatus::Sent, None, Some(now)),
        MessageNext::RetryAt(at) => (MessageStatus::Pending, Some(at.millis()), None),
        MessageNext::Failed => (MessageStatus::Failed, None, None),
    };
    let error: Option<String> = finished.error.as_ref().map(|e| e.chars().take(MAX_ERROR_CHARS).collect());
    let mut connection = relaxed(writer, dialect).await?;
    let finished_row = sqlx::query(
        "UPDATE messages SET status = $1, attempts = attempts + 1, next_attempt_at = $2,
                             last_error = COALESCE(CAST($3 AS TEXT), last_error), sent_at = $4,
                             lease_token = NULL, lease_until = NULL, updated_at = $5
         WHERE id = $6 AND lease_token = $7 AND status = 'pending'",
    )
    .bind(status.as_str())
    .bind(next_attempt_at)
    .bind(error)
    .bind(sent_at)
    .bind(now)
    .bind(&finished.message_id)
    .bind(&finished.lease_token)
    .execute(&mut *connection)
    .await;
    restore(connection, dialect).await?;
    Ok(finished_row?.rows_affected() == 1)
}

/// A message of the merchant, with how its delivery goes.
pub(super) async fn of_merchant(
    reader: &AnyPool,
    merchant_id: &str,
    message_id: &str,
) -> StoreResult<Option<MessageRecord>> {
    let query = sqlx::query("SELECT * FROM messages WHERE merchant_id = $1 AND id = $2");
    optional(reader, query.bind(merchant_id).bind(message_id), record).await
}

/// A failed message of the merchant is pending again, due `at` (the merchant's time now) with a
/// fresh set of attempts; its last error stays until a send records another outcome. Answers it
/// as the retry left it.
pub(super) async fn retry(
    writer: &AnyPool,
    merchant_id: &str,
    message_id: &str,
    at: Timestamp,
) -> StoreResult<Option<MessageRecord>> {
    let retried = sqlx::query(
        "UPDATE messages SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1
         WHERE id = $2 AND merchant_id = $3 AND status = 'failed'
         RETURNING *",
    )
    .bind(at.millis())
    .bind(message_id)
    .bind(merchant_id);
    optional(writer, retried, record).await
}

pub(super) async fn of_session(reader: &AnyPool, session_id: &str) -> StoreResult<Vec<MessageRecord>> {
    let query = sqlx::query("SELECT * FROM messages WHERE session_id = $1 ORDER BY created_at, id");
    all(reader, query.bind(session_id), record).await
}

fn record(row: &AnyRow) -> StoreResult<MessageRecord> {
    Ok(MessageRecord {
        message: message(row)?,
        status: name(row, "status", MessageStatus::parse, "message status")?,
        attempts: attempts(row)?,
        next_attempt_at: maybe_at(row, "next_attempt_at")?,
        last_error: get(row, "last_error")?,
        sent_at: maybe_at(row, "sent_at")?,
    })
}

fn attempts(row: &AnyRow) -> StoreResult<u32> {
    Ok(u32::try_from(count(row, "attempts")?).unwrap_or(u32::MAX))
}

fn message(row: &AnyRow) -> StoreResult<Message> {
    Ok(Message {
        id: get(row, "id")?,
        merchant_id: get(row, "merchant_id")?,
        session_id: get(row, "session_id")?,
        method: get(row, "method")?,
        recipient: get(row, "recipient")?,
        country: get(row, "country")?,
        subject: get(row, "subject")?,
        body: get(row, "body")?,
        created_at: at(row, "created_at")?,
        caused_by: get(row, "caused_by")?,
    })
}

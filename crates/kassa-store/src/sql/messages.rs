//! Distribution messages (SMS, email, token link) sent for a session.

use super::rows::{Write, all, at, get};
use crate::{Message, StoreResult};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor};

pub(super) async fn insert<'c, E: Executor<'c, Database = Any>>(writer: E, m: &Message) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO messages (id, merchant_id, session_id, method, recipient, subject, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&m.id)
    .bind(&m.merchant_id)
    .bind(&m.session_id)
    .bind(&m.method)
    .bind(&m.recipient)
    .bind(&m.subject)
    .bind(&m.body)
    .bind(m.created_at.millis())
    .write(writer)
    .await?;
    Ok(())
}

pub(super) async fn of_session(reader: &AnyPool, session_id: &str) -> StoreResult<Vec<Message>> {
    let query = sqlx::query("SELECT * FROM messages WHERE session_id = $1 ORDER BY created_at, id");
    all(reader, query.bind(session_id), message).await
}

fn message(row: &AnyRow) -> StoreResult<Message> {
    Ok(Message {
        id: get(row, "id")?,
        merchant_id: get(row, "merchant_id")?,
        session_id: get(row, "session_id")?,
        method: get(row, "method")?,
        recipient: get(row, "recipient")?,
        subject: get(row, "subject")?,
        body: get(row, "body")?,
        created_at: at(row, "created_at")?,
    })
}

//! Listing a merchant's sessions (the dashboard), newest first.

use super::rows::{all, at, get, name};
use crate::{SessionFilter, SessionKind, SessionSummary, StoreResult};
use kassa_core::Timestamp;
use sqlx::AnyPool;
use sqlx::any::AnyRow;

pub(super) async fn merchant_sessions(
    reader: &AnyPool,
    merchant_id: &str,
    filter: &SessionFilter,
) -> StoreResult<Vec<SessionSummary>> {
    let mut sql = String::from(
        "SELECT kind, id, parent_id, status, created_at, updated_at, expires_at FROM sessions WHERE merchant_id = $1",
    );
    // Numbered by hand: sqlx's `QueryBuilder` over `Any` writes `?` placeholders, which
    // PostgreSQL does not accept; every other query here is written with `$n`, which both take.
    let mut next = 1;
    let mut parameter = || {
        next += 1;
        format!("${next}")
    };
    if filter.kind.is_some() {
        sql.push_str(&format!(" AND kind = {}", parameter()));
    }
    if filter.status.is_some() {
        sql.push_str(&format!(" AND status = {}", parameter()));
    }
    if filter.after.is_some() {
        let (at, id, kind) = (parameter(), parameter(), parameter());
        sql.push_str(&format!(" AND (created_at, id, kind) < ({at}, {id}, {kind})"));
    }
    sql.push_str(&format!(" ORDER BY created_at DESC, id DESC, kind DESC LIMIT {}", filter.limit));
    let mut query = sqlx::query(&sql).bind(merchant_id);
    if let Some(kind) = filter.kind {
        query = query.bind(kind.as_str());
    }
    if let Some(status) = &filter.status {
        query = query.bind(status.as_str());
    }
    if let Some(after) = &filter.after {
        query = query.bind(after.created_at.millis()).bind(after.id.as_str()).bind(after.kind.as_str());
    }
    all(reader, query, summary).await
}

fn summary(row: &AnyRow) -> StoreResult<SessionSummary> {
    Ok(SessionSummary {
        kind: name(row, "kind", SessionKind::parse, "session kind")?,
        id: get(row, "id")?,
        parent_id: get(row, "parent_id")?,
        status: get(row, "status")?,
        created_at: at(row, "created_at")?,
        updated_at: at(row, "updated_at")?,
        expires_at: get::<Option<i64>>(row, "expires_at")?.map(Timestamp::from_millis),
    })
}

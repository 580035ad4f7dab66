//! Session rows as they are read back: the JSON state and the revision that guards the next
//! write. Sessions are written inside a change (`commit.rs`).

use super::rows::{all, get, json, optional};
use crate::{SessionKind, StoreResult};
use sqlx::AnyPool;
use sqlx::any::AnyRow;

type State = (serde_json::Value, u64);

pub(super) async fn state(reader: &AnyPool, kind: SessionKind, id: &str) -> StoreResult<Option<State>> {
    let query = sqlx::query("SELECT state, revision FROM sessions WHERE kind = $1 AND id = $2");
    optional(reader, query.bind(kind.as_str()).bind(id), state_of).await
}

pub(super) async fn children(reader: &AnyPool, kind: SessionKind, parent_id: &str) -> StoreResult<Vec<State>> {
    let query =
        sqlx::query("SELECT state, revision FROM sessions WHERE kind = $1 AND parent_id = $2 ORDER BY created_at, id");
    all(reader, query.bind(kind.as_str()).bind(parent_id), state_of).await
}

pub(super) async fn by_token(reader: &AnyPool, kind: SessionKind, token: &str) -> StoreResult<Option<State>> {
    let query = sqlx::query("SELECT state, revision FROM sessions WHERE kind = $1 AND token = $2");
    optional(reader, query.bind(kind.as_str()).bind(token), state_of).await
}

fn state_of(row: &AnyRow) -> StoreResult<State> {
    let revision: i64 = get(row, "revision")?;
    Ok((json(row, "state")?, revision as u64))
}

//! Row → value decoding shared by both backends, and the one way a write reports a taken key.
//! Over sqlx's `Any` nothing is checked at compile time: every column is read by name, and a
//! value outside its closed set is an error.

use crate::{StoreError, StoreResult};
use kassa_core::{Timestamp, nesting};
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row};

/// A statement with its parameters bound.
pub(super) type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;

/// How one row becomes a value.
pub(super) type Decode<T> = fn(&AnyRow) -> StoreResult<T>;

/// The row `query` finds, if any, decoded.
pub(super) async fn optional<T>(reader: &AnyPool, query: Query<'_>, decode: Decode<T>) -> StoreResult<Option<T>> {
    query.fetch_optional(reader).await?.as_ref().map(decode).transpose()
}

/// Every row `query` finds, in its order, decoded.
pub(super) async fn all<T>(reader: &AnyPool, query: Query<'_>, decode: Decode<T>) -> StoreResult<Vec<T>> {
    query.fetch_all(reader).await?.iter().map(decode).collect()
}

/// A statement that writes.
pub(super) trait Write {
    /// Executes the statement; a unique key it would take twice is a [`StoreError::Conflict`].
    async fn write<'c, E: Executor<'c, Database = Any>>(self, on: E) -> StoreResult<AnyQueryResult>;
}

impl Write for Query<'_> {
    async fn write<'c, E: Executor<'c, Database = Any>>(self, on: E) -> StoreResult<AnyQueryResult> {
        self.execute(on).await.map_err(StoreError::from_write)
    }
}

pub(super) fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    column: &str,
) -> StoreResult<T> {
    Ok(row.try_get(column)?)
}

/// Decodes a column that must hold one of a closed set of names.
fn parse_name<T>(value: &str, parse: fn(&str) -> Option<T>, what: &str) -> StoreResult<T> {
    parse(value).ok_or_else(|| StoreError::Corrupt(format!("unknown {what} {value:?}")))
}

/// A text column that must hold one of a closed set of names.
pub(super) fn name<T>(row: &AnyRow, column: &str, parse: fn(&str) -> Option<T>, what: &str) -> StoreResult<T> {
    let value: String = get(row, column)?;
    parse_name(&value, parse, what)
}

/// A time kept as Unix milliseconds.
pub(super) fn at(row: &AnyRow, column: &str) -> StoreResult<Timestamp> {
    Ok(Timestamp::from_millis(get(row, column)?))
}

/// A time kept as Unix milliseconds, or NULL.
pub(super) fn maybe_at(row: &AnyRow, column: &str) -> StoreResult<Option<Timestamp>> {
    Ok(get::<Option<i64>>(row, column)?.map(Timestamp::from_millis))
}

/// A count kept as a BIGINT (never negative: a negative one reads as 0).
pub(super) fn count(row: &AnyRow, column: &str) -> StoreResult<u64> {
    Ok(u64::try_from(get::<i64>(row, column)?).unwrap_or(0))
}

/// JSON kept as text, read to any depth up to [`nesting::STORED_LIMIT`] (not serde_json's 128:
/// a record nests a request's values a few levels deeper than they arrived).
pub(super) fn json(row: &AnyRow, column: &str) -> StoreResult<serde_json::Value> {
    let text: String = get(row, column)?;
    let corrupt = |reason: String| StoreError::Corrupt(format!("{column}: {reason}"));
    nesting::check(text.as_bytes(), nesting::STORED_LIMIT)
        .map_err(|deep| corrupt(format!("nests deeper than {} levels", deep.limit)))?;
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    deserializer.disable_recursion_limit();
    let value = serde::Deserialize::deserialize(&mut deserializer).map_err(|e| corrupt(e.to_string()))?;
    deserializer.end().map_err(|e| corrupt(e.to_string()))?;
    Ok(value)
}

/// Space-separated words (the webhook secrets).
pub(super) fn words(row: &AnyRow, column: &str) -> StoreResult<Vec<String>> {
    Ok(get::<String>(row, column)?.split_whitespace().map(str::to_owned).collect())
}

//! Following a session without hammering the API: ETags, `If-None-Match` and long-poll waits
//! that return as soon as the session changes (woken through the [bus](crate::app::bus)) or the
//! wait ends. A waiting read reads the session when it starts, when the session changes and when
//! its wait ends: never on a timer in between.

use crate::app::bus::Woke;
use crate::app::metrics::WaiterKind;
use crate::app::state::AppState;
use crate::service::error::ServiceError;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The longest wait a read accepts, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// A body and the entity tag of its state.
pub struct Tagged<T> {
    pub body: T,
    pub etag: String,
}

pub enum Read<T> {
    Fresh(Tagged<T>),
    /// The client's `If-None-Match` still holds (304).
    NotModified(String),
}

/// An entity tag from a sequence number or revision.
pub fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// The tags an `If-None-Match` header lists (weak or strong).
fn listed_tags(header: Option<&str>) -> Vec<String> {
    header
        .unwrap_or("")
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/").to_owned())
        .filter(|t| t.len() > 2 && t.starts_with('"') && t.ends_with('"'))
        .collect()
}

pub fn parse_wait(wait: Option<u64>) -> Result<Option<Duration>, ServiceError> {
    match wait {
        None | Some(0) => Ok(None),
        Some(secs) if secs <= MAX_WAIT_SECS => Ok(Some(Duration::from_secs(secs))),
        Some(_) => Err(ServiceError::bad_value("wait", format!("must be at most {MAX_WAIT_SECS} seconds"))),
    }
}

/// Reads with `load`; with a `wait`, holds the request until the state differs from what the
/// client has (its `If-None-Match`, else the state at the time of the request) or the wait ends.
pub async fn read<T, F, Fut>(
    state: &AppState,
    session_id: &str,
    wait: Option<Duration>,
    if_none_match: Option<&str>,
    mut load: F,
) -> Result<Read<T>, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Tagged<T>, ServiceError>>,
{
    // A waiting read follows before reading: a change between the read and the wait still
    // wakes it. A plain read follows nothing.
    let mut follower = wait.map(|_| state.bus.follow(Some(session_id), WaiterKind::LongPoll));
    let first = load().await?;
    let known = listed_tags(if_none_match);
    let baseline = if known.is_empty() { vec![first.etag.clone()] } else { known.clone() };
    let answer = |current: Tagged<T>| {
        if known.contains(&current.etag) { Read::NotModified(current.etag) } else { Read::Fresh(current) }
    };
    let (Some(wait), Some(follower)) = (wait, follower.as_mut()) else { return Ok(answer(first)) };
    if !baseline.contains(&first.etag) {
        return Ok(Read::Fresh(first));
    }
    let deadline = Instant::now() + wait;
    loop {
        if follower.next_change(Some(deadline)).await == Woke::Shutdown {
            return load().await.map(answer);
        }
        let current = load().await?;
        if !baseline.contains(&current.etag) || Instant::now() >= deadline {
            return Ok(answer(current));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists() {
        assert_eq!(listed_tags(Some(r#""v3""#)), [r#""v3""#]);
        assert_eq!(listed_tags(Some(r#"W/"v3", "v4""#)), [r#""v3""#, r#""v4""#]);
        assert!(listed_tags(Some("*")).is_empty() && listed_tags(None).is_empty());
        assert_eq!(etag(3), r#""v3""#);
        assert!(parse_wait(Some(61)).is_err());
        assert_eq!(parse_wait(Some(60)).unwrap(), Some(Duration::from_secs(60)));
    }
}

//! Server-Sent Events, resumable with `Last-Event-ID`: one session's status changes, and every
//! event of the merchant (the events feed, live).

use super::auth::Call;
use crate::api::error::ApiError;
use crate::app::bus::{Follower, Woke};
use crate::app::metrics::WaiterKind;
use crate::app::state::AppState;
use crate::service::{events, load};
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use kassa_store::{SessionKind, StoredEvent};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(hpp_stream)).routes(routes!(merchant_stream))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// Only events of this kind of session.
    #[param(pattern = "^(payment|hpp|distribution|order|customer_token)$")]
    kind: Option<String>,
    /// Only events that reached this status (`COMPLETED`, `BACK`, …).
    #[serde(rename = "type")]
    status: Option<String>,
    /// Only this session's events.
    session_id: Option<String>,
    /// Start after this cursor of the events feed when there is no `Last-Event-ID`.
    after: Option<String>,
}

/// Every event of the merchant as Server-Sent Events, in the events feed's commit order: `id` is
/// the event's feed cursor, `event` is `status`, `data` the feed's event object. Starts after
/// `Last-Event-ID` (or `after`; from the first event without either) and follows live changes on
/// every node, so a client that reconnects with its last `id` loses and repeats nothing.
#[utoipa::path(get, path = "/kassa/v1/events/stream", tag = "kassa", security(("basic" = [])),
    params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this cursor (an event's `id`)")),
    responses(
        (status = 200, description = "An event stream; each event's data is an EventV1", content_type = "text/event-stream"),
    ))]
async fn merchant_stream(
    Call { state, merchant }: Call,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resumed = resumed_after(&headers)?.map(str::to_owned);
    let after_name = if resumed.is_some() { "Last-Event-ID" } else { "after" };
    let request = events::FeedRequest {
        after: resumed.or(query.after),
        after_name,
        limit: None,
        session_id: query.session_id,
        kind: query.kind,
        status: query.status,
        undelivered: false,
    };
    let filter = request.filter()?;
    let stream = events::follow(state, merchant.id.clone(), filter).map(|event| {
        let data = serde_json::to_string(&event).unwrap_or_default();
        Ok(Event::default().id(event.cursor).event("status").data(data))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The session's status changes as Server-Sent Events: `id` is the sequence number, `event` is
/// `status`, `data` the read body at that change. Starts after `Last-Event-ID` (from the first
/// event without it) and follows live changes.
#[utoipa::path(get, path = "/hpp/v1/sessions/{session_id}/events/stream", tag = "HPP", security(("basic" = [])),
    params(("session_id" = String, Path), ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this sequence number")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream"),
    ))]
async fn hpp_stream(
    Call { state, merchant }: Call,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    load::hpp_session(&state, &merchant, &id).await?;
    let after = match resumed_after(&headers)? {
        None => 0,
        Some(text) => last_event_id(text)?,
    };
    Ok(Sse::new(events(state, SessionKind::Hpp, id, after)).keep_alive(KeepAlive::default()))
}

/// The `Last-Event-ID` a reconnecting client sends, if any; one that is not text is refused.
fn resumed_after(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    headers
        .get("last-event-id")
        .map(|value| value.to_str().map_err(|_| ApiError::bad_value("Last-Event-ID", "must be text (an event's id)")))
        .transpose()
}

/// A `Last-Event-ID`: a sequence number as the stream sent it, so at most `i64::MAX` (what the
/// database holds). A larger one is refused rather than wrapped, which would replay the stream.
fn last_event_id(text: &str) -> Result<u64, ApiError> {
    text.trim().parse::<i64>().ok().and_then(|seq| u64::try_from(seq).ok()).ok_or_else(|| {
        ApiError::bad_value("Last-Event-ID", format!("must be a sequence number from 0 to {}", i64::MAX))
    })
}

struct Cursor {
    state: AppState,
    kind: SessionKind,
    session_id: String,
    last: u64,
    follower: Follower,
    queue: VecDeque<StoredEvent>,
}

/// The events of one session after `after`, then each new one as it commits; ends at shutdown.
pub fn events(
    state: AppState,
    kind: SessionKind,
    session_id: String,
    after: u64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let follower = state.bus.follow(Some(&session_id), WaiterKind::Stream);
    let cursor = Cursor { state, kind, session_id, last: after, follower, queue: VecDeque::new() };
    futures::stream::unfold(cursor, |mut cursor| async move {
        loop {
            if let Some(next) = cursor.queue.pop_front() {
                cursor.last = next.event.seq;
                let event =
                    Event::default().id(next.event.seq.to_string()).event("status").data(next.event.body.to_string());
                return Some((Ok(event), cursor));
            }
            let newer = cursor.state.store.session_events_after(cursor.kind, &cursor.session_id, cursor.last);
            cursor.queue.extend(newer.await.ok()?);
            if !cursor.queue.is_empty() {
                continue;
            }
            // Wait for this session's next change: only it wakes the stream, which reads nothing
            // until then.
            if cursor.follower.next_change(None).await == Woke::Shutdown {
                return None;
            }
        }
    })
}

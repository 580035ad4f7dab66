//! Live pages: a Server-Sent Events stream that tells a page when what it shows has changed
//! (`changed`: the page fetches itself again and swaps its live region), where to go (`go`, a
//! URL) or that nothing will change any more (`end`: the page stops listening). Woken by every
//! commit in this process (and, on PostgreSQL, on other nodes), re-checked every second in case a
//! wake-up was missed.

use crate::app::bus::Woke;
use crate::app::state::AppState;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use std::future::Future;

/// The query of a live source: the fingerprint the page was rendered with.
#[derive(Debug, Deserialize)]
pub struct Shown {
    pub shown: Option<String>,
}

/// What a page's live source finds when it looks.
pub enum Look {
    /// The state the page shows, as a fingerprint: a different one means "fetch me again".
    Shows(String),
    /// The same, and it will not change again (the stream ends after telling).
    Settled(String),
    /// Send the browser elsewhere (the stream ends).
    Go(String),
    /// Nothing to follow any more (the stream ends).
    Gone,
}

struct Watch<F> {
    state: AppState,
    /// Only this session's changes wake the stream (others wait for the periodic look).
    only: Option<String>,
    shown: String,
    look: F,
    done: bool,
}

fn end() -> Event {
    Event::default().event("end").data("")
}

/// Follows `look` from the fingerprint `shown` (what the page was rendered with), looking again
/// when session `only` changes (any session when `None`) and every second.
pub fn follow<F, Fut>(
    state: AppState,
    only: Option<String>,
    shown: Option<String>,
    look: F,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: Future<Output = Look> + Send,
{
    let watch = Watch { state, only, shown: shown.unwrap_or_default(), look, done: false };
    let stream = futures::stream::unfold(watch, |mut watch| async move {
        if watch.done {
            return None;
        }
        // Follow before looking: a change between the look and the wait still wakes it.
        let mut follower = watch.state.bus.follow(watch.only.as_deref());
        loop {
            let event = match (watch.look)(watch.state.clone()).await {
                Look::Shows(now) if now == watch.shown => None,
                Look::Shows(now) => {
                    watch.shown = now.clone();
                    Some(Event::default().event("changed").data(now))
                }
                Look::Settled(now) => {
                    watch.done = true;
                    Some(if now == watch.shown { end() } else { Event::default().event("changed").data("end") })
                }
                Look::Go(url) => {
                    watch.done = true;
                    Some(Event::default().event("go").data(url))
                }
                Look::Gone => {
                    watch.done = true;
                    Some(end())
                }
            };
            if let Some(event) = event {
                return Some((Ok(event), watch));
            }
            if follower.next_change(None).await == Woke::Shutdown {
                return None;
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

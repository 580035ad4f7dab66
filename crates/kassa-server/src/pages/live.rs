//! Live pages: a Server-Sent Events stream that tells a page when what it shows has changed
//! (`changed`: the page fetches itself again and swaps its live region), where to go (`go`, a
//! URL) or that nothing will change any more (`end`: the page stops listening). Woken through the
//! [bus](crate::app::bus) when the followed session changes (any session, for `None`), here or on
//! another node; and it looks again every [`LOOK_AGAIN`], since a page also shows what changes
//! without a session write (callback attempts, expiry by the clock). Live pages are a few open
//! browser tabs, not the many waiters of the API's long-polls and streams, which look only when
//! woken.

use crate::app::bus::Woke;
use crate::app::metrics::WaiterKind;
use crate::app::state::AppState;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How often a live page looks again without a wake-up.
pub const LOOK_AGAIN: Duration = Duration::from_secs(1);

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
    /// Only this session's changes wake the stream (others wait for the next look).
    only: Option<String>,
    shown: String,
    look: F,
    done: bool,
}

fn end() -> Event {
    Event::default().event("end").data("")
}

/// Follows `look` from the fingerprint `shown` (what the page was rendered with), looking again
/// when session `only` changes (any session when `None`) and every [`LOOK_AGAIN`].
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
        let mut follower = watch.state.bus.follow(watch.only.as_deref(), WaiterKind::Page);
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
            if follower.next_change(Some(Instant::now() + LOOK_AGAIN)).await == Woke::Shutdown {
                return None;
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

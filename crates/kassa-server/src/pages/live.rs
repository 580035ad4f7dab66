//! Live pages: a Server-Sent Events stream that tells a page when what it shows has changed
//! (`changed`, the page then fetches itself again and swaps its live region) or where to go
//! (`go`, a URL). Woken by every commit in this process (and, on PostgreSQL, on other nodes),
//! re-checked every second in case a wake-up was missed.

use crate::state::AppState;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

const RECHECK: Duration = Duration::from_secs(1);

/// What a page's live source finds when it looks.
pub enum Look {
    /// The state the page shows, as a fingerprint: a different one means "fetch me again".
    Shows(String),
    /// Send the browser elsewhere (the stream ends).
    Go(String),
    /// Nothing more will change (the stream ends).
    Gone,
}

struct Watch<F> {
    state: AppState,
    shown: String,
    look: F,
    done: bool,
}

/// Follows `look` from the fingerprint `shown` (what the page was rendered with).
pub fn follow<F, Fut>(state: AppState, shown: String, look: F) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Look> + Send,
{
    let watch = Watch { state, shown, look, done: false };
    let stream = futures::stream::unfold(watch, |mut watch| async move {
        if watch.done {
            return None;
        }
        let mut changes = watch.state.changes.subscribe();
        loop {
            match (watch.look)().await {
                Look::Shows(now) if now != watch.shown => {
                    watch.shown = now.clone();
                    return Some((Ok(Event::default().event("changed").data(now)), watch));
                }
                Look::Shows(_) => {}
                Look::Go(url) => {
                    watch.done = true;
                    return Some((Ok(Event::default().event("go").data(url)), watch));
                }
                Look::Gone => return None,
            }
            let deadline = tokio::time::Instant::now() + RECHECK;
            tokio::select! {
                received = changes.recv() => if matches!(received, Err(RecvError::Closed)) {
                    tokio::time::sleep_until(deadline).await;
                },
                () = tokio::time::sleep_until(deadline) => {}
                () = watch.state.shutdown.cancelled() => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

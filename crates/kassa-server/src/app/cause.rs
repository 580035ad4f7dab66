//! What caused the work running now: the correlation id of the request being served, or the one
//! a job carries from the request that scheduled it. [`AppState::commit`] stamps it on the events
//! and jobs a change writes, so the delivery worker's spans and the scheduler's name the request
//! their work came from, across the database and across nodes.
//!
//! [`AppState::commit`]: crate::app::AppState::commit

use std::future::Future;

tokio::task_local! {
    static CAUSE: String;
}

/// Runs `work` as caused by `cause` (a correlation id).
pub async fn within<F: Future>(cause: String, work: F) -> F::Output {
    CAUSE.scope(cause, work).await
}

/// The cause of the work running now, if it has one.
pub fn current() -> Option<String> {
    CAUSE.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_knows_its_cause_only_inside() {
        assert_eq!(current(), None);
        let inside = within("c-1".into(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("c-1"));
        assert_eq!(current(), None);
    }
}

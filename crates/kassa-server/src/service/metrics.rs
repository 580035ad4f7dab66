//! A scrape: the gauges of what waits, read now, then every metric rendered.

use crate::app::state::AppState;
use crate::service::error::ServiceResult;

/// The metrics in the OpenMetrics text format, with the backlog (service clock), the waiters and
/// the pools as they are now.
pub async fn scrape(state: &AppState) -> ServiceResult<String> {
    let now = state.now();
    let backlog = state.store.backlog(now).await?;
    Ok(state.metrics.scrape(now, &backlog, &state.bus.waiting(), &state.store.pools()))
}

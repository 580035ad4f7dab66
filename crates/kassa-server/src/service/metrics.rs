//! A scrape: the gauges of what waits, read now, then every metric rendered.

use crate::app::state::AppState;
use crate::service::error::ServiceResult;

/// The metrics in the OpenMetrics text format, with the backlog (due on each merchant's clock:
/// the service clock plus its sandbox offset), the waiters and the pools as they are now.
pub async fn scrape(state: &AppState) -> ServiceResult<String> {
    let backlog = state.store.backlog(state.now()).await?;
    Ok(state.metrics.scrape(&backlog, &state.bus.waiting(), &state.store.pools()))
}

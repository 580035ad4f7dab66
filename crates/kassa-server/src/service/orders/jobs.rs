//! An order's timer: when its authorization runs out, an open order expires (nothing captured:
//! EXPIRED; part captured: CAPTURED, the rest released). An extension moves `expires_at`; the
//! timer that finds the order not yet lapsed sets itself again for the new time.

use crate::app::state::AppState;
use crate::service::case::{expiry_job, order_moved, order_refused};
use crate::service::error::ServiceResult;
use crate::service::retry_on_conflict;
use kassa_core::order::Order;
use kassa_store::{Change, Job, JobWrite, StoreExt, Stored};

pub async fn run(state: &AppState, job: &Job) -> ServiceResult<()> {
    let _turn = state.turns.take(&job.session_id).await;
    retry_on_conflict(|| async {
        let order: Option<Stored<Order>> = state.store.load(&job.session_id).await?;
        // The job's run primed this node's copy of the merchant's clock (see `jobs::run_one`).
        let now = order.as_ref().map_or_else(|| state.now(), |o| state.now_for(&o.merchant_id));
        let change = match order {
            Some(before) if before.is_lapsed(now) => {
                let (after, event, action) = before.expire(now).map_err(order_refused)?;
                tracing::info!(order = %after.order_id, status = %after.status(), "the order's authorization ran out");
                order_moved(&before, &after, &event, action)?
            }
            // Extended since the timer was set: it runs again when the new time comes.
            Some(order) if order.status().is_open() => {
                Change::default().job(JobWrite::Schedule(expiry_job(&order, now)))
            }
            _ => Change::default(),
        };
        Ok(state.finish_job(job, change).await?)
    })
    .await
}

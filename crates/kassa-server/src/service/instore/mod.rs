//! In-store payments (seed 000): a payment session distributed as a QR code, a payment link and,
//! with a short code, a push to the customer's phone; followed through the distribution result.

mod consumer;
pub mod jobs;
mod retry;
mod scan;

pub use consumer::{ConsumerAction, consumer_action, create_consumer_session, open_link};
pub use retry::retry;
pub use scan::{NO_CODE_FREE_RETRY_SECS, Scan, prune_consumer_sessions, scan};

use super::error::{ServiceError, ServiceResult};
use super::watch::{Tagged, etag};
use super::{load, views};
use crate::app::state::AppState;
use crate::wire::instore::DistributionResult;
use kassa_core::distribution::Distribution;
use kassa_store::Merchant;

/// The distribution result, tagged by the distribution's sequence number (the body changes
/// only with it).
pub async fn read(state: &AppState, merchant: &Merchant, id: &str) -> ServiceResult<Tagged<DistributionResult>> {
    let d = load::distribution(state, merchant, id).await?;
    Ok(Tagged { etag: etag(d.lifecycle.version), body: views::distribution_result(&d, &state.config) })
}

/// The merchant a distribution belongs to (for work not started by the merchant).
async fn owner(state: &AppState, d: &Distribution) -> ServiceResult<Merchant> {
    let merchant = state.store.merchant(&d.merchant_id).await?;
    merchant.ok_or_else(|| ServiceError::internal(format!("no merchant {}", d.merchant_id)))
}

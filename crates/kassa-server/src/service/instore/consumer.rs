//! The consumer's side of an in-store payment: their phone's session (short codes), opening the
//! payment link, paying (the order is placed and captured automatically), being declined,
//! canceling. The sandbox controls and the payment page drive the same functions.

use super::owner;
use crate::app::state::AppState;
use crate::model::ids;
use crate::service::case::{cancel_distribution, distribution_command, pay_distribution, require_open_page};
use crate::service::context;
use crate::service::error::{Rule, ServiceError, ServiceResult};
use crate::service::load;
use crate::service::validate::instore::is_short_code;
use crate::service::{retry_on_conflict, views};
use crate::wire::instore::{ConsumerSessionRequest, ConsumerSessionV1, DistributionResult};
use kassa_core::distribution::{Distribution, DistributionCommand, DistributionErrorCode, DistributionStatus};
use kassa_store::{ConsumerSession, Merchant, StoreExt, Stored};

/// What the consumer (or, for `Fail`, the sandbox) does to a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerAction {
    /// Open the payment link: the first open makes it ACCESSED, later ones change nothing.
    Open,
    /// Pay on the open page: the order is placed and captured, the distribution COMPLETED.
    Pay,
    /// Klarna declines the consumer: the page stays open (ACCESSED) for another try or a cancel.
    Decline,
    /// Cancel the payment: CANCELED, and the payment session cancelled.
    Cancel,
    /// Force a distribution failure.
    Fail(DistributionErrorCode),
}

/// How long a consumer session's short code is valid unless asked otherwise, and at most.
const CONSUMER_SESSION_TTL_SECONDS: u64 = 600;
const CONSUMER_SESSION_MAX_TTL_SECONDS: u64 = 86_400;

/// A consumer session with a short code (the one given, or six random digits).
pub async fn create_consumer_session(
    state: &AppState,
    merchant: &Merchant,
    request: ConsumerSessionRequest,
) -> ServiceResult<ConsumerSessionV1> {
    if let Some(code) = &request.short_code
        && !is_short_code(code)
    {
        return Err(ServiceError::bad_value("short_code", "must be 2 to 20 digits"));
    }
    let ttl = request.ttl_seconds.unwrap_or(CONSUMER_SESSION_TTL_SECONDS);
    if !(1..=CONSUMER_SESSION_MAX_TTL_SECONDS).contains(&ttl) {
        return Err(ServiceError::bad_value(
            "ttl_seconds",
            format!("must be between 1 and {CONSUMER_SESSION_MAX_TTL_SECONDS}"),
        ));
    }
    let now = state.now_for(&merchant.id);
    // A picked code may be live already: pick again (a given one is refused instead).
    for _ in 0..10 {
        let session = ConsumerSession {
            id: ids::new_id(),
            merchant_id: merchant.id.clone(),
            short_code: request.short_code.clone().unwrap_or_else(six_digits),
            created_at: now,
            expires_at: now.plus_millis((ttl * 1000) as i64),
            payment_session_id: None,
        };
        if state.store.insert_consumer_session(&session).await? {
            return Ok(ConsumerSessionV1 {
                consumer_session_id: session.id,
                short_code: session.short_code,
                expires_at: session.expires_at.to_string(),
            });
        }
        if request.short_code.is_some() {
            break;
        }
    }
    let message = "A live consumer session already has this short code; use another or let kassa pick one";
    Err(Rule::ShortCodeTaken.refuses(message).into())
}

fn six_digits() -> String {
    let n = u32::from_le_bytes(ids::random_bytes::<4>()) % 1_000_000;
    format!("{n:06}")
}

/// A consumer action on the merchant's distribution of payment session `id`.
pub async fn consumer_action(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
    action: ConsumerAction,
) -> ServiceResult<DistributionResult> {
    let after = retry_on_conflict(|| async {
        if matches!(action, ConsumerAction::Pay | ConsumerAction::Cancel) {
            return settle(state, merchant, id, action).await;
        }
        let before = load::distribution(state, merchant, id).await?;
        act(state, merchant, &before, action).await
    })
    .await?;
    Ok(views::distribution_result(&after, &state.config))
}

/// The consumer opens the payment link `token` (the payment page): the distribution it belongs
/// to, ACCESSED if this is the first open of a link that is shown.
pub async fn open_link(state: &AppState, token: &str) -> ServiceResult<Distribution> {
    retry_on_conflict(|| async {
        let found: Option<Stored<Distribution>> = state.store.load_by_token(token).await?;
        let before = found.ok_or_else(|| ServiceError::not_found("This payment link is unknown"))?;
        if !before.shows_link() || before.status() == DistributionStatus::Accessed {
            return Ok(before.record);
        }
        act(state, &owner(state, &before).await?, &before, ConsumerAction::Open).await
    })
    .await
}

async fn act(
    state: &AppState,
    merchant: &Merchant,
    before: &Stored<Distribution>,
    action: ConsumerAction,
) -> ServiceResult<Distribution> {
    let ctx = context(state, merchant);
    let (change, after) = match action {
        ConsumerAction::Open if before.status() == DistributionStatus::Accessed => return Ok(before.record.clone()),
        ConsumerAction::Open => distribution_command(ctx, before, DistributionCommand::Access)?,
        ConsumerAction::Fail(code) => {
            distribution_command(ctx, before, DistributionCommand::Fail { code, fallback_link: None })?
        }
        ConsumerAction::Pay | ConsumerAction::Cancel => {
            return settle(state, merchant, &before.session_id, action).await;
        }
        // Nothing to record: the page stays open for another try or a cancel.
        ConsumerAction::Decline => {
            require_open_page(before, "be declined")?;
            return Ok(before.record.clone());
        }
    };
    state.commit(change).await?;
    Ok(after)
}

/// Paying and cancelling end the whole payment: they load it with the distribution.
async fn settle(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
    action: ConsumerAction,
) -> ServiceResult<Distribution> {
    let case = load::instore_case(state, merchant, id).await?;
    let ctx = context(state, merchant);
    let (change, after) = match action {
        ConsumerAction::Pay => pay_distribution(ctx, &case)?,
        _ => cancel_distribution(ctx, &case)?,
    };
    state.commit(change).await?;
    Ok(after)
}

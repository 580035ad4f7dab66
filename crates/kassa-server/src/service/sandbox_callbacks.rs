//! The sandbox's per-merchant callback misbehaviour: read, replace, reset. The worker of every
//! node reads a merchant's settings with each claim (see `runtime::delivery::misbehave`), so a
//! change applies to the next callback claimed anywhere, with nothing cached.

use crate::app::state::AppState;
use crate::service::error::ServiceError;
use crate::wire::kassa::SandboxCallbacks;
use kassa_store::{CallbackMisbehaviour, Merchant, SimulatedFailure};

pub const MAX_DELAY_SECONDS: i64 = 3600;
pub const MAX_FAIL_FIRST: i64 = 10;
pub const MAX_DROP_EVERY: i64 = 1000;

/// The merchant's settings (all well-behaved when it has none).
pub async fn read(state: &AppState, merchant: &Merchant) -> Result<SandboxCallbacks, ServiceError> {
    super::sandbox_only(state, "settings")?;
    let settings = state.store.callback_misbehaviour(&merchant.id).await?.unwrap_or_default();
    Ok(view(&settings))
}

/// Replaces the merchant's settings with `request` (a field left out is well-behaved); nothing
/// changes when a value is out of range.
pub async fn replace(
    state: &AppState,
    merchant: &Merchant,
    request: SandboxCallbacks,
) -> Result<SandboxCallbacks, ServiceError> {
    super::sandbox_only(state, "settings")?;
    let settings = validated(&request)?;
    let stored = (settings != CallbackMisbehaviour::default()).then_some(&settings);
    state.store.set_callback_misbehaviour(&merchant.id, stored, state.wall_now()).await?;
    tracing::info!(merchant = %merchant.id, ?settings, "sandbox callback settings replaced");
    Ok(view(&settings))
}

/// Back to well-behaved callbacks.
pub async fn reset(state: &AppState, merchant: &Merchant) -> Result<SandboxCallbacks, ServiceError> {
    super::sandbox_only(state, "settings")?;
    state.store.set_callback_misbehaviour(&merchant.id, None, state.wall_now()).await?;
    Ok(view(&CallbackMisbehaviour::default()))
}

fn validated(request: &SandboxCallbacks) -> Result<CallbackMisbehaviour, ServiceError> {
    let within = |field: &str, value: Option<i64>, max: i64| -> Result<u32, ServiceError> {
        let value = value.unwrap_or(0);
        if (0..=max).contains(&value) {
            Ok(value as u32)
        } else {
            Err(ServiceError::bad_value(field, format!("must be between 0 and {max}")))
        }
    };
    let failure = match request.failure.as_deref() {
        None => SimulatedFailure::Http500,
        Some(text) => SimulatedFailure::parse(text).ok_or_else(|| {
            ServiceError::bad_value("failure", format!("must be one of {}", SimulatedFailure::expected()))
        })?,
    };
    Ok(CallbackMisbehaviour {
        duplicate: request.duplicate.unwrap_or(false),
        delay_seconds: within("delay_seconds", request.delay_seconds, MAX_DELAY_SECONDS)?,
        fail_first: within("fail_first", request.fail_first, MAX_FAIL_FIRST)?,
        failure,
        drop_every: within("drop_every", request.drop_every, MAX_DROP_EVERY)?,
    })
}

fn view(settings: &CallbackMisbehaviour) -> SandboxCallbacks {
    SandboxCallbacks {
        duplicate: Some(settings.duplicate),
        delay_seconds: Some(i64::from(settings.delay_seconds)),
        fail_first: Some(i64::from(settings.fail_first)),
        failure: Some(settings.failure.as_str().to_owned()),
        drop_every: Some(i64::from(settings.drop_every)),
    }
}

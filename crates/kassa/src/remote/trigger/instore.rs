//! The in-store scenarios: a payment session with a `distribution`, the customer's phone played
//! through the sandbox controls.

use super::{Run, cart, spelled};
use kassa_client::Error;
use kassa_client::instore::{DistributionCallbackUrls, DistributionRequest, DistributionResult, DistributionStatus};
use kassa_client::payments::Attachment;
use kassa_client::sandbox::DistributionAction;
use std::time::{Duration, Instant};

/// An unpaid in-store session is cancelled this long after creation (seed 000), plus a minute.
const PAST_AUTO_CANCEL_SECONDS: i64 = 3 * 3600 + 60;
/// How long a status the service reaches on its own (distributing) is waited for.
const SETTLE: Duration = Duration::from_secs(30);

fn distribution(run: &Run, short_code: Option<&str>) -> DistributionRequest {
    DistributionRequest {
        method: "one_qr".into(),
        short_code: short_code.map(str::to_owned),
        callback_urls: run.callback_url.clone().map(|url| DistributionCallbackUrls { status_update: Some(url) }),
    }
}

/// An in-store payment session created; returns its id once its distribution settled.
async fn create(run: &mut Run, short_code: Option<&str>) -> Result<(String, DistributionResult), Error> {
    let mut cart = cart();
    cart.acquiring_channel = Some("in_store".into());
    cart.distribution = Some(distribution(run, short_code));
    let store = serde_json::json!({"in_store_payment": [{"store_info": {
        "merchant_store_id": "kassa trigger", "store_terminal_id": "POS1",
        "store_address": {"street_address": "Drottninggatan", "street_number": "12", "postal_code": "11151",
                          "city": "Stockholm", "country": "SE"}}}]});
    cart.attachment = Some(Attachment {
        content_type: "application/vnd.klarna.internal.emd-v2+json".into(),
        body: store.to_string(),
    });
    let session = run.client.payments().create_session(&cart).await?;
    let what = match short_code {
        Some(code) => format!("created an in-store session (short code {code})"),
        None => "created an in-store session".to_owned(),
    };
    run.step(what, "distribution", &session.session_id, "WAITING");
    let result = settled(run, &session.session_id, |s| s != DistributionStatus::Waiting).await?;
    run.step("the distribution ran", "distribution", &session.session_id, spelled(result.status));
    Ok((session.session_id, result))
}

/// The result once `done` holds for its status (long-polled), or an error after [`SETTLE`].
async fn settled(run: &Run, id: &str, done: impl Fn(DistributionStatus) -> bool) -> Result<DistributionResult, Error> {
    let deadline = Instant::now() + SETTLE;
    // The first read brings the version to wait from: a change made between a plain read and
    // the long-poll would otherwise be waited out.
    let (mut result, mut etag) = match run.client.instore().wait_for_change(id, None, 0).await? {
        Some(read) => (read.value, Some(read.etag)),
        None => (run.client.instore().read_result(id).await?, None),
    };
    while !done(result.status) {
        if Instant::now() >= deadline {
            return Err(Error::Config(format!(
                "the distribution stayed {} for {} s",
                spelled(result.status),
                SETTLE.as_secs()
            )));
        }
        if let Some(changed) = run.client.instore().wait_for_change(id, etag.as_deref(), 5).await? {
            etag = Some(changed.etag);
            result = changed.value;
        }
    }
    Ok(result)
}

async fn act(run: &mut Run, id: &str, action: DistributionAction, what: &str) -> Result<DistributionResult, Error> {
    let result = run.client.sandbox().distribution(id, action).await?;
    run.step(what, "distribution", id, spelled(result.status));
    Ok(result)
}

/// Opens the link and pays; checks the order kassa placed and captured.
async fn pay(run: &mut Run, id: &str) -> Result<(), Error> {
    act(run, id, DistributionAction::Open, "the customer opened the payment link").await?;
    let paid = act(run, id, DistributionAction::Pay, "the customer paid").await?;
    let order_id = paid.order_id.ok_or_else(|| Error::Config("the completed distribution has no order".into()))?;
    let order = run.client.orders().read(&order_id).await?;
    run.step("kassa placed and captured the order", "order", &order_id, spelled(order.status));
    Ok(())
}

pub async fn completed(run: &mut Run) -> Result<(), Error> {
    let (id, _) = create(run, None).await?;
    pay(run, &id).await
}

pub async fn short_code_failed_then_retried(run: &mut Run) -> Result<(), Error> {
    let phone = run.client.sandbox().consumer_session(None).await?;
    // A code one digit longer than the phone's: no consumer session has it.
    let wrong = format!("{}9", phone.short_code);
    let (id, failed) = create(run, Some(&wrong)).await?;
    if failed.status != DistributionStatus::Failed {
        return Err(Error::Config(format!("a push to an unknown code ended {}", spelled(failed.status))));
    }
    let code = failed.error.map(|e| e.code).unwrap_or_default();
    run.step(format!("the failure: {code}"), "distribution", &id, "FAILED");
    run.step(format!("the customer's phone shows {}", phone.short_code), "distribution", &id, "FAILED");
    let retried = run.client.instore().retry(&id, &distribution(run, Some(&phone.short_code))).await?;
    run.step("retried with the right short code", "distribution", &id, spelled(retried.status));
    let result = settled(run, &id, |s| s != DistributionStatus::Waiting).await?;
    run.step("the distribution ran again", "distribution", &id, spelled(result.status));
    pay(run, &id).await
}

pub async fn auto_cancelled(run: &mut Run) -> Result<(), Error> {
    let (id, _) = create(run, None).await?;
    let clock = run.client.sandbox().advance_clock(PAST_AUTO_CANCEL_SECONDS).await?;
    run.step(format!("moved the sandbox clock to {}", clock.now), "distribution", &id, "-");
    let result = settled(run, &id, |s| s == DistributionStatus::Canceled).await?;
    run.step("kassa cancelled it after 3 hours", "distribution", &id, spelled(result.status));
    Ok(())
}

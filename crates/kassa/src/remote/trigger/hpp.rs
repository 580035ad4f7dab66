//! The HPP scenarios: a payment session hosted on the page, and what the consumer does there.

use super::{Run, cart, spelled};
use kassa_client::Error;
use kassa_client::hpp::{HppOptions, HppSessionRequest, MerchantUrls};
use kassa_client::sandbox::ConsumerAction;

/// How far the sandbox clock moves to pass an HPP session's expiry (47 hours after creation:
/// an hour before its payment session's 48).
const PAST_EXPIRY_SECONDS: i64 = 47 * 3600 + 60;

/// A payment session and an HPP session hosting it (`place_order_mode`), created.
pub async fn create(run: &mut Run, place_order_mode: &str) -> Result<String, Error> {
    let payment = run.client.payments().create_session(&cart()).await?;
    run.step("created a payment session", "payment", &payment.session_id, "incomplete");
    let request = HppSessionRequest {
        payment_session_url: run.client.payments().session_url(&payment.session_id),
        merchant_urls: Some(MerchantUrls {
            success: Some("https://shop.example/success?sid={{session_id}}&token={{authorization_token}}".into()),
            cancel: Some("https://shop.example/cancel".into()),
            back: Some("https://shop.example/back".into()),
            failure: Some("https://shop.example/failure".into()),
            error: Some("https://shop.example/error".into()),
            status_update: run.callback_url.clone(),
        }),
        options: Some(HppOptions {
            place_order_mode: Some(place_order_mode.into()),
            page_title: Some("kassa trigger".into()),
            ..HppOptions::default()
        }),
        ..HppSessionRequest::default()
    };
    let hpp = run.client.hpp().create_session(&request).await?;
    let status = run.client.hpp().read_session(&hpp.session_id).await?.status;
    run.step(format!("created an HPP session ({place_order_mode})"), "hpp", &hpp.session_id, spelled(status));
    Ok(hpp.session_id)
}

/// The consumer acts on the page; returns the session's authorization token, if any.
pub async fn consumer(run: &mut Run, id: &str, action: ConsumerAction) -> Result<Option<String>, Error> {
    let outcome = run.client.sandbox().hpp(id, action).await?;
    run.step(format!("the consumer: {}", action.as_str()), "hpp", id, spelled(outcome.session.status));
    Ok(outcome.session.authorization_token)
}

/// Places the order with the authorization token; returns the order id.
pub async fn place_order(run: &mut Run, token: Option<String>) -> Result<String, Error> {
    let token = token.ok_or_else(|| Error::Config("the approved session has no authorization token".into()))?;
    let placed = run.client.payments().place_order(&token, &cart().into()).await?;
    let order = run.client.orders().read(&placed.order_id).await?;
    run.step("placed the order with the authorization token", "order", &placed.order_id, spelled(order.status));
    Ok(placed.order_id)
}

pub async fn approved(run: &mut Run) -> Result<(), Error> {
    let id = create(run, "NONE").await?;
    consumer(run, &id, ConsumerAction::Open).await?;
    let token = consumer(run, &id, ConsumerAction::Approve).await?;
    place_order(run, token).await.map(drop)
}

pub async fn declined_then_approved(run: &mut Run) -> Result<(), Error> {
    let id = create(run, "NONE").await?;
    consumer(run, &id, ConsumerAction::Open).await?;
    consumer(run, &id, ConsumerAction::Decline).await?;
    consumer(run, &id, ConsumerAction::Open).await?;
    let token = consumer(run, &id, ConsumerAction::Approve).await?;
    place_order(run, token).await.map(drop)
}

pub async fn back(run: &mut Run) -> Result<(), Error> {
    let id = create(run, "NONE").await?;
    consumer(run, &id, ConsumerAction::Open).await?;
    consumer(run, &id, ConsumerAction::Back).await.map(drop)
}

pub async fn cancelled(run: &mut Run) -> Result<(), Error> {
    let id = create(run, "NONE").await?;
    consumer(run, &id, ConsumerAction::Open).await?;
    consumer(run, &id, ConsumerAction::Cancel).await.map(drop)
}

pub async fn disabled(run: &mut Run) -> Result<(), Error> {
    let id = create(run, "NONE").await?;
    run.client.hpp().disable_session(&id).await?;
    let status = run.client.hpp().read_session(&id).await?.status;
    run.step("the merchant disabled the session", "hpp", &id, spelled(status));
    Ok(())
}

pub async fn expired(run: &mut Run) -> Result<(), Error> {
    let id = create(run, "NONE").await?;
    let clock = run.client.sandbox().advance_clock(PAST_EXPIRY_SECONDS).await?;
    run.step(format!("moved the sandbox clock to {}", clock.now), "hpp", &id, "-");
    // Another node of the kassa may see the moved clock up to a second later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        match run.client.hpp().read_session(&id).await {
            Err(error) if error.is_not_found() => {
                run.step("read the session: 404 NOT_FOUND", "hpp", &id, "EXPIRED");
                return Ok(());
            }
            Err(error) => return Err(error),
            Ok(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await
            }
            Ok(session) => {
                let status = spelled(session.status);
                return Err(Error::Config(format!("the session is still {status} after its expiry")));
            }
        }
    }
}

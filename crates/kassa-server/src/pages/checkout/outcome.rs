//! The pages after (or instead of) paying: approved, declined, cancelled, withdrawn, expired …
//! Each says what happened in words and offers what the consumer can do next.

use super::persona::DECLINE_MESSAGE;
use super::subject::{Purchase, Subject};
use super::{base, view::Shop};
use crate::app::state::AppState;
use crate::pages::{Chrome, PageError, render};
use askama::Template;
use axum::response::{IntoResponse, Response};
use kassa_core::distribution::DistributionStatus;
use kassa_core::hpp::{HppAction, HppOutcome, HppStatus};

pub struct Action {
    pub label: String,
    pub href: String,
    pub primary: bool,
}

#[derive(Template)]
#[template(path = "outcome.html")]
pub struct OutcomePage {
    pub chrome: Chrome,
    pub shop: Option<Shop>,
    /// `ok`, `info`, `warn` or `bad`: the colour of the message.
    pub tone: &'static str,
    pub heading: String,
    pub message: String,
    pub details: Vec<(&'static str, String)>,
    pub actions: Vec<Action>,
    pub status: String,
    /// Seconds after which the page reloads itself (while a payment is being prepared).
    pub refresh: Option<u32>,
}

impl OutcomePage {
    fn new(tone: &'static str, heading: impl Into<String>, message: impl Into<String>) -> Self {
        let heading = heading.into();
        Self {
            chrome: Chrome::consumer(heading.clone(), None),
            shop: None,
            tone,
            heading,
            message: message.into(),
            details: vec![],
            actions: vec![],
            status: String::new(),
            refresh: None,
        }
    }

    fn action(mut self, label: impl Into<String>, href: Option<String>, primary: bool) -> Self {
        if let Some(href) = href {
            self.actions.push(Action { label: label.into(), href, primary });
        }
        self
    }

    fn detail(mut self, label: &'static str, value: Option<String>) -> Self {
        if let Some(value) = value {
            self.details.push((label, value));
        }
        self
    }

    async fn respond(mut self, state: &AppState, subject: &Subject) -> Result<Response, PageError> {
        let merchant = subject.merchant(state).await?;
        if let Ok(purchase) = Purchase::of(state, subject, &merchant).await {
            self.chrome = Chrome::consumer(self.heading.clone(), Some(&purchase.locale));
            self.shop = Some(purchase.shop);
        }
        self.status = subject.status();
        Ok(render(&self)?.into_response())
    }
}

const TECHNICAL_ERROR: &str = "We could not complete your payment because of a technical error. Nothing was charged.";

/// A payment the consumer can (go on to) pay.
fn ready(again: Option<String>) -> OutcomePage {
    OutcomePage::new("info", "Ready to pay", "Your purchase is waiting for you.").action(
        "Continue to payment",
        again,
        true,
    )
}

/// The page for a subject that is not open for paying (or whose outcome is being shown).
pub async fn status_page(state: &AppState, key: &str, subject: &Subject) -> Result<Response, PageError> {
    let again = Some(base(key));
    let page = match subject {
        Subject::Hpp(s) => {
            let back_to = |action| s.merchant_url_after(action);
            match s.status() {
                HppStatus::Completed => {
                    let (order, reference) = match &s.outcome {
                        Some(HppOutcome::Order { order_id, klarna_reference }) => {
                            (Some(order_id.clone()), Some(klarna_reference.clone()))
                        }
                        _ => (None, None),
                    };
                    OutcomePage::new("ok", "Payment approved", "Thank you! Your purchase is approved.")
                        .detail("Order", order)
                        .detail("Klarna reference", reference)
                        .action("Return to the shop", back_to(HppAction::Approve), true)
                }
                HppStatus::Failed => OutcomePage::new("bad", "Purchase declined", DECLINE_MESSAGE)
                    .action("Try again", again, true)
                    .action("Return to the shop", back_to(HppAction::Decline), false),
                HppStatus::Error => OutcomePage::new("bad", "Something went wrong", TECHNICAL_ERROR)
                    .action("Try again", again, true)
                    .action("Return to the shop", back_to(HppAction::Error), false),
                HppStatus::Back => OutcomePage::new("info", "You left the payment", "Your purchase is still waiting.")
                    .action("Continue paying", again, true)
                    .action("Return to the shop", back_to(HppAction::Back), false),
                HppStatus::Cancelled => {
                    OutcomePage::new("warn", "Payment cancelled", "You cancelled this payment. Nothing was charged.")
                        .action("Return to the shop", back_to(HppAction::Cancel), true)
                }
                HppStatus::Disabled => OutcomePage::new(
                    "warn",
                    "This payment is no longer available",
                    "The shop withdrew this payment link. Go back to the shop to start again.",
                ),
                HppStatus::Waiting | HppStatus::InProgress => ready(again),
            }
        }
        Subject::InStore(d) => match d.status() {
            DistributionStatus::Completed => {
                let (order, reference) =
                    d.order.clone().map_or((None, None), |o| (Some(o.order_id), Some(o.klarna_reference)));
                OutcomePage::new("ok", "Payment complete", "Thank you! Show this screen to the cashier.")
                    .detail("Order", order)
                    .detail("Klarna reference", reference)
            }
            DistributionStatus::Canceled => OutcomePage::new(
                "warn",
                "Payment cancelled",
                "This payment was cancelled. Nothing was charged. Ask the cashier if you still want to pay.",
            ),
            DistributionStatus::Waiting => {
                let mut page =
                    OutcomePage::new("info", "Your payment is being prepared", "This takes a moment. Please wait.");
                page.refresh = Some(2);
                page
            }
            // The link stays usable after a short code could not be delivered.
            DistributionStatus::Failed if d.shows_link() => ready(again),
            DistributionStatus::Failed => OutcomePage::new(
                "bad",
                "This payment link can no longer be used",
                "Ask the cashier to start the payment again.",
            ),
            DistributionStatus::Distributed | DistributionStatus::Accessed => ready(again),
        },
    };
    page.respond(state, subject).await
}

/// In store, a declined consumer stays on the payment (ACCESSED) and may try again.
pub async fn decline_page(state: &AppState, key: &str, subject: &Subject) -> Result<Response, PageError> {
    OutcomePage::new("bad", "Purchase declined", DECLINE_MESSAGE)
        .action("Try again", Some(base(key)), true)
        .action("Cancel payment", Some(format!("{}/cancel", base(key))), false)
        .respond(state, subject)
        .await
}

/// In store, a technical error changes nothing: the consumer may simply try again.
pub async fn error_page(state: &AppState, key: &str, subject: &Subject) -> Result<Response, PageError> {
    OutcomePage::new("bad", "Something went wrong", TECHNICAL_ERROR)
        .action("Try again", Some(base(key)), true)
        .respond(state, subject)
        .await
}

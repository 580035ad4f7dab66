//! The hosted payment page, at an HPP session's `redirect_url` and an in-store `payment_link`
//! (both `/hpp/payments/{key}`). Opening it moves the session to IN_PROGRESS (HPP) or ACCESSED
//! (in-store); the consumer identifies by email and a one-time code (Klarna's playground
//! personas decide the outcome); every outcome sends the browser to the matching merchant URL,
//! or to kassa's own result page when the merchant gave none.

mod outcome;
mod persona;
mod subject;
mod view;

use super::{Chrome, PageError, render};
use crate::Mode;
use crate::error::ApiError;
use crate::service::{hpp, instore};
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kassa_core::hpp::HppAction;
use outcome::{decline_page, error_page, status_page};
use persona::{InputError, Verdict};
use serde::Deserialize;
use subject::{Purchase, Stage, Subject};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hpp/payments/{key}", get(open))
        .route("/hpp/payments/{key}/identify", post(identify))
        .route("/hpp/payments/{key}/confirm", post(confirm))
        .route("/hpp/payments/{key}/back", post(back))
        .route("/hpp/payments/{key}/cancel", get(cancel_question).post(cancel))
        .route("/hpp/payments/{key}/result", get(result))
}

/// The page's own path.
fn base(key: &str) -> String {
    format!("/hpp/payments/{key}")
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage<'a> {
    chrome: Chrome,
    base: String,
    purchase: &'a Purchase,
    status: String,
    /// `email` (who are you?) or `code` (the one-time code and the buy button).
    step: &'static str,
    email: &'a str,
    email_error: Option<&'static str>,
    code_error: Option<&'static str>,
    /// Sandbox mode shows which personas do what.
    sandbox: bool,
}

async fn checkout(
    state: &AppState,
    key: &str,
    subject: &Subject,
    step: &'static str,
    email: &str,
    error: Option<InputError>,
) -> Result<Response, PageError> {
    let merchant = subject.merchant(state).await?;
    let purchase = Purchase::of(state, subject, &merchant).await?;
    let (email_error, code_error) = match error {
        Some(InputError::Email(e)) => (Some(e), None),
        Some(InputError::Code(e)) => (None, Some(e)),
        None => (None, None),
    };
    let page = CheckoutPage {
        chrome: Chrome::consumer(format!("Pay {}", purchase.shop.name), Some(&purchase.locale)),
        base: base(key),
        purchase: &purchase,
        status: subject.status(),
        step,
        email,
        email_error,
        code_error,
        sandbox: state.config.mode == Mode::Sandbox,
    };
    let status = if email_error.or(code_error).is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&page)?).into_response())
}

/// Opening the page: the first open (and a return after a decline, back or error) moves the
/// session on; a closed session gets a page saying why.
async fn open(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, PageError> {
    let mut subject = Subject::find(&state, &key).await?;
    if subject.stage() == Stage::Resumable {
        match &subject {
            Subject::Hpp(session) => {
                let merchant = subject.merchant(&state).await?;
                hpp::consumer_action(&state, &merchant, &session.id, HppAction::Open).await?;
            }
            Subject::InStore(_) => {
                instore::open_link(&state, &key).await?;
            }
        }
        subject = Subject::find(&state, &key).await?;
    }
    match subject.stage() {
        Stage::Open => checkout(&state, &key, &subject, "email", "", None).await,
        _ => status_page(&state, &key, &subject).await,
    }
}

#[derive(Deserialize)]
struct Identity {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

/// The page where a consumer is, for a request made on an open page: the subject when it is
/// still open, else the page that says what happened meanwhile.
async fn still_open(state: &AppState, key: &str) -> Result<Result<Subject, Response>, PageError> {
    let subject = Subject::find(state, key).await?;
    Ok(match subject.stage() {
        Stage::Open => Ok(subject),
        Stage::Resumable => Err(Redirect::to(&base(key)).into_response()),
        Stage::Closed | Stage::NotYet => Err(status_page(state, key, &subject).await?),
    })
}

async fn identify(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Form(form): Form<Identity>,
) -> Result<Response, PageError> {
    let subject = match still_open(&state, &key).await? {
        Ok(subject) => subject,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let email = form.email.trim();
    match persona::check_email(email) {
        Ok(()) => checkout(&state, &key, &subject, "code", email, None).await,
        Err(error) => checkout(&state, &key, &subject, "email", email, Some(error)).await,
    }
}

async fn confirm(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Form(form): Form<Identity>,
) -> Result<Response, PageError> {
    let subject = match still_open(&state, &key).await? {
        Ok(subject) => subject,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let email = form.email.trim();
    let verdict = match persona::decide(email, form.code.trim()) {
        Ok(verdict) => verdict,
        Err(error @ InputError::Email(_)) => {
            return checkout(&state, &key, &subject, "email", email, Some(error)).await;
        }
        Err(error) => return checkout(&state, &key, &subject, "code", email, Some(error)).await,
    };
    let merchant = subject.merchant(&state).await?;
    match (&subject, verdict) {
        (Subject::Hpp(session), verdict) => {
            let action = match verdict {
                Verdict::Approve => HppAction::Approve,
                Verdict::Decline => HppAction::Decline,
                Verdict::Error => HppAction::Error,
            };
            let outcome = hpp::consumer_action(&state, &merchant, &session.id, action).await?;
            // A decline is explained on kassa's page first (it links on to the merchant's).
            let merchant_url = outcome.redirect_url.filter(|_| action != HppAction::Decline);
            Ok(Redirect::to(&merchant_url.unwrap_or_else(|| format!("{}/result", base(&key)))).into_response())
        }
        (Subject::InStore(d), Verdict::Approve) => {
            instore::consumer_action(&state, &merchant, &d.session_id, instore::ConsumerAction::Pay).await?;
            Ok(Redirect::to(&format!("{}/result", base(&key))).into_response())
        }
        (Subject::InStore(d), Verdict::Decline) => {
            instore::consumer_action(&state, &merchant, &d.session_id, instore::ConsumerAction::Decline).await?;
            decline_page(&state, &key, &subject).await
        }
        (Subject::InStore(_), Verdict::Error) => error_page(&state, &key, &subject).await,
    }
}

async fn back(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, PageError> {
    let subject = match still_open(&state, &key).await? {
        Ok(subject) => subject,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let Subject::Hpp(session) = &subject else {
        return Err(ApiError::not_found("An in-store payment has no merchant site to go back to").into());
    };
    let merchant = subject.merchant(&state).await?;
    let outcome = hpp::consumer_action(&state, &merchant, &session.id, HppAction::Back).await?;
    Ok(Redirect::to(&outcome.redirect_url.unwrap_or_else(|| format!("{}/result", base(&key)))).into_response())
}

#[derive(Template)]
#[template(path = "cancel.html")]
struct CancelQuestion<'a> {
    chrome: Chrome,
    base: String,
    purchase: &'a Purchase,
}

/// Cancelling needs a confirmation (seed 001): this page asks.
async fn cancel_question(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, PageError> {
    let subject = Subject::find(&state, &key).await?;
    if matches!(subject.stage(), Stage::Closed | Stage::NotYet) {
        return status_page(&state, &key, &subject).await;
    }
    let merchant = subject.merchant(&state).await?;
    let purchase = Purchase::of(&state, &subject, &merchant).await?;
    let chrome = Chrome::consumer("Cancel payment?", Some(&purchase.locale));
    Ok(render(&CancelQuestion { chrome, base: base(&key), purchase: &purchase })?.into_response())
}

async fn cancel(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, PageError> {
    let subject = Subject::find(&state, &key).await?;
    if matches!(subject.stage(), Stage::Closed | Stage::NotYet) {
        return status_page(&state, &key, &subject).await;
    }
    let merchant = subject.merchant(&state).await?;
    let merchant_url = match &subject {
        Subject::Hpp(session) => {
            hpp::consumer_action(&state, &merchant, &session.id, HppAction::Cancel).await?.redirect_url
        }
        Subject::InStore(d) => {
            instore::consumer_action(&state, &merchant, &d.session_id, instore::ConsumerAction::Cancel).await?;
            None
        }
    };
    Ok(Redirect::to(&merchant_url.unwrap_or_else(|| format!("{}/result", base(&key)))).into_response())
}

/// kassa's own result page, for outcomes whose merchant URL was not given.
async fn result(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, PageError> {
    let subject = Subject::find(&state, &key).await?;
    if subject.stage() == Stage::Open {
        return Ok(Redirect::to(&base(&key)).into_response());
    }
    status_page(&state, &key, &subject).await
}

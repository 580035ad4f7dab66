//! The hosted payment page, at an HPP session's `redirect_url` and an in-store `payment_link`
//! (both `/hpp/payments/{key}`). Opening it moves the session to IN_PROGRESS (HPP) or ACCESSED
//! (in-store); the consumer identifies by email and a one-time code (Klarna's playground
//! personas decide the outcome); every outcome sends the browser to the matching merchant URL,
//! or to kassa's own result page when the merchant gave none.

mod outcome;
mod persona;
mod subject;
mod view;

use super::{Chrome, PageError, PageForm, PageQuery, render, see_other};
use crate::app::Mode;
use crate::app::state::AppState;
use crate::service::error::ServiceError;
use crate::service::{hpp, instore};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use instore::ConsumerAction;
use kassa_core::hpp::{HppAction, HppStatus};
use outcome::{decline_page, error_page, status_page};
use persona::{InputError, Verdict};
use serde::Deserialize;
use std::future::Future;
use subject::Stage;
pub(super) use subject::{Purchase, Subject};

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
        let opened = match &subject {
            Subject::Hpp(session) => {
                let merchant = subject.merchant(&state).await?;
                hpp::consumer_action(&state, &merchant, &session.id, HppAction::Open).await.map(drop)
            }
            Subject::InStore(_) => instore::open_link(&state, &key).await.map(drop),
        };
        // Another tab may have moved the session meanwhile: show where it is now.
        if let Err(error) = opened
            && !matches!(error, ServiceError::Refused(_))
        {
            return Err(error.into());
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

/// Runs `act` on a subject that is open for paying; any other gets the page that says where it
/// stands (a resumable one is opened first).
async fn when_open<F, Fut>(state: &AppState, key: &str, act: F) -> Result<Response, PageError>
where
    F: FnOnce(Subject) -> Fut,
    Fut: Future<Output = Result<Response, PageError>>,
{
    let subject = Subject::find(state, key).await?;
    match subject.stage() {
        Stage::Open => act(subject).await,
        Stage::Resumable => see_other(&base(key)),
        Stage::Closed | Stage::NotYet => status_page(state, key, &subject).await,
    }
}

/// Where the browser goes after an outcome: `next` of it (the merchant's URL for it), else
/// kassa's result page. A consumer action that lost a race (a double click, a second tab) is not
/// an error to show: the result page says how it ended.
fn leave<T>(
    key: &str,
    done: Result<T, ServiceError>,
    next: impl FnOnce(T) -> Option<String>,
) -> Result<Response, PageError> {
    let result = format!("{}/result", base(key));
    match done {
        Ok(outcome) => match next(outcome) {
            Some(url) => see_other(&url).or_else(|_| see_other(&result)),
            None => see_other(&result),
        },
        Err(ServiceError::Refused(_)) => see_other(&result),
        Err(other) => Err(other.into()),
    }
}

/// The form's two steps: the email alone, then the email with the one-time code.
#[derive(Clone, Copy)]
enum Step {
    Identify,
    Confirm,
}

async fn identify(state: State<AppState>, key: Path<String>, form: PageForm<Identity>) -> Result<Response, PageError> {
    submit(state, key, form, Step::Identify).await
}

async fn confirm(state: State<AppState>, key: Path<String>, form: PageForm<Identity>) -> Result<Response, PageError> {
    submit(state, key, form, Step::Confirm).await
}

/// A step of the form: what cannot be used is shown again beside its field; a known email
/// asks for the code; a code decides.
async fn submit(
    State(state): State<AppState>,
    Path(key): Path<String>,
    PageForm(form): PageForm<Identity>,
    step: Step,
) -> Result<Response, PageError> {
    let (state, key) = (&state, key.as_str());
    when_open(state, key, |subject| async move {
        let email = form.email.trim();
        let verdict = match step {
            Step::Identify => persona::check_email(email).map(|()| None),
            Step::Confirm => persona::decide(email, form.code.trim()).map(Some),
        };
        match verdict {
            Ok(Some(verdict)) => pay(state, key, &subject, verdict).await,
            Ok(None) => checkout(state, key, &subject, "code", email, None).await,
            Err(error @ InputError::Email(_)) => checkout(state, key, &subject, "email", email, Some(error)).await,
            Err(error @ InputError::Code(_)) => checkout(state, key, &subject, "code", email, Some(error)).await,
        }
    })
    .await
}

/// Carries out the persona's verdict on an open subject.
async fn pay(state: &AppState, key: &str, subject: &Subject, verdict: Verdict) -> Result<Response, PageError> {
    let merchant = subject.merchant(state).await?;
    match (subject, verdict) {
        (Subject::Hpp(session), verdict) => {
            let action = match verdict {
                Verdict::Approve => HppAction::Approve,
                Verdict::Decline => HppAction::Decline,
                Verdict::Error => HppAction::Error,
            };
            let done = hpp::consumer_action(state, &merchant, &session.id, action).await;
            // A decline is explained on kassa's page first (it links on to the merchant's).
            leave(key, done, |o| o.redirect_url.filter(|_| action != HppAction::Decline))
        }
        // In store a technical error changes nothing: the consumer may simply try again.
        (Subject::InStore(_), Verdict::Error) => see_other(&format!("{}/result?outcome=error", base(key))),
        (Subject::InStore(d), verdict) => {
            let declined = verdict == Verdict::Decline;
            let action = if declined { ConsumerAction::Decline } else { ConsumerAction::Pay };
            let done = instore::consumer_action(state, &merchant, &d.session_id, action).await;
            leave(key, done, |_| declined.then(|| format!("{}/result?outcome=declined", base(key))))
        }
    }
}

async fn back(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, PageError> {
    let (state, key) = (&state, key.as_str());
    when_open(state, key, |subject| async move {
        let Subject::Hpp(session) = &subject else {
            // An in-store payment has no merchant site to go back to.
            return see_other(&base(key));
        };
        let merchant = subject.merchant(state).await?;
        let done = hpp::consumer_action(state, &merchant, &session.id, HppAction::Back).await;
        leave(key, done, |o| o.redirect_url)
    })
    .await
}

#[derive(Template)]
#[template(path = "cancel.html")]
struct CancelQuestion<'a> {
    chrome: Chrome,
    base: String,
    purchase: &'a Purchase,
}

/// Whether the consumer can cancel from where the subject stands: not once it is closed, and
/// an HPP session only once its page was opened.
fn cancellable(subject: &Subject) -> bool {
    match subject.stage() {
        Stage::Closed | Stage::NotYet => false,
        _ => !matches!(subject, Subject::Hpp(s) if s.status() == HppStatus::Waiting),
    }
}

/// Cancelling needs a confirmation (seed 001): this page asks.
async fn cancel_question(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, PageError> {
    let subject = Subject::find(&state, &key).await?;
    if !cancellable(&subject) {
        return status_page(&state, &key, &subject).await;
    }
    let merchant = subject.merchant(&state).await?;
    let purchase = Purchase::of(&state, &subject, &merchant).await?;
    let chrome = Chrome::consumer("Cancel payment?", Some(&purchase.locale));
    Ok(render(&CancelQuestion { chrome, base: base(&key), purchase: &purchase })?.into_response())
}

async fn cancel(State(state): State<AppState>, Path(key): Path<String>) -> Result<Response, PageError> {
    let subject = Subject::find(&state, &key).await?;
    if !cancellable(&subject) {
        return status_page(&state, &key, &subject).await;
    }
    let merchant = subject.merchant(&state).await?;
    match &subject {
        Subject::Hpp(session) => {
            let done = hpp::consumer_action(&state, &merchant, &session.id, HppAction::Cancel).await;
            leave(&key, done, |o| o.redirect_url)
        }
        Subject::InStore(d) => {
            let done = instore::consumer_action(&state, &merchant, &d.session_id, ConsumerAction::Cancel).await;
            leave(&key, done, |_| None)
        }
    }
}

#[derive(Deserialize)]
struct ResultQuery {
    /// In store, where nothing else records it: `declined` or `error`.
    outcome: Option<String>,
}

/// kassa's own result page, for outcomes whose merchant URL was not given.
async fn result(
    State(state): State<AppState>,
    Path(key): Path<String>,
    PageQuery(query): PageQuery<ResultQuery>,
) -> Result<Response, PageError> {
    let subject = Subject::find(&state, &key).await?;
    match (subject.stage(), query.outcome.as_deref()) {
        (Stage::Open, Some("declined")) if matches!(subject, Subject::InStore(_)) => {
            decline_page(&state, &key, &subject).await
        }
        (Stage::Open, Some("error")) if matches!(subject, Subject::InStore(_)) => {
            error_page(&state, &key, &subject).await
        }
        (Stage::Open, _) => see_other(&base(&key)),
        _ => status_page(&state, &key, &subject).await,
    }
}

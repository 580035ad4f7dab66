//! The web pages: the consumer's hosted payment page and store page, the clerk screen and the
//! merchant dashboard. Server-rendered with askama (every value escaped), one stylesheet of our
//! own, one small script for live updates.

mod assets;
mod checkout;
mod clerk;
mod dashboard;
mod distribution;
mod error;
mod guard;
mod jobs;
mod live;
mod login;
mod money;
mod order;
mod store;

use crate::app::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;

pub use error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(assets::routes())
        .merge(checkout::routes())
        .merge(distribution::routes())
        .merge(store::routes())
        .merge(login::routes())
        .merge(clerk::routes())
        .merge(dashboard::routes())
        .merge(jobs::routes())
        .merge(order::routes())
        .layer(middleware::from_fn(guard::same_origin_and_headers))
}

/// What every page's frame needs.
pub struct Chrome {
    pub title: String,
    /// The language of the page (`lang`).
    pub lang: String,
    /// The merchant logged in, on merchant pages (the navigation shows it).
    pub merchant: Option<String>,
}

impl Chrome {
    pub fn consumer(title: impl Into<String>, locale: Option<&str>) -> Self {
        let lang = locale.and_then(|l| l.split(['-', '_']).next()).filter(|l| !l.is_empty()).unwrap_or("en");
        Self { title: title.into(), lang: lang.to_ascii_lowercase(), merchant: None }
    }

    pub fn merchant(title: impl Into<String>, merchant: &kassa_store::Merchant) -> Self {
        Self { title: title.into(), lang: "en".into(), merchant: Some(merchant.name.clone()) }
    }
}

/// A page as the response body.
pub fn render(page: &impl Template) -> Result<Html<String>, PageError> {
    page.render().map(Html).map_err(|e| PageError::internal(e.to_string()))
}

/// A 303 to `url`; a URL that cannot be a `Location` (control characters) is refused with a page
/// rather than a panic.
pub fn see_other(url: &str) -> Result<Response, PageError> {
    let location = HeaderValue::from_str(url).map_err(|_| {
        PageError::new(
            StatusCode::BAD_GATEWAY,
            "This link is broken",
            "The shop gave an address that cannot be opened.",
        )
    })?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

/// A form body; what cannot be read is answered with a page, not with Klarna's JSON.
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PageError> {
        let axum::Form(value) = axum::Form::<T>::from_request(request, state)
            .await
            .map_err(|e| PageError::new(StatusCode::BAD_REQUEST, "That did not work", e.body_text()))?;
        Ok(Self(value))
    }
}

/// A query string, likewise.
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let axum::extract::Query(value) = axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| PageError::new(StatusCode::BAD_REQUEST, "That did not work", e.body_text()))?;
        Ok(Self(value))
    }
}

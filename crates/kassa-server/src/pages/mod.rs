//! The web pages: the consumer's hosted payment page and store page, the clerk screen and the
//! merchant dashboard. Server-rendered with askama (every value escaped), one stylesheet of our
//! own, one small script for live updates.

mod assets;
mod checkout;
mod clerk;
mod dashboard;
mod error;
mod live;
mod login;
mod money;
mod store;

use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::response::Html;

pub use error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(assets::routes())
        .merge(checkout::routes())
        .merge(store::routes())
        .merge(login::routes())
        .merge(clerk::routes())
        .merge(dashboard::routes())
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

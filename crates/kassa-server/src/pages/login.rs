//! Merchant login for the clerk screen and the dashboard: the API credentials, typed once, start
//! a browser session kept on the server ([`crate::service::logins`]); the cookie holds its random
//! token. Logging out ends it on every node. Failed attempts are throttled as the API's are.

use super::{Chrome, PageError, PageForm, PageQuery, render, see_other};
use crate::app::state::AppState;
use crate::client::ClientAddress;
use crate::service::logins::{self, LoginRefused};
use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, http::HeaderValue};
use kassa_store::Merchant;
use serde::Deserialize;

const COOKIE: &str = "kassa_login";

pub fn routes() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(log_in)).route("/logout", post(log_out))
}

/// The merchant logged in to this browser; without a valid login, pages redirect to `/login`.
pub struct MerchantLogin {
    pub state: AppState,
    pub merchant: Merchant,
}

impl FromRequestParts<AppState> for MerchantLogin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let merchant = match cookie(&parts.headers) {
            Some(token) => logins::merchant_of(state, &token).await.map_err(|e| PageError::from(e).into_response())?,
            None => None,
        };
        merchant.map(|merchant| Self { state: state.clone(), merchant }).ok_or_else(|| {
            // After logging in, come back here; a form's target cannot be returned to with a GET.
            let here = match parts.method {
                axum::http::Method::GET => parts.uri.path_and_query().map_or("/dashboard", |p| p.as_str()),
                _ => "/dashboard",
            };
            let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            Redirect::to(&format!("/login?next={next}")).into_response()
        })
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('=').map(str::to_owned))
        .filter(|token| !token.is_empty())
}

/// A dashboard action's form: the page to go back to afterwards.
#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

impl Back {
    /// Back to the form's page, if it is one of this site's (see [`safe_next`]).
    pub fn go(&self) -> Result<Response, PageError> {
        see_other(safe_next(self.back.as_deref()))
    }
}

/// Only paths of this site: no scheme, no `//host`, and nothing a browser strips or bends
/// (control characters, whitespace, backslashes) to make one.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            path
        }
        _ => "/dashboard",
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    chrome: Chrome,
    next: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(PageQuery(query): PageQuery<NextQuery>) -> Result<Response, PageError> {
    let chrome = Chrome::consumer("Merchant login", None);
    let page = LoginPage { chrome, next: safe_next(query.next.as_deref()), username: "", error: None };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    secret: String,
    next: Option<String>,
}

async fn log_in(
    State(state): State<AppState>,
    address: ClientAddress,
    PageForm(form): PageForm<Credentials>,
) -> Result<Response, PageError> {
    let username = form.username.trim();
    let next = safe_next(form.next.as_deref());
    let refused = |status: StatusCode, error: &str| -> Result<Response, PageError> {
        let chrome = Chrome::consumer("Merchant login", None);
        let page = LoginPage { chrome, next, username: &form.username, error: Some(error) };
        Ok((status, render(&page)?).into_response())
    };
    let login = match logins::log_in(&state, username, &form.secret, address.0).await? {
        Ok(login) => login,
        Err(LoginRefused::WrongCredentials) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "That username and secret do not match a merchant of this kassa.",
            );
        }
        Err(LoginRefused::Throttled(refusal)) => {
            tracing::warn!(
                username,
                client = %address,
                by = refusal.by,
                retry_after_secs = refusal.retry_after_secs,
                "login refused unchecked: too many failed attempts"
            );
            let wait = refusal.retry_after_secs;
            let error = format!(
                "Too many failed login attempts. Wait {wait} second{} and try again.",
                if wait == 1 { "" } else { "s" }
            );
            let mut response = refused(StatusCode::TOO_MANY_REQUESTS, &error)?;
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return Ok(response);
        }
    };
    let secure = if state.config.public_url.starts_with("https://") { "; Secure" } else { "" };
    let max_age = state.config.login_lifetime.as_secs();
    let cookie = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}", login.token);
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| PageError::internal(e.to_string()))?;
    Ok(([(header::SET_COOKIE, cookie)], see_other(next)?).into_response())
}

/// Ends this browser's session on every node, and clears its cookie.
async fn log_out(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    if let Some(token) = cookie(&headers) {
        logins::log_out(&state, &token).await?;
    }
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/dashboard/sessions/hpp/1?x=1")), "/dashboard/sessions/hpp/1?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "dashboard",
            "/\t/evil.example",
            "/\r\n/x",
            "/ /x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/dashboard");
        }
    }
}

//! Merchant login for the clerk screen and the dashboard: the API credentials, typed once, give
//! a signed cookie. The cookie is keyed by the merchant's stored secret hash, so every node can
//! check it without shared server state, and new credentials log every browser out.

use super::{Chrome, PageError, PageForm, PageQuery, render, see_other};
use crate::app::state::AppState;
use crate::model::credentials;
use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, http::HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use kassa_store::Merchant;
use serde::Deserialize;
use sha2::Sha256;

const COOKIE: &str = "kassa_login";
const LIFETIME_SECS: u64 = 12 * 3600;

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
            Some(value) => verify(state, &value).await.map_err(|e| PageError::from(e).into_response())?,
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
}

/// Cookies expire in real time: the sandbox clock does not log anybody out.
fn wall_secs(state: &AppState) -> u64 {
    u64::try_from(state.wall_now().millis() / 1000).unwrap_or(0)
}

fn mac(merchant: &Merchant, expires: u64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(merchant.secret_hash.as_bytes()).expect("any key length");
    mac.update(format!("kassa-login\n{}\n{expires}", merchant.username).as_bytes());
    mac
}

/// `<username>.<expiry, Unix seconds>.<HMAC>`, username and HMAC in URL-safe base64 (no `.`).
fn issue(state: &AppState, merchant: &Merchant) -> String {
    let expires = wall_secs(state) + LIFETIME_SECS;
    let tag = mac(merchant, expires).finalize().into_bytes();
    format!("{}.{expires}.{}", URL_SAFE_NO_PAD.encode(&merchant.username), URL_SAFE_NO_PAD.encode(tag))
}

async fn verify(state: &AppState, value: &str) -> Result<Option<Merchant>, crate::service::error::ServiceError> {
    let mut parts = value.split('.');
    let (Some(user), Some(expires), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (Some(user), Ok(expires), Some(tag)) = (
        URL_SAFE_NO_PAD.decode(user).ok().and_then(|u| String::from_utf8(u).ok()),
        expires.parse::<u64>(),
        URL_SAFE_NO_PAD.decode(tag).ok(),
    ) else {
        return Ok(None);
    };
    if expires < wall_secs(state) {
        return Ok(None);
    }
    let Some(merchant) = state.store.merchant_by_username(&user).await? else { return Ok(None) };
    Ok(mac(&merchant, expires).verify_slice(&tag).is_ok().then_some(merchant))
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

async fn log_in(State(state): State<AppState>, PageForm(form): PageForm<Credentials>) -> Result<Response, PageError> {
    let merchant = state.store.merchant_by_username(form.username.trim()).await?;
    let next = safe_next(form.next.as_deref());
    let Some(merchant) = merchant.filter(|m| credentials::verify(m, &form.secret)) else {
        let chrome = Chrome::consumer("Merchant login", None);
        let error = Some("That username and secret do not match a merchant of this kassa.");
        let page = LoginPage { chrome, next, username: &form.username, error };
        return Ok((StatusCode::UNAUTHORIZED, render(&page)?).into_response());
    };
    let secure = if state.config.public_url.starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECS}{secure}",
        issue(&state, &merchant)
    );
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| PageError::internal(e.to_string()))?;
    Ok(([(header::SET_COOKIE, cookie)], see_other(next)?).into_response())
}

async fn log_out() -> Response {
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
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

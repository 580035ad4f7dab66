//! The merchant dashboard (merchant login): sessions of every kind with filters, a session's
//! timeline, its callback deliveries with every attempt and a redeliver button, the
//! distribution messages sent, its set-aside jobs (`jobs.rs`), the store QR codes, and the
//! sandbox clock. Lists and sessions update live.

use super::jobs::{JobRow, set_aside_rows};
use super::live::{self, Look, Shown};
use super::login::{Back, MerchantLogin, safe_next};
use super::store::{store_id, store_url};
use super::{Chrome, PageError, PageForm, PageQuery, render, see_other};
use crate::app::state::AppState;
use crate::model::payment::PaymentRecord;
use crate::service::error::ServiceError;
use crate::service::{clock, events, messages};
use crate::wire::kassa::DistributionMessage;
use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kassa_core::Timestamp;
use kassa_core::customer_token::CustomerToken;
use kassa_core::distribution::{Distribution, DistributionStatus};
use kassa_core::hpp::{HppSession, HppStatus};
use kassa_core::order::Order;
use kassa_core::payment::PaymentStatus;
use kassa_store::{
    DeliveryRecord, Merchant, SessionCursor, SessionFilter, SessionKind, SessionSummary, StoreExt, StoredEvent,
};
use serde::Deserialize;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard", get(sessions))
        .route("/dashboard/live", get(sessions_live))
        .route("/dashboard/sessions/{kind}/{id}", get(session))
        .route("/dashboard/sessions/{kind}/{id}/live", get(session_live))
        .route("/dashboard/events/{event_id}/redeliver", post(redeliver))
        .route("/dashboard/messages/{message_id}/retry", post(retry_message))
        .route("/dashboard/clock", post(advance_clock))
        .route("/dashboard/stores", get(stores))
}

const PAGE: u32 = 50;

fn fingerprint(value: impl Hash) -> String {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    kind: Option<String>,
    status: Option<String>,
    /// The previous page's last session (`<created_at ms>.<kind>.<id>`).
    after: Option<String>,
}

fn cursor_text(cursor: &SessionCursor) -> String {
    format!("{}.{}.{}", cursor.created_at.millis(), cursor.kind.as_str(), cursor.id)
}

fn parse_cursor(text: &str) -> Option<SessionCursor> {
    let mut parts = text.splitn(3, '.');
    let created_at = Timestamp::from_millis(parts.next()?.parse().ok()?);
    let kind = SessionKind::parse(parts.next()?)?;
    Some(SessionCursor { created_at, kind, id: parts.next()?.to_owned() })
}

impl ListQuery {
    fn filter(&self) -> Result<SessionFilter, PageError> {
        let kind = match self.kind.as_deref().filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => {
                Some(SessionKind::parse(k).ok_or_else(|| ServiceError::bad_value("kind", "unknown session kind"))?)
            }
        };
        let status = self.status.clone().filter(|s| !s.is_empty());
        let after = match self.after.as_deref().filter(|a| !a.is_empty()) {
            None => None,
            Some(text) => {
                Some(parse_cursor(text).ok_or_else(|| ServiceError::bad_value("after", "is not a page cursor"))?)
            }
        };
        Ok(SessionFilter { kind, status, after, limit: PAGE })
    }

    /// The query string of this filter (without the page cursor).
    fn filter_query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("kind", &self.kind), ("status", &self.status)] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(key, value);
            }
        }
        query.finish()
    }
}

/// Every status any kind of session can have, for the filter.
fn all_statuses() -> Vec<&'static str> {
    let mut all: Vec<&str> = HppStatus::ALL.iter().map(|s| s.as_str()).collect();
    all.extend(DistributionStatus::ALL.iter().map(|s| s.as_str()));
    all.extend(PaymentStatus::ALL.iter().map(|s| s.as_str()));
    all.sort_unstable();
    all.dedup();
    all
}

struct ClockPanel {
    now: String,
    ahead: String,
}

async fn clock_panel(state: &AppState, merchant: &Merchant) -> Option<ClockPanel> {
    let now = clock::now(state, merchant).await.ok()?;
    let secs = now.ahead_seconds;
    let ahead = match secs {
        0 => "in step with the wall clock".to_owned(),
        s => format!("{}h {:02}m ahead of the wall clock", s / 3600, (s % 3600) / 60),
    };
    Some(ClockPanel { now: now.now, ahead })
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct SessionsPage {
    chrome: Chrome,
    rows: Vec<SessionSummary>,
    kind: String,
    status: String,
    statuses: Vec<&'static str>,
    next_page: Option<String>,
    live_source: String,
    clock: Option<ClockPanel>,
    back_here: String,
}

fn rows_fingerprint(rows: &[SessionSummary]) -> String {
    fingerprint(rows.iter().map(|r| (&r.id, &r.status, r.updated_at.millis())).collect::<Vec<_>>())
}

async fn sessions(
    MerchantLogin { state, merchant }: MerchantLogin,
    PageQuery(query): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let filter = query.filter()?;
    let rows = state.store.merchant_sessions(&merchant.id, &filter).await?;
    let clock = clock_panel(&state, &merchant).await;
    let filters = query.filter_query();
    let next_page = rows.last().filter(|_| rows.len() == PAGE as usize).map(|last| {
        let mut next = url::form_urlencoded::Serializer::new(filters.clone());
        next.append_pair("after", &cursor_text(&last.cursor()));
        format!("/dashboard?{}", next.finish())
    });
    let mut live_query = url::form_urlencoded::Serializer::new(filters.clone());
    if let Some(after) = &query.after {
        live_query.append_pair("after", after);
    }
    live_query.append_pair("shown", &rows_fingerprint(&rows));
    let page = SessionsPage {
        chrome: Chrome::merchant("Sessions", &merchant),
        kind: query.kind.clone().unwrap_or_default(),
        status: query.status.clone().unwrap_or_default(),
        statuses: all_statuses(),
        next_page,
        live_source: format!("/dashboard/live?{}", live_query.finish()),
        clock,
        back_here: format!("/dashboard?{filters}"),
        rows,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct LiveQuery {
    #[serde(flatten)]
    list: ListQuery,
    shown: Option<String>,
}

async fn sessions_live(
    MerchantLogin { state, merchant }: MerchantLogin,
    PageQuery(query): PageQuery<LiveQuery>,
) -> Result<Response, PageError> {
    let filter = query.list.filter()?;
    let stream = live::follow(state, None, query.shown, move |state| {
        let (merchant_id, filter) = (merchant.id.clone(), filter.clone());
        async move {
            match state.store.merchant_sessions(&merchant_id, &filter).await {
                Ok(rows) => Look::Shows(rows_fingerprint(&rows)),
                Err(_) => Look::Gone,
            }
        }
    });
    Ok(stream.into_response())
}

/// A session of any kind, as its page heads it.
struct Heading {
    status: String,
    created_at: String,
    expires_at: Option<String>,
    /// Related pages: the payment session, its HPP sessions, the clerk screen …
    links: Vec<(String, String)>,
}

async fn heading(state: &AppState, merchant: &Merchant, kind: SessionKind, id: &str) -> Result<Heading, PageError> {
    let unknown = || PageError::not_found("No such session of this merchant.");
    let at = |t: Timestamp| t.to_string();
    let store = &state.store;
    let session_link = |kind: SessionKind, id: &str| format!("/dashboard/sessions/{}/{id}", kind.as_str());
    Ok(match kind {
        SessionKind::Payment => {
            let p = store.load::<PaymentRecord>(id).await?;
            let p = p.filter(|p| p.session.merchant_id == merchant.id).ok_or_else(unknown)?;
            let mut links = vec![];
            for hpp in store.load_children::<HppSession>(id).await? {
                links.push((
                    format!("HPP session {} ({})", hpp.id, hpp.status()),
                    session_link(SessionKind::Hpp, &hpp.id),
                ));
            }
            for order in store.load_children::<Order>(id).await? {
                links.push((
                    format!("Order {} ({})", order.klarna_reference.as_str(), order.status()),
                    format!("/dashboard/orders/{}", order.order_id),
                ));
            }
            if let Some(d) = store.load::<Distribution>(id).await? {
                links.push((
                    format!("In-store distribution ({})", d.status()),
                    session_link(SessionKind::Distribution, id),
                ));
            }
            let status = p.session.status().to_string();
            Heading { status, created_at: at(p.session.created_at), expires_at: Some(at(p.session.expires_at)), links }
        }
        SessionKind::Hpp => {
            let s = store.load::<HppSession>(id).await?;
            let s = s.filter(|s| s.merchant_id == merchant.id).ok_or_else(unknown)?;
            let links = vec![
                ("Payment session".to_owned(), session_link(SessionKind::Payment, &s.payment_session_id)),
                (
                    "Open the payment page as the consumer (moves it to IN_PROGRESS)".to_owned(),
                    format!("/hpp/payments/{id}"),
                ),
            ];
            Heading {
                status: s.status().to_string(),
                created_at: at(s.created_at),
                expires_at: Some(at(s.expires_at)),
                links,
            }
        }
        SessionKind::Distribution => {
            let d = store.load::<Distribution>(id).await?;
            let d = d.filter(|d| d.merchant_id == merchant.id).ok_or_else(unknown)?;
            let links = vec![
                ("Clerk screen".to_owned(), format!("/dashboard/distributions/{id}")),
                ("Payment session".to_owned(), session_link(SessionKind::Payment, id)),
            ];
            Heading { status: d.status().to_string(), created_at: at(d.created_at), expires_at: None, links }
        }
        SessionKind::Order => {
            let o = store.load::<Order>(id).await?;
            let o = o.filter(|o| o.merchant_id == merchant.id).ok_or_else(unknown)?;
            let links = vec![
                ("Order page (captures, refunds)".to_owned(), format!("/dashboard/orders/{id}")),
                ("Payment session".to_owned(), session_link(SessionKind::Payment, &o.payment_session_id)),
            ];
            let status = format!(
                "{} — {} {} authorized, {} captured in {} captures, {} refunded, {} remaining",
                o.status(),
                o.order_amount,
                o.purchase_currency,
                o.captured_amount(),
                o.captures.len(),
                o.refunded_amount(),
                o.remaining_authorized_amount()
            );
            Heading { status, created_at: at(o.created_at), expires_at: Some(at(o.expires_at)), links }
        }
        SessionKind::CustomerToken => {
            let t = store.load::<CustomerToken>(id).await?;
            let t = t.filter(|t| t.merchant_id == merchant.id).ok_or_else(unknown)?;
            let links = vec![("Payment session".to_owned(), session_link(SessionKind::Payment, &t.payment_session_id))];
            let status = format!("{} — {} ({} {})", t.status(), t.description, t.purchase_country, t.purchase_currency);
            Heading { status, created_at: at(t.created_at), expires_at: None, links }
        }
    })
}

struct TimelineEntry {
    seq: u64,
    status: String,
    at: String,
    body: String,
    event_id: String,
    /// The event's callbacks (one per target, and one per redelivery).
    deliveries: Vec<DeliveryRecord>,
}

/// What a session's page follows: its events (of this kind: a payment and its distribution share
/// an id) and their callbacks.
struct History {
    events: Vec<StoredEvent>,
    deliveries: Vec<DeliveryRecord>,
}

impl History {
    async fn load(state: &AppState, kind: SessionKind, id: &str) -> Result<Self, ServiceError> {
        let events: Vec<StoredEvent> =
            state.store.session_events(id).await?.into_iter().filter(|e| e.event.session_kind == kind).collect();
        let mut deliveries = state.store.session_deliveries(id).await?;
        deliveries.retain(|d| events.iter().any(|e| e.event.event_id == d.event_id));
        Ok(Self { events, deliveries })
    }

    /// Changes with every new event, delivery and attempt (what the page shows of them).
    fn fingerprint(&self) -> String {
        let deliveries: Vec<_> = self.deliveries.iter().map(|d| (&d.id, d.status.as_str(), d.attempts.len())).collect();
        fingerprint((self.events.iter().map(|e| e.event.seq).collect::<Vec<_>>(), deliveries))
    }

    /// Each event with its deliveries.
    fn timeline(self) -> Vec<TimelineEntry> {
        let deliveries = self.deliveries;
        self.events
            .into_iter()
            .map(|e| TimelineEntry {
                seq: e.event.seq,
                status: e.event.status.to_owned(),
                at: e.event.created_at.to_string(),
                body: serde_json::to_string_pretty(&e.event.body).unwrap_or_default(),
                deliveries: deliveries.iter().filter(|d| d.event_id == e.event.event_id).cloned().collect(),
                event_id: e.event.event_id,
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    chrome: Chrome,
    kind: String,
    id: String,
    heading: Heading,
    timeline: Vec<TimelineEntry>,
    /// Its distribution messages, each with how its delivery goes (as the API lists them).
    messages: Vec<DistributionMessage>,
    /// Its jobs that failed too often, with their errors.
    jobs: Vec<JobRow>,
    live_source: String,
    here: String,
}

fn kind(text: &str) -> Result<SessionKind, PageError> {
    SessionKind::parse(text).ok_or_else(|| PageError::not_found("No such kind of session."))
}

async fn session(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path((kind_text, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let kind = kind(&kind_text)?;
    let heading = heading(&state, &merchant, kind, &id).await?;
    let history = History::load(&state, kind, &id).await?;
    let messages = match kind {
        SessionKind::Hpp | SessionKind::Order => state.store.session_messages(&id).await?,
        _ => vec![],
    };
    let jobs = set_aside_rows(&state, &merchant, Some(&id)).await?;
    let here = format!("/dashboard/sessions/{kind_text}/{id}");
    let page = SessionPage {
        chrome: Chrome::merchant(format!("{} {id}", kind.as_str()), &merchant),
        kind: kind.as_str().to_owned(),
        live_source: format!("{here}/live?shown={}", history.fingerprint()),
        id,
        heading,
        timeline: history.timeline(),
        messages: messages.into_iter().map(messages::listing).collect(),
        jobs,
        here,
    };
    Ok(render(&page)?.into_response())
}

async fn session_live(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path((kind_text, id)): Path<(String, String)>,
    PageQuery(query): PageQuery<Shown>,
) -> Result<Response, PageError> {
    let kind = kind(&kind_text)?;
    heading(&state, &merchant, kind, &id).await?;
    let stream = live::follow(state, Some(id.clone()), query.shown, move |state| {
        let id = id.clone();
        async move {
            match History::load(&state, kind, &id).await {
                Ok(history) => Look::Shows(history.fingerprint()),
                Err(_) => Look::Gone,
            }
        }
    });
    Ok(stream.into_response())
}

async fn redeliver(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(event_id): Path<String>,
    PageForm(form): PageForm<Back>,
) -> Result<Response, PageError> {
    events::redeliver(&state, &merchant, &event_id).await?;
    form.go()
}

/// Sends a failed distribution message again, then back to the page the button was on.
async fn retry_message(
    MerchantLogin { state, merchant }: MerchantLogin,
    Path(message_id): Path<String>,
    PageForm(form): PageForm<Back>,
) -> Result<Response, PageError> {
    messages::retry(&state, &merchant, &message_id).await?;
    form.go()
}

#[derive(Deserialize)]
struct ClockForm {
    amount: i64,
    unit: String,
    back: Option<String>,
}

async fn advance_clock(
    MerchantLogin { state, merchant }: MerchantLogin,
    PageForm(form): PageForm<ClockForm>,
) -> Result<Response, PageError> {
    let unit = match form.unit.as_str() {
        "minutes" => 60,
        "hours" => 3600,
        "days" => 86_400,
        _ => return Err(ServiceError::bad_value("unit", "must be minutes, hours or days").into()),
    };
    clock::advance(&state, &merchant, form.amount.saturating_mul(unit)).await?;
    see_other(safe_next(form.back.as_deref()))
}

#[derive(Deserialize)]
struct StoreQuery {
    store: Option<String>,
}

struct StoreQr {
    name: String,
    url: String,
    qr: String,
}

#[derive(Template)]
#[template(path = "stores.html")]
struct StoresPage {
    chrome: Chrome,
    store: Option<StoreQr>,
}

/// A store's printable QR: the merchant types the `merchant_store_id` its POS sends.
async fn stores(
    MerchantLogin { state, merchant }: MerchantLogin,
    PageQuery(query): PageQuery<StoreQuery>,
) -> Result<Response, PageError> {
    let store = query.store.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).map(|name| StoreQr {
        url: store_url(&state, &merchant.id, &name),
        qr: format!("/stores/{}/qr", store_id(&merchant.id, &name)),
        name,
    });
    Ok(render(&StoresPage { chrome: Chrome::merchant("Stores", &merchant), store })?.into_response())
}

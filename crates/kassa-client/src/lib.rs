//! A typed async client for kassa: Klarna's Payments, Hosted Payment Page, in-store, Order
//! Management and customer-token APIs (so it works against Klarna's paths too), and kassa's own
//! events feed and stream, callback deliveries and sandbox controls.
//!
//! - Every call follows one set of retry rules ([`Retries`]): reads and Order Management writes
//!   (which carry a `Klarna-Idempotency-Key`) are sent again after any failure that may pass;
//!   other writes only when the server surely did nothing (no connection, 429).
//! - An error answer is Klarna's error body, typed: [`Error::Api`] with an [`ApiError`].
//! - [`webhooks::Webhook`] checks a status callback's Standard Webhooks signature.
//! - [`watcher::Watcher`] takes callbacks, falls back to the events stream when they stop,
//!   reconciles through the feed from a persisted cursor, and hands the application each event
//!   once, in per-session order.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), kassa_client::Error> {
//! # let kassa = kassa_testkit::spawn().await;
//! # let (url, username, secret) = (kassa.url.as_str(), kassa.merchant.username.as_str(), kassa.merchant.secret.as_str());
//! use kassa_client::payments::{Cart, OrderLine};
//! use kassa_client::hpp::{HppOptions, HppSessionRequest, HppStatus};
//! use kassa_client::sandbox::ConsumerAction;
//!
//! let client = kassa_client::Client::new(url, username, secret)?;
//! let cart = Cart {
//!     purchase_country: "SE".into(),
//!     purchase_currency: "SEK".into(),
//!     locale: Some("en-SE".into()),
//!     order_amount: 10000,
//!     order_tax_amount: 2000,
//!     order_lines: vec![OrderLine {
//!         name: "Bike bell".into(),
//!         quantity: 1,
//!         unit_price: 10000,
//!         tax_rate: 2500,
//!         total_amount: 10000,
//!         total_tax_amount: 2000,
//!         ..OrderLine::default()
//!     }],
//!     ..Cart::default()
//! };
//! let payment = client.payments().create_session(&cart).await?;
//! let hpp = client
//!     .hpp()
//!     .create_session(&HppSessionRequest {
//!         payment_session_url: client.payments().session_url(&payment.session_id),
//!         options: Some(HppOptions { place_order_mode: Some("NONE".into()), ..HppOptions::default() }),
//!         ..HppSessionRequest::default()
//!     })
//!     .await?;
//!
//! // Play the consumer (sandbox mode), then place the order with the authorization.
//! client.sandbox().hpp(&hpp.session_id, ConsumerAction::Open).await?;
//! let approved = client.sandbox().hpp(&hpp.session_id, ConsumerAction::Approve).await?;
//! assert_eq!(approved.session.status, HppStatus::Completed);
//! let token = approved.session.authorization_token.expect("an authorization token");
//! let order = client.payments().place_order(&token, &cart.clone().into()).await?;
//! assert_eq!(client.orders().read(&order.order_id).await?.captured_amount, 0);
//! # Ok(())
//! # }
//! ```

mod client;
pub mod error;
pub mod events;
pub mod hpp;
pub mod instore;
pub mod orders;
pub mod payments;
pub mod sandbox;
pub mod sse;
pub mod tokens;
pub mod watcher;
pub mod webhooks;

pub use client::{Client, ClientBuilder, IDEMPOTENCY_HEADER, Retries, segment as path_segment};
pub use error::{ApiError, Error};

impl Client {
    pub fn payments(&self) -> payments::Payments<'_> {
        payments::Payments(self)
    }

    pub fn hpp(&self) -> hpp::Hpp<'_> {
        hpp::Hpp(self)
    }

    pub fn instore(&self) -> instore::InStore<'_> {
        instore::InStore(self)
    }

    pub fn orders(&self) -> orders::Orders<'_> {
        orders::Orders { client: self, key: None }
    }

    pub fn tokens(&self) -> tokens::CustomerTokens<'_> {
        tokens::CustomerTokens(self)
    }

    pub fn events(&self) -> events::Events<'_> {
        events::Events(self)
    }

    pub fn sandbox(&self) -> sandbox::Sandbox<'_> {
        sandbox::Sandbox(self)
    }
}

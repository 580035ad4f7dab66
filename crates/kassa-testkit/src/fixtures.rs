//! The request bodies tests build on: a cart, the store-info attachment of a point of sale, an
//! in-store session request and an HPP session request.

use serde_json::{Value, json};

/// A payment session request: one bike in Sweden, 180.00 SEK with 30.00 tax and a 20.00 discount
/// (the OpenAPI document's example, so the tests and the document show the same purchase).
pub fn cart() -> Value {
    kassa_server::wire::examples::cart()
}

/// The store-info attachment a point of sale sends (reference §3.1).
pub fn store_info() -> Value {
    let body = json!({"in_store_payment": [{"store_info": {
        "merchant_store_id": "Example Shop", "store_terminal_id": "POS1232",
        "store_address": {"street_address": "drottninggatan", "street_number": "12", "postal_code": "23451",
                          "city": "Stockholm", "country": "SE"}}}]});
    json!({"content_type": "application/vnd.klarna.internal.emd-v2+json", "body": body.to_string()})
}

/// An in-store session request (reference §3.1) with `distribution`.
pub fn in_store(distribution: Value) -> Value {
    let mut body = cart();
    body["acquiring_channel"] = json!("in_store");
    body["merchant_reference1"] = json!("ON4711");
    body["attachment"] = store_info();
    body["distribution"] = distribution;
    body
}

/// An HPP session request hosting the payment session at `payment_session_url`.
pub fn hpp_session(payment_session_url: &str, options: Value, merchant_urls: Value) -> Value {
    json!({"payment_session_url": payment_session_url, "merchant_urls": merchant_urls, "options": options})
}

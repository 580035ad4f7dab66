//! The examples of the OpenAPI document: the README's purchase (a bike for 180 SEK), body by
//! body. schemathesis sends the request examples to a real server, so each must be one kassa
//! accepts (or answers as documented when the resource it names does not exist).

use serde_json::{Value, json};

/// The cart of a payment session (`POST /payments/v1/sessions`).
pub fn cart() -> Value {
    json!({
        "purchase_country": "SE",
        "purchase_currency": "SEK",
        "locale": "en-SE",
        "order_amount": 18000,
        "order_tax_amount": 3000,
        "order_lines": [{
            "type": "physical",
            "reference": "bike-1",
            "name": "Cool Bike",
            "quantity": 1,
            "unit_price": 20000,
            "tax_rate": 2000,
            "total_amount": 18000,
            "total_discount_amount": 2000,
            "total_tax_amount": 3000
        }],
        "merchant_reference1": "order-1001"
    })
}

/// An update of a payment session: only the keys that change.
pub fn session_update() -> Value {
    json!({ "merchant_reference2": "campaign-spring" })
}

/// Placing the order: the authorized cart again, captured later.
pub fn order_placement() -> Value {
    let mut order = cart();
    order["auto_capture"] = json!(false);
    order
}

/// An HPP session for a payment session (`POST /hpp/v1/sessions`).
pub fn hpp_session() -> Value {
    json!({
        "payment_session_url": "https://kassa.example/payments/v1/sessions/6f1fa7b0-0e4c-4c5b-9a7e-2f8e3c1d5b40",
        "merchant_urls": {
            "success": "https://shop.example/ok?sid={{session_id}}&token={{authorization_token}}",
            "cancel": "https://shop.example/cancelled",
            "failure": "https://shop.example/failed"
        },
        "options": { "place_order_mode": "NONE", "page_title": "Pay for your bike" }
    })
}

/// A capture of the whole order.
pub fn capture() -> Value {
    json!({
        "captured_amount": 18000,
        "description": "Shipped: the bike",
        "reference": "shipment-1",
        "order_lines": cart()["order_lines"]
    })
}

/// A partial refund.
pub fn refund() -> Value {
    json!({ "refunded_amount": 5000, "description": "A scratch on the frame", "reference": "return-1" })
}

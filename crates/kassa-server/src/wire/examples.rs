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

/// The answer to creating a payment session (one of its three categories shown).
pub fn merchant_session() -> Value {
    let badge = "https://kassa.example/assets/badges/klarna.svg";
    json!({
        "session_id": "6f1fa7b0-0e4c-4c5b-9a7e-2f8e3c1d5b40",
        "client_token": "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJrYXNzYSJ9.40dcdd3a636dc0633801959e1f1bad30",
        "payment_method_categories": [
            { "identifier": "pay_later", "name": "Pay later.", "asset_urls": { "descriptive": badge, "standard": badge } }
        ]
    })
}

/// The answer to creating an HPP session.
pub fn hpp_created() -> Value {
    let session = "https://kassa.example/hpp/v1/sessions/541e8e62-2333-453c-8013-28a2f421fd3c";
    let page = "https://kassa.example/hpp/payments/541e8e62-2333-453c-8013-28a2f421fd3c";
    json!({
        "session_id": "541e8e62-2333-453c-8013-28a2f421fd3c",
        "session_url": session,
        "redirect_url": page,
        "qr_code_url": format!("{page}/qr"),
        "distribution_url": format!("{session}/distribution"),
        "expires_at": "2026-12-04T04:00:50.893Z",
        "distribution_module": {
            "token": "6d6eb93f64f8b964ecf7100d8bb898fc",
            "standalone_url": "https://kassa.example/hpp/distributions/541e8e62-2333-453c-8013-28a2f421fd3c/6d6eb93f64f8b964ecf7100d8bb898fc",
            "generation_url": format!("{session}/distribution-module/token")
        },
        "manual_identification_check_url": format!("{session}/manual-id-check")
    })
}

/// An HPP session the consumer completed (`place_order_mode: NONE`: an authorization token).
pub fn hpp_completed() -> Value {
    json!({
        "session_id": "541e8e62-2333-453c-8013-28a2f421fd3c",
        "status": "COMPLETED",
        "updated_at": "2026-12-02T05:00:51.285Z",
        "expires_at": "2026-12-04T04:00:50.893Z",
        "authorization_token": "274af8c6-dded-4e23-b3b1-2d51fdc20dd3"
    })
}

/// The answer to placing an order.
pub fn order_created() -> Value {
    json!({
        "order_id": "36e0fded-1013-42aa-8900-6373d99439da",
        "fraud_status": "ACCEPTED",
        "authorized_payment_method": { "type": "invoice", "number_of_days": 30, "number_of_installments": 1 }
    })
}

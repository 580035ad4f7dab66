//! Every refusal answers with Klarna's error body and changes nothing.

use kassa_testkit::{TestApp, cart, read, spawn, spawn_in};
use reqwest::Method;
use serde_json::{Value, json};

/// Sends `request`, checks the error, and that the database is unchanged.
async fn refused(app: &TestApp, request: reqwest::RequestBuilder, status: u16, code: &str) -> String {
    let before = app.snapshot().await;
    let reply = read(request.send().await.unwrap()).await;
    reply.assert_error(status, code);
    assert_eq!(app.snapshot().await, before, "a refused request changed the database");
    reply.message()
}

/// Sends `request` (the test case `case`), checks that it is refused as a bad value of `field`
/// and that the database is unchanged.
async fn bad_value(app: &TestApp, request: reqwest::RequestBuilder, field: &str, case: impl std::fmt::Display) {
    let message = refused(app, request, 400, "BAD_VALUE").await;
    assert!(message.starts_with(&format!("Bad value: {field} |")), "{case}: {message}");
}

fn authed(app: &TestApp, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.api.request(method, path)
}

#[tokio::test]
async fn transport_level_errors() {
    let app = spawn().await;
    let hpp_path = "/hpp/v1/sessions";
    let json_header = ("content-type", "application/json");
    for malformed in ["{\"payment_session_url\":", "{} trailing", "[1,2]"] {
        let request = authed(&app, Method::POST, hpp_path).header(json_header.0, json_header.1).body(malformed);
        refused(&app, request, 400, "BAD_REQUEST").await;
    }
    let message = refused(
        &app,
        authed(&app, Method::POST, hpp_path).header("content-type", "text/plain").body("{}"),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    .await;
    assert!(message.contains("application/json"), "{message}");
    refused(&app, authed(&app, Method::POST, hpp_path).body("{}"), 415, "UNSUPPORTED_MEDIA_TYPE").await;
    refused(&app, authed(&app, Method::GET, "/no/such/route"), 404, "NOT_FOUND").await;
    refused(&app, authed(&app, Method::PUT, hpp_path), 405, "METHOD_NOT_ALLOWED").await;
    refused(&app, authed(&app, Method::PATCH, "/payments/v1/sessions/x"), 405, "METHOD_NOT_ALLOWED").await;
    let huge = format!("{{\"payment_session_url\":\"{}\"}}", "x".repeat(3 * 1024 * 1024));
    refused(
        &app,
        authed(&app, Method::POST, hpp_path).header(json_header.0, json_header.1).body(huge),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    .await;
}

#[tokio::test]
async fn authentication_failures() {
    let app = spawn().await;
    let url = format!("{}/payments/v1/sessions", app.url);
    let before = app.snapshot().await;
    for request in [
        app.client.post(&url).json(&cart()),
        app.client.post(&url).basic_auth(&app.merchant.username, Some("wrong-secret-wrong-secret")).json(&cart()),
        app.client.post(&url).basic_auth("nobody", Some(&app.merchant.secret)).json(&cart()),
        app.client.post(&url).bearer_auth(&app.merchant.secret).json(&cart()),
        app.client.post(&url).header("authorization", "Basic !!!not-base64").json(&cart()),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"kassa\"");
        let reply = read(response).await;
        reply.assert_error(401, "UNAUTHORIZED");
    }
    assert_eq!(app.snapshot().await, before);
}

/// A cart with one change applied at a JSON pointer (`None` removes the key).
fn cart_with(pointer: &str, value: Option<Value>) -> Value {
    let mut cart = cart();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = cart.pointer_mut(parent).unwrap();
    match (target, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(key.to_owned(), v);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        _ => unreachable!(),
    }
    cart
}

#[tokio::test]
async fn cart_validation_names_the_field() {
    let app = spawn().await;
    let cases = [
        ("/purchase_country", None, "purchase_country"),
        ("/purchase_country", Some(json!("SWE")), "purchase_country"),
        ("/purchase_currency", Some(json!("kr")), "purchase_currency"),
        ("/locale", Some(json!("en_SE")), "locale"),
        ("/order_amount", None, "order_amount"),
        ("/order_amount", Some(json!(17999)), "order_amount"),
        ("/order_amount", Some(json!("18000")), "order_amount"),
        ("/order_tax_amount", Some(json!(2000)), "order_tax_amount"),
        ("/order_lines", Some(json!([])), "order_lines"),
        ("/order_lines", None, "order_lines"),
        ("/order_lines/0/name", None, "order_lines[0].name"),
        ("/order_lines/0/quantity", Some(json!("one")), "order_lines[0].quantity"),
        ("/order_lines/0/quantity", Some(json!(-1)), "order_lines[0].quantity"),
        ("/order_lines/0/total_amount", Some(json!(20000)), "order_lines[0].total_amount"),
        ("/order_lines/0/total_tax_amount", Some(json!(2000)), "order_lines[0].total_tax_amount"),
        ("/order_lines/0/tax_rate", Some(json!(10001)), "order_lines[0].tax_rate"),
        ("/order_lines/0/unit_price", Some(json!(300_000_000)), "order_lines[0].unit_price"),
        ("/order_lines/0/total_discount_amount", Some(json!(-5)), "order_lines[0].total_discount_amount"),
        ("/order_lines/0/quantity_unit", Some(json!("centimetres")), "order_lines[0].quantity_unit"),
        ("/acquiring_channel", Some(json!("by_carrier_pigeon")), "acquiring_channel"),
        ("/intent", Some(json!("steal")), "intent"),
        ("/merchant_reference1", Some(json!("r".repeat(256))), "merchant_reference1"),
        // Klarna's schemas for the objects a session carries.
        ("/billing_address", Some(json!("x")), "billing_address"),
        ("/billing_address", Some(json!({"city": 7})), "billing_address.city"),
        ("/billing_address", Some(json!({"postal_code": "12345678901"})), "billing_address.postal_code"),
        ("/shipping_address", Some(json!({"country": "Sweden"})), "shipping_address.country"),
        ("/customer", Some(json!({"date_of_birth": "1978-13-01"})), "customer.date_of_birth"),
        ("/customer", Some(json!({"type": "robot"})), "customer.type"),
        ("/customer", Some(json!({"organization_entity_type": "GUILD"})), "customer.organization_entity_type"),
        ("/options", Some(json!({"color_text": "red"})), "options.color_text"),
        ("/attachment", Some(json!({"body": "{}"})), "attachment.content_type"),
        (
            "/order_lines/0/product_identifiers",
            Some(json!({"brand": "b".repeat(71)})),
            "order_lines[0].product_identifiers.brand",
        ),
        (
            "/order_lines/0/subscription",
            Some(json!({"name": "Monthly", "interval": "FORTNIGHT", "interval_count": 1})),
            "order_lines[0].subscription.interval",
        ),
        (
            "/order_lines/0/subscription",
            Some(json!({"name": "Monthly", "interval": "MONTH"})),
            "order_lines[0].subscription.interval_count",
        ),
    ];
    for (pointer, value, field) in cases {
        let request = authed(&app, Method::POST, "/payments/v1/sessions").json(&cart_with(pointer, value));
        bad_value(&app, request, field, pointer).await;
    }
}

#[tokio::test]
async fn hpp_create_refusals() {
    let app = spawn().await;
    let payment = app.payment_session().await;
    let kp_url = format!("{}/payments/v1/sessions/{payment}", app.url);
    let cases = [
        (json!({}), "payment_session_url"),
        (json!({"payment_session_url": "not a url"}), "payment_session_url"),
        (json!({"payment_session_url": "https://api.klarna.com/checkout/v3/orders/abc"}), "payment_session_url"),
        (json!({"payment_session_url": format!("{}/payments/v1/sessions/unknown", app.url)}), "payment_session_url"),
        (
            json!({"payment_session_url": kp_url, "options": {"payment_method_category": "PAY_LATER", "payment_method_categories": ["PAY_NOW"]}}),
            "options.payment_method_categories",
        ),
        (
            json!({"payment_session_url": kp_url, "options": {"payment_method_categories": ["PAY_BY_HUG"]}}),
            "options.payment_method_categories[0]",
        ),
        (
            json!({"payment_session_url": kp_url, "options": {"place_order_mode": "SOMETIMES"}}),
            "options.place_order_mode",
        ),
        (json!({"payment_session_url": kp_url, "options": {"purchase_type": "STEAL"}}), "options.purchase_type"),
        (json!({"payment_session_url": kp_url, "options": {"logo_url": "logo.png"}}), "options.logo_url"),
        (json!({"payment_session_url": kp_url, "merchant_urls": {"success": "/relative"}}), "merchant_urls.success"),
        (json!({"payment_session_url": kp_url, "merchant_urls": {"status_update": 42}}), "merchant_urls.status_update"),
        (
            json!({"payment_session_url": kp_url, "options": {"background_images": [{"url": "x", "width": 10}]}}),
            "options.background_images[0].url",
        ),
    ];
    for (body, field) in cases {
        bad_value(&app, authed(&app, Method::POST, "/hpp/v1/sessions").json(&body), field, &body).await;
    }
    // A completed payment session cannot be hosted again.
    let (hpp, payment, _) = app.hpp_session(json!({"place_order_mode": "PLACE_ORDER"}), json!({})).await;
    app.act(&hpp, "open").await;
    app.act(&hpp, "approve").await;
    let body = json!({"payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url)});
    refused(&app, authed(&app, Method::POST, "/hpp/v1/sessions").json(&body), 400, "BAD_VALUE").await;
}

#[tokio::test]
async fn distribution_refusals() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let path = format!("/hpp/v1/sessions/{hpp}/distribution");
    let cases = [
        (json!({"contact_information": {"email": "a@b.se"}}), "method"),
        (json!({"method": "pigeon", "contact_information": {"email": "a@b.se"}}), "method"),
        (json!({"method": "email"}), "contact_information"),
        (json!({"method": "email", "contact_information": {}}), "contact_information.email"),
        (json!({"method": "email", "contact_information": {"email": "not-an-email"}}), "contact_information.email"),
        (
            json!({"method": "sms", "contact_information": {"phone": "07000212345"}}),
            "contact_information.phone_country",
        ),
        (
            json!({"method": "sms", "contact_information": {"phone": "call me", "phone_country": "SE"}}),
            "contact_information.phone",
        ),
        (
            json!({"method": "sms", "contact_information": {"phone": "07000212345", "phone_country": "Sweden"}}),
            "contact_information.phone_country",
        ),
        (json!({"method": "token", "contact_information": {"email": "a@b.se"}}), "contact_information.access_id"),
        (json!({"method": "email", "contact_information": {"email": "a@b.se"}, "template": "SPAM"}), "template"),
    ];
    for (body, field) in cases {
        bad_value(&app, authed(&app, Method::POST, &path).json(&body), field, &body).await;
    }
    refused(
        &app,
        authed(&app, Method::POST, "/hpp/v1/sessions/unknown/distribution")
            .json(&json!({"method": "email", "contact_information": {"email": "a@b.se"}})),
        404,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn order_refusals() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    app.act(&hpp, "open").await;
    let token = app.act(&hpp, "approve").await.body["session"]["authorization_token"].as_str().unwrap().to_owned();
    let path = format!("/payments/v1/authorizations/{token}/order");
    refused(
        &app,
        authed(&app, Method::POST, "/payments/v1/authorizations/unknown/order").json(&cart()),
        404,
        "NOT_FOUND",
    )
    .await;
    let mut other_amount = cart();
    other_amount["order_amount"] = json!(9000);
    other_amount["order_tax_amount"] = json!(1500);
    other_amount["order_lines"][0]["unit_price"] = json!(11000);
    other_amount["order_lines"][0]["total_amount"] = json!(9000);
    other_amount["order_lines"][0]["total_tax_amount"] = json!(1500);
    let message = refused(&app, authed(&app, Method::POST, &path).json(&other_amount), 409, "BAD_VALUE").await;
    assert!(message.contains("order_amount"), "{message}");
    let mut other_currency = cart();
    other_currency["purchase_currency"] = json!("EUR");
    refused(&app, authed(&app, Method::POST, &path).json(&other_currency), 409, "BAD_VALUE").await;
    refused(&app, authed(&app, Method::POST, &path).json(&json!({"auto_capture": "yes"})), 400, "BAD_VALUE").await;
    // Expired after 60 minutes.
    app.state.sandbox_clock.as_ref().unwrap().advance(60 * 60 * 1000);
    refused(&app, authed(&app, Method::POST, &path).json(&cart()), 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn sandbox_refusals_and_production_mode() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    refused(&app, authed(&app, Method::POST, &format!("/sandbox/v1/hpp/sessions/{hpp}/disable")), 404, "NOT_FOUND")
        .await;
    refused(&app, authed(&app, Method::POST, &format!("/sandbox/v1/hpp/sessions/{hpp}/teleport")), 404, "NOT_FOUND")
        .await;
    refused(&app, authed(&app, Method::POST, "/sandbox/v1/hpp/sessions/unknown/open"), 404, "NOT_FOUND").await;

    let production = spawn_in(kassa_server::Mode::Production).await;
    let (hpp, _, _) = production.hpp_session(json!({}), json!({})).await;
    refused(
        &production,
        authed(&production, Method::POST, &format!("/sandbox/v1/hpp/sessions/{hpp}/open")),
        404,
        "NOT_FOUND",
    )
    .await;
    let doc = production.get("/openapi.json").await.body;
    assert!(doc["paths"].as_object().unwrap().keys().all(|p| !p.starts_with("/sandbox")));
}

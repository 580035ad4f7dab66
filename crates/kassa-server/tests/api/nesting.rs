//! JSON nested deeper than kassa reads is refused where it arrives, and a stored record of any
//! depth (as an older kassa could have stored one) never turns a read into a server error.

use crate::pages::{login_cookie, merchant_page};
use kassa_testkit::{TestApp, cart, spawn};
use reqwest::Method;
use serde_json::{Value, json};

/// `levels` nested arrays around a 1, as JSON text.
fn nested(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
}

/// `body` (an object) with `field` set to `levels` nested arrays, as JSON text.
fn with_deep(body: Value, field: &str, levels: usize) -> String {
    let text = body.to_string();
    format!(r#"{{"{field}":{},{}"#, nested(levels), &text[1..])
}

async fn post_raw(app: &TestApp, path: &str, body: String) -> kassa_testkit::Reply {
    let request = app.api.request(Method::POST, path).header("content-type", "application/json").body(body);
    kassa_testkit::read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_body_nested_deeper_than_64_levels_is_a_bad_value_naming_its_field() {
    let app = spawn().await;
    let before = app.snapshot().await;
    for field in ["options", "customer", "merchant_urls", "billing_address", "anything_else"] {
        for levels in [65, 126, 10_000] {
            let reply = post_raw(&app, "/payments/v1/sessions", with_deep(cart(), field, levels)).await;
            reply.assert_error(400, "BAD_VALUE");
            let message = reply.message();
            assert!(message.starts_with(&format!("Bad value: {field} |")), "{field} x{levels}: {message}");
            assert!(message.contains("deeper than 64 levels"), "{message}");
        }
    }
    let reply = post_raw(&app, "/payments/v1/sessions", nested(200)).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(app.snapshot().await, before, "nothing was stored");
    // 64 levels is within the limit: refused for its meaning if at all, never for its depth.
    let reply = post_raw(&app, "/payments/v1/sessions", with_deep(cart(), "anything_else", 63)).await;
    assert!(!reply.message().contains("deeper than"), "{:?}", reply.body);
}

#[tokio::test]
async fn a_stored_record_nested_past_the_parser_default_stays_readable_and_usable() {
    let app = spawn().await;
    let payment = app.api.payment_session().await;
    // As an older kassa stored it: a free-form value nested 126 levels, inside the record's own
    // nesting (past serde_json's default limit of 128).
    let deep = format!(r#"{{"kept_from_an_older_version":{},"#, nested(126));
    let changed = app
        .execute(&format!(
            "UPDATE sessions SET state = '{deep}' || substr(state, 2) WHERE kind = 'payment' AND id = '{payment}'"
        ))
        .await;
    assert_eq!(changed, 1);
    let path = format!("/payments/v1/sessions/{payment}");
    let read = app.api.get(&path).await.assert_success().body;
    assert_eq!(read["status"], "incomplete", "{read}");
    app.api.post(&path, json!({"purchase_country": "SE"})).await.assert_success();
    let hpp = app
        .api
        .post(
            "/hpp/v1/sessions",
            kassa_testkit::fixtures::hpp_session(&format!("{}{path}", app.url), json!({}), json!({})),
        )
        .await;
    let hpp = hpp.assert_success().body;
    let hpp_id = hpp["session_id"].as_str().unwrap();
    let page = app.client.get(hpp["redirect_url"].as_str().unwrap()).send().await.unwrap();
    assert!(page.status().is_success(), "the payment page: {}", page.status());
    app.api.act(hpp_id, "approve").await.assert_success();
    let cookie = login_cookie(&app, &app.merchant).await;
    for page in [
        format!("/dashboard/sessions/payment/{payment}"),
        format!("/dashboard/sessions/hpp/{hpp_id}"),
        "/dashboard".into(),
    ] {
        let shown = merchant_page(&app, &cookie, &page).await;
        assert_eq!(shown.status, 200, "{page}");
    }
    let other = app.api.payment_session().await;
    app.execute(&format!(
        "UPDATE sessions SET state = '{deep}' || substr(state, 2) WHERE kind = 'payment' AND id = '{other}'"
    ))
    .await;
    app.api.request(Method::DELETE, &format!("/payments/v1/sessions/{other}")).send().await.unwrap();
    let read = app.api.get(&format!("/payments/v1/sessions/{other}")).await;
    assert_ne!(read.status, 500, "{:?}", read.body);
}

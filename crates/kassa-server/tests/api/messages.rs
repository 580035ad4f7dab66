//! Distribution messages are sent, not only recorded: committed with the distribution, sent by
//! the message worker with the deployment's sender (here an SMS gateway: a real local receiver),
//! retried after a failure that may pass, failed at once on a refusal and after the last attempt,
//! each outcome in the messages listing. The server's clock stands still (`spawn_frozen`): a
//! retry is due only once the test moves the clock past its back-off.

use crate::pages::{login_cookie, merchant_page};
use kassa_server::Mode;
use kassa_server::app::messaging::{GatewaySettings, SmsSender};
use kassa_testkit::{Answer, PATIENCE, Receiver, TestApp, eventually, spawn, spawn_frozen, unlimited};
use serde_json::{Value, json};

const TEMPLATE: &str =
    r#"{"to": "{{to}}", "country": "{{country}}", "text": "{{body}}", "reference": "kassa-{{message_id}}"}"#;

/// A server in sandbox mode on a frozen clock whose SMS go to `gateway` (bearer `token`), each
/// message sent at most `attempts` times.
async fn with_gateway(gateway: &Receiver, attempts: u32) -> TestApp {
    let gateway =
        GatewaySettings::new(&format!("{}/sms", gateway.url), Some("bearer:gateway-token"), TEMPLATE).unwrap();
    spawn_frozen(Mode::Sandbox, |config| {
        unlimited(config);
        config.messaging.sms = SmsSender::Http(gateway);
        config.messaging.attempts = attempts;
    })
    .await
}

async fn send_sms(app: &TestApp, hpp: &str, phone: &str) {
    let body = json!({"method": "sms", "contact_information": {"phone": phone, "phone_country": "se"}});
    let reply = app.post(&format!("/hpp/v1/sessions/{hpp}/distribution"), body).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
}

/// The session's messages once the `index`th is `status` with `attempts` sends made.
async fn listed_when(app: &TestApp, hpp: &str, index: usize, status: &str, attempts: u64) -> Vec<Value> {
    eventually(format!("message {index} {status} after {attempts} send(s)"), PATIENCE, || async {
        let listed = app.get(&format!("/kassa/v1/hpp/sessions/{hpp}/messages")).await.assert_success();
        let messages = listed.body["messages"].as_array().unwrap().clone();
        match messages.get(index) {
            Some(m) if m["status"] == status && m["attempts"] == attempts => Ok(messages),
            _ => Err(Value::Array(messages)),
        }
    })
    .await
}

#[tokio::test]
async fn an_sms_goes_to_the_gateway_as_templated_and_is_sent_again_after_a_server_error() {
    let gateway = Receiver::start().await;
    gateway.script([Answer::status(503)]);
    let app = with_gateway(&gateway, 10).await;
    let (hpp, _, created) = app.hpp_session(json!({"page_title": "Bikes \"R\" us"}), json!({})).await;
    send_sms(&app, &hpp, "+46701740615").await;

    let [first] = gateway.wait_for(1, PATIENCE).await.try_into().unwrap();
    assert_eq!((first.method.as_str(), first.uri.path()), ("POST", "/sms"));
    assert_eq!(first.header("authorization"), "Bearer gateway-token");
    assert_eq!(first.header("content-type"), "application/json");
    let body = first.json();
    let link = created["redirect_url"].as_str().unwrap();
    let listed = listed_when(&app, &hpp, 0, "pending", 1).await;
    let message = &listed[0];
    assert_eq!(
        body,
        json!({"to": "+46701740615", "country": "SE", "text": format!("Bikes \"R\" us: {link}"),
               "reference": format!("kassa-{}", message["id"].as_str().unwrap())}),
        "the template, filled (the quotes of the title escaped as JSON)"
    );
    // The failure is visible: its error, and the next send 5 s after the first.
    assert_eq!(message["recipient"], "+46701740615 (SE)", "the recipient as the listing always showed it");
    assert_eq!(message["last_error"], "HTTP 503: receiver says no");
    let created_at = message["created_at"].as_str().unwrap();
    assert_eq!(message["next_attempt_at"], shifted(created_at, 5_000), "{message}");
    assert!(message.get("sent_at").is_none(), "{message}");

    app.advance(5);
    gateway.wait_for(2, PATIENCE).await;
    let listed = listed_when(&app, &hpp, 0, "sent", 2).await;
    let message = &listed[0];
    assert_eq!(message["last_error"], "HTTP 503: receiver says no", "the failure of the first send is kept");
    assert!(message.get("next_attempt_at").is_none() && message["sent_at"].is_string(), "{message}");
    assert_eq!(gateway.received()[1].json(), body, "the same message again");
}

#[tokio::test]
async fn a_refusal_fails_a_message_at_once_and_the_last_attempt_fails_it_too() {
    let gateway = Receiver::start().await;
    gateway.script([Answer::status(400)]);
    gateway.answer_always(Answer::status(500));
    let app = with_gateway(&gateway, 2).await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;

    // 400: the gateway refused this message; sending it again cannot help.
    send_sms(&app, &hpp, "+46700000000").await;
    let listed = listed_when(&app, &hpp, 0, "failed", 1).await;
    assert_eq!(listed[0]["last_error"], "HTTP 400: receiver says no", "{}", listed[0]);
    assert!(listed[0].get("next_attempt_at").is_none() && listed[0].get("sent_at").is_none(), "{}", listed[0]);

    // 500 may pass: sent again once, then failed with its second (last) attempt.
    send_sms(&app, &hpp, "+46701740615").await;
    listed_when(&app, &hpp, 1, "pending", 1).await;
    app.advance(5);
    let listed = listed_when(&app, &hpp, 1, "failed", 2).await;
    assert_eq!(listed[1]["last_error"], "HTTP 500: receiver says no", "{}", listed[1]);
    assert_eq!(gateway.count(), 3, "each send once: nothing is sent for a failed message");

    // The session's dashboard page shows each message's outcome.
    let cookie = login_cookie(&app, &app.merchant).await;
    let page = merchant_page(&app, &cookie, &format!("/dashboard/sessions/hpp/{hpp}")).await;
    assert_eq!(page.html.matches(r#"data-message-status="failed""#).count(), 2, "{}", page.html);
    assert!(page.html.contains("Last error: HTTP 400: receiver says no"), "{}", page.html);
    assert!(page.html.contains("2 attempt(s)"), "{}", page.html);
}

#[tokio::test]
async fn recorded_messages_are_marked_sent_at_once() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let email = json!({"method": "email", "contact_information": {"email": "customer@email.se"}});
    assert_eq!(app.post(&format!("/hpp/v1/sessions/{hpp}/distribution"), email).await.status, 204);
    let listed = listed_when(&app, &hpp, 0, "sent", 1).await;
    assert!(listed[0]["sent_at"].is_string() && listed[0].get("last_error").is_none(), "{}", listed[0]);
}

/// The RFC 3339 time `millis` after `at`, as kassa writes times.
fn shifted(at: &str, millis: i64) -> String {
    let parsed = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap();
    let later = parsed + time::Duration::milliseconds(millis);
    kassa_core::Timestamp::from_millis((later.unix_timestamp_nanos() / 1_000_000) as i64).to_string()
}

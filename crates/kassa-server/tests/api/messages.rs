//! Distribution messages are sent, not only recorded: committed with the distribution, sent by
//! the message worker with the deployment's sender (here an SMS gateway: a real local receiver),
//! retried after a failure that may pass, failed at once on a refusal and after the last attempt,
//! each outcome in the messages listing; a failed one is sent again when the operator retries it
//! (API or dashboard button). The server's clock stands still (`spawn_frozen`): a retry is due
//! only once the test moves the clock past its back-off.

use crate::pages::{browser, fetch, login_cookie, merchant_page};
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

/// 401 and 403 refuse kassa's credentials, not the message: it waits, pending, for the operator
/// to mend them, and goes out once the gateway takes it.
#[tokio::test]
async fn a_gateway_refusing_kassas_credentials_keeps_the_message_pending() {
    let gateway = Receiver::start().await;
    gateway.script([Answer::status(401), Answer::status(403)]);
    let app = with_gateway(&gateway, 10).await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    send_sms(&app, &hpp, "+46701740615").await;
    let listed = listed_when(&app, &hpp, 0, "pending", 1).await;
    assert_eq!(listed[0]["last_error"], "HTTP 401: receiver says no", "{}", listed[0]);
    app.advance(5);
    let listed = listed_when(&app, &hpp, 0, "pending", 2).await;
    assert_eq!(listed[0]["last_error"], "HTTP 403: receiver says no", "{}", listed[0]);
    app.advance(10);
    listed_when(&app, &hpp, 0, "sent", 3).await;
    assert_eq!(gateway.count(), 3);
}

/// The operator sends a failed message again (API or dashboard): pending, due now, a fresh set of
/// attempts, its last error kept until the next send; it goes out once the cause is gone. Only a
/// failed message of the merchant's own can be retried.
#[tokio::test]
async fn a_failed_message_goes_out_when_the_operator_retries_it() {
    let gateway = Receiver::start().await;
    gateway.script([Answer::status(400), Answer::status(400)]);
    let app = with_gateway(&gateway, 2).await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    send_sms(&app, &hpp, "+46701740615").await;
    send_sms(&app, &hpp, "+46701740616").await;
    listed_when(&app, &hpp, 1, "failed", 1).await;
    let listed = listed_when(&app, &hpp, 0, "failed", 1).await;
    let (by_api, by_page) =
        (listed[0]["id"].as_str().unwrap().to_owned(), listed[1]["id"].as_str().unwrap().to_owned());
    let path = |id: &str| format!("/kassa/v1/messages/{id}/retry");

    // Refusals change nothing: no such message, another merchant's.
    app.post(&path("no-such-message"), json!({})).await.assert_error(404, "NOT_FOUND");
    let other = app.call_as(&app.other, reqwest::Method::POST, &path(&by_api), None).await;
    other.assert_error(404, "NOT_FOUND");
    assert_eq!(gateway.count(), 2);

    // By the API: answered as it now stands, then sent (the gateway takes it now).
    let retried = app.post(&path(&by_api), json!({})).await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    let body = &retried.body;
    assert_eq!(
        (body["id"].as_str(), body["status"].as_str(), body["attempts"].as_u64()),
        (Some(by_api.as_str()), Some("pending"), Some(0))
    );
    assert_eq!(body["last_error"], "HTTP 400: receiver says no", "{body}");
    let listed = listed_when(&app, &hpp, 0, "sent", 1).await;
    assert!(listed[0]["sent_at"].is_string(), "{}", listed[0]);
    // A message that has not failed cannot be retried.
    let again = app.post(&path(&by_api), json!({})).await;
    let refusal = again.assert_error(409, "INVALID_OPERATION");
    assert!(refusal["error_messages"][0].as_str().unwrap().contains("this one is sent"), "{refusal}");

    // From the dashboard: the failed message has a button; a forged form changes nothing.
    let cookie = login_cookie(&app, &app.merchant).await;
    let here = format!("/dashboard/sessions/hpp/{hpp}");
    let page = merchant_page(&app, &cookie, &here).await;
    let action = format!("/dashboard/messages/{by_page}/retry");
    assert!(
        page.html.contains(&action) && !page.html.contains(&format!("/dashboard/messages/{by_api}/retry")),
        "{}",
        page.html
    );
    let retry_url = format!("{}{action}", app.url);
    let form = |site: &'static str| {
        browser()
            .post(&retry_url)
            .header("cookie", &cookie)
            .header("sec-fetch-site", site)
            .form(&[("back", here.as_str())])
    };
    assert_eq!(form("cross-site").send().await.unwrap().status(), reqwest::StatusCode::FORBIDDEN);
    assert_eq!(gateway.count(), 3, "a forged form sends nothing");
    let pressed = fetch(form("same-origin")).await;
    assert_eq!((pressed.status, pressed.location.as_deref()), (reqwest::StatusCode::SEE_OTHER, Some(here.as_str())));
    listed_when(&app, &hpp, 1, "sent", 1).await;
    assert_eq!(gateway.count(), 4, "each retried message sent once");
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

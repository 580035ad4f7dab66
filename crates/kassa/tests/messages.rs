//! Distribution messages leave `kassa serve` for real servers: email for aiosmtpd (a real SMTP
//! server from PyPI, with AUTH and without TLS), SMS for a local HTTP gateway (a real receiver).
//! With the SMTP server down an email is retried, the failure visible in the API, and arrives once
//! the server is back; a kill between the commit and the send loses nothing and sends nothing
//! twice; an order's send-out email goes the same way. Each scenario runs on SQLite and on
//! PostgreSQL.

use kassa_store::testing::TestDatabase;
use kassa_testkit::{Client, PATIENCE, Receiver, eventually};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

mod support;

use support::smtp::{self, Mailbox, SmtpServer};
use support::{DatabaseFile, Server};

const AUTH: (&str, &str) = ("messages", "messages-secret-0123456789");
const FROM: &str = "kassa <noreply@kassa.test>";
const TEMPLATE: &str =
    r#"{"destination": "{{to}}", "country": "{{country}}", "message": {"text": "{{body}}"}, "ref": "{{message_id}}"}"#;

/// Each scenario as two tests: `sqlite_<name>` on a SQLite file, `postgres_<name>` on a fresh
/// PostgreSQL database (skipped loudly when it is unreachable, failed with
/// `KASSA_REQUIRE_POSTGRES=1`, as scripts/test sets it when PostgreSQL answers).
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let database = super::DatabaseFile::new();
                    super::$scenario(&database.url).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let Some(database) = super::TestDatabase::postgres().await else { return };
                    super::$scenario(&database.url).await;
                }
            )+
        }
    };
}

on_both_backends!(
    an_email_and_an_sms_arrive_at_their_servers,
    an_email_is_retried_while_the_smtp_server_is_down_and_arrives_once_it_is_back,
    a_message_committed_before_a_kill_is_sent_after_the_restart_exactly_once,
    an_orders_send_out_email_goes_the_same_way,
    an_email_refused_for_a_wrong_smtp_login_waits_and_arrives_once_the_login_is_mended,
);

/// `kassa serve` on `database`, sending email to the SMTP server on `smtp_port` and SMS to
/// `gateway`.
fn serve(database: &str, smtp_port: u16, gateway: &Receiver) -> Server {
    serve_with_smtp(database, &smtp::url(smtp_port), gateway)
}

/// [`serve`], logging in to the SMTP server with `smtp_url`.
fn serve_with_smtp(database: &str, smtp_url: &str, gateway: &Receiver) -> Server {
    let credentials = format!("{}:{}", AUTH.0, AUTH.1);
    let gateway_url = format!("{}/sms/send", gateway.url);
    support::serve(
        database,
        &[
            "--rate-limits",
            "off",
            "--sandbox-credentials",
            &credentials,
            "--email-sender",
            "smtp",
            "--smtp-url",
            smtp_url,
            "--smtp-from",
            FROM,
            "--sms-sender",
            "http",
            "--sms-gateway-url",
            &gateway_url,
            "--sms-gateway-auth",
            "bearer:gateway-token-42",
            "--sms-gateway-template",
            TEMPLATE,
        ],
    )
}

async fn distribute(api: &Client, hpp: &str, body: Value) {
    let reply = api.post(&format!("/hpp/v1/sessions/{hpp}/distribution"), body).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
}

fn by_email(address: &str) -> Value {
    json!({"method": "email", "contact_information": {"email": address}})
}

/// The messages of `path` (`/kassa/v1/hpp/sessions/{id}/messages` …) once the first one is
/// `status` with at least `attempts` sends made.
async fn first_message_when(api: &Client, path: &str, status: &str, attempts: u64, within: Duration) -> Value {
    eventually(format!("the first message of {path} {status} after {attempts}+ send(s)"), within, || async {
        let listed = api.get(path).await.assert_success().body;
        match listed["messages"].get(0) {
            Some(m) if m["status"] == status && m["attempts"].as_u64().unwrap() >= attempts => Ok(m.clone()),
            _ => Err(listed),
        }
    })
    .await
}

async fn emails(mailbox: &Mailbox, count: usize, within: Duration) -> Vec<Value> {
    eventually(format!("{count} email(s) at the SMTP server"), within, || async {
        let received = mailbox.received();
        if received.len() >= count { Ok(received) } else { Err(format!("{} arrived", received.len())) }
    })
    .await
}

fn messages_path(hpp: &str) -> String {
    format!("/kassa/v1/hpp/sessions/{hpp}/messages")
}

async fn an_email_and_an_sms_arrive_at_their_servers(database: &str) {
    let (mailbox, port, gateway) = (Mailbox::new(), smtp::free_port(), Receiver::start().await);
    let _smtp = SmtpServer::start(port, &mailbox);
    let server = serve(database, port, &gateway);
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("email via SMTP smtp://127.0.0.1") && l.contains("SMS via the gateway")),
        "{:#?}",
        server.banner
    );
    let api = server.client(AUTH);
    let (hpp, _, created) = api.hpp_session(json!({"page_title": "Your bike from Velo"}), json!({})).await;
    let link = created["redirect_url"].as_str().unwrap();

    distribute(&api, &hpp, by_email("customer@example.com")).await;
    let [email] = emails(&mailbox, 1, PATIENCE).await.try_into().unwrap();
    assert_eq!(email["auth"], json!({"mechanism": email["auth"]["mechanism"], "login": smtp::USER}), "{email}");
    assert!(["PLAIN", "LOGIN"].contains(&email["auth"]["mechanism"].as_str().unwrap()), "{email}");
    assert_eq!(
        (email["mail_from"].as_str(), email["rcpt_tos"].clone()),
        (Some("noreply@kassa.test"), json!(["customer@example.com"]))
    );
    assert_eq!(email["from"], FROM);
    assert_eq!(email["to"], "customer@example.com");
    assert_eq!(email["subject"], "Your bike from Velo");
    let body = email["body"].as_str().unwrap();
    assert!(body.contains("Your bike from Velo") && body.contains(link), "{body}");
    let sent = first_message_when(&api, &messages_path(&hpp), "sent", 1, PATIENCE).await;
    assert_eq!(email["message_id"], format!("<{}@kassa.test>", sent["id"].as_str().unwrap()), "{sent}");
    assert_eq!(sent["attempts"], 1, "{sent}");

    let sms = json!({"method": "sms", "contact_information": {"phone": "+46701740615", "phone_country": "SE"}});
    distribute(&api, &hpp, sms).await;
    let [request] = gateway.wait_for(1, PATIENCE).await.try_into().unwrap();
    assert_eq!((request.method.as_str(), request.uri.path()), ("POST", "/sms/send"));
    assert_eq!(request.header("authorization"), "Bearer gateway-token-42");
    let listed = eventually("the SMS sent", PATIENCE, || async {
        let listed = api.get(&messages_path(&hpp)).await.assert_success().body;
        if listed["messages"][1]["status"] == "sent" { Ok(listed) } else { Err(listed) }
    })
    .await;
    let message = &listed["messages"][1];
    assert_eq!(
        request.json(),
        json!({"destination": "+46701740615", "country": "SE", "message": {"text": format!("Your bike from Velo: {link}")},
               "ref": message["id"]}),
        "the template, filled"
    );
    assert_eq!(mailbox.received().len(), 1, "the SMS went to the gateway only");
}

async fn an_email_is_retried_while_the_smtp_server_is_down_and_arrives_once_it_is_back(database: &str) {
    let (mailbox, port, gateway) = (Mailbox::new(), smtp::free_port(), Receiver::start().await);
    let server = serve(database, port, &gateway);
    let api = server.client(AUTH);
    let (hpp, _, _) = api.hpp_session(json!({}), json!({})).await;
    distribute(&api, &hpp, by_email("customer@example.com")).await;

    // Nothing listens on the port: the send failed, and says why; the message waits for a retry.
    let waiting = first_message_when(&api, &messages_path(&hpp), "pending", 1, PATIENCE).await;
    let error = waiting["last_error"].as_str().unwrap_or_else(|| panic!("the failure in the listing: {waiting}"));
    assert!(error.to_lowercase().contains("connect"), "{error}");
    assert!(waiting["next_attempt_at"].is_string() && waiting.get("sent_at").is_none(), "{waiting}");

    // Back: the next retry (5 s after the first failure) gets through.
    let _smtp = SmtpServer::start(port, &mailbox);
    let [email] = emails(&mailbox, 1, PATIENCE).await.try_into().unwrap();
    assert_eq!(email["to"], "customer@example.com");
    let sent = first_message_when(&api, &messages_path(&hpp), "sent", 2, PATIENCE).await;
    assert_eq!(sent["last_error"], error, "the failure stays visible: {sent}");
    assert!(sent["sent_at"].is_string() && sent.get("next_attempt_at").is_none(), "{sent}");
    // Sent is final: nothing more is ever sent for it, so what the server has is all it gets.
    assert_eq!(mailbox.received().len(), 1);
}

/// The SMTP server refuses kassa's login (535): that is about every message alike, not this one,
/// so the email waits, pending, with the refusal in the listing; kassa restarted with the right
/// password sends it.
async fn an_email_refused_for_a_wrong_smtp_login_waits_and_arrives_once_the_login_is_mended(database: &str) {
    let (mailbox, port, gateway) = (Mailbox::new(), smtp::free_port(), Receiver::start().await);
    let _smtp = SmtpServer::start(port, &mailbox);
    let wrong = format!("smtp://{}:not-the-password@127.0.0.1:{port}", smtp::USER);
    let mut first = serve_with_smtp(database, &wrong, &gateway);
    let api = first.client(AUTH);
    let (hpp, _, _) = api.hpp_session(json!({}), json!({})).await;
    distribute(&api, &hpp, by_email("customer@example.com")).await;
    let waiting = first_message_when(&api, &messages_path(&hpp), "pending", 1, PATIENCE).await;
    let error = waiting["last_error"].as_str().unwrap_or_else(|| panic!("the refusal in the listing: {waiting}"));
    assert!(error.contains("535"), "{error}");
    assert!(mailbox.received().is_empty());
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let second = serve(database, port, &gateway);
    let api = second.client(AUTH);
    let [email] = emails(&mailbox, 1, Duration::from_secs(45)).await.try_into().unwrap();
    assert_eq!(
        (email["to"].as_str(), email["auth"]["login"].as_str()),
        (Some("customer@example.com"), Some(smtp::USER))
    );
    let sent = first_message_when(&api, &messages_path(&hpp), "sent", 1, PATIENCE).await;
    assert_eq!(sent["last_error"], error, "{sent}");
}

async fn a_message_committed_before_a_kill_is_sent_after_the_restart_exactly_once(database: &str) {
    let (mailbox, port, gateway) = (Mailbox::new(), smtp::free_port(), Receiver::start().await);
    let mut first = serve(database, port, &gateway);
    let api = first.client(AUTH);
    let (hpp, _, _) = api.hpp_session(json!({}), json!({})).await;
    // The SMTP server is down, so the message cannot have left: acknowledged (committed), then
    // kassa is killed at once.
    distribute(&api, &hpp, by_email("customer@example.com")).await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let _smtp = SmtpServer::start(port, &mailbox);
    let second = serve(database, port, &gateway);
    let api = second.client(AUTH);
    // A claim the killed process held ends with its lease (send timeout + 10 s) on PostgreSQL; a
    // SQLite process gives every claim back when it starts.
    let sent = first_message_when(&api, &messages_path(&hpp), "sent", 1, Duration::from_secs(45)).await;
    let received = mailbox.received();
    assert_eq!(received.len(), 1, "exactly once: {received:#?}");
    assert_eq!(received[0]["message_id"], format!("<{}@kassa.test>", sent["id"].as_str().unwrap()));
}

async fn an_orders_send_out_email_goes_the_same_way(database: &str) {
    let (mailbox, port, gateway) = (Mailbox::new(), smtp::free_port(), Receiver::start().await);
    let _smtp = SmtpServer::start(port, &mailbox);
    let server = serve(database, port, &gateway);
    let api = server.client(AUTH);
    let (hpp, _, _) = api.hpp_session(json!({"place_order_mode": "PLACE_ORDER"}), json!({})).await;
    api.act(&hpp, "open").await.assert_success();
    let approved = api.act(&hpp, "approve").await.assert_success();
    let order_id = approved.body["session"]["order_id"].as_str().expect("an order").to_owned();
    let order = format!("/ordermanagement/v1/orders/{order_id}");
    let address = json!({"shipping_address": {"email": "buyer@example.com", "country": "SE", "city": "Stockholm"}});
    assert_eq!(api.call(Method::PATCH, &format!("{order}/customer-details"), Some(address)).await.status, 204);
    let captured = api.post(&format!("{order}/captures"), json!({"captured_amount": 18_000})).await;
    assert_eq!(captured.status, 201, "{}", captured.body);
    let capture_id = captured.headers["capture-id"].to_str().unwrap().to_owned();
    let send_out = api.call(Method::POST, &format!("{order}/captures/{capture_id}/trigger-send-out"), None).await;
    assert_eq!(send_out.status, 204, "{}", send_out.body);

    let [email] = emails(&mailbox, 1, PATIENCE).await.try_into().unwrap();
    assert_eq!(email["to"], "buyer@example.com");
    assert_eq!(email["auth"]["login"], smtp::USER);
    let subject = email["subject"].as_str().unwrap();
    assert!(subject.starts_with("Your invoice "), "{subject}");
    assert!(email["body"].as_str().unwrap().contains("Please pay 18000 SEK"), "{email}");
    let sent = first_message_when(&api, &format!("/kassa/v1/orders/{order_id}/messages"), "sent", 1, PATIENCE).await;
    assert_eq!(sent["subject"], subject, "{sent}");
}

#[test]
fn bad_sender_settings_are_refused_at_start_each_named() {
    let database = DatabaseFile::new();
    let output = std::process::Command::new(support::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database.url])
        .args(["--email-sender", "smtp", "--smtp-url", "smtp://kassa:hunter2@", "--smtp-from", "noreply@kassa.test"])
        .args(["--sms-sender", "http", "--sms-gateway-url", "http://127.0.0.1:9/sms"])
        .args(["--sms-gateway-template", r#"{"text": "{{body}}"}"#])
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--smtp-url is not an SMTP connection URL"), "{stderr}");
    assert!(stderr.contains("--sms-gateway-template does not use {{to}}"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the SMTP password is never shown: {stderr}");
}

#[test]
fn production_mode_says_that_messages_are_recorded_not_sent() {
    let database = DatabaseFile::new();
    let server = support::serve(&database.url, &["--mode", "production"]);
    let line = server.banner.iter().find(|l| l.trim_start().starts_with("Messages")).expect("a Messages line");
    assert!(line.contains("email recorded, not sent; SMS recorded, not sent"), "{line}");
}

#[tokio::test]
async fn each_configured_sender_is_probed_without_sending_anything() {
    use kassa_server::app::messaging::{EmailSender, GatewaySettings, MessagingSettings, SmsSender, SmtpSettings};
    let (mailbox, port, gateway) = (Mailbox::new(), smtp::free_port(), Receiver::start().await);
    let gateway_url = format!("{}/sms/send", gateway.url);
    let settings = |smtp_port: u16, gateway_url: &str| MessagingSettings {
        email: EmailSender::Smtp(SmtpSettings::new(&smtp::url(smtp_port), FROM).unwrap()),
        sms: SmsSender::Http(GatewaySettings::new(gateway_url, None, GatewaySettings::DEFAULT_TEMPLATE).unwrap()),
        ..MessagingSettings::default()
    };
    // Nothing listens: each probe names its sender and says why.
    let down =
        kassa_server::app::sender::probe(&settings(port, &format!("http://127.0.0.1:{}/sms", smtp::free_port()))).await;
    assert_eq!(down.len(), 2, "{down:?}");
    assert!(down[0].0.starts_with("SMTP server smtp://127.0.0.1:") && down[0].1.is_err(), "{down:?}");
    assert!(down[1].0.starts_with("SMS gateway http://127.0.0.1:") && down[1].1.is_err(), "{down:?}");

    let _smtp = SmtpServer::start(port, &mailbox);
    let up = kassa_server::app::sender::probe(&settings(port, &gateway_url)).await;
    assert!(up.iter().all(|(_, answered)| answered.is_ok()), "{up:?}");
    assert!(mailbox.received().is_empty(), "a probe sends no email");
    assert!(gateway.received().iter().all(|r| r.method != Method::POST), "a probe posts nothing");
    assert!(
        kassa_server::app::sender::probe(&MessagingSettings::default()).await.is_empty(),
        "recording: nothing to reach"
    );
}

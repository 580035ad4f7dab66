//! The web pages over plain HTTP, on both backends: no page answers 500 in any session state,
//! merchant-supplied text is escaped, merchant pages need a login and show only the merchant's
//! own sessions. (The flows themselves are driven in a real browser: `tests/browser`.)

use crate::instore::{act_ok, create, distributed};
use kassa_testkit::{Merchant, TestApp, spawn};
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::json;

/// A browser-like client that does not follow redirects (the tests look at them).
pub(crate) fn browser() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub html: String,
}

pub(crate) async fn fetch(request: reqwest::RequestBuilder) -> Page {
    let response = request.send().await.unwrap();
    let status = response.status();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    let content_type = response.headers().get("content-type").map(|c| c.to_str().unwrap().to_owned());
    let html = response.text().await.unwrap();
    if !html.is_empty() {
        assert!(content_type.as_deref().unwrap_or_default().starts_with("text/html"), "{content_type:?}: {html}");
    }
    Page { status, location, html }
}

/// Every consumer page and form of a payment link, in whatever state it is: never a 5xx.
async fn visit_every_consumer_page(app: &TestApp, key: &str, state: &str) {
    let client = browser();
    let base = format!("{}/hpp/payments/{key}", app.url);
    let pages = [
        client.get(format!("{base}/result")),
        client.get(format!("{base}/cancel")),
        client.post(format!("{base}/identify")).form(&[("email", "not an email")]),
        client.post(format!("{base}/confirm")).form(&[("email", "customer@email.se"), ("code", "12")]),
        client.get(&base),
        client.post(format!("{base}/identify")).form(&[("email", "customer@email.se")]),
        client.post(format!("{base}/confirm")).form(&[("email", "customer+denied@email.se"), ("code", "123456")]),
        client.post(format!("{base}/back")),
        client.get(&base),
        client.post(format!("{base}/confirm")).form(&[("email", "customer@email.se"), ("code", "123456")]),
        client.post(format!("{base}/confirm")).form(&[("email", "customer@email.se"), ("code", "123456")]),
        client.post(format!("{base}/cancel")),
        client.get(format!("{base}/result?outcome=declined")),
    ];
    for request in pages {
        let page = fetch(request).await;
        assert!(!page.status.is_server_error(), "{state}: {} {}", page.status, page.html);
    }
}

pub(crate) async fn login_cookie(app: &TestApp, who: &Merchant) -> String {
    let reply = browser()
        .post(format!("{}/login", app.url))
        .form(&[("username", who.username.as_str()), ("secret", who.secret.as_str()), ("next", "/dashboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let cookie = reply.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

pub(crate) async fn merchant_page(app: &TestApp, cookie: &str, path: &str) -> Page {
    fetch(browser().get(format!("{}{path}", app.url)).header("cookie", cookie)).await
}

#[tokio::test]
async fn no_hpp_page_answers_500_in_any_status() {
    let app = spawn().await;
    let cookie = login_cookie(&app, &app.merchant).await;
    let urls = json!({"success": "https://shop.example/ok?sid={{session_id}}"});
    for (mode, actions, state) in [
        ("NONE", &[][..], "WAITING"),
        ("NONE", &["open"][..], "IN_PROGRESS"),
        ("NONE", &["open", "approve"][..], "COMPLETED with a token"),
        ("CAPTURE_ORDER", &["open", "approve"][..], "COMPLETED with an order"),
        ("NONE", &["open", "decline"][..], "FAILED"),
        ("NONE", &["open", "back"][..], "BACK"),
        ("NONE", &["open", "error"][..], "ERROR"),
        ("NONE", &["open", "cancel"][..], "CANCELLED"),
    ] {
        let (hpp, payment, _) = app.hpp_session(json!({"place_order_mode": mode}), urls.clone()).await;
        for action in actions {
            assert_eq!(app.act(&hpp, action).await.status, 200, "{state}: {action}");
        }
        for path in [format!("/dashboard/sessions/hpp/{hpp}"), format!("/dashboard/sessions/payment/{payment}")] {
            let page = merchant_page(&app, &cookie, &path).await;
            assert_eq!(page.status, 200, "{state}: {path}: {}", page.html);
        }
        visit_every_consumer_page(&app, &hpp, state).await;
    }

    let (disabled, _, _) = app.hpp_session(json!({}), json!({})).await;
    assert_eq!(app.delete(&format!("/hpp/v1/sessions/{disabled}")).await.status, 204);
    let page = fetch(browser().get(format!("{}/hpp/payments/{disabled}", app.url))).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("no longer available"), "{}", page.html);
    visit_every_consumer_page(&app, &disabled, "DISABLED").await;

    // An order placed elsewhere for the payment session: approving is refused in words.
    let (hpp, payment, _) = app.hpp_session(json!({}), json!({})).await;
    assert_eq!(app.delete(&format!("/payments/v1/sessions/{payment}")).await.status, 204);
    visit_every_consumer_page(&app, &hpp, "payment session cancelled").await;

    let (expired, _, _) = app.hpp_session(json!({}), json!({})).await;
    assert_eq!(app.post("/sandbox/v1/clock/advance", json!({"seconds": 49 * 3600})).await.status, 200);
    let page = fetch(browser().get(format!("{}/hpp/payments/{expired}", app.url))).await;
    assert_eq!(page.status, 410, "{}", page.html);
    assert!(page.html.contains("expired"));
    visit_every_consumer_page(&app, &expired, "expired").await;

    let page = fetch(browser().get(format!("{}/hpp/payments/no-such-link", app.url))).await;
    assert_eq!(page.status, 404);
    assert!(page.html.contains("unknown"), "{}", page.html);
}

#[tokio::test]
async fn no_in_store_page_answers_500_in_any_status() {
    let app = spawn().await;
    let cookie = login_cookie(&app, &app.merchant).await;
    for (actions, state) in [
        (&[][..], "DISTRIBUTED"),
        (&["open"][..], "ACCESSED"),
        (&["open", "decline"][..], "ACCESSED after a decline"),
        (&["open", "pay"][..], "COMPLETED"),
        (&["cancel"][..], "CANCELED"),
        (&["fail:CONSUMER_SESSION_NOT_FOUND"][..], "FAILED, retryable"),
        (&["fail:UNKNOWN"][..], "FAILED"),
    ] {
        let id = create(&app, json!({"method": "one_qr"})).await;
        let link = distributed(&app, &id).await["payment_link"].as_str().unwrap().to_owned();
        for action in actions {
            match action.split_once(':') {
                Some((_, code)) => {
                    let path = format!("/sandbox/v1/distributions/{id}/fail");
                    assert_eq!(app.post(&path, json!({ "code": code })).await.status, 200);
                }
                None => {
                    act_ok(&app, &id, action).await;
                }
            }
        }
        for path in [format!("/dashboard/distributions/{id}"), format!("/dashboard/sessions/distribution/{id}")] {
            let page = merchant_page(&app, &cookie, &path).await;
            assert_eq!(page.status, 200, "{state}: {path}: {}", page.html);
        }
        visit_every_consumer_page(&app, link.rsplit('/').next().unwrap(), state).await;
    }
}

#[tokio::test]
async fn merchant_supplied_text_is_escaped() {
    let app = spawn().await;
    let title = r#"<script>alert("x")</script><b>Bikes</b> & "more""#;
    let (hpp, _, _) = app.hpp_session(json!({"page_title": title}), json!({})).await;
    let page = fetch(browser().get(format!("{}/hpp/payments/{hpp}", app.url))).await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("<script>alert"), "{}", page.html);
    assert!(!page.html.contains("<b>Bikes"), "{}", page.html);
    assert!(page.html.contains(
        "&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#60;b&#62;Bikes&#60;/b&#62; &#38; &#34;more&#34;"
    ));

    // The SMS text carries the title too; the dashboard shows it escaped.
    let sms = json!({"method": "sms", "contact_information": {"phone": "+46701740615", "phone_country": "SE"}});
    assert_eq!(app.post(&format!("/hpp/v1/sessions/{hpp}/distribution"), sms).await.status, 204);
    let cookie = login_cookie(&app, &app.merchant).await;
    let page = merchant_page(&app, &cookie, &format!("/dashboard/sessions/hpp/{hpp}")).await;
    assert!(page.html.contains("Distribution messages") && page.html.contains("+46701740615"), "{}", page.html);
    assert!(!page.html.contains("<script>alert"), "{}", page.html);
}

#[tokio::test]
async fn merchant_pages_need_a_login_and_show_only_the_merchants_sessions() {
    let app = spawn().await;
    let id = create(&app, json!({"method": "one_qr"})).await;
    for path in ["/dashboard", "/dashboard/stores", &format!("/dashboard/distributions/{id}")] {
        let page = fetch(browser().get(format!("{}{path}", app.url))).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(page.location.as_deref(), Some(format!("/login?next={next}").as_str()));
    }
    let wrong = browser()
        .post(format!("{}/login", app.url))
        .form(&[("username", app.merchant.username.as_str()), ("secret", "wrong-secret-0123456789")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());

    let mine = login_cookie(&app, &app.merchant).await;
    assert_eq!(merchant_page(&app, &mine, &format!("/dashboard/distributions/{id}")).await.status, 200);
    let list = merchant_page(&app, &mine, "/dashboard?kind=distribution").await;
    assert!(list.html.contains(&id), "{}", list.html);
    let theirs = login_cookie(&app, &app.other).await;
    // A changed token, a longer one, a shorter one, none.
    let token = mine.strip_prefix("kassa_login=").unwrap();
    let (first, rest) = token.split_at(1);
    let flipped = format!("kassa_login={}{rest}", if first == "A" { "B" } else { "A" });
    let shorter = format!("kassa_login={}", &token[1..]);
    for forged in [flipped, format!("{mine}0"), shorter, "kassa_login=".to_owned()] {
        assert_eq!(merchant_page(&app, &forged, "/dashboard").await.status, StatusCode::SEE_OTHER, "{forged}");
    }

    assert_eq!(merchant_page(&app, &theirs, &format!("/dashboard/distributions/{id}")).await.status, 404);
    assert_eq!(merchant_page(&app, &theirs, &format!("/dashboard/sessions/payment/{id}")).await.status, 404);
    assert!(!merchant_page(&app, &theirs, "/dashboard").await.html.contains(&id));
    let redeliver = browser()
        .post(format!("{}/dashboard/events/nope/redeliver", app.url))
        .header("cookie", &theirs)
        .form(&[("back", "/dashboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(redeliver.status(), 404);
}

#[tokio::test]
async fn the_dashboard_filters_sessions_by_kind_and_status() {
    let app = spawn().await;
    let cookie = login_cookie(&app, &app.merchant).await;
    let (waiting, payment, _) = app.hpp_session(json!({}), json!({})).await;
    let (opened, _, _) = app.hpp_session(json!({}), json!({})).await;
    app.act(&opened, "open").await;
    let hpp_only = merchant_page(&app, &cookie, "/dashboard?kind=hpp").await.html;
    assert!(hpp_only.contains(&waiting) && hpp_only.contains(&opened) && !hpp_only.contains(&payment));
    let in_progress = merchant_page(&app, &cookie, "/dashboard?kind=hpp&status=IN_PROGRESS").await.html;
    assert!(in_progress.contains(&opened) && !in_progress.contains(&waiting));
    let bad = merchant_page(&app, &cookie, "/dashboard?kind=nonsense").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn production_pages_do_not_advertise_the_sandbox_personas() {
    let app = kassa_testkit::spawn_in(kassa_server::Mode::Production).await;
    let (hpp, _, _) = app.hpp_session(json!({}), json!({})).await;
    let page = fetch(browser().get(format!("{}/hpp/payments/{hpp}", app.url))).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("id=\"identify\"") && !page.html.contains("Sandbox:"), "{}", page.html);
    let sandbox = spawn().await;
    let (hpp, _, _) = sandbox.hpp_session(json!({}), json!({})).await;
    assert!(fetch(browser().get(format!("{}/hpp/payments/{hpp}", sandbox.url))).await.html.contains("Sandbox:"));
}

#[tokio::test]
async fn forms_are_accepted_only_from_kassas_own_pages() {
    let app = spawn().await;
    let cookie = login_cookie(&app, &app.merchant).await;
    let host = app.url.trim_start_matches("http://").to_owned();
    let post = |origin: Option<&str>, site: Option<&str>| {
        let mut request = browser()
            .post(format!("{}/dashboard/clock", app.url))
            .header("cookie", &cookie)
            .form(&[("amount", "1"), ("unit", "days")]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        request
    };
    let refused = fetch(post(Some("http://127.0.0.1:1"), None)).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert_eq!(fetch(post(None, Some("same-site"))).await.status, 403, "a neighbouring localhost port");
    let now = app.get("/sandbox/v1/clock").await.body["ahead_seconds"].clone();
    assert_eq!(now, 0, "nothing moved");
    let accepted = fetch(post(Some(&format!("http://{host}")), Some("same-origin"))).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/sandbox/v1/clock").await.body["ahead_seconds"], 86_400);

    let page = browser().get(format!("{}/login", app.url)).send().await.unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");

    // Where the browser is sent after logging in is a path of this site, nothing else.
    for next in ["//evil.example/", "/\t/evil.example", "https://evil.example/"] {
        let reply = browser()
            .post(format!("{}/login", app.url))
            .form(&[
                ("username", app.merchant.username.as_str()),
                ("secret", app.merchant.secret.as_str()),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(reply.headers()["location"], "/dashboard", "{next}");
    }
}

#[tokio::test]
async fn merchant_urls_with_control_characters_are_refused_at_creation() {
    let app = spawn().await;
    let payment = app.payment_session().await;
    let body = json!({
        "payment_session_url": format!("{}/payments/v1/sessions/{payment}", app.url),
        "merchant_urls": {"success": "https://shop.example/o\rk"},
    });
    let reply = app.post("/hpp/v1/sessions", body).await;
    reply.assert_error(400, "BAD_VALUE");
    assert!(reply.message().contains("merchant_urls.success"), "{}", reply.message());
}

#[tokio::test]
async fn a_double_submit_ends_on_the_result_page_not_an_error() {
    let app = spawn().await;
    let (hpp, _, _) = app.hpp_session(json!({"place_order_mode": "NONE"}), json!({})).await;
    let base = format!("{}/hpp/payments/{hpp}", app.url);
    assert_eq!(fetch(browser().get(&base)).await.status, 200);
    let approve =
        || browser().post(format!("{base}/confirm")).form(&[("email", "customer@email.se"), ("code", "123456")]);
    let (first, second) = tokio::join!(fetch(approve()), fetch(approve()));
    // Each lands on the result page: sent there, or (after the other committed) shown it.
    for reply in [first, second] {
        if reply.status == StatusCode::SEE_OTHER {
            assert_eq!(reply.location.as_deref(), Some(format!("/hpp/payments/{hpp}/result").as_str()));
        } else {
            assert_eq!(reply.status, 200);
            assert!(reply.html.contains("Payment approved"), "{}", reply.html);
        }
    }
    assert_eq!(app.status(&hpp).await, "COMPLETED");
    assert_eq!(app.events(&hpp).await.len(), 3, "created, opened, approved once");
}

#[tokio::test]
async fn in_store_decline_and_error_keep_the_payment_open_and_the_code_page_follows_it() {
    let app = spawn().await;
    let code = app.post("/sandbox/v1/consumer-sessions", json!({})).await.body;
    let id = create(&app, json!({"method": "one_qr", "short_code": code["short_code"]})).await;
    let link = distributed(&app, &id).await["payment_link"].as_str().unwrap().to_owned();
    let path = link.trim_start_matches(&app.url).to_owned();
    assert_eq!(fetch(browser().get(&link)).await.status, 200);
    let confirm = |email: &str, code: &str| {
        let form = [("email", email.to_owned()), ("code", code.to_owned())];
        browser().post(format!("{link}/confirm")).form(&form)
    };
    let declined = fetch(confirm("customer+denied@email.se", "123456")).await;
    assert_eq!(declined.location.as_deref(), Some(format!("{path}/result?outcome=declined").as_str()));
    let page = fetch(browser().get(format!("{link}/result?outcome=declined"))).await;
    assert!(page.html.contains("Purchase declined") && page.html.contains("can not be accepted"), "{}", page.html);
    let failed = fetch(confirm("customer@email.se", "999999")).await;
    assert_eq!(failed.location.as_deref(), Some(format!("{path}/result?outcome=error").as_str()));
    assert_eq!(crate::instore::result(&app, &id).await["status"], "ACCESSED");

    // The phone's code page, once the payment exists, goes to its page, whatever became of it.
    act_ok(&app, &id, "cancel").await;
    let store_id = {
        use base64::Engine;
        let merchant = app.state.store.merchant_by_username(&app.merchant.username).await.unwrap().unwrap();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}/Example Shop", merchant.id))
    };
    let code_page = fetch(browser().get(format!(
        "{}/stores/{store_id}/codes/{}",
        app.url,
        code["consumer_session_id"].as_str().unwrap()
    )))
    .await;
    assert_eq!(code_page.status, StatusCode::SEE_OTHER);
    assert_eq!(code_page.location.as_deref(), Some(link.as_str()));
    let page = fetch(browser().get(&link)).await;
    assert!(page.html.contains("Payment cancelled"), "{}", page.html);
}

#[tokio::test]
async fn the_distribution_module_page_hands_over_the_link_until_its_token_is_replaced() {
    let app = spawn().await;
    let (hpp, _, created) = app.hpp_session(json!({"page_title": "Velo"}), json!({})).await;
    let standalone = created["distribution_module"]["standalone_url"].as_str().unwrap().to_owned();
    let token = created["distribution_module"]["token"].as_str().unwrap();
    assert_eq!(standalone, format!("{}/hpp/distributions/{hpp}/{token}", app.url));
    let page = fetch(browser().get(&standalone)).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains(&format!("/hpp/payments/{hpp}/qr")) && page.html.contains("Send by SMS"));
    assert_eq!(app.status(&hpp).await, "WAITING", "showing the operator's page opens nothing");

    let send = |form: &[(&str, &str)]| browser().post(&standalone).form(form);
    let sent = fetch(send(&[("method", "email"), ("email", "customer@email.se")])).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert!(fetch(browser().get(format!("{standalone}?sent=email"))).await.html.contains("Sent by email"));
    let refused = fetch(send(&[("method", "sms"), ("phone", "call me"), ("phone_country", "SE")])).await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("contact_information.phone"), "{}", refused.html);
    let listed = app.get(&format!("/kassa/v1/hpp/sessions/{hpp}/messages")).await;
    let messages = listed.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["recipient"], "customer@email.se");

    let renewed = app.post(&format!("/hpp/v1/sessions/{hpp}/distribution-module/token"), json!({})).await;
    let new_token = renewed.body["token"].as_str().unwrap();
    assert_eq!(fetch(browser().get(&standalone)).await.status, 404, "the old page is retired");
    let current = format!("{}/hpp/distributions/{hpp}/{new_token}", app.url);
    assert_eq!(fetch(browser().get(&current)).await.status, 200);
    assert_eq!(app.delete(&format!("/hpp/v1/sessions/{hpp}")).await.status, 204);
    let closed = fetch(browser().get(&current)).await;
    assert!(closed.status == 200 && closed.html.contains("DISABLED"), "{}", closed.html);
}

/// The order page shows the amounts, captures and refunds, and in sandbox mode captures and
/// refunds with Order Management's rules.
#[tokio::test]
async fn the_order_page_captures_and_refunds() {
    let app = spawn().await;
    let (hpp, payment, _) = app.hpp_session(json!({"place_order_mode": "PLACE_ORDER"}), json!({})).await;
    app.act(&hpp, "open").await;
    let order_id = app.act(&hpp, "approve").await.body["session"]["order_id"].as_str().unwrap().to_owned();
    let cookie = login_cookie(&app, &app.merchant).await;
    let host = app.url.trim_start_matches("http://").to_owned();
    let form = |action: &str, amount: &str| {
        browser()
            .post(format!("{}/dashboard/orders/{order_id}/{action}", app.url))
            .header("cookie", &cookie)
            .header("origin", format!("http://{host}"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("amount", amount), ("description", "from the test")])
    };
    let page = merchant_page(&app, &cookie, &format!("/dashboard/orders/{order_id}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("AUTHORIZED") && page.html.contains("No captures."), "{}", page.html);
    assert!(page.html.contains(r#"id="capture""#), "a capture button in sandbox mode");

    let captured = fetch(form("capture", "8000")).await;
    assert_eq!(captured.status, StatusCode::SEE_OTHER, "{}", captured.html);
    assert_eq!(captured.location.as_deref(), Some(format!("/dashboard/orders/{order_id}").as_str()));
    assert_eq!(fetch(form("refund", "3000")).await.status, StatusCode::SEE_OTHER);
    let over = fetch(form("refund", "6000")).await;
    assert_eq!(over.status, StatusCode::FORBIDDEN, "more than captured and not refunded: {}", over.html);

    let page = merchant_page(&app, &cookie, &format!("/dashboard/orders/{order_id}")).await;
    assert!(page.html.contains("PART_CAPTURED"), "{}", page.html);
    assert_eq!(page.html.matches("<tr id=\"capture-").count(), 1);
    assert_eq!(page.html.matches("<tr id=\"refund-").count(), 1);
    let order = app.get(&format!("/ordermanagement/v1/orders/{order_id}")).await;
    assert_eq!(
        (order.body["captured_amount"].as_i64(), order.body["refunded_amount"].as_i64()),
        (Some(8000), Some(3000))
    );
    // The payment session's page links the order; another merchant sees neither.
    let session = merchant_page(&app, &cookie, &format!("/dashboard/sessions/payment/{payment}")).await;
    assert!(session.html.contains(&format!("/dashboard/orders/{order_id}")), "{}", session.html);
    let other = login_cookie(&app, &app.other).await;
    assert_eq!(merchant_page(&app, &other, &format!("/dashboard/orders/{order_id}")).await.status, 404);
}

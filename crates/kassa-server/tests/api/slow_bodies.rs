//! A request whose body never fully arrives is answered 408 at the body deadline and its
//! connection closed; nothing is stored.

use kassa_server::Mode;
use kassa_server::app::config::RateLimits;
use kassa_testkit::spawn_with;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_body_that_stops_short_of_its_length_is_answered_408_at_the_deadline() {
    let app = spawn_with(Mode::Sandbox, |config| {
        config.rate_limits = RateLimits::off();
        config.server.body_timeout = Duration::from_secs(1);
    })
    .await;
    let before = app.snapshot().await;
    let mut stream = TcpStream::connect(app.url.trim_start_matches("http://")).await.unwrap();
    let pair = format!("{}:{}", app.merchant.username, app.merchant.secret);
    let credentials = format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pair));
    let head = format!(
        "POST /payments/v1/sessions HTTP/1.1\r\nHost: kassa\r\nAuthorization: {credentials}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"purchas"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let sent = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let took = sent.elapsed();
    assert!(read.is_ok(), "the connection must be closed after the answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error_code\":\"REQUEST_TIMEOUT\""), "{answer}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "answered after {took:?}");
    assert_eq!(app.snapshot().await, before);
}

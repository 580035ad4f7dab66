//! The messages' outbox: a message commits pending with its change (or not at all), is claimed
//! when due on its merchant's clock under a wall-clock lease, once while leased, and taken over
//! when the lease runs out (the stale holder's outcome refused); a failed send is due again
//! later or failed for good; the listing shows each message with its delivery; the status rules
//! hold in SQL whatever writes the row.

use crate::support::{Backend, T0, W0, merchant, window};
use kassa_core::Timestamp;
use kassa_store::sql::SqlStore;
use kassa_store::{Change, ClaimedMessage, Message, MessageNext, MessageRecord, MessageStatus, Store, StoreError};
use std::sync::Arc;

backend_tests!(
    messages_commit_with_their_change_and_are_listed_in_order,
    a_message_is_claimed_once_while_leased_and_its_stale_holder_is_refused,
    claims_at_once_on_two_handles_never_take_the_same_message,
    a_failed_send_is_due_again_later_or_fails_for_good,
    only_a_failed_message_of_the_merchant_is_retried,
    a_message_is_due_on_its_merchants_clock,
    the_status_rules_hold_in_sql,
);

fn message(i: i64, method: &str) -> Message {
    Message {
        id: format!("msg{i}"),
        merchant_id: "m1".into(),
        session_id: "h1".into(),
        method: method.into(),
        recipient: if method == "sms" { "+46701740615".into() } else { "customer@example.com".into() },
        country: (method == "sms").then(|| "SE".to_owned()),
        subject: (method == "email").then(|| "Your payment".to_owned()),
        body: format!("body {i}"),
        created_at: T0.plus_millis(i),
        caused_by: None,
    }
}

fn pending(message: Message) -> MessageRecord {
    let due = message.created_at;
    MessageRecord {
        message,
        status: MessageStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(due),
        last_error: None,
        sent_at: None,
    }
}

async fn claim(store: &dyn Store, due_at: Timestamp, from: i64, until: i64) -> Vec<ClaimedMessage> {
    store.claim_messages(window(due_at, W0.plus_millis(from), W0.plus_millis(until), 10)).await.unwrap()
}

fn ids(claimed: &[ClaimedMessage]) -> Vec<&str> {
    claimed.iter().map(|c| c.message.id.as_str()).collect()
}

async fn messages_commit_with_their_change_and_are_listed_in_order(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    // Committed out of time order: listed in time order, pending and due when created.
    store.commit(Change::default().message(message(1, "email"))).await.unwrap();
    store.commit(Change::default().message(message(0, "sms"))).await.unwrap();
    let listed = store.session_messages("h1").await.unwrap();
    assert_eq!(listed, [pending(message(0, "sms")), pending(message(1, "email"))], "{b}: every field");
    assert!(store.session_messages("h2").await.unwrap().is_empty(), "{b}");
    // A change records its messages with the rest of it, or not at all.
    let again = store.commit(Change::default().message(message(0, "sms"))).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{b}: {again:?}");
    let failed = Change::default().message(message(3, "email")).message(message(1, "email"));
    assert!(store.commit(failed).await.is_err(), "{b}: msg1 exists");
    assert_eq!(store.session_messages("h1").await.unwrap().len(), 2, "{b}: msg3 rolled back with it");
}

async fn a_message_is_claimed_once_while_leased_and_its_stale_holder_is_refused(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    store.commit(Change::default().message(message(0, "email")).message(message(5, "sms"))).await.unwrap();

    assert!(claim(store, T0.plus_millis(-1), 0, 100).await.is_empty(), "{b}: not due yet");
    let first = claim(store, T0.plus_millis(10), 0, 100).await;
    assert_eq!(ids(&first), ["msg0", "msg5"], "{b}: oldest due first");
    let expected = ClaimedMessage {
        message: message(0, "email"),
        attempts: 0,
        lease_token: first[0].lease_token.clone(),
        clock_ahead_millis: 0,
    };
    assert_eq!(first[0], expected, "{b}: all that sending needs");
    assert!(claim(store, T0.plus_millis(10), 50, 150).await.is_empty(), "{b}: leased");

    // The lease runs out: another claim takes the messages over, with a token of its own.
    let second = claim(store, T0.plus_millis(10), 101, 200).await;
    assert_eq!(ids(&second), ["msg0", "msg5"], "{b}");
    assert_ne!(second[0].lease_token, first[0].lease_token, "{b}");
    let stale = first[0].finished(MessageNext::Sent, None, T0.plus_millis(20));
    assert!(!store.finish_message(&stale).await.unwrap(), "{b}: the stale holder is refused");
    assert_eq!(store.session_messages("h1").await.unwrap()[0], pending(message(0, "email")), "{b}: unchanged");

    let sent = second[0].finished(MessageNext::Sent, None, T0.plus_millis(30));
    assert!(store.finish_message(&sent).await.unwrap(), "{b}");
    assert!(!store.finish_message(&sent).await.unwrap(), "{b}: once");
    let record = &store.session_messages("h1").await.unwrap()[0];
    let done = MessageRecord {
        status: MessageStatus::Sent,
        attempts: 1,
        next_attempt_at: None,
        sent_at: Some(T0.plus_millis(30)),
        ..pending(message(0, "email"))
    };
    assert_eq!(record, &done, "{b}");
    assert!(claim(store, T0.plus_millis(10_000), 10_000, 10_100).await.iter().all(|c| c.message.id != "msg0"), "{b}");

    // At start-up a SQLite process gives back every claim (no other process can hold one); on
    // PostgreSQL other nodes hold claims until their leases end.
    b.store.release_all_claims().await.unwrap();
    let freed = if b.is_postgres() { vec![] } else { vec!["msg5"] };
    assert_eq!(ids(&claim(store, T0.plus_millis(10), 102, 300).await), freed, "{b}");
}

/// Two nodes claiming at once (two handles on the database; PostgreSQL skips the rows the other's
/// claim has locked) take every message between them, none twice.
async fn claims_at_once_on_two_handles_never_take_the_same_message(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    let mut change = Change::default();
    for i in 0..40 {
        change = change.message(message(i, "email"));
    }
    store.commit(change).await.unwrap();
    let (one, two) = (Arc::new(b.store.clone()), Arc::new(b.another_handle().await));
    let (one, two) = tokio::join!(tokio::spawn(take_all(one)), tokio::spawn(take_all(two)));
    let (one, two) = (one.unwrap(), two.unwrap());
    let mut all: Vec<&String> = one.iter().chain(&two).collect();
    all.sort();
    all.dedup();
    assert_eq!(
        (one.len() + two.len(), all.len()),
        (40, 40),
        "{b}: every message once ({} and {})",
        one.len(),
        two.len()
    );
}

/// Claims until nothing is due; answers the ids taken.
async fn take_all(store: Arc<SqlStore>) -> Vec<String> {
    let mut taken = Vec::new();
    loop {
        let claimed = claim(store.as_ref(), T0.plus_millis(100), 0, 100).await;
        if claimed.is_empty() {
            return taken;
        }
        taken.extend(claimed.into_iter().map(|c| c.message.id));
    }
}

async fn a_failed_send_is_due_again_later_or_fails_for_good(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    store.commit(Change::default().message(message(0, "email"))).await.unwrap();
    let first = claim(store, T0, 0, 100).await;
    let retry_at = T0.plus_millis(5000);
    let failed =
        first[0].finished(MessageNext::RetryAt(retry_at), Some("connection refused".into()), T0.plus_millis(1));
    assert!(store.finish_message(&failed).await.unwrap(), "{b}");
    let waiting = MessageRecord {
        attempts: 1,
        next_attempt_at: Some(retry_at),
        last_error: Some("connection refused".into()),
        ..pending(message(0, "email"))
    };
    assert_eq!(store.session_messages("h1").await.unwrap(), std::slice::from_ref(&waiting), "{b}: due again later");
    assert!(claim(store, retry_at.plus_millis(-1), 1, 100).await.is_empty(), "{b}: not before its time");

    // Sent at the second attempt: the error of the first is kept.
    let second = claim(store, retry_at, 1, 100).await;
    assert_eq!((ids(&second), second[0].attempts), (vec!["msg0"], 1), "{b}: the failed send was counted");
    assert!(store.finish_message(&second[0].finished(MessageNext::Sent, None, retry_at)).await.unwrap(), "{b}");
    let sent = MessageRecord {
        status: MessageStatus::Sent,
        attempts: 2,
        next_attempt_at: None,
        sent_at: Some(retry_at),
        ..waiting
    };
    assert_eq!(store.session_messages("h1").await.unwrap(), [sent], "{b}");

    // Refused for good: failed, with its error, and never claimed again.
    store.commit(Change::default().message(message(1, "sms"))).await.unwrap();
    let claimed = claim(store, T0.plus_millis(1), 200, 300).await;
    let refused = claimed[0].finished(MessageNext::Failed, Some("HTTP 400: bad number".into()), T0.plus_millis(2));
    assert!(store.finish_message(&refused).await.unwrap(), "{b}");
    let record = &store.session_messages("h1").await.unwrap()[1];
    assert_eq!(
        (record.status, record.attempts, record.next_attempt_at, record.last_error.as_deref(), record.sent_at),
        (MessageStatus::Failed, 1, None, Some("HTTP 400: bad number"), None),
        "{b}"
    );
    assert!(claim(store, T0.plus_millis(1_000_000), 1_000_000, 1_000_100).await.is_empty(), "{b}: nothing is due");
}

/// The operator's retry: a failed message of the merchant is pending again, due when asked, with
/// a fresh set of attempts and its last error kept; one of another merchant's, a pending one or a
/// sent one is left as it is.
async fn only_a_failed_message_of_the_merchant_is_retried(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    merchant(store, "m2").await;
    store.commit(Change::default().message(message(0, "sms")).message(message(1, "email"))).await.unwrap();
    let claimed = claim(store, T0.plus_millis(1), 0, 100).await;
    let refused = claimed[0].finished(MessageNext::Failed, Some("HTTP 400: bad number".into()), T0.plus_millis(2));
    assert!(store.finish_message(&refused).await.unwrap(), "{b}");
    assert!(store.finish_message(&claimed[1].finished(MessageNext::Sent, None, T0.plus_millis(2))).await.unwrap());
    let before = store.session_messages("h1").await.unwrap();
    let found = store.merchant_message("m1", "msg0").await.unwrap();
    assert_eq!(found.as_ref(), Some(&before[0]), "{b}: the merchant reads its message");
    assert_eq!(store.merchant_message("m2", "msg0").await.unwrap(), None, "{b}: another merchant does not");

    let at = T0.plus_millis(60_000);
    assert!(store.retry_message("m2", "msg0", at).await.unwrap().is_none(), "{b}: not another merchant's");
    assert!(store.retry_message("m1", "msg1", at).await.unwrap().is_none(), "{b}: not a sent one");
    assert!(store.retry_message("m1", "nope", at).await.unwrap().is_none(), "{b}");
    assert_eq!(store.session_messages("h1").await.unwrap(), before, "{b}: unchanged");
    let answered = store.retry_message("m1", "msg0", at).await.unwrap();
    let retried = MessageRecord {
        next_attempt_at: Some(at),
        last_error: Some("HTTP 400: bad number".into()),
        ..pending(message(0, "sms"))
    };
    assert_eq!(answered.as_ref(), Some(&retried), "{b}: answered as the retry left it");
    assert_eq!(store.session_messages("h1").await.unwrap()[0], retried, "{b}");
    assert!(store.retry_message("m1", "msg0", at).await.unwrap().is_none(), "{b}: pending now, not again");
    assert!(claim(store, at.plus_millis(-1), 200, 300).await.is_empty(), "{b}: due when asked, not before");
    let again = claim(store, at, 200, 300).await;
    assert_eq!((ids(&again), again[0].attempts), (vec!["msg0"], 0), "{b}: a fresh set of attempts");
}

async fn a_message_is_due_on_its_merchants_clock(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    // Sent at the merchant's time, an hour ahead of the service clock.
    store.advance_sandbox_clock("m1", 3_600_000, T0).await.unwrap();
    let ahead = Message { created_at: T0.plus_millis(3_600_000), ..message(0, "email") };
    store.commit(Change::default().message(ahead)).await.unwrap();
    let claimed = claim(store, T0, 0, 100).await;
    assert_eq!(ids(&claimed), ["msg0"], "{b}: due on the merchant's clock, not the service clock");
    assert_eq!(claimed[0].clock_ahead_millis, 3_600_000, "{b}: read with its offset");
}

async fn the_status_rules_hold_in_sql(b: &Backend) {
    let store = b.store();
    merchant(store, "m1").await;
    store.commit(Change::default().message(message(0, "email"))).await.unwrap();
    let raw = b.raw().await;
    let refused = [
        ("sent without sent_at", "UPDATE messages SET status = 'sent', next_attempt_at = NULL"),
        ("sent_at while pending", "UPDATE messages SET sent_at = 1"),
        ("failed without an error", "UPDATE messages SET status = 'failed', next_attempt_at = NULL"),
        ("pending without a next attempt", "UPDATE messages SET next_attempt_at = NULL"),
        ("a lease without its end", "UPDATE messages SET lease_token = 't'"),
        (
            "a lease on a sent message",
            "UPDATE messages SET status = 'sent', sent_at = 1, next_attempt_at = NULL, lease_token = 't', lease_until = 1",
        ),
        ("an unknown status", "UPDATE messages SET status = 'lost'"),
        ("negative attempts", "UPDATE messages SET attempts = -1"),
    ];
    for (what, sql) in refused {
        assert!(sqlx::query(sql).execute(&raw).await.is_err(), "{b}: {what} is refused");
    }
    assert_eq!(store.session_messages("h1").await.unwrap(), [pending(message(0, "email"))], "{b}: untouched");
    let allowed = "UPDATE messages SET status = 'failed', next_attempt_at = NULL, last_error = 'refused'";
    sqlx::query(allowed).execute(&raw).await.expect("failed with its error");
}

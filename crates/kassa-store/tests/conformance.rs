//! The store story every backend must tell the same way: guarded writes, atomic changes,
//! gap-free events, one order per payment session. Runs against every backend available.

use kassa_core::Timestamp;
use kassa_core::hpp::{HppAction, HppOptions, HppSession, MerchantUrls, NewHppSession};
use kassa_core::order::{KlarnaReference, Order, OrderStatus};
use kassa_core::payment::{AcquiringChannel, Authorization, AuthorizationStatus, PaymentSession};
use kassa_store::sql::{Durability, SqlStore};
use kassa_store::testing::{self, TestDatabase};
use kassa_store::{
    AuthorizationWrite, Change, ConsumerSession, ConsumerSessionAttach, Job, JobWrite, Merchant, NewEvent,
    SessionFilter, SessionKind, SessionRecord, SessionWrite, Store, StoreError, StoreExt, Stored,
};
use serde_json::json;

struct Backend {
    store: Box<dyn Store>,
    _database: TestDatabase,
}

/// Every backend: SQLite always, PostgreSQL when reachable (see `kassa_store::testing`).
async fn backends() -> Vec<Backend> {
    let mut all = Vec::new();
    for database in testing::databases().await {
        all.push(Backend { store: Box::new(database.open().await), _database: database });
    }
    all
}

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

async fn merchant(store: &dyn Store, id: &str) {
    let merchant = Merchant {
        id: id.into(),
        name: id.into(),
        username: format!("user-{id}"),
        secret_salt: "salt".into(),
        secret_hash: "hash".into(),
        created_at: T0,
        webhook_secrets: vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()],
        retry_policy: "klarna".into(),
    };
    store.insert_merchant(&merchant).await.unwrap();
}

fn event<T: SessionRecord>(record: &T, seq: u64, id: &str) -> NewEvent {
    NewEvent {
        event_id: id.into(),
        merchant_id: record.merchant_id().into(),
        session_kind: T::KIND,
        session_id: record.id().into(),
        seq,
        status: record.status_name().into(),
        body: json!({"status": record.status_name()}),
        created_at: record.updated_at(),
    }
}

fn hpp(id: &str) -> HppSession {
    let new = NewHppSession {
        id: id.into(),
        merchant_id: "m1".into(),
        payment_session_id: "p1".into(),
        payment_session_expires_at: T0.plus_hours(48),
        merchant_urls: MerchantUrls::default(),
        options: HppOptions::default(),
        profile_id: None,
        distribution_token: format!("token-{id}"),
    };
    HppSession::create(new, T0).0
}

async fn insert(store: &dyn Store, session: &HppSession) {
    let change =
        Change::default().session(SessionWrite::insert(session).unwrap()).event(event(session, 1, &session.id));
    store.commit(change).await.unwrap();
}

async fn load(store: &dyn Store, id: &str) -> Stored<HppSession> {
    store.load(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn merchants_are_unique_by_username() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        assert_eq!(store.merchant_count().await.unwrap(), 1);
        assert_eq!(store.merchant_by_username("user-m1").await.unwrap().unwrap().id, "m1");
        assert!(store.merchant_by_username("nobody").await.unwrap().is_none());
        let mut again = store.merchant_by_username("user-m1").await.unwrap().unwrap();
        again.id = "m2".into();
        assert!(matches!(store.insert_merchant(&again).await, Err(StoreError::Conflict(_))));
    }
}

#[tokio::test]
async fn a_guarded_update_wins_once_and_a_stale_one_rolls_everything_back() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        insert(store, &hpp("h1")).await;
        let created = load(store, "h1").await;
        assert_eq!(created.revision, 1);

        let (opened, _) = created.apply(HppAction::Open, T0.plus_millis(1)).unwrap();
        let first =
            Change::default().session(SessionWrite::update(&created, &opened).unwrap()).event(event(&opened, 2, "e2"));
        store.commit(first).await.unwrap();

        // A second writer that decided on the old state loses, and its event is not appended.
        let (disabled, _) = created.apply(HppAction::Disable, T0.plus_millis(2)).unwrap();
        let stale = Change::default()
            .session(SessionWrite::update(&created, &disabled).unwrap())
            .event(event(&disabled, 2, "e3"));
        assert!(matches!(store.commit(stale).await, Err(StoreError::Conflict(_))));

        let loaded = load(store, "h1").await;
        assert_eq!((loaded.record.clone(), loaded.revision), (opened, 2));
        let events = store.session_events("h1").await.unwrap();
        let seen: Vec<(u64, &str)> = events.iter().map(|e| (e.event.seq, e.event.status.as_str())).collect();
        assert_eq!(seen, [(1, "WAITING"), (2, "IN_PROGRESS")]);
        assert!(events[0].position < events[1].position);
    }
}

/// A write that changes no status still moves the revision, so a stale writer cannot undo it.
#[tokio::test]
async fn writes_without_a_status_change_are_guarded_too() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        insert(store, &hpp("h1")).await;
        let before = load(store, "h1").await;
        let rotated = HppSession { distribution_token: "new".into(), ..before.record.clone() };
        store.commit(Change::default().session(SessionWrite::update(&before, &rotated).unwrap())).await.unwrap();
        // The same status and version as `before`, but not the same revision.
        let (disabled, _) = before.apply(HppAction::Disable, T0).unwrap();
        let stale = Change::default().session(SessionWrite::update(&before, &disabled).unwrap());
        assert!(matches!(store.commit(stale).await, Err(StoreError::Conflict(_))));
        // `unchanged` asserts a row another decision depends on, and fails once it moved.
        assert!(matches!(
            store.commit(Change::default().session(SessionWrite::unchanged(&before).unwrap())).await,
            Err(StoreError::Conflict(_))
        ));
        let current = load(store, "h1").await;
        store.commit(Change::default().session(SessionWrite::unchanged(&current).unwrap())).await.unwrap();
        assert_eq!(load(store, "h1").await, current, "an assertion writes nothing new");
    }
}

#[tokio::test]
async fn a_change_is_all_or_nothing() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        let first = hpp("h1");
        store
            .commit(Change::default().session(SessionWrite::insert(&first).unwrap()).event(event(&first, 1, "e1")))
            .await
            .unwrap();
        // The second session's insert is fine, but the duplicate event id fails the change.
        let second = hpp("h2");
        let change = Change::default().session(SessionWrite::insert(&second).unwrap()).event(event(&second, 1, "e1"));
        assert!(store.commit(change).await.is_err());
        assert!(store.load::<HppSession>("h2").await.unwrap().is_none());
        assert!(store.session_events("h2").await.unwrap().is_empty());
        // An event must carry its session's new version: neither a repeated nor a skipped number.
        let first = load(store, "h1").await;
        let (opened, _) = first.apply(HppAction::Open, T0).unwrap();
        for (seq, id) in [(1, "e8"), (3, "e9")] {
            let change = Change::default()
                .session(SessionWrite::update(&first, &opened).unwrap())
                .event(event(&opened, seq, id));
            assert!(store.commit(change).await.is_err(), "seq {seq}");
            assert_eq!(load(store, "h1").await, first, "rolled back");
        }
    }
}

#[tokio::test]
async fn children_are_found_by_parent() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        for id in ["h1", "h2"] {
            let s = hpp(id);
            store.commit(Change::default().session(SessionWrite::insert(&s).unwrap())).await.unwrap();
        }
        let children: Vec<Stored<HppSession>> = store.load_children("p1").await.unwrap();
        assert_eq!(children.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["h1", "h2"]);
        assert!(store.load_children::<HppSession>("p2").await.unwrap().is_empty());
        assert!(store.session_state(SessionKind::Payment, "h1").await.unwrap().is_none());
    }
}

fn order(id: &str, token: &str, reference: &str) -> Order {
    Order {
        order_id: id.into(),
        klarna_reference: KlarnaReference::parse(reference).unwrap(),
        merchant_id: "m1".into(),
        payment_session_id: "p1".into(),
        authorization_token: token.into(),
        status: OrderStatus::Captured,
        purchase_currency: "SEK".into(),
        order_amount: 100,
        captured_amount: 100,
        created_at: T0,
    }
}

#[tokio::test]
async fn one_order_per_payment_session_and_guarded_authorizations() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        let (payment, _) = PaymentSession::create("p1".into(), "m1".into(), AcquiringChannel::Ecommerce, T0);
        let (a1, a2) =
            (Authorization::issue("a1".into(), &payment, T0), Authorization::issue("a2".into(), &payment, T0));
        let change = Change::default()
            .authorization(AuthorizationWrite::Insert(a1))
            .authorization(AuthorizationWrite::Insert(a2));
        store.commit(change).await.unwrap();
        let use_a1 = AuthorizationWrite::Transition {
            token: "a1".into(),
            from: AuthorizationStatus::Valid,
            to: AuthorizationStatus::Ordered,
        };
        store
            .commit(Change::default().authorization(use_a1.clone()).order(order("o1", "a1", "ABCD1234")))
            .await
            .unwrap();
        assert_eq!(store.order("o1").await.unwrap().unwrap(), order("o1", "a1", "ABCD1234"));
        assert_eq!(store.authorization("a1").await.unwrap().unwrap().status, AuthorizationStatus::Ordered);
        // The token cannot be used twice, and the session cannot get a second order.
        assert!(matches!(store.commit(Change::default().authorization(use_a1)).await, Err(StoreError::Conflict(_))));
        let use_a2 = AuthorizationWrite::Transition {
            token: "a2".into(),
            from: AuthorizationStatus::Valid,
            to: AuthorizationStatus::Ordered,
        };
        assert!(
            store.commit(Change::default().authorization(use_a2).order(order("o2", "a2", "WXYZ9876"))).await.is_err()
        );
        assert_eq!(store.authorization("a2").await.unwrap().unwrap().status, AuthorizationStatus::Valid, "rolled back");
        assert!(store.order("o2").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn messages_are_kept_in_order() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        for (i, method) in ["sms", "email"].into_iter().enumerate() {
            let message = kassa_store::Message {
                id: format!("msg{i}"),
                merchant_id: "m1".into(),
                session_id: "h1".into(),
                method: method.into(),
                recipient: "r".into(),
                subject: None,
                body: "b".into(),
                created_at: T0.plus_millis(i as i64),
            };
            store.insert_message(&message).await.unwrap();
        }
        let methods: Vec<String> = store.session_messages("h1").await.unwrap().into_iter().map(|m| m.method).collect();
        assert_eq!(methods, ["sms", "email"]);
        store.ping().await.unwrap();
    }
}

#[tokio::test]
async fn a_reopened_database_keeps_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    {
        let store = SqlStore::open(&url, Durability::Full).await.unwrap();
        merchant(&store, "m1").await;
        let s = hpp("h1");
        store
            .commit(Change::default().session(SessionWrite::insert(&s).unwrap()).event(event(&s, 1, "e1")))
            .await
            .unwrap();
    }
    let store = SqlStore::open(&url, Durability::Full).await.unwrap();
    assert_eq!(load(&store, "h1").await.record, hpp("h1"));
    assert_eq!(store.session_events("h1").await.unwrap().len(), 1);
}

/// Changes committed together (group commit) still succeed or fail one by one.
#[tokio::test]
async fn concurrent_changes_fail_alone() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        for id in ["h1", "h2"] {
            insert(store, &hpp(id)).await;
        }
        let (one, two) = (load(store, "h1").await, load(store, "h2").await);
        let (opened, _) = one.apply(HppAction::Open, T0).unwrap();
        let (disabled, _) = two.apply(HppAction::Disable, T0).unwrap();
        // A stale write of h1 (same revision as `one`), racing with the good ones.
        let (stale, _) = one.apply(HppAction::Disable, T0).unwrap();
        let good_one =
            Change::default().session(SessionWrite::update(&one, &opened).unwrap()).event(event(&opened, 2, "a"));
        let good_two =
            Change::default().session(SessionWrite::update(&two, &disabled).unwrap()).event(event(&disabled, 2, "b"));
        let bad = Change::default().session(SessionWrite::update(&one, &stale).unwrap()).event(event(&stale, 2, "c"));
        let (r1, r2, r3) = tokio::join!(store.commit(good_one), store.commit(good_two), store.commit(bad));
        assert!(r2.is_ok());
        // Exactly one of the two writers of h1 wins.
        assert!(r1.is_ok() != r3.is_ok(), "{r1:?} {r3:?}");
        assert_eq!(load(store, "h2").await.status(), kassa_core::hpp::HppStatus::Disabled);
        assert_eq!(store.session_events("h1").await.unwrap().len(), 2);
    }
}

fn job(id: &str, session: &HppSession, due_at: Timestamp) -> Job {
    Job {
        id: id.into(),
        session_kind: SessionKind::Hpp,
        session_id: session.id.clone(),
        action: "auto_cancel".into(),
        due_at,
        attempts: 0,
        created_at: T0,
    }
}

#[tokio::test]
async fn jobs_are_claimed_once_while_leased_and_done_once() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        let session = hpp("h");
        insert(store, &session).await;
        let due = T0.plus_millis(1000);
        let change = Change::default()
            .job(JobWrite::Schedule(job("early", &session, due)))
            .job(JobWrite::Schedule(job("late", &session, due.plus_millis(1000))));
        store.commit(change).await.unwrap();

        // Due on the service clock, leased on the wall clock.
        assert!(store.claim_jobs(T0, T0, T0.plus_millis(100), 10).await.unwrap().is_empty());
        let claimed = store.claim_jobs(due, T0, T0.plus_millis(100), 10).await.unwrap();
        assert_eq!(claimed.iter().map(|c| c.job.id.as_str()).collect::<Vec<_>>(), ["early"]);
        assert!(store.claim_jobs(due, T0.plus_millis(50), T0.plus_millis(150), 10).await.unwrap().is_empty());
        // A lease that ran out is taken over.
        let taken = store.claim_jobs(due, T0.plus_millis(101), T0.plus_millis(200), 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_ne!(taken[0].lease_token, claimed[0].lease_token);

        // Whoever commits the work first deletes the row; the other's change rolls back whole.
        let before = load(store, "h").await;
        let (disabled, _) = before.apply(HppAction::Disable, T0.plus_millis(5)).unwrap();
        let done = || JobWrite::Done { job_id: "early".into() };
        store.commit(Change::default().job(done())).await.unwrap();
        let late = Change::default().session(SessionWrite::update(&before, &disabled).unwrap()).job(done());
        assert!(matches!(store.commit(late).await, Err(StoreError::JobDone(_))));
        assert_eq!(load(store, "h").await, before);

        // A failed run goes back with one more attempt, due later.
        let late_job = store.claim_jobs(due.plus_millis(1000), T0, T0.plus_millis(100), 10).await.unwrap();
        assert_eq!(late_job.len(), 1);
        store.postpone_job("late", &late_job[0].lease_token, due.plus_millis(5000)).await.unwrap();
        assert!(store.claim_jobs(due.plus_millis(4000), T0, T0, 10).await.unwrap().is_empty());
        let again = store.claim_jobs(due.plus_millis(5000), T0, T0, 10).await.unwrap();
        assert_eq!(again[0].job.attempts, 1);
    }
}

#[tokio::test]
async fn a_short_code_finds_one_live_free_consumer_session() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m").await;
        merchant(store, "n").await;
        let consumer = |id: &str, merchant: &str, expires_at: Timestamp| ConsumerSession {
            id: id.into(),
            merchant_id: merchant.into(),
            short_code: "2005".into(),
            created_at: T0,
            expires_at,
            payment_session_id: None,
        };
        let until = T0.plus_millis(60_000);
        assert!(store.insert_consumer_session(&consumer("c1", "m", until)).await.unwrap());
        // The code is live and free: not twice for the same merchant; another merchant has its own.
        assert!(!store.insert_consumer_session(&consumer("c2", "m", until)).await.unwrap());
        assert!(store.insert_consumer_session(&consumer("c3", "n", until)).await.unwrap());
        let found = store.free_consumer_session("m", "2005", T0).await.unwrap().unwrap();
        assert_eq!(found.id, "c1");
        assert!(store.free_consumer_session("m", "2005", until).await.unwrap().is_none(), "expired");
        assert!(store.free_consumer_session("m", "2006", T0).await.unwrap().is_none());

        // One payment takes it; a second cannot.
        let take = |payment: &str| {
            Change::default().consumer_session(ConsumerSessionAttach {
                consumer_session_id: "c1".into(),
                payment_session_id: payment.into(),
            })
        };
        store.commit(take("p1")).await.unwrap();
        assert!(matches!(store.commit(take("p2")).await, Err(StoreError::Conflict(_))));
        assert!(store.free_consumer_session("m", "2005", T0).await.unwrap().is_none());
        // Once taken, the code can be handed out again.
        assert!(store.insert_consumer_session(&consumer("c4", "m", until)).await.unwrap());
    }
}

/// The dashboard's listing: newest first, filtered, and paged without skipping rows that share a
/// creation time.
#[tokio::test]
async fn merchant_sessions_page_through_ties_without_gaps() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m1").await;
        let ids: Vec<String> = (1..=7).map(|i| format!("h{i}")).collect();
        for id in &ids {
            insert(store, &hpp(id)).await;
        }
        let created = load(store, "h3").await;
        let (opened, _) = created.apply(HppAction::Open, T0.plus_millis(5)).unwrap();
        let open =
            Change::default().session(SessionWrite::update(&created, &opened).unwrap()).event(event(&opened, 2, "o3"));
        store.commit(open).await.unwrap();

        let mut seen = Vec::new();
        let mut filter = SessionFilter { kind: Some(SessionKind::Hpp), limit: 3, ..SessionFilter::default() };
        loop {
            let page = store.merchant_sessions("m1", &filter).await.unwrap();
            seen.extend(page.iter().map(|s| s.id.clone()));
            match page.last() {
                Some(last) if page.len() == 3 => filter.after = Some(last.cursor()),
                _ => break,
            }
        }
        let mut expected = ids.clone();
        expected.reverse();
        assert_eq!(seen, expected, "all seven, each once, by id within the same time");

        let in_progress = SessionFilter { status: Some("IN_PROGRESS".into()), limit: 10, ..SessionFilter::default() };
        let found = store.merchant_sessions("m1", &in_progress).await.unwrap();
        assert_eq!(found.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["h3"]);
        assert_eq!(found[0].updated_at, T0.plus_millis(5));
        assert!(store.merchant_sessions("m2", &in_progress).await.unwrap().is_empty());
    }
}

/// Many nodes handing out the same code at once: one wins.
#[tokio::test]
async fn concurrent_consumer_sessions_never_share_a_live_code() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        merchant(store, "m").await;
        let attempts = (0..16).map(|i| ConsumerSession {
            id: format!("c{i}"),
            merchant_id: "m".into(),
            short_code: "3007".into(),
            created_at: T0,
            expires_at: T0.plus_millis(60_000),
            payment_session_id: None,
        });
        let inserted = futures::future::join_all(
            attempts.map(|c| async move { store.insert_consumer_session(&c).await.unwrap() }),
        )
        .await;
        assert_eq!(inserted.iter().filter(|won| **won).count(), 1, "{inserted:?}");
    }
}

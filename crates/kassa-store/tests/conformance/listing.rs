//! The dashboard's listing: newest first, filtered, and paged without skipping rows that share a
//! creation time.

use crate::support::{Backend, T0, event, hpp, insert, load, merchant};
use kassa_core::hpp::HppAction;
use kassa_store::{Change, SessionFilter, SessionKind, SessionWrite};

backend_tests!(merchant_sessions_page_through_ties_without_gaps);

async fn merchant_sessions_page_through_ties_without_gaps(b: &Backend) {
    let store = b.store();
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
    assert_eq!(seen, expected, "{b}: all seven, each once, by id within the same time");

    let in_progress = SessionFilter { status: Some("IN_PROGRESS".into()), limit: 10, ..SessionFilter::default() };
    let found = store.merchant_sessions("m1", &in_progress).await.unwrap();
    assert_eq!(found.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["h3"], "{b}");
    let summary = &found[0];
    assert_eq!(
        (summary.kind, summary.parent_id.as_deref(), summary.status.as_str()),
        (SessionKind::Hpp, Some("p1"), "IN_PROGRESS"),
        "{b}"
    );
    assert_eq!(
        (summary.created_at, summary.updated_at, summary.expires_at),
        (T0, T0.plus_millis(5), Some(opened.expires_at)),
        "{b}"
    );
    assert!(store.merchant_sessions("m2", &in_progress).await.unwrap().is_empty(), "{b}");
    let payments = SessionFilter { kind: Some(SessionKind::Payment), limit: 10, ..SessionFilter::default() };
    assert!(store.merchant_sessions("m1", &payments).await.unwrap().is_empty(), "{b}");
}

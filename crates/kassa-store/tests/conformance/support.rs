//! What every scenario shares: a backend to run on, and small builders of rows.

use kassa_core::Timestamp;
use kassa_core::hpp::{HppAction, HppOptions, HppSession, MerchantUrls, NewHppSession};
use kassa_core::retry::RetryPolicy;
use kassa_store::sql::SqlStore;
use kassa_store::testing::{self, TestDatabase};
use kassa_store::{
    Change, ClaimWindow, Destination, Merchant, NewDelivery, NewEvent, SessionRecord, SessionWrite, Store, StoreExt,
    Stored,
};
use serde_json::json;

/// Writes every scenario once and runs it on each backend as a test of its own: `sqlite::<name>`
/// and `postgres::<name>` in the scenario's module. The PostgreSQL test is skipped (loudly) when
/// the server is unreachable, and fails instead with `KASSA_REQUIRE_POSTGRES=1`
/// (see `kassa_store::testing`).
macro_rules! backend_tests {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(&crate::support::Backend::sqlite().await).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let Some(backend) = crate::support::Backend::postgres().await else { return };
                    super::$scenario(&backend).await;
                }
            )+
        }
    };
}

/// One store on a fresh database of one backend.
pub struct Backend {
    pub name: &'static str,
    pub database: TestDatabase,
    pub store: SqlStore,
}

impl Backend {
    pub async fn sqlite() -> Self {
        Self::on("sqlite", TestDatabase::sqlite()).await
    }

    pub async fn postgres() -> Option<Self> {
        Some(Self::on("postgres", TestDatabase::postgres().await?).await)
    }

    async fn on(name: &'static str, database: TestDatabase) -> Self {
        let store = database.open().await;
        Self { name, database, store }
    }

    pub fn store(&self) -> &dyn Store {
        &self.store
    }

    pub fn is_postgres(&self) -> bool {
        self.database.backend == testing::Backend::Postgres
    }

    /// Another store on the same database (another node, or the same one after a restart).
    pub async fn another_handle(&self) -> SqlStore {
        self.database.open().await
    }

    /// A plain connection pool on the database, for writing rows the store would never write.
    pub async fn raw(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.database.url).await.expect("a raw connection")
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

pub const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);
/// The wall clock of leases, on purpose far from the service clock [`T0`].
pub const W0: Timestamp = Timestamp::from_millis(1_800_000_000_000);
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub fn merchant_row(id: &str) -> Merchant {
    Merchant {
        id: id.into(),
        name: id.into(),
        username: format!("user-{id}"),
        secret_salt: "salt".into(),
        secret_hash: "hash".into(),
        created_at: T0,
        webhook_secrets: vec![SECRET.into()],
        retry_policy: RetryPolicy::Klarna,
    }
}

pub async fn merchant(store: &dyn Store, id: &str) {
    store.insert_merchant(&merchant_row(id)).await.unwrap();
}

/// The event of `record` reaching sequence number `seq`.
pub fn event<T: SessionRecord>(record: &T, seq: u64, id: &str) -> NewEvent {
    NewEvent {
        event_id: id.into(),
        merchant_id: record.merchant_id().into(),
        session_kind: T::KIND,
        session_id: record.id().into(),
        seq,
        status: record.status_name(),
        body: json!({"status": record.status_name(), "seq": seq}),
        created_at: record.updated_at(),
        caused_by: None,
    }
}

pub fn hpp(id: &str) -> HppSession {
    hpp_of(id, "m1")
}

pub fn hpp_of(id: &str, merchant_id: &str) -> HppSession {
    let new = NewHppSession {
        id: id.into(),
        merchant_id: merchant_id.into(),
        payment_session_id: "p1".into(),
        payment_session_expires_at: T0.plus_hours(48),
        merchant_urls: MerchantUrls::default(),
        options: HppOptions::default(),
        profile_id: None,
        distribution_token: format!("token-{id}"),
    };
    HppSession::create(new, T0).0
}

/// Inserts `session` with its creation event (`<id>-1`).
pub async fn insert(store: &dyn Store, session: &HppSession) {
    let id = format!("{}-1", session.id);
    let change = Change::default().session(SessionWrite::insert(session).unwrap()).event(event(session, 1, &id));
    store.commit(change).await.unwrap();
}

pub async fn load(store: &dyn Store, id: &str) -> Stored<HppSession> {
    store.load(id).await.unwrap().unwrap()
}

/// Moves HPP session `id` one step (open, back, open, …) at `at`, with event `<id>-<seq>` and a
/// delivery `<id>-<seq>-<n>` of it to each of `targets` (with its policy); answers the event.
pub async fn step(store: &dyn Store, id: &str, at: Timestamp, targets: &[(&str, RetryPolicy)]) -> NewEvent {
    let before = load(store, id).await;
    let action =
        if before.status() == kassa_core::hpp::HppStatus::InProgress { HppAction::Back } else { HppAction::Open };
    let (after, _) = before.apply(action, at).unwrap();
    let seq = after.lifecycle.version;
    let new = event(&after, seq, &format!("{id}-{seq}"));
    let mut change = Change::default().session(SessionWrite::update(&before, &after).unwrap()).event(new.clone());
    for (n, (url, policy)) in targets.iter().enumerate() {
        change =
            change.delivery(NewDelivery::of(&new, format!("{id}-{seq}-{n}"), Destination::plain(*url), *policy, at));
    }
    store.commit(change).await.unwrap();
    new
}

pub fn window(due_at: Timestamp, wall_now: Timestamp, lease_until: Timestamp, limit: u32) -> ClaimWindow {
    ClaimWindow { due_at, wall_now, lease_until, limit }
}

//! What every handler can reach.

use crate::app::auth_throttle::AuthThrottle;
use crate::app::bus::{Bus, Wakes};
use crate::app::cause;
use crate::app::clock::{Clock, Clocks, SandboxClock, SystemClock};
use crate::app::config::{Config, Mode};
use crate::app::credential_cache::CredentialCache;
use crate::app::merchant_clocks::MerchantClocks;
use crate::app::metrics::Metrics;
use crate::app::readiness::Readiness;
use crate::app::scan_limits::ScanLimiter;
use crate::app::session_cache::SessionCache;
use crate::app::turns::Turns;
use kassa_store::{Change, Job, JobWrite, Store, StoreError};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The service clock and the wall clock; nothing else reads the time.
    pub clocks: Clocks,
    /// Present in sandbox mode: the node's service clock. Only a test moves it (in process);
    /// merchants move their own clocks ([`AppState::merchant_clocks`]).
    pub sandbox_clock: Option<Arc<SandboxClock>>,
    /// This node's copy of each merchant's sandbox clock offset (sandbox mode).
    pub merchant_clocks: Arc<MerchantClocks>,
    pub config: Arc<Config>,
    /// Who is told that something committed: the delivery worker, the message worker, the
    /// scheduler, followers of sessions.
    pub bus: Bus,
    /// Cancelled when the server shuts down: the worker, long-polls and streams end on it.
    pub shutdown: CancellationToken,
    /// Held while this node claims and runs a batch of due jobs: one batch at a time, so the
    /// sandbox clock can wait for the jobs a scheduler run already claimed.
    pub jobs_gate: Arc<tokio::sync::Mutex<()>>,
    /// Operations on one order or customer token take turns on this node.
    pub turns: Arc<Turns>,
    /// Failed credential attempts of this node, per client address and username.
    pub auth_throttle: Arc<AuthThrottle>,
    /// Consumer sessions this node's store pages created, per client address and merchant.
    pub scan_limiter: Arc<ScanLimiter>,
    /// The last readiness check, which concurrent probes share.
    pub readiness: Arc<Readiness>,
    /// Sessions that plain reads served lately; this node's commits drop what they write.
    pub sessions: Arc<SessionCache>,
    /// API credentials verified lately.
    pub credentials: Arc<CredentialCache>,
    /// This server's metrics (the store tells it of its commits).
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// The standard wiring: the system clock as the wall clock (see [`AppState::with_wall_clock`]).
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        Self::with_wall_clock(store, config, Arc::new(SystemClock))
    }

    /// A server whose real time is `wall` (a test may give a
    /// [`ManualClock`](crate::app::clock::ManualClock)): in sandbox mode a movable clock over it,
    /// in production `wall` itself, is the service clock.
    pub fn with_wall_clock(store: Arc<dyn Store>, config: Config, wall: Arc<dyn Clock>) -> Self {
        let (clocks, sandbox_clock) = Clocks::over(wall, config.mode == Mode::Sandbox);
        let shutdown = CancellationToken::new();
        let metrics = Arc::new(Metrics::new());
        store.observe_commits(metrics.clone());
        Self {
            store,
            clocks,
            sandbox_clock,
            merchant_clocks: Arc::default(),
            bus: Bus::new(shutdown.clone()),
            shutdown,
            jobs_gate: Arc::default(),
            turns: Arc::default(),
            auth_throttle: Arc::new(AuthThrottle::new(config.auth_throttle)),
            scan_limiter: Arc::new(ScanLimiter::new(config.scan_limits)),
            readiness: Arc::default(),
            sessions: Arc::default(),
            credentials: Arc::default(),
            metrics,
            config: Arc::new(config),
        }
    }

    /// Commits a change, drops the sessions it wrote from the read cache, then wakes whoever
    /// waits for it (see [`Bus::committed`]). The events and jobs it writes carry the cause of
    /// the work running now ([`cause`]).
    ///
    /// The commit runs as a task of its own: a caller that goes away (a client that hung up)
    /// does not stop it between the database's answer and the cache's drop, so a change that
    /// landed is never left hidden behind a cached copy.
    pub async fn commit(&self, mut change: Change) -> Result<(), StoreError> {
        stamp_cause(&mut change);
        let wakes = Wakes::of(&change);
        let written: Vec<String> = change.sessions.iter().map(|w| w.id.clone()).collect();
        let (store, sessions) = (self.store.clone(), self.sessions.clone());
        let committed = tokio::spawn(
            async move {
                let result = store.commit(change).await;
                // Whatever the answer: a failed commit's outcome may be unknown.
                sessions.drop_sessions(written.iter().map(String::as_str));
                result
            }
            .instrument(tracing::Span::current()),
        )
        .await
        .map_err(|e| StoreError::Failed(format!("the commit's task ended without an answer: {e}")))?;
        committed?;
        self.bus.committed(wakes);
        Ok(())
    }

    /// Commits a job's effect together with the job's deletion; a run that finds the job already
    /// done (another run committed first) has nothing left to do.
    pub async fn finish_job(&self, job: &Job, effect: Change) -> Result<(), StoreError> {
        match self.commit(effect.job(JobWrite::Done { job_id: job.id.clone() })).await {
            Err(StoreError::JobDone(_)) => Ok(()),
            other => other,
        }
    }

    /// The service clock's time: what every domain decision is made at.
    pub fn now(&self) -> kassa_core::Timestamp {
        self.clocks.service.now()
    }

    /// How far the service clock is ahead of the wall clock: the sandbox clock's own offset (0 in
    /// production, where the service clock is the wall clock).
    pub fn service_ahead_millis(&self) -> i64 {
        self.sandbox_clock.as_ref().map_or(0, |clock| clock.offset_millis())
    }

    /// The service clock moved `ahead_millis` forward: a merchant's time, with the offset its
    /// claimed job or callback was read with.
    pub fn now_ahead(&self, ahead_millis: i64) -> kassa_core::Timestamp {
        self.now().plus_millis(ahead_millis)
    }

    /// The merchant's time: the service clock plus how far the merchant moved its sandbox clock
    /// (as this node last read it, see [`MerchantClocks`]); the service clock in production.
    pub fn now_for(&self, merchant_id: &str) -> kassa_core::Timestamp {
        match self.config.mode {
            Mode::Sandbox => self.now_ahead(self.merchant_clocks.ahead_millis(merchant_id)),
            Mode::Production => self.now(),
        }
    }

    /// Reads the merchant's sandbox clock offset again when this node's copy is not fresh
    /// (sandbox mode; nothing in production). A failed read keeps the copy (and is logged).
    pub async fn refresh_clock(&self, merchant_id: &str) {
        if self.config.mode != Mode::Sandbox || self.merchant_clocks.is_fresh(merchant_id) {
            return;
        }
        match self.store.sandbox_clock(merchant_id).await {
            Ok(ahead) => self.merchant_clocks.observe(merchant_id, ahead),
            Err(error) => tracing::warn!(%error, merchant = merchant_id, "could not read a merchant's sandbox clock"),
        }
    }

    /// The merchant's time, its sandbox clock's offset read again first if this node's copy is
    /// not fresh: for what no authenticated request of the merchant refreshed (consumer pages).
    pub async fn merchant_now(&self, merchant_id: &str) -> kassa_core::Timestamp {
        self.refresh_clock(merchant_id).await;
        self.now_for(merchant_id)
    }

    /// Real time: for leases, signature timestamps, cookie expiry.
    pub fn wall_now(&self) -> kassa_core::Timestamp {
        self.clocks.wall.now()
    }
}

/// Stamps the cause of the work running now on what `change` writes that work later follows
/// (events: their callbacks; messages: their sends; jobs: their runs), where the change did not name one.
fn stamp_cause(change: &mut Change) {
    let Some(cause) = cause::current() else { return };
    for event in &mut change.events {
        event.caused_by.get_or_insert_with(|| cause.clone());
    }
    for message in &mut change.messages {
        message.caused_by.get_or_insert_with(|| cause.clone());
    }
    for write in &mut change.jobs {
        if let JobWrite::Schedule(job) = write {
            job.caused_by.get_or_insert_with(|| cause.clone());
        }
    }
}

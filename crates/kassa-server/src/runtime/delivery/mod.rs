//! The delivery worker: claims due callbacks with a lease, sends them with no transaction open,
//! records every attempt, and retries by the merchant's policy.
//!
//! One step ([`DeliveryWorker::run_once`]) claims what is due and starts its attempts. The
//! server's worker ([`DeliveryWorker::run`]) takes steps, woken in-process right after a commit
//! that adds deliveries and polling for due retries; tests [drain](DeliveryWorker::drain_due).
//! Concurrency is bounded globally and per receiving host, and every attempt runs in its own
//! task, so a slow or hung receiver never delays the others. Per session and target, event n+1
//! is only claimed once event n is delivered or given up (the claim query enforces it).
//!
//! Claims are short leases kept alive by one heartbeat while their attempts run ([`leases`]), so
//! another node sends a crashed node's callbacks within one lease. On the extended policy, whose
//! backoff grows to hours, a failing target is probed ahead of schedule and, once it answers,
//! everything waiting for it is due at once ([`recovery`]).

mod attempt;
mod leases;
mod misbehave;
mod recovery;

pub use attempt::{SEQUENCE_HEADER, SESSION_HEADER, SESSION_KIND_HEADER, callback_body};

use crate::app::config::WorkerSettings;
use crate::app::metrics::AttemptResult;
use crate::app::state::AppState;
use crate::runtime::worker::{self, Step, Tasks};
use kassa_core::Timestamp;
use kassa_core::retry::{Decision, RetryPolicy};
use kassa_store::{Attempt, ClaimWindow, ClaimedDelivery, DeliveryNext};
use leases::HeldLeases;
use misbehave::Plan;
use recovery::{Recovery, TargetKey};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::Instrument;

/// The most deliveries one claim takes.
const MAX_CLAIM: usize = 128;

pub struct DeliveryWorker {
    state: AppState,
    client: reqwest::Client,
    settings: WorkerSettings,
    in_flight: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// The attempts this worker started and that have not been joined yet.
    tasks: Tasks,
    leases: Arc<HeldLeases>,
    recovery: Recovery,
}

impl DeliveryWorker {
    pub fn new(state: AppState, settings: WorkerSettings) -> Result<Arc<Self>, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(state.config.callback_targets.resolver())
            .pool_max_idle_per_host(settings.max_per_host)
            .build()
            .map_err(|e| format!("cannot build the callback HTTP client: {e}"))?;
        let in_flight = Arc::new(Semaphore::new(settings.max_in_flight));
        let recovery = Recovery::new(settings.probe_interval);
        Ok(Arc::new(Self {
            state,
            client,
            settings,
            in_flight,
            hosts: Mutex::default(),
            tasks: Tasks::default(),
            leases: Arc::default(),
            recovery,
        }))
    }

    /// Runs [steps](Self::run_once) until the server shuts down, waiting between them for a free
    /// slot or, when nothing is due, for a wake-up or the poll interval; then lets attempts in
    /// flight finish, and gives back claims that did not start.
    pub async fn run(self: Arc<Self>) {
        let heartbeat = tokio::spawn(self.clone().heartbeat());
        self.suspect_failing_targets().await;
        let shutdown = self.state.shutdown.clone();
        while !shutdown.is_cancelled() {
            match self.run_once().await {
                // More may be due at once.
                Step::Started(_) => {}
                Step::Full => tokio::select! {
                    permit = self.in_flight.clone().acquire_owned() => drop(permit),
                    () = shutdown.cancelled() => {}
                },
                Step::Idle => tokio::select! {
                    () = self.state.bus.deliveries_notified() => {}
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                    () = shutdown.cancelled() => {}
                },
            }
        }
        let deadline = self.state.config.server.drain_deadline;
        // Dropping the settling attempts at the deadline aborts them; their claims lapse with
        // their leases, and another node or the next start sends them again.
        if tokio::time::timeout(deadline, self.tasks.settle()).await.is_err() {
            tracing::warn!(
                ?deadline,
                "shutdown: callback attempts still in flight at the drain deadline were abandoned"
            );
        }
        heartbeat.abort();
        tracing::info!("delivery worker stopped");
    }

    /// Renews the leases of every claim this worker holds, a third of a lease apart, until the
    /// worker stops.
    async fn heartbeat(self: Arc<Self>) {
        let every = self.settings.lease / 3;
        loop {
            tokio::time::sleep(every).await;
            let tokens = self.leases.tokens();
            if tokens.is_empty() {
                continue;
            }
            let until = self.lease_end();
            if let Err(error) = self.state.store.renew_leases(&tokens, until).await {
                tracing::warn!(%error, claims = tokens.len(), "could not renew the leases of claims in flight");
            }
        }
    }

    /// Targets that were failing before this start are probed at once.
    async fn suspect_failing_targets(&self) {
        match self.state.store.failing_targets().await {
            Ok(targets) => targets.into_iter().for_each(|target| self.recovery.suspect(target, Instant::now())),
            Err(error) => tracing::warn!(%error, "could not read the failing callback targets"),
        }
    }

    fn lease_end(&self) -> Timestamp {
        self.state.wall_now().plus_millis(self.settings.lease.as_millis() as i64)
    }

    /// One step: claims what is due now on the service clock, as many as there are free slots
    /// (at most [`MAX_CLAIM`]), and starts an attempt of each in its own task, without waiting
    /// for them. A slot is taken before its row is leased, so no lease runs while its delivery
    /// waits for a global slot.
    pub async fn run_once(self: &Arc<Self>) -> Step {
        self.tasks.reap();
        self.start_probes().await;
        let Some((free, mut slots)) = worker::free_slots(&self.in_flight, MAX_CLAIM) else { return Step::Full };
        let claimed = self.claim(free).await;
        if claimed.is_empty() {
            return Step::Idle;
        }
        let started = claimed.len();
        for delivery in claimed {
            let Some(slot) = slots.split(1) else { break };
            let hold = self.leases.hold(&delivery.lease_token);
            let span = delivery_span(&delivery);
            self.tasks.spawn(self.clone().deliver(delivery, slot, hold, Sending::Due).instrument(span));
        }
        Step::Started(started)
    }

    /// Sends, for each failing target whose probe is due, its first waiting delivery ahead of
    /// schedule (when a slot is free and the order of its session lets one go).
    async fn start_probes(self: &Arc<Self>) {
        for (merchant_id, target) in self.recovery.due_probes(Instant::now()) {
            let Ok(slot) = self.in_flight.clone().try_acquire_owned() else { return };
            let wall_now = self.state.wall_now();
            let window = ClaimWindow { due_at: self.state.now(), wall_now, lease_until: self.lease_end(), limit: 1 };
            match self.state.store.claim_probe(&merchant_id, &target, window).await {
                Ok(Some(delivery)) => {
                    let hold = self.leases.hold(&delivery.lease_token);
                    let span = delivery_span(&delivery);
                    self.tasks.spawn(self.clone().deliver(delivery, slot, hold, Sending::Probe).instrument(span));
                }
                // Nothing waits for it any more (delivered elsewhere, given up): forget it.
                Ok(None) => self.recovery.forget(&(merchant_id, target)),
                Err(error) => tracing::warn!(%error, %target, "could not claim a probe of a failing target"),
            }
        }
    }

    /// Runs steps until nothing is due and no attempt this worker started is in flight; answers
    /// how many attempts it made. What an attempt made due later (a retry) stays pending: move
    /// the clock, then drain again. Meant for tests and tools: with another worker on the same
    /// database, "nothing due" can also mean "claimed by the other one".
    pub async fn drain_due(self: &Arc<Self>) -> usize {
        // The attempts in flight can make the next event of their sessions due.
        worker::drain(&self.tasks, || self.run_once()).await
    }

    /// Claims up to `limit` due deliveries under a wall-clock lease.
    async fn claim(&self, limit: usize) -> Vec<ClaimedDelivery> {
        let (due_at, wall_now) = (self.state.now(), self.state.wall_now());
        let lease_until = self.lease_end();
        match self
            .state
            .store
            .claim_deliveries(ClaimWindow { due_at, wall_now, lease_until, limit: limit as u32 })
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "claiming deliveries failed; retrying shortly");
                Vec::new()
            }
        }
    }

    fn host_limit(&self, url: &str) -> Arc<Semaphore> {
        let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        let mut hosts = self.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Forget hosts nobody is sending to, so the map stays as small as the live set.
        if hosts.len() > 4 * self.settings.max_in_flight {
            let idle = self.settings.max_per_host;
            hosts.retain(|_, limit| limit.available_permits() < idle);
        }
        hosts.entry(host).or_insert_with(|| Arc::new(Semaphore::new(self.settings.max_per_host))).clone()
    }

    async fn deliver(
        self: Arc<Self>,
        claimed: ClaimedDelivery,
        _slot: OwnedSemaphorePermit,
        _hold: leases::Hold,
        sending: Sending,
    ) {
        let delivery = &claimed.delivery;
        let host = self.host_limit(&delivery.url);
        let permit = tokio::select! {
            permit = host.acquire_owned() => permit.ok(),
            () = self.state.shutdown.cancelled() => None,
        };
        let Some(_host) = permit else {
            // Shutting down before sending: give the claim back for the next start.
            if let Err(error) = self.state.store.release_claim(&delivery.id, &claimed.lease_token).await {
                tracing::warn!(%error, delivery = %delivery.id, "could not release a claim");
            }
            return;
        };
        let policy = delivery.policy;
        let timeout = Duration::from_millis(policy.timeout_millis() as u64);
        // The merchant's time: the service clock plus its sandbox clock's offset.
        let merchant_now = || self.state.now_ahead(claimed.clock_ahead_millis);
        let started_at = merchant_now();
        let plan = match sending {
            Sending::Due => misbehave::plan(&self.state, &claimed, started_at).await,
            Sending::Probe => Plan::Send { twice: false },
        };
        let (sent, simulated, dropped) = match plan {
            Plan::Defer(at) => return self.defer(&claimed, at).await,
            Plan::Send { twice } => (
                attempt::send(&self.client, &self.state.config, &claimed, &self.state.clocks, timeout, twice).await,
                false,
                false,
            ),
            Plan::Fail(sent) => (sent, true, false),
            Plan::Drop(sent) => (sent, true, true),
        };
        let now = merchant_now();
        let made = claimed.attempts + 1;
        let answered = sent.outcome.is_success();
        let next = match policy.next_attempt(made, &sent.outcome, now, jitter()) {
            Decision::Delivered => DeliveryNext::Delivered,
            // A failed probe leaves the delivery's schedule and attempts as they were.
            _ if sending == Sending::Probe => DeliveryNext::Unchanged,
            Decision::RetryAt(at) => DeliveryNext::RetryAt(at),
            Decision::GiveUp(_) => DeliveryNext::Failed,
        };
        let next = if dropped { DeliveryNext::Failed } else { next };
        let result = if simulated { AttemptResult::Simulated } else { AttemptResult::of(&sent.outcome) };
        let lag = (next == DeliveryNext::Delivered).then(|| now.since(delivery.created_at));
        self.state.metrics.attempt(result, sent.duration, lag);
        if next == DeliveryNext::Failed {
            self.state.metrics.delivery_failed();
        }
        let record = Attempt {
            attempt: made,
            started_at,
            duration_ms: sent.duration.as_millis() as u64,
            status_code: sent.status_code,
            error: sent.error,
            response_excerpt: sent.excerpt,
            probe: sending == Sending::Probe,
        };
        tracing::debug!(delivery = %delivery.id, event = %delivery.event_id, attempt = made, status = ?record.status_code, ?next, "callback attempt");
        match self.state.store.finish_attempt(claimed.finished(record, next, now)).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(delivery = %delivery.id, "claim lost before the attempt was recorded"),
            Err(error) => tracing::error!(%error, delivery = %delivery.id, "could not record a callback attempt"),
        }
        let target: TargetKey = (delivery.merchant_id.clone(), delivery.target.clone());
        if simulated || claimed.sandbox.is_some_and(|s| s.fail_first > 0) {
            // The sandbox failed it, not the target: nothing to learn about the target (and the
            // simulated retry schedule of its other callbacks is not cut short).
        } else if policy != RetryPolicy::Extended {
            // Klarna's four attempts are over within seconds: nothing to recover early.
        } else if answered {
            // Back after failing here, or a retry got through (the failures may have been
            // another node's): what waits for this target need not wait out its backoff.
            if self.recovery.answered(&target) || claimed.attempts > 0 {
                self.target_answered(&target, now).await;
            }
        } else {
            self.recovery.failed(target, Instant::now());
        }
        // The next event of this session may be due now.
        self.state.bus.deliveries_due();
    }

    /// A sandbox delay: the claim goes back, due at `at`, with no attempt made.
    async fn defer(&self, claimed: &ClaimedDelivery, at: Timestamp) {
        let delivery = &claimed.delivery;
        match self.state.store.defer_delivery(&delivery.id, &claimed.lease_token, at).await {
            Ok(true) => tracing::debug!(delivery = %delivery.id, %at, "sandbox: callback delayed"),
            Ok(false) => tracing::warn!(delivery = %delivery.id, "claim lost before a sandbox delay was recorded"),
            Err(error) => tracing::warn!(%error, delivery = %delivery.id, "could not delay a callback"),
        }
    }

    async fn target_answered(&self, (merchant_id, target): &TargetKey, now: Timestamp) {
        match self.state.store.make_target_due(merchant_id, target, now).await {
            Ok(0) => {}
            Ok(made) => {
                tracing::info!(%target, deliveries = made, "a failing callback target answers again; its waiting callbacks are due now")
            }
            Err(error) => tracing::warn!(%error, %target, "could not make a recovered target's callbacks due"),
        }
    }
}

/// The span of one claimed delivery's attempt: the callback, its session and merchant, and the
/// correlation id of the request whose change made its event (`caused_by`).
fn delivery_span(claimed: &ClaimedDelivery) -> tracing::Span {
    let d = &claimed.delivery;
    tracing::info_span!(
        "callback",
        delivery = %d.id,
        event = %d.event_id,
        session = %d.session_id,
        merchant = %d.merchant_id,
        attempt = claimed.attempts + 1,
        caused_by = claimed.caused_by.as_deref().unwrap_or(""),
    )
}

/// Why an attempt is sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sending {
    /// Its time came.
    Due,
    /// Ahead of its time, to learn whether its failing target answers again.
    Probe,
}

/// A worker for `state` with its configured settings, [drained](DeliveryWorker::drain_due):
/// answers how many attempts it made.
pub async fn drain(state: &AppState) -> Result<usize, String> {
    Ok(DeliveryWorker::new(state.clone(), state.config.delivery.clone())?.drain_due().await)
}

/// A uniform number in [0, 1) for retry jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

//! The delivery worker: claims due callbacks with a lease, sends them with no transaction open,
//! records every attempt, and retries by the merchant's policy.
//!
//! Woken in-process right after a commit that adds deliveries, and polling for due retries.
//! Concurrency is bounded globally and per receiving host, and every attempt runs in its own
//! task, so a slow or hung receiver never delays the others. Per session and target, event n+1
//! is only claimed once event n is delivered or given up (the claim query enforces it).

mod attempt;

pub use attempt::{SEQUENCE_HEADER, SESSION_HEADER, callback_body};

use crate::app::clock::{Clock, SystemClock};
use crate::app::config::WorkerSettings;
use crate::app::state::AppState;
use kassa_core::Timestamp;
use kassa_core::retry::Decision;
use kassa_store::{Attempt, ClaimWindow, ClaimedDelivery, DeliveryNext};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The most deliveries one claim takes.
const MAX_CLAIM: usize = 128;
/// Time a lease must still have left when an attempt starts, beyond the attempt's timeout.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

pub struct DeliveryWorker {
    state: AppState,
    client: reqwest::Client,
    settings: WorkerSettings,
    in_flight: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
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
        Ok(Arc::new(Self { state, client, settings, in_flight, hosts: Mutex::default() }))
    }

    /// Runs until `shutdown`; then lets attempts in flight finish and gives back claims that
    /// did not start.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        while !shutdown.is_cancelled() {
            while tasks.try_join_next().is_some() {}
            // Claim only what can be sent now: a slot is taken before its row is leased, so no
            // lease runs while its delivery waits for a global slot.
            let free = self.in_flight.available_permits().min(MAX_CLAIM);
            let Some(mut slots) =
                (free > 0).then(|| self.in_flight.clone().try_acquire_many_owned(free as u32).ok()).flatten()
            else {
                tokio::select! {
                    permit = self.in_flight.clone().acquire_owned() => drop(permit),
                    () = shutdown.cancelled() => {}
                }
                continue;
            };
            let claimed = self.claim(free).await;
            let idle = claimed.is_empty();
            for delivery in claimed {
                let Some(slot) = slots.split(1) else { break };
                tasks.spawn(self.clone().deliver(delivery, slot, shutdown.clone()));
            }
            drop(slots);
            if idle {
                tokio::select! {
                    () = self.state.deliveries_due.notified() => {}
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                    () = shutdown.cancelled() => {}
                }
            }
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!("delivery worker stopped");
    }

    fn lease_until(&self) -> Timestamp {
        SystemClock.now().plus_millis(self.settings.lease.as_millis() as i64)
    }

    async fn claim(&self, limit: usize) -> Vec<ClaimedDelivery> {
        let (due_at, wall_now) = (self.state.now(), SystemClock.now());
        let window = ClaimWindow { due_at, wall_now, lease_until: self.lease_until(), limit: limit as u32 };
        match self.state.store.claim_deliveries(window).await {
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
        delivery: ClaimedDelivery,
        _slot: OwnedSemaphorePermit,
        shutdown: CancellationToken,
    ) {
        let claimed_at = std::time::Instant::now();
        let host = self.host_limit(&delivery.url);
        let permit = tokio::select! {
            permit = host.acquire_owned() => permit.ok(),
            () = shutdown.cancelled() => None,
        };
        let Some(_host) = permit else {
            // Shutting down before sending: give the claim back for the next start.
            if let Err(error) = self.state.store.release_claim(&delivery.id, &delivery.lease_token).await {
                tracing::warn!(%error, delivery = %delivery.id, "could not release a claim");
            }
            return;
        };
        let policy = delivery.policy;
        let timeout = Duration::from_millis(policy.timeout_millis() as u64);
        // Waited for the host long enough that the lease could end during the attempt: renew it,
        // or leave the delivery to whoever holds it now.
        if claimed_at.elapsed() + timeout + LEASE_MARGIN > self.settings.lease {
            // At least as long as this attempt can take, whatever the configured lease.
            let until =
                SystemClock.now().plus_millis((timeout + LEASE_MARGIN).max(self.settings.lease).as_millis() as i64);
            match self.state.store.renew_lease(&delivery.id, &delivery.lease_token, until).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(%error, delivery = %delivery.id, "could not renew a lease; leaving the delivery");
                    return;
                }
            }
        }
        let started_at = self.state.now();
        let sent =
            attempt::send(&self.client, &self.state.config.callback_targets, &delivery, SystemClock.now(), timeout)
                .await;
        let now = self.state.now();
        let made = delivery.attempts + 1;
        let next = match policy.next_attempt(made, &sent.outcome, now, jitter()) {
            Decision::Delivered => DeliveryNext::Delivered,
            Decision::RetryAt(at) => DeliveryNext::RetryAt(at),
            Decision::GiveUp(_) => DeliveryNext::Failed,
        };
        let record = Attempt {
            attempt: made,
            started_at,
            duration_ms: sent.duration.as_millis() as u64,
            status_code: sent.status_code,
            error: sent.error,
            response_excerpt: sent.excerpt,
        };
        tracing::debug!(delivery = %delivery.id, event = %delivery.event_id, attempt = made, status = ?record.status_code, ?next, "callback attempt");
        match self.state.store.finish_attempt(&delivery.id, &delivery.lease_token, &record, next, now).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(delivery = %delivery.id, "claim lost before the attempt was recorded"),
            Err(error) => tracing::error!(%error, delivery = %delivery.id, "could not record a callback attempt"),
        }
        // The next event of this session may be due now.
        self.state.deliveries_due.notify_one();
    }
}

/// A uniform number in [0, 1) for retry jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

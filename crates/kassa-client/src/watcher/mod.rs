//! What seed 001 advises an integrator to build, in one object: take status callbacks (their
//! signatures checked), fall back to the events stream when they stop, reconcile through the
//! events feed from a persisted cursor, and hand the application each event once, in
//! per-session order.
//!
//! - Callbacks: [`Watcher::accept`] from the application's HTTP handler; it answers whether the
//!   callback was kassa's and taken (answer 2xx) or not (answer 4xx, or 5xx when the handler
//!   failed, so kassa sends it again).
//! - Reconciliation: every `reconcile_every`, and at once when a callback shows that an earlier
//!   one is missing, the watcher reads the feed from its cursor; events no callback brought are
//!   handed on from there.
//! - Fallback: with no callback for `fallback_after`, the watcher follows the events stream
//!   until callbacks come again.
//! - Exactly once: the watcher's file records, per session, the last sequence handed on, and the
//!   feed's cursor; it is written (synced) after each event the handler took. An event is handed
//!   on again only if the process dies between the handler's return and that write.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), kassa_client::Error> {
//! # let kassa = kassa_testkit::spawn().await;
//! # let (url, username, secret) = (kassa.url.as_str(), kassa.merchant.username.as_str(), kassa.merchant.secret.as_str());
//! # let state = tempfile::tempdir().unwrap();
//! use kassa_client::watcher::{Watcher, WatcherConfig};
//! use kassa_client::webhooks::Webhook;
//!
//! let client = kassa_client::Client::new(url, username, secret)?;
//! let secrets = client.events().signing_secrets().await?;
//! let webhook = Webhook::with_secrets(secrets.iter().map(String::as_str)).expect("whsec_ secrets");
//! let (seen, mut events) = tokio::sync::mpsc::unbounded_channel();
//! let config = WatcherConfig::new(state.path().join("watcher.json"));
//! let watcher = Watcher::start(client.clone(), webhook, config, move |event| {
//!     let seen = seen.clone();
//!     async move { seen.send(event).map_err(|_| "the application stopped") }
//! })
//! .await?;
//!
//! // A session of the test kit's cart: its creation is an event, handed on from the feed.
//! let cart: kassa_client::payments::Cart = serde_json::from_value(kassa_testkit::cart()).unwrap();
//! let session = client.payments().create_session(&cart).await?;
//! watcher.reconcile().await?;
//! let event = events.recv().await.expect("an event");
//! assert_eq!((event.session_id.as_str(), event.sequence), (session.session_id.as_str(), 1));
//! watcher.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod progress;

pub use progress::{Source, WatchedEvent};

use crate::client::{Client, doubling};
use crate::error::Error;
use crate::events::{Event, EventQuery};
use crate::webhooks::{Callback, VerifyError, Webhook};
use progress::{Progress, Verdict};
use reqwest::header::HeaderMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;
use tokio::sync::{Mutex, Notify, watch};
use tokio::time::Instant;

/// How a watcher runs.
#[derive(Debug, Clone)]
pub struct WatcherConfig {
    /// Where the watcher keeps its progress (a small JSON file, written atomically).
    pub state_file: PathBuf,
    /// Only events of this kind of session (`hpp`, `distribution`, …); all when absent.
    pub kind: Option<String>,
    /// How often the feed is read while callbacks arrive (default 30 s).
    pub reconcile_every: Duration,
    /// How long without a callback before the watcher follows the events stream (default 60 s).
    pub fallback_after: Duration,
}

impl WatcherConfig {
    pub fn new(state_file: impl Into<PathBuf>) -> Self {
        Self {
            state_file: state_file.into(),
            kind: None,
            reconcile_every: Duration::from_secs(30),
            fallback_after: Duration::from_secs(60),
        }
    }
}

/// Why [`Watcher::accept`] did not take a callback.
#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    /// Not kassa's (answer 400 or 401): a bad or missing signature, a replay, a malformed body.
    #[error("{0}")]
    Unverified(#[from] VerifyError),
    /// The application's handler (or the state file) failed: answer 5xx, kassa sends it again.
    #[error("{0}")]
    Failed(#[from] Error),
}

type Handler = Arc<dyn Fn(WatchedEvent) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// A running watcher. Share it (in an `Arc`) with the HTTP handler that takes callbacks.
/// Dropped without [`Watcher::shutdown`], it stops its background work too (without waiting).
pub struct Watcher {
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct Inner {
    client: Client,
    webhook: Webhook,
    config: WatcherConfig,
    handler: Handler,
    progress: Mutex<Progress>,
    last_callback: SyncMutex<Instant>,
    callback_arrived: Notify,
    reconcile_now: Notify,
    last_error: SyncMutex<Option<String>>,
}

impl Watcher {
    /// Starts watching: loads the progress in `config.state_file` (a fresh start reads the feed
    /// from its beginning), reconciles at once, and hands each event to `handler`. A handler
    /// error leaves the event to be handed on again later.
    pub async fn start<F, Fut, E>(
        client: Client,
        webhook: Webhook,
        config: WatcherConfig,
        handler: F,
    ) -> Result<Self, Error>
    where
        F: Fn(WatchedEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let progress = Progress::load(&config.state_file)?;
        let handler = Arc::new(handler);
        let handler: Handler = Arc::new(move |event| {
            let handler = handler.clone();
            Box::pin(async move { handler(event).await.map_err(|e| e.to_string()) })
        });
        let inner = Arc::new(Inner {
            client,
            webhook,
            config,
            handler,
            progress: Mutex::new(progress),
            last_callback: SyncMutex::new(Instant::now()),
            callback_arrived: Notify::new(),
            reconcile_now: Notify::new(),
            last_error: SyncMutex::new(None),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(inner.clone().run(stopped));
        Ok(Self { inner, stop, task: Some(task) })
    }

    /// Takes a status callback: checks its signature, then hands it on (or holds it until an
    /// earlier event of its session comes, or drops it as already seen). A callback of another
    /// kind than `config.kind` is taken and ignored.
    pub async fn accept(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejected> {
        let callback = self.inner.webhook.read(headers, body)?;
        *lock(&self.inner.last_callback) = Instant::now();
        self.inner.callback_arrived.notify_one();
        if let (Some(wanted), Some(kind)) = (&self.inner.config.kind, &callback.session_kind)
            && wanted != kind
        {
            return Ok(());
        }
        let event = from_callback(callback);
        let mut progress = self.inner.progress.lock().await;
        self.inner.offer(&mut progress, event).await?;
        Ok(())
    }

    /// Reads the feed from the cursor now; returns how many events were handed on from it.
    pub async fn reconcile(&self) -> Result<usize, Error> {
        self.inner.reconcile(None).await
    }

    /// The feed cursor the watcher has reached.
    pub async fn cursor(&self) -> Option<String> {
        self.inner.progress.lock().await.cursor().map(str::to_owned)
    }

    /// The last error of the background work (reading the feed, following the stream), if any.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.inner.last_error).clone()
    }

    /// Stops after the event being handed on, if any (a feed read under way is given up); the
    /// progress is saved.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Inner {
    /// Follows the stream while callbacks are quiet, reconciles, waits; after a failure (kassa
    /// unreachable, refused credentials, a failing handler) it waits 1 s, 2 s … at most 60 s
    /// before the next try.
    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut failures = 0u32;
        while !is_stopped(&stopped) {
            let outcome = match self.callbacks_quiet() {
                true => match self.follow_while_quiet(&mut stopped).await {
                    Ok(()) => self.reconcile(Some(&stopped)).await.map(drop),
                    Err(error) => Err(error),
                },
                false => self.reconcile(Some(&stopped)).await.map(drop),
            };
            let pause = match outcome {
                Ok(()) => {
                    failures = 0;
                    None
                }
                Err(error) => {
                    *lock(&self.last_error) = Some(error.to_string());
                    failures += 1;
                    Some(doubling(failures - 1, Duration::from_secs(1), Duration::from_secs(60)))
                }
            };
            let quiet_at = *lock(&self.last_callback) + self.config.fallback_after;
            let wake_at = match pause {
                Some(pause) => Instant::now() + pause,
                None => quiet_at.max(Instant::now()).min(Instant::now() + self.config.reconcile_every),
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wake_at) => {}
                _ = self.reconcile_now.notified(), if pause.is_none() => {}
                _ = stopped.changed() => {}
            }
        }
    }

    fn callbacks_quiet(&self) -> bool {
        lock(&self.last_callback).elapsed() >= self.config.fallback_after
    }

    /// Hands `event` on if it is due, then whatever held event of its session that makes due.
    /// Returns whether `event` itself was handed on.
    async fn offer(&self, progress: &mut Progress, mut event: WatchedEvent) -> Result<bool, Error> {
        match progress.judge(&event) {
            Verdict::Seen => Ok(false),
            Verdict::Held => {
                self.reconcile_now.notify_one();
                Ok(false)
            }
            Verdict::Hand => loop {
                (self.handler)(event.clone()).await.map_err(Error::Handler)?;
                match progress.handed(&event)? {
                    Some(next) => event = next,
                    None => return Ok(true),
                }
            },
        }
    }

    /// One pass over the feed from the cursor to its end; returns how many events it handed on.
    /// The progress is locked per event, so callbacks are taken between them.
    async fn reconcile(&self, stopped: Option<&watch::Receiver<bool>>) -> Result<usize, Error> {
        let mut handed = 0;
        loop {
            let after = self.progress.lock().await.cursor().map(str::to_owned);
            let query = EventQuery { after, kind: self.config.kind.clone(), limit: Some(500), ..EventQuery::default() };
            let page = match stopped {
                Some(stopped) if is_stopped(stopped) => return Ok(handed),
                Some(stopped) => {
                    let mut stopping = stopped.clone();
                    let events = self.client.events();
                    tokio::select! {
                        page = events.page(&query) => page?,
                        _ = stopping.changed() => return Ok(handed),
                    }
                }
                None => self.client.events().page(&query).await?,
            };
            let mut expected = query.after.clone();
            let mut moved = false;
            for event in &page.events {
                if stopped.is_some_and(is_stopped) {
                    break;
                }
                let mut progress = self.progress.lock().await;
                if progress.cursor() != expected.as_deref() {
                    // Another pass moved the cursor meanwhile: read again from there.
                    moved = true;
                    break;
                }
                handed += usize::from(self.offer(&mut progress, from_feed(event, Source::Feed)).await?);
                progress.advance(&event.cursor);
                expected = Some(event.cursor.clone());
            }
            self.progress.lock().await.save()?;
            if !moved && (!page.has_more || stopped.is_some_and(is_stopped)) {
                return Ok(handed);
            }
        }
    }

    /// Follows the events stream until a callback comes (or the watcher stops).
    async fn follow_while_quiet(&self, stopped: &mut watch::Receiver<bool>) -> Result<(), Error> {
        let after = self.progress.lock().await.cursor().map(str::to_owned);
        let mut follower =
            self.client.events().follow(EventQuery { after, kind: self.config.kind.clone(), ..EventQuery::default() });
        loop {
            tokio::select! {
                _ = self.callback_arrived.notified() => {
                    if !self.callbacks_quiet() {
                        return Ok(());
                    }
                }
                _ = stopped.changed() => return Ok(()),
                event = follower.next() => {
                    let event = event?;
                    let mut progress = self.progress.lock().await;
                    self.offer(&mut progress, from_feed(&event, Source::Stream)).await?;
                    progress.advance(&event.cursor);
                    progress.save()?;
                }
            }
        }
    }
}

fn from_feed(event: &Event, source: Source) -> WatchedEvent {
    WatchedEvent {
        event_id: event.event_id.clone(),
        session_kind: event.session_kind.clone(),
        session_id: event.session_id.clone(),
        sequence: event.sequence,
        status: event.status.clone(),
        body: event.body.clone(),
        source,
    }
}

/// Whether the watcher was told to stop (or its handle is gone).
fn is_stopped(stopped: &watch::Receiver<bool>) -> bool {
    *stopped.borrow() || stopped.has_changed().is_err()
}

fn from_callback(callback: Callback) -> WatchedEvent {
    let status = callback.body.get("status").and_then(|s| s.as_str()).unwrap_or_default().to_owned();
    WatchedEvent {
        event_id: callback.event_id,
        session_kind: callback.session_kind.unwrap_or_default(),
        session_id: callback.session_id,
        sequence: callback.sequence,
        status,
        body: callback.body,
        source: Source::Callback,
    }
}

fn lock<T>(mutex: &SyncMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

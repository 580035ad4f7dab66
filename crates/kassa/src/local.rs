//! A kassa server inside this process on a fresh SQLite file, for the benches.

use kassa_server::app::config::RateLimits;
use kassa_server::model::credentials;
use kassa_server::{AppState, Config, Mode};
use kassa_store::Store;
use kassa_store::sql::{Durability, SqlStore};
use std::sync::Arc;

pub struct LocalServer {
    pub state: AppState,
    pub url: String,
    pub merchant_id: String,
    pub username: String,
    pub secret: String,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl LocalServer {
    /// Shuts the server down as `kassa serve` does on a signal: the callbacks and messages in
    /// flight are finished and recorded before this returns (a bench that just ended the process
    /// would cut off the recording of the last attempts).
    pub async fn stop(self) -> Result<(), String> {
        self.state.shutdown.cancel();
        match self.serving.await {
            Ok(served) => served.map_err(|e| e.to_string()),
            Err(error) => Err(format!("the bench's server ended badly: {error}")),
        }
    }
}

/// Starts a sandbox server without rate limits (the benches measure the server, not Klarna's
/// quotas), with one merchant; `tweak` adjusts the rest of the configuration.
pub async fn start(durability: Durability, tweak: impl FnOnce(&mut Config)) -> Result<LocalServer, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store: Arc<dyn Store> = Arc::new(SqlStore::open(&url, durability).await.map_err(|e| e.to_string())?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let mut config = Config { rate_limits: RateLimits::off(), ..Config::new(&base, Mode::Sandbox) };
    tweak(&mut config);
    let state = AppState::new(store.clone(), config);
    let created = credentials::create("Bench", None, None, state.now())?;
    kassa_server::service::secrets::add_merchant(store.as_ref(), &state.config.secrets, &created.merchant)
        .await
        .map_err(|e| e.to_string())?;
    let serving = tokio::spawn(kassa_server::serve(listener, state.clone(), std::future::pending()));
    Ok(LocalServer {
        state,
        url: base,
        merchant_id: created.merchant.id,
        username: created.merchant.username,
        secret: created.secret,
        serving,
        _dir: dir,
    })
}

//! Opening the database named on the command line.

use crate::cli::DatabaseArgs;
use kassa_store::Store;
use kassa_store::sqlite::{Durability, SqliteStore};
use std::sync::Arc;

/// The database for the server: as [`open`], and this process now owns every callback claim
/// (a SQLite database has one server process; claims of a crashed one are given back).
pub async fn open_for_serving(args: &DatabaseArgs) -> Result<Arc<dyn Store>, String> {
    let store = sqlite(args).await?;
    store.release_all_claims().await.map_err(|e| format!("cannot release old callback claims: {e}"))?;
    Ok(Arc::new(store))
}

/// The database for a command that runs beside a server (merchant, migrate): claims untouched.
pub async fn open(args: &DatabaseArgs) -> Result<Arc<dyn Store>, String> {
    Ok(Arc::new(sqlite(args).await?))
}

async fn sqlite(args: &DatabaseArgs) -> Result<SqliteStore, String> {
    let url = args.database.as_str();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err("PostgreSQL is not supported by this kassa version yet; use sqlite://<path>".into());
    }
    if !url.starts_with("sqlite:") {
        return Err(format!("unsupported database URL {url:?}: use sqlite://<path>"));
    }
    let durability = if args.durability == "normal" { Durability::Normal } else { Durability::Full };
    SqliteStore::open(url, durability).await.map_err(|e| format!("cannot open {url}: {e}"))
}

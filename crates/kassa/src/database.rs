//! Opening the database named on the command line.

use crate::cli::DatabaseArgs;
use kassa_store::Store;
use kassa_store::sqlite::{Durability, SqliteStore};
use std::sync::Arc;

pub async fn open(args: &DatabaseArgs) -> Result<Arc<dyn Store>, String> {
    let url = args.database.as_str();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err("PostgreSQL is not supported by this kassa version yet; use sqlite://<path>".into());
    }
    if !url.starts_with("sqlite:") {
        return Err(format!("unsupported database URL {url:?}: use sqlite://<path>"));
    }
    let durability = if args.durability == "normal" { Durability::Normal } else { Durability::Full };
    let store = SqliteStore::open(url, durability).await.map_err(|e| format!("cannot open {url}: {e}"))?;
    Ok(Arc::new(store))
}

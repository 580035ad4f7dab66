//! Opening the database named on the command line.

use crate::cli::DatabaseArgs;
use kassa_store::Store;
use kassa_store::sql::SqlStore;
use std::sync::Arc;

/// The database for the server: as [`open`]. On SQLite this process also takes over every
/// claim (a SQLite database has one server process; a crashed one's claims are given back).
pub async fn open_for_serving(args: &DatabaseArgs) -> Result<Arc<dyn Store>, String> {
    let store = connect(args).await?;
    store.release_all_claims().await.map_err(|e| format!("cannot release old callback claims: {e}"))?;
    Ok(Arc::new(store))
}

/// The database for a command that runs beside a server (merchant, migrate): claims untouched.
pub async fn open(args: &DatabaseArgs) -> Result<Arc<dyn Store>, String> {
    Ok(Arc::new(connect(args).await?))
}

/// The two kinds of database kassa runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Which backend `url` names.
pub fn backend(url: &str) -> Result<Backend, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else {
        Err(format!("unsupported database URL {url:?}: use sqlite://<path> or postgres://…"))
    }
}

async fn connect(args: &DatabaseArgs) -> Result<SqlStore, String> {
    let url = args.database.as_str();
    let opened = match backend(url)? {
        Backend::Postgres => SqlStore::open_postgres(url, args.max_connections).await,
        Backend::Sqlite => SqlStore::open(url, args.durability).await,
    };
    opened.map_err(|e| format!("cannot open {}: {e}", redacted(url)))
}

/// The URL without its password, for messages and the banner.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme && url[scheme + 3..at].contains(':') => {
            let user = url[scheme + 3..at].split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redacted("postgres://kassa:s3cret@db:5432/kassa"), "postgres://kassa:***@db:5432/kassa");
        assert_eq!(redacted("postgres://kassa@db/kassa"), "postgres://kassa@db/kassa");
        assert_eq!(redacted("sqlite://kassa.db"), "sqlite://kassa.db");
    }
}

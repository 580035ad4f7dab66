//! PostgreSQL: listening for the changes other nodes commit (see [`crate::notify`]).

use crate::StoreResult;
use crate::notify::{CHANNEL, Notification};
use std::time::Duration;
use tokio::sync::mpsc;

/// A receiver of every notification on [`CHANNEL`], from a listener of its own.
pub(super) async fn listen(url: &str) -> StoreResult<mpsc::Receiver<Notification>> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    let (sender, receiver) = mpsc::channel(1024);
    tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(message) => {
                    for notification in Notification::parse_all(message.payload()) {
                        if sender.send(notification).await.is_err() {
                            return;
                        }
                    }
                }
                // The listener reconnects on the next call; what was missed is caught by the
                // waiters' periodic re-check.
                Err(error) => {
                    tracing::warn!(%error, "listening for changes failed; reconnecting");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });
    Ok(receiver)
}

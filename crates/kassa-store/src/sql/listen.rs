//! PostgreSQL: listening for the changes other nodes commit (see [`crate::notify`]).

use crate::StoreResult;
use crate::notify::{CHANNEL, Notification};
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio::sync::mpsc;

/// A receiver of every notification on [`CHANNEL`], from a listener of its own; after the
/// listener lost its connection (and got it back), a [`Notification::missed`].
pub(super) async fn listen(url: &str) -> StoreResult<mpsc::Receiver<Notification>> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    let (sender, receiver) = mpsc::channel(1024);
    tokio::spawn(async move {
        loop {
            let heard: Vec<Notification> = match listener.try_recv().await {
                Ok(Some(message)) => Notification::parse_all(message.payload()).collect(),
                // The connection was lost and sqlx has listened again on a new one: what was
                // sent in between was not heard.
                Ok(None) => {
                    tracing::warn!("the change listener lost its connection and listens again; waking every waiter");
                    vec![Notification::missed()]
                }
                Err(error) => {
                    tracing::warn!(%error, "listening for changes failed; reconnecting");
                    reconnect(&mut listener).await;
                    vec![Notification::missed()]
                }
            };
            for notification in heard {
                if sender.send(notification).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(receiver)
}

/// Retries until the listener has a connection again (any statement connects it and listens
/// again first).
async fn reconnect(listener: &mut PgListener) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match sqlx::query("SELECT 1").execute(&mut *listener).await {
            Ok(_) => return,
            Err(error) => tracing::warn!(%error, "the change listener cannot reconnect yet; retrying"),
        }
    }
}

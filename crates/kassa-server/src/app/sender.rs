//! Where distribution messages (SMS, email, token links) go. The default sender records them in
//! the database and the log, where integrators read them back; real senders plug in here.

use async_trait::async_trait;
use kassa_store::{Message, Store, StoreError};
use std::sync::Arc;

#[async_trait]
pub trait MessageSender: Send + Sync + 'static {
    async fn send(&self, message: &Message) -> Result<(), StoreError>;
}

pub struct RecordingSender {
    store: Arc<dyn Store>,
}

impl RecordingSender {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl MessageSender for RecordingSender {
    async fn send(&self, message: &Message) -> Result<(), StoreError> {
        self.store.insert_message(message).await?;
        tracing::info!(
            session_id = %message.session_id,
            method = %message.method,
            recipient = %message.recipient,
            body = %message.body,
            "distribution message recorded (not sent: recording sender)"
        );
        Ok(())
    }
}

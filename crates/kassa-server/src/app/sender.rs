//! Where distribution messages (SMS, email, token links) go: one sender per method, chosen per
//! deployment ([`crate::app::messaging`]). A sender says whether a message was sent, or why not
//! and whether trying again can help; the message worker ([`crate::runtime::messages`]) records
//! that and retries.

mod gateway;
mod smtp;

use crate::app::messaging::{EmailSender, MessagingSettings, SmsSender};
use async_trait::async_trait;
use kassa_store::Message;
use std::sync::Arc;

#[async_trait]
pub trait MessageSender: Send + Sync + 'static {
    /// Sends `message` (once: the worker retries).
    async fn send(&self, message: &Message) -> Result<(), SendFailure>;

    /// Whether the sender's server answers at all, sending nothing (for `kassa doctor`).
    async fn probe(&self) -> Result<(), String>;
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// Refused for good (an SMTP 5xx, a gateway's 4xx other than 408 and 429, an address that
    /// cannot be sent to): trying again cannot help.
    pub permanent: bool,
    pub reason: String,
}

impl SendFailure {
    /// A failure that may pass (a server down, a timeout, a 5xx of the gateway).
    pub fn retryable(reason: impl Into<String>) -> Self {
        Self { permanent: false, reason: reason.into() }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Self { permanent: true, reason: reason.into() }
    }
}

/// Marks messages sent without sending them, and logs them: where integrators read them back
/// (the messages listing, the dashboard). The sandbox default, and always the token links'.
pub struct RecordingSender;

#[async_trait]
impl MessageSender for RecordingSender {
    async fn send(&self, message: &Message) -> Result<(), SendFailure> {
        tracing::info!(
            session_id = %message.session_id,
            message = %message.id,
            method = %message.method,
            recipient = %message.recipient,
            body = %message.body,
            "distribution message recorded (not sent: recording sender)"
        );
        Ok(())
    }

    async fn probe(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The sender of each method, as a deployment configured them.
#[derive(Clone)]
pub struct Senders {
    email: Arc<dyn MessageSender>,
    sms: Arc<dyn MessageSender>,
    recording: Arc<dyn MessageSender>,
}

impl Senders {
    pub fn new(settings: &MessagingSettings) -> Result<Self, String> {
        let recording: Arc<dyn MessageSender> = Arc::new(RecordingSender);
        let email: Arc<dyn MessageSender> = match &settings.email {
            EmailSender::Recording => recording.clone(),
            EmailSender::Smtp(smtp) => Arc::new(smtp::SmtpSender::new(smtp, settings.send_timeout)?),
        };
        let sms: Arc<dyn MessageSender> = match &settings.sms {
            SmsSender::Recording => recording.clone(),
            SmsSender::Http(gateway) => Arc::new(gateway::GatewaySender::new(gateway, settings.send_timeout)?),
        };
        Ok(Self { email, sms, recording })
    }

    /// The sender of messages by `method` (`email`, `sms`; anything else, the token links, is
    /// recorded).
    pub fn of(&self, method: &str) -> &dyn MessageSender {
        match method {
            "email" => self.email.as_ref(),
            "sms" => self.sms.as_ref(),
            _ => self.recording.as_ref(),
        }
    }
}

/// Probes every sender `settings` configure that sends (SMTP, the SMS gateway): what each is, and
/// whether it answers. Recording senders are left out (there is nothing to reach).
pub async fn probe(settings: &MessagingSettings) -> Vec<(String, Result<(), String>)> {
    let senders = match Senders::new(settings) {
        Ok(senders) => senders,
        Err(error) => return vec![("message senders".to_owned(), Err(error))],
    };
    let within = |sender: Arc<dyn MessageSender>| async move {
        let answered = tokio::time::timeout(settings.send_timeout, sender.probe()).await;
        answered.unwrap_or_else(|_| Err(format!("no answer within {} s", settings.send_timeout.as_secs())))
    };
    let mut probed = Vec::new();
    if let EmailSender::Smtp(smtp) = &settings.email {
        probed.push((format!("SMTP server {}", smtp.server()), within(senders.email.clone()).await));
    }
    if let SmsSender::Http(gateway) = &settings.sms {
        probed.push((format!("SMS gateway {}", gateway.url), within(senders.sms.clone()).await));
    }
    probed
}

/// An error with its causes, as the log and `last_error` want it.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

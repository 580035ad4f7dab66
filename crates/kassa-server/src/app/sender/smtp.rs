//! Email over SMTP (lettre): STARTTLS, TLS or neither, as the connection URL says, with the
//! credentials it holds. A connection per message: messages are few, and a server that restarted
//! in between is never met on a stale connection.

use super::{MessageSender, SendFailure, error_chain};
use crate::app::messaging::SmtpSettings;
use async_trait::async_trait;
use kassa_store::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    /// `timeout` bounds each exchange with the server (connecting, each command).
    pub fn new(settings: &SmtpSettings, timeout: Duration) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.url())
            .map_err(|e| format!("--smtp-url: {}", error_chain(&e)))?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport, from: settings.from.clone() })
    }

    /// The email of `message`. Its Message-ID is the message's own id, so a message sent again
    /// (after a send whose answer was lost) is recognizably the same email.
    fn email(&self, message: &Message) -> Result<lettre::Message, SendFailure> {
        let to: Mailbox = message.recipient.parse().map_err(|e| {
            SendFailure::permanent(format!("{:?} is not an email address lettre can send to: {e}", message.recipient))
        })?;
        let domain = self.from.email.domain().to_owned();
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone().unwrap_or_default())
            .message_id(Some(format!("<{}@{domain}>", message.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| SendFailure::permanent(format!("the email cannot be built: {e}")))
    }
}

#[async_trait]
impl MessageSender for SmtpSender {
    async fn send(&self, message: &Message) -> Result<(), SendFailure> {
        let email = self.email(message)?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(error) if refuses_the_message(&error) => Err(SendFailure::permanent(error_chain(&error))),
            Err(error) => Err(SendFailure::retryable(error_chain(&error))),
        }
    }

    async fn probe(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the SMTP server did not answer NOOP".to_owned()),
            Err(error) => Err(error_chain(&error)),
        }
    }
}

/// Whether the server refused this message for good: a 5xx (a recipient it rejects, too large…),
/// but not one about kassa's own login (530 authentication required, 534 mechanism too weak, 535
/// credentials invalid, 538 encryption required): those refuse every message alike until the
/// operator mends `--smtp-url`, so the messages wait and are retried.
fn refuses_the_message(error: &lettre::transport::smtp::Error) -> bool {
    let login = error.status().map(u16::from).is_some_and(|code| matches!(code, 530 | 534 | 535 | 538));
    error.is_permanent() && !login
}

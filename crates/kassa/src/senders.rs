//! Where `kassa serve` sends distribution messages: the flags of the email and SMS senders, and
//! their check into the server's [`MessagingSettings`] (every problem named, for `serve` to refuse
//! and `kassa doctor` to report).

use clap::{Args, ValueEnum};
use kassa_server::app::messaging::{EmailSender, GatewaySettings, MessagingSettings, SmsSender, SmtpSettings};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmailSenderKind {
    /// Marked sent and logged, not sent (readable in the messages listing and the dashboard).
    Recording,
    /// Sent to the SMTP server of --smtp-url.
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmsSenderKind {
    /// Marked sent and logged, not sent (readable in the messages listing and the dashboard).
    Recording,
    /// POSTed to the HTTP gateway of --sms-gateway-url.
    Http,
}

/// Where distribution messages (HPP distribution by email or SMS, an order's send-out) go. Token
/// links are always recorded.
#[derive(Clone, Args)]
pub struct MessageSenderArgs {
    /// Where email goes: `recording` (marked sent and logged, not sent) or `smtp` (--smtp-url,
    /// --smtp-from).
    #[arg(long, env = "KASSA_EMAIL_SENDER", value_enum, default_value_t = EmailSenderKind::Recording)]
    pub email_sender: EmailSenderKind,
    /// The SMTP server: `smtp://user:password@host:587?tls=required` (STARTTLS),
    /// `smtps://user:password@host:465` (TLS) or `smtp://host:25` (neither; local relays only).
    #[arg(long, env = "KASSA_SMTP_URL", value_name = "URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of email: `"kassa <noreply@example.com>"` or an address.
    #[arg(long, env = "KASSA_SMTP_FROM", value_name = "MAILBOX")]
    pub smtp_from: Option<String>,
    /// Where SMS go: `recording` (marked sent and logged, not sent) or `http` (POSTed to
    /// --sms-gateway-url).
    #[arg(long, env = "KASSA_SMS_SENDER", value_enum, default_value_t = SmsSenderKind::Recording)]
    pub sms_sender: SmsSenderKind,
    /// The SMS gateway's URL; a 2xx answer means sent.
    #[arg(long, env = "KASSA_SMS_GATEWAY_URL", value_name = "URL")]
    pub sms_gateway_url: Option<String>,
    /// The gateway's `Authorization`: `bearer:TOKEN` or `basic:user:password`.
    #[arg(long, env = "KASSA_SMS_GATEWAY_AUTH", value_name = "AUTH", hide_env_values = true)]
    pub sms_gateway_auth: Option<String>,
    /// The JSON body POSTed to the gateway; its string values may hold `{{to}}` (the phone
    /// number), `{{country}}`, `{{body}}` (the text) and `{{message_id}}`, and must use `{{to}}`
    /// and `{{body}}`.
    #[arg(long, env = "KASSA_SMS_GATEWAY_TEMPLATE", value_name = "JSON", default_value = GatewaySettings::DEFAULT_TEMPLATE)]
    pub sms_gateway_template: String,
    /// Seconds one send (to the SMTP server or the gateway) may take.
    #[arg(long, env = "KASSA_MESSAGE_TIMEOUT", default_value_t = MessagingSettings::DEFAULT_SEND_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=300))]
    pub message_timeout: u64,
    /// Sends of a message before it is failed; failed sends are retried 5 s, 10 s, 20 s … at
    /// most 10 minutes apart. A permanent refusal (SMTP 5xx, a gateway's 4xx other than 408 and
    /// 429) fails it at once.
    #[arg(long, env = "KASSA_MESSAGE_ATTEMPTS", default_value_t = MessagingSettings::DEFAULT_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub message_attempts: u32,
}

/// Without the SMTP URL and the gateway's authorization, which hold credentials.
impl std::fmt::Debug for MessageSenderArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageSenderArgs")
            .field("email_sender", &self.email_sender)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "…"))
            .field("smtp_from", &self.smtp_from)
            .field("sms_sender", &self.sms_sender)
            .field("sms_gateway_url", &self.sms_gateway_url)
            .field("sms_gateway_auth", &self.sms_gateway_auth.as_ref().map(|_| "…"))
            .field("sms_gateway_template", &self.sms_gateway_template)
            .field("message_timeout", &self.message_timeout)
            .field("message_attempts", &self.message_attempts)
            .finish()
    }
}

impl MessageSenderArgs {
    /// The server's settings, or every problem of these flags (each a sentence naming its flag).
    pub fn settings(&self) -> Result<MessagingSettings, Vec<String>> {
        let mut problems = Vec::new();
        let email = self.email(&mut problems);
        let sms = self.sms(&mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(MessagingSettings {
            email,
            sms,
            attempts: self.message_attempts,
            send_timeout: Duration::from_secs(self.message_timeout),
            ..MessagingSettings::default()
        })
    }

    fn email(&self, problems: &mut Vec<String>) -> EmailSender {
        match (self.email_sender, &self.smtp_url, &self.smtp_from) {
            (EmailSenderKind::Smtp, Some(url), Some(from)) => match SmtpSettings::new(url, from) {
                Ok(smtp) => return EmailSender::Smtp(smtp),
                Err(found) => problems.extend(found),
            },
            (EmailSenderKind::Smtp, url, from) => {
                let missing: Vec<&str> =
                    [url.is_none().then_some("--smtp-url"), from.is_none().then_some("--smtp-from")]
                        .into_iter()
                        .flatten()
                        .collect();
                problems.push(format!("--email-sender smtp needs {}", missing.join(" and ")));
            }
            (EmailSenderKind::Recording, url, from) => {
                if let Some(flag) = [url.as_ref().map(|_| "--smtp-url"), from.as_ref().map(|_| "--smtp-from")]
                    .into_iter()
                    .flatten()
                    .next()
                {
                    problems.push(format!("{flag} is set, but email is recorded, not sent: add --email-sender smtp"));
                }
            }
        }
        EmailSender::Recording
    }

    fn sms(&self, problems: &mut Vec<String>) -> SmsSender {
        match (self.sms_sender, &self.sms_gateway_url) {
            (SmsSenderKind::Http, Some(url)) => {
                match GatewaySettings::new(url, self.sms_gateway_auth.as_deref(), &self.sms_gateway_template) {
                    Ok(gateway) => return SmsSender::Http(gateway),
                    Err(found) => problems.extend(found),
                }
            }
            (SmsSenderKind::Http, None) => problems.push("--sms-sender http needs --sms-gateway-url".to_owned()),
            (SmsSenderKind::Recording, url) => {
                let set = [
                    url.as_ref().map(|_| "--sms-gateway-url"),
                    self.sms_gateway_auth.as_ref().map(|_| "--sms-gateway-auth"),
                ];
                if let Some(flag) = set.into_iter().flatten().next() {
                    problems.push(format!("{flag} is set, but SMS are recorded, not sent: add --sms-sender http"));
                }
            }
        }
        SmsSender::Recording
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        senders: MessageSenderArgs,
    }

    fn settings(args: &[&str]) -> Result<MessagingSettings, Vec<String>> {
        Flags::try_parse_from(std::iter::once("kassa").chain(args.iter().copied())).unwrap().senders.settings()
    }

    #[test]
    fn recording_is_the_default() {
        let defaults = settings(&[]).unwrap();
        assert_eq!((&defaults.email, &defaults.sms), (&EmailSender::Recording, &SmsSender::Recording));
        assert_eq!((defaults.attempts, defaults.send_timeout), (10, Duration::from_secs(15)));
    }

    #[test]
    fn configured_senders_are_checked_and_every_problem_is_named() {
        let good = settings(&[
            "--email-sender=smtp",
            "--smtp-url=smtp://kassa:secret@127.0.0.1:2525",
            "--smtp-from=kassa <noreply@example.com>",
            "--sms-sender=http",
            "--sms-gateway-url=http://127.0.0.1:9000/sms",
            "--sms-gateway-auth=bearer:token",
            "--message-attempts=3",
        ])
        .unwrap();
        assert!(matches!(good.email, EmailSender::Smtp(_)) && matches!(good.sms, SmsSender::Http(_)));
        assert_eq!(good.attempts, 3);

        let missing = settings(&["--email-sender=smtp", "--sms-sender=http"]).unwrap_err();
        assert_eq!(
            missing,
            ["--email-sender smtp needs --smtp-url and --smtp-from", "--sms-sender http needs --sms-gateway-url"]
        );

        let bad = settings(&[
            "--email-sender=smtp",
            "--smtp-url=imap://mail.example",
            "--smtp-from=nobody",
            "--sms-sender=http",
            "--sms-gateway-url=http://127.0.0.1:9000/sms",
            r#"--sms-gateway-template={"text": "{{body}}"#,
        ])
        .unwrap_err();
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].starts_with("--smtp-url is not an SMTP connection URL"), "{bad:?}");
        assert!(bad[1].starts_with("--smtp-from \"nobody\" is not a mailbox"), "{bad:?}");
        assert!(bad[2].starts_with("--sms-gateway-template is not JSON"), "{bad:?}");

        let unused =
            settings(&["--smtp-url=smtp://127.0.0.1:25", "--sms-gateway-url=http://127.0.0.1/sms"]).unwrap_err();
        assert_eq!(
            unused,
            [
                "--smtp-url is set, but email is recorded, not sent: add --email-sender smtp",
                "--sms-gateway-url is set, but SMS are recorded, not sent: add --sms-sender http",
            ]
        );
    }
}

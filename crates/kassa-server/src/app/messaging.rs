//! How distribution messages leave kassa: the sender of each method, chosen per deployment, and
//! how a message that could not be sent is retried. Email goes to an SMTP server or is recorded;
//! SMS to an HTTP gateway or is recorded; token links are always recorded (the distribution
//! module reads them back). "Recorded" means marked sent at once and logged, nothing leaves kassa.

pub mod template;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::time::Duration;
pub use template::BodyTemplate;
use url::Url;

/// Where email goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EmailSender {
    /// Recorded, not sent.
    #[default]
    Recording,
    Smtp(SmtpSettings),
}

/// Where SMS go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SmsSender {
    /// Recorded, not sent.
    #[default]
    Recording,
    Http(GatewaySettings),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagingSettings {
    pub email: EmailSender,
    pub sms: SmsSender,
    /// Sends of one message, the first included, before it is failed.
    pub attempts: u32,
    /// How long one send may take (connecting included).
    pub send_timeout: Duration,
    /// The wait after the first failed send; it doubles after each one, up to `max_retry_delay`.
    pub first_retry: Duration,
    pub max_retry_delay: Duration,
    /// Sends in flight at once.
    pub max_in_flight: usize,
    /// How often due retries are looked for when no commit wakes the worker.
    pub poll_interval: Duration,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self {
            email: EmailSender::Recording,
            sms: SmsSender::Recording,
            attempts: Self::DEFAULT_ATTEMPTS,
            send_timeout: Self::DEFAULT_SEND_TIMEOUT,
            first_retry: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(600),
            max_in_flight: 16,
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl MessagingSettings {
    pub const DEFAULT_ATTEMPTS: u32 = 10;
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(15);

    /// How long after the `failed`-th failed send (1 for the first) the message is sent again;
    /// `None` when that was its last attempt.
    pub fn retry_after(&self, failed: u32) -> Option<Duration> {
        if failed >= self.attempts {
            return None;
        }
        let doublings = failed.saturating_sub(1).min(31);
        Some(self.first_retry.saturating_mul(1 << doublings).min(self.max_retry_delay))
    }

    /// How long a node's claim on a message holds: longer than any send takes plus the writes
    /// around it (the claim's and the outcome's, each of which may take as long as a durable
    /// write of a ready node, `write_within`: `--ready-timeout`), so a message is only claimed
    /// again once its sender gave up on it; after a crash, another node (or the next start)
    /// sends it once this has passed.
    pub fn lease(&self, write_within: Duration) -> Duration {
        self.send_timeout + write_within.saturating_mul(3).max(Duration::from_secs(10))
    }

    /// The methods whose messages are recorded, not sent (token links always are).
    pub fn recorded(&self) -> Vec<&'static str> {
        let email = matches!(self.email, EmailSender::Recording).then_some("email");
        let sms = matches!(self.sms, SmsSender::Recording).then_some("SMS");
        email.into_iter().chain(sms).collect()
    }

    /// One line for the start banner: where each method's messages go.
    pub fn describe(&self) -> String {
        let email = match &self.email {
            EmailSender::Recording => "email recorded, not sent".to_owned(),
            EmailSender::Smtp(smtp) => format!("email via SMTP {}", smtp.server()),
        };
        let sms = match &self.sms {
            SmsSender::Recording => "SMS recorded, not sent".to_owned(),
            SmsSender::Http(gateway) => format!("SMS via the gateway {}", gateway.url),
        };
        format!("{email}; {sms}; token links recorded")
    }
}

/// An SMTP server and the sender's address.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// lettre's connection URL: `smtp://user:password@host:port?tls=required` (STARTTLS),
    /// `smtps://…` (TLS), `smtp://host:port` (neither). Holds the password: never shown.
    url: String,
    pub from: Mailbox,
}

impl SmtpSettings {
    /// Checks `url` (a connection URL lettre takes) and `from` (`Name <address>` or an address).
    pub fn new(url: &str, from: &str) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        if let Err(error) = AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
            problems.push(format!(
                "--smtp-url is not an SMTP connection URL ({error}); expected smtp://user:password@host:port?tls=required, \
                 smtps://user:password@host:port or smtp://host:port"
            ));
        }
        let from = from.parse::<Mailbox>().map_err(|e| format!("--smtp-from {from:?} is not a mailbox ({e})"));
        match (problems.is_empty(), from) {
            (true, Ok(from)) => Ok(Self { url: url.to_owned(), from }),
            (_, from) => Err(problems.into_iter().chain(from.err()).collect()),
        }
    }

    /// The connection URL (with its credentials): for building the transport only.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server as the log and the banner show it: scheme, host and port, no credentials.
    pub fn server(&self) -> String {
        match Url::parse(&self.url) {
            Ok(url) => {
                let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
                let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| format!(" (tls={v})"));
                format!("{}://{}{port}{}", url.scheme(), url.host_str().unwrap_or_default(), tls.unwrap_or_default())
            }
            Err(_) => "(unreadable URL)".to_owned(),
        }
    }
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings").field("server", &self.server()).field("from", &self.from).finish()
    }
}

/// An SMS gateway: where to POST, how to authenticate, and the JSON body to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    pub url: Url,
    pub authorization: Option<GatewayAuth>,
    pub template: BodyTemplate,
}

impl GatewaySettings {
    /// A gateway template that fits many gateways: the number and the text.
    pub const DEFAULT_TEMPLATE: &str = r#"{"to": "{{to}}", "body": "{{body}}"}"#;

    /// Checks `url` (http or https), `authorization` (`bearer:TOKEN` or `basic:user:password`)
    /// and `template` (see [`BodyTemplate::parse`]).
    pub fn new(url: &str, authorization: Option<&str>, template: &str) -> Result<Self, Vec<String>> {
        let url =
            Url::parse(url).map_err(|e| format!("--sms-gateway-url {url:?} is not a URL ({e})")).and_then(|parsed| {
                match parsed.scheme() {
                    "http" | "https" => Ok(parsed),
                    other => Err(format!("--sms-gateway-url must be an http or https URL, not {other}:")),
                }
            });
        let authorization = authorization.map(GatewayAuth::parse).transpose();
        let template = BodyTemplate::parse(template).map_err(|e| format!("--sms-gateway-template {e}"));
        match (url, authorization, template) {
            (Ok(url), Ok(authorization), Ok(template)) => Ok(Self { url, authorization, template }),
            (url, authorization, template) => {
                Err([url.err(), authorization.err(), template.err()].into_iter().flatten().collect())
            }
        }
    }
}

/// How kassa authenticates to the gateway: the `Authorization` header it sends.
#[derive(Clone, PartialEq, Eq)]
pub enum GatewayAuth {
    Bearer(String),
    Basic { user: String, password: String },
}

impl GatewayAuth {
    /// `bearer:TOKEN` or `basic:user:password`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let refused = || "--sms-gateway-auth must be bearer:TOKEN or basic:user:password".to_owned();
        let (kind, rest) = text.split_once(':').ok_or_else(refused)?;
        match kind.to_ascii_lowercase().as_str() {
            "bearer" if !rest.is_empty() => Ok(Self::Bearer(rest.to_owned())),
            "basic" => match rest.split_once(':') {
                Some((user, password)) if !user.is_empty() => {
                    Ok(Self::Basic { user: user.to_owned(), password: password.to_owned() })
                }
                _ => Err(refused()),
            },
            _ => Err(refused()),
        }
    }
}

impl std::fmt::Debug for GatewayAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(…)"),
            Self::Basic { user, .. } => write!(f, "Basic({user}:…)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_5_s_doubling_up_to_10_minutes_until_the_last_attempt() {
        let settings = MessagingSettings::default();
        let waits: Vec<Option<u64>> =
            (1..=11).map(|failed| settings.retry_after(failed).map(|d| d.as_secs())).collect();
        let expected = [5, 10, 20, 40, 80, 160, 320, 600, 600].map(Some);
        assert_eq!(waits[..9], expected, "after failed sends 1 … 9");
        assert_eq!(waits[9..], [None, None], "the 10th send was the last");
        let few = MessagingSettings { attempts: 2, ..MessagingSettings::default() };
        assert_eq!((few.retry_after(1), few.retry_after(2)), (Some(Duration::from_secs(5)), None));
        let many = MessagingSettings { attempts: 1000, ..MessagingSettings::default() };
        assert_eq!(many.retry_after(999), Some(Duration::from_secs(600)), "no overflow far along");
    }

    #[test]
    fn smtp_settings_are_checked_and_never_show_the_password() {
        let smtp =
            SmtpSettings::new("smtp://kassa:s3cret@mail.example:587?tls=required", "kassa <noreply@example.com>")
                .unwrap();
        assert_eq!(smtp.server(), "smtp://mail.example:587 (tls=required)");
        assert_eq!(smtp.from.email.to_string(), "noreply@example.com");
        assert!(!format!("{smtp:?}").contains("s3cret"), "{smtp:?}");
        let problems = SmtpSettings::new("http://mail.example", "not a mailbox").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("--smtp-url is not an SMTP connection URL"), "{problems:?}");
        assert!(problems[1].starts_with("--smtp-from \"not a mailbox\" is not a mailbox"), "{problems:?}");
    }

    #[test]
    fn gateway_settings_name_each_problem() {
        let gateway = GatewaySettings::new(
            "https://sms.example/send",
            Some("basic:kassa:pa:ss"),
            GatewaySettings::DEFAULT_TEMPLATE,
        )
        .unwrap();
        assert_eq!(gateway.authorization, Some(GatewayAuth::Basic { user: "kassa".into(), password: "pa:ss".into() }));
        assert!(!format!("{gateway:?}").contains("pa:ss"));
        let problems = GatewaySettings::new("ftp://sms.example", Some("token"), r#"{"text": "{{body}}"}"#).unwrap_err();
        assert_eq!(
            problems,
            [
                "--sms-gateway-url must be an http or https URL, not ftp:",
                "--sms-gateway-auth must be bearer:TOKEN or basic:user:password",
                "--sms-gateway-template does not use {{to}} in any string value",
            ]
        );
        assert_eq!(GatewayAuth::parse("Bearer:abc"), Ok(GatewayAuth::Bearer("abc".into())));
        assert!(GatewayAuth::parse("bearer:").is_err());
    }
}

//! SMS over an HTTP gateway: a POST of the operator's JSON template, filled for the message, with
//! the configured `Authorization`. 2xx is sent; 408, 429 and 5xx may pass and are retried, and so
//! are 401 and 403 (the gateway refuses kassa's credentials, not this message: once the operator
//! mends `--sms-gateway-auth` the messages waiting go out); any other answer is a refusal of the
//! message, for good.

use super::{MessageSender, SendFailure, error_chain};
use crate::app::messaging::template::Fields;
use crate::app::messaging::{GatewayAuth, GatewaySettings};
use async_trait::async_trait;
use kassa_store::Message;
use std::time::Duration;

/// How much of a gateway's answer a failure keeps.
const EXCERPT_CHARS: usize = 512;

pub struct GatewaySender {
    client: reqwest::Client,
    settings: GatewaySettings,
}

impl GatewaySender {
    pub fn new(settings: &GatewaySettings, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kassa/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the SMS gateway's HTTP client: {e}"))?;
        Ok(Self { client, settings: settings.clone() })
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.settings.authorization {
            None => request,
            Some(GatewayAuth::Bearer(token)) => request.bearer_auth(token),
            Some(GatewayAuth::Basic { user, password }) => request.basic_auth(user, Some(password)),
        }
    }
}

/// Whether a gateway's non-2xx `status` may pass if the message is sent again.
fn retryable(status: u16) -> bool {
    matches!(status, 401 | 403 | 408 | 429) || status >= 500
}

#[async_trait]
impl MessageSender for GatewaySender {
    async fn send(&self, message: &Message) -> Result<(), SendFailure> {
        let fields = Fields {
            to: &message.recipient,
            country: message.country.as_deref().unwrap_or_default(),
            body: &message.body,
            message_id: &message.id,
        };
        let body = self.settings.template.render(&fields);
        let request = self.authorized(self.client.post(self.settings.url.clone())).json(&body);
        let response = request.send().await.map_err(|e| SendFailure::retryable(error_chain(&e)))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(());
        }
        let answer = response.text().await.unwrap_or_default();
        let excerpt: String = answer.chars().take(EXCERPT_CHARS).collect();
        let reason = if excerpt.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {excerpt}") };
        Err(SendFailure { permanent: !retryable(status), reason })
    }

    async fn probe(&self) -> Result<(), String> {
        // Any answer at all: a gateway may well refuse a HEAD, and still be there.
        let request = self.authorized(self.client.head(self.settings.url.clone()));
        request.send().await.map(drop).map_err(|e| error_chain(&e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_timeouts_throttling_and_server_errors_are_retried_other_refusals_are_final() {
        let retried: Vec<u16> = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503]
            .into_iter()
            .filter(|s| super::retryable(*s))
            .collect();
        assert_eq!(retried, [401, 403, 408, 429, 500, 502, 503]);
    }
}

//! Standard Webhooks v1 signatures (<https://www.standardwebhooks.com/>), so merchants can check
//! that a callback really came from us with any off-the-shelf Standard Webhooks library.
//!
//! Pure: the caller supplies randomness (to [`WebhookSecret::generate`]) and the timestamp.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

const PREFIX: &str = "whsec_";
/// The spec says secrets SHOULD be 24 to 64 bytes; shorter keys are too weak to accept.
const KEY_LEN: std::ops::RangeInclusive<usize> = 24..=64;

/// A signing key in its shareable `whsec_<base64>` form. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    encoded: String,
    key: Vec<u8>,
}

/// Why a string is not a [`WebhookSecret`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("webhook secret must start with `{PREFIX}`")]
    MissingPrefix,
    #[error("webhook secret is not standard base64 after `{PREFIX}`")]
    InvalidBase64,
    #[error("webhook secret key is {0} bytes; expected 24 to 64")]
    InvalidLength(usize),
}

impl WebhookSecret {
    /// A fresh 32-byte secret from caller-supplied random bytes (the core has no randomness).
    pub fn generate(random_bytes: [u8; 32]) -> Self {
        Self { encoded: format!("{PREFIX}{}", STANDARD.encode(random_bytes)), key: random_bytes.to_vec() }
    }

    /// Parses `whsec_<standard base64 of 24..=64 key bytes>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let b64 = text.strip_prefix(PREFIX).ok_or(SecretError::MissingPrefix)?;
        let key = STANDARD.decode(b64).map_err(|_| SecretError::InvalidBase64)?;
        if !KEY_LEN.contains(&key.len()) {
            return Err(SecretError::InvalidLength(key.len()));
        }
        Ok(Self { encoded: text.to_owned(), key })
    }

    /// The `whsec_...` form, to store or show to the merchant once.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// `v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp_secs}.{body}">`.
    fn sign_one(&self, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(format!("{msg_id}.{timestamp_secs}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl FromStr for WebhookSecret {
    type Err = SecretError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_<redacted>)")
    }
}

/// The `webhook-signature` header value: one `v1,<signature>` per secret, space-separated, so a
/// receiver holding either the old or the new secret verifies during key rotation. `msg_id` and
/// `timestamp_secs` must be sent as the `webhook-id` and `webhook-timestamp` headers. No secrets
/// give an empty string.
pub fn sign(secrets: &[WebhookSecret], msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign_one(msg_id, timestamp_secs, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, Webhook};

    /// The Standard Webhooks test vector (spec repository and every reference library).
    const SPEC_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const MSG_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

    fn secret(fill: u8) -> WebhookSecret {
        WebhookSecret::generate([fill; 32])
    }

    /// `standardwebhooks` rejects timestamps more than 5 minutes from its own clock, so tests
    /// (unlike the module) read the clock.
    fn now_secs() -> i64 {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        i64::try_from(since_epoch.as_secs()).unwrap()
    }

    /// Verifies with the independent `standardwebhooks` crate.
    fn verify(secret: &WebhookSecret, msg_id: &str, ts: i64, signature: &str, body: &[u8]) -> bool {
        let mut headers = http::HeaderMap::new();
        headers.insert(HEADER_WEBHOOK_ID, msg_id.parse().unwrap());
        headers.insert(HEADER_WEBHOOK_TIMESTAMP, ts.to_string().parse().unwrap());
        headers.insert(HEADER_WEBHOOK_SIGNATURE, signature.parse().unwrap());
        Webhook::new(secret.as_str()).unwrap().verify(body, &headers).is_ok()
    }

    #[test]
    fn matches_the_spec_test_vector() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(sign(&[secret], MSG_ID, 1_649_367_553, BODY), "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn generated_secret_round_trips() {
        let s = secret(7);
        assert_eq!(s.as_str(), format!("whsec_{}", STANDARD.encode([7u8; 32])));
        assert_eq!(s.as_str().parse::<WebhookSecret>(), Ok(s.clone()));
        assert_eq!(s.as_str().len(), "whsec_".len() + 44);
    }

    #[test]
    fn debug_hides_the_key() {
        let s = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("C2FVsBQIhrscChlQIMV"), "{shown}");
        assert_eq!(shown, "WebhookSecret(whsec_<redacted>)");
    }

    #[test]
    fn rejects_malformed_secrets() {
        assert_eq!(WebhookSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD"), Err(SecretError::MissingPrefix));
        assert_eq!(WebhookSecret::parse("whsec_not base64!"), Err(SecretError::InvalidBase64));
        assert_eq!(WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV-b5sSYspob7oD"), Err(SecretError::InvalidBase64));
        assert_eq!(WebhookSecret::parse("whsec_c2hvcnQ="), Err(SecretError::InvalidLength(5)));
        let long = format!("whsec_{}", STANDARD.encode([1u8; 65]));
        assert_eq!(WebhookSecret::parse(&long), Err(SecretError::InvalidLength(65)));
    }

    #[test]
    fn verified_by_standardwebhooks() {
        let (s, ts) = (secret(1), now_secs());
        let header = sign(std::slice::from_ref(&s), MSG_ID, ts, BODY);
        assert!(verify(&s, MSG_ID, ts, &header, BODY));
        assert!(!verify(&secret(2), MSG_ID, ts, &header, BODY), "wrong secret");
        assert!(!verify(&s, "msg_other", ts, &header, BODY), "wrong message id");
        assert!(!verify(&s, MSG_ID, ts + 1, &header, BODY), "wrong timestamp");
    }

    #[test]
    fn tampered_body_fails() {
        let (s, ts) = (secret(3), now_secs());
        let header = sign(std::slice::from_ref(&s), MSG_ID, ts, BODY);
        let tampered = br#"{"email":"evil@example.com","username":"test_user"}"#;
        assert!(!verify(&s, MSG_ID, ts, &header, tampered));
    }

    #[test]
    fn rotation_signs_with_every_secret() {
        let (old, new, ts) = (secret(4), secret(5), now_secs());
        let header = sign(&[old.clone(), new.clone()], MSG_ID, ts, BODY);
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|part| part.starts_with("v1,")));
        assert!(verify(&old, MSG_ID, ts, &header, BODY));
        assert!(verify(&new, MSG_ID, ts, &header, BODY));
        assert!(!verify(&secret(6), MSG_ID, ts, &header, BODY));
        assert!(!verify(&new, MSG_ID, ts, &header, b"{}"));
        assert_eq!(sign(&[], MSG_ID, ts, BODY), "");
    }

    proptest! {
        #[test]
        fn any_body_verifies(key in any::<[u8; 32]>(), id in "msg_[A-Za-z0-9]{1,30}", body in ".*") {
            let (s, ts) = (WebhookSecret::generate(key), now_secs());
            let header = sign(std::slice::from_ref(&s), &id, ts, body.as_bytes());
            prop_assert!(verify(&s, &id, ts, &header, body.as_bytes()));
        }
    }
}

//! Merchant API credentials: generated secrets, stored as a salted SHA-256 hash.
//!
//! Secrets are 256-bit random strings, so a fast hash is the right tool (as for API tokens):
//! verifying costs microseconds on every request, and no dictionary attack applies.

use crate::model::ids;
use kassa_core::Timestamp;
use kassa_core::retry::RetryPolicy;
use kassa_core::signature::WebhookSecret;
use kassa_store::Merchant;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A merchant as created, with the only copy of its secret in clear text.
pub struct NewCredentials {
    pub merchant: Merchant,
    pub secret: String,
}

/// The shortest secret accepted when the operator chooses one.
pub const MIN_SECRET_LEN: usize = 16;

pub fn create(
    name: &str,
    username: Option<&str>,
    secret: Option<&str>,
    now: Timestamp,
) -> Result<NewCredentials, String> {
    let id = ids::new_id();
    let username = username.map_or_else(
        || format!("K{}_{}", &ids::random_hex::<3>().to_uppercase(), ids::random_hex::<6>()),
        str::to_owned,
    );
    if username.is_empty() || username.contains(':') || username.len() > 128 {
        return Err("the username must be 1 to 128 characters and contain no ':'".into());
    }
    let secret = secret.map_or_else(|| format!("ksk_{}", ids::random_hex::<32>()), str::to_owned);
    if secret.len() < MIN_SECRET_LEN {
        return Err(format!("the secret must be at least {MIN_SECRET_LEN} characters"));
    }
    let secret_salt = ids::random_hex::<16>();
    let secret_hash = hash(&secret_salt, &secret);
    let merchant = Merchant {
        id,
        name: name.to_owned(),
        username,
        secret_salt,
        secret_hash,
        created_at: now,
        webhook_secrets: vec![new_webhook_secret()],
        retry_policy: RetryPolicy::Klarna,
    };
    Ok(NewCredentials { merchant, secret })
}

fn hash(salt: &str, secret: &str) -> String {
    let digest =
        Sha256::new().chain_update(salt.as_bytes()).chain_update(b":").chain_update(secret.as_bytes()).finalize();
    hex::encode(digest)
}

/// A fresh Standard Webhooks signing secret (`whsec_` + 32 random bytes).
pub fn new_webhook_secret() -> String {
    WebhookSecret::generate(ids::random_bytes::<32>()).as_str().to_owned()
}

/// Whether `secret` is the merchant's, compared in constant time.
pub fn verify(merchant: &Merchant, secret: &str) -> bool {
    let computed = hash(&merchant.secret_salt, secret);
    computed.as_bytes().ct_eq(merchant.secret_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_right_secret() {
        let created = create("Shop", None, None, Timestamp::from_millis(0)).unwrap();
        assert!(verify(&created.merchant, &created.secret));
        assert!(!verify(&created.merchant, "wrong-secret-of-some-length"));
        assert_ne!(created.merchant.secret_hash, created.secret);
        assert!(create("Shop", Some("a:b"), None, Timestamp::from_millis(0)).is_err());
        assert!(create("Shop", None, Some("short"), Timestamp::from_millis(0)).is_err());
    }
}

//! Merchants' webhook signing secrets through the operator's keys ([`SecretBox`]): sealed when
//! written, opened when read, and at start every stored secret is checked (one that no
//! configured key opens stops the start: kassa never signs with what it cannot read) and brought
//! under the first key (a rotation, or secrets written before a key was configured).

use crate::app::secrets::{OpenError, SecretBox};
use crate::service::error::ServiceError;
use kassa_core::retry::RetryPolicy;
use kassa_store::{Merchant, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error(
        "the webhook signing secrets of merchant {username} cannot be read: {reason}; \
         give the key they were encrypted under in --secret-key (KASSA_SECRET_KEY)"
    )]
    Unreadable { username: String, reason: OpenError },
    #[error("the webhook signing secrets of merchant {0} kept changing while they were re-encrypted; try again")]
    Busy(String),
}

/// Adds `merchant`, whose webhook secrets are in clear, with them sealed.
pub async fn add_merchant(store: &dyn Store, keys: &SecretBox, merchant: &Merchant) -> Result<(), StoreError> {
    let webhook_secrets = keys.seal_all(&merchant.id, &merchant.webhook_secrets);
    store.insert_merchant(&Merchant { webhook_secrets, ..merchant.clone() }).await
}

/// The merchant's webhook secrets in clear.
pub fn webhook_secrets(keys: &SecretBox, merchant: &Merchant) -> Result<Vec<String>, SecretsError> {
    keys.open_all(&merchant.id, &merchant.webhook_secrets)
        .map_err(|reason| SecretsError::Unreadable { username: merchant.username.clone(), reason })
}

/// The merchant's webhook secrets in clear, for the merchant itself: a secret no configured key
/// opens (written since start under another key) is the operator's to mend, not the caller's.
pub fn readable_webhook_secrets(keys: &SecretBox, merchant: &Merchant) -> Result<Vec<String>, ServiceError> {
    webhook_secrets(keys, merchant).map_err(|e| {
        tracing::error!(merchant = %merchant.username, error = %e, "webhook secrets unreadable");
        ServiceError::Unavailable("The webhook signing secrets cannot be read now; the operator is told".into())
    })
}

/// Replaces the merchant's webhook secrets (given in clear) and retry policy.
pub async fn set_webhooks(
    store: &dyn Store,
    keys: &SecretBox,
    merchant: &Merchant,
    secrets: &[String],
    policy: RetryPolicy,
) -> Result<bool, StoreError> {
    store.set_merchant_webhooks(&merchant.username, &keys.seal_all(&merchant.id, secrets), policy).await
}

/// What [`seal_at_rest`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub merchants: usize,
    /// Merchants whose secrets were written again, under the first key.
    pub resealed: usize,
}

/// Checks that every merchant's stored secrets open with `keys`, and writes again those not
/// sealed under the first key (all of them clear when no key is configured: then only the check).
/// Guarded: a merchant whose secrets changed meanwhile (a rotation on another node) is read again.
pub async fn seal_at_rest(store: &dyn Store, keys: &SecretBox) -> Result<Resealed, SecretsError> {
    let merchants = store.merchants().await?;
    let mut resealed = 0;
    for listed in &merchants {
        let mut merchant = listed.clone();
        let mut tries = 0;
        loop {
            let clear = webhook_secrets(keys, &merchant)?;
            if merchant.webhook_secrets.iter().all(|s| keys.is_current(s)) {
                break;
            }
            let sealed = keys.seal_all(&merchant.id, &clear);
            if store.replace_webhook_secrets(&merchant.id, &merchant.webhook_secrets, &sealed).await? {
                resealed += 1;
                break;
            }
            tries += 1;
            match store.merchant(&merchant.id).await? {
                Some(again) if tries < 5 => merchant = again,
                Some(_) => return Err(SecretsError::Busy(merchant.username)),
                None => break,
            }
        }
    }
    Ok(Resealed { merchants: merchants.len(), resealed })
}

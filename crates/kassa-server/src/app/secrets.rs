//! Webhook signing secrets at rest: sealed under the operator's keys (`--secret-key`), as Svix
//! does with its main secret.
//!
//! A key is 32 bytes (base64), optionally named `id:key`; unnamed keys are named by a digest of
//! the key. The first key seals, every key opens, so a rotation is: put the new key first, reseal
//! (at start, or `kassa merchant reencrypt`), drop the old key. A sealed value is
//! `kassa-enc:v1:<key id>:<base64 of nonce ‖ ciphertext>`: ChaCha20-Poly1305 with a random 96-bit
//! nonce per value and the merchant's id as associated data (a value copied to another merchant
//! does not open). A value without the prefix is clear (no key configured, or written before one
//! was). The store never sees a key: the server seals what it writes and opens what it reads.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::sync::Arc;

/// What every sealed value starts with.
pub const SEALED: &str = "kassa-enc:v1:";
const NONCE_BYTES: usize = 12;

#[derive(Clone)]
struct Key {
    id: String,
    cipher: ChaCha20Poly1305,
}

/// The operator's keys (none: secrets stay clear, as before).
#[derive(Clone, Default)]
pub struct SecretBox {
    keys: Arc<[Key]>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox").field("key_ids", &self.key_ids()).finish()
    }
}

impl PartialEq for SecretBox {
    fn eq(&self, other: &Self) -> bool {
        self.key_ids() == other.key_ids()
    }
}

/// `keys`, comma-separated: each `base64` of 32 bytes or `id:base64`.
impl FromStr for SecretBox {
    type Err = String;

    fn from_str(keys: &str) -> Result<Self, String> {
        let mut parsed: Vec<Key> = Vec::new();
        for (n, entry) in keys.split(',').map(str::trim).enumerate() {
            let which = format!("secret key {}", n + 1);
            let (id, encoded) = match entry.split_once(':') {
                Some((id, encoded)) => (Some(id.trim()), encoded.trim()),
                None => (None, entry),
            };
            let bytes =
                STANDARD.decode(encoded).map_err(|_| format!("{which} is not base64 (`openssl rand -base64 32`)"))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|b: Vec<u8>| format!("{which} has {} bytes, not 32 (`openssl rand -base64 32`)", b.len()))?;
            let id = match id {
                Some(id) if valid_id(id) => id.to_owned(),
                Some(_) => return Err(format!("{which}: an id is 1 to 32 letters, digits, '-' or '_'")),
                None => {
                    hex::encode(&Sha256::new().chain_update(b"kassa secret key id\0").chain_update(key).finalize()[..4])
                }
            };
            if parsed.iter().any(|k| k.id == id) {
                return Err(format!("{which}: the id {id} is given twice"));
            }
            parsed.push(Key { id, cipher: ChaCha20Poly1305::new(&key.into()) });
        }
        Ok(Self { keys: parsed.into() })
    }
}

fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a stored value does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("it is encrypted under key {0}, which is not among the configured secret keys")]
    UnknownKey(String),
    #[error("it does not decrypt under key {0} (a different key with that id, or a damaged value)")]
    Damaged(String),
    #[error("it starts with kassa-enc:v1: but is not a sealed value")]
    Malformed,
}

impl SecretBox {
    /// The ids of the keys, the sealing one first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    pub fn is_configured(&self) -> bool {
        !self.keys.is_empty()
    }

    /// `secret` of `merchant_id` as it is stored: sealed under the first key, or clear without
    /// one.
    pub fn seal(&self, merchant_id: &str, secret: &str) -> String {
        let Some(key) = self.keys.first() else { return secret.to_owned() };
        let nonce = crate::model::ids::random_bytes::<NONCE_BYTES>();
        let payload = Payload { msg: secret.as_bytes(), aad: merchant_id.as_bytes() };
        // Encrypting a few bytes into memory cannot fail (only inputs beyond 256 GiB do).
        let sealed = key.cipher.encrypt(&nonce.into(), payload).unwrap_or_default();
        format!("{SEALED}{}:{}", key.id, STANDARD.encode([nonce.as_slice(), &sealed].concat()))
    }

    /// A stored value of `merchant_id` in clear.
    pub fn open(&self, merchant_id: &str, stored: &str) -> Result<String, OpenError> {
        let Some(sealed) = stored.strip_prefix(SEALED) else { return Ok(stored.to_owned()) };
        let (id, encoded) = sealed.split_once(':').ok_or(OpenError::Malformed)?;
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let bytes = STANDARD.decode(encoded).map_err(|_| OpenError::Malformed)?;
        if bytes.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let payload = Payload { msg: ciphertext, aad: merchant_id.as_bytes() };
        let clear = key
            .cipher
            .decrypt(chacha20poly1305::Nonce::from_slice(nonce), payload)
            .map_err(|_| OpenError::Damaged(id.to_owned()))?;
        String::from_utf8(clear).map_err(|_| OpenError::Damaged(id.to_owned()))
    }

    /// Whether `stored` is as this box would write it now: under the first key, or clear when no
    /// key is configured.
    pub fn is_current(&self, stored: &str) -> bool {
        match (self.keys.first(), stored.strip_prefix(SEALED)) {
            (None, sealed) => sealed.is_none(),
            (Some(key), Some(sealed)) => sealed.split_once(':').is_some_and(|(id, _)| id == key.id),
            (Some(_), None) => false,
        }
    }

    pub fn seal_all(&self, merchant_id: &str, secrets: &[String]) -> Vec<String> {
        secrets.iter().map(|s| self.seal(merchant_id, s)).collect()
    }

    pub fn open_all(&self, merchant_id: &str, stored: &[String]) -> Result<Vec<String>, OpenError> {
        stored.iter().map(|s| self.open(merchant_id, s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const B: &str = "HxwdHhscGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

    #[test]
    fn sealed_values_open_only_for_their_merchant_and_key() {
        let keys: SecretBox = format!("new:{B},{A}").parse().unwrap();
        let sealed = keys.seal("m1", "whsec_abc");
        assert!(sealed.starts_with("kassa-enc:v1:new:") && !sealed.contains("whsec_abc"), "{sealed}");
        assert_ne!(keys.seal("m1", "whsec_abc"), sealed, "a fresh nonce each time");
        assert_eq!(keys.open("m1", &sealed).unwrap(), "whsec_abc");
        assert_eq!(keys.open("m2", &sealed), Err(OpenError::Damaged("new".into())), "bound to the merchant");
        let old_only: SecretBox = A.parse().unwrap();
        assert_eq!(old_only.open("m1", &sealed), Err(OpenError::UnknownKey("new".into())));
        // The unnamed key is named by its digest, the same wherever it is configured.
        let by_old = old_only.seal("m1", "whsec_abc");
        assert_eq!(keys.open("m1", &by_old).unwrap(), "whsec_abc");
        assert!(keys.is_current(&sealed) && !keys.is_current(&by_old) && !keys.is_current("whsec_abc"));
        assert_eq!(SecretBox::default().open("m1", "whsec_abc").unwrap(), "whsec_abc", "clear stays clear");
        assert_eq!(SecretBox::default().seal("m1", "whsec_abc"), "whsec_abc");
        let mut damaged = sealed.clone();
        damaged.replace_range(sealed.len() - 4.., "AAAA");
        assert!(keys.open("m1", &damaged).is_err());
        assert_eq!(keys.open("m1", "kassa-enc:v1:new"), Err(OpenError::Malformed));
    }

    #[test]
    fn keys_are_checked() {
        assert!("c2hvcnQ=".parse::<SecretBox>().unwrap_err().contains("not 32"));
        assert!("not base64!".parse::<SecretBox>().unwrap_err().contains("not base64"));
        assert!(format!("a b:{A}").parse::<SecretBox>().unwrap_err().contains("an id is"));
        assert!(format!("k:{A},k:{B}").parse::<SecretBox>().unwrap_err().contains("twice"));
        assert!(format!("{A},{A}").parse::<SecretBox>().unwrap_err().contains("twice"));
        assert_eq!(format!("k1:{A}, {B}").parse::<SecretBox>().unwrap().key_ids().len(), 2);
        let named: SecretBox = format!("k1:{A}").parse().unwrap();
        assert_eq!(format!("{named:?}"), r#"SecretBox { key_ids: ["k1"] }"#, "no key material");
    }
}

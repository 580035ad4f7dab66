//! Klarna's human-readable order reference.

use serde::{Deserialize, Serialize};

/// Klarna's human-readable order reference: 8 upper-case alphanumeric characters (`X438HG0Q`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KlarnaReference(String);

impl KlarnaReference {
    pub const LEN: usize = 8;
    const ALPHABET: &'static [u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// Builds a reference from 8 random bytes (the caller owns the randomness).
    pub fn from_random(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes.iter().map(|b| Self::ALPHABET[usize::from(*b) % Self::ALPHABET.len()] as char).collect())
    }

    pub fn parse(text: &str) -> Option<Self> {
        let valid = text.len() == Self::LEN && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        valid.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn references_are_eight_upper_alphanumerics(bytes in any::<[u8; 8]>()) {
            let reference = KlarnaReference::from_random(bytes);
            prop_assert!(KlarnaReference::parse(reference.as_str()).is_some());
        }
    }

    #[test]
    fn parse_rejects_lower_case_and_wrong_length() {
        assert!(KlarnaReference::parse("X438HG0Q").is_some());
        assert!(KlarnaReference::parse("x438hg0q").is_none());
        assert!(KlarnaReference::parse("X438HG0").is_none());
    }
}

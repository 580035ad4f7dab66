//! Random identifiers and secrets, from the operating system's generator.

use kassa_core::order::KlarnaReference;

/// A random UUID (v4), as Klarna's ids are.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A time-ordered UUID (v7): later calls in this process sort after earlier ones, also within
/// one millisecond, so rows listed "oldest first" keep the order they were made in.
pub fn ordered_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS generator failing leaves nothing sensible to do: no id, no secret can be made.
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("the operating system's random generator failed: {e}"));
    bytes
}

/// `N` random bytes as lower-case hex.
pub fn random_hex<const N: usize>() -> String {
    hex::encode(random_bytes::<N>())
}

/// 8 characters drawn uniformly from A–Z and 0–9 (rejection sampling: 252 = 7 × 36).
pub fn klarna_reference() -> KlarnaReference {
    let mut picked = [0u8; KlarnaReference::LEN];
    let mut filled = 0;
    while filled < picked.len() {
        for byte in random_bytes::<16>() {
            if byte < 252 && filled < picked.len() {
                picked[filled] = byte % 36;
                filled += 1;
            }
        }
    }
    KlarnaReference::from_random(picked)
}

//! Random identifiers and secrets, from the operating system's generator.

use kassa_core::order::KlarnaReference;

/// A random UUID (v4), as Klarna's ids are.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A UUID (v7) ordered by `now`: later calls in this process sort after earlier ones, also within
/// one millisecond, so rows listed "oldest first" keep the order they were made in.
pub fn ordered_id(now: kassa_core::Timestamp) -> String {
    static CONTEXT: std::sync::Mutex<uuid::ContextV7> = std::sync::Mutex::new(uuid::ContextV7::new());
    let context = CONTEXT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let millis = u64::try_from(now.millis()).unwrap_or(0);
    let at = uuid::Timestamp::from_unix(&*context, millis / 1000, (millis % 1000) as u32 * 1_000_000);
    uuid::Uuid::new_v7(at).to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_ids_sort_in_the_order_they_were_made_also_within_a_millisecond() {
        let now = kassa_core::Timestamp::from_millis(1_700_000_000_123);
        let ids: Vec<String> = (0..200).map(|_| ordered_id(now)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ordered_id(now.plus_millis(1)) > ids[199]);
    }
}

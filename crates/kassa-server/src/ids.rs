//! Random identifiers, from the operating system's generator (through `uuid`).

use kassa_core::order::KlarnaReference;

/// A random UUID (v4), as Klarna's ids are.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `bytes` random bytes as lower-case hex.
pub fn random_hex(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() < bytes * 2 {
                out.push_str(&format!("{b:02x}"));
            }
        }
    }
    out
}

pub fn klarna_reference() -> KlarnaReference {
    let random = uuid::Uuid::new_v4();
    let mut bytes = [0u8; KlarnaReference::LEN];
    bytes.copy_from_slice(&random.as_bytes()[..KlarnaReference::LEN]);
    KlarnaReference::from_random(bytes)
}

//! Cross-node wake-ups: a node that commits a change tells the others (PostgreSQL `NOTIFY`, sent
//! with the commit), so their long-polls, streams and delivery workers wake at once. A missed
//! notification only delays: every waiter also re-checks on a timer.

/// The PostgreSQL channel kassa notifies on.
pub const CHANNEL: &str = "kassa_changes";

/// A session changed on some node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub session_id: String,
    /// The session's event sequence number after the change.
    pub seq: u64,
    /// Whether the change added callback deliveries.
    pub deliveries: bool,
}

impl Notification {
    pub fn payload(&self) -> String {
        format!("{} {} {}", self.seq, u8::from(self.deliveries), self.session_id)
    }

    pub fn parse(payload: &str) -> Option<Self> {
        let mut parts = payload.splitn(3, ' ');
        let seq = parts.next()?.parse().ok()?;
        let deliveries = parts.next()? == "1";
        let session_id = parts.next()?.to_owned();
        Some(Self { session_id, seq, deliveries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let n = Notification { session_id: "a b".into(), seq: 7, deliveries: true };
        assert_eq!(Notification::parse(&n.payload()), Some(n));
        assert_eq!(Notification::parse("x"), None);
    }
}

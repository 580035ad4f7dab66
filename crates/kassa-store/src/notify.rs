//! Cross-node wake-ups: a node that commits a change tells the others (PostgreSQL `NOTIFY`, sent
//! with the commit), so their long-polls, streams and delivery workers wake at once. When the
//! listener loses its connection, what was sent meanwhile is not heard: it then passes on
//! [`Notification::missed`], and every waiter looks again once.

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
    /// Not a change: notifications may have been missed (the listener reconnected).
    pub fn missed() -> Self {
        Self { session_id: String::new(), seq: 0, deliveries: true }
    }

    /// Whether this is [`Notification::missed`] (no session id is empty).
    pub fn is_missed(&self) -> bool {
        self.session_id.is_empty()
    }

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
        assert_eq!(Notification::parse(&n.payload()), Some(n.clone()));
        assert_eq!(Notification::parse("x"), None);
        assert!(Notification::missed().is_missed() && !n.is_missed());
    }
}

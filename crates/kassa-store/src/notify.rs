//! Cross-node wake-ups: a node that commits a change tells the others (PostgreSQL `NOTIFY`, sent
//! with the commit), so their long-polls, streams and delivery workers wake at once. One commit
//! (a group-commit batch) sends one payload of a line per session it wrote. When the listener
//! loses its connection, what was sent meanwhile is not heard: it then passes on
//! [`Notification::missed`], and every waiter looks again once.

/// The PostgreSQL channel kassa notifies on.
pub const CHANNEL: &str = "kassa_changes";

/// The longest payload sent (PostgreSQL refuses 8000 bytes and more).
pub const MAX_PAYLOAD: usize = 7900;

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

    /// Payloads of at most [`MAX_PAYLOAD`] bytes, a line per notification, in order.
    pub fn payloads(notifications: &[Self]) -> Vec<String> {
        let mut payloads: Vec<String> = Vec::new();
        for line in notifications.iter().map(Self::payload) {
            match payloads.last_mut() {
                Some(payload) if payload.len() + 1 + line.len() <= MAX_PAYLOAD => {
                    payload.push('\n');
                    payload.push_str(&line);
                }
                _ => payloads.push(line),
            }
        }
        payloads
    }

    /// Every notification of a payload (its well-formed lines).
    pub fn parse_all(payload: &str) -> impl Iterator<Item = Self> + '_ {
        payload.lines().filter_map(Self::parse)
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

    #[test]
    fn one_payload_per_commit_split_where_it_would_not_fit() {
        let of = |i: usize| Notification {
            session_id: format!("session-{i:032}"),
            seq: i as u64,
            deliveries: i.is_multiple_of(2),
        };
        let all: Vec<Notification> = (0..500).map(of).collect();
        let payloads = Notification::payloads(&all);
        assert!(payloads.len() > 1 && payloads.iter().all(|p| p.len() <= MAX_PAYLOAD), "{}", payloads.len());
        let parsed: Vec<Notification> = payloads.iter().flat_map(|p| Notification::parse_all(p)).collect();
        assert_eq!(parsed, all);
        assert_eq!(Notification::payloads(&all[..3]).len(), 1);
        assert!(Notification::payloads(&[]).is_empty());
    }
}

//! The connections a server holds, under a cap: when a new one arrives at the cap, the oldest
//! connection that is not in a request (idle keep-alive, or still sending its headers) is closed
//! to make room, so slow or idle clients can never crowd out a request that is ready to be
//! served. Connections in a request — long-polls and event streams included — are never closed
//! for room; when every held connection is in one, the newcomer is refused.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub struct Connections {
    cap: usize,
    held: Mutex<BTreeMap<u64, Arc<Slot>>>,
    next: std::sync::atomic::AtomicU64,
}

/// One held connection: how many of its requests are being served, and its close signal.
#[derive(Default)]
pub struct Slot {
    in_request: AtomicUsize,
    close: CancellationToken,
}

impl Slot {
    /// Fires when the connection is closed to make room.
    pub fn closed(&self) -> &CancellationToken {
        &self.close
    }

    /// Marks a request in progress until the guard is dropped (with the response body).
    pub fn in_request(self: &Arc<Self>) -> InRequest {
        self.in_request.fetch_add(1, Ordering::AcqRel);
        InRequest(self.clone())
    }

    fn is_idle(&self) -> bool {
        self.in_request.load(Ordering::Acquire) == 0
    }
}

/// A request being served on a [`Slot`]'s connection.
pub struct InRequest(Arc<Slot>);

impl Drop for InRequest {
    fn drop(&mut self) {
        self.0.in_request.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection's place among the held ones; dropping it gives the place back.
pub struct Held {
    id: u64,
    pub slot: Arc<Slot>,
    connections: Arc<Connections>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.connections.lock().remove(&self.id);
    }
}

/// What [`Connections::admit`] decided about a new connection.
pub enum Admission {
    Held(Held),
    /// At the cap with every held connection in a request.
    Refused,
}

impl Connections {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self { cap: cap.max(1), held: Mutex::default(), next: Default::default() })
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Holds a new connection, closing the oldest idle one first when at the cap; reports how
    /// many were closed for room (0 or 1).
    pub fn admit(self: &Arc<Self>) -> (Admission, usize) {
        let mut held = self.lock();
        let mut shed = 0;
        if held.len() >= self.cap {
            let oldest_idle = held.iter().find(|(_, slot)| slot.is_idle()).map(|(id, _)| *id);
            match oldest_idle.and_then(|id| held.remove(&id)) {
                Some(slot) => {
                    slot.close.cancel();
                    shed = 1;
                }
                None => return (Admission::Refused, 0),
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot::default());
        held.insert(id, slot.clone());
        (Admission::Held(Held { id, slot, connections: self.clone() }), shed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Slot>>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(admission: (Admission, usize)) -> (Held, usize) {
        match admission {
            (Admission::Held(held), shed) => (held, shed),
            (Admission::Refused, _) => panic!("refused"),
        }
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room_and_busy_ones_never_do() {
        let connections = Connections::new(2);
        let (first, _) = held(connections.admit());
        let (second, _) = held(connections.admit());
        let busy = first.slot.in_request();
        let (third, shed) = held(connections.admit());
        assert_eq!(shed, 1);
        assert!(second.slot.closed().is_cancelled(), "the oldest idle one is closed");
        assert!(!first.slot.closed().is_cancelled(), "a connection in a request is kept");
        let _third_busy = third.slot.in_request();
        assert!(matches!(connections.admit(), (Admission::Refused, 0)), "all held connections are busy");
        drop(busy);
        let (_fourth, shed) = held(connections.admit());
        assert_eq!(shed, 1);
        assert!(first.slot.closed().is_cancelled());
        drop(second);
        assert_eq!(connections.len(), 2);
    }
}

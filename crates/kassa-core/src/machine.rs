//! The generic part of every session state machine: a transition table, a lifecycle that moves
//! through it one accepted action at a time, and the event each accepted action yields.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// Declares a closed enum with its exact wire spelling, `as_str`, a case-insensitive `parse`
/// (Klarna's own examples mix `pay_later` and `PAY_LATER`) and `ALL`.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }

            /// Parses the wire spelling, ignoring ASCII case.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(text))
            }

            /// The accepted spellings, for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl $crate::machine::Named for $name {
            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A state machine given entirely by its transition table.
pub trait StateMachine: 'static {
    type Status: Copy + Eq + Debug + Named + 'static;
    type Action: Copy + Eq + Debug + Named + 'static;

    /// Every allowed `(from, action, to)`. Anything not listed is rejected.
    const TRANSITIONS: &'static [(Self::Status, Self::Action, Self::Status)];

    /// Final statuses accept no action at all.
    fn is_final(status: Self::Status) -> bool;

    /// The status reached from `from` by `action`, if the table allows it.
    fn next(from: Self::Status, action: Self::Action) -> Option<Self::Status> {
        if Self::is_final(from) {
            return None;
        }
        Self::TRANSITIONS.iter().find(|(f, a, _)| *f == from && *a == action).map(|(_, _, to)| *to)
    }
}

/// Anything with a fixed wire name.
pub trait Named {
    fn name(self) -> &'static str;
}

/// Why an action was refused. A refused action changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the session is {status}, a final status: `{action}` is not allowed")]
    Final { status: &'static str, action: &'static str },
    #[error("`{action}` is not allowed for a session in status {status}")]
    NotAllowed { status: &'static str, action: &'static str },
    #[error("{0}")]
    Guard(String),
}

/// One accepted status change, numbered per session without gaps starting at 1 (creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<S> {
    pub seq: u64,
    pub from: Option<S>,
    pub to: S,
    pub at: Timestamp,
}

/// Where a session stands: its status, how many events it has had, and when the last one was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle<S> {
    pub status: S,
    /// The sequence number of the latest event; also the optimistic-concurrency version.
    pub version: u64,
    pub updated_at: Timestamp,
}

impl<S: Copy + Eq + Debug + Named> Lifecycle<S> {
    /// A new session: version 1, whose creation is event 1.
    pub fn start(status: S, now: Timestamp) -> (Self, Event<S>) {
        let lifecycle = Self { status, version: 1, updated_at: now };
        (lifecycle, Event { seq: 1, from: None, to: status, at: now })
    }

    /// Applies one action through `M`'s table. `self` is untouched; on success the caller
    /// persists the returned lifecycle together with its event.
    pub fn apply<M>(&self, action: M::Action, now: Timestamp) -> Result<(Self, Event<S>), Rejected>
    where
        M: StateMachine<Status = S>,
    {
        let Some(to) = M::next(self.status, action) else {
            let (status, action) = (self.status.name(), action.name());
            return Err(if M::is_final(self.status) {
                Rejected::Final { status, action }
            } else {
                Rejected::NotAllowed { status, action }
            });
        };
        let seq = self.version + 1;
        let next = Self { status: to, version: seq, updated_at: now };
        Ok((next, Event { seq, from: Some(self.status), to, at: now }))
    }
}

#[cfg(test)]
pub(crate) mod laws {
    //! Laws every machine must satisfy; each machine's tests call [`check_machine`]. That a
    //! refused action changes nothing holds by construction here (`apply` takes `&self`); the
    //! API tests check it against the database.
    use super::*;
    use proptest::prelude::*;

    /// Every law for `M`: the table's, then the lifecycle's from each of `statuses` under random
    /// sequences of `actions` (pass the machine's `ALL` of both).
    pub fn check_machine<M: StateMachine>(statuses: &[M::Status], actions: &[M::Action]) {
        check_table::<M>();
        proptest!(|(start in 0..statuses.len(), steps in steps())| {
            check_laws::<M>(statuses[start], actions, &steps);
        });
    }

    /// The table itself: no row leaves a final status, and each (status, action) has one target.
    fn check_table<M: StateMachine>() {
        for (i, (from, action, _)) in M::TRANSITIONS.iter().enumerate() {
            assert!(!M::is_final(*from), "row {i} leaves final status {from:?}");
            let same = M::TRANSITIONS.iter().filter(|(f, a, _)| f == from && a == action).count();
            assert_eq!(same, 1, "({from:?}, {action:?}) has {same} rows");
        }
    }

    /// Random action sequences: every accepted action is a row of the table and yields exactly
    /// one event with the next sequence number; sequence numbers are gap-free from 1.
    fn check_laws<M: StateMachine>(start: M::Status, all: &[M::Action], steps: &[usize]) {
        let (mut life, first) = Lifecycle::start(start, Timestamp::from_millis(0));
        let mut events = vec![first];
        for (i, pick) in steps.iter().enumerate() {
            let action = all[pick % all.len()];
            let now = Timestamp::from_millis(i as i64 + 1);
            let result = life.apply::<M>(action, now);
            let row = M::TRANSITIONS.iter().find(|(f, a, _)| *f == life.status && *a == action);
            assert_eq!(result.is_ok(), row.is_some(), "accepted exactly when the table has a row");
            if let Ok((next, event)) = result {
                assert_eq!(event.seq, life.version + 1);
                assert_eq!(event.from, Some(life.status));
                assert_eq!((next.status, next.version, next.updated_at), (event.to, event.seq, now));
                assert_eq!(Some(event.to), row.map(|r| r.2));
                events.push(event);
                life = next;
            }
        }
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        let expected: Vec<u64> = (1..=events.len() as u64).collect();
        assert_eq!(seqs, expected, "sequence numbers must be gap-free from 1");
        assert_eq!(life.version, events.len() as u64);
    }

    pub fn steps() -> impl Strategy<Value = Vec<usize>> {
        proptest::collection::vec(0usize..64, 0..64)
    }
}

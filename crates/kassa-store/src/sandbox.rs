//! Sandbox settings kept per merchant: how its status callbacks misbehave, and how far its
//! sandbox clock is ahead of the wall clock. Only a sandbox-mode server writes them.

kassa_core::wire_enum! {
    /// How an attempt that the sandbox fails looks in the delivery log.
    pub enum SimulatedFailure {
        /// As if the receiver had answered HTTP 500.
        Http500 = "http_500",
        /// As if the receiver had not answered within the policy's timeout.
        Timeout = "timeout",
    }
}

/// How kassa misbehaves when it sends one merchant's callbacks (each only in ways at-least-once
/// delivery allows). The default misbehaves in no way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackMisbehaviour {
    /// Every attempt that is sent is sent twice, byte for byte the same.
    pub duplicate: bool,
    /// A callback's first attempt is made no earlier than this long after its event (on the
    /// merchant's service clock).
    pub delay_seconds: u32,
    /// The first this many attempts of every callback are recorded as failed (`failure`) without
    /// being sent; the retry policy decides what comes next.
    pub fail_first: u32,
    pub failure: SimulatedFailure,
    /// Every this-many-th callback (0: none) is dropped: never sent, recorded as given up.
    pub drop_every: u32,
}

impl Default for CallbackMisbehaviour {
    fn default() -> Self {
        Self { duplicate: false, delay_seconds: 0, fail_first: 0, failure: SimulatedFailure::Http500, drop_every: 0 }
    }
}

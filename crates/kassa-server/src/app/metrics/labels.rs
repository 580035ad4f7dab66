//! The label sets of kassa's metrics, and the closed sets of values some of them take.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use std::fmt::Write;

/// A closed set of label values, each written by its name.
macro_rules! label_values {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    };
}

label_values! {
    /// What became of one callback attempt.
    AttemptResult {
        Delivered = "delivered",
        HttpError = "http_error",
        Timeout = "timeout",
        NetworkError = "network_error",
        Simulated = "simulated",
    }
}

impl AttemptResult {
    /// The result of an attempt that the target answered (or not) with `outcome`.
    pub fn of(outcome: &kassa_core::retry::AttemptOutcome) -> Self {
        use kassa_core::retry::AttemptOutcome;
        match outcome {
            AttemptOutcome::Success => Self::Delivered,
            AttemptOutcome::HttpStatus { .. } => Self::HttpError,
            AttemptOutcome::Timeout => Self::Timeout,
            AttemptOutcome::NetworkError => Self::NetworkError,
        }
    }
}

label_values! {
    /// What became of one job run.
    JobResult { Done = "done", Failed = "failed" }
}

label_values! {
    /// What became of one attempt to send a distribution message.
    MessageResult { Sent = "sent", Retrying = "retrying", Failed = "failed" }
}

label_values! {
    /// Who waits for a change.
    WaiterKind { LongPoll = "long_poll", Stream = "stream", Page = "page" }
}

label_values! {
    /// Where credentials were tried.
    Surface { Api = "api", Login = "login" }
}

label_values! {
    /// Why credentials were refused.
    CredentialRefusal { Wrong = "wrong", Throttled = "throttled" }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PolicyLabels {
    pub policy: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    pub result: AttemptResult,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub kind: &'static str,
    pub result: JobResult,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WaiterLabels {
    pub kind: WaiterKind,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub pool: &'static str,
    pub state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolNameLabels {
    pub pool: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CategoryLabels {
    pub category: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CredentialLabels {
    pub surface: Surface,
    pub reason: CredentialRefusal,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    pub method: String,
    pub result: MessageResult,
}

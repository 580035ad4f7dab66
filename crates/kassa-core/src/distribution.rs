//! In-store payment distributions (seed 000, "Monitor the status").

use crate::machine::{Event, Lifecycle, Rejected, StateMachine};
use crate::{Timestamp, wire_enum};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// Distribution statuses, exactly as seed 000 lists them (CANCELED with one L).
    pub enum DistributionStatus {
        /// The payment link has not been distributed yet.
        Waiting = "WAITING",
        /// The payment link has been distributed.
        Distributed = "DISTRIBUTED",
        /// The customer has accessed the payment link.
        Accessed = "ACCESSED",
        /// The customer paid and the order was placed automatically (final).
        Completed = "COMPLETED",
        /// Canceled by the partner or the consumer (final).
        Canceled = "CANCELED",
        /// Distribution or connecting the customer failed; see the error code.
        Failed = "FAILED",
    }
}

wire_enum! {
    pub enum DistributionAction {
        /// The service produced the link and QR (and pushed to a short-code session).
        Distribute = "distribute",
        /// Distribution failed; the error is recorded on the distribution.
        Fail = "fail",
        /// The consumer opened the payment link.
        Access = "access",
        /// The consumer paid.
        Complete = "complete",
        /// The partner or the consumer canceled, or the unscanned session timed out.
        Cancel = "cancel",
        /// The partner retried a retryable failure.
        Retry = "retry",
    }
}

wire_enum! {
    /// Error codes for status FAILED (seed 000).
    pub enum DistributionErrorCode {
        /// No valid consumer session has the given short code.
        ConsumerSessionNotFound = "CONSUMER_SESSION_NOT_FOUND",
        /// System error.
        Unknown = "UNKNOWN",
    }
}

impl DistributionErrorCode {
    /// Whether the seed allows retrying the distribution after this error.
    pub const fn retryable(self) -> bool {
        matches!(self, Self::ConsumerSessionNotFound)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionError {
    pub code: DistributionErrorCode,
    pub retryable: bool,
}

pub struct DistributionMachine;

impl StateMachine for DistributionMachine {
    type Status = DistributionStatus;
    type Action = DistributionAction;

    #[rustfmt::skip]
    const TRANSITIONS: &'static [(DistributionStatus, DistributionAction, DistributionStatus)] = {
        use DistributionAction as A;
        use DistributionStatus::*;
        &[
            (Waiting,     A::Distribute, Distributed),
            (Waiting,     A::Fail,       Failed),
            (Distributed, A::Fail,       Failed),
            (Distributed, A::Access,     Accessed),
            // The QR and payment link stay a fallback after a retryable failure (a short code
            // that was not found); guarded in `Distribution::apply`.
            (Failed,      A::Access,     Accessed),
            (Accessed,    A::Complete,   Completed),
            (Waiting,     A::Cancel,     Canceled),
            (Distributed, A::Cancel,     Canceled),
            (Accessed,    A::Cancel,     Canceled),
            (Failed,      A::Cancel,     Canceled),
            // Only from a retryable FAILED (guarded in `Distribution::apply`).
            (Failed,      A::Retry,      Waiting),
        ]
    };

    fn is_final(status: DistributionStatus) -> bool {
        matches!(status, DistributionStatus::Completed | DistributionStatus::Canceled)
    }
}

/// The order a completed distribution placed (stored as `[order_id, klarna_reference]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(String, String)", into = "(String, String)")]
pub struct PlacedOrder {
    pub order_id: String,
    pub klarna_reference: String,
}

impl From<(String, String)> for PlacedOrder {
    fn from((order_id, klarna_reference): (String, String)) -> Self {
        Self { order_id, klarna_reference }
    }
}

impl From<PlacedOrder> for (String, String) {
    fn from(order: PlacedOrder) -> Self {
        (order.order_id, order.klarna_reference)
    }
}

/// An in-store distribution of a payment session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    pub session_id: String,
    pub merchant_id: String,
    pub lifecycle: Lifecycle<DistributionStatus>,
    pub created_at: Timestamp,
    pub short_code: Option<String>,
    pub status_update_url: Option<String>,
    pub error: Option<DistributionError>,
    pub order: Option<PlacedOrder>,
    /// The token of the payment link and QR, once the service has produced them.
    #[serde(default)]
    pub link_token: Option<String>,
}

impl Distribution {
    /// An unscanned session that nobody canceled is canceled this long after its creation.
    pub const AUTO_CANCEL_AFTER_HOURS: i64 = 3;

    pub fn create(
        session_id: String,
        merchant_id: String,
        short_code: Option<String>,
        status_update_url: Option<String>,
        now: Timestamp,
    ) -> (Self, Event<DistributionStatus>) {
        let (lifecycle, event) = Lifecycle::start(DistributionStatus::Waiting, now);
        let distribution = Self {
            session_id,
            merchant_id,
            lifecycle,
            created_at: now,
            short_code,
            status_update_url,
            error: None,
            order: None,
            link_token: None,
        };
        (distribution, event)
    }

    pub fn status(&self) -> DistributionStatus {
        self.lifecycle.status
    }

    /// When the unscanned session is canceled.
    pub fn auto_cancel_at(&self) -> Timestamp {
        self.created_at.plus_hours(Self::AUTO_CANCEL_AFTER_HOURS)
    }

    /// Whether the consumer has not reached the payment link yet and nobody ended the session:
    /// the statuses the 3-hour auto-cancel applies to.
    pub fn is_unscanned(&self) -> bool {
        matches!(
            self.status(),
            DistributionStatus::Waiting | DistributionStatus::Distributed | DistributionStatus::Failed
        )
    }

    pub fn retryable_failure(&self) -> bool {
        self.status() == DistributionStatus::Failed && self.error.is_some_and(|e| e.retryable)
    }

    /// Whether the QR and payment link are shown (and open): once distributed, while the consumer
    /// is on them, and as the fallback of a retryable failure.
    pub fn shows_link(&self) -> bool {
        self.link_token.is_some()
            && (matches!(self.status(), DistributionStatus::Distributed | DistributionStatus::Accessed)
                || self.retryable_failure())
    }

    /// Applies an action; `Distribute` takes the payment link's token (a distribution that has
    /// one keeps it), `Fail` its error code (and the fallback link, if any), `Complete` its order.
    pub fn apply(
        &self,
        command: DistributionCommand,
        now: Timestamp,
    ) -> Result<(Self, Event<DistributionStatus>), Rejected> {
        let action = command.action();
        let failed = self.status() == DistributionStatus::Failed;
        if action == DistributionAction::Retry && failed && !self.retryable_failure() {
            return Err(Rejected::Guard("the distribution failed with an error that is not retryable".into()));
        }
        // Opening needs a link to open (from FAILED: the fallback of a retryable failure).
        if action == DistributionAction::Access && failed && !self.shows_link() {
            return Err(Rejected::Guard("no payment link is shown for this distribution".into()));
        }
        let (lifecycle, event) = self.lifecycle.apply::<DistributionMachine>(action, now)?;
        let mut next = self.clone();
        next.lifecycle = lifecycle;
        match command {
            DistributionCommand::Distribute { link_token } => {
                next.link_token.get_or_insert(link_token);
            }
            DistributionCommand::Fail { code, fallback_link } => {
                next.error = Some(DistributionError { code, retryable: code.retryable() });
                if let Some(token) = fallback_link {
                    next.link_token.get_or_insert(token);
                }
            }
            DistributionCommand::Retry { short_code, status_update_url } => {
                next.short_code = short_code;
                if status_update_url.is_some() {
                    next.status_update_url = status_update_url;
                }
            }
            DistributionCommand::Complete(order) => next.order = Some(order),
            _ => {}
        }
        // The error belongs to FAILED only.
        if next.status() != DistributionStatus::Failed {
            next.error = None;
        }
        Ok((next, event))
    }
}

/// An action with the data it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistributionCommand {
    /// The payment link and QR exist (with this token), pushed to the short code if there is one.
    Distribute {
        link_token: String,
    },
    /// Failed with `code`; a failure at distribution time may still leave the link as the
    /// fallback.
    Fail {
        code: DistributionErrorCode,
        fallback_link: Option<String>,
    },
    Access,
    Complete(PlacedOrder),
    Cancel,
    /// Distribute again, to `short_code` (none: the QR and link only); a new `status_update_url`
    /// replaces the old one.
    Retry {
        short_code: Option<String>,
        status_update_url: Option<String>,
    },
}

impl DistributionCommand {
    pub fn action(&self) -> DistributionAction {
        match self {
            Self::Distribute { .. } => DistributionAction::Distribute,
            Self::Fail { .. } => DistributionAction::Fail,
            Self::Access => DistributionAction::Access,
            Self::Complete(_) => DistributionAction::Complete,
            Self::Cancel => DistributionAction::Cancel,
            Self::Retry { .. } => DistributionAction::Retry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::laws::{check_machine, steps};
    use proptest::prelude::*;

    fn command(pick: usize) -> DistributionCommand {
        match pick % 9 {
            0 => DistributionCommand::Distribute { link_token: "t".into() },
            1 => DistributionCommand::Fail {
                code: DistributionErrorCode::ConsumerSessionNotFound,
                fallback_link: Some("t".into()),
            },
            2 => DistributionCommand::Fail { code: DistributionErrorCode::Unknown, fallback_link: None },
            3 => DistributionCommand::Access,
            4 => {
                DistributionCommand::Complete(PlacedOrder { order_id: "o".into(), klarna_reference: "ABCDEFGH".into() })
            }
            8 => {
                DistributionCommand::Fail { code: DistributionErrorCode::ConsumerSessionNotFound, fallback_link: None }
            }
            5 => DistributionCommand::Cancel,
            _ => DistributionCommand::Retry { short_code: Some("1234".into()), status_update_url: None },
        }
    }

    #[test]
    fn table_and_laws() {
        check_machine::<DistributionMachine>(DistributionStatus::ALL, DistributionAction::ALL);
    }

    proptest! {
        /// The guarded retry on top of the table: only a retryable FAILED goes back to WAITING.
        #[test]
        fn retry_only_from_retryable_failure(picks in steps()) {
            let (mut d, _) = Distribution::create("s".into(), "m".into(), None, None, Timestamp::from_millis(0));
            for (i, pick) in picks.into_iter().enumerate() {
                let cmd = command(pick);
                let before = d.clone();
                match d.apply(cmd.clone(), Timestamp::from_millis(i as i64 + 1)) {
                    Ok((next, event)) => {
                        prop_assert_eq!(event.seq, before.lifecycle.version + 1);
                        if matches!(cmd.action(), DistributionAction::Retry | DistributionAction::Access)
                            && before.status() == DistributionStatus::Failed
                        {
                            prop_assert!(before.error.is_some_and(|e| e.retryable));
                            prop_assert!(next.error.is_none());
                        }
                        if cmd.action() == DistributionAction::Access {
                            prop_assert!(before.link_token.is_some() || before.status() != DistributionStatus::Failed);
                        }
                        // Distributed, or opened, means a link to open.
                        if matches!(next.status(), DistributionStatus::Distributed | DistributionStatus::Accessed) {
                            prop_assert!(next.link_token.is_some());
                            prop_assert!(next.shows_link());
                        }
                        prop_assert_eq!(next.status() == DistributionStatus::Failed, next.error.is_some());
                        d = next;
                    }
                    Err(_) => {
                        // A retryable failure is never refused a retry.
                        let retryable_failure = before.status() == DistributionStatus::Failed
                            && before.error.is_some_and(|e| e.retryable);
                        prop_assert!(!(cmd.action() == DistributionAction::Retry && retryable_failure));
                        // Nor is a shown fallback link refused an open.
                        prop_assert!(!(cmd.action() == DistributionAction::Access
                            && before.status() == DistributionStatus::Failed
                            && before.shows_link()));
                    }
                }
            }
        }
    }

    #[test]
    fn a_failed_distribution_opens_only_through_its_fallback_link() {
        let (d, _) = Distribution::create("s".into(), "m".into(), None, None, Timestamp::from_millis(0));
        let code = DistributionErrorCode::ConsumerSessionNotFound;
        let (failed, _) =
            d.apply(DistributionCommand::Fail { code, fallback_link: None }, Timestamp::from_millis(1)).unwrap();
        assert!(failed.apply(DistributionCommand::Access, Timestamp::from_millis(2)).is_err(), "no link yet");
        let fallback = DistributionCommand::Fail { code, fallback_link: Some("t".into()) };
        let (with_link, _) = d.apply(fallback, Timestamp::from_millis(1)).unwrap();
        assert_eq!(with_link.link_token.as_deref(), Some("t"));
        let (opened, _) = with_link.apply(DistributionCommand::Access, Timestamp::from_millis(2)).unwrap();
        assert_eq!(opened.status(), DistributionStatus::Accessed);
    }

    #[test]
    fn unknown_error_is_not_retryable() {
        let (d, _) = Distribution::create("s".into(), "m".into(), None, None, Timestamp::from_millis(0));
        let (d, _) = d
            .apply(
                DistributionCommand::Fail { code: DistributionErrorCode::Unknown, fallback_link: None },
                Timestamp::from_millis(1),
            )
            .unwrap();
        assert_eq!(d.error, Some(DistributionError { code: DistributionErrorCode::Unknown, retryable: false }));
        let retry = DistributionCommand::Retry { short_code: None, status_update_url: None };
        assert!(d.apply(retry, Timestamp::from_millis(2)).is_err());
        assert!(d.apply(DistributionCommand::Access, Timestamp::from_millis(2)).is_err());
    }

    #[test]
    fn a_distribution_keeps_its_link_and_stores_its_order_as_before() {
        let (d, _) = Distribution::create("s".into(), "m".into(), None, None, Timestamp::from_millis(0));
        let (d, _) =
            d.apply(DistributionCommand::Distribute { link_token: "first".into() }, Timestamp::from_millis(1)).unwrap();
        let (d, _) = d.apply(DistributionCommand::Access, Timestamp::from_millis(2)).unwrap();
        let order = PlacedOrder { order_id: "o".into(), klarna_reference: "ABCDEFGH".into() };
        let (d, _) = d.apply(DistributionCommand::Complete(order.clone()), Timestamp::from_millis(3)).unwrap();
        assert_eq!(d.link_token.as_deref(), Some("first"));
        let stored = serde_json::to_value(&d).unwrap();
        assert_eq!(stored["order"], serde_json::json!(["o", "ABCDEFGH"]));
        let read: Distribution = serde_json::from_value(stored).unwrap();
        assert_eq!(read.order, Some(order));
    }
}

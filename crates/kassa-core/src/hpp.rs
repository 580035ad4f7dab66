//! Hosted Payment Page sessions (seed 001, "Tracking session status").

use crate::machine::{Event, Lifecycle, Rejected, StateMachine};
use crate::placeholders::Placeholders;
use crate::{Timestamp, wire_enum};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// The HPP session lifecycle, exactly as seed 001's table lists it.
    pub enum HppStatus {
        /// Session is created and the consumer has not entered the payment page yet.
        Waiting = "WAITING",
        /// The consumer has entered the payment page.
        InProgress = "IN_PROGRESS",
        /// The consumer got an authorization (final).
        Completed = "COMPLETED",
        /// The consumer was declined; the session is still open for them to retry.
        Failed = "FAILED",
        /// The consumer cancelled; definitive (final).
        Cancelled = "CANCELLED",
        /// The consumer pressed Back; the session is still open for them to retry.
        Back = "BACK",
        /// The consumer hit an error while paying; the session is still open for them to retry.
        Error = "ERROR",
        /// The merchant disabled the session through the API (final).
        Disabled = "DISABLED",
    }
}

wire_enum! {
    /// What can happen to an HPP session: consumer actions, and `disable` by the merchant.
    pub enum HppAction {
        Open = "open",
        Approve = "approve",
        Decline = "decline",
        Back = "back",
        Error = "error",
        Cancel = "cancel",
        Disable = "disable",
    }
}

/// The HPP machine. Seed 001 gives the statuses and which are final; reference §2.7 the moves.
pub struct HppMachine;

impl StateMachine for HppMachine {
    type Status = HppStatus;
    type Action = HppAction;

    #[rustfmt::skip]
    const TRANSITIONS: &'static [(HppStatus, HppAction, HppStatus)] = {
        use HppAction as A;
        use HppStatus::*;
        &[
            // The consumer enters the page, or comes back to it after a decline, Back or an error.
            (Waiting,    A::Open,    InProgress),
            (Failed,     A::Open,    InProgress),
            (Back,       A::Open,    InProgress),
            (Error,      A::Open,    InProgress),
            // Outcomes on the page.
            (InProgress, A::Approve, Completed),
            (InProgress, A::Decline, Failed),
            (InProgress, A::Back,    Back),
            (InProgress, A::Error,   Error),
            // Cancel (with confirmation) is definitive once the consumer has been on the page.
            (InProgress, A::Cancel,  Cancelled),
            (Failed,     A::Cancel,  Cancelled),
            (Back,       A::Cancel,  Cancelled),
            (Error,      A::Cancel,  Cancelled),
            // The merchant may disable any session that is not final.
            (Waiting,    A::Disable, Disabled),
            (InProgress, A::Disable, Disabled),
            (Failed,     A::Disable, Disabled),
            (Back,       A::Disable, Disabled),
            (Error,      A::Disable, Disabled),
        ]
    };

    fn is_final(status: HppStatus) -> bool {
        matches!(status, HppStatus::Completed | HppStatus::Cancelled | HppStatus::Disabled)
    }
}

wire_enum! {
    /// What happens when the consumer is approved.
    pub enum PlaceOrderMode {
        /// The merchant gets an `authorization_token` and places the order.
        None = "NONE",
        /// kassa places the order and reports `order_id` + `klarna_reference`.
        PlaceOrder = "PLACE_ORDER",
        /// kassa places and captures the order.
        CaptureOrder = "CAPTURE_ORDER",
    }
}

wire_enum! {
    /// Wording of the buy button.
    pub enum PurchaseType {
        Buy = "BUY",
        Rent = "RENT",
        Book = "BOOK",
        Subscribe = "SUBSCRIBE",
        Download = "DOWNLOAD",
        Order = "ORDER",
        Continue = "CONTINUE",
    }
}

wire_enum! {
    pub enum PaymentMethodCategory {
        DirectDebit = "DIRECT_DEBIT",
        DirectBankTransfer = "DIRECT_BANK_TRANSFER",
        PayNow = "PAY_NOW",
        PayLater = "PAY_LATER",
        PayOverTime = "PAY_OVER_TIME",
        Klarna = "KLARNA",
    }
}

wire_enum! {
    pub enum SubtotalDetail {
        Hide = "HIDE",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BackgroundImage {
    pub url: Option<String>,
    pub width: Option<i64>,
}

/// `options` of an HPP session, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HppOptions {
    pub background_images: Vec<BackgroundImage>,
    pub logo_url: Option<String>,
    pub page_title: Option<String>,
    /// At most one of the two category fields is ever given; both are kept as a list.
    pub payment_method_categories: Vec<PaymentMethodCategory>,
    pub payment_fallback: Option<bool>,
    pub place_order_mode: Option<PlaceOrderMode>,
    pub purchase_type: Option<PurchaseType>,
    pub show_subtotal_detail: Option<SubtotalDetail>,
}

impl HppOptions {
    pub fn place_order_mode(&self) -> PlaceOrderMode {
        self.place_order_mode.unwrap_or(PlaceOrderMode::None)
    }
}

/// `merchant_urls`, kept exactly as given (placeholders unfilled).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MerchantUrls {
    pub success: Option<String>,
    pub cancel: Option<String>,
    pub back: Option<String>,
    pub failure: Option<String>,
    pub error: Option<String>,
    pub status_update: Option<String>,
}

/// What a COMPLETED session hands the merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HppOutcome {
    /// `place_order_mode` NONE: the merchant places the order with this token.
    Authorization { authorization_token: String },
    /// PLACE_ORDER / CAPTURE_ORDER: kassa placed the order.
    Order { order_id: String, klarna_reference: String },
}

/// An HPP session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HppSession {
    pub id: String,
    pub merchant_id: String,
    pub payment_session_id: String,
    pub lifecycle: Lifecycle<HppStatus>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub merchant_urls: MerchantUrls,
    pub options: HppOptions,
    pub profile_id: Option<String>,
    pub distribution_token: String,
    pub outcome: Option<HppOutcome>,
}

/// Everything fixed at creation.
pub struct NewHppSession {
    pub id: String,
    pub merchant_id: String,
    pub payment_session_id: String,
    /// The payment session's own expiry; the HPP session ends one hour earlier.
    pub payment_session_expires_at: Timestamp,
    pub merchant_urls: MerchantUrls,
    pub options: HppOptions,
    pub profile_id: Option<String>,
    pub distribution_token: String,
}

impl HppSession {
    /// How long before its payment session an HPP session expires.
    pub const EXPIRES_BEFORE_PAYMENT_SESSION_HOURS: i64 = 1;

    pub fn create(new: NewHppSession, now: Timestamp) -> (Self, Event<HppStatus>) {
        let (lifecycle, event) = Lifecycle::start(HppStatus::Waiting, now);
        let session = Self {
            id: new.id,
            merchant_id: new.merchant_id,
            payment_session_id: new.payment_session_id,
            lifecycle,
            created_at: now,
            expires_at: new.payment_session_expires_at.plus_hours(-Self::EXPIRES_BEFORE_PAYMENT_SESSION_HOURS),
            merchant_urls: new.merchant_urls,
            options: new.options,
            profile_id: new.profile_id,
            distribution_token: new.distribution_token,
            outcome: None,
        };
        (session, event)
    }

    pub fn status(&self) -> HppStatus {
        self.lifecycle.status
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Applies an action other than approval (which needs an outcome: see [`Self::approve`]).
    pub fn apply(&self, action: HppAction, now: Timestamp) -> Result<(Self, Event<HppStatus>), Rejected> {
        if action == HppAction::Approve {
            return Err(Rejected::Guard("approval needs an outcome".into()));
        }
        self.step(action, now, None)
    }

    /// Approves the consumer: COMPLETED with the authorization token or the placed order.
    pub fn approve(&self, outcome: HppOutcome, now: Timestamp) -> Result<(Self, Event<HppStatus>), Rejected> {
        let wants_order = self.options.place_order_mode() != PlaceOrderMode::None;
        let has_order = matches!(outcome, HppOutcome::Order { .. });
        if wants_order != has_order {
            return Err(Rejected::Guard(format!(
                "place_order_mode {} does not match the approval outcome",
                self.options.place_order_mode()
            )));
        }
        self.step(HppAction::Approve, now, Some(outcome))
    }

    /// Where the consumer's browser goes after `action` (seed 001 and reference §2.9), with the
    /// placeholders filled; `None` when the merchant gave no URL for that outcome.
    pub fn merchant_url_after(&self, action: HppAction) -> Option<String> {
        let urls = &self.merchant_urls;
        let template = match action {
            HppAction::Approve => urls.success.as_ref(),
            HppAction::Decline => urls.failure.as_ref(),
            HppAction::Back => urls.back.as_ref(),
            HppAction::Error => urls.error.as_ref().or(urls.failure.as_ref()),
            HppAction::Cancel => urls.cancel.as_ref(),
            HppAction::Open | HppAction::Disable => None,
        }?;
        Some(self.placeholders().fill(template))
    }

    /// The values this session fills into merchant URLs now.
    pub fn placeholders(&self) -> Placeholders<'_> {
        let (authorization_token, order_id) = match &self.outcome {
            Some(HppOutcome::Authorization { authorization_token }) => (Some(authorization_token.as_str()), None),
            Some(HppOutcome::Order { order_id, .. }) => (None, Some(order_id.as_str())),
            None => (None, None),
        };
        Placeholders { session_id: Some(&self.id), authorization_token, order_id }
    }

    fn step(
        &self,
        action: HppAction,
        now: Timestamp,
        outcome: Option<HppOutcome>,
    ) -> Result<(Self, Event<HppStatus>), Rejected> {
        let (lifecycle, event) = self.lifecycle.apply::<HppMachine>(action, now)?;
        let mut next = self.clone();
        next.lifecycle = lifecycle;
        if outcome.is_some() {
            next.outcome = outcome;
        }
        Ok((next, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::laws::check_machine;

    fn session(mode: PlaceOrderMode) -> HppSession {
        let options = HppOptions { place_order_mode: Some(mode), ..HppOptions::default() };
        let new = NewHppSession {
            id: "h".into(),
            merchant_id: "m".into(),
            payment_session_id: "p".into(),
            payment_session_expires_at: Timestamp::from_millis(48 * crate::time::HOUR),
            merchant_urls: MerchantUrls::default(),
            options,
            profile_id: None,
            distribution_token: "t".into(),
        };
        HppSession::create(new, Timestamp::from_millis(0)).0
    }

    #[test]
    fn table_and_laws() {
        check_machine::<HppMachine>(HppStatus::ALL, HppAction::ALL);
    }

    #[test]
    fn final_statuses_are_exactly_the_seeds() {
        let finals: Vec<_> = HppStatus::ALL.iter().copied().filter(|s| HppMachine::is_final(*s)).collect();
        assert_eq!(finals, [HppStatus::Completed, HppStatus::Cancelled, HppStatus::Disabled]);
    }

    #[test]
    fn every_non_final_status_can_be_disabled_and_no_final_one() {
        for status in HppStatus::ALL.iter().copied() {
            let next = HppMachine::next(status, HppAction::Disable);
            assert_eq!(next.is_some(), !HppMachine::is_final(status), "{status}");
        }
    }

    #[test]
    fn expires_one_hour_before_the_payment_session() {
        assert_eq!(session(PlaceOrderMode::None).expires_at, Timestamp::from_millis(47 * crate::time::HOUR));
    }

    #[test]
    fn approve_needs_an_outcome_that_matches_the_mode() {
        let s = session(PlaceOrderMode::PlaceOrder);
        let (s, _) = s.apply(HppAction::Open, Timestamp::from_millis(1)).unwrap();
        let token = HppOutcome::Authorization { authorization_token: "a".into() };
        assert!(s.approve(token, Timestamp::from_millis(2)).is_err());
        let order = HppOutcome::Order { order_id: "o".into(), klarna_reference: "ABCD1234".into() };
        let (done, event) = s.approve(order.clone(), Timestamp::from_millis(2)).unwrap();
        assert_eq!(done.status(), HppStatus::Completed);
        assert_eq!(done.outcome, Some(order));
        assert_eq!(event.seq, 3);
        assert!(s.apply(HppAction::Approve, Timestamp::from_millis(2)).is_err());
    }

    #[test]
    fn redirects_fill_placeholders_and_error_falls_back_to_failure() {
        let mut s = session(PlaceOrderMode::None);
        s.merchant_urls = MerchantUrls {
            success: Some(
                "https://m.example/ok?sid={{session_id}}&token={{authorization_token}}&o={{order_id}}".into(),
            ),
            failure: Some("https://m.example/fail?sid={{session_id}}".into()),
            ..MerchantUrls::default()
        };
        assert_eq!(s.merchant_url_after(HppAction::Error).as_deref(), Some("https://m.example/fail?sid=h"));
        assert_eq!(s.merchant_url_after(HppAction::Back), None);
        let (s, _) = s.apply(HppAction::Open, Timestamp::from_millis(1)).unwrap();
        let token = HppOutcome::Authorization { authorization_token: "T".into() };
        let (s, _) = s.approve(token, Timestamp::from_millis(2)).unwrap();
        assert_eq!(
            s.merchant_url_after(HppAction::Approve).as_deref(),
            Some("https://m.example/ok?sid=h&token=T&o={{order_id}}")
        );
    }

    #[test]
    fn retry_after_decline_back_and_error() {
        let mut s = session(PlaceOrderMode::None);
        for (leave, status) in [
            (HppAction::Decline, HppStatus::Failed),
            (HppAction::Back, HppStatus::Back),
            (HppAction::Error, HppStatus::Error),
        ] {
            s = s.apply(HppAction::Open, Timestamp::from_millis(1)).unwrap().0;
            s = s.apply(leave, Timestamp::from_millis(2)).unwrap().0;
            assert_eq!(s.status(), status);
        }
        assert_eq!(s.lifecycle.version, 7);
    }
}

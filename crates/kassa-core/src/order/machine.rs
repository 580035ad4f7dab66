//! The order's status machine: Klarna Order Management's statuses, and every operation as an
//! action (reference `klarna-order-management.md` §5.3 and the table of §5.5).

use crate::machine::StateMachine;
use crate::wire_enum;

wire_enum! {
    /// An order's status, as Order Management reports it.
    pub enum OrderStatus {
        /// Placed; nothing captured yet.
        Authorized = "AUTHORIZED",
        /// Some captured; part of the authorization remains.
        PartCaptured = "PART_CAPTURED",
        /// Nothing is left to capture (fully captured, or the rest released).
        Captured = "CAPTURED",
        /// Cancelled before any capture; the authorization is released.
        Cancelled = "CANCELLED",
        /// The authorization lapsed before anything was captured.
        Expired = "EXPIRED",
        /// Closed on Klarna's side (in kassa: by the operator, or a sandbox control).
        Closed = "CLOSED",
    }
}

wire_enum! {
    /// Everything that can happen to an order; each accepted one is an event named by it.
    pub enum OrderAction {
        /// A capture that leaves part of the authorization.
        CapturePart = "capture_part",
        /// A capture of all that remains.
        CaptureRest = "capture_rest",
        Refund = "refund",
        Cancel = "cancel",
        /// The merchant gives up what remains uncaptured.
        ReleaseRemaining = "release_remaining_authorization",
        /// A new authorized amount that still leaves something to capture.
        UpdateAuthorization = "update_authorization",
        /// A new authorized amount equal to what has been captured.
        SettleAuthorization = "settle_authorization",
        ExtendAuthorization = "extend_authorization_time",
        UpdateCustomerDetails = "update_customer_details",
        UpdateMerchantReferences = "update_merchant_references",
        AddShippingInfo = "add_shipping_info",
        Acknowledge = "acknowledge",
        AddCaptureShippingInfo = "add_capture_shipping_info",
        TriggerSendOut = "trigger_send_out",
        ExtendDueDate = "extend_due_date",
        /// The authorization time ran out.
        Expire = "expire",
        /// Klarna closed the order.
        Close = "close",
        /// Klarna will refuse to raise the authorization (its new risk check declines).
        DeclineIncreases = "decline_increases",
    }
}

pub struct OrderMachine;

impl StateMachine for OrderMachine {
    type Status = OrderStatus;
    type Action = OrderAction;

    #[rustfmt::skip]
    const TRANSITIONS: &'static [(OrderStatus, OrderAction, OrderStatus)] = {
        use OrderAction as A;
        use OrderStatus::*;
        &[
            // Money: captures, refunds, and giving up the rest of the authorization.
            (Authorized,   A::CapturePart,              PartCaptured),
            (Authorized,   A::CaptureRest,              Captured),
            (PartCaptured, A::CapturePart,              PartCaptured),
            (PartCaptured, A::CaptureRest,              Captured),
            (PartCaptured, A::Refund,                   PartCaptured),
            (Captured,     A::Refund,                   Captured),
            (Authorized,   A::Cancel,                   Cancelled),
            (PartCaptured, A::ReleaseRemaining,         Captured),
            (Authorized,   A::UpdateAuthorization,      Authorized),
            (PartCaptured, A::UpdateAuthorization,      PartCaptured),
            (PartCaptured, A::SettleAuthorization,      Captured),
            // Time: extending the authorization, and its end (a part-captured order keeps what
            // was captured and releases the rest).
            (Authorized,   A::ExtendAuthorization,      Authorized),
            (PartCaptured, A::ExtendAuthorization,      PartCaptured),
            (Authorized,   A::Expire,                   Expired),
            (PartCaptured, A::Expire,                   Captured),
            // Details of the order.
            (Authorized,   A::UpdateCustomerDetails,    Authorized),
            (PartCaptured, A::UpdateCustomerDetails,    PartCaptured),
            (Authorized,   A::UpdateMerchantReferences, Authorized),
            (PartCaptured, A::UpdateMerchantReferences, PartCaptured),
            (Captured,     A::UpdateMerchantReferences, Captured),
            (Expired,      A::UpdateMerchantReferences, Expired),
            (Closed,       A::UpdateMerchantReferences, Closed),
            (Authorized,   A::AddShippingInfo,          Authorized),
            (PartCaptured, A::AddShippingInfo,          PartCaptured),
            (Captured,     A::AddShippingInfo,          Captured),
            (Cancelled,    A::AddShippingInfo,          Cancelled),
            (Expired,      A::AddShippingInfo,          Expired),
            (Closed,       A::AddShippingInfo,          Closed),
            (Authorized,   A::Acknowledge,              Authorized),
            (PartCaptured, A::Acknowledge,              PartCaptured),
            (Captured,     A::Acknowledge,              Captured),
            (Cancelled,    A::Acknowledge,              Cancelled),
            (Expired,      A::Acknowledge,              Expired),
            (Closed,       A::Acknowledge,              Closed),
            // A capture's own operations (only an order with captures has them).
            (PartCaptured, A::AddCaptureShippingInfo,   PartCaptured),
            (Captured,     A::AddCaptureShippingInfo,   Captured),
            (Closed,       A::AddCaptureShippingInfo,   Closed),
            (PartCaptured, A::TriggerSendOut,           PartCaptured),
            (Captured,     A::TriggerSendOut,           Captured),
            (PartCaptured, A::ExtendDueDate,            PartCaptured),
            (Captured,     A::ExtendDueDate,            Captured),
            // Klarna's side.
            (Authorized,   A::Close,                    Closed),
            (PartCaptured, A::Close,                    Closed),
            (Captured,     A::Close,                    Closed),
            (Authorized,   A::DeclineIncreases,         Authorized),
            (PartCaptured, A::DeclineIncreases,         PartCaptured),
        ]
    };

    /// No status refuses everything: even a cancelled or closed order takes an acknowledgement
    /// and shipping information. Where money stops moving is the table's business.
    fn is_final(_status: OrderStatus) -> bool {
        false
    }
}

impl OrderStatus {
    /// Whether part of the authorization can still be captured.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Authorized | Self::PartCaptured)
    }
}

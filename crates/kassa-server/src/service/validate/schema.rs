//! Klarna Payments' schemas for the objects a payment session request carries (addresses,
//! `customer`, `options`, an order line's `product_identifiers` and `subscription`). Each is read
//! into its type (a wrong type is `BAD_VALUE` at its JSON path), checked against the schema's
//! lengths, patterns and enums, and kept as read: keys the schema does not have are dropped, so
//! a read never answers more than Klarna's read schema allows.

use super::max_chars;
use crate::service::error::ServiceError;
use crate::wire::decode::{self, DecodeError};
use crate::wire::payments::PaymentSessionRequest;
use kassa_core::cart::is_country;
use kassa_core::order::Address;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The objects of a session (or order) request, each read as its schema has it.
pub fn session_objects(request: &mut PaymentSessionRequest) -> Result<(), ServiceError> {
    for (field, address) in
        [("billing_address", &mut request.billing_address), ("shipping_address", &mut request.shipping_address)]
    {
        if let Some(value) = address.as_mut() {
            *value = self::address(field, value)?;
        }
    }
    if let Some(value) = request.customer.as_mut() {
        *value = customer(value)?;
    }
    if let Some(value) = request.options.as_mut() {
        *value = options(value)?;
    }
    for (i, line) in request.order_lines.iter_mut().flatten().enumerate() {
        if let Some(value) = line.product_identifiers.as_mut() {
            *value = product_identifiers(&format!("order_lines[{i}].product_identifiers"), value)?;
        }
        if let Some(value) = line.subscription.as_mut() {
            *value = subscription(&format!("order_lines[{i}].subscription"), value)?;
        }
    }
    Ok(())
}

/// `value` at `field`, read as `T`, checked by `check`, and written back as `T` writes itself.
pub fn normalized<T: DeserializeOwned + Serialize>(
    field: &str,
    value: &Value,
    check: impl FnOnce(&T) -> Result<(), ServiceError>,
) -> Result<Value, ServiceError> {
    if !value.is_object() {
        return Err(ServiceError::bad_value(field, "must be an object"));
    }
    let typed: T = decode::from_value(value.clone()).map_err(|error| match error {
        DecodeError::BadValue { field: inner, reason } => ServiceError::bad_value(format!("{field}.{inner}"), reason),
        DecodeError::Malformed(reason) => ServiceError::bad_value(field, reason),
    })?;
    check(&typed)?;
    serde_json::to_value(&typed).map_err(ServiceError::internal)
}

/// Every string field of a schema object with its maximum length.
fn lengths(prefix: &str, fields: &[(&str, &Option<String>, usize)]) -> Result<(), ServiceError> {
    for (name, value, max) in fields {
        max_chars(&format!("{prefix}.{name}"), value.as_deref(), *max)?;
    }
    Ok(())
}

/// An address's longest fields, in characters: Klarna Payments' and Order Management's limits.
struct AddressLimits {
    name: usize,
    contact: usize,
    street: usize,
    city: usize,
    organization: usize,
    /// Order Management clears a field given as `""`, the country too.
    empty_clears: bool,
}

const PAYMENTS_ADDRESS: AddressLimits =
    AddressLimits { name: 99, contact: 99, street: 99, city: 99, organization: 99, empty_clears: false };
const ORDER_ADDRESS: AddressLimits =
    AddressLimits { name: 100, contact: 100, street: 100, city: 200, organization: 255, empty_clears: true };

fn address_within(field: &str, a: &Address, l: &AddressLimits) -> Result<(), ServiceError> {
    lengths(
        field,
        &[
            ("attention", &a.attention, l.organization),
            ("city", &a.city, l.city),
            ("email", &a.email, l.contact),
            ("family_name", &a.family_name, l.name),
            ("given_name", &a.given_name, l.name),
            ("organization_name", &a.organization_name, l.organization),
            ("phone", &a.phone, l.contact),
            ("postal_code", &a.postal_code, 10),
            ("region", &a.region, l.city),
            ("street_address", &a.street_address, l.street),
            ("street_address2", &a.street_address2, l.street),
            ("title", &a.title, 20),
        ],
    )?;
    match &a.country {
        Some(country) if !(is_country(country) || l.empty_clears && country.is_empty()) => {
            Err(ServiceError::bad_value(format!("{field}.country"), "must be an ISO 3166 alpha-2 country code"))
        }
        _ => Ok(()),
    }
}

/// `address` (billing and shipping) of a payment session or an order request.
pub fn address(field: &str, value: &Value) -> Result<Value, ServiceError> {
    normalized(field, value, |a: &Address| address_within(field, a, &PAYMENTS_ADDRESS))
}

/// `customer`.
#[derive(Debug, Deserialize, Serialize)]
pub struct Customer {
    #[serde(skip_serializing_if = "Option::is_none")]
    date_of_birth: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_four_ssn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    national_identification_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_entity_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_registration_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vat_id: Option<String>,
}

const ENTITY_TYPES: [&str; 11] = [
    "LIMITED_COMPANY",
    "PUBLIC_LIMITED_COMPANY",
    "ENTREPRENEURIAL_COMPANY",
    "LIMITED_PARTNERSHIP_LIMITED_COMPANY",
    "LIMITED_PARTNERSHIP",
    "GENERAL_PARTNERSHIP",
    "REGISTERED_SOLE_TRADER",
    "SOLE_TRADER",
    "CIVIL_LAW_PARTNERSHIP",
    "PUBLIC_INSTITUTION",
    "OTHER",
];

pub fn customer(value: &Value) -> Result<Value, ServiceError> {
    normalized("customer", value, |c: &Customer| {
        if let Some(kind) = &c.kind
            && !matches!(kind.as_str(), "person" | "organization")
        {
            return Err(ServiceError::bad_value("customer.type", "must be person or organization"));
        }
        if let Some(ssn) = &c.last_four_ssn
            && !(matches!(ssn.len(), 4 | 9) && ssn.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ServiceError::bad_value("customer.last_four_ssn", "must be 4 or 9 digits"));
        }
        if let Some(entity) = &c.organization_entity_type
            && !ENTITY_TYPES.contains(&entity.as_str())
        {
            let expected = ENTITY_TYPES.join(", ");
            return Err(ServiceError::bad_value(
                "customer.organization_entity_type",
                format!("must be one of {expected}"),
            ));
        }
        match &c.date_of_birth {
            Some(date) if !is_date(date) => {
                Err(ServiceError::bad_value("customer.date_of_birth", "must be a date such as 1978-12-31"))
            }
            _ => Ok(()),
        }
    })
}

/// `YYYY-MM-DD` with a real month and day.
fn is_date(text: &str) -> bool {
    let mut parts = text.split('-');
    let (Some(year), Some(month), Some(day), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (year.parse::<i32>(), month.parse::<u8>(), day.parse::<u8>()) else {
        return false;
    };
    time::Month::try_from(month).is_ok_and(|month| time::Date::from_calendar_date(year, month, day).is_ok())
}

/// `options` (the colours of Klarna's widget).
#[derive(Debug, Deserialize, Serialize)]
pub struct Options {
    #[serde(skip_serializing_if = "Option::is_none")]
    color_border: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color_border_selected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color_details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    radius_border: Option<String>,
}

pub fn options(value: &Value) -> Result<Value, ServiceError> {
    normalized("options", value, |o: &Options| {
        let colours = [
            ("color_border", &o.color_border),
            ("color_border_selected", &o.color_border_selected),
            ("color_details", &o.color_details),
            ("color_text", &o.color_text),
        ];
        for (name, colour) in colours {
            if let Some(colour) = colour
                && !(colour.len() == 7 && colour.starts_with('#') && colour[1..].bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(ServiceError::bad_value(format!("options.{name}"), "must be a colour such as #FF9900"));
            }
        }
        Ok(())
    })
}

/// An order line's `product_identifiers`.
#[derive(Debug, Deserialize, Serialize)]
pub struct ProductIdentifiers {
    #[serde(skip_serializing_if = "Option::is_none")]
    brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    global_trade_item_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manufacturer_part_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<String>,
}

pub fn product_identifiers(field: &str, value: &Value) -> Result<Value, ServiceError> {
    normalized(field, value, |p: &ProductIdentifiers| {
        lengths(
            field,
            &[
                ("brand", &p.brand, 70),
                ("category_path", &p.category_path, 750),
                ("global_trade_item_number", &p.global_trade_item_number, 50),
                ("manufacturer_part_number", &p.manufacturer_part_number, 70),
                ("color", &p.color, 64),
                ("size", &p.size, 64),
            ],
        )
    })
}

/// An order line's `subscription`: all three fields required.
#[derive(Debug, Deserialize, Serialize)]
pub struct Subscription {
    name: Option<String>,
    interval: Option<String>,
    interval_count: Option<i64>,
}

pub fn subscription(field: &str, value: &Value) -> Result<Value, ServiceError> {
    normalized(field, value, |s: &Subscription| {
        let required = |name: &str| ServiceError::bad_value(format!("{field}.{name}"), "is required");
        let name = s.name.as_deref().ok_or_else(|| required("name"))?;
        if name.is_empty() || name.chars().count() > 255 {
            return Err(ServiceError::bad_value(format!("{field}.name"), "must be 1 to 255 characters long"));
        }
        let interval = s.interval.as_deref().ok_or_else(|| required("interval"))?;
        if !matches!(interval, "DAY" | "WEEK" | "MONTH" | "YEAR") {
            return Err(ServiceError::bad_value(format!("{field}.interval"), "must be one of DAY, WEEK, MONTH, YEAR"));
        }
        if s.interval_count.ok_or_else(|| required("interval_count"))? < 1 {
            return Err(ServiceError::bad_value(format!("{field}.interval_count"), "must be at least 1"));
        }
        Ok(())
    })
}

const SHIPPING_METHODS: [&str; 13] = [
    "PickUpStore",
    "Home",
    "BoxReg",
    "BoxUnreg",
    "PickUpPoint",
    "Own",
    "Postal",
    "DHLPackstation",
    "Digital",
    "Undefined",
    "PickUpWarehouse",
    "ClickCollect",
    "PalletDelivery",
];

/// Order Management's `shipping_info` entries, at `field` (`shipping_info`).
pub fn shipping_info(field: &str, entries: &[kassa_core::order::ShippingInfo]) -> Result<(), ServiceError> {
    for (i, s) in entries.iter().enumerate() {
        let at = format!("{field}[{i}]");
        lengths(
            &at,
            &[
                ("shipping_company", &s.shipping_company, 100),
                ("tracking_number", &s.tracking_number, 100),
                ("tracking_uri", &s.tracking_uri, 1024),
                ("return_shipping_company", &s.return_shipping_company, 100),
                ("return_tracking_number", &s.return_tracking_number, 100),
                ("return_tracking_uri", &s.return_tracking_uri, 1024),
            ],
        )?;
        if let Some(method) = &s.shipping_method
            && !SHIPPING_METHODS.contains(&method.as_str())
        {
            let expected = SHIPPING_METHODS.join(", ");
            return Err(ServiceError::bad_value(format!("{at}.shipping_method"), format!("must be one of {expected}")));
        }
    }
    Ok(())
}

/// An address given to Order Management (its limits are wider than Klarna Payments').
pub fn order_address(field: &str, a: &Address) -> Result<(), ServiceError> {
    address_within(field, a, &ORDER_ADDRESS)
}

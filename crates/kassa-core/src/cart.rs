//! Cart rules of Klarna Payments (reference §4.1): amounts in minor units, line totals, tax
//! tolerances. A failure names the offending field, as Klarna's `BAD_VALUE` does.

/// The cart as sent, before validation. `None` means the key was absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CartInput {
    pub purchase_country: Option<String>,
    pub purchase_currency: Option<String>,
    pub locale: Option<String>,
    pub order_amount: Option<i64>,
    pub order_tax_amount: Option<i64>,
    pub order_lines: Option<Vec<LineInput>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub reference: Option<String>,
    pub quantity: Option<i64>,
    pub quantity_unit: Option<String>,
    pub unit_price: Option<i64>,
    pub tax_rate: Option<i64>,
    pub total_amount: Option<i64>,
    pub total_discount_amount: Option<i64>,
    pub total_tax_amount: Option<i64>,
    pub image_url: Option<String>,
    pub product_url: Option<String>,
    pub merchant_data: Option<String>,
}

/// A cart that keeps every rule: what [`CartInput::parse`] makes of a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    /// ISO 3166 alpha-2, as sent.
    pub purchase_country: String,
    /// ISO 4217, as sent.
    pub purchase_currency: String,
    pub locale: Option<String>,
    /// Minor units; the sum of the lines' `total_amount`.
    pub order_amount: i64,
    /// Minor units; the sum of the lines' tax within ±1 per line.
    pub order_tax_amount: i64,
    /// At least one, at most [`MAX_ORDER_LINES`].
    pub lines: Vec<Line>,
}

/// An order line that keeps every rule (as Klarna spells it on the wire: `kind` is `type`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_unit: Option<String>,
    pub unit_price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<i64>,
    /// `quantity × unit_price − total_discount_amount`.
    pub total_amount: i64,
    pub total_discount_amount: i64,
    /// The line's tax (a US `sales_tax` line's whole amount when it gives none).
    pub total_tax_amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_data: Option<String>,
}

impl Cart {
    /// The currency in upper case, as orders carry it.
    pub fn currency(&self) -> String {
        self.purchase_currency.to_ascii_uppercase()
    }

    /// The country in upper case.
    pub fn country(&self) -> String {
        self.purchase_country.to_ascii_uppercase()
    }
}

/// A field that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Bad value: {field} ({reason})")]
pub struct CartError {
    /// JSON path of the field, e.g. `order_lines[0].total_amount`.
    pub field: String,
    pub reason: String,
}

pub const MAX_AMOUNT: i64 = 200_000_000;
pub const MAX_ORDER_LINES: usize = 1000;

fn bad(field: impl Into<String>, reason: impl Into<String>) -> CartError {
    CartError { field: field.into(), reason: reason.into() }
}

fn required<T: Clone>(value: &Option<T>, field: &str) -> Result<T, CartError> {
    value.clone().ok_or_else(|| bad(field, "is required"))
}

fn letters(value: &str, count: usize) -> bool {
    value.len() == count && value.bytes().all(|b| b.is_ascii_alphabetic())
}

/// RFC 1766 as Klarna's spec restricts it: `^[A-Za-z]{2}(?:-[A-Za-z]{2})*$`.
pub fn is_locale(value: &str) -> bool {
    value.split('-').all(|part| letters(part, 2))
}

pub fn is_country(value: &str) -> bool {
    letters(value, 2)
}

pub fn is_currency(value: &str) -> bool {
    letters(value, 3)
}

fn max_len(value: &Option<String>, field: &str, min: usize, max: usize) -> Result<(), CartError> {
    match value {
        Some(v) if v.chars().count() < min || v.chars().count() > max => {
            Err(bad(field, format!("must be {min} to {max} characters long")))
        }
        _ => Ok(()),
    }
}

/// Lines given with an Order Management call (a capture, a refund, a new authorization), at
/// JSON path `field`: each keeps the line rules; how many and what they add up to is the
/// order's business.
pub fn parse_lines(lines: &[LineInput], field: &str) -> Result<Vec<Line>, CartError> {
    if lines.len() > MAX_ORDER_LINES {
        return Err(bad(field, format!("must hold at most {MAX_ORDER_LINES} lines")));
    }
    lines.iter().enumerate().map(|(i, line)| line.parse(&format!("{field}[{i}]"))).collect()
}

impl CartInput {
    /// The cart, if it keeps every rule; else the first broken one.
    pub fn parse(&self) -> Result<Cart, CartError> {
        let country = required(&self.purchase_country, "purchase_country")?;
        if !is_country(&country) {
            return Err(bad("purchase_country", "must be an ISO 3166 alpha-2 country code"));
        }
        let currency = required(&self.purchase_currency, "purchase_currency")?;
        if !is_currency(&currency) {
            return Err(bad("purchase_currency", "must be an ISO 4217 currency code"));
        }
        if let Some(locale) = &self.locale
            && !is_locale(locale)
        {
            return Err(bad("locale", "must be an RFC 1766 language tag such as en-US"));
        }
        let order_amount = required(&self.order_amount, "order_amount")?;
        if order_amount < 0 {
            return Err(bad("order_amount", "must not be negative"));
        }
        let order_tax_amount = self.order_tax_amount.unwrap_or(0);
        if order_tax_amount < 0 {
            return Err(bad("order_tax_amount", "must not be negative"));
        }
        let lines = required(&self.order_lines, "order_lines")?;
        if lines.is_empty() || lines.len() > MAX_ORDER_LINES {
            return Err(bad("order_lines", format!("must hold 1 to {MAX_ORDER_LINES} lines")));
        }
        let (mut amount_sum, mut tax_sum) = (0i64, 0i64);
        let mut parsed = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let line = line.parse(&format!("order_lines[{i}]"))?;
            amount_sum = amount_sum.saturating_add(line.total_amount);
            tax_sum = tax_sum.saturating_add(line.total_tax_amount);
            parsed.push(line);
        }
        if amount_sum != order_amount {
            return Err(bad("order_amount", format!("must equal the sum of the lines' total_amount ({amount_sum})")));
        }
        let tolerance = lines.len() as i64;
        if tax_sum.saturating_sub(order_tax_amount).saturating_abs() > tolerance {
            return Err(bad(
                "order_tax_amount",
                format!("must equal the sum of the lines' total_tax_amount ({tax_sum}) within ±{tolerance}"),
            ));
        }
        Ok(Cart {
            purchase_country: country,
            purchase_currency: currency,
            locale: self.locale.clone(),
            order_amount,
            order_tax_amount,
            lines: parsed,
        })
    }
}

impl LineInput {
    /// The line, if it keeps every rule; `at` is its JSON path (`order_lines[0]`).
    pub fn parse(&self, at: &str) -> Result<Line, CartError> {
        let field = |name: &str| format!("{at}.{name}");
        let name = required(&self.name, &field("name"))?;
        max_len(&Some(name.clone()), &field("name"), 1, 255)?;
        max_len(&self.reference, &field("reference"), 0, 255)?;
        max_len(&self.quantity_unit, &field("quantity_unit"), 1, 8)?;
        for (value, key) in
            [(&self.image_url, "image_url"), (&self.product_url, "product_url"), (&self.merchant_data, "merchant_data")]
        {
            max_len(value, &field(key), 0, 1024)?;
        }
        let quantity = required(&self.quantity, &field("quantity"))?;
        if quantity < 0 {
            return Err(bad(field("quantity"), "must not be negative"));
        }
        let unit_price = required(&self.unit_price, &field("unit_price"))?;
        if unit_price.unsigned_abs() > MAX_AMOUNT.unsigned_abs() {
            return Err(bad(field("unit_price"), format!("must be at most {MAX_AMOUNT}")));
        }
        let total_amount = required(&self.total_amount, &field("total_amount"))?;
        if total_amount.unsigned_abs() > MAX_AMOUNT.unsigned_abs() {
            return Err(bad(field("total_amount"), format!("must be at most {MAX_AMOUNT}")));
        }
        let discount = self.total_discount_amount.unwrap_or(0);
        if discount < 0 {
            return Err(bad(field("total_discount_amount"), "must not be negative"));
        }
        let expected = quantity.checked_mul(unit_price).and_then(|gross| gross.checked_sub(discount));
        if expected != Some(total_amount) {
            let shown = expected.map_or_else(|| "overflow".to_owned(), |e| e.to_string());
            return Err(bad(
                field("total_amount"),
                format!("must equal quantity × unit_price − total_discount_amount ({shown})"),
            ));
        }
        if let Some(rate) = self.tax_rate
            && !(0..=10_000).contains(&rate)
        {
            return Err(bad(field("tax_rate"), "must be between 0 and 10000 (percent × 100)"));
        }
        let is_sales_tax = self.kind.as_deref() == Some("sales_tax");
        if let (Some(rate), Some(tax), false) = (self.tax_rate, self.total_tax_amount, is_sales_tax) {
            // Klarna's tax-handling rule: the rate the line implies,
            // 100 × total_tax_amount / (total_amount − total_tax_amount), is within ±1 of tax_rate / 100.
            let net = total_amount as f64 - tax as f64;
            let implied =
                if net == 0.0 { if tax == 0 { 0.0 } else { f64::INFINITY } } else { 100.0 * tax as f64 / net };
            if (implied - rate as f64 / 100.0).abs() > 1.0 {
                return Err(bad(
                    field("total_tax_amount"),
                    format!(
                        "implies a tax rate of {implied:.2} % (100 × total_tax_amount / (total_amount − total_tax_amount)), \
                         more than 1 point from tax_rate {rate} ({:.2} %)",
                        rate as f64 / 100.0
                    ),
                ));
            }
        }
        // US style: a sales_tax line carries the tax as its amount.
        let tax = match (self.total_tax_amount, is_sales_tax) {
            (Some(tax), _) => tax,
            (None, true) => total_amount,
            (None, false) => 0,
        };
        Ok(Line {
            kind: self.kind.clone(),
            name,
            reference: self.reference.clone(),
            quantity,
            quantity_unit: self.quantity_unit.clone(),
            unit_price,
            tax_rate: self.tax_rate,
            total_amount,
            total_discount_amount: discount,
            total_tax_amount: tax,
            image_url: self.image_url.clone(),
            product_url: self.product_url.clone(),
            merchant_data: self.merchant_data.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: i64, unit_price: i64, tax_rate: i64, total_tax_amount: i64) -> LineInput {
        LineInput {
            name: Some("Cool Bike".into()),
            quantity: Some(quantity),
            unit_price: Some(unit_price),
            tax_rate: Some(tax_rate),
            total_amount: Some(quantity * unit_price),
            total_tax_amount: Some(total_tax_amount),
            ..LineInput::default()
        }
    }

    fn cart(lines: Vec<LineInput>) -> CartInput {
        let order_amount = lines.iter().filter_map(|l| l.total_amount).sum();
        let order_tax_amount = lines.iter().filter_map(|l| l.total_tax_amount).sum();
        CartInput {
            purchase_country: Some("SE".into()),
            purchase_currency: Some("SEK".into()),
            locale: Some("en-SE".into()),
            order_amount: Some(order_amount),
            order_tax_amount: Some(order_tax_amount),
            order_lines: Some(lines),
        }
    }

    fn field_of(c: &CartInput) -> String {
        c.parse().unwrap_err().field
    }

    #[test]
    fn klarna_doc_example_is_valid() {
        // The in-store example of reference §3.1: 20000 with a 2000 discount, 20 % tax.
        let mut l = line(1, 20_000, 2000, 3000);
        l.total_amount = Some(18_000);
        l.total_discount_amount = Some(2000);
        let parsed = cart(vec![l]).parse().unwrap();
        assert_eq!((parsed.order_amount, parsed.order_tax_amount), (18_000, 3000));
        assert_eq!(parsed.lines[0].total_discount_amount, 2000);
        assert_eq!(parsed.lines[0].total_tax_amount, 3000);
        assert_eq!(parsed.currency(), parsed.purchase_currency.to_ascii_uppercase());
    }

    #[test]
    fn names_the_broken_field() {
        let mut c = cart(vec![line(2, 1000, 2500, 400)]);
        c.order_amount = Some(1999);
        assert_eq!(field_of(&c), "order_amount");

        let mut c = cart(vec![line(1, 1000, 2500, 200), line(1, 1000, 2500, 200)]);
        c.order_lines.as_mut().unwrap()[1].total_amount = Some(900);
        c.order_amount = Some(1900);
        assert_eq!(field_of(&c), "order_lines[1].total_amount");

        // 25 % of a 1000 gross is 200; 150 implies 17.6 %, more than a point off.
        let c = cart(vec![line(1, 1000, 2500, 150)]);
        assert_eq!(field_of(&c), "order_lines[0].total_tax_amount");
        // Within a point (18000 gross at 20 %: 3000; 2900 implies 19.2 %) is accepted, as at Klarna.
        let mut l = line(1, 18_000, 2000, 2900);
        l.total_amount = Some(18_000);
        cart(vec![l]).parse().unwrap();

        let mut c = cart(vec![line(1, 1000, 2500, 200)]);
        c.order_tax_amount = Some(210);
        assert_eq!(field_of(&c), "order_tax_amount");

        let mut c = cart(vec![line(1, 1000, 2500, 200)]);
        c.purchase_currency = Some("SE".into());
        assert_eq!(field_of(&c), "purchase_currency");

        let mut c = cart(vec![line(1, 1000, 2500, 200)]);
        c.order_lines.as_mut().unwrap()[0].name = None;
        assert_eq!(field_of(&c), "order_lines[0].name");

        let c = CartInput { order_lines: Some(vec![]), ..cart(vec![]) };
        assert_eq!(field_of(&c), "order_lines");
    }

    #[test]
    fn us_sales_tax_line() {
        let item = LineInput { tax_rate: None, total_tax_amount: None, ..line(1, 10_000, 0, 0) };
        let tax = LineInput {
            kind: Some("sales_tax".into()),
            name: Some("Sales tax".into()),
            quantity: Some(1),
            unit_price: Some(800),
            total_amount: Some(800),
            ..LineInput::default()
        };
        let c = CartInput { order_amount: Some(10_800), order_tax_amount: Some(800), ..cart(vec![item, tax]) };
        c.parse().unwrap();
    }

    /// Any i64, with the edges (where overflow lives) drawn often.
    fn extreme() -> impl proptest::strategy::Strategy<Value = i64> {
        use proptest::prelude::*;
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1), -1_000_000i64..1_000_000, any::<i64>()]
    }

    #[test]
    fn the_most_negative_amount_is_refused_not_wrapped() {
        let mut l = line(1, 1000, 2500, 200);
        l.unit_price = Some(i64::MIN);
        assert_eq!(field_of(&cart(vec![l.clone()])), "order_lines[0].unit_price");
        l.unit_price = Some(1000);
        l.total_amount = Some(i64::MIN);
        let c = CartInput { order_amount: Some(0), ..cart(vec![line(1, 1000, 2500, 200)]) };
        let c = CartInput { order_lines: Some(vec![l]), ..c };
        assert_eq!(field_of(&c), "order_lines[0].total_amount");
    }

    proptest::proptest! {
        /// Whatever numbers arrive, validation answers (no overflow, no panic).
        #[test]
        fn validation_never_panics(numbers in proptest::collection::vec(extreme(), 7), order in extreme(), tax in extreme()) {
            let line = LineInput {
                name: Some("x".into()),
                quantity: Some(numbers[0]),
                unit_price: Some(numbers[1]),
                total_amount: Some(numbers[2]),
                total_discount_amount: Some(numbers[3]),
                tax_rate: Some(numbers[4]),
                total_tax_amount: Some(numbers[5]),
                kind: (numbers[6] % 2 == 0).then(|| "sales_tax".to_owned()),
                ..LineInput::default()
            };
            let c = CartInput {
                purchase_country: Some("SE".into()),
                purchase_currency: Some("SEK".into()),
                locale: None,
                order_amount: Some(order),
                order_tax_amount: Some(tax),
                order_lines: Some(vec![line.clone(), line]),
            };
            let _ = c.parse();
        }
    }

    #[test]
    fn locale_pattern() {
        assert!(is_locale("en-US") && is_locale("sv") && is_locale("en-se-xx"));
        assert!(!is_locale("eng") && !is_locale("en_US") && !is_locale(""));
    }
}

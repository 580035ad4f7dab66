//! What the payment page shows: the shop (name, logo, background) and the cart, formatted for
//! the session's currency and locale.

use super::super::money;
use crate::model::payment::PaymentRecord;
use kassa_core::hpp::{BackgroundImage, HppOptions, PurchaseType, SubtotalDetail};

/// The merchant as the consumer sees it.
pub struct Shop {
    pub name: String,
    pub logo_url: Option<String>,
    /// The widest background image, and a `srcset` of all of them when their URLs allow one.
    pub backdrop: Option<Backdrop>,
}

pub struct Backdrop {
    pub src: String,
    pub srcset: String,
}

impl Shop {
    pub fn hpp(options: &HppOptions, merchant_name: &str) -> Self {
        let name = options.page_title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| merchant_name.into());
        Self { name, logo_url: options.logo_url.clone(), backdrop: backdrop(&options.background_images) }
    }

    pub fn in_store(merchant_name: &str) -> Self {
        Self { name: merchant_name.to_owned(), logo_url: None, backdrop: None }
    }
}

fn backdrop(images: &[BackgroundImage]) -> Option<Backdrop> {
    let mut sized: Vec<(&str, i64)> =
        images.iter().filter_map(|i| Some((i.url.as_deref()?, i.width.unwrap_or(0)))).collect();
    sized.sort_by_key(|(_, width)| *width);
    let (widest, _) = *sized.last()?;
    let listable = sized.iter().all(|(url, width)| *width > 0 && !url.contains([',', ' ']));
    let srcset = if listable {
        sized.iter().map(|(url, width)| format!("{url} {width}w")).collect::<Vec<_>>().join(", ")
    } else {
        String::new()
    };
    Some(Backdrop { src: widest.to_owned(), srcset })
}

pub struct Line {
    pub name: String,
    pub quantity: String,
    pub unit_price: String,
    /// The line's discount, when it has one.
    pub discount: Option<String>,
    pub total: String,
}

pub struct Cart {
    pub lines: Vec<Line>,
    /// Discounts included in the line totals, when there are any.
    pub discounts: Option<String>,
    /// Tax included in the total (hidden when the merchant asked to hide subtotal detail).
    pub tax: Option<String>,
    pub total: String,
}

impl Cart {
    pub fn of(payment: &PaymentRecord, detail: Option<SubtotalDetail>) -> Self {
        let request = &payment.request;
        let currency = request.purchase_currency.as_deref().unwrap_or("EUR");
        let locale = locale(payment);
        let amount = |minor: i64| money::format(minor, currency, locale);
        let lines = request.order_lines.as_deref().unwrap_or_default();
        let discount_sum =
            lines.iter().filter_map(|l| l.total_discount_amount).filter(|d| *d > 0).fold(0_i64, i64::saturating_add);
        Self {
            lines: lines
                .iter()
                .map(|l| Line {
                    name: l.name.clone().unwrap_or_else(|| "Item".into()),
                    quantity: match &l.quantity_unit {
                        Some(unit) => format!("{} {unit}", l.quantity.unwrap_or(1)),
                        None => format!("{}", l.quantity.unwrap_or(1)),
                    },
                    unit_price: amount(l.unit_price.unwrap_or(0)),
                    discount: l.total_discount_amount.filter(|d| *d > 0).map(|d| amount(-d)),
                    total: amount(l.total_amount.unwrap_or(0)),
                })
                .collect(),
            discounts: (discount_sum > 0).then(|| amount(-discount_sum)),
            tax: (detail != Some(SubtotalDetail::Hide)).then(|| amount(request.order_tax_amount.unwrap_or(0))),
            total: amount(request.order_amount.unwrap_or(0)),
        }
    }
}

/// The session's locale, `en-US` when it has none.
pub fn locale(payment: &PaymentRecord) -> &str {
    payment.request.locale.as_deref().unwrap_or("en-US")
}

/// The buy button's verb (`options.purchase_type`).
pub fn buy_label(purchase_type: Option<PurchaseType>) -> &'static str {
    match purchase_type.unwrap_or(PurchaseType::Buy) {
        PurchaseType::Buy => "Buy",
        PurchaseType::Rent => "Rent",
        PurchaseType::Book => "Book",
        PurchaseType::Subscribe => "Subscribe",
        PurchaseType::Download => "Download",
        PurchaseType::Order => "Order",
        PurchaseType::Continue => "Continue",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_widest_background_leads_and_srcset_lists_all() {
        let image = |url: &str, width| BackgroundImage { url: Some(url.into()), width: Some(width) };
        let b =
            backdrop(&[image("https://a.example/1600.jpg", 1600), image("https://a.example/800.jpg", 800)]).unwrap();
        assert_eq!(b.src, "https://a.example/1600.jpg");
        assert_eq!(b.srcset, "https://a.example/800.jpg 800w, https://a.example/1600.jpg 1600w");
        let odd = backdrop(&[image("https://a.example/x,y.jpg", 10)]).unwrap();
        assert_eq!(odd.srcset, "");
        assert!(backdrop(&[]).is_none());
    }
}

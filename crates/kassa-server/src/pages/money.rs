//! Amounts in minor units, written as a shopper of the locale reads them: `1 234,50 kr`
//! (sv-SE), `1.234,50 €` (de-DE), `$1,234.50` (en-US).

/// Digits after the decimal point of a currency (ISO 4217).
fn exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "ISK" | "CLP" | "VND" => 0,
        _ => 2,
    }
}

fn symbol(currency: &str) -> &str {
    match currency {
        "EUR" => "€",
        "USD" | "AUD" | "CAD" | "NZD" | "MXN" => "$",
        "GBP" => "£",
        "SEK" | "NOK" | "ISK" => "kr",
        "DKK" => "kr.",
        "PLN" => "zł",
        "CZK" => "Kč",
        "JPY" => "¥",
        "RON" => "lei",
        "HUF" => "Ft",
        other => other,
    }
}

/// Grouping and decimal separators of a locale's language.
fn separators(language: &str) -> (&'static str, &'static str) {
    match language {
        "en" | "ja" | "zh" | "ko" | "he" | "th" => (",", "."),
        "de" | "da" | "nl" | "it" | "es" | "pt" | "ro" | "el" | "tr" | "id" => (".", ","),
        // Swedish, Norwegian, Finnish, French, Polish, Czech … group with a (narrow) no-break space.
        _ => ("\u{a0}", ","),
    }
}

/// The language whose number format a locale uses: its own, except English in a country of
/// another language, which writes numbers as that country does (`en-SE`: `180,00 kr`).
fn number_language(locale: &str) -> String {
    let mut parts = locale.split(['-', '_']);
    let language = parts.next().unwrap_or("en").to_ascii_lowercase();
    let region = parts.next().unwrap_or_default().to_ascii_uppercase();
    let local = match region.as_str() {
        "SE" => "sv",
        "NO" => "nb",
        "FI" => "fi",
        "DK" => "da",
        "DE" | "AT" => "de",
        "NL" | "BE" => "nl",
        "FR" => "fr",
        "IT" => "it",
        "ES" => "es",
        "PT" => "pt",
        "PL" => "pl",
        "CZ" => "cs",
        "GR" => "el",
        "RO" => "ro",
        _ => return language,
    };
    if language == "en" { local.to_owned() } else { language }
}

/// `minor` units of `currency` formatted for `locale` (a BCP 47 tag such as `sv-SE`).
pub fn format(minor: i64, currency: &str, locale: &str) -> String {
    let currency = currency.to_ascii_uppercase();
    let language = number_language(locale);
    let (group, decimal) = separators(&language);
    let scale = 10_i64.pow(exponent(&currency));
    let (whole, fraction) = (minor.unsigned_abs() / scale as u64, minor.unsigned_abs() % scale as u64);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push_str(group);
        }
        grouped.push(digit);
    }
    let number = match exponent(&currency) {
        0 => grouped,
        places => format!("{grouped}{decimal}{fraction:0width$}", width = places as usize),
    };
    let sign = if minor < 0 { "-" } else { "" };
    let symbol = symbol(&currency);
    if language == "en" || language == "ja" || language == "zh" {
        if symbol.chars().count() == 1 {
            format!("{sign}{symbol}{number}")
        } else {
            format!("{sign}{symbol}\u{a0}{number}")
        }
    } else {
        format!("{sign}{number}\u{a0}{symbol}")
    }
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn written_as_the_locale_reads() {
        assert_eq!(format(123_450, "SEK", "sv-SE"), "1\u{a0}234,50\u{a0}kr");
        assert_eq!(format(123_450, "EUR", "de-DE"), "1.234,50\u{a0}€");
        assert_eq!(format(123_450, "USD", "en-US"), "$1,234.50");
        assert_eq!(format(5, "GBP", "en-GB"), "£0.05");
        assert_eq!(format(-2_000, "EUR", "en-IE"), "-€20.00");
        assert_eq!(format(1_234_567, "JPY", "ja-JP"), "¥1,234,567");
        assert_eq!(format(99_900, "NOK", "nb-NO"), "999,00\u{a0}kr");
        assert_eq!(format(100, "CHF", "en-CH"), "CHF\u{a0}1.00");
        assert_eq!(format(18_000, "SEK", "en-SE"), "180,00\u{a0}kr");
        assert_eq!(format(18_000, "EUR", "en-DE"), "180,00\u{a0}€");
    }
}

//! Field checks shared by the request validators.

pub mod instore;
pub mod schema;

use super::error::ServiceError;

/// An absolute http(s) URL; `{{placeholders}}` are allowed anywhere.
pub fn url(field: &str, value: &str) -> Result<(), ServiceError> {
    const MAX: usize = 2000;
    if value.len() > MAX {
        return Err(ServiceError::bad_value(field, format!("must be at most {MAX} characters")));
    }
    // A URL parser drops or encodes them, but the raw value is what a redirect would carry.
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ServiceError::bad_value(field, "must not contain spaces or control characters"));
    }
    let probe = value.replace("{{", "x").replace("}}", "x");
    match url::Url::parse(&probe) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => Ok(()),
        _ => Err(ServiceError::bad_value(field, "must be an absolute http or https URL")),
    }
}

pub fn optional_url(field: &str, value: Option<&str>) -> Result<(), ServiceError> {
    value.map_or(Ok(()), |v| url(field, v))
}

pub fn max_chars(field: &str, value: Option<&str>, max: usize) -> Result<(), ServiceError> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(ServiceError::bad_value(field, format!("must be at most {max} characters")))
        }
        _ => Ok(()),
    }
}

/// A plausible email address: one `@`, a local part, a dotted domain, no spaces.
pub fn email(field: &str, value: &str) -> Result<(), ServiceError> {
    let valid = value.len() <= 254
        && !value.chars().any(char::is_whitespace)
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').count() >= 2
                && domain.split('.').all(|label| !label.is_empty())
        });
    if valid { Ok(()) } else { Err(ServiceError::bad_value(field, "must be an email address")) }
}

/// A phone number: digits with an optional leading `+`, spaces and dashes ignored, 6–15 digits.
pub fn phone(field: &str, value: &str) -> Result<(), ServiceError> {
    let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ServiceError::bad_value(field, "must be a phone number of 6 to 15 digits"))
    }
}

/// A closed-set value, case-insensitive.
pub fn one_of<T>(
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Result<T, ServiceError> {
    parse(value).ok_or_else(|| ServiceError::bad_value(field, format!("must be one of {}", expected())))
}

/// An optional closed-set value, case-insensitive.
pub fn optional<T>(
    field: &str,
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Result<Option<T>, ServiceError> {
    value.map(|v| one_of(field, v, parse, expected)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_placeholders() {
        assert!(url("f", "https://example.com/ok?sid={{session_id}}").is_ok());
        assert!(url("f", "https://example.com/{{order_id}}/done").is_ok());
        assert!(url("f", "ftp://example.com").is_err());
        assert!(url("f", "/relative").is_err());
        assert!(url("f", "not a url").is_err());
    }

    #[test]
    fn contacts() {
        assert!(email("e", "customer@email.se").is_ok());
        assert!(email("e", "customer@localhost").is_err());
        assert!(email("e", "a b@c.de").is_err());
        assert!(phone("p", "07000212345").is_ok());
        assert!(phone("p", "+46 70 174 06 15").is_ok());
        assert!(phone("p", "12ab45").is_err());
    }
}

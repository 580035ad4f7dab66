//! Klarna's playground personas (reference §5): the email and one-time code a consumer types
//! decide what happens, so test clients see what Klarna's playground would do.

use crate::service::validate;

/// What identifying as a persona leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `customer@email.<cc>` (and any other address): approved.
    Approve,
    /// `customer+denied@…`: a hard decline; the consumer may try again.
    Decline,
    /// `customer+error@…`, or the one-time code `999999`: a technical error.
    Error,
}

/// The message Klarna shows on a hard decline.
pub const DECLINE_MESSAGE: &str =
    "Your purchase can not be accepted at this time. Please choose a different payment method.";

/// Why what was typed cannot be used (shown next to the field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    Email(&'static str),
    Code(&'static str),
}

/// Refuses what is not an email address (the rule of the distribution API's `email`).
pub fn check_email(email: &str) -> Result<(), InputError> {
    validate::email("email", email).map_err(|_| InputError::Email("Enter an email address, such as customer@email.se"))
}

/// The verdict for an email address and a one-time code.
pub fn decide(email: &str, code: &str) -> Result<Verdict, InputError> {
    check_email(email)?;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InputError::Code("Enter the 6-digit code"));
    }
    let local = email.split('@').next().unwrap_or_default().to_ascii_lowercase();
    let tags: Vec<&str> = local.split('+').skip(1).collect();
    Ok(if code == "999999" || tags.contains(&"error") {
        Verdict::Error
    } else if tags.contains(&"denied") {
        Verdict::Decline
    } else {
        Verdict::Approve
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playground_personas() {
        assert_eq!(decide("customer@email.se", "123456"), Ok(Verdict::Approve));
        assert_eq!(decide("Customer+Denied@email.de", "123456"), Ok(Verdict::Decline));
        assert_eq!(decide("customer+error@email.us", "123456"), Ok(Verdict::Error));
        assert_eq!(decide("customer@email.uk", "999999"), Ok(Verdict::Error));
        assert_eq!(decide("customer+denied@email.se", "999999"), Ok(Verdict::Error));
        assert!(matches!(decide("customer@email.se", "12345"), Err(InputError::Code(_))));
        assert!(matches!(decide("customer@email.se", "12345a"), Err(InputError::Code(_))));
        for bad in
            ["", "customer", "@email.se", "customer@email", "a b@email.se", "customer@.se", "a@b@c.se", "a@b..se"]
        {
            assert!(matches!(decide(bad, "123456"), Err(InputError::Email(_))), "{bad}");
        }
    }
}

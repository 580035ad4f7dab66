//! Placeholder substitution in merchant URLs: HPP's `{{placeholder}}`s, and Klarna Payments'
//! `{session.id}` / `{order.id}` in an order's confirmation URL. Unknown placeholders (including
//! Klarna's own `{{oder_id}}` typo seen in the wild) are left exactly as they are.

/// Values known at the moment a URL is used; `None` leaves that placeholder untouched.
#[derive(Debug, Default, Clone, Copy)]
pub struct Placeholders<'a> {
    pub session_id: Option<&'a str>,
    pub authorization_token: Option<&'a str>,
    pub order_id: Option<&'a str>,
}

impl Placeholders<'_> {
    pub fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                rest = &rest[start..];
                break;
            };
            let name = &after[..end];
            match self.value(name) {
                Some(value) => out.push_str(value),
                None => out.push_str(&rest[start..start + 2 + end + 2]),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    fn value(&self, name: &str) -> Option<&str> {
        match name {
            "session_id" => self.session_id,
            "authorization_token" => self.authorization_token,
            "order_id" => self.order_id,
            _ => None,
        }
    }
}

/// Klarna Payments' placeholders of an order's confirmation URL, in single braces (its own
/// spelling, unlike HPP's): `{session.id}` and `{order.id}`. Anything else in braces is kept.
pub fn fill_confirmation(template: &str, session_id: &str, order_id: &str) -> String {
    template.replace("{session.id}", session_id).replace("{order.id}", order_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fills_known_and_keeps_unknown() {
        let p = Placeholders { session_id: Some("S"), authorization_token: Some("T"), order_id: None };
        assert_eq!(
            p.fill("https://e.com/ok?sid={{session_id}}&t={{authorization_token}}&o={{order_id}}&x={{oder_id}}"),
            "https://e.com/ok?sid=S&t=T&o={{order_id}}&x={{oder_id}}"
        );
        assert_eq!(p.fill("a{{session_id"), "a{{session_id");
        assert_eq!(p.fill("{single}"), "{single}");
    }

    #[test]
    fn fills_the_confirmation_placeholders() {
        assert_eq!(
            fill_confirmation(
                "https://e.com/c?s={session.id}&o={order.id}&x={checkout.order.id}&y={{order_id}}",
                "S",
                "O"
            ),
            "https://e.com/c?s=S&o=O&x={checkout.order.id}&y={{order_id}}"
        );
    }

    proptest! {
        #[test]
        fn text_without_braces_is_unchanged(s in "[^{}]*") {
            let p = Placeholders { session_id: Some("S"), ..Placeholders::default() };
            prop_assert_eq!(p.fill(&s), s);
        }
    }
}

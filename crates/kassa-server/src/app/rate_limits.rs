//! How many requests per second each merchant may make, per [`Category`] (Klarna's limits,
//! reference §1.5): the configuration, read from `--rate-limits`. The counting is
//! [`crate::runtime::rate_limiter`]; the HTTP side (which request is which category, the quota
//! headers, the 429) is [`crate::api::rate_limit`].

use std::fmt;
use std::str::FromStr;

/// The kinds of operation Klarna limits separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// `POST /payments/v1/sessions`.
    CreateSession,
    /// `POST /hpp/v1/sessions`.
    CreateHppSession,
    /// Every other request of the merchant API.
    Other,
}

impl Category {
    /// The category's name in metrics: `create_session`, `create_hpp_session`, `other`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CreateSession => "create_session",
            Self::CreateHppSession => "create_hpp_session",
            Self::Other => "other",
        }
    }

    /// The counter slot of this category (one per category and merchant).
    pub const fn index(self) -> usize {
        match self {
            Self::CreateSession => 0,
            Self::CreateHppSession => 1,
            Self::Other => 2,
        }
    }
}

/// Requests per second each merchant may make in each [`Category`]; `None` is unlimited, and
/// `Some(0)` refuses every request of the category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub create_session: Option<u32>,
    pub create_hpp_session: Option<u32>,
    pub other: Option<u32>,
}

impl RateLimits {
    /// Klarna's production limits: 40 / 40 / 200 requests per second.
    pub const fn production() -> Self {
        Self { create_session: Some(40), create_hpp_session: Some(40), other: Some(200) }
    }

    /// Klarna's playground limits: 5 / 5 / 50 requests per second.
    pub const fn playground() -> Self {
        Self { create_session: Some(5), create_hpp_session: Some(5), other: Some(50) }
    }

    /// No limits: no counting, no headers.
    pub const fn off() -> Self {
        Self { create_session: None, create_hpp_session: None, other: None }
    }

    /// The limit of `category`.
    pub const fn get(&self, category: Category) -> Option<u32> {
        match category {
            Category::CreateSession => self.create_session,
            Category::CreateHppSession => self.create_hpp_session,
            Category::Other => self.other,
        }
    }

    pub const fn is_off(&self) -> bool {
        self.create_session.is_none() && self.create_hpp_session.is_none() && self.other.is_none()
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::production()
    }
}

/// Why a `--rate-limits` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid rate limits {input:?}: {reason}; expected production, playground, off, or \
     create=N,hpp=N,other=N (requests per second per merchant, N > 0 or off; omitted keys keep \
     production's 40/40/200)"
)]
pub struct ParseRateLimitsError {
    input: String,
    reason: String,
}

/// `production`, `playground`, `off`, or a list `create=N,hpp=N,other=N` where each `N` is a
/// positive number of requests per second or `off`, and omitted keys keep production's value.
impl FromStr for RateLimits {
    type Err = ParseRateLimitsError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason: String| ParseRateLimitsError { input: input.to_owned(), reason };
        match input.trim().to_ascii_lowercase().as_str() {
            "production" => return Ok(Self::production()),
            "playground" => return Ok(Self::playground()),
            "off" => return Ok(Self::off()),
            _ => {}
        }
        let mut limits = Self::production();
        let mut seen = [false; 3];
        for item in input.split(',') {
            let (key, value) =
                item.split_once('=').ok_or_else(|| error(format!("{:?} is not key=value", item.trim())))?;
            let (key, value) = (key.trim(), value.trim());
            let category = match key.to_ascii_lowercase().as_str() {
                "create" => Category::CreateSession,
                "hpp" => Category::CreateHppSession,
                "other" => Category::Other,
                other => return Err(error(format!("unknown key {other:?} (use create, hpp, other)"))),
            };
            if std::mem::replace(&mut seen[category.index()], true) {
                return Err(error(format!("{key} given twice")));
            }
            let limit = match value.parse::<u32>() {
                Ok(n) if n > 0 => Some(n),
                _ if value.eq_ignore_ascii_case("off") => None,
                _ => return Err(error(format!("{key}={value}: the limit must be a number above 0 or off"))),
            };
            match category {
                Category::CreateSession => limits.create_session = limit,
                Category::CreateHppSession => limits.create_hpp_session = limit,
                Category::Other => limits.other = limit,
            }
        }
        Ok(limits)
    }
}

/// The form [`FromStr`] reads back.
impl fmt::Display for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::production() {
            return f.write_str("production");
        }
        if *self == Self::playground() {
            return f.write_str("playground");
        }
        if self.is_off() {
            return f.write_str("off");
        }
        let show = |limit: Option<u32>| limit.map_or_else(|| "off".to_owned(), |n| n.to_string());
        write!(
            f,
            "create={},hpp={},other={}",
            show(self.create_session),
            show(self.create_hpp_session),
            show(self.other)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_parsing() {
        assert_eq!("production".parse(), Ok(RateLimits::production()));
        assert_eq!(" Playground ".parse(), Ok(RateLimits::playground()));
        assert_eq!("off".parse(), Ok(RateLimits::off()));
        assert_eq!(
            "create=1,hpp=2,other=3".parse(),
            Ok(RateLimits { create_session: Some(1), create_hpp_session: Some(2), other: Some(3) })
        );
        assert_eq!(
            "other=off, create=7".parse(),
            Ok(RateLimits { create_session: Some(7), create_hpp_session: Some(40), other: None })
        );
        for bad in ["", "fast", "create=0", "create=-1", "create=x", "create", "speed=3", "create=1,create=2"] {
            let error = bad.parse::<RateLimits>().expect_err(bad);
            assert!(error.to_string().contains("expected production, playground, off"), "{error}");
        }
        for limits in [
            RateLimits::production(),
            RateLimits::playground(),
            RateLimits::off(),
            RateLimits { create_session: Some(1), create_hpp_session: None, other: Some(3) },
        ] {
            assert_eq!(limits.to_string().parse(), Ok(limits), "{limits}");
        }
        assert_eq!(RateLimits::production().to_string(), "production");
        assert_eq!(RateLimits::default(), RateLimits::production());
    }
}

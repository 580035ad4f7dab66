//! A reader of the Prometheus / OpenMetrics text exposition format, for tests that scrape
//! `/metrics`: every sample line as a name, its labels and its value; `# HELP`, `# TYPE`,
//! `# UNIT` and `# EOF` lines are checked for shape and skipped.

use std::collections::BTreeMap;

/// One sample: `name{label="value",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A whole exposition.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    /// `# TYPE` of each metric family.
    pub types: BTreeMap<String, String>,
}

impl Exposition {
    /// Parses `text`; the first malformed line is the error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut exposition = Self::default();
        for (number, line) in text.lines().enumerate() {
            let bad = |why: &str| format!("line {}: {why}: {line:?}", number + 1);
            if line.is_empty() || line == "# EOF" {
                continue;
            }
            if let Some(comment) = line.strip_prefix("# ") {
                let mut words = comment.splitn(3, ' ');
                match (words.next(), words.next(), words.next()) {
                    (Some("TYPE"), Some(name), Some(kind)) => {
                        exposition.types.insert(name.to_owned(), kind.to_owned());
                    }
                    (Some("HELP" | "UNIT"), Some(_), _) => {}
                    _ => return Err(bad("an unknown comment")),
                }
                continue;
            }
            exposition.samples.push(sample(line).map_err(|why| bad(&why))?);
        }
        Ok(exposition)
    }

    /// The samples of `name` whose labels include `labels`.
    pub fn samples<'a>(&'a self, name: &'a str, labels: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |s| {
            s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
        })
    }

    /// The value of the one sample of `name` with `labels`, 0 when there is none (a series
    /// not yet created); panics when `labels` match more than one.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self.samples(name, labels).collect();
        assert!(found.len() <= 1, "{name} {labels:?} matches {} samples: {found:?}", found.len());
        found.first().map_or(0.0, |s| s.value)
    }
}

fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        return Err("a bad metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest.find("=\"").ok_or("a label without =\"")?;
            let key = rest[..eq].to_owned();
            let (value, after) = quoted(&rest[eq + 2..])?;
            labels.insert(key, value);
            rest = after.strip_prefix(',').unwrap_or(after);
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|_| format!("a bad value {v:?}"))?,
    };
    Ok(Sample { name: name.to_owned(), labels, value })
}

/// A label value up to its closing quote, unescaped; and what follows it.
fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[at + 1..])),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, escaped @ ('\\' | '"'))) => value.push(escaped),
                _ => return Err("a bad escape".into()),
            },
            c => value.push(c),
        }
    }
    Err("an unterminated label value".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_samples_with_braces_and_escapes_in_label_values() {
        let text = "# HELP kassa_x Some help.\n# TYPE kassa_x counter\n\
                    kassa_x_total{route=\"/a/{id}\",note=\"say \\\"hi\\\"\\n\"} 3\n\
                    kassa_y_bucket{le=\"+Inf\"} 2\nkassa_z 1.5\n# EOF\n";
        let parsed = Exposition::parse(text).unwrap();
        assert_eq!(parsed.types["kassa_x"], "counter");
        assert_eq!(parsed.value("kassa_x_total", &[("route", "/a/{id}")]), 3.0);
        assert_eq!(parsed.samples[0].labels["note"], "say \"hi\"\n");
        assert_eq!(parsed.value("kassa_y_bucket", &[("le", "+Inf")]), 2.0);
        assert_eq!(parsed.value("kassa_z", &[]), 1.5);
        assert!(Exposition::parse("kassa_q{a=\"b} 1").is_err());
        assert!(Exposition::parse("kassa_q 1x").is_err());
    }
}

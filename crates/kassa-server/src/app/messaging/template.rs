//! The JSON body an SMS gateway is sent: the operator's template, whose string values may hold the
//! placeholders `{{to}}`, `{{country}}`, `{{body}}` and `{{message_id}}`. Placeholders are filled
//! inside the parsed JSON's strings, so whatever a message holds (quotes, new lines) is escaped
//! right by construction.

use serde_json::Value;

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 4] = ["to", "country", "body", "message_id"];

/// What fills a template's placeholders for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields<'a> {
    /// The phone number.
    pub to: &'a str,
    /// Its ISO 3166 alpha-2 country ("" when unknown).
    pub country: &'a str,
    pub body: &'a str,
    pub message_id: &'a str,
}

impl Fields<'_> {
    fn value(&self, placeholder: &str) -> Option<&str> {
        match placeholder {
            "to" => Some(self.to),
            "country" => Some(self.country),
            "body" => Some(self.body),
            "message_id" => Some(self.message_id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyTemplate {
    json: Value,
}

impl BodyTemplate {
    /// The template `text`: JSON whose strings use only the known placeholders, `{{to}}` and
    /// `{{body}}` among them.
    pub fn parse(text: &str) -> Result<Self, String> {
        let json: Value = serde_json::from_str(text).map_err(|e| format!("is not JSON: {e}"))?;
        let mut used = Vec::new();
        strings(&json, &mut |s| used.extend(placeholders(s)));
        if let Some(unknown) = used.iter().find(|p| !PLACEHOLDERS.contains(p)) {
            return Err(format!(
                "uses the unknown placeholder {{{{{unknown}}}}} (known: {})",
                PLACEHOLDERS.map(|p| format!("{{{{{p}}}}}")).join(", ")
            ));
        }
        for needed in ["to", "body"] {
            if !used.contains(&needed) {
                return Err(format!("does not use {{{{{needed}}}}} in any string value"));
            }
        }
        Ok(Self { json })
    }

    /// The body for one message: every placeholder in every string value filled.
    pub fn render(&self, fields: &Fields<'_>) -> Value {
        fill(&self.json, fields)
    }
}

/// Calls `visit` with every string value of `json` (object keys are not values).
fn strings<'a>(json: &'a Value, visit: &mut impl FnMut(&'a str)) {
    match json {
        Value::String(s) => visit(s),
        Value::Array(items) => items.iter().for_each(|item| strings(item, visit)),
        Value::Object(map) => map.values().for_each(|value| strings(value, visit)),
        _ => {}
    }
}

/// The names of the `{{name}}` placeholders in `text`, in order.
fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        found.push(after[..close].trim());
        rest = &after[close + 2..];
    }
    found
}

fn fill(json: &Value, fields: &Fields<'_>) -> Value {
    match json {
        Value::String(s) => Value::String(fill_text(s, fields)),
        Value::Array(items) => Value::Array(items.iter().map(|item| fill(item, fields)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), fill(v, fields))).collect()),
        other => other.clone(),
    }
}

/// `text` with each placeholder replaced by its value, in one pass: a value that itself looks
/// like a placeholder (a message body holding "{{to}}") is left as it is.
fn fill_text(text: &str, fields: &Fields<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        out.push_str(&rest[..open]);
        match fields.value(after[..close].trim()) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: Fields<'static> =
        Fields { to: "+46701740615", country: "SE", body: "Pay \"now\":\nhttps://k/p/1 {{to}}", message_id: "m1" };

    #[test]
    fn placeholders_are_filled_inside_strings_and_escaped_by_construction() {
        let template = BodyTemplate::parse(
            r#"{"to": "{{to}}", "text": "{{ body }}", "meta": {"ref": "kassa-{{message_id}}", "cc": "{{country}}"},
                "tags": ["sms", "{{country}}"], "flash": false, "ttl": 3600}"#,
        )
        .unwrap();
        let body = template.render(&FIELDS);
        assert_eq!(
            body,
            json!({"to": "+46701740615", "text": "Pay \"now\":\nhttps://k/p/1 {{to}}",
                   "meta": {"ref": "kassa-m1", "cc": "SE"}, "tags": ["sms", "SE"], "flash": false, "ttl": 3600})
        );
        // Serialized, the quotes and the new line of the body are escaped: the JSON parses back.
        let text = serde_json::to_string(&body).unwrap();
        assert!(text.contains(r#"Pay \"now\":\nhttps"#), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), body);
    }

    #[test]
    fn a_template_must_be_json_using_to_and_body_and_only_known_placeholders() {
        let refused = |text: &str| BodyTemplate::parse(text).unwrap_err();
        assert!(refused(r#"{"to": "{{to}}", "text": "{{body}}""#).starts_with("is not JSON"));
        assert_eq!(refused(r#"{"text": "{{body}}"}"#), "does not use {{to}} in any string value");
        assert_eq!(refused(r#"{"to": "{{to}}", "{{body}}": 1}"#), "does not use {{body}} in any string value");
        assert!(refused(r#"{"to": "{{to}}", "text": "{{body}} {{name}}"}"#).contains("unknown placeholder {{name}}"));
        assert!(BodyTemplate::parse(r#"["{{to}}", "{{body}}"]"#).is_ok());
    }

    #[test]
    fn text_without_placeholders_is_left_as_it_is() {
        assert_eq!(fill_text("a {{ b} c }} {{", &FIELDS), "a {{ b} c }} {{");
        assert_eq!(fill_text("{{to}}{{to}}", &FIELDS), "+46701740615+46701740615");
    }
}

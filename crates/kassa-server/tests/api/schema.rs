//! Validates responses against Klarna's published OpenAPI schemas (`shared/specs/klarna`),
//! made strict: an object may not carry a key its schema does not define.

use serde_json::{Value, json};
use std::sync::OnceLock;

#[derive(Clone, Copy)]
pub enum Spec {
    Hpp,
    Payments,
    OrderManagement,
    CustomerToken,
}

fn load(file: &str) -> Value {
    let path = format!("{}/tests/specs/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap()
}

fn components(spec: Spec) -> &'static Value {
    static HPP: OnceLock<Value> = OnceLock::new();
    static PAYMENTS: OnceLock<Value> = OnceLock::new();
    static ORDER_MANAGEMENT: OnceLock<Value> = OnceLock::new();
    static CUSTOMER_TOKEN: OnceLock<Value> = OnceLock::new();
    let (cell, file) = match spec {
        Spec::Hpp => (&HPP, "hosted-payment-page-api-openapi.original.yml"),
        Spec::Payments => (&PAYMENTS, "klarna-payments-api-openapi.yml"),
        Spec::OrderManagement => (&ORDER_MANAGEMENT, "order-management-api-openapi.original.yml"),
        Spec::CustomerToken => (&CUSTOMER_TOKEN, "klarna-customer-token-api-openapi.yml"),
    };
    cell.get_or_init(|| {
        let mut components = load(file)["components"].clone();
        make_strict(&mut components);
        split_joined_enums(&mut components);
        components
    })
}

/// Order Management's spec writes `order_line.type` as an enum of one string,
/// `"physical|discount|…"` (its pattern, pasted): read as the list it means, or no real line
/// type would validate.
fn split_joined_enums(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get_mut("enum")
                && let [Value::String(joined)] = values.as_slice()
                && joined.contains('|')
            {
                *values = joined.trim().split('|').map(|v| Value::String(v.to_owned())).collect();
            }
            map.values_mut().for_each(split_joined_enums);
        }
        Value::Array(items) => items.iter_mut().for_each(split_joined_enums),
        _ => {}
    }
}

fn make_strict(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(make_strict);
        }
        Value::Array(items) => items.iter_mut().for_each(make_strict),
        _ => {}
    }
}

/// Panics with every violation when `instance` does not match `schema` of `spec`.
pub fn assert_valid(spec: Spec, schema: &str, instance: &Value) {
    let components = components(spec);
    assert!(components["schemas"].get(schema).is_some(), "no schema {schema}");
    let root = json!({ "$ref": format!("#/components/schemas/{schema}"), "components": components });
    let validator = jsonschema::draft4::new(&root).unwrap_or_else(|e| panic!("schema {schema}: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{e} (at {})", e.instance_path)).collect();
    assert!(errors.is_empty(), "{schema} violations: {errors:#?}\nin {instance:#}");
}

#[test]
fn the_validator_rejects_what_klarna_would_not_send() {
    assert_valid(Spec::Hpp, "SessionResponseV1", &json!({"session_id": "x", "status": "WAITING"}));
    let bad = std::panic::catch_unwind(|| assert_valid(Spec::Hpp, "SessionResponseV1", &json!({"status": "TIMEOUT"})));
    assert!(bad.is_err(), "an unknown status must fail");
    let extra = std::panic::catch_unwind(|| assert_valid(Spec::Hpp, "SessionResponseV1", &json!({"surprise": 1})));
    assert!(extra.is_err(), "an unknown key must fail");
    let missing =
        std::panic::catch_unwind(|| assert_valid(Spec::Payments, "merchant_session", &json!({"session_id": "x"})));
    assert!(missing.is_err(), "a missing required key must fail");
}

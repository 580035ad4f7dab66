//! Unauthenticated resources, health and the API description.

use crate::schema::{Spec, assert_valid};
use kassa_testkit::{read, spawn};
use serde_json::json;

pub(crate) fn decode_png(bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let (width, height) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn qr_code_url_serves_a_real_qr_of_the_redirect_url() {
    let app = spawn().await;
    let (_, _, created) = app.hpp_session(json!({}), json!({})).await;
    assert_valid(Spec::Hpp, "SessionCreationResponseV1", &created);
    for key in [
        "session_id",
        "session_url",
        "redirect_url",
        "qr_code_url",
        "distribution_url",
        "expires_at",
        "distribution_module",
        "manual_identification_check_url",
    ] {
        assert!(created[key].is_string() || created[key].is_object(), "{key} missing in {created}");
    }
    for key in ["token", "standalone_url", "generation_url"] {
        assert!(created["distribution_module"][key].is_string(), "distribution_module.{key}");
    }
    let qr = created["qr_code_url"].as_str().unwrap();
    let redirect = created["redirect_url"].as_str().unwrap();

    // No credentials: the QR URL is public.
    let svg = read(app.client.get(qr).send().await.unwrap()).await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.headers["content-type"], "image/svg+xml");
    assert!(String::from_utf8_lossy(&svg.bytes).contains("<svg"));

    let png = read(app.client.get(format!("{qr}?format=png")).send().await.unwrap()).await;
    assert_eq!(png.headers["content-type"], "image/png");
    assert_eq!(decode_png(&png.bytes), redirect);
    let by_accept = read(app.client.get(qr).header("accept", "image/png").send().await.unwrap()).await;
    assert_eq!(by_accept.headers["content-type"], "image/png");

    read(app.client.get(format!("{qr}?format=gif")).send().await.unwrap()).await.assert_error(400, "BAD_VALUE");
    read(app.client.get(format!("{}/hpp/payments/unknown/qr", app.url)).send().await.unwrap())
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn health_readiness_and_openapi() {
    let app = spawn().await;
    let health = read(app.client.get(format!("{}/healthz", app.url)).send().await.unwrap()).await;
    assert_eq!((health.status.as_u16(), health.body["status"].as_str()), (200, Some("ok")));
    let ready = read(app.client.get(format!("{}/readyz", app.url)).send().await.unwrap()).await;
    assert_eq!((ready.status.as_u16(), ready.body["status"].as_str()), (200, Some("ready")));
    let doc = read(app.client.get(format!("{}/openapi.json", app.url)).send().await.unwrap()).await;
    assert_eq!(doc.headers["content-type"], "application/json");
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/payments/v1/sessions", "post"),
        ("/payments/v1/sessions/{session_id}", "get"),
        ("/payments/v1/sessions/{session_id}", "post"),
        ("/payments/v1/sessions/{session_id}", "delete"),
        ("/payments/v1/authorizations/{authorization_token}/order", "post"),
        ("/payments/v1/authorizations/{authorization_token}", "delete"),
        ("/hpp/v1/sessions", "post"),
        ("/hpp/v1/sessions/{session_id}", "get"),
        ("/hpp/v1/sessions/{session_id}", "delete"),
        ("/hpp/v1/sessions/{session_id}/distribution", "post"),
        ("/hpp/payments/{payment_id}/qr", "get"),
        ("/iss/v1/distributions/{session_id}", "get"),
        ("/iss/v1/distributions/{session_id}/retry", "post"),
        ("/iss/v1/distributions/{session_id}/qr/{token}", "get"),
        ("/sandbox/v1/consumer-sessions", "post"),
        ("/sandbox/v1/distributions/{session_id}/{action}", "post"),
        ("/kassa/v1/hpp/sessions/{session_id}/messages", "get"),
        ("/sandbox/v1/hpp/sessions/{session_id}/{action}", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from /openapi.json");
    }
    // Every operation has an operationId of its own (client generators need them unique), and the
    // answers every authenticated route can give: credentials (401) and, where its path names a
    // resource, 404; PATCH and PUT routes included.
    let mut ids = std::collections::BTreeMap::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            if let Some(other) = ids.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId {id} of {method} {path} is also {other}'s");
            }
            if operation.get("security").is_some_and(|s| !s.as_array().unwrap().is_empty()) {
                assert!(operation["responses"].get("401").is_some(), "{method} {path}: no 401");
            }
            if path.contains('{') {
                assert!(operation["responses"].get("404").is_some(), "{method} {path}: no 404");
            }
        }
    }
    assert_eq!(ids["payments_create_session"], "post /payments/v1/sessions");
    assert_eq!(ids["hpp_create_session"], "post /hpp/v1/sessions");
    // Rate limits are documented where they apply, and only there.
    assert!(paths["/hpp/v1/sessions"]["post"]["responses"].get("429").is_some());
    assert!(paths["/kassa/v1/events"]["get"]["responses"].get("429").is_some());
    assert!(paths["/hpp/payments/{payment_id}/qr"]["get"]["responses"].get("429").is_none());
    assert!(paths["/iss/v1/distributions/{session_id}"]["get"]["responses"].get("429").is_some());
    assert!(paths["/iss/v1/distributions/{session_id}/qr/{token}"]["get"]["responses"].get("429").is_none());
    assert!(paths["/healthz"]["get"]["responses"].get("429").is_none());
    // Statuses are named enums (client generators make one type of each).
    let schemas = &doc.body["components"]["schemas"];
    assert_eq!(schemas["HppSessionV1"]["properties"]["status"]["$ref"], "#/components/schemas/HppStatus");
    assert_eq!(schemas["OrderRead"]["properties"]["status"]["$ref"], "#/components/schemas/OrderStatus");
    assert!(schemas["HppStatus"]["enum"].as_array().unwrap().contains(&json!("COMPLETED")));
    // The main request bodies carry an example (the README's purchase), with the keys their schema
    // requires and no key it does not have, valid for Klarna's schema of the body too.
    for (path, method, required, klarna) in [
        ("/payments/v1/sessions", "post", "order_lines", (Spec::Payments, "session_create")),
        (
            "/payments/v1/authorizations/{authorization_token}/order",
            "post",
            "order_lines",
            (Spec::Payments, "create_order_request"),
        ),
        ("/hpp/v1/sessions", "post", "payment_session_url", (Spec::Hpp, "SessionCreationRequestV1")),
        (
            "/ordermanagement/v1/orders/{order_id}/captures",
            "post",
            "captured_amount",
            (Spec::OrderManagement, "CaptureObject"),
        ),
        (
            "/ordermanagement/v1/orders/{order_id}/refunds",
            "post",
            "refunded_amount",
            (Spec::OrderManagement, "RefundObject"),
        ),
    ] {
        let content = &paths[path][method]["requestBody"]["content"]["application/json"];
        assert_valid(klarna.0, klarna.1, &content["example"]);
        let example = content["example"].as_object().unwrap_or_else(|| panic!("{method} {path}: no example"));
        assert!(example.contains_key(required), "{method} {path}: the example has no {required}");
        let properties = properties(schemas, &content["schema"]);
        for key in example.keys() {
            assert!(properties.contains(key), "{method} {path}: the example's {key} is not in its schema");
        }
    }
    // The examples of their answers are valid answers by Klarna's schemas.
    for (path, method, status, (spec, schema)) in [
        ("/payments/v1/sessions", "post", "200", (Spec::Payments, "merchant_session")),
        ("/payments/v1/authorizations/{authorization_token}/order", "post", "200", (Spec::Payments, "order")),
        ("/hpp/v1/sessions", "post", "201", (Spec::Hpp, "SessionCreationResponseV1")),
        ("/hpp/v1/sessions/{session_id}", "get", "200", (Spec::Hpp, "SessionResponseV1")),
    ] {
        let example = &paths[path][method]["responses"][status]["content"]["application/json"]["example"];
        assert!(example.is_object(), "{method} {path}: no example of its {status}");
        assert_valid(spec, schema, example);
    }
}

/// The property names of a schema: its own, those of the schema it refers to and of each `allOf`.
fn properties(schemas: &serde_json::Value, schema: &serde_json::Value) -> Vec<String> {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        return properties(schemas, &schemas[name]);
    }
    let own = schema["properties"].as_object().into_iter().flat_map(|p| p.keys().cloned());
    let all_of = schema["allOf"].as_array().into_iter().flatten().flat_map(|s| properties(schemas, s));
    own.chain(all_of).collect()
}

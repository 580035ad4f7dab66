//! `/openapi.json`: generated from the same route table the server runs.

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kassa",
        description = "Klarna-compatible Hosted Payment Page sessions and Payments sessions, with kassa's extensions and sandbox controls. Errors always use Klarna's body {error_code, error_messages, correlation_id}."
    ),
    modifiers(&BasicAuth),
    tags(
        (name = "Payments", description = "Klarna Payments v1: the cart and the authorization behind a session"),
        (name = "HPP", description = "Hosted Payment Page v1 (seed 001)"),
        (name = "Public", description = "Unauthenticated resources handed to consumers"),
        (name = "kassa", description = "kassa's own extensions"),
        (name = "Sandbox", description = "Consumer-side controls; sandbox mode only"),
        (name = "Operations", description = "Health and the API description")
    )
)]
pub struct ApiDoc;

struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

/// The rendered document, handed to its route as an extension once the router is built.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<String>);

impl OpenApiJson {
    pub fn render(doc: &utoipa::openapi::OpenApi) -> Self {
        Self(Arc::new(doc.to_json().unwrap_or_else(|_| "{}".to_owned())))
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "Operations", responses((status = 200, description = "OpenAPI 3.1 document of every route", content_type = "application/json")))]
pub async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc.0.as_str().to_owned())
}

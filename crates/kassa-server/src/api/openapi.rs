//! `/openapi.json`: generated from the same route table the server runs.

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Schema};
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
        (name = "Order Management", description = "Klarna Order Management v1: captures, refunds and changes to placed orders"),
        (name = "Customer tokens", description = "Recurring payments: a customer token from an authorization, and orders placed with it"),
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

/// Adds the answers every operation of a kind gives, so each route lists only its own: 401 where
/// the route needs credentials, 404 where its path names a resource, 304 where it may wait
/// (`?wait=` with `If-None-Match`), 400 where it reads a body or query parameters, 415 where it
/// reads a body (which must be JSON).
pub fn document_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build();
        ResponseBuilder::new().description(description).content("application/json", body).build()
    };
    let unauthorized = error("Missing or wrong credentials (`UNAUTHORIZED`)");
    let not_found = error("No such resource of this merchant (`NOT_FOUND`)");
    let bad_request = error("A malformed body or a field kassa refuses (`BAD_REQUEST`, `BAD_VALUE` naming the field)");
    let bad_query = error("A query parameter or header kassa refuses (`BAD_VALUE` naming it)");
    let not_json = error("The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)");
    for item in doc.paths.paths.values_mut() {
        for (_, operation) in operations(item) {
            let responses = &mut operation.responses.responses;
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                responses.entry("401".into()).or_insert_with(|| unauthorized.clone().into());
            }
            let names_a_resource = operation.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Path);
            if names_a_resource {
                responses.entry("404".into()).or_insert_with(|| not_found.clone().into());
            }
            let may_wait =
                operation.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Query && p.name == "wait");
            if may_wait {
                let unchanged = ResponseBuilder::new().description("Unchanged since the `If-None-Match` tag").build();
                responses.entry("304".into()).or_insert_with(|| unchanged.into());
            }
            if operation.request_body.is_some() {
                responses.entry("400".into()).or_insert_with(|| bad_request.clone().into());
                responses.entry("415".into()).or_insert_with(|| not_json.clone().into());
            }
            let reads_the_query = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p.parameter_in, ParameterIn::Query | ParameterIn::Header));
            if reads_the_query {
                responses.entry("400".into()).or_insert_with(|| bad_query.clone().into());
            }
        }
    }
}

/// Adds the 429 answer and the `X-Ratelimit-*` headers to every rate-limited operation, from the
/// same rule the limiter applies ([`super::rate_limit::Category::of`]).
pub fn document_rate_limits(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, header::HeaderBuilder};
    let header = |description: &str| HeaderBuilder::new().description(Some(description)).build();
    let limited = ResponseBuilder::new()
        .description("Over the merchant's rate limit for this kind of request (`TOO_MANY_REQUESTS`)")
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build())
        .header("Retry-After", header("Seconds until requests of this kind are accepted again"))
        .header("X-Ratelimit-Limit", header("The limit and its window, e.g. `40, 40;w=1`"))
        .header("X-Ratelimit-Remaining", header("Requests left in the window"))
        .header("X-Ratelimit-Reset", header("Seconds until the window resets"))
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, operation) in operations(item) {
            if super::rate_limit::category_of(&method, path).is_some() {
                operation.responses.responses.insert("429".into(), limited.clone().into());
            }
        }
    }
}

/// Gives the closed sets kassa parses and answers a schema of their own, named (client generators
/// make one enum of each), with the values of the same enums the server uses: the statuses of the
/// HPP session, order and customer token reads, and the consumer's and Klarna's actions in the
/// sandbox routes' paths. kassa reads them in any case; the document gives Klarna's spelling.
pub fn document_enums(doc: &mut utoipa::openapi::OpenApi) {
    use kassa_core::customer_token::{TokenAction, TokenStatus};
    use kassa_core::hpp::{HppAction, HppStatus};
    use kassa_core::order::OrderStatus;
    let hpp_actions = HppAction::ALL.iter().filter(|a| **a != HppAction::Disable).map(|a| a.as_str());
    let token_actions = TokenAction::ALL.iter().filter(|a| **a != TokenAction::Cancel).map(|a| a.as_str());
    use super::sandbox::{DISTRIBUTION_ACTIONS, ORDER_DECISIONS};
    let enums: [(&str, &str, Vec<&str>); 7] = [
        ("HppStatus", "An HPP session's status", HppStatus::ALL.iter().map(|s| s.as_str()).collect()),
        ("OrderStatus", "An order's status", OrderStatus::ALL.iter().map(|s| s.as_str()).collect()),
        ("TokenStatus", "A customer token's status", TokenStatus::ALL.iter().map(|s| s.as_str()).collect()),
        ("SandboxHppAction", "What the consumer does on the payment page", hpp_actions.collect()),
        ("SandboxTokenAction", "What Klarna does to a customer token", token_actions.collect()),
        ("SandboxOrderAction", "What Klarna does to an order", ORDER_DECISIONS.to_vec()),
        ("SandboxDistributionAction", "What the consumer does with an in-store payment", DISTRIBUTION_ACTIONS.to_vec()),
    ];
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, description, values) in enums {
        let schema = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(description))
            .enum_values(Some(values));
        components.schemas.insert(name.to_owned(), schema.into());
    }
    for (schema, property, enumeration) in [
        ("HppSessionV1", "status", "HppStatus"),
        ("OrderRead", "status", "OrderStatus"),
        ("TokenRead", "status", "TokenStatus"),
    ] {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema) {
            object.properties.insert(property.to_owned(), Ref::from_schema_name(enumeration).into());
        }
    }
    for (path, enumeration) in [
        ("/sandbox/v1/hpp/sessions/{session_id}/{action}", "SandboxHppAction"),
        ("/sandbox/v1/customer-tokens/{customer_token}/{action}", "SandboxTokenAction"),
        ("/sandbox/v1/orders/{order_id}/{action}", "SandboxOrderAction"),
        ("/sandbox/v1/distributions/{session_id}/{action}", "SandboxDistributionAction"),
    ] {
        let Some(item) = doc.paths.paths.get_mut(path) else { continue };
        for (_, operation) in operations(item) {
            for parameter in operation.parameters.iter_mut().flatten().filter(|p| p.name == "action") {
                parameter.schema = Some(Ref::from_schema_name(enumeration).into());
            }
        }
    }
}

/// Names every operation `<tag>_<handler>` (`payments_create_session`, `hpp_create_session`):
/// handlers of different APIs share names, and client generators need each `operationId` once.
pub fn name_operations(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for (_, operation) in operations(item) {
            let tag = operation.tags.iter().flatten().next().map(|t| t.to_lowercase().replace(' ', "_"));
            if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut()) {
                *id = format!("{tag}_{id}");
            }
        }
    }
}

/// Every operation of a path with its method.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (axum::http::Method, &mut utoipa::openapi::path::Operation)> {
    use axum::http::Method;
    [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation?)))
}

//! The OpenAPI 3.1 document, generated from the same clap declarations the verbs parse with, so
//! it cannot describe a parameter the API does not take.

use axum::Json;
use serde_json::{Map, Value, json};
use stratus_verbs::request::verb_docs;

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

/// The document, built once per request (it is small).
pub(crate) fn build() -> Value {
    let mut paths = Map::new();
    for verb in verb_docs() {
        let parameters: Vec<Value> = verb
            .params
            .iter()
            .map(|p| {
                let mut schema = match p.kind {
                    "array" => json!({"type": "array", "items": {"type": "string"}}),
                    kind => json!({"type": kind}),
                };
                if !p.choices.is_empty() {
                    schema["enum"] = json!(p.choices);
                }
                if let Some(d) = &p.default {
                    schema["default"] = json!(d);
                }
                let mut parameter = json!({
                    "name": p.name,
                    "in": "query",
                    "required": p.required,
                    "description": p.help,
                    "schema": schema,
                });
                if p.kind == "array" {
                    parameter["style"] = json!("form");
                    parameter["explode"] = json!(false);
                }
                parameter
            })
            .collect();
        let mut properties = Map::new();
        for p in &verb.params {
            properties.insert(p.name.clone(), json!({"description": p.help}));
        }
        let ok = if verb.chart {
            json!({"description": "the chart", "content": {"image/svg+xml": {}, "image/png": {}}})
        } else {
            json!({"description": format!("what `stratus {} --json` prints", verb.name), "content": {"application/json": {}}})
        };
        let responses = json!({
            "200": ok,
            "400": error_response("a parameter is missing or invalid (`field` names it)"),
            "404": error_response("unknown ticker"),
            "413": error_response("request body too large"),
            "503": error_response("the store is unavailable"),
        });
        let mut get_op = json!({
            "operationId": verb.name.replace('-', "_"),
            "summary": verb.about,
            "parameters": parameters,
            "responses": responses,
        });
        if !verb.aliases.is_empty() {
            get_op["description"] = json!(format!("CLI aliases: {}", verb.aliases.join(", ")));
        }
        let post_op = json!({
            "operationId": format!("{}_post", verb.name.replace('-', "_")),
            "summary": format!("{} (parameters as a JSON object)", verb.about),
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": properties}}}},
            "responses": responses,
        });
        paths.insert(
            format!("/api/{}", verb.name),
            json!({"get": get_op, "post": post_op}),
        );
    }
    paths.insert(
        "/tickers".into(),
        json!({"get": {
            "operationId": "tickers",
            "summary": "Tickers in the store, filtered by a substring and paged",
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "substring of the ticker"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 100, "maximum": 1000}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "default": 0}}
            ],
            "responses": {"200": {"description": "{page, limit, total, tickers: [{ticker, first, last, prices}]}"}, "400": error_response("bad paging")}
        }}),
    );
    paths.insert(
        "/maturities".into(),
        json!({"get": {"operationId": "maturities", "summary": "Treasury maturities and the latest yield date", "responses": {"200": {"description": "{maturities: [{maturity, label, years}], latest}"}}}}),
    );
    paths.insert(
        "/health".into(),
        json!({"get": {"operationId": "health", "summary": "Store reachable, with item counts", "responses": {"200": {"description": "ok"}, "503": error_response("the store is unavailable")}}}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Stratus analytics API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every Stratus analytics verb; each answers with exactly what `stratus <verb> --json` prints."
        },
        "paths": paths,
        "components": {"schemas": {"Error": {
            "type": "object",
            "required": ["error", "status"],
            "properties": {
                "error": {"type": "string"},
                "status": {"type": "integer"},
                "field": {"type": "string", "description": "the parameter at fault"}
            }
        }}}
    })
}

pub(crate) async fn document() -> Json<Value> {
    Json(build())
}

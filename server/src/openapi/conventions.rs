//! The API-wide conventions, written into every operation of the document so that no route has
//! to repeat them and none can forget them: which error statuses an operation can answer (one
//! status per kind of problem, `STATUSES`), `security: []` on the public operations, the server.

use serde_json::{json, Map, Value};

/// One status per kind of problem, across the whole API: (status, component name, description,
/// when an operation can answer it).
const STATUSES: &[(&str, &str, &str, Applies)] = &[
    (
        "400",
        "BadRequest",
        "Malformed request: a body that is not JSON (or cut short), a header or an opaque token \
         (cursor, page key) that cannot be read (`invalid_json`, `bad_request`)",
        Applies::Input,
    ),
    (
        "401",
        "Unauthorized",
        "No valid access token (`unauthorized`, `token_expired`)",
        Applies::Secured,
    ),
    (
        "403",
        "Forbidden",
        "The caller's role may not do this (`forbidden`)",
        Applies::Secured,
    ),
    (
        "404",
        "NotFound",
        "No such object, or one outside the caller's scope: the two look the same (`not_found`)",
        Applies::PathParameter,
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than this operation accepts (`payload_too_large`)",
        Applies::Body,
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body's `Content-Type` is not one this operation reads (`unsupported_media_type`)",
        Applies::Body,
    ),
    (
        "422",
        "Unprocessable",
        "Well-formed, but the content is invalid: the wrong shape (a wrong type, a missing or \
         unknown field), a query value that does not fit, a value out of range, a bad ID number, a \
         rule of the domain broken; `details` lists the fields (`validation_failed`, \
         `unknown_field` and the specific codes)",
        Applies::Input,
    ),
    (
        "503",
        "Unavailable",
        "The server is busy or its database unreachable; try again after `Retry-After` seconds \
         (`busy`, `unavailable`)",
        Applies::Always,
    ),
];

#[derive(Clone, Copy)]
enum Applies {
    /// Operations that read a query, a header or a body (a malformed path id is a 404).
    Input,
    /// Operations that need a token.
    Secured,
    /// Operations with a path parameter (an object's id).
    PathParameter,
    /// Operations with a request body.
    Body,
    Always,
}

/// What the document's description says about statuses; kept next to `STATUSES`.
pub const STATUS_POLICY: &str = "\n\nStatuses, one per kind of problem across the API: \
    400 a malformed request (a body that is not JSON, an unreadable header or cursor); \
    401 no valid token; 403 a role that may not do this; \
    404 missing or outside the caller's scope (never 403 for an object: the two look the same); \
    405 a method the path does not take (`Allow` lists those it does); \
    409 a conflict with the current state (a duplicate, a task no longer open, a replay with another body); \
    413 a body too large; 415 a wrong `Content-Type`; \
    422 well-formed but invalid content: the wrong shape (a wrong type, a missing or unknown field), \
    a query value that does not fit, a value the domain refuses (fields listed in `details`); \
    423 an account locked; 429 too many attempts; 503 busy or unavailable (with `Retry-After`).";

/// Applies the conventions to the document's JSON form.
pub fn apply(doc: &mut Value) {
    if let Some(description) = doc.pointer_mut("/info/description") {
        if let Some(text) = description.as_str() {
            *description = Value::String(format!("{text}{STATUS_POLICY}"));
        }
    }
    doc["servers"] = json!([{
        "url": "/",
        "description": "The server that serves this document (paths start with /api/v1)"
    }]);
    let responses = STATUSES
        .iter()
        .map(|(_, name, description, _)| {
            (
                (*name).to_owned(),
                json!({
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                }),
            )
        })
        .collect::<Map<String, Value>>();
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        let slot = components
            .entry("responses")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(map) = slot.as_object_mut() {
            map.extend(responses);
        }
    }
    open_compositions(doc);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if matches!(
                method.as_str(),
                "parameters" | "summary" | "description" | "servers"
            ) {
                continue;
            }
            operation(op);
        }
    }
}

fn operation(op: &mut Value) {
    let Some(op) = op.as_object_mut() else {
        return;
    };
    // An operation that names no security scheme is public: say so, rather than leave the
    // reader (and client generators) to guess.
    let security = op.entry("security").or_insert_with(|| json!([]));
    let secured = security.as_array().is_some_and(|s| !s.is_empty());
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let body = op.contains_key("requestBody");
    if let Some(content) = op
        .get_mut("requestBody")
        .and_then(|b| b.get_mut("content"))
        .and_then(Value::as_object_mut)
    {
        for media in content.values_mut() {
            binary_body(media);
        }
    }
    let path_param = params.iter().any(|p| p["in"] == "path");
    let input = body || params.iter().any(|p| p["in"] != "path");
    let responses = op
        .entry("responses")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(responses) = responses.as_object_mut() else {
        return;
    };
    for (status, name, _, applies) in STATUSES {
        let applies = match applies {
            Applies::Input => input,
            Applies::Secured => secured,
            Applies::PathParameter => path_param,
            Applies::Body => body,
            Applies::Always => true,
        };
        if applies && !responses.contains_key(*status) {
            responses.insert(
                (*status).to_owned(),
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
    }
    // Keep the statuses in order, as a reader expects them.
    let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(sorted);
}

/// A body of raw bytes (`Vec<u8>` in a route's annotation: a photo, a workbook, an upload's
/// chunk) is a binary string, not a JSON array of numbers.
fn binary_body(media: &mut Value) {
    let bytes =
        json!({"type": "array", "items": {"type": "integer", "format": "int32", "minimum": 0}});
    if media.get("schema") == Some(&bytes) {
        media["schema"] = json!({"type": "string", "format": "binary"});
    }
}

/// A schema made of `allOf` parts is checked part by part, so a part that refuses unknown fields
/// (`additionalProperties: false`, from `deny_unknown_fields` on a request type) would refuse the
/// other parts' fields too: a stored standard, which is a standard plus `recorded_at`, would never
/// match. Such a part is written in place, open.
fn open_compositions(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let open = |name: &str| -> Option<Value> {
        let mut obj = schemas.get(name)?.as_object()?.clone();
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            return None;
        }
        obj.remove("additionalProperties");
        obj.remove("description");
        Some(Value::Object(obj))
    };
    fn walk(v: &mut Value, open: &dyn Fn(&str) -> Option<Value>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Array(parts)) = map.get_mut("allOf") {
                    for part in parts.iter_mut() {
                        let name = part
                            .get("$ref")
                            .and_then(Value::as_str)
                            .and_then(|r| r.strip_prefix("#/components/schemas/"))
                            .map(str::to_owned);
                        if let Some(opened) = name.as_deref().and_then(open) {
                            *part = opened;
                        } else if let Some(obj) = part.as_object_mut() {
                            if obj.get("additionalProperties") == Some(&Value::Bool(false)) {
                                obj.remove("additionalProperties");
                            }
                        }
                    }
                }
                for child in map.values_mut() {
                    walk(child, open);
                }
            }
            Value::Array(items) => {
                for child in items {
                    walk(child, open);
                }
            }
            _ => {}
        }
    }
    walk(doc, &open);
}

//! The OpenAPI description of the event wire format: one schema per kind,
//! built-in and declared, so a furnisher reads every kind's fields, types
//! and allowed values in `/openapi.json`.
//!
//! Built from the domain's own description of the parser
//! ([`credence_domain::wire::fields_of`]) and the configuration's custom
//! kinds, never written by hand: what the document says is what ingest
//! accepts. Written as JSON rather than with utoipa's builders because the
//! schema depends on the running configuration, and JSON is the shortest
//! faithful way to say it.

use credence_domain::wire::{FIELDS, WireValue, fields_of};
use credence_domain::{Catalogue, CustomKind, EventKind, FieldType, MAX_ID_LEN};
use serde_json::{Map, Value, json};

/// The schema of one wire field.
fn field_schema(field: &str) -> Value {
    let Some(value) = WireValue::of(field) else {
        return json!({});
    };
    match value {
        WireValue::Id => json!({
            "type": "string",
            "pattern": format!("^[A-Za-z0-9._:/@-]{{1,{MAX_ID_LEN}}}$"),
            "description": "An opaque id: never a name or a document number."
        }),
        WireValue::Instant => json!({
            "type": "string",
            "description": "When it happened: RFC 3339 (2025-03-01T09:30:00Z) or a date (2025-03-01); never in the future."
        }),
        WireValue::MinorUnits => json!({
            "type": "integer",
            "minimum": 0,
            "description": "An amount in minor units (cents), with its `currency`."
        }),
        WireValue::Currency => json!({
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "ISO 4217 code of the amount (EUR)."
        }),
        WireValue::DaysLate => json!({
            "type": "integer",
            "minimum": 0,
            "maximum": credence_domain::wire::MAX_DAYS_LATE,
            "description": "Whole days past the due date (0 when on time)."
        }),
        WireValue::Boolean => json!({"type": "boolean"}),
        WireValue::OneOf(words) => json!({"type": "string", "enum": words}),
        WireValue::Object => json!({"type": "object"}),
    }
}

/// The schema of a record of one kind, from its required and optional
/// fields.
fn record_schema(
    kind: &str,
    description: &str,
    required: &[&str],
    optional: &[&str],
    fields: Option<Value>,
) -> Value {
    let mut properties = Map::new();
    properties.insert("kind".into(), json!({"type": "string", "enum": [kind]}));
    for field in FIELDS {
        if required.contains(&field) || optional.contains(&field) {
            let schema = match (&fields, field) {
                (Some(declared), "fields") => declared.clone(),
                _ => field_schema(field),
            };
            properties.insert(field.into(), schema);
        }
    }
    let mut needed = vec!["kind"];
    needed.extend(required);
    json!({
        "type": "object",
        "title": kind,
        "description": description,
        "properties": properties,
        "required": needed,
        "additionalProperties": false,
    })
}

/// The schema of a custom kind's `fields` object, from its declaration.
fn declared_fields(kind: &CustomKind) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, spec) in &kind.fields {
        let mut schema = match spec.field_type {
            FieldType::Integer => json!({"type": "integer"}),
            FieldType::Number => json!({"type": "number"}),
            FieldType::Boolean => json!({"type": "boolean"}),
            FieldType::Choice => json!({"type": "string", "enum": spec.values}),
            FieldType::Date => json!({"type": "string", "format": "date"}),
        };
        if let Some(min) = spec.min {
            schema["minimum"] = json!(min);
        }
        if let Some(max) = spec.max {
            schema["maximum"] = json!(max);
        }
        let unit = if spec.unit.is_empty() {
            String::new()
        } else {
            format!(" (in {})", spec.unit)
        };
        schema["description"] = json!(format!("{}{unit}", spec.description));
        properties.insert(name.clone(), schema);
        if spec.required {
            required.push(name.clone());
        }
    }
    json!({
        "type": "object",
        "description": "Only the fields the configuration declares for this kind, with their types: there is no free text.",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// What a built-in kind records, for its schema's description.
fn meaning(kind: EventKind) -> &'static str {
    match kind {
        EventKind::SubjectEnrolled => {
            "The subject consented and enrolled (the operator reports it). The restricted-data consent is the subject's own act: a later enrolment cannot change it."
        }
        EventKind::AccountOpened => "An account or contract opened.",
        EventKind::AccountClosed => "An account closed, and how.",
        EventKind::BillDue => "A bill fell due.",
        EventKind::PaymentMade => {
            "A payment, against a bill when `bill_id` names one; `days_late` past its due date."
        }
        EventKind::BalanceReported => "An account's balance on a date.",
        EventKind::RentalReturned => "A rental returned: how late and with what damage.",
        EventKind::IdentityVerified => {
            "Identity verified at a level; only the level is kept, never the document."
        }
        EventKind::IncomeReported => {
            "Monthly income. A restricted category: refused unless the subject gave the separate consent."
        }
        EventKind::JudgmentEntered => "A court judgment for unpaid debt.",
        EventKind::JudgmentSatisfied => "A court judgment paid.",
        EventKind::Custom => "",
    }
}

/// Component schemas for every kind (`Event_<kind>`), `Event` (one of
/// them, told apart by `kind`) and `EventBatch` (the request body).
pub fn components(catalogue: &Catalogue) -> Map<String, Value> {
    let mut schemas = Map::new();
    let mut mapping = Map::new();
    for kind in EventKind::BUILT_IN {
        let fields = fields_of(kind);
        let name = format!("Event_{}", kind.name());
        schemas.insert(
            name.clone(),
            record_schema(
                kind.name(),
                meaning(kind),
                &fields.required,
                &fields.optional,
                None,
            ),
        );
        mapping.insert(
            kind.name().into(),
            json!(format!("#/components/schemas/{name}")),
        );
    }
    for kind in catalogue.custom_kinds() {
        let name = format!("Event_{}", kind.name);
        let description = format!(
            "A custom kind of category {}{}",
            kind.category,
            if kind.description.is_empty() {
                ".".to_string()
            } else {
                format!(": {}", kind.description)
            }
        );
        // `fields` may be left out only when no declared field is required.
        let (required, optional): (&[&str], &[&str]) = if kind.fields.values().any(|f| f.required) {
            (
                &["event_id", "subject_id", "occurred_at", "fields"],
                &["furnisher_id", "category"],
            )
        } else {
            (
                &["event_id", "subject_id", "occurred_at"],
                &["furnisher_id", "category", "fields"],
            )
        };
        schemas.insert(
            name.clone(),
            record_schema(
                &kind.name,
                &description,
                required,
                optional,
                Some(declared_fields(kind)),
            ),
        );
        mapping.insert(
            kind.name.clone(),
            json!(format!("#/components/schemas/{name}")),
        );
    }
    let one_of: Vec<Value> = mapping
        .values()
        .map(|reference| json!({"$ref": reference}))
        .collect();
    schemas.insert(
        "Event".into(),
        json!({
            "description": "One event, in the wire format furnishers use; `kind` says which.",
            "oneOf": one_of,
            "discriminator": {"propertyName": "kind", "mapping": mapping},
        }),
    );
    schemas.insert(
        "EventBatch".into(),
        json!({
            "description": "A batch of events, written whole or not at all: an array, or an object with `events`.",
            "oneOf": [
                {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                {
                    "type": "object",
                    "properties": {"events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}},
                    "required": ["events"],
                    "additionalProperties": false,
                },
            ],
        }),
    );
    schemas
}

/// The OpenAPI document with the event schemas in place of the generic
/// body of `POST /v1/events`.
pub fn describe_events(mut document: Value, catalogue: &Catalogue) -> Value {
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.extend(components(catalogue));
    }
    if let Some(body) =
        document.pointer_mut("/paths/~1v1~1events/post/requestBody/content/application~1json")
    {
        body["schema"] = json!({"$ref": "#/components/schemas/EventBatch"});
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_schema_and_the_body_names_them() {
        let catalogue = Catalogue::default();
        let schemas = components(&catalogue);
        for kind in EventKind::BUILT_IN {
            let schema = &schemas[&format!("Event_{}", kind.name())];
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            assert!(required.contains(&"kind") && required.contains(&"subject_id"));
            for field in &required {
                assert!(schema["properties"].get(field).is_some(), "{field}");
            }
        }
        let payment = &schemas["Event_payment_made"];
        assert_eq!(payment["properties"]["days_late"]["maximum"], 3650);
        assert_eq!(payment["additionalProperties"], false);
    }
}

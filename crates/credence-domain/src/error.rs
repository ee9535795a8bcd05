//! Errors that name what is wrong, where, and how to fix it.

use crate::DataCategory;
use serde::Serialize;
use std::fmt;

/// One problem with one field of one input record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as it appears in the input (`amount`, `kind`…);
    /// `None` when the record as a whole is at fault (not JSON, say).
    pub field: Option<String>,
    /// What is wrong and how to fix it.
    pub reason: String,
    /// A stable machine-readable code (`missing_field`, `prohibited_category`…).
    pub code: &'static str,
}

impl FieldError {
    /// A new field error.
    pub fn new(code: &'static str, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            reason: reason.into(),
            code,
        }
    }

    /// A problem with the record as a whole, not one of its fields.
    pub fn record(code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field: None,
            reason: reason.into(),
            code,
        }
    }

    /// The field is required for this kind and absent (`kind` empty or
    /// "any": required of every event).
    pub fn missing(field: &str, kind: &str) -> Self {
        let reason = if kind.is_empty() || kind == "any" {
            "is required on every event".to_string()
        } else {
            format!("is required for kind {kind:?}")
        };
        Self::new("missing_field", field, reason)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field `{field}`: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// An input refused because of its data category.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is refused: category `{category}` — {rule}")]
pub struct GuardrailViolation {
    /// What was refused: "event kind \"church_attendance\"", "column \"age\"".
    pub what: String,
    /// The category that triggered the refusal.
    pub category: DataCategory,
    /// The rule, in words.
    pub rule: &'static str,
}

impl GuardrailViolation {
    /// A refusal of `what` because it belongs to `category`.
    pub fn new(what: impl Into<String>, category: DataCategory) -> Self {
        Self {
            what: what.into(),
            category,
            rule: category.rule(),
        }
    }

    /// The violation as a field error of `field`.
    pub fn into_field_error(self, field: &str) -> FieldError {
        FieldError::new("prohibited_category", field, self.to_string())
    }
}

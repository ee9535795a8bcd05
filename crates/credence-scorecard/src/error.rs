//! Errors of loading and binding models.

use credence_domain::GuardrailViolation;

/// What can go wrong with a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not valid JSON of the model format.
    #[error("the model is not valid scorecard JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The model's own structure is wrong (bins overlap, points missing…).
    #[error("model {model}: {problem}")]
    Invalid {
        /// The model's id.
        model: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The checksum does not match the content.
    #[error(
        "model {model}: checksum mismatch (file says {stated}, content is {actual}); the file was changed after it was sealed — re-seal it only if the change was intended"
    )]
    Checksum {
        /// The model's id.
        model: String,
        /// The checksum written in the file.
        stated: String,
        /// The checksum of the content.
        actual: String,
    },
    /// An input belongs to a category that may not be a model input.
    #[error("model input refused: {0}")]
    Guardrail(#[from] GuardrailViolation),
    /// A model input whose name says it is something its category denies.
    #[error(transparent)]
    Name(#[from] credence_domain::NameRefusal),
    /// An input the model needs is not available.
    #[error("model {model} needs input {input:?}, which {why}")]
    Unbound {
        /// The model's id.
        model: String,
        /// The input's name.
        input: String,
        /// Why it cannot be bound.
        why: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

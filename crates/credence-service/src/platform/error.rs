//! API errors: a stable code, a message a person can act on, and the field
//! at fault when there is one.

use serde::Serialize;

// Which HTTP status carries each code is the server's business: one table,
// in `credence-server`.
/// The stable error codes of the API. Clients match on these, never on
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// No credentials, or unknown, revoked or expired ones.
    Unauthenticated,
    /// Valid credentials without the right to this.
    Forbidden,
    /// No such thing, or not yours to see.
    NotFound,
    /// The request is malformed or a value is out of range.
    InvalidRequest,
    /// Records of a batch are invalid; nothing was written.
    InvalidRecords,
    /// The partner has no active consent of the needed scope.
    ConsentRequired,
    /// The subject froze their file; partners get no answer.
    Frozen,
    /// The request conflicts with what exists.
    Conflict,
    /// The body or batch is larger than allowed.
    PayloadTooLarge,
    /// The body is declared as something other than JSON.
    UnsupportedMediaType,
    /// The server is shutting down or the store is unavailable.
    Unavailable,
    /// A failure on our side, logged with its cause.
    Internal,
}

impl Code {
    /// Every code, for the documented code table.
    pub const ALL: [Code; 12] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::InvalidRequest,
        Self::InvalidRecords,
        Self::ConsentRequired,
        Self::Frozen,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Unavailable,
        Self::Internal,
    ];
}

/// One problem with one record of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordProblem {
    /// 0-based position in the batch.
    pub index: u64,
    /// The field at fault; absent when the record as a whole is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Stable code of the problem (`unknown_kind`, `prohibited_category`…).
    pub code: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// Stable code.
    pub code: Code,
    /// What went wrong and what to do about it.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `invalid_records`: every bad record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<RecordProblem>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            problems: Vec::new(),
        }
    }

    /// An invalid value in `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(Code::InvalidRequest, message)
        }
    }

    /// Not found (also used for what exists but is not the caller's, so
    /// nothing leaks).
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(Code::NotFound, what)
    }

    /// A failure on our side; the cause goes to the log, not the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            Code::Internal,
            "an internal error occurred; it has been logged, and retrying later is safe",
        )
    }
}

impl From<crate::Error> for ApiError {
    fn from(error: crate::Error) -> Self {
        match error {
            crate::Error::UnknownSubject(id) => Self::not_found(format!("no subject {id}")),
            crate::Error::Store(store) => store.into(),
            crate::Error::Input(message) | crate::Error::Config(message) => {
                Self::new(Code::InvalidRequest, message)
            }
            other => Self::internal(other),
        }
    }
}

impl From<credence_store::Error> for ApiError {
    fn from(error: credence_store::Error) -> Self {
        match error {
            // Said to the client as it is (it names no data), and logged:
            // the operator needs to know the database is away.
            credence_store::Error::Unavailable(cause) => {
                tracing::warn!(%cause, "the database is unavailable");
                Self::new(
                    Code::Unavailable,
                    "the database is unavailable for the moment; retry shortly",
                )
            }
            other => Self::internal(other),
        }
    }
}

/// Result with [`ApiError`].
pub type ApiResult<T> = std::result::Result<T, ApiError>;

//! The wire shapes of error.

use super::*;

/// The stable error codes of the API. Clients match on these, never on
/// messages.
#[derive(Debug, Serialize, ToSchema)]
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

/// One problem with one record of a batch.
#[derive(Debug, Serialize, ToSchema)]
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
#[derive(Debug, Serialize, ToSchema)]
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

impl From<platform::Code> for Code {
    fn from(value: platform::Code) -> Self {
        match value {
            platform::Code::Unauthenticated => Self::Unauthenticated,
            platform::Code::Forbidden => Self::Forbidden,
            platform::Code::NotFound => Self::NotFound,
            platform::Code::InvalidRequest => Self::InvalidRequest,
            platform::Code::InvalidRecords => Self::InvalidRecords,
            platform::Code::ConsentRequired => Self::ConsentRequired,
            platform::Code::Frozen => Self::Frozen,
            platform::Code::Conflict => Self::Conflict,
            platform::Code::PayloadTooLarge => Self::PayloadTooLarge,
            platform::Code::UnsupportedMediaType => Self::UnsupportedMediaType,
            platform::Code::Unavailable => Self::Unavailable,
            platform::Code::Internal => Self::Internal,
        }
    }
}

impl From<platform::RecordProblem> for RecordProblem {
    fn from(value: platform::RecordProblem) -> Self {
        Self {
            index: value.index,
            field: value.field,
            code: value.code,
            message: value.message,
        }
    }
}

impl From<platform::ApiError> for ApiError {
    fn from(value: platform::ApiError) -> Self {
        Self {
            code: value.code.into(),
            message: value.message,
            field: value.field,
            problems: value.problems.into_iter().map(Into::into).collect(),
        }
    }
}

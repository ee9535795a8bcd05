//! Training errors: what is wrong with the data or the options, and how to
//! fix it.

/// What can go wrong in training.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The target column is missing or not binary.
    #[error("target: {0}")]
    Target(String),
    /// Inputs refused by the guardrails; nothing was trained.
    #[error("{} column(s) refused as model inputs:\n{}", .0.len(), .0.join("\n"))]
    Refused(Vec<String>),
    /// The data dictionary is wrong.
    #[error("data dictionary: {0}")]
    Dictionary(String),
    /// Nothing usable to train on.
    #[error("{0}")]
    Unfit(String),
    /// The trained model did not validate.
    #[error(transparent)]
    Model(#[from] credence_scorecard::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

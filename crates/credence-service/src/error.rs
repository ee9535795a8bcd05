//! Service errors: user mistakes apart from internal failures.

/// What can go wrong in the service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] credence_store::Error),
    /// A model could not be loaded or bound.
    #[error(transparent)]
    Model(#[from] credence_scorecard::Error),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The input is unusable as a whole (bad header, unknown format…).
    #[error("{0}")]
    Input(String),
    /// The import found bad records and wrote nothing.
    #[error(
        "{bad} bad record(s) in {path}; nothing was imported (fix them, or pass --quarantine FILE to import the good rows and set the bad ones aside)"
    )]
    BadRecords {
        /// The file.
        path: String,
        /// How many records are bad.
        bad: usize,
        /// The first problems, in line order (at most
        /// [`crate::import::LISTED_ERRORS`]).
        errors: Vec<crate::RecordError>,
        /// Problems found beyond those listed.
        not_listed: usize,
    },
    /// No such subject.
    #[error("no subject {0} in this database")]
    UnknownSubject(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The default models shipped in the binary.
//!
//! They are **expert scorecards**: points set by hand from credit-risk
//! practice (payment history weighs most, then public records, utilisation
//! and length of history), documented in each file's `origin.note`. Each is
//! sealed with its checksum; training (`credence train`) replaces them.

use crate::{Result, Scorecard};
use credence_domain::SubjectKind;

const PERSON: &str = include_str!("../models/person-default.json");
const ORGANISATION: &str = include_str!("../models/organisation-default.json");

/// The default model's JSON for a subject kind.
pub fn default_model_json(kind: SubjectKind) -> &'static str {
    match kind {
        SubjectKind::Person => PERSON,
        SubjectKind::Organisation => ORGANISATION,
    }
}

/// The default model for a subject kind, parsed and verified.
pub fn default_model(kind: SubjectKind) -> Result<Scorecard> {
    Scorecard::from_json(default_model_json(kind))
}

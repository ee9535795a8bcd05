//! The default models shipped in the binary.
//!
//! They are **trained on Credence's synthetic world** by
//! `scripts/train-default-models` (`credence train --from-store` over
//! 100,000 simulated subjects), with the validation report of each checked
//! in beside it (`models/*.report.json`) and their provenance in each
//! file's `origin.note`. A deployment retrains them on its own outcomes.
//! Each is sealed with its checksum.

use crate::{Result, Scorecard};
use credence_domain::SubjectKind;

const PERSON: &str = include_str!("../models/person-default.json");
const ORGANISATION: &str = include_str!("../models/organisation-default.json");

const PERSON_REPORT: &str = include_str!("../models/person-default.report.json");
const ORGANISATION_REPORT: &str = include_str!("../models/organisation-default.report.json");

/// The validation report (JSON) of the default model for a subject kind:
/// ROC curve, calibration by band (the reference population for drift),
/// fairness.
pub fn default_report_json(kind: SubjectKind) -> &'static str {
    match kind {
        SubjectKind::Person => PERSON_REPORT,
        SubjectKind::Organisation => ORGANISATION_REPORT,
    }
}

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

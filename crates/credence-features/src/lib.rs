//! The feature engine: pure functions of **one subject's events** and an
//! as-of time.
//!
//! The only way in is a [`SubjectLog`]: one subject's facts, which can only
//! be built from events that all belong to that subject, in canonical order
//! (or by a store, from that subject's own record). There is no parameter
//! through which another subject's events, score or connections could reach
//! a feature: "no guilt by association" holds by construction.
//!
//! Negative information ages out ([`Policy::negative_ageing_years`]), and a
//! file too thin to judge is reported as [`ThinFile`] with what is missing,
//! never scored low.

mod engine;
mod feature;
mod negative;
mod outcome;

pub use engine::{FeatureEngine, FeatureSet, ThinFile, ThinReason, compute_features};
pub use feature::{Dimension, Feature, FeatureVector};
pub use negative::{NegativeRecord, NegativeSeverity, negative_records, rental_problem};
pub use outcome::bad_outcome;

pub use credence_domain::{LogError, Policy, SubjectLog};

#[cfg(test)]
mod tests;

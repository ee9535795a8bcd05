//! The API's wire shapes: every request and response body, with its
//! OpenAPI schema, and how each converts from (or into) the service's own
//! type. The service knows nothing of HTTP or OpenAPI; these types are
//! the contract, so a change to how the service stores or computes
//! something cannot change the API without a change here.
//!
//! The types keep the service's names (the OpenAPI schema names are the
//! type names). [`Outgoing`] says which wire type a service answer is
//! sent as; [`Incoming`] which wire type a service request is read from.

mod access;
mod answers;
mod audit;
mod consents;
mod disputes;
mod error;
mod ingest;
mod models;
mod perks;
mod records;
mod registry;
mod rights;
mod stats;

pub use access::*;
pub use answers::*;
pub use audit::*;
pub use consents::*;
pub use disputes::*;
pub use error::*;
pub use ingest::*;
pub use models::*;
pub use perks::*;
pub use records::*;
pub use registry::*;
pub use rights::*;
pub use stats::*;

use credence_domain::SubjectKind;
use credence_scorecard::{Band, ScoreReport, ScoreStatus};
use credence_service::platform;
use credence_store::{Counts, ScoreDistribution};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A service answer, as it is sent.
pub trait Outgoing {
    /// The wire shape it is sent as.
    type Wire: Serialize;
    /// Converts it.
    fn into_wire(self) -> Self::Wire;
}

/// A service request, as it is read.
pub trait Incoming: Sized {
    /// The wire shape it is read from.
    type Wire: serde::de::DeserializeOwned;
    /// Converts it.
    fn from_wire(wire: Self::Wire) -> Self;
}

impl<T: Outgoing> Outgoing for Vec<T> {
    type Wire = Vec<T::Wire>;
    fn into_wire(self) -> Self::Wire {
        self.into_iter().map(Outgoing::into_wire).collect()
    }
}

/// Service types sent as their wire type of the same name.
macro_rules! outgoing {
    ($($name:ident),* $(,)?) => {
        $(impl Outgoing for platform::$name {
            type Wire = $name;
            fn into_wire(self) -> $name {
                self.into()
            }
        })*
    };
}

/// Service types read from their wire type of the same name.
macro_rules! incoming {
    ($($name:ident),* $(,)?) => {
        $(impl Incoming for platform::$name {
            type Wire = $name;
            fn from_wire(wire: $name) -> Self {
                wire.into()
            }
        })*
    };
}

outgoing!(
    AccessEntry,
    ApiError,
    ApiKey,
    AuditVerdict,
    ChainVerdict,
    CheckpointVerdict,
    Code,
    Consent,
    Deployment,
    Dispute,
    DisputeStatus,
    DisputedRecord,
    EligibilityAnswer,
    Export,
    Furnisher,
    IngestReceipt,
    IssuedKey,
    IssuedToken,
    ModelCard,
    Notice,
    Partner,
    PartnerConsent,
    Perk,
    PerkStatus,
    PopulationStats,
    RecordProblem,
    RecordRef,
    RestrictedDataConsent,
    Review,
    ReviewStatus,
    Role,
    Scope,
    ScoreAnswer,
    ScorePoint,
    Statement,
    SubjectView,
    WhatIf,
);

incoming!(
    ConsentRequest,
    DisputeAnswer,
    DisputeRequest,
    FurnisherSpec,
    KeySpec,
    PartnerQuestion,
    PartnerSpec,
    Perk,
    RestrictedDataConsentChange,
    ReviewRequest,
    StatementRequest,
    SubjectSpec,
    TokenSpec,
);

/// Types that are their own wire shape: the server's own small bodies, and
/// values whose shape is a lower crate's published format (a score report,
/// an erasure's counts).
macro_rules! as_is {
    (sent: $($sent:ty),* ; read: $($read:ty),* $(;)?) => {
        $(impl Outgoing for $sent {
            type Wire = Self;
            fn into_wire(self) -> Self {
                self
            }
        })*
        $(impl Incoming for $read {
            type Wire = Self;
            fn from_wire(wire: Self) -> Self {
                wire
            }
        })*
    };
}
pub(crate) use as_is;

as_is!(
    sent: credence_scorecard::ScoreReport, credence_store::Erasure;
    read: ;
);

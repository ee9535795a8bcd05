//! The Credence domain: who is scored (subjects), who reports (furnishers),
//! what they report (events in a fixed catalogue plus operator-declared custom
//! kinds), the data category of every input, and the guardrails that refuse
//! prohibited categories wherever they try to enter.
//!
//! This crate knows no IO, no SQL and no HTTP. Everything here is a value
//! type or a pure check, so every other crate (store, service, server, CLI)
//! speaks the same language and applies the same rules.

pub mod build;
mod catalogue;
mod category;
mod error;
mod event;
mod fact;
pub(crate) mod id;
mod money;
pub mod names;
mod policy;
mod subject;
mod time;
pub mod wire;

pub use catalogue::{
    Catalogue, CatalogueError, CustomKind, EventKind, FieldSpec, FieldType, Resolved,
    StatedOverride,
};
pub use category::{Admission, DataCategory};
pub use error::{FieldError, GuardrailViolation};
pub use event::{
    AccountType, Closure, Damage, Event, EventBody, EventKey, IdentityLevel, canonical_order,
};
pub use fact::{Fact, Interner, LogError, NONE, SubjectLog};
pub use id::{AccountId, EventId, FurnisherId, IdError, MAX_ID_LEN, RefId, SubjectId, ValidId};
pub use money::{Currency, Money};
pub use names::{NameGuess, NameRefusal, check_declared, guess_category_from_name, judge_name};
pub use policy::Policy;
pub use subject::{Subject, SubjectKind, SubjectState};
pub use time::{DAY_SECONDS, count_days, days_between, months_between, parse_instant};

//! The event catalogue: the built-in kinds and the custom kinds an operator
//! declares, each with its data category.

use crate::{Admission, DataCategory, FieldError, GuardrailViolation, guess_category_from_name};
use serde::{Deserialize, Serialize};

/// A built-in event kind, or `Custom` for an operator-declared one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EventKind {
    SubjectEnrolled,
    AccountOpened,
    AccountClosed,
    BillDue,
    PaymentMade,
    BalanceReported,
    RentalReturned,
    IdentityVerified,
    IncomeReported,
    JudgmentEntered,
    JudgmentSatisfied,
    Custom,
}

impl EventKind {
    /// The built-in kinds, in catalogue order.
    pub const BUILT_IN: [EventKind; 11] = [
        Self::SubjectEnrolled,
        Self::AccountOpened,
        Self::AccountClosed,
        Self::BillDue,
        Self::PaymentMade,
        Self::BalanceReported,
        Self::RentalReturned,
        Self::IdentityVerified,
        Self::IncomeReported,
        Self::JudgmentEntered,
        Self::JudgmentSatisfied,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::SubjectEnrolled => "subject_enrolled",
            Self::AccountOpened => "account_opened",
            Self::AccountClosed => "account_closed",
            Self::BillDue => "bill_due",
            Self::PaymentMade => "payment_made",
            Self::BalanceReported => "balance_reported",
            Self::RentalReturned => "rental_returned",
            Self::IdentityVerified => "identity_verified",
            Self::IncomeReported => "income_reported",
            Self::JudgmentEntered => "judgment_entered",
            Self::JudgmentSatisfied => "judgment_satisfied",
            Self::Custom => "custom",
        }
    }

    /// Looks a built-in kind up by wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::BUILT_IN.into_iter().find(|k| k.name() == name)
    }

    /// The data category of a built-in kind (`Custom` kinds carry their own).
    pub fn category(self) -> DataCategory {
        match self {
            Self::SubjectEnrolled => DataCategory::Enrollment,
            Self::AccountOpened | Self::AccountClosed => DataCategory::Account,
            Self::BillDue | Self::PaymentMade => DataCategory::Payment,
            Self::BalanceReported => DataCategory::Balance,
            Self::RentalReturned => DataCategory::Rental,
            Self::IdentityVerified => DataCategory::Identity,
            Self::IncomeReported => DataCategory::Income,
            Self::JudgmentEntered | Self::JudgmentSatisfied => DataCategory::CourtJudgment,
            Self::Custom => DataCategory::Application,
        }
    }
}

/// An operator-declared event kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomKind {
    /// Wire name, snake_case, distinct from the built-in kinds.
    pub name: String,
    /// What the kind carries. The declaration is the source of truth.
    pub category: DataCategory,
    /// What the kind means, for the subject's report.
    #[serde(default)]
    pub description: String,
}

/// The kinds a deployment accepts: the built-ins and its declared custom
/// kinds, each checked against the guardrails when the catalogue is built.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    custom: Vec<CustomKind>,
}

impl Catalogue {
    /// Builds a catalogue, refusing custom kinds that collide with a built-in
    /// name or belong to a category that may not be collected.
    pub fn new(custom: Vec<CustomKind>) -> Result<Self, GuardrailViolation> {
        for kind in &custom {
            let what = format!("custom event kind {:?}", kind.name);
            match kind.category.admission() {
                Admission::Prohibited | Admission::AuditOnly => {
                    return Err(GuardrailViolation::new(what, kind.category));
                }
                Admission::Permitted | Admission::Restricted => {}
            }
        }
        Ok(Self { custom })
    }

    /// Validates custom-kind names (shape and collisions); separate from
    /// [`Catalogue::new`] because this is a configuration mistake, not a
    /// guardrail.
    pub fn check_names(custom: &[CustomKind]) -> Result<(), String> {
        for kind in custom {
            let shape_ok = !kind.name.is_empty()
                && kind.name.len() <= 64
                && kind
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !shape_ok {
                return Err(format!(
                    "custom kind name {:?} must be 1–64 characters of a–z, 0–9 and _",
                    kind.name
                ));
            }
            if EventKind::from_name(&kind.name).is_some() || kind.name == "custom" {
                return Err(format!(
                    "custom kind name {:?} is a built-in kind; choose another name",
                    kind.name
                ));
            }
        }
        Ok(())
    }

    /// The declared custom kinds.
    pub fn custom_kinds(&self) -> &[CustomKind] {
        &self.custom
    }

    /// Resolves a wire kind name: a built-in kind, a declared custom kind, or
    /// an error that says why not (a name that looks prohibited is refused
    /// with its category; anything else is "unknown").
    pub fn resolve(&self, name: &str) -> Result<Resolved<'_>, FieldError> {
        if let Some(kind) = EventKind::from_name(name) {
            return Ok(Resolved::BuiltIn(kind));
        }
        if let Some(custom) = self.custom.iter().find(|k| k.name == name) {
            return Ok(Resolved::Custom(custom));
        }
        if let Some(category) = guess_category_from_name(name)
            && category.admission() != Admission::Permitted
        {
            return Err(
                GuardrailViolation::new(format!("event kind {name:?}"), category)
                    .into_field_error("kind"),
            );
        }
        let known: Vec<&str> = EventKind::BUILT_IN
            .iter()
            .map(|k| k.name())
            .chain(self.custom.iter().map(|k| k.name.as_str()))
            .collect();
        Err(FieldError::new(
            "unknown_kind",
            "kind",
            format!(
                "{name:?} is not a known event kind; use one of {} or declare a custom kind in the configuration",
                known.join(", ")
            ),
        ))
    }
}

/// A resolved kind name.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    /// One of the catalogue's kinds.
    BuiltIn(EventKind),
    /// An operator-declared kind.
    Custom(&'a CustomKind),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, category: DataCategory) -> CustomKind {
        CustomKind {
            name: name.into(),
            category,
            description: String::new(),
        }
    }

    #[test]
    fn prohibited_custom_kinds_are_refused() {
        let err = Catalogue::new(vec![custom(
            "church_attendance",
            DataCategory::ReligionOrBelief,
        )])
        .expect_err("religion is prohibited");
        assert_eq!(err.category, DataCategory::ReligionOrBelief);
        assert!(err.to_string().contains("church_attendance"));
        assert!(err.to_string().contains("opinions or lifestyle"));
        let err = Catalogue::new(vec![custom("gender_flag", DataCategory::Sex)])
            .expect_err("protected attributes are not collected as events");
        assert_eq!(err.category, DataCategory::Sex);
    }

    #[test]
    fn permitted_custom_kinds_resolve() {
        let catalogue =
            Catalogue::new(vec![custom("deposit_returned", DataCategory::Rental)]).expect("ok");
        assert!(matches!(
            catalogue.resolve("deposit_returned"),
            Ok(Resolved::Custom(_))
        ));
        assert!(matches!(
            catalogue.resolve("payment_made"),
            Ok(Resolved::BuiltIn(EventKind::PaymentMade))
        ));
    }

    #[test]
    fn undeclared_kinds_that_look_prohibited_name_their_category() {
        let catalogue = Catalogue::default();
        let err = catalogue
            .resolve("political_donation")
            .expect_err("refused");
        assert_eq!(err.code, "prohibited_category");
        assert!(err.reason.contains("political_opinion"), "{}", err.reason);
        let err = catalogue.resolve("gym_visit").expect_err("unknown");
        assert_eq!(err.code, "unknown_kind");
    }

    #[test]
    fn names_are_checked() {
        assert!(Catalogue::check_names(&[custom("bill_due", DataCategory::Payment)]).is_err());
        assert!(Catalogue::check_names(&[custom("Bad Name", DataCategory::Payment)]).is_err());
        assert!(
            Catalogue::check_names(&[custom("deposit_returned", DataCategory::Rental)]).is_ok()
        );
    }
}

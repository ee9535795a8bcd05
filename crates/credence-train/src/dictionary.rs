//! The data dictionary: the declared category (and dimension) of every
//! training column — the source of truth for the guardrails. A guess from a
//! column's name only ever tightens: an undeclared column whose name looks
//! protected or prohibited is refused until someone declares it.

use crate::{Error, Result};
use credence_domain::{Admission, DataCategory, guess_category_from_name};
use credence_features::Dimension;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One declared column.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnEntry {
    /// What the column carries.
    pub category: DataCategory,
    /// The dimension it explains (default: from the category).
    #[serde(default)]
    pub dimension: Option<Dimension>,
    /// What it means.
    #[serde(default)]
    pub description: String,
}

/// A data dictionary (TOML: a `[columns.NAME]` table per column).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dictionary {
    /// Declared columns.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnEntry>,
}

/// What a column is for in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    /// A model input.
    Input {
        /// Its category.
        category: DataCategory,
        /// Its dimension.
        dimension: Dimension,
    },
    /// A fairness-audit column: reported on, never an input.
    Audit,
    /// The outcome.
    Target,
}

/// The dimension a category explains when the dictionary does not say.
pub fn default_dimension(category: DataCategory) -> Dimension {
    use DataCategory::*;
    match category {
        Payment | CourtJudgment => Dimension::History,
        Income | Assets | Deposits | Tax | Employment => Dimension::Capacity,
        Identity | Enrollment => Dimension::Identity,
        Rental => Dimension::Fulfilment,
        _ => Dimension::Behaviour,
    }
}

impl Dictionary {
    /// Reads a dictionary file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Dictionary(format!("{}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| Error::Dictionary(format!("{}: {e}", path.display())))
    }

    /// Parses dictionary TOML.
    pub fn from_toml(text: &str) -> std::result::Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The role of every column, or every refusal at once.
    pub fn roles(
        &self,
        columns: &[&str],
        target: &str,
        audit: &[String],
    ) -> Result<Vec<ColumnRole>> {
        let mut refused = Vec::new();
        for name in audit {
            if !columns.contains(&name.as_str()) {
                refused.push(format!(
                    "  {name}: --audit-column names a column the data does not have"
                ));
            }
        }
        let mut roles = Vec::with_capacity(columns.len());
        for &name in columns {
            let declared = self.columns.get(name);
            let category = declared
                .map(|d| d.category)
                .or_else(|| guess_category_from_name(name));
            let role = if name == target {
                ColumnRole::Target
            } else if audit.iter().any(|a| a == name) {
                if let Some(category) = category.filter(|c| c.admission() == Admission::Prohibited)
                {
                    refused.push(format!(
                        "  {name}: category {category} may not be collected at all, not even for audits — {}; remove the column",
                        category.rule()
                    ));
                }
                ColumnRole::Audit
            } else {
                match (declared, category) {
                    (_, Some(category)) if category.admission() == Admission::Prohibited => {
                        refused.push(format!(
                            "  {name}: category {category} — {}; remove the column",
                            category.rule()
                        ));
                        ColumnRole::Audit
                    }
                    (_, Some(category)) if category.admission() == Admission::AuditOnly => {
                        refused.push(format!(
                            "  {name}: protected attribute ({category}) — never a model input; pass --audit-column {name} to report fairness by it{}",
                            if declared.is_none() { ", or declare its category in the data dictionary if the name misleads" } else { "" }
                        ));
                        ColumnRole::Audit
                    }
                    (Some(entry), _) => ColumnRole::Input {
                        category: entry.category,
                        dimension: entry
                            .dimension
                            .unwrap_or_else(|| default_dimension(entry.category)),
                    },
                    (None, category) => {
                        let category = category.unwrap_or(DataCategory::Application);
                        ColumnRole::Input {
                            category,
                            dimension: default_dimension(category),
                        }
                    }
                }
            };
            roles.push(role);
        }
        if columns.iter().all(|c| *c != target) {
            return Err(Error::Target(format!(
                "no column {target:?}; the columns are {}",
                columns.join(", ")
            )));
        }
        if refused.is_empty() {
            Ok(roles)
        } else {
            Err(Error::Refused(refused))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_columns_are_refused_unless_audited() {
        let dictionary = Dictionary::default();
        let columns = [
            "duration_in_month",
            "age_in_years",
            "personal_status_and_sex",
            "creditability",
        ];
        let err = dictionary
            .roles(&columns, "creditability", &[])
            .expect_err("refused");
        let message = err.to_string();
        assert!(
            message.contains("age_in_years: protected attribute (age)"),
            "{message}"
        );
        assert!(
            message.contains("personal_status_and_sex: protected attribute (sex)"),
            "{message}"
        );
        assert!(message.contains("--audit-column age_in_years"), "{message}");
        let roles = dictionary
            .roles(
                &columns,
                "creditability",
                &["age_in_years".into(), "personal_status_and_sex".into()],
            )
            .expect("audited");
        assert_eq!(roles[1], ColumnRole::Audit);
        assert!(matches!(roles[0], ColumnRole::Input { .. }));
        assert_eq!(roles[3], ColumnRole::Target);
    }

    #[test]
    fn the_dictionary_is_the_source_of_truth() {
        // A harmless-looking name declared as religion is refused…
        let dictionary = Dictionary::from_toml("[columns.x7]\ncategory = \"religion_or_belief\"\n")
            .expect("parses");
        let err = dictionary
            .roles(&["x7", "y"], "y", &[])
            .expect_err("refused");
        assert!(
            err.to_string().contains("x7: category religion_or_belief"),
            "{err}"
        );
        // …and a misleading name can be declared for what it is.
        let dictionary = Dictionary::from_toml(
            "[columns.page_age_days]\ncategory = \"account\"\ndimension = \"history\"\n",
        )
        .expect("parses");
        let roles = dictionary
            .roles(&["page_age_days", "y"], "y", &[])
            .expect("declared");
        assert_eq!(
            roles[0],
            ColumnRole::Input {
                category: DataCategory::Account,
                dimension: Dimension::History
            }
        );
        // Prohibited categories cannot even be audit columns.
        let err = Dictionary::default()
            .roles(&["religion", "y"], "y", &["religion".into()])
            .expect_err("refused");
        assert!(err.to_string().contains("not even for audits"), "{err}");
        assert!(
            Dictionary::from_toml("[columns.a]\ncategory = \"payment\"\ncolour = 1\n").is_err()
        );
    }
}

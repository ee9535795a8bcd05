//! The data dictionary: the declared category (and dimension) of every
//! training column — the source of truth for the guardrails. A guess from a
//! column's name only ever tightens: an undeclared column whose name looks
//! protected or prohibited is refused until someone declares it.

use crate::table::{ColumnData, Table};
use crate::{Error, Result};
use credence_domain::{Admission, DataCategory, check_declared, judge_name};
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
    /// How its values are read; by default from the data (a column of
    /// numbers is a quantity).
    #[serde(default)]
    pub kind: Option<ColumnKind>,
    /// Values of a numeric column that are codes, not quantities (-1 for
    /// "never", 999 for "not applicable"): each scores by a bin of its own
    /// instead of falling into the range its number lies in.
    #[serde(default)]
    pub special: Vec<f64>,
    /// Why the column's name, which weakly suggests a stricter category
    /// (`branch_city`, `account_age`), misleads. A declaration may only tighten
    /// what a name suggests; this is the one way to loosen a weak guess,
    /// and it is recorded in the model's report. A certain guess
    /// (`religion`, `gender`) is never loosened.
    #[serde(default, rename = "override")]
    pub override_reason: Option<String>,
}

/// How a column's values are read in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// A quantity: binned in ranges under a monotone trend.
    Numeric,
    /// Categories, even when written as numbers (codes for an education
    /// level, a region, an industry, whose order means nothing): grouped by
    /// event rate, with rare ones pooled.
    Categorical,
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
        let dictionary: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, entry) in &dictionary.columns {
            if entry.special.is_empty() {
                continue;
            }
            if entry.kind == Some(ColumnKind::Categorical) {
                return Err(format!(
                    "column {name:?} declares special values but kind = \"categorical\": special values belong to numeric columns (a category's codes are levels, each binned by itself already); drop `special` or the kind"
                ));
            }
            if let Some(value) = entry.special.iter().find(|v| !v.is_finite()) {
                return Err(format!(
                    "column {name:?}: special value {value} is not a finite number"
                ));
            }
        }
        Ok(dictionary)
    }

    /// The columns whose declaration overrides a weak guess from their
    /// name, with the stated reason: shown in the report's settings.
    pub fn overrides(&self) -> BTreeMap<String, String> {
        self.columns
            .iter()
            .filter_map(|(name, entry)| {
                let reason = entry.override_reason.as_ref()?;
                judge_name(name)?;
                Some((name.clone(), reason.clone()))
            })
            .collect()
    }

    /// The declared special values of every column that has some.
    pub fn specials(&self) -> BTreeMap<String, Vec<f64>> {
        self.columns
            .iter()
            .filter(|(_, entry)| !entry.special.is_empty())
            .map(|(name, entry)| (name.clone(), entry.special.clone()))
            .collect()
    }

    /// Reads every declared column the way the dictionary says: numbers
    /// declared categorical become categories; a column declared numeric
    /// must hold only numbers (the error names the column and the first
    /// value that is not one). Declared columns the table lacks are left
    /// alone: one dictionary may serve many files.
    pub fn apply_kinds(&self, table: &mut Table) -> Result<()> {
        for column in &mut table.columns {
            let Some(entry) = self.columns.get(&column.name) else {
                continue;
            };
            // Special values are numbers: a column declaring them is read
            // as numeric, so a stray text value is named.
            let kind = match entry.kind {
                Some(kind) => kind,
                None if !entry.special.is_empty() => ColumnKind::Numeric,
                None => continue,
            };
            let data = std::mem::replace(&mut column.data, ColumnData::Numeric(Vec::new()));
            column.data = match kind {
                ColumnKind::Categorical => data.into_categories(),
                ColumnKind::Numeric => data.into_numbers().map_err(|value| {
                    let (declared, otherwise) = if entry.kind.is_some() {
                        ("is declared numeric", "declare the column kind = \"categorical\"")
                    } else {
                        (
                            "declares special values, so must hold numbers,",
                            "drop its `special` list",
                        )
                    };
                    Error::Dictionary(format!(
                        "column {:?} {declared} but holds {value:?}, which is not a number; correct the value, mark it missing (empty or NA), or {otherwise}",
                        column.name
                    ))
                })?,
            };
        }
        Ok(())
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
            // A declaration may only tighten what the name suggests.
            let category = match declared {
                Some(entry) => match check_declared(
                    &format!("column {name:?}"),
                    name,
                    entry.category,
                    entry.override_reason.as_deref(),
                ) {
                    Ok(category) => Some(category),
                    Err(refusal) => {
                        refused.push(format!("  {name}: {refusal}"));
                        roles.push(ColumnRole::Audit);
                        continue;
                    }
                },
                None => judge_name(name).map(|g| g.category),
            };
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
        // …and a misleading name can be declared for what it is, saying
        // why (a declaration may only tighten what a name suggests).
        let dictionary = Dictionary::from_toml(
            "[columns.page_age_days]\ncategory = \"account\"\ndimension = \"history\"\noverride = \"days since the account page opened\"\n",
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

    #[test]
    fn a_dictionary_may_only_tighten() {
        // Declared harmless, named religion: refused, override or not.
        for toml in [
            "[columns.religion]\ncategory = \"application\"\n",
            "[columns.religion]\ncategory = \"application\"\noverride = \"it is only a code really\"\n",
            "[columns.gndr]\ncategory = \"account\"\n",
            "[columns.eth_grp]\ncategory = \"account\"\n",
        ] {
            let dictionary = Dictionary::from_toml(toml).expect("parses");
            let name = dictionary.columns.keys().next().expect("one").clone();
            let err = dictionary
                .roles(&[name.as_str(), "y"], "y", &[])
                .expect_err("a declaration may not loosen a certain name");
            assert!(err.to_string().contains(&name), "{err}");
        }
        // Undeclared synonyms, proxies and lifestyle columns are refused.
        let columns = [
            "national_origin",
            "blood_type",
            "postcode",
            "game_hours_per_day",
            "luxury_purchases",
            "job",
            "purpose",
            "y",
        ];
        let err = Dictionary::default()
            .roles(&columns, "y", &[])
            .expect_err("refused");
        for name in &columns[..7] {
            assert!(
                err.to_string().contains(&format!("  {name}: ")),
                "{name}: {err}"
            );
        }
        // Declaring stricter is always fine, and the override is reported.
        let dictionary = Dictionary::from_toml(
            "[columns.branch_city]\ncategory = \"application\"\noverride = \"the lender's branch, not the subject's home\"\n",
        )
        .expect("parses");
        assert!(dictionary.roles(&["branch_city", "y"], "y", &[]).is_ok());
        assert_eq!(
            dictionary
                .overrides()
                .get("branch_city")
                .map(String::as_str),
            Some("the lender's branch, not the subject's home")
        );
    }

    fn table(columns: Vec<(&str, ColumnData)>) -> Table {
        let rows = columns.first().map_or(0, |(_, data)| match data {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Categorical { codes, .. } => codes.len(),
        });
        Table {
            columns: columns
                .into_iter()
                .map(|(name, data)| crate::Column {
                    name: name.into(),
                    data,
                })
                .collect(),
            rows,
        }
    }

    #[test]
    fn numbers_declared_categorical_become_categories_labelled_as_the_scorer_reads_them() {
        let dictionary = Dictionary::from_toml(
            "[columns.education]\ncategory = \"application\"\nkind = \"categorical\"\n",
        )
        .expect("parses");
        let mut data = table(vec![
            (
                "education",
                ColumnData::Numeric(vec![1.0, 2.0, f64::NAN, 1.0, 2.5, -0.0, 0.0]),
            ),
            ("amount", ColumnData::Numeric(vec![10.0; 7])),
        ]);
        dictionary.apply_kinds(&mut data).expect("applies");
        let ColumnData::Categorical { codes, levels } = &data.columns[0].data else {
            panic!("education stayed numeric: {:?}", data.columns[0].data);
        };
        assert_eq!(levels, &["1", "2", "2.5", "0"]);
        assert_eq!(codes, &[0, 1, crate::table::MISSING_CODE, 0, 2, 3, 3]);
        // Undeclared columns keep the type the data gave them.
        assert!(matches!(data.columns[1].data, ColumnData::Numeric(_)));
    }

    #[test]
    fn a_column_declared_numeric_must_hold_numbers() {
        let dictionary =
            Dictionary::from_toml("[columns.income]\ncategory = \"income\"\nkind = \"numeric\"\n")
                .expect("parses");
        let levels = |values: &[&str]| values.iter().map(|v| v.to_string()).collect();
        let mut good = table(vec![(
            "income",
            ColumnData::Categorical {
                codes: vec![0, 1, crate::table::MISSING_CODE],
                levels: levels(&["1200", " 80.5"]),
            },
        )]);
        dictionary.apply_kinds(&mut good).expect("numbers");
        match &good.columns[0].data {
            ColumnData::Numeric(v) => {
                assert_eq!(&v[..2], &[1200.0, 80.5]);
                assert!(v[2].is_nan());
            }
            other => panic!("still categorical: {other:?}"),
        }
        let mut bad = table(vec![(
            "income",
            ColumnData::Categorical {
                codes: vec![0, 1],
                levels: levels(&["1200", "about 900"]),
            },
        )]);
        let message = dictionary
            .apply_kinds(&mut bad)
            .expect_err("refused")
            .to_string();
        assert!(
            message.contains("\"income\" is declared numeric but holds \"about 900\""),
            "{message}"
        );
        assert!(
            Dictionary::from_toml("[columns.a]\ncategory = \"payment\"\nkind = \"ordinal\"\n")
                .is_err()
        );
    }

    #[test]
    fn special_values_are_numbers_of_numeric_columns() {
        let dictionary = Dictionary::from_toml(
            "[columns.months_since_late]\ncategory = \"payment\"\nspecial = [-1, 999]\n\n[columns.amount]\ncategory = \"account\"\n",
        )
        .expect("parses");
        assert_eq!(
            dictionary.specials(),
            BTreeMap::from([("months_since_late".to_string(), vec![-1.0, 999.0])])
        );
        // Declaring special values makes a column numeric: text is named.
        let mut typo = table(vec![(
            "months_since_late",
            ColumnData::Categorical {
                codes: vec![0, 1],
                levels: vec!["-1".into(), "never".into()],
            },
        )]);
        let message = dictionary
            .apply_kinds(&mut typo)
            .expect_err("refused")
            .to_string();
        assert!(
            message.contains("\"months_since_late\" declares special values, so must hold numbers, but holds \"never\""),
            "{message}"
        );
        let refused = Dictionary::from_toml(
            "[columns.region]\ncategory = \"application\"\nkind = \"categorical\"\nspecial = [0]\n",
        )
        .expect_err("refused");
        assert!(
            refused.contains("special values belong to numeric columns"),
            "{refused}"
        );
        let refused =
            Dictionary::from_toml("[columns.x]\ncategory = \"payment\"\nspecial = [nan]\n")
                .expect_err("refused");
        assert!(refused.contains("not a finite number"), "{refused}");
    }
}

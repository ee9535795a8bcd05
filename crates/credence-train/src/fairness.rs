//! Fairness by audit columns: for each group of a protected attribute, the
//! approval rate at a cut-off, the adverse-impact ratio against the
//! best-treated group (the four-fifths rule), and how well the score ranks
//! within the group (AUC).

use crate::metrics::auc;
use crate::table::{ColumnData, MISSING_CODE, Table};
use serde::Serialize;

/// One group of an audit column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// The group (a category, a value range, or `missing`).
    pub group: String,
    /// Rows in the group.
    pub count: usize,
    /// Share of bads in the group.
    pub bad_rate: f64,
    /// Share of the group scoring at or above the cut-off.
    pub approval_rate: f64,
    /// Approval rate over the highest group approval rate.
    pub adverse_impact_ratio: f64,
    /// AUC within the group (`null` when it has only goods or only bads).
    pub auc: Option<f64>,
}

/// Fairness by one audit column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FairnessReport {
    /// The audit column.
    pub column: String,
    /// Scores at or above this are approved.
    pub cutoff: i32,
    /// The groups, in a stable order.
    pub groups: Vec<GroupReport>,
    /// True when every group's adverse-impact ratio is at least 0.8.
    pub four_fifths_rule_met: bool,
}

impl FairnessReport {
    /// Whether any row reaches the cut-off. When none does, every ratio is
    /// 1 and the rule is met only vacuously: the cut-off is wrong for this
    /// model, and reports say so instead of "met".
    pub fn anyone_approved(&self) -> bool {
        self.groups.iter().any(|g| g.approval_rate > 0.0)
    }

    /// True when the rule holds and says something: someone is approved
    /// and every group is at four-fifths or more.
    pub fn met(&self) -> bool {
        self.anyone_approved() && self.four_fifths_rule_met
    }

    /// The four-fifths rule in words, for people, naming the groups below
    /// it. A group of a few rows can fall below it by chance, so when only
    /// such groups do, the words say so; the rule itself (and
    /// `four_fifths_rule_met`) still counts every group.
    pub fn verdict(&self) -> String {
        if !self.anyone_approved() {
            return format!(
                "not testable: no row reaches {} (choose a cut-off with --cutoff)",
                self.cutoff
            );
        }
        if self.met() {
            return "met".into();
        }
        let below: Vec<&GroupReport> = self
            .groups
            .iter()
            .filter(|g| g.below_four_fifths())
            .collect();
        let named = below
            .iter()
            .map(|g| format!("{} ({} rows)", g.group, g.count))
            .collect::<Vec<_>>()
            .join(", ");
        if below.iter().all(|g| g.count < SMALL_GROUP) {
            format!(
                "NOT met, only in groups too small to judge (under {SMALL_GROUP} rows): {named}"
            )
        } else {
            format!("NOT met: {named}")
        }
    }
}

impl GroupReport {
    /// Approved at under four-fifths of the best-treated group's rate.
    fn below_four_fifths(&self) -> bool {
        self.adverse_impact_ratio < 0.8
    }
}

/// Fewer rows than this make a group's approval rate too noisy to judge
/// the four-fifths rule by (a common floor in adverse-impact practice).
pub const SMALL_GROUP: usize = 30;

/// Groups rows of an audit column: categories as they are, numbers in
/// quartile ranges, missing values apart.
fn group_rows(table: &Table, column: usize, rows: &[usize]) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut push = |label: String, row: usize| match groups.iter_mut().find(|(l, _)| *l == label) {
        Some((_, members)) => members.push(row),
        None => groups.push((label, vec![row])),
    };
    match &table.columns[column].data {
        ColumnData::Categorical { codes, levels } => {
            for &row in rows {
                let code = codes[row];
                let label = if code == MISSING_CODE {
                    "missing".to_string()
                } else {
                    levels[code as usize].clone()
                };
                push(label, row);
            }
        }
        ColumnData::Numeric(values) => {
            let mut present: Vec<f64> = rows
                .iter()
                .map(|&r| values[r])
                .filter(|v| !v.is_nan())
                .collect();
            present.sort_by(f64::total_cmp);
            let mut cuts: Vec<f64> = [0.25, 0.5, 0.75]
                .iter()
                .filter_map(|q| present.get((present.len() as f64 * q) as usize).copied())
                .collect();
            cuts.dedup();
            cuts.retain(|c| present.first().is_some_and(|first| c > first));
            for &row in rows {
                let v = values[row];
                let label = if v.is_nan() {
                    "missing".to_string()
                } else {
                    let i = cuts.partition_point(|c| *c <= v);
                    let lower = i
                        .checked_sub(1)
                        .map_or("-inf".to_string(), |p| cuts[p].to_string());
                    let upper = cuts.get(i).map_or("+inf".to_string(), |u| u.to_string());
                    format!("[{lower}, {upper})")
                };
                push(label, row);
            }
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups
}

/// Fairness of `scores` (one per row of `rows`) by audit column `column`.
pub fn fairness(
    table: &Table,
    column: usize,
    rows: &[usize],
    scores: &[i32],
    target: &[u8],
    cutoff: i32,
) -> FairnessReport {
    let position: std::collections::HashMap<usize, usize> =
        rows.iter().enumerate().map(|(i, &r)| (r, i)).collect();
    let mut groups: Vec<GroupReport> = group_rows(table, column, rows)
        .into_iter()
        .map(|(group, members)| {
            let member_scores: Vec<i32> = members.iter().map(|r| scores[position[r]]).collect();
            let outcomes: Vec<u8> = members.iter().map(|&r| target[r]).collect();
            let approved = member_scores.iter().filter(|s| **s >= cutoff).count();
            let bads = outcomes.iter().filter(|t| **t == 1).count();
            let risk: Vec<f64> = member_scores.iter().map(|s| -f64::from(*s)).collect();
            GroupReport {
                group,
                count: members.len(),
                bad_rate: bads as f64 / members.len() as f64,
                approval_rate: approved as f64 / members.len() as f64,
                adverse_impact_ratio: 0.0,
                auc: (bads > 0 && bads < members.len()).then(|| auc(&risk, &outcomes)),
            }
        })
        .collect();
    let best = groups.iter().map(|g| g.approval_rate).fold(0.0, f64::max);
    for group in &mut groups {
        group.adverse_impact_ratio = if best > 0.0 {
            group.approval_rate / best
        } else {
            1.0
        };
    }
    FairnessReport {
        column: table.columns[column].name.clone(),
        cutoff,
        four_fifths_rule_met: !groups.iter().any(GroupReport::below_four_fifths),
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Column;

    #[test]
    fn adverse_impact_against_the_best_treated_group() {
        let table = Table {
            rows: 8,
            columns: vec![Column {
                name: "sex".into(),
                data: ColumnData::Categorical {
                    codes: vec![0, 0, 0, 0, 1, 1, 1, 1],
                    levels: vec!["f".into(), "m".into()],
                },
            }],
        };
        let rows: Vec<usize> = (0..8).collect();
        // f: 2 of 4 approved; m: 4 of 4 approved.
        let scores = [650, 620, 500, 540, 700, 610, 690, 640];
        let target = [0, 0, 1, 1, 0, 1, 0, 0];
        let report = fairness(&table, 0, &rows, &scores, &target, 600);
        assert_eq!(report.groups[0].group, "f");
        assert_eq!(report.groups[0].approval_rate, 0.5);
        assert_eq!(report.groups[1].approval_rate, 1.0);
        assert_eq!(report.groups[0].adverse_impact_ratio, 0.5);
        assert!(!report.four_fifths_rule_met);
        assert_eq!(
            report.verdict(),
            "NOT met, only in groups too small to judge (under 30 rows): f (4 rows)"
        );
        let counted = FairnessReport {
            groups: report
                .groups
                .iter()
                .map(|g| GroupReport {
                    count: g.count * 100,
                    ..g.clone()
                })
                .collect(),
            ..report.clone()
        };
        assert_eq!(counted.verdict(), "NOT met: f (400 rows)");
        let nobody = FairnessReport {
            groups: report
                .groups
                .iter()
                .map(|g| GroupReport {
                    approval_rate: 0.0,
                    adverse_impact_ratio: 1.0,
                    ..g.clone()
                })
                .collect(),
            four_fifths_rule_met: true,
            ..report.clone()
        };
        assert!(
            nobody.verdict().starts_with("not testable"),
            "{}",
            nobody.verdict()
        );
        assert_eq!(report.groups[0].auc, Some(1.0));
    }
}

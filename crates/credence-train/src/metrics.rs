//! Discrimination metrics: AUC, Gini, KS.

use serde::Serialize;

/// Validation metrics of scores against outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    /// Rows.
    pub rows: usize,
    /// Share of bads.
    pub bad_rate: f64,
    /// Area under the ROC curve (probability a random bad is ranked riskier
    /// than a random good).
    pub auc: f64,
    /// 2·AUC − 1.
    pub gini: f64,
    /// Kolmogorov–Smirnov: the largest gap between the cumulative shares of
    /// bads and goods.
    pub ks: f64,
}

/// AUC of `risk` (higher = riskier) against 0/1 outcomes, ties counted
/// half (the Mann–Whitney statistic).
pub fn auc(risk: &[f64], target: &[u8]) -> f64 {
    let mut order: Vec<usize> = (0..risk.len()).collect();
    order.sort_by(|&a, &b| risk[a].total_cmp(&risk[b]));
    let (mut rank_sum, mut bads) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && risk[order[j + 1]] == risk[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        for &row in &order[i..=j] {
            if target[row] == 1 {
                rank_sum += average_rank;
                bads += 1.0;
            }
        }
        i = j + 1;
    }
    let goods = risk.len() as f64 - bads;
    if bads == 0.0 || goods == 0.0 {
        return 0.5;
    }
    (rank_sum - bads * (bads + 1.0) / 2.0) / (bads * goods)
}

/// KS of `risk` against 0/1 outcomes.
pub fn ks(risk: &[f64], target: &[u8]) -> f64 {
    let mut order: Vec<usize> = (0..risk.len()).collect();
    order.sort_by(|&a, &b| risk[b].total_cmp(&risk[a]));
    let bads = target.iter().filter(|t| **t == 1).count() as f64;
    let goods = target.len() as f64 - bads;
    if bads == 0.0 || goods == 0.0 {
        return 0.0;
    }
    let (mut cum_bad, mut cum_good, mut best) = (0.0, 0.0, 0.0f64);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && risk[order[j]] == risk[order[i]] {
            if target[order[j]] == 1 {
                cum_bad += 1.0;
            } else {
                cum_good += 1.0;
            }
            j += 1;
        }
        best = best.max((cum_bad / bads - cum_good / goods).abs());
        i = j;
    }
    best
}

/// All metrics at once.
pub fn metrics(risk: &[f64], target: &[u8]) -> Metrics {
    let a = auc(risk, target);
    Metrics {
        rows: target.len(),
        bad_rate: target.iter().filter(|t| **t == 1).count() as f64 / target.len().max(1) as f64,
        auc: a,
        gini: 2.0 * a - 1.0,
        ks: ks(risk, target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_inverted_rankings() {
        let target = [0, 0, 1, 1];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &target), 1.0);
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &target), 0.0);
        assert_eq!(auc(&[0.5; 4], &target), 0.5);
        assert_eq!(ks(&[0.1, 0.2, 0.8, 0.9], &target), 1.0);
        // One good outranks one bad: 3 of 4 pairs are ordered.
        assert!((auc(&[0.1, 0.85, 0.8, 0.9], &target) - 0.75).abs() < 1e-12);
        let m = metrics(&[0.1, 0.2, 0.8, 0.9], &target);
        assert_eq!((m.gini, m.bad_rate), (1.0, 0.5));
    }
}

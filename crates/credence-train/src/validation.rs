//! Validation beyond one number: calibration by band, population
//! stability between two samples, and the curves a report draws.

use credence_scorecard::Band;
use serde::Serialize;

/// Observed against predicted bad rates in one band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandCalibration {
    /// The band.
    pub band: Band,
    /// Rows scored in it.
    pub count: usize,
    /// Observed share of bads.
    pub observed_bad_rate: f64,
    /// Mean predicted probability of default.
    pub predicted_bad_rate: f64,
}

/// Calibration by band of `(score, pd, outcome)` rows.
pub fn calibration(rows: &[(i32, f64, u8)]) -> Vec<BandCalibration> {
    Band::ALL
        .iter()
        .map(|band| {
            let members: Vec<&(i32, f64, u8)> = rows
                .iter()
                .filter(|(s, _, _)| Band::of(*s) == *band)
                .collect();
            let n = members.len().max(1) as f64;
            BandCalibration {
                band: *band,
                count: members.len(),
                observed_bad_rate: members.iter().filter(|(_, _, y)| *y == 1).count() as f64 / n,
                predicted_bad_rate: members.iter().map(|(_, pd, _)| pd).sum::<f64>() / n,
            }
        })
        .collect()
}

/// Population stability index of `actual` scores against `expected`
/// scores, over ten buckets cut at the deciles of `expected`. Below 0.1 is
/// stable; above 0.25 a material shift.
pub fn psi(expected: &[i32], actual: &[i32]) -> f64 {
    if expected.is_empty() || actual.is_empty() {
        return 0.0;
    }
    let mut sorted = expected.to_vec();
    sorted.sort_unstable();
    let mut cuts: Vec<i32> = (1..10).map(|k| sorted[k * sorted.len() / 10]).collect();
    cuts.dedup();
    let counts = |scores: &[i32]| {
        let mut counts = vec![0u64; cuts.len() + 1];
        for s in scores {
            counts[cuts.partition_point(|c| c <= s)] += 1;
        }
        counts
    };
    stability_index(&counts(expected), &counts(actual))
}

pub use credence_scorecard::stability_index;

/// Curves of one sample: ROC points, the KS gap along the score, and the
/// score distributions of goods and bads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curves {
    /// (false-positive rate, true-positive rate), from the riskiest score down.
    pub roc: Vec<(f64, f64)>,
    /// (score, cumulative share of bads, cumulative share of goods), from
    /// the lowest score up.
    pub ks: Vec<(i32, f64, f64)>,
    /// Score histogram in 25-point buckets: (bucket floor, goods, bads).
    pub distribution: Vec<(i32, usize, usize)>,
}

/// Curves of `(score, outcome)` rows.
pub fn curves(rows: &[(i32, u8)]) -> Curves {
    let mut sorted = rows.to_vec();
    sorted.sort_by_key(|(s, _)| *s);
    let bads = rows.iter().filter(|(_, y)| *y == 1).count().max(1) as f64;
    let goods = rows.iter().filter(|(_, y)| *y == 0).count().max(1) as f64;
    let (mut cum_bad, mut cum_good) = (0.0, 0.0);
    let mut ks = Vec::new();
    let mut roc = vec![(0.0, 0.0)];
    let mut i = 0;
    while i < sorted.len() {
        let score = sorted[i].0;
        while i < sorted.len() && sorted[i].0 == score {
            if sorted[i].1 == 1 {
                cum_bad += 1.0;
            } else {
                cum_good += 1.0;
            }
            i += 1;
        }
        ks.push((score, cum_bad / bads, cum_good / goods));
        roc.push((cum_good / goods, cum_bad / bads));
    }
    let mut distribution: Vec<(i32, usize, usize)> = Vec::new();
    for (score, outcome) in &sorted {
        let floor = score - score.rem_euclid(25);
        if distribution.last().is_none_or(|(f, _, _)| *f != floor) {
            distribution.push((floor, 0, 0));
        }
        if let Some(last) = distribution.last_mut() {
            if *outcome == 1 {
                last.2 += 1;
            } else {
                last.1 += 1;
            }
        }
    }
    Curves {
        roc,
        ks,
        distribution,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_is_zero_for_the_same_population_and_grows_with_shift() {
        let base: Vec<i32> = (0..1000).map(|i| 400 + i % 400).collect();
        assert!(psi(&base, &base).abs() < 1e-12);
        let shifted: Vec<i32> = base.iter().map(|s| s + 60).collect();
        let far: Vec<i32> = base.iter().map(|s| s + 200).collect();
        assert!(psi(&base, &shifted) > 0.05);
        assert!(psi(&base, &far) > psi(&base, &shifted));
    }

    #[test]
    fn calibration_and_curves_add_up() {
        let rows = vec![
            (500, 0.2, 1),
            (520, 0.2, 0),
            (680, 0.01, 0),
            (720, 0.005, 0),
        ];
        let bands = calibration(&rows);
        assert_eq!(bands.iter().map(|b| b.count).sum::<usize>(), 4);
        assert_eq!(bands[0].observed_bad_rate, 0.5);
        let c = curves(&rows.iter().map(|(s, _, y)| (*s, *y)).collect::<Vec<_>>());
        assert_eq!(c.roc.last(), Some(&(1.0, 1.0)));
        assert_eq!(
            c.distribution.iter().map(|(_, g, b)| g + b).sum::<usize>(),
            4
        );
    }

    #[test]
    fn stability_index_matches_a_hand_computed_value() {
        assert_eq!(stability_index(&[10, 20, 70], &[1, 2, 7]), 0.0);
        // Shares 0.5/0.5 against 0.2/0.8: 0.3 ln(0.8/0.5) - 0.3 ln(0.2/0.5).
        let expected = 0.3 * (0.8f64 / 0.5).ln() - 0.3 * (0.2f64 / 0.5).ln();
        assert!((stability_index(&[50, 50], &[20, 80]) - expected).abs() < 1e-12);
        // An emptied bin is a large shift, not an infinite one.
        let emptied = stability_index(&[50, 50], &[0, 100]);
        assert!(emptied.is_finite() && emptied > 1.0, "{emptied}");
    }
}

//! Population stability: how far a distribution moved from a reference.
//! One function for every use (the PSI of scores at training, each input's
//! characteristic stability, and a running platform's drift by band), so
//! the figures agree wherever they are shown.

/// Σ (actual share − expected share) × ln(actual share / expected share)
/// over matching buckets of two counts: the PSI over score deciles or
/// bands, the characteristic stability index over an input's bins. Shares
/// are floored at 0.01% so an empty bucket counts as a large shift, not an
/// infinite one.
pub fn stability_index(expected: &[u64], actual: &[u64]) -> f64 {
    let shares = |counts: &[u64]| {
        let total = counts.iter().sum::<u64>().max(1) as f64;
        counts
            .iter()
            .map(|&c| (c as f64 / total).max(1e-4))
            .collect::<Vec<f64>>()
    };
    let (e, a) = (shares(expected), shares(actual));
    e.iter().zip(&a).map(|(e, a)| (a - e) * (a / e).ln()).sum()
}

#[cfg(test)]
mod tests {
    use super::stability_index;

    #[test]
    fn the_same_distribution_has_no_shift_and_a_moved_one_has_some() {
        assert_eq!(stability_index(&[10, 80, 10], &[20, 160, 20]), 0.0);
        let moved = stability_index(&[10, 80, 10], &[30, 60, 10]);
        assert!(moved > 0.1, "{moved}");
        assert!(stability_index(&[10, 0, 10], &[10, 10, 10]).is_finite());
    }
}

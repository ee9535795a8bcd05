//! Optional stepwise selection of the inputs of a regression.
//!
//! The classic credit-scoring procedure (SAS `PROC LOGISTIC
//! SELECTION=STEPWISE`): start from the intercept alone; at each step first
//! remove the input in the model whose Wald test is least significant, if
//! its p-value is above the stay level, otherwise enter the input outside
//! whose score test is most significant, if its p-value is below the entry
//! level; stop when neither happens or a model repeats. Score tests need no
//! refit per candidate, so a step costs one fit and one pass over the rows.
//!
//! The tests treat each input's WOE as given. Optimal bins were fitted to
//! the same target, so for a continuous input with many bins the p-values
//! are optimistic (as after any data-driven transformation): a weak input
//! enters more easily than its nominal level says. Stricter levels
//! (`0.01`) or validation on held-out rows make up for it.

use crate::logistic::{
    BinnedColumn, cholesky_solve, fit_design, linear, sampled_information, score,
};

/// Significance levels of stepwise selection.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepwiseOptions {
    /// An input enters when its score test's p-value is below this.
    pub entry: f64,
    /// An input stays while its Wald test's p-value is at most this.
    pub stay: f64,
}

impl Default for StepwiseOptions {
    fn default() -> Self {
        Self {
            entry: 0.05,
            stay: 0.05,
        }
    }
}

/// What stepwise selection decided for each input.
#[derive(Debug, Clone, PartialEq)]
pub struct StepwiseOutcome {
    /// Positions (into the columns given) of the inputs chosen, ascending.
    pub chosen: Vec<usize>,
    /// For each input, its last test: Wald p-value for those in the model,
    /// score-test p-value for those outside.
    pub p_values: Vec<f64>,
    /// Steps taken (entries and removals).
    pub steps: usize,
}

/// P(χ²₁ > x).
fn chi_square_1_survival(x: f64) -> f64 {
    if x.is_nan() {
        return 1.0;
    }
    libm::erfc((x.max(0.0) / 2.0).sqrt())
}

/// Runs stepwise selection over `columns` against a 0/1 target, with the
/// fits penalised by `lambda` as the final model will be.
pub fn stepwise(
    columns: &[BinnedColumn<'_>],
    target: &[u8],
    lambda: f64,
    options: StepwiseOptions,
) -> StepwiseOutcome {
    let k = columns.len();
    let n = target.len();
    let mut model: Vec<usize> = Vec::new();
    let mut seen: Vec<Vec<usize>> = vec![Vec::new()];
    let mut p_values = vec![1.0; k];
    let mut steps = 0;
    let mut start: Option<Vec<f64>> = None;
    // Every step needs at most one entry or one removal per input, twice
    // over; the bound only guards against pathological cycling.
    for _ in 0..(4 * k + 4) {
        let design: Vec<BinnedColumn<'_>> = model.iter().map(|&j| columns[j]).collect();
        let fit = fit_design(design.as_slice(), target, lambda, start.as_deref());
        let eta = linear(design.as_slice(), fit.intercept, &fit.coefficients, n);
        // Score and information of every input at the current model
        // (intercept first).
        let score = score(columns, &eta, target);
        let information = sampled_information(columns, &eta);
        // The model's block (intercept first), with the penalty its fit had.
        let block: Vec<usize> = std::iter::once(0)
            .chain(model.iter().map(|j| j + 1))
            .collect();
        let size = block.len();
        let width = k + 1;
        let mut unpenalised = vec![0.0; size * size];
        for (a, &i) in block.iter().enumerate() {
            for (b, &j) in block.iter().enumerate() {
                unpenalised[a * size + b] = information[i * width + j];
            }
        }
        let mut model_information = unpenalised.clone();
        for a in 1..size {
            model_information[a * size + a] += lambda;
        }
        // Removal: the least significant input in the model, by Wald.
        let mut weakest: Option<(usize, f64)> = None;
        for (position, &j) in model.iter().enumerate() {
            let mut unit = vec![0.0; size];
            unit[position + 1] = 1.0;
            // The penalised fit's sandwich variance H⁻¹ I H⁻¹ (H = I + λ):
            // H⁻¹ alone would understate it for inputs whose WOE varies
            // little, where the penalty is most of the curvature.
            let variance =
                cholesky_solve(&model_information, &unit, size).map_or(f64::INFINITY, |z| {
                    (0..size)
                        .map(|a| {
                            z[a] * (0..size)
                                .map(|b| unpenalised[a * size + b] * z[b])
                                .sum::<f64>()
                        })
                        .sum()
                });
            let beta = fit.coefficients[position];
            let p = chi_square_1_survival(beta * beta / variance);
            p_values[j] = p;
            if weakest.is_none_or(|(_, worst)| p > worst) {
                weakest = Some((position, p));
            }
        }
        let mut next = model.clone();
        if let Some((position, _)) = weakest.filter(|(_, p)| *p > options.stay) {
            next.remove(position);
        } else {
            // Entry: the most significant input outside, by score test.
            let mut strongest: Option<(usize, f64)> = None;
            for j in (0..k).filter(|j| !model.contains(j)) {
                let cross: Vec<f64> = block
                    .iter()
                    .map(|&i| information[i * width + j + 1])
                    .collect();
                let adjusted = cholesky_solve(&model_information, &cross, size).map_or(
                    information[(j + 1) * width + j + 1],
                    |z| {
                        information[(j + 1) * width + j + 1]
                            - cross.iter().zip(&z).map(|(c, z)| c * z).sum::<f64>()
                    },
                );
                let p = if adjusted <= 1e-12 * n as f64 {
                    1.0 // nothing left to explain: the input is redundant
                } else {
                    chi_square_1_survival(score[j + 1] * score[j + 1] / adjusted)
                };
                p_values[j] = p;
                if strongest.is_none_or(|(_, best)| p < best) {
                    strongest = Some((j, p));
                }
            }
            match strongest.filter(|(_, p)| *p < options.entry) {
                Some((j, _)) => {
                    next.push(j);
                    next.sort_unstable();
                }
                None => break,
            }
        }
        if seen.contains(&next) {
            break;
        }
        // Warm start: the surviving coefficients, zero for a newcomer.
        let mut warm = vec![fit.intercept];
        for j in &next {
            warm.push(
                model
                    .iter()
                    .position(|m| m == j)
                    .map_or(0.0, |p| fit.coefficients[p]),
            );
        }
        start = Some(warm);
        seen.push(next.clone());
        model = next;
        steps += 1;
    }
    StepwiseOutcome {
        chosen: model,
        p_values,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_tail_matches_tables() {
        // 3.841 is the 5% critical value of χ²₁, 6.635 the 1%.
        assert!((chi_square_1_survival(3.841) - 0.05).abs() < 1e-3);
        assert!((chi_square_1_survival(6.635) - 0.01).abs() < 1e-3);
        assert_eq!(chi_square_1_survival(0.0), 1.0);
    }

    /// Three inputs carry signal and five are noise: stepwise keeps the
    /// three, leaves the noise out, and its final tests agree with its
    /// levels (in: Wald p ≤ stay; out: score p ≥ entry).
    #[test]
    fn keeps_signal_and_leaves_noise_out() {
        let n = 20_000;
        let mut rng = crate::testing::Lcg::new(3);
        let values: Vec<Vec<f64>> = (0..8)
            .map(|j| vec![-0.6 - 0.05 * j as f64, -0.1, 0.3, 0.7])
            .collect();
        // Risk falls as the first three inputs' values rise.
        let effects = [-1.0, -0.6, -0.3, 0.0, 0.0, 0.0, 0.0, 0.0];
        let (codes, target) = crate::testing::planted(&mut rng, n, &values, &effects, -1.2);
        let columns = crate::testing::binned(&codes, &values);
        // At the 5% levels each noise input has a one-in-twenty chance of
        // entering by luck; at 1% none does here.
        for (options, most_noise) in [
            (StepwiseOptions::default(), 1),
            (
                StepwiseOptions {
                    entry: 0.01,
                    stay: 0.01,
                },
                0,
            ),
        ] {
            let outcome = stepwise(&columns, &target, 1.0, options);
            assert!(
                [0, 1, 2].iter().all(|j| outcome.chosen.contains(j)),
                "{outcome:?}"
            );
            assert!(outcome.chosen.len() <= 3 + most_noise, "{outcome:?}");
            for (j, p) in outcome.p_values.iter().enumerate() {
                if outcome.chosen.contains(&j) {
                    assert!(*p <= options.stay, "{j}: {p}");
                } else {
                    assert!(*p >= options.entry, "{j}: {p}");
                }
            }
            assert!(outcome.steps >= 3);
        }
    }
}

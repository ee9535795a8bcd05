//! L2-regularised logistic regression by Newton's method (IRLS).
//!
//! Written here rather than taken from a crate: the problem is small (a few
//! dozen WOE columns), the solver is twenty lines with a Cholesky solve,
//! and the well-kept linear-algebra crates would add more build time than
//! the rest of the workspace.

use crate::parallel::par_rows;
use std::ops::Range;

/// A fitted model: `logit P(bad) = intercept + Σ coefficients[j] · x[j]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticFit {
    /// The intercept.
    pub intercept: f64,
    /// One coefficient per column.
    pub coefficients: Vec<f64>,
    /// Newton iterations used.
    pub iterations: usize,
}

/// Solves `a · x = b` for a symmetric positive-definite `a` (row-major
/// n×n) by Cholesky decomposition. `None` if `a` is not positive definite.
pub(crate) fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum <= 0.0 {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut sum = b[i];
        for k in 0..i {
            sum -= l[i * n + k] * y[k];
        }
        y[i] = sum / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut sum = y[i];
        for k in i + 1..n {
            sum -= l[k * n + i] * x[k];
        }
        x[i] = sum / l[i * n + i];
    }
    Some(x)
}

/// ln(1 + eᶻ) without overflow.
fn softplus(z: f64) -> f64 {
    if z > 30.0 { z } else { z.exp().ln_1p() }
}

/// The columns of a regression, however they are stored. Training hands
/// the solver binned columns (a small code per row and one value per bin),
/// which keeps a million rows × dozens of inputs in a few bytes a cell and
/// turns every pass into table lookups. Every pass takes a range of rows,
/// so the solver can split the rows between threads.
pub trait Design: Sync {
    /// Rows.
    fn rows(&self) -> usize;
    /// Columns (without the intercept).
    fn columns(&self) -> usize;
    /// `out[i] += Σⱼ beta[j] · x[rows.start + i][j]` for the rows in `rows`.
    fn add_product(&self, beta: &[f64], rows: Range<usize>, out: &mut [f64]);
    /// `out[j] += Σᵢ x[rows.start + i][j] · weights[i]` for every column.
    fn add_transpose_product(&self, weights: &[f64], rows: Range<usize>, out: &mut [f64]);
    /// Writes row `row` into `x` (one value per column).
    fn row(&self, row: usize, x: &mut [f64]);
}

/// Dense columns, each a value per row.
impl Design for [Vec<f64>] {
    fn rows(&self) -> usize {
        self.first().map_or(0, Vec::len)
    }
    fn columns(&self) -> usize {
        self.len()
    }
    fn add_product(&self, beta: &[f64], rows: Range<usize>, out: &mut [f64]) {
        for (column, b) in self.iter().zip(beta) {
            for (o, x) in out.iter_mut().zip(&column[rows.clone()]) {
                *o += b * x;
            }
        }
    }
    fn add_transpose_product(&self, weights: &[f64], rows: Range<usize>, out: &mut [f64]) {
        for (column, o) in self.iter().zip(out.iter_mut()) {
            *o += dot(column[rows.clone()].iter().copied(), weights);
        }
    }
    fn row(&self, row: usize, x: &mut [f64]) {
        for (v, column) in x.iter_mut().zip(self) {
            *v = column[row];
        }
    }
}

/// A column whose rows take one of a few values: `values[codes[row]]`.
#[derive(Debug, Clone, Copy)]
pub struct BinnedColumn<'a> {
    /// The bin of every row.
    pub codes: &'a [u16],
    /// The value of every bin.
    pub values: &'a [f64],
}

impl Design for [BinnedColumn<'_>] {
    fn rows(&self) -> usize {
        self.first().map_or(0, |c| c.codes.len())
    }
    fn columns(&self) -> usize {
        self.len()
    }
    fn add_product(&self, beta: &[f64], rows: Range<usize>, out: &mut [f64]) {
        for (column, b) in self.iter().zip(beta) {
            let scaled: Vec<f64> = column.values.iter().map(|v| v * b).collect();
            for (o, &code) in out.iter_mut().zip(&column.codes[rows.clone()]) {
                *o += scaled[usize::from(code)];
            }
        }
    }
    fn add_transpose_product(&self, weights: &[f64], rows: Range<usize>, out: &mut [f64]) {
        for (column, o) in self.iter().zip(out.iter_mut()) {
            let values = column.codes[rows.clone()]
                .iter()
                .map(|&code| column.values[usize::from(code)]);
            *o += dot(values, weights);
        }
    }
    fn row(&self, row: usize, x: &mut [f64]) {
        for (v, column) in x.iter_mut().zip(self) {
            *v = column.values[usize::from(column.codes[row])];
        }
    }
}

/// Σ a·b with four running sums, so the additions pipeline instead of
/// each waiting for the last.
fn dot(a: impl Iterator<Item = f64>, b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    for (i, (x, y)) in a.zip(b).enumerate() {
        sums[i % 4] += x * y;
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3])
}

/// Rows the curvature is measured on: the gradient uses every row, so the
/// optimum found is the exact one whatever the sample; the sample only
/// decides how fast the steps get there.
const HESSIAN_SAMPLE: usize = 65_536;

/// `intercept + X·beta` for every row.
pub(crate) fn linear<D: Design + ?Sized>(
    design: &D,
    intercept: f64,
    beta: &[f64],
    n: usize,
) -> Vec<f64> {
    par_rows(n, |rows| {
        let mut out = vec![intercept; rows.len()];
        design.add_product(beta, rows, &mut out);
        out
    })
    .concat()
}

/// The score `Xᵀ(y − p)` at predictors `eta`, over every row, intercept
/// first.
pub(crate) fn score<D: Design + ?Sized>(design: &D, eta: &[f64], target: &[u8]) -> Vec<f64> {
    let p = design.columns() + 1;
    par_rows(eta.len(), |rows| {
        let residual: Vec<f64> = rows
            .clone()
            .map(|i| f64::from(target[i]) - 1.0 / (1.0 + (-eta[i]).exp()))
            .collect();
        let mut part = vec![0.0; p];
        part[0] = residual.iter().sum();
        design.add_transpose_product(&residual, rows, &mut part[1..]);
        part
    })
    .into_iter()
    .fold(vec![0.0; p], |mut sum, part| {
        sum.iter_mut().zip(part).for_each(|(s, v)| *s += v);
        sum
    })
}

/// Fisher information `XᵀWX` (intercept first, row-major, symmetric) at
/// predictors `eta`, from a fixed sample of at most [`HESSIAN_SAMPLE`] rows
/// scaled to all rows.
pub(crate) fn sampled_information<D: Design + ?Sized>(design: &D, eta: &[f64]) -> Vec<f64> {
    let n = eta.len();
    let p = design.columns() + 1;
    let stride = n.div_ceil(HESSIAN_SAMPLE).max(1);
    let scale = n as f64 / n.div_ceil(stride).max(1) as f64;
    let mut matrix = vec![0.0; p * p];
    let mut x = vec![0.0; p];
    for row in (0..n).step_by(stride) {
        x[0] = 1.0;
        design.row(row, &mut x[1..]);
        let prob = 1.0 / (1.0 + (-eta[row]).exp());
        // Floored so that a nearly separated fit keeps a solvable system.
        let weight = (prob * (1.0 - prob)).max(1e-10) * scale;
        for i in 0..p {
            let wx = weight * x[i];
            for j in 0..=i {
                matrix[i * p + j] += wx * x[j];
            }
        }
    }
    for i in 0..p {
        for j in 0..i {
            matrix[j * p + i] = matrix[i * p + j];
        }
    }
    matrix
}

/// Penalised log-likelihood at linear predictors `eta + scale · direction`.
fn objective(
    eta: &[f64],
    direction: &[f64],
    scale: f64,
    target: &[u8],
    beta: &[f64],
    lambda: f64,
) -> f64 {
    let loss: f64 = par_rows(eta.len(), |rows| {
        let mut total = 0.0;
        for i in rows {
            let e = eta[i] + scale * direction[i];
            // log σ(η) = −softplus(−η) and log(1 − σ(η)) = −softplus(η).
            total += if target[i] == 1 {
                softplus(-e)
            } else {
                softplus(e)
            };
        }
        total
    })
    .iter()
    .sum();
    -loss - 0.5 * lambda * beta[1..].iter().map(|b| b * b).sum::<f64>()
}

/// Fits dense `columns` (each a column of values, all of `target`'s length)
/// against a 0/1 target with L2 penalty `lambda` on the coefficients (not
/// the intercept).
pub fn fit_logistic(columns: &[Vec<f64>], target: &[u8], lambda: f64) -> LogisticFit {
    fit_design(columns, target, lambda, None)
}

/// Fits any [`Design`] against a 0/1 target with L2 penalty `lambda` on the
/// coefficients, from `start` (intercept first) when given. Newton steps
/// use the exact gradient and the curvature of a fixed sample of rows;
/// each step is halved until the penalised likelihood rises, so nearly
/// separable data converges instead of running away.
pub fn fit_design<D: Design + ?Sized>(
    design: &D,
    target: &[u8],
    lambda: f64,
    start: Option<&[f64]>,
) -> LogisticFit {
    let p = design.columns() + 1; // intercept first
    // An intercept-only model has no columns to count rows by.
    let n = if design.columns() == 0 {
        target.len()
    } else {
        design.rows().min(target.len())
    };
    let target = &target[..n];
    let mut beta = match start {
        Some(start) if start.len() == p => start.to_vec(),
        _ => {
            let rate = target.iter().map(|t| f64::from(*t)).sum::<f64>() / n.max(1) as f64;
            let rate = rate.clamp(1e-6, 1.0 - 1e-6);
            let mut beta = vec![0.0; p];
            beta[0] = (rate / (1.0 - rate)).ln();
            beta
        }
    };
    let mut eta = linear(design, beta[0], &beta[1..], n);
    let no_direction = vec![0.0; n];
    let mut current = objective(&eta, &no_direction, 0.0, target, &beta, lambda);
    let mut iterations = 0;
    for _ in 0..200 {
        iterations += 1;
        let mut gradient = score(design, &eta, target);
        let mut hessian = sampled_information(design, &eta);
        for i in 1..p {
            hessian[i * p + i] += lambda;
            gradient[i] -= lambda * beta[i];
        }
        let Some(step) = cholesky_solve(&hessian, &gradient, p) else {
            break;
        };
        // η is linear in β: along the step it is η + s·(X·step), so every
        // trial of the line search costs one pass of additions.
        let direction = linear(design, step[0], &step[1..], n);
        let mut scale = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let candidate: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
            let value = objective(&eta, &direction, scale, target, &candidate, lambda);
            if value >= current - 1e-12 * current.abs() {
                accepted = Some((candidate, scale, value));
                break;
            }
            scale *= 0.5;
        }
        let Some((next, scale, value)) = accepted else {
            break;
        };
        let largest = next
            .iter()
            .zip(&beta)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let improvement = value - current;
        beta = next;
        eta.iter_mut()
            .zip(&direction)
            .for_each(|(e, d)| *e += scale * d);
        current = value;
        if largest < 1e-9 || improvement.abs() < 1e-12 * (1.0 + current.abs()) {
            break;
        }
    }
    LogisticFit {
        intercept: beta[0],
        coefficients: beta[1..].to_vec(),
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_known_coefficients() {
        // logit P = -1 + 2 x, on a grid with exact expected proportions.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for step in 0..=40 {
            let value = -2.0 + step as f64 * 0.1;
            let p = 1.0 / (1.0 + (-(-1.0 + 2.0 * value)).exp());
            let bads = (p * 1000.0).round() as usize;
            for i in 0..1000 {
                x.push(value);
                y.push(u8::from(i < bads));
            }
        }
        let fit = fit_logistic(&[x], &y, 0.0);
        assert!((fit.intercept + 1.0).abs() < 0.01, "{fit:?}");
        assert!((fit.coefficients[0] - 2.0).abs() < 0.01, "{fit:?}");
    }

    #[test]
    fn separable_data_converges_to_finite_coefficients() {
        let x: Vec<f64> = (0..1000)
            .map(|i| if i < 500 { -1.0 } else { 1.0 })
            .collect();
        let y: Vec<u8> = (0..1000).map(|i| u8::from(i >= 500)).collect();
        let fit = fit_logistic(&[x], &y, 1.0);
        assert!(
            fit.coefficients[0].is_finite()
                && fit.coefficients[0] > 2.0
                && fit.coefficients[0] < 50.0,
            "{fit:?}"
        );
        assert!(fit.intercept.abs() < 1.0, "{fit:?}");
    }

    /// Above the curvature sample's size the steps use a sampled Hessian;
    /// the answer must still be the exact optimum (zero gradient over every
    /// row), and binned and dense storage of the same values must agree.
    #[test]
    fn sampled_curvature_still_reaches_the_exact_optimum() {
        let n = 3 * HESSIAN_SAMPLE + 17;
        let mut rng = crate::testing::Lcg::new(11);
        let values = vec![vec![-0.8, -0.1, 0.4, 1.2], vec![0.5, 0.0, -0.6, -1.5]];
        let (codes, target) = crate::testing::planted(&mut rng, n, &values, &[1.0, -1.0], -1.0);
        let binned = crate::testing::binned(&codes, &values);
        let dense: Vec<Vec<f64>> = (0..2)
            .map(|j| {
                codes[j]
                    .iter()
                    .map(|&c| values[j][usize::from(c)])
                    .collect()
            })
            .collect();
        let fit = fit_design(binned.as_slice(), &target, 1.0, None);
        let same = fit_logistic(&dense, &target, 1.0);
        for (a, b) in fit.coefficients.iter().zip(&same.coefficients) {
            assert!((a - b).abs() < 1e-7, "{fit:?} {same:?}");
        }
        let mut gradient = [0.0; 3];
        for i in 0..n {
            let x = [1.0, dense[0][i], dense[1][i]];
            let eta = fit.intercept + fit.coefficients[0] * x[1] + fit.coefficients[1] * x[2];
            let residual = f64::from(target[i]) - 1.0 / (1.0 + (-eta).exp());
            for j in 0..3 {
                gradient[j] += x[j] * residual;
            }
        }
        gradient[1] -= fit.coefficients[0];
        gradient[2] -= fit.coefficients[1];
        // Per row the gradient is nil to eight places: the coefficients
        // are within about 1e-8 of the optimum.
        assert!(
            gradient.iter().all(|g| g.abs() < 1e-8 * n as f64),
            "{gradient:?}"
        );
        // Truth: coefficients near −1 and +1 (logit P(bad) falls with the
        // first value and rises with the second's negative).
        assert!((fit.coefficients[0] - 1.0).abs() < 0.1, "{fit:?}");
    }

    #[test]
    fn the_penalty_shrinks_coefficients() {
        let x: Vec<f64> = (0..200).map(|i| (i % 10) as f64).collect();
        let y: Vec<u8> = (0..200).map(|i| u8::from(i % 10 >= 5)).collect();
        let loose = fit_logistic(std::slice::from_ref(&x), &y, 0.01);
        let tight = fit_logistic(&[x], &y, 100.0);
        assert!(tight.coefficients[0].abs() < loose.coefficients[0].abs());
    }
}

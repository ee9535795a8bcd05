//! L2-regularised logistic regression by Newton's method (IRLS).
//!
//! Written here rather than taken from a crate: the problem is small (a few
//! dozen WOE columns), the solver is twenty lines with a Cholesky solve,
//! and the well-kept linear-algebra crates would add more build time than
//! the rest of the workspace.

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
fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
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

/// Penalised log-likelihood of `beta` (intercept first, not penalised).
fn objective(columns: &[Vec<f64>], target: &[u8], beta: &[f64], lambda: f64) -> f64 {
    let mut total = 0.0;
    for (row, &y) in target.iter().enumerate() {
        let eta = beta[0]
            + columns
                .iter()
                .zip(&beta[1..])
                .map(|(c, b)| c[row] * b)
                .sum::<f64>();
        // log σ(η) = −softplus(−η) and log(1 − σ(η)) = −softplus(η).
        total -= if y == 1 {
            softplus(-eta)
        } else {
            softplus(eta)
        };
    }
    total - 0.5 * lambda * beta[1..].iter().map(|b| b * b).sum::<f64>()
}

/// Fits `columns` (each a column of values, all of `target`'s length)
/// against a 0/1 target with L2 penalty `lambda` on the coefficients (not
/// the intercept). Newton steps are halved until the penalised likelihood
/// rises, so nearly separable data converges instead of running away.
pub fn fit_logistic(columns: &[Vec<f64>], target: &[u8], lambda: f64) -> LogisticFit {
    let p = columns.len() + 1; // intercept first
    let n = target.len();
    let mut beta = vec![0.0; p];
    let rate = target.iter().map(|t| f64::from(*t)).sum::<f64>() / n.max(1) as f64;
    let rate = rate.clamp(1e-6, 1.0 - 1e-6);
    beta[0] = (rate / (1.0 - rate)).ln();
    let mut current = objective(columns, target, &beta, lambda);
    let mut iterations = 0;
    let mut x = vec![0.0; p];
    for _ in 0..100 {
        iterations += 1;
        let mut hessian = vec![0.0; p * p];
        let mut gradient = vec![0.0; p];
        for row in 0..n {
            x[0] = 1.0;
            for (j, column) in columns.iter().enumerate() {
                x[j + 1] = column[row];
            }
            let eta: f64 = x.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let prob = 1.0 / (1.0 + (-eta).exp());
            let weight = (prob * (1.0 - prob)).max(1e-10);
            let residual = f64::from(target[row]) - prob;
            for i in 0..p {
                gradient[i] += x[i] * residual;
                for j in 0..=i {
                    hessian[i * p + j] += weight * x[i] * x[j];
                }
            }
        }
        for i in 0..p {
            for j in 0..i {
                hessian[j * p + i] = hessian[i * p + j];
            }
            if i > 0 {
                hessian[i * p + i] += lambda;
                gradient[i] -= lambda * beta[i];
            }
        }
        let Some(step) = cholesky_solve(&hessian, &gradient, p) else {
            break;
        };
        let mut scale = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let candidate: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
            let value = objective(columns, target, &candidate, lambda);
            if value >= current - 1e-12 * current.abs() {
                accepted = Some((candidate, value));
                break;
            }
            scale *= 0.5;
        }
        let Some((next, value)) = accepted else { break };
        let largest = next
            .iter()
            .zip(&beta)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let improvement = value - current;
        beta = next;
        current = value;
        if largest < 1e-9 || improvement.abs() < 1e-10 * (1.0 + current.abs()) {
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

    #[test]
    fn the_penalty_shrinks_coefficients() {
        let x: Vec<f64> = (0..200).map(|i| (i % 10) as f64).collect();
        let y: Vec<u8> = (0..200).map(|i| u8::from(i % 10 >= 5)).collect();
        let loose = fit_logistic(std::slice::from_ref(&x), &y, 0.01);
        let tight = fit_logistic(&[x], &y, 100.0);
        assert!(tight.coefficients[0].abs() < loose.coefficients[0].abs());
    }
}

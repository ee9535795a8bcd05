//! Test data shared by the training tests: a repeatable generator and
//! binned inputs with planted effects.

use crate::logistic::BinnedColumn;

/// A linear congruential generator (Knuth's MMIX constants): tests need the
/// same data on every run, not good randomness.
pub(crate) struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 31 well-mixed bits (the state's top ones).
    pub fn bits(&mut self) -> usize {
        (self.step() >> 33) as usize
    }

    /// Uniform on [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.step() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn step(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
}

/// `n` rows of inputs coded uniformly over their bins, and a target drawn
/// from the logistic model `intercept + Σ effects[j] · values[j][code]`.
pub(crate) fn planted(
    rng: &mut Lcg,
    n: usize,
    values: &[Vec<f64>],
    effects: &[f64],
    intercept: f64,
) -> (Vec<Vec<u16>>, Vec<u8>) {
    let codes: Vec<Vec<u16>> = values
        .iter()
        .map(|bins| (0..n).map(|_| (rng.bits() % bins.len()) as u16).collect())
        .collect();
    let target = (0..n)
        .map(|i| {
            let eta = intercept
                + (0..values.len())
                    .map(|j| effects[j] * values[j][usize::from(codes[j][i])])
                    .sum::<f64>();
            let p = 1.0 / (1.0 + (-eta).exp());
            u8::from(((rng.bits() % 100_000) as f64) < p * 100_000.0)
        })
        .collect();
    (codes, target)
}

/// The binned view of `codes` over `values`.
pub(crate) fn binned<'a>(codes: &'a [Vec<u16>], values: &'a [Vec<f64>]) -> Vec<BinnedColumn<'a>> {
    codes
        .iter()
        .zip(values)
        .map(|(codes, values)| BinnedColumn { codes, values })
        .collect()
}

//! Optimal binning under a monotone event-rate trend.
//!
//! Numeric inputs are first cut into pre-bins (by default where a decision
//! tree would split, each of at least the minimum bin share, as optbinning
//! does; or at quantiles); then the contiguous grouping of pre-bins that
//! maximises information value, subject to every bin holding at least a
//! minimum share of rows and event rates moving in one direction, is found
//! exactly by dynamic programming over (last bin start, last bin end) —
//! O(n³) in the number of pre-bins. optbinning solves the same problem with
//! a MIP solver; for monotone trends the DP is exact. Categorical inputs
//! are ordered by event rate (rare levels pooled first), which makes any
//! contiguous grouping monotone, and binned the same way. Missing values
//! get their own bin, and so do declared special values (codes such as
//! -1 "never", which are not quantities).
//!
//! The minimum bin share guards against *cut points* chosen to fit noise: a
//! continuous input offers hundreds of places to cut, and a small bin at
//! the best of them is mostly luck. A discrete input (a category, a yes/no
//! flag, a code, a count with a handful of values) offers no such choice:
//! its levels are given by the data. So a level keeps a bin of its own
//! when it is not rare (at least the rare share of rows and
//! [`MIN_LEVEL_ROWS`]), even under the minimum bin share: a 2% "public
//! record: yes" must not be pooled away with the 98% "no".

use crate::table::MISSING_CODE;

/// Goods and bads in a bin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinStat {
    /// Rows in the bin.
    pub count: u64,
    /// Bad outcomes among them.
    pub bads: u64,
}

impl BinStat {
    /// Goods in the bin.
    pub fn goods(&self) -> u64 {
        self.count - self.bads
    }

    /// Share of bads.
    pub fn event_rate(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.bads as f64 / self.count as f64
        }
    }

    fn add(self, other: BinStat) -> BinStat {
        BinStat {
            count: self.count + other.count,
            bads: self.bads + other.bads,
        }
    }
}

/// Weight of evidence of a bin: ln(share of goods / share of bads), with
/// half a count added to empty sides so a pure bin stays finite. Positive is
/// safer than average.
pub fn woe(bin: BinStat, total: BinStat) -> f64 {
    if bin.count == 0 {
        return 0.0;
    }
    let goods = (bin.goods() as f64).max(0.5) / total.goods().max(1) as f64;
    let bads = (bin.bads as f64).max(0.5) / total.bads.max(1) as f64;
    (goods / bads).ln()
}

/// Information value of a bin: (share of goods − share of bads) × WOE.
pub fn information_value(bin: BinStat, total: BinStat) -> f64 {
    if bin.count == 0 {
        return 0.0;
    }
    let goods = bin.goods() as f64 / total.goods().max(1) as f64;
    let bads = bin.bads as f64 / total.bads.max(1) as f64;
    (goods - bads) * woe(bin, total)
}

/// Direction of the event rate across bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Whichever monotone direction gives more information value.
    Auto,
    /// Event rate rises with the value.
    Ascending,
    /// Event rate falls as the value rises.
    Descending,
    /// Event rate rises, then falls (riskiest in the middle). Only on request.
    Peak,
    /// Event rate falls, then rises (riskiest at both ends). Only on request.
    Valley,
    /// The best of ascending, descending, peak and valley, by information
    /// value. Only on request.
    AutoWithPeaks,
}

/// Where a continuous input's pre-bins are cut, before the optimal
/// grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prebinning {
    /// Where a decision tree would split (each side of the minimum share),
    /// as optbinning does.
    Tree,
    /// At equal-count quantiles.
    Quantile,
}

/// How to bin.
#[derive(Debug, Clone, Copy)]
pub struct BinningOptions {
    /// Pre-bins of a continuous input (at most); inputs with no more
    /// distinct values than this are discrete, a pre-bin per value.
    pub max_prebins: usize,
    /// Where pre-bins are cut.
    pub prebinning: Prebinning,
    /// Smallest share of the (non-missing) rows a bin cut from a continuous
    /// range may hold; levels of discrete inputs need only be not rare.
    pub min_bin_share: f64,
    /// Event-rate direction.
    pub trend: Trend,
    /// Levels of a discrete input holding less than this share (or fewer
    /// than [`MIN_LEVEL_ROWS`]) are rare: pooled before binning.
    pub rare_share: f64,
}

/// Fewest rows a level of a discrete input needs to stand on its own (below
/// it, a level is rare and pooled): an event rate from fewer rows is too
/// uncertain to score by (30 is the textbook rule of thumb for a sample to
/// estimate from).
pub const MIN_LEVEL_ROWS: u64 = 30;

/// Fewest events (and as many non-events) a bin of a categorical input
/// holds. Levels are ordered by their own event rates before they are
/// grouped, so a group of levels with a handful of events between them
/// is placed by noise: at a 5% event rate a 30-row level holds one or two
/// events. Five is Cochran's rule for a cell of a contingency table to be
/// judged at all; it is a statistical floor, not a value fitted to any
/// data.
pub const MIN_CATEGORY_BIN_EVENTS: u64 = 5;

impl BinningOptions {
    /// Fewest rows of a bin cut from a continuous range, of `rows`.
    fn min_bin_rows(&self, rows: usize) -> u64 {
        ((rows as f64 * self.min_bin_share).ceil() as u64).max(1)
    }

    /// Fewest rows of a level of a discrete input, of `rows`: not rare by
    /// share nor by count, and never more than a cut bin needs.
    fn min_level_rows(&self, rows: usize) -> u64 {
        ((rows as f64 * self.rare_share).ceil() as u64)
            .max(MIN_LEVEL_ROWS)
            .min(self.min_bin_rows(rows))
    }
}

impl Default for BinningOptions {
    fn default() -> Self {
        Self {
            max_prebins: 20,
            prebinning: Prebinning::Tree,
            min_bin_share: 0.05,
            trend: Trend::Auto,
            rare_share: 0.01,
        }
    }
}

/// Declared special values of a numeric input that share a bin: codes that
/// are not quantities (−1 "never", 999 "not applicable"), kept out of the
/// ranges. A special value holding enough rows to judge (as a level of a
/// discrete input must) has a bin of its own; the rest, and values never
/// seen in training, share one.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecialBin {
    /// The values.
    pub values: Vec<f64>,
    /// Goods and bads of their rows.
    pub stat: BinStat,
}

/// The binning of one input.
#[derive(Debug, Clone, PartialEq)]
pub enum Binning {
    /// Bins `(-inf, cuts[0])`, `[cuts[0], cuts[1])`, …, `[cuts[k-1], inf)`.
    Numeric {
        /// Ascending upper bounds (exclusive) of all bins but the last.
        cuts: Vec<f64>,
        /// Goods and bads of each bin.
        stats: Vec<BinStat>,
        /// Goods and bads of the missing bin.
        missing: BinStat,
        /// The trend chosen.
        trend: Trend,
        /// Bins of declared special values, outside the ranges.
        specials: Vec<SpecialBin>,
    },
    /// Groups of categories.
    Categorical {
        /// The categories of each bin.
        groups: Vec<Vec<String>>,
        /// Goods and bads of each bin.
        stats: Vec<BinStat>,
        /// Goods and bads of the missing bin.
        missing: BinStat,
    },
}

impl Binning {
    /// The bins' stats (without the missing bin).
    pub fn stats(&self) -> &[BinStat] {
        match self {
            Binning::Numeric { stats, .. } | Binning::Categorical { stats, .. } => stats,
        }
    }

    /// The missing bin's stats.
    pub fn missing(&self) -> BinStat {
        match self {
            Binning::Numeric { missing, .. } | Binning::Categorical { missing, .. } => *missing,
        }
    }

    /// The bins of special values (none for categories).
    pub fn specials(&self) -> &[SpecialBin] {
        match self {
            Binning::Numeric { specials, .. } => specials,
            Binning::Categorical { .. } => &[],
        }
    }

    /// Everything in it.
    pub fn total(&self) -> BinStat {
        self.stats()
            .iter()
            .chain(self.specials().iter().map(|s| &s.stat))
            .fold(self.missing(), |a, b| a.add(*b))
    }

    /// Information value of the input (all bins, missing included).
    pub fn iv(&self) -> f64 {
        let total = self.total();
        self.stats()
            .iter()
            .chain(self.specials().iter().map(|s| &s.stat))
            .map(|b| information_value(*b, total))
            .sum::<f64>()
            + information_value(self.missing(), total)
    }
}

/// The best grouping of `prebins` into contiguous bins under a monotone
/// trend: returns the start index of each group and the total information
/// value. `None` when no grouping meets the minimum size.
pub fn optimal_groups(
    prebins: &[BinStat],
    total: BinStat,
    min_count: u64,
    ascending: bool,
) -> Option<(Vec<usize>, f64)> {
    optimal_shaped_groups(
        prebins,
        total,
        min_count,
        if ascending {
            Trend::Ascending
        } else {
            Trend::Descending
        },
    )
}

/// The best grouping under `shape` (ascending, descending, peak or valley),
/// by dynamic programming over (phase, last group start, last group end):
/// a peak rises in phase 0 and falls in phase 1, a valley the reverse.
pub fn optimal_shaped_groups(
    prebins: &[BinStat],
    total: BinStat,
    min_count: u64,
    shape: Trend,
) -> Option<(Vec<usize>, f64)> {
    optimal_groups_with_events(prebins, total, min_count, 0, shape)
}

/// [`optimal_shaped_groups`] where every group also holds at least
/// `min_events` events and as many non-events.
fn optimal_groups_with_events(
    prebins: &[BinStat],
    total: BinStat,
    min_count: u64,
    min_events: u64,
    shape: Trend,
) -> Option<(Vec<usize>, f64)> {
    let n = prebins.len();
    if n == 0 {
        return None;
    }
    let mut prefix = vec![BinStat::default(); n + 1];
    for i in 0..n {
        prefix[i + 1] = prefix[i].add(prebins[i]);
    }
    let group = |j: usize, i: usize| BinStat {
        count: prefix[i].count - prefix[j].count,
        bads: prefix[i].bads - prefix[j].bads,
    };
    // Compare rates without division: b1/c1 <= b2/c2 <=> b1*c2 <= b2*c1.
    let rising = |before: BinStat, after: BinStat| {
        before.bads as u128 * after.count as u128 <= after.bads as u128 * before.count as u128
    };
    let falling = |before: BinStat, after: BinStat| {
        before.bads as u128 * after.count as u128 >= after.bads as u128 * before.count as u128
    };
    // The phase a step from `before` to `after` lands in, given the phase of
    // `before`, or None if the shape forbids it.
    let step = |phase: usize, before: BinStat, after: BinStat| -> Option<usize> {
        match shape {
            Trend::Ascending | Trend::Auto | Trend::AutoWithPeaks => {
                rising(before, after).then_some(0)
            }
            Trend::Descending => falling(before, after).then_some(0),
            Trend::Peak => {
                if phase == 0 && rising(before, after) {
                    Some(0)
                } else {
                    falling(before, after).then_some(1)
                }
            }
            Trend::Valley => {
                if phase == 0 && falling(before, after) {
                    Some(0)
                } else {
                    rising(before, after).then_some(1)
                }
            }
        }
    };
    // best[p][j][i]: best IV of [0, i) whose last group is [j, i), in phase p.
    let mut best = vec![vec![vec![f64::NEG_INFINITY; n + 1]; n + 1]; 2];
    let mut from = vec![vec![vec![(usize::MAX, 0usize); n + 1]; n + 1]; 2];
    for i in 1..=n {
        for j in 0..i {
            let last = group(j, i);
            if last.count < min_count || last.bads < min_events || last.goods() < min_events {
                continue;
            }
            let value = information_value(last, total);
            if j == 0 {
                best[0][0][i] = value;
                continue;
            }
            for k in 0..j {
                let before = group(k, j);
                for phase in 0..2 {
                    if best[phase][k][j] == f64::NEG_INFINITY {
                        continue;
                    }
                    let Some(next) = step(phase, before, last) else {
                        continue;
                    };
                    let candidate = best[phase][k][j] + value;
                    if candidate > best[next][j][i] + 1e-15 {
                        best[next][j][i] = candidate;
                        from[next][j][i] = (k, phase);
                    }
                }
            }
        }
    }
    let (mut j, mut phase, mut value) = (usize::MAX, 0, f64::NEG_INFINITY);
    for (p, table) in best.iter().enumerate() {
        for (start, row) in table.iter().enumerate().take(n) {
            if row[n] > value + 1e-15 {
                value = row[n];
                j = start;
                phase = p;
            }
        }
    }
    if j == usize::MAX {
        return None;
    }
    let mut starts = vec![j];
    let mut i = n;
    while j > 0 {
        let (k, previous) = from[phase][j][i];
        starts.push(k);
        i = j;
        j = k;
        phase = previous;
    }
    starts.reverse();
    Some((starts, value))
}

fn best_of_trends(
    prebins: &[BinStat],
    total: BinStat,
    min_count: u64,
    min_events: u64,
    trend: Trend,
) -> (Vec<usize>, Trend) {
    let candidates: &[Trend] = match trend {
        Trend::Auto => &[Trend::Ascending, Trend::Descending],
        Trend::AutoWithPeaks => &[
            Trend::Ascending,
            Trend::Descending,
            Trend::Peak,
            Trend::Valley,
        ],
        Trend::Ascending => &[Trend::Ascending],
        Trend::Descending => &[Trend::Descending],
        Trend::Peak => &[Trend::Peak],
        Trend::Valley => &[Trend::Valley],
    };
    let mut chosen: Option<(Vec<usize>, f64, Trend)> = None;
    for &trend in candidates {
        if let Some((starts, value)) =
            optimal_groups_with_events(prebins, total, min_count, min_events, trend)
            && chosen
                .as_ref()
                .is_none_or(|(_, best, _)| value > *best + 1e-12)
        {
            chosen = Some((starts, value, trend));
        }
    }
    // With too few rows for even one bin of the minimum size: one bin.
    chosen.map_or((vec![0], trend), |(starts, _, trend)| (starts, trend))
}

/// Pre-bin cuts chosen by the target, as a decision tree would: repeatedly
/// split the pre-bin whose best split lowers Gini impurity most, each side
/// keeping at least `min_count` rows, until `max_prebins` pre-bins or no
/// split helps. Candidate cuts are the distinct values; `present` is sorted.
fn supervised_prebins(present: &[(f64, u8)], max_prebins: usize, min_count: usize) -> Vec<f64> {
    // Prefix counts of rows and bads at each distinct value boundary.
    let mut values: Vec<f64> = Vec::new();
    let mut rows = vec![0usize];
    let mut bads = vec![0usize];
    for (v, t) in present {
        if values.last() != Some(v) {
            values.push(*v);
            rows.push(*rows.last().unwrap_or(&0));
            bads.push(*bads.last().unwrap_or(&0));
        }
        if let (Some(r), Some(b)) = (rows.last_mut(), bads.last_mut()) {
            *r += 1;
            *b += usize::from(*t);
        }
    }
    // impurity × size of the rows in distinct-value range [a, b)
    let cost = |a: usize, b: usize| {
        let n = (rows[b] - rows[a]) as f64;
        if n == 0.0 {
            return 0.0;
        }
        let p = (bads[b] - bads[a]) as f64 / n;
        n * 2.0 * p * (1.0 - p)
    };
    let best_split = |a: usize, b: usize| -> Option<(f64, usize)> {
        let whole = cost(a, b);
        let mut best: Option<(f64, usize)> = None;
        for k in a + 1..b {
            if rows[k] - rows[a] < min_count || rows[b] - rows[k] < min_count {
                continue;
            }
            let gain = whole - cost(a, k) - cost(k, b);
            if gain > 1e-12 && best.is_none_or(|(g, _)| gain > g) {
                best = Some((gain, k));
            }
        }
        best
    };
    let mut leaves: Vec<(usize, usize)> = vec![(0, values.len())];
    while leaves.len() < max_prebins.max(1) {
        let candidate = leaves
            .iter()
            .enumerate()
            .filter_map(|(i, &(a, b))| best_split(a, b).map(|(gain, k)| (gain, i, k)))
            .max_by(|x, y| x.0.total_cmp(&y.0));
        let Some((_, leaf, k)) = candidate else { break };
        let (a, b) = leaves[leaf];
        leaves[leaf] = (a, k);
        leaves.insert(leaf + 1, (k, b));
    }
    leaves.iter().skip(1).map(|&(a, _)| values[a]).collect()
}

/// Pre-bin cuts at the quantiles: the value found `k/max_prebins` of the
/// way through the sorted rows, for each k. Ties keep a value in one
/// pre-bin: where one spans a quantile, the cut moves just above it.
/// `present` is sorted.
fn quantile_prebins(present: &[(f64, u8)], max_prebins: usize) -> Vec<f64> {
    let n = present.len();
    let mut cuts: Vec<f64> = Vec::new();
    // Row index where the last pre-bin starts.
    let mut last = 0;
    for k in 1..max_prebins {
        let mut at = (k * n).div_ceil(max_prebins);
        if at <= last || at >= n {
            continue;
        }
        let value = present[at].0;
        if present[at - 1].0 == value {
            // A tie spans the quantile: cut just above it instead.
            at = present.partition_point(|(v, _)| *v <= value);
            if at >= n {
                break;
            }
        }
        cuts.push(present[at].0);
        last = at;
    }
    cuts
}

/// Bins a numeric input against a 0/1 target.
pub fn bin_numeric(values: &[f64], target: &[u8], options: &BinningOptions) -> Binning {
    bin_numeric_with_specials(values, target, options, &[])
}

/// Bins a numeric input whose `special` values are codes, not quantities:
/// their rows stay out of the ranges and score by bins of their own.
pub fn bin_numeric_with_specials(
    values: &[f64],
    target: &[u8],
    options: &BinningOptions,
    special: &[f64],
) -> Binning {
    let mut declared: Vec<(f64, BinStat)> = Vec::new();
    for value in special {
        if !declared.iter().any(|(v, _)| v == value) {
            declared.push((*value, BinStat::default()));
        }
    }
    let mut present: Vec<(f64, u8)> = Vec::with_capacity(values.len());
    for (v, t) in values.iter().zip(target) {
        if v.is_nan() {
            continue;
        }
        match declared.iter_mut().find(|(value, _)| value == v) {
            Some((_, stat)) => {
                stat.count += 1;
                stat.bads += u64::from(*t);
            }
            None => present.push((*v, *t)),
        }
    }
    let specials = special_bins(&declared, present.len(), options);
    // Rows with equal values are counted together below, so their order
    // does not matter and the faster unstable sort is exact.
    present.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut missing = BinStat::default();
    for (v, t) in values.iter().zip(target) {
        if v.is_nan() {
            missing.count += 1;
            missing.bads += u64::from(*t);
        }
    }
    // Pre-bin cuts. With few distinct values every value is its own
    // pre-bin (a rare but telling value, such as one charge-off among
    // zeros, must not vanish into a quantile); otherwise cut as
    // `options.prebinning` says.
    let n = present.len();
    let mut distinct: Vec<f64> = Vec::new();
    for (v, _) in &present {
        if distinct.last() != Some(v) {
            distinct.push(*v);
            if distinct.len() > options.max_prebins {
                break;
            }
        }
    }
    let discrete = distinct.len() <= options.max_prebins;
    let cuts: Vec<f64> = if discrete {
        distinct.iter().skip(1).copied().collect()
    } else {
        match options.prebinning {
            Prebinning::Tree => supervised_prebins(
                &present,
                options.max_prebins,
                options.min_bin_rows(n) as usize,
            ),
            Prebinning::Quantile => quantile_prebins(&present, options.max_prebins),
        }
    };
    let mut prebins = vec![BinStat::default(); cuts.len() + 1];
    for (v, t) in &present {
        let bin = cuts.partition_point(|c| *c <= *v);
        prebins[bin].count += 1;
        prebins[bin].bads += u64::from(*t);
    }
    let total = prebins
        .iter()
        .chain(specials.iter().map(|s| &s.stat))
        .fold(missing, |a, b| a.add(*b));
    let min_count = if discrete {
        options.min_level_rows(n)
    } else {
        options.min_bin_rows(n)
    };
    let (starts, trend) = best_of_trends(&prebins, total, min_count, 0, options.trend);
    let mut stats = Vec::with_capacity(starts.len());
    for (g, &start) in starts.iter().enumerate() {
        let end = starts.get(g + 1).copied().unwrap_or(prebins.len());
        stats.push(
            prebins[start..end]
                .iter()
                .fold(BinStat::default(), |a, b| a.add(*b)),
        );
    }
    let group_cuts = starts.iter().skip(1).map(|&s| cuts[s - 1]).collect();
    Binning::Numeric {
        cuts: group_cuts,
        stats,
        missing,
        trend,
        specials,
    }
}

/// Special values with enough rows to judge get a bin each (in the order
/// declared); the others share one, so every declared value has a bin.
fn special_bins(
    declared: &[(f64, BinStat)],
    ranged_rows: usize,
    options: &BinningOptions,
) -> Vec<SpecialBin> {
    let rows = ranged_rows
        + declared
            .iter()
            .map(|(_, s)| s.count as usize)
            .sum::<usize>();
    let enough = options.min_level_rows(rows);
    let mut bins = Vec::new();
    let mut pooled = SpecialBin {
        values: Vec::new(),
        stat: BinStat::default(),
    };
    for (value, stat) in declared {
        if stat.count >= enough {
            bins.push(SpecialBin {
                values: vec![*value],
                stat: *stat,
            });
        } else {
            pooled.values.push(*value);
            pooled.stat = pooled.stat.add(*stat);
        }
    }
    if !pooled.values.is_empty() {
        bins.push(pooled);
    }
    bins
}

/// Bins a categorical input (codes into `levels`) against a 0/1 target.
pub fn bin_categorical(
    codes: &[u32],
    levels: &[String],
    target: &[u8],
    options: &BinningOptions,
) -> Binning {
    let mut per_level = vec![BinStat::default(); levels.len()];
    let mut missing = BinStat::default();
    for (code, t) in codes.iter().zip(target) {
        let slot = if *code == MISSING_CODE {
            &mut missing
        } else {
            &mut per_level[*code as usize]
        };
        slot.count += 1;
        slot.bads += u64::from(*t);
    }
    let present: u64 = per_level.iter().map(|s| s.count).sum();
    let rare_limit = options.min_level_rows(present as usize);
    // Pool rare levels into one pseudo-level, then order by event rate.
    let mut units: Vec<(Vec<String>, BinStat)> = Vec::new();
    let mut rare: (Vec<String>, BinStat) = (Vec::new(), BinStat::default());
    for (level, stat) in levels.iter().zip(&per_level) {
        if stat.count == 0 {
            continue;
        }
        if stat.count < rare_limit {
            rare.0.push(level.clone());
            rare.1 = rare.1.add(*stat);
        } else {
            units.push((vec![level.clone()], *stat));
        }
    }
    if !rare.0.is_empty() {
        units.push(rare);
    }
    units.sort_by(|a, b| {
        let (l, r) = (
            a.1.bads as u128 * b.1.count as u128,
            b.1.bads as u128 * a.1.count as u128,
        );
        l.cmp(&r).then_with(|| a.0.cmp(&b.0))
    });
    let prebins: Vec<BinStat> = units.iter().map(|u| u.1).collect();
    let total = prebins.iter().fold(missing, |a, b| a.add(*b));
    let (starts, _) = best_of_trends(
        &prebins,
        total,
        rare_limit,
        MIN_CATEGORY_BIN_EVENTS,
        Trend::Ascending,
    );
    let mut groups = Vec::with_capacity(starts.len());
    let mut stats = Vec::with_capacity(starts.len());
    for (g, &start) in starts.iter().enumerate() {
        let end = starts.get(g + 1).copied().unwrap_or(units.len());
        let mut names: Vec<String> = units[start..end]
            .iter()
            .flat_map(|u| u.0.iter().cloned())
            .collect();
        names.sort();
        groups.push(names);
        stats.push(
            prebins[start..end]
                .iter()
                .fold(BinStat::default(), |a, b| a.add(*b)),
        );
    }
    Binning::Categorical {
        groups,
        stats,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stat(count: u64, bads: u64) -> BinStat {
        BinStat { count, bads }
    }

    #[test]
    fn woe_and_iv_match_hand_computed_values() {
        // 100 goods, 50 bads in total; a bin with 40 goods and 10 bads.
        let total = stat(150, 50);
        let bin = stat(50, 10);
        let expected_woe = ((40.0_f64 / 100.0) / (10.0 / 50.0)).ln(); // ln 2
        assert!((woe(bin, total) - expected_woe).abs() < 1e-12);
        assert!((woe(bin, total) - std::f64::consts::LN_2).abs() < 1e-12);
        let expected_iv = (0.4 - 0.2) * std::f64::consts::LN_2;
        assert!((information_value(bin, total) - expected_iv).abs() < 1e-12);
        // An empty side is smoothed by half a count, not infinite.
        assert!(woe(stat(10, 0), total).is_finite());
    }

    fn brute_force(
        prebins: &[BinStat],
        total: BinStat,
        min_count: u64,
        ascending: bool,
    ) -> Option<f64> {
        brute_force_shape(
            prebins,
            total,
            min_count,
            if ascending {
                Trend::Ascending
            } else {
                Trend::Descending
            },
        )
    }

    /// True when the groups' rates follow `shape` (equal neighbours allowed).
    fn follows(groups: &[BinStat], shape: Trend) -> bool {
        let up = |a: &BinStat, b: &BinStat| {
            a.bads as u128 * b.count as u128 <= b.bads as u128 * a.count as u128
        };
        let down = |a: &BinStat, b: &BinStat| {
            a.bads as u128 * b.count as u128 >= b.bads as u128 * a.count as u128
        };
        let pairs: Vec<(&BinStat, &BinStat)> = groups.iter().zip(groups.iter().skip(1)).collect();
        let turn = |first: &dyn Fn(&BinStat, &BinStat) -> bool,
                    second: &dyn Fn(&BinStat, &BinStat) -> bool| {
            (0..=pairs.len()).any(|t| {
                pairs[..t].iter().all(|(a, b)| first(a, b))
                    && pairs[t..].iter().all(|(a, b)| second(a, b))
            })
        };
        match shape {
            Trend::Ascending => pairs.iter().all(|(a, b)| up(a, b)),
            Trend::Descending => pairs.iter().all(|(a, b)| down(a, b)),
            Trend::Peak => turn(&up, &down),
            Trend::Valley => turn(&down, &up),
            _ => false,
        }
    }

    fn brute_force_shape(
        prebins: &[BinStat],
        total: BinStat,
        min_count: u64,
        shape: Trend,
    ) -> Option<f64> {
        let n = prebins.len();
        let mut best: Option<f64> = None;
        for mask in 0u32..(1 << (n - 1)) {
            let mut starts = vec![0];
            starts.extend((1..n).filter(|i| mask & (1 << (i - 1)) != 0));
            let groups: Vec<BinStat> = starts
                .iter()
                .enumerate()
                .map(|(g, &s)| {
                    let e = starts.get(g + 1).copied().unwrap_or(n);
                    prebins[s..e]
                        .iter()
                        .fold(BinStat::default(), |a, b| a.add(*b))
                })
                .collect();
            if groups.iter().any(|g| g.count < min_count) || !follows(&groups, shape) {
                continue;
            }
            let iv: f64 = groups.iter().map(|g| information_value(*g, total)).sum();
            if best.is_none_or(|b| iv > b) {
                best = Some(iv);
            }
        }
        best
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// The dynamic programme finds exactly the best monotone grouping
        /// that brute force over every grouping finds.
        #[test]
        fn binning_is_optimal(raw in proptest::collection::vec((1u64..60, 0u64..60), 1..10), min_count in 1u64..40, ascending in any::<bool>()) {
            let prebins: Vec<BinStat> = raw.iter().map(|(c, b)| stat(*c, (*b).min(*c))).collect();
            let total = prebins.iter().fold(BinStat::default(), |a, b| a.add(*b));
            prop_assume!(total.bads > 0 && total.goods() > 0);
            let dp = optimal_groups(&prebins, total, min_count, ascending).map(|(_, v)| v);
            let brute = brute_force(&prebins, total, min_count, ascending);
            match (dp, brute) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "dp {} brute {}", a, b),
                (None, None) => {}
                other => prop_assert!(false, "dp and brute force disagree: {:?}", other),
            }
        }

        /// Peak and valley shapes are found optimally too.
        #[test]
        fn shaped_binning_is_optimal(raw in proptest::collection::vec((1u64..60, 0u64..60), 1..9), min_count in 1u64..40, peak in any::<bool>()) {
            let prebins: Vec<BinStat> = raw.iter().map(|(c, b)| stat(*c, (*b).min(*c))).collect();
            let total = prebins.iter().fold(BinStat::default(), |a, b| a.add(*b));
            prop_assume!(total.bads > 0 && total.goods() > 0);
            let shape = if peak { Trend::Peak } else { Trend::Valley };
            let dp = optimal_shaped_groups(&prebins, total, min_count, shape);
            let brute = brute_force_shape(&prebins, total, min_count, shape);
            match (dp.as_ref().map(|(_, v)| *v), brute) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "dp {} brute {}", a, b),
                (None, None) => {}
                other => prop_assert!(false, "dp and brute force disagree: {:?}", other),
            }
            if let Some((starts, _)) = dp {
                let groups: Vec<BinStat> = starts.iter().enumerate().map(|(g, &s)| {
                    let e = starts.get(g + 1).copied().unwrap_or(prebins.len());
                    prebins[s..e].iter().fold(BinStat::default(), |a, b| a.add(*b))
                }).collect();
                prop_assert!(follows(&groups, shape), "{:?}", groups);
            }
        }

        /// Levels of a discrete input (few distinct values) are kept apart
        /// down to the rare limit, never below it, and stay monotone.
        #[test]
        fn discrete_levels_are_monotone_and_not_rare(levels in proptest::collection::vec((1usize..400, 0u32..=100), 2..8), ascending in any::<bool>()) {
            let mut values = Vec::new();
            let mut target = Vec::new();
            for (level, (rows, bad_percent)) in levels.iter().enumerate() {
                for i in 0..*rows {
                    values.push(level as f64);
                    target.push(u8::from(i * 100 < rows * *bad_percent as usize));
                }
            }
            prop_assume!(target.contains(&1) && target.contains(&0));
            let options = BinningOptions {
                trend: if ascending { Trend::Ascending } else { Trend::Descending },
                ..BinningOptions::default()
            };
            let binning = bin_numeric(&values, &target, &options);
            let min = options.min_level_rows(values.len());
            prop_assert!(binning.stats().iter().all(|s| s.count >= min) || binning.stats().len() == 1, "{:?}", binning);
            let rates: Vec<f64> = binning.stats().iter().map(BinStat::event_rate).collect();
            prop_assert!(rates.windows(2).all(|w| if ascending { w[0] <= w[1] + 1e-12 } else { w[0] + 1e-12 >= w[1] }), "{:?}", rates);
        }

        /// A many-level categorical input at a low event rate is merged
        /// until every bin holds the minimum of events and of non-events
        /// (or is the only bin).
        #[test]
        fn categorical_bins_never_hold_fewer_than_the_minimum_events(levels in proptest::collection::vec((30usize..300, 0u32..=12), 2..50)) {
            let names: Vec<String> = (0..levels.len()).map(|l| format!("level-{l}")).collect();
            let mut codes = Vec::new();
            let mut target = Vec::new();
            for (level, (rows, bad_percent)) in levels.iter().enumerate() {
                for i in 0..*rows {
                    codes.push(level as u32);
                    target.push(u8::from(i * 100 < rows * *bad_percent as usize));
                }
            }
            let binning = bin_categorical(&codes, &names, &target, &BinningOptions::default());
            let stats = binning.stats();
            prop_assert!(
                stats.len() == 1
                    || stats.iter().all(|s| s.bads >= MIN_CATEGORY_BIN_EVENTS && s.goods() >= MIN_CATEGORY_BIN_EVENTS),
                "{:?}",
                stats
            );
            // Every level is in exactly one bin.
            if let Binning::Categorical { groups, .. } = &binning {
                let placed: usize = groups.iter().map(Vec::len).sum();
                let present = levels.len();
                prop_assert!(placed == present, "{placed} of {present} levels placed");
            }
        }

        /// Fitted numeric bins are monotone in event rate and large enough.
        #[test]
        fn fitted_bins_are_monotone_and_large_enough(values in proptest::collection::vec(0.0f64..100.0, 50..400), seed in any::<u64>()) {
            let target: Vec<u8> = values.iter().enumerate().map(|(i, v)| {
                let noise = (seed.wrapping_mul(i as u64 + 1) >> 33) % 100;
                u8::from((*v as u64 + noise) > 120)
            }).collect();
            prop_assume!(target.contains(&1) && target.contains(&0));
            let binning = bin_numeric(&values, &target, &BinningOptions::default());
            let Binning::Numeric { stats, trend, cuts, .. } = &binning else { unreachable!() };
            prop_assert_eq!(cuts.len() + 1, stats.len());
            prop_assert!(cuts.windows(2).all(|w| w[0] < w[1]));
            let min = (values.len() as f64 * 0.05).ceil() as u64;
            prop_assert!(stats.iter().all(|s| s.count >= min) || stats.len() == 1);
            let rates: Vec<f64> = stats.iter().map(BinStat::event_rate).collect();
            let monotone = match trend {
                Trend::Ascending => rates.windows(2).all(|w| w[0] <= w[1] + 1e-12),
                Trend::Descending => rates.windows(2).all(|w| w[0] + 1e-12 >= w[1]),
                _ => false, // the default never fits other shapes
            };
            prop_assert!(monotone, "{:?} {:?}", trend, rates);
            prop_assert_eq!(binning.total().count, values.len() as u64);
        }
    }

    #[test]
    fn categories_are_ordered_by_event_rate_and_rare_ones_pooled() {
        let levels: Vec<String> = ["a", "b", "c", "rare1", "rare2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut codes = Vec::new();
        let mut target = Vec::new();
        for (code, count, bads) in [
            (0u32, 400, 40),
            (1, 400, 200),
            (2, 400, 100),
            (3, 2, 1),
            (4, 2, 2),
        ] {
            for i in 0..count {
                codes.push(code);
                target.push(u8::from(i < bads));
            }
        }
        codes.push(MISSING_CODE);
        target.push(1);
        let binning = bin_categorical(&codes, &levels, &target, &BinningOptions::default());
        let Binning::Categorical {
            groups,
            stats,
            missing,
        } = &binning
        else {
            unreachable!()
        };
        assert_eq!(missing.count, 1);
        let rates: Vec<f64> = stats.iter().map(BinStat::event_rate).collect();
        assert!(rates.windows(2).all(|w| w[0] <= w[1]), "{rates:?}");
        assert!(
            groups
                .iter()
                .any(|g| g.contains(&"rare1".to_string()) && g.contains(&"rare2".to_string()))
        );
        assert_eq!(groups[0], vec!["a".to_string()]);
    }

    /// Rows of a flag: `flagged` rows with value 1 (`flagged_bads` bad),
    /// `rest` with 0 (`rest_bads` bad).
    fn flag_rows(
        flagged: usize,
        flagged_bads: usize,
        rest: usize,
        rest_bads: usize,
    ) -> (Vec<f64>, Vec<u8>) {
        let mut values = Vec::new();
        let mut target = Vec::new();
        for i in 0..flagged {
            values.push(1.0);
            target.push(u8::from(i < flagged_bads));
        }
        for i in 0..rest {
            values.push(0.0);
            target.push(u8::from(i < rest_bads));
        }
        (values, target)
    }

    #[test]
    fn a_telling_flag_under_the_minimum_bin_share_keeps_its_own_bin() {
        // "Public record: yes" on 2% of 5,000 rows, bad 60% of the time
        // against 10%: pooled with "no" it would carry no information.
        let (values, target) = flag_rows(100, 60, 4_900, 490);
        let binning = bin_numeric(&values, &target, &BinningOptions::default());
        let Binning::Numeric { stats, cuts, .. } = &binning else {
            unreachable!()
        };
        assert_eq!(cuts, &vec![1.0]);
        assert_eq!(stats[1], stat(100, 60));
        assert!(binning.iv() > 0.1, "{}", binning.iv());
        // The same flag as text is a category, and binned alike.
        let levels = vec!["no".to_string(), "yes".to_string()];
        let codes: Vec<u32> = values.iter().map(|v| *v as u32).collect();
        let Binning::Categorical { groups, .. } =
            bin_categorical(&codes, &levels, &target, &BinningOptions::default())
        else {
            unreachable!()
        };
        assert_eq!(
            groups,
            vec![vec!["no".to_string()], vec!["yes".to_string()]]
        );
    }

    #[test]
    fn a_level_too_rare_to_judge_is_pooled_however_telling() {
        // 29 rows (under MIN_LEVEL_ROWS, though over 1% of 2,000) all bad.
        let (values, target) = flag_rows(29, 29, 1_971, 197);
        let binning = bin_numeric(&values, &target, &BinningOptions::default());
        assert_eq!(binning.stats().len(), 1, "{binning:?}");
        // Under 1% of the rows, however many: rare too.
        let (values, target) = flag_rows(90, 80, 9_910, 991);
        assert_eq!(
            bin_numeric(&values, &target, &BinningOptions::default())
                .stats()
                .len(),
            1
        );
        // At 30 rows and 1% it stands on its own.
        let (values, target) = flag_rows(30, 29, 1_970, 197);
        assert_eq!(
            bin_numeric(&values, &target, &BinningOptions::default())
                .stats()
                .len(),
            2
        );
    }

    #[test]
    fn a_level_never_needs_more_rows_than_a_cut_bin() {
        // 400 rows: 5% is 20 rows, under MIN_LEVEL_ROWS; a 20-row level
        // is judged like any bin of the minimum share.
        let options = BinningOptions::default();
        assert_eq!(options.min_bin_rows(400), 20);
        assert_eq!(options.min_level_rows(400), 20);
        assert_eq!(options.min_level_rows(10_000), 100);
        assert_eq!(options.min_level_rows(2_000), MIN_LEVEL_ROWS);
    }

    #[test]
    fn special_values_stay_out_of_the_ranges_in_bins_of_their_own() {
        // Months since the last delinquency, 0..100, risk falling with
        // time; -1 ("never delinquent", 30% of rows) is safest of all and
        // 999 ("not applicable", 2%) risky. Read as numbers, -1 would sit
        // in the riskiest range and 999 in the safest.
        let mut values = Vec::new();
        let mut target = Vec::new();
        for i in 0..6_000u32 {
            let months = f64::from(i % 100);
            values.push(months);
            target.push(u8::from(i % 100 < 30 && i % 3 == 0));
        }
        for i in 0..3_000u32 {
            values.push(-1.0);
            target.push(u8::from(i % 50 == 0));
        }
        for i in 0..200u32 {
            values.push(999.0);
            target.push(u8::from(i % 2 == 0));
        }
        for _ in 0..10 {
            values.push(7777.0);
            target.push(1);
        }
        let special = [-1.0, 999.0, 7777.0, 5555.0];
        let binning =
            bin_numeric_with_specials(&values, &target, &BinningOptions::default(), &special);
        let Binning::Numeric {
            cuts,
            stats,
            specials,
            ..
        } = &binning
        else {
            unreachable!()
        };
        assert!(cuts.iter().all(|c| (0.0..100.0).contains(c)), "{cuts:?}");
        assert_eq!(stats.iter().map(|s| s.count).sum::<u64>(), 6_000);
        assert_eq!(
            specials,
            &vec![
                SpecialBin {
                    values: vec![-1.0],
                    stat: stat(3_000, 60)
                },
                SpecialBin {
                    values: vec![999.0],
                    stat: stat(200, 100)
                },
                // Too rare to judge (10 rows) and never seen: one bin.
                SpecialBin {
                    values: vec![7777.0, 5555.0],
                    stat: stat(10, 10)
                },
            ]
        );
        assert_eq!(binning.total().count, values.len() as u64);
        let plain = bin_numeric(&values, &target, &BinningOptions::default());
        assert!(
            binning.iv() > plain.iv(),
            "special bins carry more information: {} vs {}",
            binning.iv(),
            plain.iv()
        );
    }

    #[test]
    fn quantile_prebins_cut_at_equal_counts_and_skip_ties() {
        let rows: Vec<(f64, u8)> = (0..100).map(|i| (f64::from(i), 0)).collect();
        assert_eq!(quantile_prebins(&rows, 4), vec![25.0, 50.0, 75.0]);
        // Half the rows at 0: the first cuts would all fall on the tie.
        let tied: Vec<(f64, u8)> = (0..100).map(|i| (f64::from(i.max(50)), 0)).collect();
        assert_eq!(quantile_prebins(&tied, 4), vec![51.0, 75.0]);
        assert!(quantile_prebins(&[], 4).is_empty());
        let options = BinningOptions {
            prebinning: Prebinning::Quantile,
            ..BinningOptions::default()
        };
        let values: Vec<f64> = (0..1_000).map(f64::from).collect();
        let target: Vec<u8> = (0..1_000)
            .map(|i| u8::from(i % 7 == 0 || i > 900))
            .collect();
        let binning = bin_numeric(&values, &target, &options);
        assert!(binning.stats().iter().all(|s| s.count >= 50), "{binning:?}");
        let Binning::Numeric { cuts, .. } = &binning else {
            unreachable!()
        };
        assert!(
            cuts.iter().all(|c| c % 50.0 == 0.0),
            "cuts on the quantile grid: {cuts:?}"
        );
    }
}

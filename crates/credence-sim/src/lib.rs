//! A synthetic world: persons and organisations, each with a hidden latent
//! risk that drives how they pay bills, use credit, return rentals and
//! whether (and when) they default. Outcomes therefore depend on risk in a
//! way a model can learn, which is what makes demos and training honest.
//!
//! Every subject is generated from its own random stream, seeded from the
//! world seed and the subject's index, so a world is identical for the same
//! seed and end date, however it is split across threads.

use credence_domain::build::EventFactory;
use credence_domain::{
    AccountType, Closure, DAY_SECONDS, Damage, Event, EventBody, IdentityLevel, SubjectKind,
    canonical_order,
};
use jiff::Timestamp;
use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// What world to make.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// How many subjects.
    pub subjects: u64,
    /// The world seed.
    pub seed: u64,
    /// The end of the simulated history; no event is later.
    pub until: Timestamp,
    /// Share of subjects that are organisations.
    pub organisation_share: f64,
}

impl SimConfig {
    /// A world of `subjects` subjects ending at `until`.
    pub fn new(subjects: u64, seed: u64, until: Timestamp) -> Self {
        Self {
            subjects,
            seed,
            until,
            organisation_share: 0.1,
        }
    }
}

/// One simulated subject.
#[derive(Debug, Clone)]
pub struct SimSubject {
    /// Index in the world.
    pub index: u64,
    /// Person or organisation.
    pub kind: SubjectKind,
    /// The hidden risk (standard normal; higher is riskier). Never stored by
    /// Credence: it exists only so tests can check that scores find it.
    pub latent_risk: f64,
    /// When the subject first defaulted, if it did.
    pub defaulted_at: Option<Timestamp>,
    /// The subject's events: the enrolment first, then the rest in
    /// canonical order (so a file of them imports in one pass).
    pub events: Vec<Event>,
}

/// The subject id of the subject at `index`.
pub fn subject_id(index: u64) -> String {
    format!("sub-{index:08}")
}

/// Months of billing history that furnishers report.
const REPORTING_MONTHS: i64 = 30;
const MONTH: i64 = 30 * DAY_SECONDS + 37_746; // average month, to the second's nearest whole

struct Stream(Pcg64Mcg);

impl Stream {
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn range(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        low + (self.unit() * (high - low) as f64) as i64
    }
    fn normal(&mut self) -> f64 {
        // Box–Muller: two uniforms, one normal. Exact enough for a simulator
        // and keeps the dependency list short.
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.unit();
            if p <= limit || k > 50 {
                return k;
            }
            k += 1;
        }
    }
    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn seed_for(world: u64, index: u64) -> u64 {
    // splitmix64 of the pair: neighbouring indices get unrelated streams.
    let mut z = world ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

struct AccountPlan {
    id: String,
    kind: AccountType,
    furnisher: &'static str,
    opened: i64,
    closes: Option<i64>,
    period_months: i64,
    amount: i64,
    limit: Option<i64>,
}

/// Generates the subject at `index` of the world.
pub fn simulate_subject(config: &SimConfig, index: u64) -> SimSubject {
    let mut rng = Stream(Pcg64Mcg::seed_from_u64(seed_for(config.seed, index)));
    let until = config.until.as_second();
    let id = subject_id(index);
    let kind = if rng.chance(config.organisation_share) {
        SubjectKind::Organisation
    } else {
        SubjectKind::Person
    };
    let org = kind == SubjectKind::Organisation;
    let risk = rng.normal();
    let scale = if org { 8 } else { 1 };
    let mut f = EventFactory::new("operator", &id);
    let mut events = Vec::with_capacity(48);

    // Enrolment: most subjects a while ago, some (thin files) very recently.
    let thin = rng.chance(0.06);
    let enrolled = if thin {
        until - rng.range(5, 75) * DAY_SECONDS
    } else {
        until - rng.range(3 * MONTH, 48 * MONTH)
    };
    let restricted = rng.chance(if org { 0.7 } else { 0.4 });
    let enrolment = f.enrolled(ts(enrolled), kind, restricted);

    // Identity verification, a little likelier for lower risk.
    let verify = enrolled + rng.range(0, 20) * DAY_SECONDS;
    if verify < until && rng.chance(0.92) {
        let roll = rng.unit() + 0.05 * (-risk).clamp(-2.0, 2.0);
        let level = if roll > 0.75 {
            IdentityLevel::Strong
        } else if roll > 0.35 {
            IdentityLevel::Standard
        } else {
            IdentityLevel::Basic
        };
        events.push(f.identity_verified(ts(verify), level));
    }

    // Income (restricted: only with the separate consent).
    if restricted {
        let monthly = ((rng.normal() * 0.5 - 0.25 * risk + 7.9).exp() * 100.0) as i64 * scale;
        let mut at = enrolled + rng.range(1, 40) * DAY_SECONDS;
        while at < until {
            events.push(f.income(ts(at), monthly.max(10_000)));
            at += 12 * MONTH;
        }
    }

    // Accounts.
    let reporting_start = until - REPORTING_MONTHS * MONTH;
    let count = if thin {
        rng.poisson(0.4)
    } else {
        1 + rng.poisson(if org { 1.0 } else { 0.6 })
    };
    let mut plans = Vec::new();
    for n in 0..count {
        let roll = rng.unit();
        let (kind, furnisher, period, amount, term) = match (org, roll) {
            (false, r) if r < 0.28 => (
                AccountType::Utility,
                "power-co",
                3,
                rng.range(3_000, 15_000),
                None,
            ),
            (false, r) if r < 0.50 => (
                AccountType::Telecom,
                "telco",
                2,
                rng.range(2_000, 8_000),
                None,
            ),
            (false, r) if r < 0.72 => (AccountType::Card, "bank-a", 2, 0, None),
            (false, r) if r < 0.88 => (
                AccountType::Loan,
                "bank-b",
                1,
                rng.range(8_000, 60_000),
                Some(rng.range(6, 30)),
            ),
            (false, _) => (
                AccountType::Rent,
                "landlord-net",
                1,
                rng.range(40_000, 150_000),
                Some(rng.range(12, 36)),
            ),
            (true, r) if r < 0.35 => (
                AccountType::Loan,
                "bank-b",
                1,
                rng.range(50_000, 500_000),
                Some(rng.range(12, 60)),
            ),
            (true, r) if r < 0.55 => (AccountType::Card, "bank-a", 2, 0, None),
            (true, r) if r < 0.80 => (
                AccountType::Utility,
                "power-co",
                2,
                rng.range(20_000, 120_000),
                None,
            ),
            (true, _) => (
                AccountType::Rent,
                "landlord-net",
                1,
                rng.range(100_000, 900_000),
                Some(rng.range(24, 60)),
            ),
        };
        let opened = if thin {
            enrolled + rng.range(0, 20) * DAY_SECONDS
        } else if term.is_some() {
            // Loans and leases on file are mostly recent enough to report.
            until - rng.range(MONTH, 40 * MONTH)
        } else {
            enrolled - rng.range(-6 * MONTH, 60 * MONTH)
        };
        if opened >= until {
            continue;
        }
        let limit = (kind == AccountType::Card).then(|| rng.range(1_000, 10_000) * 100 * scale);
        plans.push(AccountPlan {
            id: format!("{}-{n}", kind.name()),
            kind,
            furnisher,
            opened,
            closes: term.map(|months| opened + months * MONTH),
            period_months: period,
            amount,
            limit,
        });
    }

    // Default: a monthly hazard driven by latent risk. After default the
    // subject stops paying; accounts are charged off, sometimes sued.
    let hazard = sigmoid(-7.0 + 1.35 * risk);
    let mut defaulted_at = None;
    if !thin && !plans.is_empty() {
        let mut month = reporting_start.max(enrolled - 12 * MONTH);
        while month < until {
            if rng.chance(hazard) {
                defaulted_at = Some(month + rng.range(0, 28) * DAY_SECONDS);
                break;
            }
            month += MONTH;
        }
    }

    let late_bias = -2.9 + 1.25 * risk;
    let severity = 5.0 + 10.0 * risk.max(0.0);
    for (n, plan) in plans.iter().enumerate() {
        f.furnisher(plan.furnisher);
        events.push(f.account_opened(ts(plan.opened), &plan.id, plan.kind, plan.limit));
        let end = plan.closes.map_or(until, |c| c.min(until));
        let mut charged_off = None;
        let mut due = plan.opened + plan.period_months * MONTH;
        let mut bill_no = 0;
        let utilisation = sigmoid(-0.9 + 0.9 * risk + 0.6 * rng.normal());
        while due < end {
            bill_no += 1;
            if due >= reporting_start {
                let amount = match plan.limit {
                    Some(limit) => ((limit as f64 * utilisation * 0.08) as i64).max(2_500),
                    None => plan.amount,
                };
                let bill = format!("{}-b{bill_no}", plan.id);
                events.push(f.bill(ts(due), &plan.id, &bill, amount));
                let in_default = defaulted_at.is_some_and(|d| due >= d);
                if in_default {
                    if charged_off.is_none()
                        && due - defaulted_at.unwrap_or(due) > 150 * DAY_SECONDS
                    {
                        charged_off = Some(due);
                        break;
                    }
                } else {
                    let noise = rng.normal();
                    let late = rng.chance(sigmoid(late_bias + 0.4 * noise));
                    let days_late = if late {
                        1 + rng.exponential(severity) as i64
                    } else {
                        0
                    };
                    let paid_at = due + days_late * DAY_SECONDS
                        - if late {
                            0
                        } else {
                            rng.range(0, 5) * DAY_SECONDS
                        };
                    if paid_at < until {
                        let partial = late && rng.chance(0.2);
                        let paid = if partial { amount / 2 } else { amount };
                        events.push(f.payment(
                            ts(paid_at),
                            &plan.id,
                            Some(&bill),
                            paid,
                            days_late.clamp(0, 3650) as u32,
                        ));
                    }
                }
                if let Some(limit) = plan.limit
                    && bill_no % 3 == 0
                {
                    let balance =
                        (limit as f64 * (utilisation + 0.1 * rng.normal()).clamp(0.0, 1.1)) as i64;
                    events.push(f.balance(ts(due + DAY_SECONDS), &plan.id, balance.max(0)));
                }
            }
            due += plan.period_months * MONTH;
        }
        if let Some(at) = charged_off {
            events.push(f.account_closed(
                ts(at),
                &plan.id,
                Closure::ChargedOff,
                Some(plan.amount.max(10_000) * 6),
            ));
            if n == 0 && rng.chance(0.35) {
                f.furnisher("court-records");
                let entered = at + rng.range(60, 240) * DAY_SECONDS;
                if entered < until {
                    let judgment = format!("j-{}", plan.id);
                    events.push(f.judgment(ts(entered), &judgment, plan.amount.max(10_000) * 8));
                    let satisfied = entered + rng.range(90, 900) * DAY_SECONDS;
                    if satisfied < until && rng.chance(0.3) {
                        events.push(f.judgment_satisfied(ts(satisfied), &judgment));
                    }
                }
            }
        } else if let Some(closes) = plan.closes
            && closes < until
        {
            let closure = if defaulted_at.is_some() || rng.chance(sigmoid(-4.0 + risk)) {
                Closure::Settled
            } else {
                Closure::PaidAsAgreed
            };
            events.push(f.account_closed(ts(closes), &plan.id, closure, None));
        }
    }

    // Rentals (bikes, cars, equipment): returned on time, late or damaged.
    if rng.chance(if org { 0.15 } else { 0.35 }) {
        f.furnisher(if rng.chance(0.7) { "bikes" } else { "cars" });
        for r in 0..rng.poisson(2.5) {
            let at = until - rng.range(0, 24 * MONTH);
            if at < enrolled - 6 * MONTH {
                continue;
            }
            let late = rng.chance(sigmoid(-2.4 + risk));
            let days_late = if late {
                1 + rng.exponential(2.0) as u32
            } else {
                0
            };
            let damage = match rng.unit() + 0.03 * risk {
                x if x > 0.99 => Damage::Major,
                x if x > 0.94 => Damage::Minor,
                _ => Damage::None,
            };
            events.push(f.rental_returned(ts(at), &format!("rental-{r}"), days_late, damage));
        }
    }

    events.retain(|e| e.occurred_at.as_second() <= until);
    events.sort_by(canonical_order);
    events.insert(0, enrolment);
    SimSubject {
        index,
        kind,
        latent_risk: risk,
        defaulted_at: defaulted_at.map(ts),
        events,
    }
}

/// Calls `visit` with every subject of `range`, in index order.
pub fn simulate(
    config: &SimConfig,
    range: std::ops::Range<u64>,
    mut visit: impl FnMut(SimSubject),
) {
    for index in range {
        visit(simulate_subject(config, index));
    }
}

/// Generates `config`'s world on `workers` threads in chunks of `chunk`
/// subjects: `make` turns a range of subject indices into anything (events,
/// serialised bytes), on any thread; `consume` receives the results strictly
/// in index order. At most `2 × workers` chunks are in flight, so memory is
/// bounded whatever the world's size.
pub fn generate_in_order<T: Send, E: Send>(
    config: &SimConfig,
    chunk: u64,
    workers: usize,
    make: impl Fn(std::ops::Range<u64>) -> T + Sync,
    mut consume: impl FnMut(std::ops::Range<u64>, T) -> Result<(), E>,
) -> Result<(), E> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let chunk = chunk.max(1);
    let chunks = config.subjects.div_ceil(chunk);
    let next = AtomicU64::new(0);
    let workers = workers.max(1);
    let range_of = |c: u64| c * chunk..((c + 1) * chunk).min(config.subjects);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, T)>(workers * 2);
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, make) = (&next, &make);
            scope.spawn(move || {
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks || tx.send((c, make(range_of(c)))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting = std::collections::BTreeMap::new();
        let mut expected = 0u64;
        for (c, value) in rx {
            waiting.insert(c, value);
            while let Some(value) = waiting.remove(&expected) {
                consume(range_of(expected), value)?;
                expected += 1;
            }
        }
        Ok(())
    })
}

/// True for events that are the operator's own records (enrolment).
pub fn is_enrolment(event: &Event) -> bool {
    matches!(event.body, EventBody::SubjectEnrolled { .. })
}

#[cfg(test)]
mod tests;

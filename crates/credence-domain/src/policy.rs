//! The operator's policy knobs that change what counts, with the defaults of
//! DESIGN.md.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Policy that shapes features: how long negative information counts and
/// what a file needs before it can be scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Years after which a negative record stops counting (5 by default,
    /// China's rule; 7 for US practice).
    pub negative_ageing_years: u32,
    /// A file needs an account or rental at least this many months old.
    pub min_history_months: u32,
    /// A file needs at least this many bills, payments or rental returns in
    /// the last 24 months.
    pub min_recent_records: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            negative_ageing_years: 5,
            min_history_months: 3,
            min_recent_records: 3,
        }
    }
}

impl Policy {
    /// The instant a negative record dated `occurred_at` stops counting: the
    /// same calendar day and time, `negative_ageing_years` later, in UTC (29
    /// February ages out on 28 February). Calendar arithmetic in UTC keeps it
    /// identical on every backend and readable to the subject.
    pub fn stops_counting(&self, occurred_at: Timestamp) -> Timestamp {
        let years = jiff::Span::new().years(i64::from(self.negative_ageing_years));
        occurred_at
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .checked_add(years)
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MAX)
    }

    /// `as_of` minus the ageing years (calendar, UTC): records dated well
    /// after it still count, records well before it no longer do.
    pub fn ageing_cutoff(&self, as_of: Timestamp) -> Timestamp {
        let years = jiff::Span::new().years(i64::from(self.negative_ageing_years));
        as_of
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .checked_sub(years)
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_instant;

    #[test]
    fn ages_on_the_calendar() {
        let policy = Policy::default();
        let at = |s| parse_instant(s).expect("valid");
        assert_eq!(policy.stops_counting(at("2021-03-15")), at("2026-03-15"));
        assert_eq!(policy.stops_counting(at("2024-02-29")), at("2029-02-28"));
        let us = Policy {
            negative_ageing_years: 7,
            ..Policy::default()
        };
        assert_eq!(us.stops_counting(at("2021-03-15")), at("2028-03-15"));
    }
}

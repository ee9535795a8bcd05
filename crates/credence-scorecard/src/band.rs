//! Score bands, with Sesame Credit's own cut points.

use serde::{Deserialize, Serialize};

/// A named range of scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// 350–549.
    Poor,
    /// 550–599.
    Fair,
    /// 600–649.
    Good,
    /// 650–699.
    VeryGood,
    /// 700–950.
    Excellent,
}

impl Band {
    /// Every band, lowest first.
    pub const ALL: [Band; 5] = [
        Self::Poor,
        Self::Fair,
        Self::Good,
        Self::VeryGood,
        Self::Excellent,
    ];

    /// The band of a score.
    pub fn of(score: i32) -> Self {
        match score {
            ..=549 => Self::Poor,
            550..=599 => Self::Fair,
            600..=649 => Self::Good,
            650..=699 => Self::VeryGood,
            _ => Self::Excellent,
        }
    }

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Poor => "poor",
            Self::Fair => "fair",
            Self::Good => "good",
            Self::VeryGood => "very_good",
            Self::Excellent => "excellent",
        }
    }

    /// The name as people read it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Poor => "Poor",
            Self::Fair => "Fair",
            Self::Good => "Good",
            Self::VeryGood => "Very good",
            Self::Excellent => "Excellent",
        }
    }

    /// The lowest score in the band.
    pub fn floor(self) -> i32 {
        match self {
            Self::Poor => 350,
            Self::Fair => 550,
            Self::Good => 600,
            Self::VeryGood => 650,
            Self::Excellent => 700,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_points() {
        for (score, band) in [
            (350, Band::Poor),
            (549, Band::Poor),
            (550, Band::Fair),
            (599, Band::Fair),
            (600, Band::Good),
            (650, Band::VeryGood),
            (699, Band::VeryGood),
            (700, Band::Excellent),
            (950, Band::Excellent),
        ] {
            assert_eq!(Band::of(score), band, "{score}");
        }
        for band in Band::ALL {
            assert_eq!(Band::of(band.floor()), band);
        }
    }
}

//! How subjects are divided between workers and machines: ranges of a
//! stable hash of the subject id, and opaque cursors within a range.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The stable hash of a subject id: the first four bytes of the SHA-256 of
/// its UTF-8 bytes, big-endian.
///
/// Part of the storage contract: every backend partitions by it and it
/// never changes, so a range of it names the same subjects on every
/// backend, in every version, on every machine. A cryptographic hash
/// because ids are chosen by furnishers: nobody can pile their subjects
/// into one range.
pub fn subject_hash(id: &str) -> u32 {
    let digest = Sha256::digest(id.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The subjects whose [`subject_hash`] is in `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct HashRange {
    /// The lowest hash in the range.
    pub first: u32,
    /// The highest hash in the range (inclusive, so one range can hold
    /// every hash).
    pub last: u32,
}

impl HashRange {
    /// Every subject.
    pub const ALL: Self = Self {
        first: 0,
        last: u32::MAX,
    };

    /// True when the range holds `hash`.
    pub fn contains(&self, hash: u32) -> bool {
        (self.first..=self.last).contains(&hash)
    }

    /// Splits the range into `parts` disjoint ranges of (nearly) equal
    /// width, in order, that together cover it: as many as asked (at least
    /// one), but never more than the range has hashes.
    pub fn split(self, parts: usize) -> Vec<HashRange> {
        let parts = (parts.max(1) as u64).min(self.width());
        (0..parts)
            .filter_map(|part| self.part(part, parts))
            .collect()
    }

    /// The `index`-th (from 0) of `parts` disjoint ranges of (nearly)
    /// equal width that together cover this one, as [`Self::split`] cuts
    /// them, without building the others; `None` when `index` is not
    /// below `parts` or the range has fewer hashes than `parts`.
    pub fn part(self, index: u64, parts: u64) -> Option<HashRange> {
        let width = self.width();
        if index >= parts || parts > width {
            return None;
        }
        // u128: `width * (index + 1)` can pass u64 for up to 2^32 parts.
        let at = |part: u64| {
            u64::from(self.first)
                + (u128::from(width) * u128::from(part) / u128::from(parts)) as u64
        };
        // Both lie within `first..=last`, so they fit in a u32.
        Some(HashRange {
            first: at(index) as u32,
            last: (at(index + 1) - 1) as u32,
        })
    }

    /// How many hashes the range holds (1 to 2^32).
    fn width(self) -> u64 {
        u64::from(self.last) - u64::from(self.first) + 1
    }
}

/// Where a scan of a [`HashRange`] stopped; pass it back with the same
/// range to continue. Opaque: only the backend that made it reads it (one
/// keeps a row number, another a subject id), and it is only good for the
/// database it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanCursor(Box<[u8]>);

impl ScanCursor {
    /// A cursor holding a backend's position (for backends).
    pub fn new(position: impl Into<Box<[u8]>>) -> Self {
        Self(position.into())
    }

    /// The backend's position (for backends).
    pub fn position(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_hash_is_the_documented_one() {
        // SHA-256("alice") starts 2bd806c9.
        assert_eq!(subject_hash("alice"), 0x2bd8_06c9);
    }

    #[test]
    fn one_range_can_hold_every_hash() {
        assert_eq!(HashRange::ALL.split(1), vec![HashRange::ALL]);
        assert!(HashRange::ALL.contains(0) && HashRange::ALL.contains(u32::MAX));
        let tiny = HashRange { first: 7, last: 8 };
        assert_eq!(tiny.split(5).len(), 2, "never more parts than hashes");
        assert_eq!(tiny.split(0), vec![tiny], "at least one part");
        assert_eq!(tiny.part(2, 2), None, "no part past the last");
        assert_eq!(tiny.part(0, 3), None, "no more parts than hashes");
        let last = HashRange::ALL.part(u64::from(u32::MAX), 1 << 32);
        assert_eq!(
            last,
            Some(HashRange {
                first: u32::MAX,
                last: u32::MAX
            }),
            "one part per hash, computed without the others"
        );
    }

    proptest! {
        #[test]
        fn parts_cover_the_range_once_in_order(first in any::<u32>(), width in any::<u32>(), parts in 1_usize..64) {
            let range = HashRange { first, last: first.saturating_add(width) };
            let split = range.split(parts);
            prop_assert_eq!(split.first().map(|r| r.first), Some(range.first));
            prop_assert_eq!(split.last().map(|r| r.last), Some(range.last));
            for (index, part) in split.iter().enumerate() {
                prop_assert_eq!(Some(*part), range.part(index as u64, split.len() as u64));
            }
            for pair in split.windows(2) {
                prop_assert!(pair[0].first <= pair[0].last);
                prop_assert_eq!(u64::from(pair[0].last) + 1, u64::from(pair[1].first));
            }
        }
    }
}

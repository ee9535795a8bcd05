//! Decoded subject logs kept in memory, so a subject read again (every
//! partner check, the subject's own pages) costs one tiny read instead of
//! the subject's row.
//!
//! A reader's page cache is dropped at every commit (WAL mode), and under
//! partner checks the audit log commits about a thousand times a second,
//! so reading a subject's row is five or six `pread`s and a decode each
//! time; it was a tenth of a check's CPU.
//!
//! Validity rests on the database's *subject generation*, one integer that
//! every transaction writing a subject's row increments (appends and
//! erasures, from this process or any other). A cached log is served only
//! to a reader whose snapshot has the generation the cache is at:
//!
//! - this process's own writes tell the cache which subjects they change
//!   *before* they commit (`announce`), so a reader that sees the new
//!   generation first drops just those subjects and carries on;
//! - a generation the cache was not told about is another process's write:
//!   the cache cannot know whose logs changed and starts over;
//! - a log read at an older snapshot than the cache's is returned but not
//!   kept.
//!
//! Hand-written because the rule above (a generation read in the reader's
//! own snapshot, announced writes) is the point; a general-purpose cache
//! crate would add a dependency and still need it.

use credence_domain::{SubjectId, SubjectLog};
use std::collections::HashMap;
use std::sync::Mutex;

/// Memory kept for decoded logs by default (about 50,000 subjects of
/// fifty events each).
pub(crate) const DEFAULT_BUDGET: usize = 64 << 20;

/// Bytes a cached log is counted as: its facts, its id and the map's own
/// share.
fn cost(log: &SubjectLog) -> usize {
    std::mem::size_of_val(log.facts())
        + log.subject().id.as_str().len()
        + std::mem::size_of::<SubjectLog>()
        + 64
}

#[derive(Debug)]
pub(crate) struct LogCache {
    budget: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The subject generation every cached log is valid at; `None` until a
    /// reader has told the cache what the database holds.
    generation: Option<i64>,
    /// This process's write that is committing (or just committed): the
    /// generation it makes and the subjects it changes.
    announced: Option<(i64, Vec<SubjectId>)>,
    logs: HashMap<SubjectId, SubjectLog>,
    bytes: usize,
}

impl State {
    /// Brings the cache to `generation`, which a reader's snapshot holds:
    /// applies the announced write that made it, or starts over when the
    /// change came from elsewhere. Returns false when the snapshot is
    /// older than the cache (nothing cached may be served to it).
    fn reach(&mut self, generation: i64) -> bool {
        match self.generation {
            Some(current) if current == generation => return true,
            Some(current) if current > generation => return false,
            _ => {}
        }
        let announced_next = matches!(
            (&self.announced, self.generation),
            (Some((made, _)), Some(current)) if *made == generation && current + 1 == generation
        );
        if announced_next {
            if let Some((_, subjects)) = self.announced.take() {
                for subject in &subjects {
                    if let Some(log) = self.logs.remove(subject) {
                        self.bytes -= cost(&log);
                    }
                }
            }
        } else {
            self.logs.clear();
            self.bytes = 0;
            // An announcement older than what the database holds is moot.
            if self
                .announced
                .as_ref()
                .is_some_and(|(made, _)| *made <= generation)
            {
                self.announced = None;
            }
        }
        self.generation = Some(generation);
        true
    }

    /// Drops logs in the map's hash order (unrelated to subjects' age or
    /// use) until at most `target` bytes are kept: in effect a random
    /// eviction, which needs no bookkeeping on the read path.
    fn evict_to(&mut self, target: usize) {
        let excess = self.bytes.saturating_sub(target);
        let mut freed = 0;
        self.logs.retain(|_, log| {
            if freed >= excess {
                return true;
            }
            freed += cost(log);
            false
        });
        self.bytes -= freed;
    }
}

impl LogCache {
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            state: Mutex::new(State::default()),
        }
    }

    /// False when the budget keeps nothing.
    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// The cached log of `id`, for a reader whose snapshot is at
    /// `generation`.
    pub fn get(&self, id: &SubjectId, generation: i64) -> Option<SubjectLog> {
        let mut state = self.state.lock().ok()?;
        if !state.reach(generation) {
            return None;
        }
        state.logs.get(id).cloned()
    }

    /// Keeps a log read at a snapshot whose generation is `generation`.
    pub fn keep(&self, log: &SubjectLog, generation: i64) {
        if !self.enabled() {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if !state.reach(generation) {
            return;
        }
        let bytes = cost(log);
        if bytes > self.budget / 4 {
            return;
        }
        if state.bytes + bytes > self.budget {
            state.evict_to(self.budget / 4 * 3);
        }
        if let Some(old) = state.logs.insert(log.subject().id.clone(), log.clone()) {
            state.bytes -= cost(&old);
        }
        state.bytes += bytes;
    }

    /// Says, before it commits, that this process's write makes
    /// `generation` and changes the rows of `subjects`.
    pub fn announce(&self, generation: i64, subjects: Vec<SubjectId>) {
        if let Ok(mut state) = self.state.lock() {
            state.announced = Some((generation, subjects));
        }
    }

    /// The announced write committed: apply it now rather than at the next
    /// read.
    pub fn committed(&self, generation: i64) {
        if let Ok(mut state) = self.state.lock() {
            state.reach(generation);
        }
    }

    /// The announced write rolled back: the database never reached its
    /// generation, so nothing changed.
    pub fn withdraw(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.announced = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credence_domain::build::EventFactory;
    use credence_domain::{Subject, SubjectKind, SubjectState};

    fn log(id: &str, events: usize) -> SubjectLog {
        let mut f = EventFactory::new("bank", id);
        let start = jiff::Timestamp::from_second(1_704_067_200).unwrap_or_default();
        let mut all = vec![f.enrolled(start, SubjectKind::Person, false)];
        for n in 0..events {
            all.push(f.account_opened(
                start + jiff::SignedDuration::from_hours(24 * (n as i64 + 1)),
                &format!("a{n}"),
                credence_domain::AccountType::Card,
                None,
            ));
        }
        let subject = Subject {
            id: SubjectId::new(id).unwrap_or_else(|_| unreachable!()),
            kind: SubjectKind::Person,
            enrolled_at: start,
            restricted_data_consent: false,
            state: SubjectState::Enrolled,
        };
        SubjectLog::from_events(subject, &all).unwrap_or_else(|e| panic!("{e}"))
    }

    fn id(text: &str) -> SubjectId {
        SubjectId::new(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_log_is_served_only_at_the_generation_it_was_read_at() {
        let cache = LogCache::new(DEFAULT_BUDGET);
        cache.keep(&log("s1", 2), 5);
        assert!(cache.get(&id("s1"), 5).is_some());
        // A reader at an older snapshot gets nothing cached.
        assert!(cache.get(&id("s1"), 4).is_none());
        // A generation nobody announced: another process wrote.
        assert!(cache.get(&id("s1"), 6).is_none());
        cache.keep(&log("s1", 2), 6);
        assert!(cache.get(&id("s1"), 6).is_some());
    }

    #[test]
    fn an_announced_write_drops_only_the_subjects_it_changes() {
        let cache = LogCache::new(DEFAULT_BUDGET);
        cache.keep(&log("s1", 1), 1);
        cache.keep(&log("s2", 1), 1);
        cache.announce(2, vec![id("s1")]);
        // Before the commit is applied, readers still at generation 1 are
        // served the old logs: the write has not happened for them.
        assert!(cache.get(&id("s1"), 1).is_some());
        // A reader that sees the commit first applies it.
        assert!(cache.get(&id("s1"), 2).is_none());
        assert!(cache.get(&id("s2"), 2).is_some());
        cache.committed(2);
        assert!(cache.get(&id("s2"), 2).is_some());
    }

    #[test]
    fn a_log_read_before_a_write_is_not_kept_after_it() {
        let cache = LogCache::new(DEFAULT_BUDGET);
        cache.keep(&log("s2", 1), 1);
        cache.announce(2, vec![id("s1")]);
        cache.committed(2);
        // This reader's snapshot predates the write: its log is stale.
        cache.keep(&log("s1", 1), 1);
        assert!(cache.get(&id("s1"), 2).is_none());
    }

    #[test]
    fn a_withdrawn_write_changes_nothing() {
        let cache = LogCache::new(DEFAULT_BUDGET);
        cache.keep(&log("s1", 1), 1);
        cache.announce(2, vec![id("s1")]);
        cache.withdraw();
        assert!(cache.get(&id("s1"), 1).is_some());
        // The next write (from anywhere) is a generation nobody announced.
        assert!(cache.get(&id("s1"), 2).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_budget() {
        let one = cost(&log("s0000", 10));
        let cache = LogCache::new(one * 40);
        for n in 0..1_000 {
            cache.keep(&log(&format!("s{n:04}"), 10), 1);
            let bytes = cache.state.lock().map(|s| s.bytes).unwrap_or(0);
            assert!(bytes <= one * 40, "{bytes} bytes after {n} logs");
        }
        let kept = cache.state.lock().map(|s| s.logs.len()).unwrap_or(0);
        assert!(kept >= 20, "only {kept} logs kept");
        // A log too large for a quarter of the budget is never kept.
        cache.keep(&log("huge", 400), 1);
        assert!(cache.get(&id("huge"), 1).is_none());
    }
}

//! One test story for every backend.
//!
//! A backend's tests call [`run_all`] with a factory that opens a fresh,
//! empty store. Each check panics with a message that names the broken
//! property, so a failing backend says what it got wrong.

use crate::{
    AnswerClaim, AuditAnswer, AuditEntry, ChainHead, Error, HashRange, Record, RecordFilter,
    RecordWrite, ScanCursor, Store, StoredScore, SubjectRecord, subject_hash,
};
use credence_domain::build::EventFactory;
use credence_domain::{
    AccountType, Event, SubjectId, SubjectKind, SubjectLog, SubjectState, canonical_order,
};
use jiff::Timestamp;

/// A named check.
pub type Check = (&'static str, fn(&dyn Store));

/// Names each check after its function, so the list cannot drift.
macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        &[$((stringify!($check), $check as fn(&dyn Store))),*]
    };
}

/// Events ([`crate::EventStore`]): atomic, idempotent appends, canonical
/// order, one subject's events only, scans and partitions.
pub const EVENT_CHECKS: &[Check] = checks![
    appended_events_read_back_in_canonical_order,
    enrolment_creates_the_subject,
    events_for_unenrolled_subjects_are_rejected_atomically,
    identical_repeats_are_duplicates,
    conflicting_repeats_are_rejected_atomically,
    repeats_within_one_batch,
    a_failed_transaction_writes_nothing,
    later_batches_merge_into_canonical_order,
    subjects_never_see_each_others_events,
    scans_visit_every_subject_once,
    logs_match_events,
    one_subject_log_matches_its_events,
    a_subject_log_follows_every_write_at_once,
    partitions_cover_every_subject_once,
];

/// Scores ([`crate::ScoreStore`]).
pub const SCORE_CHECKS: &[Check] = checks![
    scores_round_trip_and_keep_history,
    scores_are_kept_only_for_enrolled_subjects,
    distribution_counts_latest_scores_of_enrolled_subjects,
];

/// Records and the change feed ([`crate::RecordStore`]).
pub const RECORD_CHECKS: &[Check] = checks![
    records_round_trip_by_kind_subject_and_owner,
    first_record_writer_wins,
    the_change_feed_moves_with_every_record_change,
    the_change_feed_names_every_record_change_in_order,
];

/// The audit log and the changes that commit with it
/// ([`crate::AuditStore`]).
pub const AUDIT_CHECKS: &[Check] = checks![
    audit_appends_only_in_sequence,
    audit_chains_are_numbered_apart,
    linked_appends_from_many_writers_follow_each_other,
    record_changes_commit_with_their_audit_entries,
    a_restricted_consent_changes_with_its_audit_entry_and_shows_at_once,
    audit_answers_are_found_by_subject_and_key_and_first_wins,
    access_logs_stay_whole_over_thousands_of_entries,
];

/// Partners' answers claimed once ([`crate::AnswerStore`]).
pub const ANSWER_CHECKS: &[Check] = checks![
    the_first_claim_of_an_answer_wins,
    of_many_claims_at_once_exactly_one_wins,
    old_days_answers_are_forgotten,
];

/// What spans the concerns ([`Store`]): the schema, counts, erasure.
pub const SPANNING_CHECKS: &[Check] = checks![
    schema_version_is_positive,
    counts_add_up,
    erasure_leaves_only_a_tombstone,
    an_erasure_commits_with_its_audit_entry,
    an_audited_event_write_commits_with_its_entry_or_not_at_all,
];

/// The suite by concern, as a backend runs it.
pub const CONCERNS: &[(&str, &[Check])] = &[
    ("events", EVENT_CHECKS),
    ("scores", SCORE_CHECKS),
    ("records", RECORD_CHECKS),
    ("audit", AUDIT_CHECKS),
    ("answers", ANSWER_CHECKS),
    ("spanning", SPANNING_CHECKS),
];

/// A check of moving rows between two stores of the backend.
pub type PairCheck = (&'static str, fn(&dyn Store, &dyn Store));

/// Moving a deployment ([`crate::transfer`]): from a filled store into a
/// fresh one of the same backend, refused into a store that holds
/// anything, nothing kept of a move that fails.
pub const TRANSFER_CHECKS: &[PairCheck] = &[
    (
        "a_deployment_moves_whole_into_an_empty_store",
        a_deployment_moves_whole_into_an_empty_store,
    ),
    (
        "a_move_into_a_store_that_holds_anything_is_refused",
        a_move_into_a_store_that_holds_anything_is_refused,
    ),
    (
        "a_move_that_fails_midway_keeps_nothing",
        a_move_that_fails_midway_keeps_nothing,
    ),
];

/// Runs every check of every concern, each on a fresh store from
/// `open_empty`. A second backend runs it unchanged.
pub fn run_all(open_empty: &dyn Fn() -> Box<dyn Store>) {
    for (concern, checks) in CONCERNS {
        run(concern, checks, open_empty);
    }
    for (name, check) in TRANSFER_CHECKS {
        let (from, to) = (open_empty(), open_empty());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(from.as_ref(), to.as_ref())
        }));
        if let Err(panic) = outcome {
            panic!(
                "conformance check `transfer::{name}` failed on backend {}: {}",
                from.backend(),
                panic_message(panic.as_ref())
            );
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Runs `checks` (one concern's), each on a fresh store.
pub fn run(concern: &str, checks: &[Check], open_empty: &dyn Fn() -> Box<dyn Store>) {
    for (name, check) in checks {
        let store = open_empty();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(store.as_ref())));
        if let Err(panic) = outcome {
            panic!(
                "conformance check `{concern}::{name}` failed on backend {}: {}",
                store.backend(),
                panic_message(panic.as_ref())
            );
        }
    }
}

fn at(day: i64) -> Timestamp {
    // Day 0 is 2024-01-01.
    Timestamp::from_second(1_704_067_200 + day * 86_400).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn id(raw: &str) -> SubjectId {
    SubjectId::new(raw).unwrap_or_else(|e| panic!("test id {raw}: {e}"))
}

/// An enrolled subject with an account and a few bills and payments.
fn sample(subject: &str) -> Vec<Event> {
    let mut f = EventFactory::new("bank", subject);
    vec![
        f.enrolled(at(0), SubjectKind::Person, false),
        f.account_opened(at(1), "acct", AccountType::Loan, None),
        f.bill(at(30), "acct", "b1", 10_000),
        f.payment(at(29), "acct", Some("b1"), 10_000, 0),
        f.bill(at(60), "acct", "b2", 10_000),
        f.payment(at(75), "acct", Some("b2"), 10_000, 15),
    ]
}

fn sorted(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by(canonical_order);
    events
}

fn append_ok(store: &dyn Store, events: &[Event]) {
    if let Err(e) = store.append_events(events) {
        panic!("append failed: {e}");
    }
}

fn facts_equal(a: &[Event], b: &[Event]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_fact(y))
}

fn events_of(store: &dyn Store, subject: &str) -> Vec<Event> {
    store
        .subject_events(&id(subject))
        .unwrap_or_else(|e| panic!("reading {subject}: {e}"))
}

fn schema_version_is_positive(store: &dyn Store) {
    let version = store.schema_version().unwrap_or_else(|e| panic!("{e}"));
    assert!(version > 0, "schema version is {version}");
}

fn appended_events_read_back_in_canonical_order(store: &dyn Store) {
    let events = sample("s1");
    let report = store
        .append_events(&events)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.inserted, events.len());
    assert_eq!(report.duplicates, 0);
    let back = events_of(store, "s1");
    assert!(facts_equal(&back, &sorted(events)), "read back {back:#?}");
}

fn enrolment_creates_the_subject(store: &dyn Store) {
    assert_eq!(
        store.subject(&id("s1")).unwrap_or_else(|e| panic!("{e}")),
        None
    );
    append_ok(store, &sample("s1"));
    let subject = store
        .subject(&id("s1"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("subject missing after enrolment"));
    assert_eq!(subject.kind, SubjectKind::Person);
    assert_eq!(subject.state, SubjectState::Enrolled);
    assert_eq!(subject.enrolled_at, at(0));
}

fn events_for_unenrolled_subjects_are_rejected_atomically(store: &dyn Store) {
    let mut batch = sample("s1");
    let mut stranger = EventFactory::new("bank", "nobody");
    batch.push(stranger.bill(at(5), "x", "b", 100));
    match store.append_events(&batch) {
        Err(Error::Rejected(rejections)) => {
            assert_eq!(rejections.len(), 1);
            assert_eq!(rejections[0].index, batch.len() - 1);
            assert_eq!(rejections[0].code, "not_enrolled");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(
        events_of(store, "s1").is_empty(),
        "part of a rejected batch was written"
    );
    assert_eq!(
        store.subject(&id("s1")).ok().flatten(),
        None,
        "enrolment of a rejected batch was kept"
    );
}

fn identical_repeats_are_duplicates(store: &dyn Store) {
    let events = sample("s1");
    append_ok(store, &events);
    let mut again = events.clone();
    for event in &mut again {
        event.recorded_at = at(400); // a retry is recorded later, same fact
    }
    let report = store
        .append_events(&again)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.inserted, report.duplicates), (0, events.len()));
    assert_eq!(events_of(store, "s1").len(), events.len());
}

fn conflicting_repeats_are_rejected_atomically(store: &dyn Store) {
    let events = sample("s1");
    append_ok(store, &events);
    let mut f = EventFactory::new("bank", "s1");
    let mut batch = vec![f.bill(at(90), "acct", "b3", 10_000)];
    batch[0].key.event_id =
        credence_domain::EventId::new("s1-new").unwrap_or_else(|e| panic!("{e}"));
    let mut changed = events[2].clone();
    if let credence_domain::EventBody::BillDue { amount, .. } = &mut changed.body {
        amount.minor += 1;
    }
    batch.push(changed);
    match store.append_events(&batch) {
        Err(Error::Rejected(rejections)) => {
            assert_eq!(rejections.len(), 1);
            assert_eq!(
                (rejections[0].index, rejections[0].code),
                (1, "idempotency_conflict")
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(
        facts_equal(&events_of(store, "s1"), &sorted(events)),
        "a rejected batch changed the history"
    );
}

fn repeats_within_one_batch(store: &dyn Store) {
    let mut batch = sample("s1");
    batch.push(batch[2].clone()); // the same bill again: a harmless repeat
    let report = store
        .append_events(&batch)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.inserted, report.duplicates), (batch.len() - 1, 1));
    let mut conflicting = sample("s2");
    let mut changed = conflicting[3].clone();
    if let credence_domain::EventBody::PaymentMade { days_late, .. } = &mut changed.body {
        *days_late += 9;
    }
    conflicting.push(changed);
    match store.append_events(&conflicting) {
        Err(Error::Rejected(rejections)) => {
            assert_eq!(rejections.len(), 1);
            assert_eq!(
                (rejections[0].index, rejections[0].code),
                (conflicting.len() - 1, "idempotency_conflict")
            );
        }
        other => panic!("expected a conflict inside the batch, got {other:?}"),
    }
    // Many events, more than one key chunk, all new.
    let mut f = EventFactory::new("bank", "s3");
    let mut many = vec![f.enrolled(at(0), SubjectKind::Person, false)];
    many.extend((0..300).map(|i| f.bill(at(i + 1), "a", &format!("b{i}"), 10)));
    let report = store.append_events(&many).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.inserted, 301);
    let again = store.append_events(&many).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.inserted, again.duplicates), (0, 301));
}

fn a_failed_transaction_writes_nothing(store: &dyn Store) {
    let first = sample("s1");
    let second = sample("s2");
    let result = store.write_events(&mut |writer| {
        writer.append(&first)?;
        writer.append(&second)?;
        Err(Error::Backend("the caller gave up".into()))
    });
    assert!(result.is_err());
    assert!(events_of(store, "s1").is_empty() && events_of(store, "s2").is_empty());
    assert_eq!(store.counts().map(|c| c.events).ok(), Some(0));
}

fn later_batches_merge_into_canonical_order(store: &dyn Store) {
    let mut f = EventFactory::new("bank", "s1");
    let enrol = f.enrolled(at(0), SubjectKind::Person, false);
    let late = f.bill(at(100), "acct", "b9", 500);
    let early = f.bill(at(10), "acct", "b1", 500);
    append_ok(store, &[enrol.clone(), late.clone()]);
    append_ok(store, std::slice::from_ref(&early));
    let back = events_of(store, "s1");
    assert!(facts_equal(&back, &[enrol, early, late]), "got {back:#?}");
}

fn subjects_never_see_each_others_events(store: &dyn Store) {
    append_ok(store, &[sample("a"), sample("b")].concat());
    for subject in ["a", "b"] {
        let events = events_of(store, subject);
        assert_eq!(events.len(), 6);
        assert!(
            events.iter().all(|e| e.subject_id.as_str() == subject),
            "{subject} saw another subject's event"
        );
    }
}

fn scans_visit_every_subject_once(store: &dyn Store) {
    let names: Vec<String> = (0..23).map(|i| format!("s{i:02}")).collect();
    let batch: Vec<Event> = names.iter().flat_map(|n| sample(n)).collect();
    append_ok(store, &batch);
    let mut seen = Vec::new();
    let mut cursor: Option<ScanCursor> = None;
    let mut page: Vec<SubjectRecord> = Vec::new();
    loop {
        cursor = store
            .scan_subjects(HashRange::ALL, cursor, 5, &mut page)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            page.len() <= 5,
            "a page of {} exceeds the limit",
            page.len()
        );
        for record in &page {
            assert_eq!(record.events.len(), 6);
            assert!(
                record
                    .events
                    .iter()
                    .all(|e| e.subject_id == record.subject.id)
            );
            assert!(
                record
                    .events
                    .windows(2)
                    .all(|w| canonical_order(&w[0], &w[1]).is_le())
            );
            seen.push(record.subject.id.to_string());
        }
        if cursor.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, names, "every subject exactly once");
}

fn logs_match_events(store: &dyn Store) {
    let mut batch = sample("a");
    let mut f = EventFactory::new("bikes", "a");
    batch.push(f.rental_returned(at(90), "bike-1", 2, credence_domain::Damage::Minor));
    batch.push(f.identity_verified(at(91), credence_domain::IdentityLevel::Strong));
    batch.push(f.judgment(at(92), "j", 100));
    batch.push(f.judgment_satisfied(at(93), "j"));
    batch.push(f.account_closed(at(94), "acct", credence_domain::Closure::Settled, Some(5)));
    batch.extend(sample("b"));
    append_ok(store, &batch);
    let mut records = Vec::new();
    let mut logs = Vec::new();
    store
        .scan_subjects(HashRange::ALL, None, 10, &mut records)
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .scan_logs(HashRange::ALL, None, 10, &mut logs)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records.len(), logs.len());
    for (record, log) in records.into_iter().zip(logs) {
        let expected = SubjectLog::from_events(record.subject, &record.events)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            log, expected,
            "a scanned log must equal the log of the scanned events"
        );
    }
}

fn partitions_cover_every_subject_once(store: &dyn Store) {
    let names: Vec<String> = (0..41).map(|i| format!("p{i:02}")).collect();
    let batch: Vec<Event> = names.iter().flat_map(|n| sample(n)).collect();
    append_ok(store, &batch);
    for parts in [1, 2, 3, 7, 100] {
        let ranges = HashRange::ALL.split(parts);
        let mut seen = Vec::new();
        let mut page = Vec::new();
        for range in ranges {
            let mut cursor = None;
            loop {
                cursor = store
                    .scan_subjects(range, cursor, 4, &mut page)
                    .unwrap_or_else(|e| panic!("{e}"));
                for record in &page {
                    let id = record.subject.id.as_str();
                    assert!(
                        range.contains(subject_hash(id)),
                        "{id} (hash {:#x}) was scanned in {range:?}",
                        subject_hash(id)
                    );
                    seen.push(id.to_string());
                }
                if cursor.is_none() {
                    break;
                }
            }
        }
        seen.sort();
        assert_eq!(
            seen, names,
            "{parts} partitions must cover every subject exactly once"
        );
    }
}

fn scores_are_kept_only_for_enrolled_subjects(store: &dyn Store) {
    append_ok(store, &sample("kept"));
    append_ok(store, &sample("leaving"));
    let score = |subject: &str| StoredScore {
        subject_id: id(subject),
        as_of: at(10),
        model_version: "m@1".into(),
        scored: true,
        score: Some(640),
        pd: Some(0.02),
        dimensions: [Some(50); 5],
        reasons: vec![],
        computed_at: at(10),
    };
    // A rescore read "leaving" before the erasure and writes after it.
    store
        .erase_subject(&id("leaving"), &id("leaving-tombstone"))
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .put_scores(&[
            score("kept"),
            score("leaving"),
            score("leaving-tombstone"),
            score("never-enrolled"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.latest_score(&id("kept")).ok().flatten(),
        Some(score("kept"))
    );
    for gone in ["leaving", "leaving-tombstone", "never-enrolled"] {
        assert_eq!(
            store.score_history(&id(gone)).ok(),
            Some(vec![]),
            "no score is stored for {gone}"
        );
    }
}

fn scores_round_trip_and_keep_history(store: &dyn Store) {
    append_ok(store, &sample("s1"));
    let score = |day: i64, value: i32| StoredScore {
        subject_id: id("s1"),
        as_of: at(day),
        model_version: "m@1".into(),
        scored: true,
        score: Some(value),
        pd: Some(0.02),
        dimensions: [Some(50), None, Some(100), Some(0), Some(7)],
        reasons: vec!["H01".into(), "B02".into()],
        computed_at: at(day),
    };
    store
        .put_scores(&[score(10, 600), score(20, 640)])
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .put_scores(&[score(20, 650)])
        .unwrap_or_else(|e| panic!("{e}"));
    let latest = store
        .latest_score(&id("s1"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        latest,
        Some(score(20, 650)),
        "same subject, as-of and model replaces"
    );
    let history = store
        .score_history(&id("s1"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(history, vec![score(10, 600), score(20, 650)]);
    let thin = StoredScore {
        scored: false,
        score: None,
        pd: None,
        dimensions: [None; 5],
        reasons: vec![],
        ..score(30, 0)
    };
    store
        .put_scores(std::slice::from_ref(&thin))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.latest_score(&id("s1")).ok().flatten(), Some(thin));
    assert_eq!(store.latest_score(&id("nobody")).ok().flatten(), None);
}

fn counts_add_up(store: &dyn Store) {
    append_ok(store, &[sample("a"), sample("b")].concat());
    let counts = store.counts().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((counts.subjects, counts.events, counts.scores), (2, 12, 0));
}

fn record(
    kind: &'static str,
    id_: &str,
    subject: Option<&str>,
    owner: Option<&str>,
    body: &str,
) -> Record {
    Record {
        kind,
        id: id_.into(),
        subject: subject.map(id),
        owner: owner.map(str::to_string),
        body: body.into(),
    }
}

fn the_change_feed_names_every_record_change_in_order(store: &dyn Store) {
    let start = store
        .record_changes(0, 1_000)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(start.complete);
    let cursor = start.next;
    append_ok(store, &sample("s1"));
    store
        .put_records(&[record("consent", "c1", Some("s1"), Some("p1"), "{}")])
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .append_audit(
            &[audit(1, None)],
            &[
                RecordWrite::Put(record("freeze", "s1", Some("s1"), None, "{}")),
                RecordWrite::Delete {
                    kind: "consent",
                    id: "c1".into(),
                },
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .insert_record_once(&record("answer", "a1", None, None, "{}"))
            .ok(),
        Some(None)
    );
    let _ = store.record("freeze", "s1");
    let feed = store
        .record_changes(cursor, 1_000)
        .unwrap_or_else(|e| panic!("{e}"));
    let named: Vec<(&str, &str, Option<&str>)> = feed
        .changes
        .iter()
        .map(|c| (c.kind.as_str(), c.id.as_str(), c.subject.as_deref()))
        .collect();
    assert_eq!(
        named,
        [
            ("consent", "c1", Some("s1")),
            ("freeze", "s1", Some("s1")),
            ("consent", "c1", Some("s1")),
            ("answer", "a1", None),
        ],
        "puts, audited writes and deletes, in order; events and reads are not changes"
    );
    assert!(feed.complete);
    assert!(feed.changes.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(feed.next, feed.changes.last().map_or(0, |c| c.seq));
    assert_eq!(
        store.record_change_head().ok(),
        Some(feed.next),
        "the head is the newest change"
    );
    // Read on from the cursor: nothing new, then only what follows.
    let none = store
        .record_changes(feed.next, 1_000)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.changes.is_empty() && none.next == feed.next);
    let two = store
        .record_changes(cursor, 2)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(two.changes.len(), 2, "at most `limit`");
    let rest = store
        .record_changes(two.next, 1_000)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rest.changes.len(), 2);
    // An erasure leaves no change naming the subject, and one erasure.
    store
        .erase_subject(&id("s1"), &id("erased-s1"))
        .unwrap_or_else(|e| panic!("{e}"));
    let after = store
        .record_changes(cursor, 1_000)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        after.changes.iter().all(
            |c| c.subject.as_deref() != Some("s1") && !c.id.contains("s1") || c.id == "erased-s1"
        ),
        "{:?}",
        after.changes
    );
    assert_eq!(
        after
            .changes
            .last()
            .map(|c| (c.kind.as_str(), c.id.as_str())),
        Some((crate::ERASURE_CHANGE, "erased-s1"))
    );
}

fn the_change_feed_moves_with_every_record_change(store: &dyn Store) {
    let generation = || store.record_change_head().unwrap_or_else(|e| panic!("{e}"));
    let mut seen = generation();
    let mut moved = |what: &str, expected: bool| {
        let now = generation();
        assert_eq!(now != seen, expected, "{what}: {seen} -> {now}");
        seen = now;
    };
    append_ok(store, &sample("s1"));
    moved("events are not records", false);
    let key = record(
        "api_key",
        "k1",
        None,
        Some("operator"),
        r#"{"active":true}"#,
    );
    store
        .put_records(std::slice::from_ref(&key))
        .unwrap_or_else(|e| panic!("{e}"));
    moved("a record put", true);
    let _ = store.record("api_key", "k1");
    let _ = store.records("api_key", RecordFilter::All);
    moved("reads", false);
    let revoked = record(
        "api_key",
        "k1",
        None,
        Some("operator"),
        r#"{"active":false}"#,
    );
    store
        .put_records(&[revoked])
        .unwrap_or_else(|e| panic!("{e}"));
    moved("a record replaced", true);
    let once = record("answer", "a1", None, None, "{}");
    assert_eq!(store.insert_record_once(&once).ok(), Some(None));
    moved("a record inserted once", true);
    assert!(
        store
            .insert_record_once(&once)
            .is_ok_and(|kept| kept.is_some())
    );
    moved("an insert that found the record", false);
    store
        .append_audit(
            &[audit(1, None)],
            &[RecordWrite::KeepFirst(record(
                "answer",
                "a2",
                Some("s1"),
                None,
                "{}",
            ))],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    moved("a record kept with an audit entry", true);
    store
        .append_audit(&[audit(2, None)], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    moved("an audit entry alone", false);
    assert_eq!(store.delete_record("answer", "a1").ok(), Some(true));
    moved("a record deleted", true);
    assert_eq!(store.delete_record("answer", "a1").ok(), Some(false));
    moved("a delete that found nothing", false);
    store
        .erase_subject(&id("s1"), &id("erased-s1"))
        .unwrap_or_else(|e| panic!("{e}"));
    moved("an erasure that removed the subject's records", true);
}

fn records_round_trip_by_kind_subject_and_owner(store: &dyn Store) {
    let first = record("consent", "c1", Some("s1"), Some("p1"), r#"{"n":1}"#);
    let second = record("consent", "c2", Some("s2"), Some("p1"), r#"{"n":2}"#);
    let other_kind = record("dispute", "c1", Some("s1"), Some("f1"), "{}");
    store
        .put_records(&[first.clone(), second.clone(), other_kind.clone()])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.record("consent", "c1").ok().flatten(),
        Some(first.clone())
    );
    assert_eq!(
        store.record("dispute", "c1").ok().flatten(),
        Some(other_kind)
    );
    assert_eq!(store.record("consent", "nope").ok().flatten(), None);
    let by_subject = store
        .records("consent", RecordFilter::Subject(&id("s1")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(by_subject, vec![first.clone()], "only s1's consents");
    let by_owner = store
        .records("consent", RecordFilter::Owner("p1"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        by_owner,
        vec![first.clone(), second.clone()],
        "oldest first"
    );
    let updated = Record {
        body: r#"{"n":3}"#.into(),
        ..first.clone()
    };
    store
        .put_records(std::slice::from_ref(&updated))
        .unwrap_or_else(|e| panic!("{e}"));
    let all = store
        .records("consent", RecordFilter::All)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        all,
        vec![updated, second],
        "an update keeps the record's place"
    );
    assert!(store.delete_record("consent", "c1").unwrap_or(false));
    assert!(!store.delete_record("consent", "c1").unwrap_or(true));
    assert_eq!(store.record("consent", "c1").ok().flatten(), None);
}

fn first_record_writer_wins(store: &dyn Store) {
    let first = record("answer", "p1/t1", Some("s1"), Some("p1"), "yes");
    let second = record("answer", "p1/t1", Some("s1"), Some("p1"), "no");
    assert_eq!(store.insert_record_once(&first).ok(), Some(None));
    assert_eq!(
        store.insert_record_once(&second).ok(),
        Some(Some(first.clone()))
    );
    assert_eq!(store.record("answer", "p1/t1").ok().flatten(), Some(first));
}

fn claim(key: &str, day: i64, subject: &str, body: &str) -> AnswerClaim {
    AnswerClaim {
        key: key.into(),
        day,
        subject: id(subject),
        body: body.into(),
    }
}

fn the_first_claim_of_an_answer_wins(store: &dyn Store) {
    let first = claim("p1|100|perk:a|t1", 100, "s1", r#"{"eligible":true}"#);
    assert_eq!(
        store.claim_answer(&first).ok(),
        Some(None),
        "a new key is claimed"
    );
    for later in [
        claim("p1|100|perk:a|t1", 100, "s1", r#"{"eligible":false}"#),
        // The same key about someone else: the service refuses the reuse,
        // so the store must hand back whom the key was first about.
        claim("p1|100|perk:a|t1", 100, "s2", "{}"),
    ] {
        assert_eq!(
            store.claim_answer(&later).ok(),
            Some(Some(first.clone())),
            "a key claimed before keeps its first answer"
        );
    }
    let other = claim("p1|100|perk:a|t2", 100, "s1", "{}");
    assert_eq!(
        store.claim_answer(&other).ok(),
        Some(None),
        "keys are apart"
    );
}

fn of_many_claims_at_once_exactly_one_wins(store: &dyn Store) {
    const CLAIMANTS: usize = 8;
    const KEYS: usize = 25;
    let outcomes: Vec<Vec<Option<AnswerClaim>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CLAIMANTS)
            .map(|claimant| {
                scope.spawn(move || {
                    (0..KEYS)
                        .map(|key| {
                            let mine = claim(&format!("k{key}"), 7, "s", &format!("by {claimant}"));
                            store.claim_answer(&mine).unwrap_or_else(|e| panic!("{e}"))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("a claimant panicked")))
            .collect()
    });
    for key in 0..KEYS {
        let winners: Vec<usize> = (0..CLAIMANTS)
            .filter(|&c| outcomes[c][key].is_none())
            .collect();
        assert_eq!(winners.len(), 1, "key k{key}: winners {winners:?}");
        let winner = format!("by {}", winners[0]);
        for (claimant, outcome) in outcomes.iter().enumerate() {
            if let Some(earlier) = &outcome[key] {
                assert_eq!(
                    earlier.body, winner,
                    "key k{key}: claimant {claimant} was handed another answer than the winner's"
                );
            }
        }
    }
}

fn old_days_answers_are_forgotten(store: &dyn Store) {
    for (key, day) in [("a", 98), ("b", 99), ("c", 100)] {
        let fresh = claim(key, day, "s", "{}");
        assert_eq!(store.claim_answer(&fresh).ok(), Some(None));
    }
    assert_eq!(store.forget_answers_before(99).ok(), Some(1));
    assert_eq!(store.forget_answers_before(99).ok(), Some(0));
    let again = claim("a", 100, "s", "new");
    assert_eq!(
        store.claim_answer(&again).ok(),
        Some(None),
        "a forgotten key is new"
    );
    assert!(
        store
            .claim_answer(&claim("b", 100, "s", "x"))
            .ok()
            .flatten()
            .is_some(),
        "a kept day's key is still claimed"
    );
}

/// Numbers and links `entries` after `heads`, as the service's writer does
/// (with a stand-in for its hash).
fn link_after(heads: &[ChainHead], entries: &mut [AuditEntry], writer: usize) {
    let mut next: Vec<ChainHead> = heads.to_vec();
    for entry in entries {
        let head = match next.iter_mut().find(|h| h.chain == entry.chain) {
            Some(head) => head,
            None => {
                next.push(ChainHead {
                    chain: entry.chain,
                    seq: 0,
                    hash: "genesis".into(),
                });
                next.last_mut().unwrap_or_else(|| unreachable!())
            }
        };
        entry.seq = head.seq + 1;
        entry.prev_hash = head.hash.clone();
        entry.hash = format!("{}/{}/by {writer}", entry.chain, entry.seq);
        head.seq = entry.seq;
        head.hash = entry.hash.clone();
    }
}

fn linked_appends_from_many_writers_follow_each_other(store: &dyn Store) {
    const WRITERS: usize = 4;
    const GROUPS: usize = 15;
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            scope.spawn(move || {
                for group in 0..GROUPS {
                    // Two chains per group, one shared by every writer.
                    let mut entries: Vec<AuditEntry> = [1, 2 + (writer as u32 % 2), 1]
                        .iter()
                        .map(|&chain| AuditEntry {
                            detail: format!("writer {writer} group {group}"),
                            ..on_chain(chain, 1, Some("s"))
                        })
                        .collect();
                    store
                        .append_audit_linked(&mut entries, &[], &mut |heads, entries| {
                            link_after(heads, entries, writer)
                        })
                        .unwrap_or_else(|e| {
                            panic!("writer {writer}, group {group}: a linked append failed: {e}")
                        });
                }
            });
        }
    });
    let expected = [
        (1, WRITERS * GROUPS * 2),
        (2, WRITERS * GROUPS / 2),
        (3, WRITERS * GROUPS / 2),
    ];
    for (chain, count) in expected {
        let entries = store
            .audit_entries(chain, 0, 10_000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entries.len(), count, "chain {chain}: every entry, once");
        let mut prev = "genesis".to_string();
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(
                entry.seq,
                i as u64 + 1,
                "chain {chain}: numbered without gaps"
            );
            assert_eq!(
                entry.prev_hash, prev,
                "chain {chain} entry {}: linked",
                entry.seq
            );
            prev = entry.hash.clone();
        }
    }
}

fn audit(seq: u64, subject_ref: Option<&str>) -> AuditEntry {
    on_chain(0, seq, subject_ref)
}

fn on_chain(chain: u32, seq: u64, subject_ref: Option<&str>) -> AuditEntry {
    AuditEntry {
        chain,
        seq,
        at: at(seq as i64),
        actor: "system".into(),
        action: "test".into(),
        subject_ref: subject_ref.map(str::to_string),
        detail: format!("entry {chain}/{seq}"),
        prev_hash: format!("h{chain}/{}", seq - 1),
        hash: format!("h{chain}/{seq}"),
        answer: None,
    }
}

fn answered(seq: u64, key: &str, body: &str) -> AuditEntry {
    AuditEntry {
        answer: Some(AuditAnswer {
            key: key.into(),
            body: body.into(),
        }),
        ..audit(seq, Some("r1"))
    }
}

fn audit_answers_are_found_by_subject_and_key_and_first_wins(store: &dyn Store) {
    let found = |subject: &str, key: &str| {
        store
            .audit_answer(subject, key)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|e| (e.chain, e.seq, e.answer.map(|a| a.body)))
    };
    assert_eq!(
        found("r1", "t1"),
        None,
        "nothing before anything is written"
    );
    store
        .append_audit(
            &[
                answered(1, "t1", "yes"),
                audit(2, None),
                answered(3, "t2", "no"),
            ],
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .append_audit(&[answered(4, "t1", "no")], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    // The same key about another subject, on another chain.
    let elsewhere = AuditEntry {
        answer: Some(AuditAnswer {
            key: "t2".into(),
            body: "maybe".into(),
        }),
        ..on_chain(9, 1, Some("r9"))
    };
    store
        .append_audit(&[elsewhere], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        found("r1", "t1"),
        Some((0, 1, Some("yes".into()))),
        "the first wins"
    );
    assert_eq!(found("r1", "t2"), Some((0, 3, Some("no".into()))));
    assert_eq!(
        found("r9", "t2"),
        Some((9, 1, Some("maybe".into()))),
        "each subject's own answer"
    );
    assert_eq!(found("r1", "t3"), None);
    assert_eq!(found("r2", "t1"), None, "never another subject's");
    let all = store
        .audit_entries(0, 0, 10)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all[0], answered(1, "t1", "yes"), "answers read back whole");
    assert_eq!(all[1].answer, None);
    assert_eq!(
        store.audit_heads().ok().map(|heads| heads[0].clone()),
        Some(answered(4, "t1", "no"))
    );
}

fn record_changes_commit_with_their_audit_entries(store: &dyn Store) {
    let consent = |body: &str| record("consent", "c1", Some("s1"), Some("p1"), body);
    store
        .put_records(&[record("freeze", "s1", Some("s1"), None, "{}")])
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .append_audit(
            &[audit(1, Some("r1")), audit(2, Some("r1"))],
            &[
                RecordWrite::Put(consent(r#"{"v":1}"#)),
                RecordWrite::Put(consent(r#"{"v":2}"#)),
                RecordWrite::Delete {
                    kind: "freeze",
                    id: "s1".into(),
                },
                RecordWrite::KeepFirst(record("answer", "a1", None, None, "first")),
                RecordWrite::KeepFirst(record("answer", "a1", None, None, "second")),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.record("consent", "c1").ok().flatten(),
        Some(consent(r#"{"v":2}"#)),
        "puts apply in order"
    );
    assert_eq!(store.record("freeze", "s1").ok().flatten(), None, "deleted");
    assert_eq!(
        store.record("answer", "a1").ok().flatten().map(|r| r.body),
        Some("first".to_string()),
        "the first kept answer wins"
    );
    // A group refused for its place in the chain changes no record.
    assert!(
        store
            .append_audit(
                &[audit(7, None)],
                &[
                    RecordWrite::Put(consent(r#"{"v":3}"#)),
                    RecordWrite::Delete {
                        kind: "answer",
                        id: "a1".into(),
                    },
                ],
            )
            .is_err()
    );
    assert_eq!(
        store.record("consent", "c1").ok().flatten(),
        Some(consent(r#"{"v":2}"#)),
        "a refused group wrote nothing"
    );
    assert!(store.record("answer", "a1").ok().flatten().is_some());
}

fn audit_appends_only_in_sequence(store: &dyn Store) {
    assert_eq!(store.audit_heads().ok(), Some(vec![]));
    store
        .append_audit(
            &[audit(1, Some("r1")), audit(2, None), audit(3, Some("r1"))],
            &[],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    for (offered, what) in [(5, "a gap"), (3, "a repeat")] {
        match store.append_audit(&[audit(offered, None)], &[]) {
            Err(Error::AuditOutOfSequence {
                chain,
                first,
                stored,
            }) => assert_eq!((chain, first, stored), (0, offered, 3), "{what}"),
            other => panic!("{what} must be refused as out of sequence, got {other:?}"),
        }
    }
    assert!(
        store
            .append_audit(&[audit(4, None), audit(6, None)], &[])
            .is_err(),
        "a gap inside a batch is refused"
    );
    assert_eq!(
        store.audit_heads().ok(),
        Some(vec![audit(3, Some("r1"))]),
        "refused batches wrote nothing"
    );
    let all = store
        .audit_entries(0, 0, 100)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(all[0], audit(1, Some("r1")));
    let page = store
        .audit_entries(0, 1, 1)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page, vec![audit(2, None)]);
    let mine = store
        .audit_of_subject("r1", 10)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        mine.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![3, 1],
        "newest first"
    );
    store
        .append_audit(&[audit(4, None)], &[])
        .unwrap_or_else(|e| panic!("a refused batch must not block the next: {e}"));
    assert_eq!(store.audit_heads().ok(), Some(vec![audit(4, None)]));
}

/// Chains are numbered apart: one batch may hold entries of several, each
/// following its own head, and a fault on one refuses the whole batch.
fn audit_chains_are_numbered_apart(store: &dyn Store) {
    store
        .append_audit(
            &[
                on_chain(0, 1, None),
                on_chain(3, 1, Some("a")),
                on_chain(5, 1, Some("b")),
                on_chain(3, 2, Some("a")),
                on_chain(0, 2, None),
            ],
            &[],
        )
        .unwrap_or_else(|e| panic!("interleaved chains in one batch: {e}"));
    store
        .append_audit(&[on_chain(5, 2, Some("b")), on_chain(3, 3, Some("a"))], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let heads = store.audit_heads().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        heads,
        vec![
            on_chain(0, 2, None),
            on_chain(3, 3, Some("a")),
            on_chain(5, 2, Some("b"))
        ],
        "one head per chain, by chain"
    );
    match store.append_audit(&[on_chain(3, 4, Some("a")), on_chain(5, 4, Some("b"))], &[]) {
        Err(Error::AuditOutOfSequence {
            chain: 5,
            first: 4,
            stored: 2,
        }) => {}
        other => panic!("a gap on chain 5 must be refused as such, got {other:?}"),
    }
    assert!(
        store
            .append_audit(&[on_chain(3, 4, Some("a")), on_chain(3, 6, Some("a"))], &[])
            .is_err(),
        "a gap inside one chain of a batch is refused"
    );
    assert_eq!(
        store.audit_heads().ok(),
        Some(heads),
        "refused batches wrote nothing on any chain"
    );
    let three = store
        .audit_entries(3, 1, 10)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        three,
        vec![on_chain(3, 2, Some("a")), on_chain(3, 3, Some("a"))]
    );
    assert_eq!(store.audit_entries(4, 0, 10).ok(), Some(vec![]));
    let mine = store
        .audit_of_subject("b", 10)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        mine,
        vec![on_chain(5, 2, Some("b")), on_chain(5, 1, Some("b"))],
        "a subject's entries, newest written first"
    );
}

/// Enough entries, in groups of uneven size, that a backend indexing its
/// log by subject in batches holds some entries indexed and some not: each
/// subject's access log must still be every entry of theirs, newest first.
fn access_logs_stay_whole_over_thousands_of_entries(store: &dyn Store) {
    let subjects = ["r1", "r2", "r3"];
    let subject_of = |seq: u64| match seq % 7 {
        0 => None,
        n => Some(subjects[(n % 3) as usize]),
    };
    let mut seq = 1u64;
    for group in 0..120u64 {
        let size = 1 + (group * 37) % 61;
        let entries: Vec<AuditEntry> = (seq..seq + size).map(|s| audit(s, subject_of(s))).collect();
        store
            .append_audit(&entries, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        seq += size;
        if group % 30 == 29 {
            for subject in subjects {
                for limit in [1, 10, 500, 5_000] {
                    let expected: Vec<u64> = (1..seq)
                        .rev()
                        .filter(|s| subject_of(*s) == Some(subject))
                        .take(limit)
                        .collect();
                    let found: Vec<u64> = store
                        .audit_of_subject(subject, limit)
                        .unwrap_or_else(|e| panic!("{e}"))
                        .iter()
                        .map(|e| e.seq)
                        .collect();
                    assert_eq!(
                        found,
                        expected,
                        "{subject}, limit {limit}, head {}",
                        seq - 1
                    );
                }
            }
        }
    }
    assert!(seq > 3_000, "enough entries to cross batches: {seq}");
    let some = store
        .audit_of_subject("r2", 3)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        some.iter().all(|e| *e == audit(e.seq, Some("r2"))),
        "whole entries come back"
    );
}

fn erasure_leaves_only_a_tombstone(store: &dyn Store) {
    append_ok(store, &[sample("gone"), sample("stays")].concat());
    let score = |subject: &str| StoredScore {
        subject_id: id(subject),
        as_of: at(90),
        model_version: "m@1".into(),
        scored: true,
        score: Some(640),
        pd: Some(0.02),
        dimensions: [None; 5],
        reasons: vec![],
        computed_at: at(90),
    };
    store
        .put_scores(&[score("gone"), score("stays")])
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .put_records(&[
            record("consent", "g", Some("gone"), Some("p"), "{}"),
            record("consent", "s", Some("stays"), Some("p"), "{}"),
            record("partner", "p", None, None, "{}"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    for (key, subject) in [("answer-gone", "gone"), ("answer-stays", "stays")] {
        store
            .claim_answer(&claim(key, 1, subject, "{\"score\":640}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let erased = store
        .erase_subject(&id("gone"), &id("erased-abc"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the subject existed"));
    assert_eq!((erased.events, erased.scores, erased.records), (6, 1, 1));
    assert_eq!(store.subject(&id("gone")).ok().flatten(), None);
    assert!(events_of(store, "gone").is_empty());
    assert_eq!(store.latest_score(&id("gone")).ok().flatten(), None);
    assert_eq!(store.record("consent", "g").ok().flatten(), None);
    let tombstone = store
        .subject(&id("erased-abc"))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the tombstone is kept"));
    assert_eq!(tombstone.state, SubjectState::OptedOut);
    assert!(events_of(store, "erased-abc").is_empty());
    // A scan finds the tombstone in its own hash's range, never the id's.
    for (name, hash) in [
        ("erased-abc", subject_hash("erased-abc")),
        ("gone", subject_hash("gone")),
    ] {
        let range = HashRange {
            first: hash,
            last: hash,
        };
        let mut page = Vec::new();
        store
            .scan_subjects(range, None, 10, &mut page)
            .unwrap_or_else(|e| panic!("{e}"));
        let found: Vec<&str> = page.iter().map(|r| r.subject.id.as_str()).collect();
        let expected: &[&str] = if name == "gone" { &[] } else { &["erased-abc"] };
        assert_eq!(found, expected, "scanning the range of {name}'s hash");
    }
    // Everyone else is untouched.
    assert_eq!(events_of(store, "stays").len(), 6);
    assert!(store.latest_score(&id("stays")).ok().flatten().is_some());
    assert!(store.record("consent", "s").ok().flatten().is_some());
    assert!(store.record("partner", "p").ok().flatten().is_some());
    // Answers claimed about the erased subject go; others stay.
    let reclaim = |key: &str| {
        store
            .claim_answer(&claim(key, 1, "someone", "{}"))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(
        reclaim("answer-gone"),
        None,
        "an erased subject's answer is gone"
    );
    assert!(
        reclaim("answer-stays").is_some(),
        "another subject's answer stays"
    );
    // The erased subject's events are refused from now on.
    match store.append_events(&sample("gone")[1..]) {
        Err(Error::Rejected(r)) => assert_eq!(r[0].code, "not_enrolled"),
        other => panic!("events after erasure: {other:?}"),
    }
    assert_eq!(store.counts().map(|c| c.subjects).ok(), Some(1));
    assert_eq!(
        store.erase_subject(&id("nobody"), &id("erased-x")).ok(),
        Some(None),
        "erasing an unknown subject is a no-op"
    );
}

fn distribution_counts_latest_scores_of_enrolled_subjects(store: &dyn Store) {
    append_ok(store, &[sample("a"), sample("b"), sample("c")].concat());
    let score = |subject: &str, day: i64, value: Option<i32>| StoredScore {
        subject_id: id(subject),
        as_of: at(day),
        model_version: "m@1".into(),
        scored: value.is_some(),
        score: value,
        pd: None,
        dimensions: [None; 5],
        reasons: vec![],
        computed_at: at(day),
    };
    store
        .put_scores(&[
            score("a", 1, Some(400)),
            score("a", 2, Some(612)),
            score("b", 1, Some(619)),
            score("c", 1, None),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let distribution = store
        .score_distribution(10)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(distribution.buckets, vec![(610, 2)]);
    assert_eq!(distribution.not_enough_data, 1);
}

/// A backend may keep logs it has read (the SQLite one does); whatever it
/// keeps, a read after a write returns must see the write.
fn a_subject_log_follows_every_write_at_once(store: &dyn Store) {
    let facts = |subject: &str| {
        store
            .subject_log(&id(subject))
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|log| log.facts().len())
    };
    append_ok(store, &[sample("a"), sample("b")].concat());
    assert_eq!(facts("a"), Some(6));
    assert_eq!(facts("b"), Some(6));
    // Another furnisher: the factory numbers its event ids from 1.
    let mut f = EventFactory::new("shop", "a");
    append_ok(
        store,
        &[f.account_opened(at(90), "card", AccountType::Card, None)],
    );
    assert_eq!(facts("a"), Some(7), "an append shows at once");
    assert_eq!(facts("b"), Some(6));
    // A refused batch changes nothing, not even its valid part.
    let mut nobody = EventFactory::new("bank", "nobody");
    let refused = store.append_events(&[
        f.account_opened(at(91), "card2", AccountType::Card, None),
        nobody.bill(at(90), "acct", "x", 1),
    ]);
    assert!(
        refused.is_err(),
        "a batch with an unenrolled subject is refused"
    );
    assert_eq!(facts("a"), Some(7));
    store
        .erase_subject(&id("a"), &id("erased-a"))
        .unwrap_or_else(|e| panic!("{e}"));
    let erased = store
        .subject_log(&id("a"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(erased.is_none(), "an erasure shows at once");
    assert_eq!(facts("b"), Some(6));
}

fn a_restricted_consent_changes_with_its_audit_entry_and_shows_at_once(store: &dyn Store) {
    append_ok(store, &[sample("a"), sample("b")].concat());
    let consent = |subject: &str| {
        let stored = store
            .subject(&id(subject))
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|s| s.restricted_data_consent);
        let logged = store
            .subject_log(&id(subject))
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|log| log.subject().restricted_data_consent);
        assert_eq!(stored, logged, "the subject and its log agree");
        stored
    };
    let mut scanned = Vec::new();
    let scan = |out: &mut Vec<SubjectLog>| {
        store
            .scan_logs(HashRange::ALL, None, 10, out)
            .unwrap_or_else(|e| panic!("{e}"));
        out.iter()
            .map(|l| {
                (
                    l.subject().id.to_string(),
                    l.subject().restricted_data_consent,
                )
            })
            .collect::<Vec<_>>()
    };
    let given_at_enrolment = consent("a");
    let change = |seq: u64, given: bool| {
        store.append_audit(
            &[audit(seq, Some("ra"))],
            &[RecordWrite::RestrictedDataConsent {
                subject: id("a"),
                given,
            }],
        )
    };
    change(1, !given_at_enrolment.unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        consent("a"),
        given_at_enrolment.map(|g| !g),
        "a change shows at once, in the log too"
    );
    assert_eq!(consent("b"), given_at_enrolment, "no other subject moves");
    assert!(
        scan(&mut scanned).contains(&("a".to_string(), !given_at_enrolment.unwrap_or_default())),
        "scans see it"
    );
    // Out of sequence: neither the entry nor the change is kept.
    assert!(change(9, given_at_enrolment.unwrap_or_default()).is_err());
    assert_eq!(consent("a"), given_at_enrolment.map(|g| !g));
    // A subject no longer enrolled stays without consent, and the entry's
    // group is not failed by it.
    store
        .erase_subject(&id("b"), &id("erased-b"))
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .append_audit(
            &[audit(2, None)],
            &[RecordWrite::RestrictedDataConsent {
                subject: id("b"),
                given: true,
            }],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(consent("b"), None);
    let tombstone = store
        .subject(&id("erased-b"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tombstone.map(|s| s.restricted_data_consent), Some(false));
}

fn one_subject_log_matches_its_events(store: &dyn Store) {
    append_ok(store, &[sample("a"), sample("b")].concat());
    let log = store
        .subject_log(&id("a"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("a is enrolled"));
    let subject = store
        .subject(&id("a"))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("a"));
    let expected =
        SubjectLog::from_events(subject, &events_of(store, "a")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log.facts(), expected.facts());
    assert_eq!(log.subject(), expected.subject());
    assert!(store.subject_log(&id("nobody")).ok().flatten().is_none());
}

/// A store holding a little of everything: subjects (one erased to a
/// tombstone, one with the restricted consent), keys, scores, records of
/// several kinds, audit entries on two chains (one with an answer), claims.
fn fill(store: &dyn Store) {
    append_ok(
        store,
        &[sample("mover-a"), sample("mover-b"), sample("mover-c")].concat(),
    );
    let score = |subject: &str, day: i64| StoredScore {
        subject_id: id(subject),
        as_of: at(day),
        model_version: "m@1".into(),
        scored: true,
        score: Some(600 + day as i32),
        pd: Some(0.1 / (day as f64 + 3.0)),
        dimensions: [Some(10), None, Some(30), Some(40), Some(50)],
        reasons: vec!["R1".into(), "R2".into()],
        computed_at: at(day + 1),
    };
    store
        .put_scores(&[
            score("mover-a", 60),
            score("mover-a", 90),
            score("mover-b", 90),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .put_records(&[
            record("partner", "p", None, None, "{\"name\":\"P\"}"),
            record("consent", "c1", Some("mover-a"), Some("p"), "{}"),
            record("secret", "s", None, None, "\"00ff\""),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut entries = vec![audit(1, None), answered(2, "k", "{\"yes\":true}")];
    entries.push(on_chain(3, 1, Some("r3")));
    store
        .append_audit(
            &entries,
            &[RecordWrite::RestrictedDataConsent {
                subject: id("mover-b"),
                given: true,
            }],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .claim_answer(&claim("q1", 5, "mover-a", "{}"))
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .erase_subject(&id("mover-c"), &id("erased-mover-c"))
        .unwrap_or_else(|e| panic!("{e}"));
}

fn tally_of(store: &dyn Store) -> crate::transfer::Tally {
    crate::transfer::tally(store).unwrap_or_else(|e| panic!("tallying: {e}"))
}

fn a_deployment_moves_whole_into_an_empty_store(from: &dyn Store, to: &dyn Store) {
    fill(from);
    let before = tally_of(from);
    assert_eq!(
        (
            before.subjects,
            before.scores,
            before.audit_entries,
            before.claims
        ),
        (3, 3, 3, 1),
        "the filled store: {before:?}"
    );
    let moved = crate::transfer::copy(from, to).unwrap_or_else(|e| panic!("moving: {e}"));
    assert_eq!(moved, before, "what was read is what the source holds");
    assert_eq!(
        tally_of(to),
        before,
        "the target holds exactly the same rows"
    );
    assert_eq!(to.counts().ok(), from.counts().ok());
    for subject in ["mover-a", "mover-b", "erased-mover-c"] {
        assert_eq!(
            to.subject(&id(subject)).ok(),
            from.subject(&id(subject)).ok(),
            "{subject}"
        );
        assert_eq!(
            events_of(to, subject),
            events_of(from, subject),
            "{subject}"
        );
        assert_eq!(
            to.score_history(&id(subject)).ok(),
            from.score_history(&id(subject)).ok(),
            "{subject}"
        );
    }
    assert_eq!(
        to.records("consent", RecordFilter::Owner("p")).ok(),
        from.records("consent", RecordFilter::Owner("p")).ok()
    );
    assert_eq!(to.audit_heads().ok(), from.audit_heads().ok());
    assert_eq!(
        to.audit_answer("r1", "k").ok().flatten().map(|e| e.hash),
        Some("h0/2".to_string()),
        "answers are found in the moved log"
    );
    // The moved store goes on as the source would: keys and claims moved
    // with it, and new writes follow what is there.
    let repeat = to
        .append_events(&sample("mover-a"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(repeat.duplicates, sample("mover-a").len(), "{repeat:?}");
    assert_eq!(
        to.claim_answer(&claim("q1", 5, "mover-a", "other"))
            .ok()
            .flatten()
            .map(|c| c.body),
        Some("{}".to_string())
    );
    append_ok(to, &sample("newcomer"));
    to.append_audit(&[on_chain(3, 2, Some("r3"))], &[])
        .unwrap_or_else(|e| panic!("the moved chain continues: {e}"));
}

fn a_move_into_a_store_that_holds_anything_is_refused(from: &dyn Store, to: &dyn Store) {
    fill(from);
    to.put_records(&[record("partner", "already", None, None, "{}")])
        .unwrap_or_else(|e| panic!("{e}"));
    let before = tally_of(to);
    let refused = crate::transfer::copy(from, to);
    assert!(
        matches!(&refused, Err(Error::NotEmpty(what)) if what.contains("records")),
        "{refused:?}"
    );
    assert_eq!(tally_of(to), before, "nothing was written");
}

fn a_move_that_fails_midway_keeps_nothing(from: &dyn Store, to: &dyn Store) {
    fill(from);
    let empty = tally_of(to);
    let mut pages = Vec::new();
    from.export_rows(&mut |page| {
        pages.push(Ok(page));
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(pages.len() > 3, "a page per table at least");
    pages.insert(3, Err(Error::Backend("the source went away".into())));
    let failed = to.import_rows(&mut pages.into_iter());
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(tally_of(to), empty, "no page of a failed move is kept");
    let mut duplicated = Vec::new();
    from.export_rows(&mut |page| {
        duplicated.push(Ok(page.clone()));
        duplicated.push(Ok(page));
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let failed = to.import_rows(&mut duplicated.into_iter());
    assert!(failed.is_err(), "a row twice is refused: {failed:?}");
    assert_eq!(tally_of(to), empty, "and nothing of it kept");
}

fn an_erasure_commits_with_its_audit_entry(store: &dyn Store) {
    append_ok(store, &sample("leaving"));
    store
        .append_audit(&[on_chain(5, 1, Some("r-leaving"))], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut seen = None;
    let mut make = |erasure: &crate::Erasure| {
        seen = Some(*erasure);
        AuditEntry {
            detail: format!("erased {} events", erasure.events),
            // Numbered and linked by the store's call of `link`.
            ..on_chain(5, 1, Some("r-leaving"))
        }
    };
    let mut link = |heads: &[ChainHead], entries: &mut [AuditEntry]| link_after(heads, entries, 0);
    let erased = store
        .erase_subject_audited(
            &id("leaving"),
            &id("erased-leaving"),
            Some(crate::EntryOf {
                make: &mut make,
                link: &mut link,
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the subject was there"));
    assert_eq!(seen, Some(erased), "the entry is made of what was erased");
    let entries = store
        .audit_entries(5, 0, 10)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[1].seq, 2);
    assert_eq!(
        entries[1].prev_hash, entries[0].hash,
        "linked after the head"
    );
    assert_eq!(
        entries[1].detail,
        format!("erased {} events", sample("leaving").len())
    );
    assert!(
        store
            .subject(&id("erased-leaving"))
            .ok()
            .flatten()
            .is_some()
    );
    // An unknown subject: nothing erased, nothing written.
    let mut never = |_: &crate::Erasure| -> AuditEntry { panic!("no entry for nobody") };
    let nobody = store.erase_subject_audited(
        &id("nobody"),
        &id("erased-nobody"),
        Some(crate::EntryOf {
            make: &mut never,
            link: &mut link,
        }),
    );
    assert!(matches!(nobody, Ok(None)), "{nobody:?}");
    assert_eq!(store.audit_entries(5, 0, 10).map(|e| e.len()).ok(), Some(2));
}

fn an_audited_event_write_commits_with_its_entry_or_not_at_all(store: &dyn Store) {
    let mut link = |heads: &[ChainHead], entries: &mut [AuditEntry]| link_after(heads, entries, 0);
    let mut make = |report: &crate::AppendReport| AuditEntry {
        detail: format!("{} written", report.inserted),
        ..on_chain(7, 1, Some("r-joining"))
    };
    let events = sample("joining");
    let mut write = |writer: &mut dyn crate::EventWriter| writer.append(&events).map(drop);
    let report = store
        .write_events_audited(
            &mut write,
            Some(crate::EntryOf {
                make: &mut make,
                link: &mut link,
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.inserted, events.len());
    let entries = store
        .audit_entries(7, 0, 10)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].detail, format!("{} written", events.len()));
    assert_eq!(events_of(store, "joining").len(), events.len());
    // A write that fails keeps neither its events nor its entry.
    let more = sample("refused");
    let mut failing = |writer: &mut dyn crate::EventWriter| {
        writer.append(&more)?;
        Err(Error::Backend("the caller gave up".into()))
    };
    let mut never = |_: &crate::AppendReport| -> AuditEntry { on_chain(7, 1, Some("r-joining")) };
    let refused = store.write_events_audited(
        &mut failing,
        Some(crate::EntryOf {
            make: &mut never,
            link: &mut link,
        }),
    );
    assert!(refused.is_err());
    assert!(events_of(store, "refused").is_empty());
    assert_eq!(store.audit_entries(7, 0, 10).map(|e| e.len()).ok(), Some(1));
}

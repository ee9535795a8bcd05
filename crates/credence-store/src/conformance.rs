//! One test story for every backend.
//!
//! A backend's tests call [`run_all`] with a factory that opens a fresh,
//! empty store. Each check panics with a message that names the broken
//! property, so a failing backend says what it got wrong.

use crate::{Error, ScanCursor, Store, StoredScore, SubjectRecord};
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

/// Every check of the suite.
pub const CHECKS: &[Check] = checks![
    schema_version_is_positive,
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
    partitions_cover_every_subject_once,
    scores_round_trip_and_keep_history,
    counts_add_up,
];

/// Runs every check, each on a fresh store from `open_empty`.
pub fn run_all(open_empty: &dyn Fn() -> Box<dyn Store>) {
    for (name, check) in CHECKS {
        let store = open_empty();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(store.as_ref())));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "conformance check `{name}` failed on backend {}: {message}",
                store.backend()
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
            .scan_subjects(cursor, None, 5, &mut page)
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
        .scan_subjects(None, None, 10, &mut records)
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .scan_logs(None, None, 10, &mut logs)
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
        let ranges = store.partition(parts).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !ranges.is_empty() && ranges.len() <= parts,
            "{parts} parts gave {} ranges",
            ranges.len()
        );
        let mut seen = Vec::new();
        let mut page = Vec::new();
        for (start, until) in ranges {
            let mut cursor = start;
            loop {
                cursor = store
                    .scan_subjects(cursor, until, 4, &mut page)
                    .unwrap_or_else(|e| panic!("{e}"));
                seen.extend(page.iter().map(|r| r.subject.id.to_string()));
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
    let empty_ranges = store.partition(0).unwrap_or_else(|e| panic!("{e}"));
    assert!(!empty_ranges.is_empty(), "zero parts still means one range");
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

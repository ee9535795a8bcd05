use super::*;
use credence_domain::Subject;
use credence_domain::build::EventFactory;
use credence_domain::{
    AccountType, Closure, Damage, Event, IdentityLevel, SubjectKind, SubjectState,
};
use jiff::Timestamp;

fn day(n: i64) -> Timestamp {
    // Day 0 is 2020-01-01.
    Timestamp::from_second(1_577_836_800 + n * 86_400).expect("in range")
}

fn subject(id: &str) -> Subject {
    Subject {
        id: credence_domain::SubjectId::new(id).expect("valid"),
        kind: SubjectKind::Person,
        enrolled_at: day(0),
        restricted_data_consent: true,
        state: SubjectState::Enrolled,
    }
}

/// A two-year file: an account with monthly bills, each paid `late[i]` days
/// late (or not at all for `None`).
fn file(late: &[Option<u32>]) -> Vec<Event> {
    let mut f = EventFactory::new("bank", "s");
    let mut events = vec![
        f.enrolled(day(0), SubjectKind::Person, true),
        f.account_opened(day(1), "loan", AccountType::Loan, None),
        f.identity_verified(day(2), IdentityLevel::Standard),
    ];
    for (i, late) in late.iter().enumerate() {
        let due = day(30 * (i as i64 + 1));
        let bill = format!("b{i}");
        events.push(f.bill(due, "loan", &bill, 10_000));
        if let Some(days) = late {
            let paid = Timestamp::from_second(due.as_second() + i64::from(*days) * 86_400)
                .expect("in range");
            events.push(f.payment(paid, "loan", Some(&bill), 10_000, *days));
        }
    }
    events.sort_by(credence_domain::canonical_order);
    events
}

fn features(events: &[Event], as_of: Timestamp) -> FeatureSet {
    let log = SubjectLog::from_events(subject("s"), events).expect("one subject, ordered");
    compute_features(&log, as_of, &Policy::default())
}

#[test]
fn a_clean_file_has_perfect_payment_features() {
    let f = features(&file(&[Some(0); 12]), day(400));
    assert_eq!(f.thin, None);
    assert_eq!(f.values.get(Feature::OnTimeRatio24m), Some(1.0));
    assert_eq!(f.values.get(Feature::WorstDaysLate24m), Some(0.0));
    assert_eq!(f.values.get(Feature::Delinquencies30), Some(0.0));
    assert_eq!(f.values.get(Feature::MonthsSinceLastDelinquency), None);
    assert_eq!(f.values.get(Feature::IdentityLevel), Some(2.0));
    assert_eq!(f.values.get(Feature::OpenAccounts), Some(1.0));
    assert_eq!(f.values.get(Feature::PaidToBilledRatio12m), Some(1.0));
}

#[test]
fn lateness_is_bucketed_by_days() {
    let f = features(
        &file(&[Some(0), Some(10), Some(45), Some(75), Some(120), None]),
        day(400),
    );
    assert_eq!(f.values.get(Feature::OnTimeRatio24m), Some(1.0 / 6.0));
    assert_eq!(
        f.values.get(Feature::WorstDaysLate24m),
        Some(220.0),
        "the unpaid bill is 220 days overdue"
    );
    assert_eq!(f.values.get(Feature::Delinquencies30), Some(1.0));
    assert_eq!(f.values.get(Feature::Delinquencies60), Some(1.0));
    assert_eq!(f.values.get(Feature::Delinquencies90Plus), Some(2.0));
}

#[test]
fn an_unpaid_bill_is_not_delinquent_until_thirty_days_overdue() {
    let events = file(&[Some(0), Some(0), None]);
    let due = 90;
    assert_eq!(
        features(&events, day(due + 29))
            .values
            .get(Feature::Delinquencies90Plus),
        Some(0.0)
    );
    assert_eq!(
        features(&events, day(due + 29))
            .values
            .get(Feature::OnTimeRatio24m),
        Some(1.0)
    );
    let later = features(&events, day(due + 30));
    assert_eq!(later.values.get(Feature::Delinquencies30), Some(1.0));
}

#[test]
fn an_early_payment_finds_its_bill() {
    let mut f = EventFactory::new("bank", "s");
    let mut events = vec![
        f.enrolled(day(0), SubjectKind::Person, false),
        f.account_opened(day(1), "a", AccountType::Utility, None),
        f.payment(day(20), "a", Some("b1"), 500, 0),
        f.bill(day(30), "a", "b1", 500),
    ];
    events.sort_by(credence_domain::canonical_order);
    let values = features(&events, day(200)).values;
    assert_eq!(values.get(Feature::OnTimeRatio24m), Some(1.0));
    assert_eq!(
        values.get(Feature::Delinquencies90Plus),
        Some(0.0),
        "the bill is paid, not unpaid"
    );
}

#[test]
fn negative_records_age_out_on_their_date() {
    let events = file(&[Some(0), Some(45), Some(0), Some(0)]);
    let log = SubjectLog::from_events(subject("s"), &events).expect("valid");
    let policy = Policy::default();
    let records = negative_records(&log, &events, day(400), &policy).expect("matching events");
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.severity, NegativeSeverity::Delinquency);
    assert_eq!(record.dated, day(60), "dated from the bill's due date");
    assert_eq!(record.stops_counting, policy.stops_counting(day(60)));
    assert_eq!(
        record.stops_counting.strftime("%Y-%m-%d").to_string(),
        "2025-03-01",
        "five calendar years after 2020-03-01"
    );
    let just_before =
        Timestamp::from_second(record.stops_counting.as_second() - 1).expect("in range");
    assert_eq!(
        features(&events, just_before)
            .values
            .get(Feature::Delinquencies30),
        Some(1.0)
    );
    assert_eq!(
        features(&events, record.stops_counting)
            .values
            .get(Feature::Delinquencies30),
        Some(0.0)
    );
    assert!(
        negative_records(&log, &events, record.stops_counting, &policy)
            .expect("matching")
            .is_empty()
    );
}

#[test]
fn negative_records_read_as_people_write() {
    let events = file(&[Some(0), Some(1)]);
    let log = SubjectLog::from_events(subject("s"), &events).expect("valid");
    let records =
        negative_records(&log, &events, day(400), &Policy::default()).expect("matching events");
    assert_eq!(records.len(), 1);
    assert!(
        records[0].description.ends_with("made 1 day late"),
        "{}",
        records[0].description
    );
    assert_eq!(
        crate::rental_problem(3, credence_domain::Damage::None),
        "3 days late"
    );
    assert_eq!(
        crate::rental_problem(0, credence_domain::Damage::Minor),
        "with minor damage"
    );
}

#[test]
fn the_ageing_period_is_configurable() {
    let events = file(&[Some(0), Some(45)]);
    let at = day(60 + 6 * 366); // six years later
    let five = features(&events, at);
    assert_eq!(five.values.get(Feature::Delinquencies30), Some(0.0));
    let log = SubjectLog::from_events(subject("s"), &events).expect("valid");
    let seven = compute_features(
        &log,
        at,
        &Policy {
            negative_ageing_years: 7,
            ..Policy::default()
        },
    );
    assert_eq!(seven.values.get(Feature::Delinquencies30), Some(1.0));
}

#[test]
fn thin_files_say_what_is_missing() {
    let mut f = EventFactory::new("op", "s");
    let enrolled_only = vec![f.enrolled(day(0), SubjectKind::Person, false)];
    let thin = features(&enrolled_only, day(10)).thin.expect("thin");
    assert_eq!(thin.reasons, vec![ThinReason::NoObligations]);
    let young = file(&[Some(0)]);
    let thin = features(&young, day(40)).thin.expect("thin");
    assert!(matches!(
        thin.reasons[0],
        ThinReason::ShortHistory {
            months: 1,
            required: 3
        }
    ));
    assert!(matches!(
        thin.reasons[1],
        ThinReason::FewRecentRecords {
            have: 1,
            required: 3
        }
    ));
    assert!(thin.reasons.iter().all(|r| !r.to_string().is_empty()));
}

#[test]
fn a_history_refuses_another_subjects_events() {
    let mut mine = file(&[Some(0)]);
    let mut theirs = EventFactory::new("bank", "someone-else");
    mine.push(theirs.bill(day(500), "x", "y", 1));
    let err = SubjectLog::from_events(subject("s"), &mine).expect_err("mixed subjects");
    assert!(err.to_string().contains("someone-else"), "{err}");
}

#[test]
fn a_history_requires_canonical_order_and_can_sort() {
    let mut events = file(&[Some(0), Some(0)]);
    events.reverse();
    assert!(matches!(
        SubjectLog::from_events(subject("s"), &events),
        Err(LogError::Unordered { .. })
    ));
    events.sort_by(credence_domain::canonical_order);
    assert!(SubjectLog::from_events(subject("s"), &events).is_ok());
}

#[test]
fn fulfilment_and_behaviour_features() {
    let mut f = EventFactory::new("bikes", "s");
    let mut events = vec![
        f.enrolled(day(0), SubjectKind::Person, false),
        f.rental_returned(day(100), "r1", 0, Damage::None),
        f.rental_returned(day(110), "r2", 2, Damage::Minor),
        f.account_opened(day(10), "card", AccountType::Card, Some(100_000)),
        f.balance(day(300), "card", 25_000),
        f.account_opened(day(20), "loan", AccountType::Loan, None),
        f.account_closed(day(200), "loan", Closure::PaidAsAgreed, None),
        f.account_opened(day(30), "old", AccountType::Telecom, None),
        f.account_closed(day(250), "old", Closure::ChargedOff, Some(5_000)),
    ];
    events.sort_by(credence_domain::canonical_order);
    let values = features(&events, day(320)).values;
    assert_eq!(values.get(Feature::RentalOnTimeRatio24m), Some(0.5));
    assert_eq!(values.get(Feature::RentalDamage24m), Some(1.0));
    assert_eq!(values.get(Feature::Utilisation), Some(0.25));
    assert_eq!(values.get(Feature::OpenAccounts), Some(1.0));
    assert_eq!(values.get(Feature::AccountMix), Some(3.0));
    assert_eq!(values.get(Feature::ContractsHonouredRatio), Some(0.5));
    assert_eq!(values.get(Feature::ChargeOffs), Some(1.0));
    assert_eq!(values.get(Feature::NewAccounts6m), Some(0.0));
}

#[test]
fn events_after_as_of_are_ignored() {
    let events = file(&[Some(0), Some(0), Some(90)]);
    let before = features(&events, day(95));
    assert_eq!(before.values.get(Feature::Delinquencies90Plus), Some(0.0));
    assert_eq!(before, features(&events[..events.len() - 1], day(95)));
}

proptest::proptest! {
    /// The engine's fast ageing test agrees with the exact stop date of the
    /// negative-record list, including around 29 February.
    #[test]
    fn fast_ageing_agrees_with_the_exact_stop_date(due_day in 0i64..3000, offset in -10i64..10, years in 1u32..8) {
        let policy = Policy { negative_ageing_years: years, ..Policy::default() };
        let mut f = EventFactory::new("bank", "s");
        let due = day(due_day);
        let mut events = vec![
            f.enrolled(day(0), SubjectKind::Person, false),
            f.account_opened(day(0), "a", AccountType::Loan, None),
            f.bill(due, "a", "b", 100),
            f.payment(Timestamp::from_second(due.as_second() + 45 * 86_400).expect("in range"), "a", Some("b"), 100, 45),
        ];
        events.sort_by(credence_domain::canonical_order);
        let stops = policy.stops_counting(due);
        let as_of = Timestamp::from_second(stops.as_second() + offset * 86_400 / 2).expect("in range");
        let log = SubjectLog::from_events(subject("s"), &events).expect("valid");
        let counted = compute_features(&log, as_of, &policy).values.get(Feature::Delinquencies30);
        let listed = negative_records(&log, &events, as_of, &policy).expect("matching").iter().any(|r| r.severity == NegativeSeverity::Delinquency);
        proptest::prop_assert_eq!(counted == Some(1.0), listed);
        proptest::prop_assert_eq!(listed, as_of < stops);
    }
}

#[test]
fn outcomes_look_only_inside_the_window() {
    // Bill 3 (due day 90) is never paid: it reaches 90 days past due on day 180.
    let events = file(&[Some(0), Some(0), None]);
    let log = SubjectLog::from_events(subject("s"), &events).expect("valid");
    let at = |d: i64| day(d).as_second();
    assert!(
        bad_outcome(&log, at(100), at(200)),
        "90+ reached on day 180, inside"
    );
    assert!(
        !bad_outcome(&log, at(100), at(170)),
        "not yet 90 days late at the window's end"
    );
    assert!(
        !bad_outcome(&log, at(181), at(400)),
        "reached before the window"
    );
    // Paid 45 days late: never a 90+ outcome.
    let paid = file(&[Some(0), Some(45)]);
    let log = SubjectLog::from_events(subject("s"), &paid).expect("valid");
    assert!(!bad_outcome(&log, at(0), at(400)));
}

#[test]
fn every_feature_has_a_unique_reason_code_and_plain_texts() {
    let codes: std::collections::BTreeSet<&str> =
        Feature::ALL.iter().map(|f| f.reason_code()).collect();
    assert_eq!(codes.len(), Feature::ALL.len());
    for feature in Feature::ALL {
        assert!(
            feature.reason().ends_with('.') && feature.improve().ends_with('.'),
            "{feature:?}"
        );
    }
}

/// Credence's own features pass the rule every model input must pass: the
/// category each declares is at least as strict as its name suggests.
#[test]
fn every_feature_name_agrees_with_its_category() {
    for feature in crate::Feature::ALL {
        let checked = credence_domain::check_declared(
            &format!("feature {:?}", feature.name()),
            feature.name(),
            feature.category(),
            None,
        );
        assert!(checked.is_ok(), "{checked:?}");
    }
}

#[test]
fn restricted_facts_count_only_while_the_subject_consents() {
    let mut events = file(&[Some(0); 6]);
    let mut f = EventFactory::new("employer", "s");
    events.push(f.income(day(150), 500_000));
    events.sort_by(credence_domain::canonical_order);
    let with = |consent: bool| {
        let subject = Subject {
            restricted_data_consent: consent,
            ..subject("s")
        };
        let log = SubjectLog::from_events(subject, &events).expect("ordered");
        compute_features(&log, day(200), &Policy::default())
            .values
            .get(Feature::CapacityRatio)
    };
    assert!(with(true).is_some(), "consented income counts");
    assert_eq!(with(false), None, "without the consent it is as if absent");
}

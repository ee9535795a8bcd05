//! Integration tests of the service over the real SQLite store: import,
//! guardrails, isolation, determinism, monotonicity, ageing, thin files and
//! rescoring. One test binary (modules below) to keep link time down.

mod support {
    use credence_domain::build::EventFactory;
    use credence_domain::{AccountType, Event, IdentityLevel, SubjectId, SubjectKind};
    pub use credence_service::Furnishing;
    use credence_service::{Config, Ingestor, Scorer};
    use credence_store::prelude::*;
    use credence_store_sqlite::SqliteStore;
    use jiff::Timestamp;

    pub struct World {
        pub dir: tempfile::TempDir,
        pub store: SqliteStore,
        pub scorer: Scorer,
        pub ingestor: Ingestor,
    }

    pub fn world() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("t.db")).expect("opens");
        let config = Config::from_toml(include_str!("../../../credence.example.toml"))
            .expect("example config");
        World {
            dir,
            store,
            scorer: Scorer::from_config(&config).expect("default models"),
            ingestor: Ingestor::new(&config).expect("catalogue"),
        }
    }

    pub fn day(n: i64) -> Timestamp {
        // Day 0 is 2022-01-01.
        Timestamp::from_second(1_640_995_200 + n * 86_400).expect("in range")
    }

    pub fn id(raw: &str) -> SubjectId {
        SubjectId::new(raw).expect("valid id")
    }

    /// A subject with a card and a loan, two years of bills, a few late.
    pub fn history(subject: &str) -> Vec<Event> {
        let mut f = EventFactory::new("bank", subject);
        let mut events = vec![
            f.enrolled(day(0), SubjectKind::Person, true),
            f.identity_verified(day(3), IdentityLevel::Standard),
            f.account_opened(day(5), "card", AccountType::Card, Some(200_000)),
            f.account_opened(day(10), "loan", AccountType::Loan, None),
            f.income(day(15), 300_000),
        ];
        for month in 1..=24i64 {
            let due = day(10 + 30 * month);
            let bill = format!("loan-{month}");
            events.push(f.bill(due, "loan", &bill, 20_000));
            let late = if month % 7 == 0 { 35 } else { 0 };
            events.push(f.payment(
                day(10 + 30 * month + late),
                "loan",
                Some(&bill),
                20_000,
                late as u32,
            ));
            if month % 3 == 0 {
                events.push(f.balance(day(12 + 30 * month), "card", 120_000));
            }
        }
        events
    }

    pub fn write(store: &dyn Store, events: &[Event]) {
        store.append_events(events).expect("append");
    }
}

mod import {
    use super::support::*;
    use credence_service::Error;
    use credence_service::import::{ImportOptions, import_file};
    use credence_store::prelude::*;
    use std::io::Write;

    fn file(world: &World, name: &str, lines: &[String]) -> std::path::PathBuf {
        let path = world.dir.path().join(name);
        let mut f = std::fs::File::create(&path).expect("create");
        for line in lines {
            writeln!(f, "{line}").expect("write");
        }
        path
    }

    /// Imports `path` with the default options at a fixed "now".
    fn import(
        world: &World,
        path: &std::path::Path,
    ) -> credence_service::Result<credence_service::import::ImportSummary> {
        import_file(
            &world.store,
            &world.ingestor,
            path,
            &ImportOptions::default(),
            day(1000),
            &mut |_| {},
        )
    }

    fn enrol(subject: &str) -> String {
        format!(
            r#"{{"furnisher_id":"op","event_id":"enrol-{subject}","subject_id":"{subject}","kind":"subject_enrolled","occurred_at":"2024-01-01","subject_kind":"person"}}"#
        )
    }

    fn bill(subject: &str, n: u32) -> String {
        format!(
            r#"{{"furnisher_id":"bank","event_id":"{subject}-b{n}","subject_id":"{subject}","kind":"bill_due","occurred_at":"2024-02-0{n}","account_id":"a","bill_id":"b{n}","amount":100,"currency":"EUR"}}"#
        )
    }

    #[test]
    fn a_good_file_imports_and_a_repeat_is_idempotent() {
        let world = world();
        let path = file(
            &world,
            "good.jsonl",
            &[enrol("s1"), bill("s1", 1), bill("s1", 2), String::new()],
        );
        let now = day(1000);
        let summary = import_file(
            &world.store,
            &world.ingestor,
            &path,
            &ImportOptions::default(),
            now,
            &mut |_| {},
        )
        .expect("imports");
        assert_eq!(
            (summary.records, summary.inserted, summary.duplicates),
            (3, 3, 0)
        );
        let again = import_file(
            &world.store,
            &world.ingestor,
            &path,
            &ImportOptions::default(),
            now,
            &mut |_| {},
        )
        .expect("re-imports");
        assert_eq!((again.inserted, again.duplicates), (0, 3));
        assert_eq!(world.store.counts().expect("counts").events, 3);
    }

    #[test]
    fn a_bad_file_writes_nothing_and_lists_every_bad_line() {
        let world = world();
        let lines = vec![
            enrol("s1"),
            bill("s1", 1),
            "{not json".to_string(),
            bill("s1", 2).replace(r#""amount":100"#, r#""amount":-100"#),
            bill("s1", 3).replace("bill_due", "church_tithe"),
            bill("nobody", 4),
        ];
        let path = file(&world, "bad.jsonl", &lines);
        let err = import(&world, &path).expect_err("refused");
        let Error::BadRecords { bad, errors, .. } = err else {
            panic!("expected BadRecords, got {err}")
        };
        let found: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.code.as_str())).collect();
        assert_eq!(bad, 3, "{found:?}");
        assert!(found.contains(&(3, "bad_json")), "{found:?}");
        assert!(found.contains(&(4, "negative_amount")), "{found:?}");
        assert!(found.contains(&(5, "prohibited_category")), "{found:?}");
        assert_eq!(
            world.store.counts().expect("counts").events,
            0,
            "nothing half-written"
        );
        assert_eq!(world.store.subject(&id("s1")).expect("reads"), None);
    }

    #[test]
    fn store_level_rejections_roll_back_the_whole_file() {
        let world = world();
        let path = file(
            &world,
            "unenrolled.jsonl",
            &[enrol("s1"), bill("s1", 1), bill("nobody", 2)],
        );
        let err = import(&world, &path).expect_err("refused");
        let Error::BadRecords { errors, .. } = err else {
            panic!("expected BadRecords")
        };
        assert_eq!(
            (errors[0].line, errors[0].code.as_str()),
            (3, "not_enrolled")
        );
        assert_eq!(world.store.counts().expect("counts").events, 0);
    }

    #[test]
    fn quarantine_imports_the_good_and_sets_aside_the_bad() {
        let world = world();
        let path = file(
            &world,
            "mixed.jsonl",
            &[
                enrol("s1"),
                bill("s1", 1),
                "[1,2]".into(),
                bill("nobody", 2),
                bill("s1", 3),
            ],
        );
        let quarantine = world.dir.path().join("q.jsonl");
        let options = ImportOptions {
            quarantine: Some(quarantine.clone()),
            ..ImportOptions::default()
        };
        let summary = import_file(
            &world.store,
            &world.ingestor,
            &path,
            &options,
            day(1000),
            &mut |_| {},
        )
        .expect("imports");
        assert_eq!((summary.inserted, summary.quarantined), (3, 2));
        let text = std::fs::read_to_string(&quarantine).expect("quarantine written");
        let entries: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["line"], 3);
        assert_eq!(entries[0]["errors"][0]["code"], "not_an_object");
        assert_eq!(entries[1]["line"], 4);
        assert_eq!(entries[1]["errors"][0]["code"], "not_enrolled");
        assert!(
            entries[1]["record"]
                .as_str()
                .is_some_and(|r| r.contains("nobody"))
        );
    }

    #[test]
    fn csv_files_import_like_json_lines() {
        let world = world();
        let lines = vec![
            "kind,furnisher_id,event_id,subject_id,occurred_at,subject_kind,account_id,bill_id,amount,currency".to_string(),
            "subject_enrolled,op,e1,s1,2024-01-01,person,,,,".to_string(),
            "bill_due,bank,e2,s1,2024-02-01,,a,b1,100,EUR".to_string(),
        ];
        let path = file(&world, "events.csv", &lines);
        let summary = import(&world, &path).expect("imports");
        assert_eq!(summary.inserted, 2);
        let bad = file(
            &world,
            "bad.csv",
            &["kind,religion".to_string(), "bill_due,x".to_string()],
        );
        let err = import(&world, &bad).expect_err("bad header");
        assert!(err.to_string().contains("religion"), "{err}");
    }

    const CSV_HEADER: &str = "kind,furnisher_id,event_id,subject_id,occurred_at,subject_kind,account_id,bill_id,amount,currency";

    fn csv_bill(n: u32) -> String {
        format!("bill_due,bank,e{n},s1,2024-02-01,,a,b{n},100,EUR")
    }

    #[test]
    fn a_csv_without_a_column_every_event_needs_is_refused_once_naming_it() {
        let world = world();
        let header = CSV_HEADER.replace(",subject_id", "");
        let rows: Vec<String> = std::iter::once(header)
            .chain((1..=300).map(|n| csv_bill(n).replace(",s1", "")))
            .collect();
        let err = import(&world, &file(&world, "nosubject.csv", &rows)).expect_err("refused");
        let Error::Input(message) = &err else {
            panic!("expected one file-level error, got {err}")
        };
        assert!(message.contains("no subject_id column"), "{message}");
        assert!(message.contains("line 1"), "{message}");
        assert_eq!(world.store.counts().expect("counts").events, 0);
    }

    #[test]
    fn a_csv_without_a_column_some_kind_needs_is_refused_once_at_its_first_row() {
        let world = world();
        let header = CSV_HEADER.replace(",amount", "");
        let rows: Vec<String> = std::iter::once(header)
            .chain(std::iter::once(
                "subject_enrolled,op,e0,s1,2024-01-01,person,,,".into(),
            ))
            .chain((1..=300).map(|n| csv_bill(n).replace(",100,", ",")))
            .collect();
        let err = import(&world, &file(&world, "noamount.csv", &rows)).expect_err("refused");
        let Error::Input(message) = &err else {
            panic!("expected one file-level error, got {err}")
        };
        assert!(
            message.starts_with("line 3: kind \"bill_due\" needs the column `amount`"),
            "{message}"
        );
        assert_eq!(world.store.counts().expect("counts").events, 0);
    }

    #[test]
    fn csv_problems_name_the_line_the_row_is_on() {
        let world = world();
        let rows = vec![
            CSV_HEADER.to_string(),
            "subject_enrolled,op,e0,s1,2024-01-01,person,,,,".to_string(),
            "bill_due,bank,e1,s1".to_string(),
            csv_bill(2).replace("2024-02-01", "someday"),
            String::new(),
            csv_bill(3).replace(",100,", ",-5,"),
        ];
        let err = import(&world, &file(&world, "lines.csv", &rows)).expect_err("refused");
        let Error::BadRecords { bad, errors, .. } = err else {
            panic!("expected BadRecords, got {err}")
        };
        let found: Vec<(u64, Option<&str>, &str)> = errors
            .iter()
            .map(|e| (e.line, e.field.as_deref(), e.code.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (3, None, "bad_csv"),
                (4, Some("occurred_at"), "invalid_time"),
                (6, Some("amount"), "negative_amount"),
            ]
        );
        assert_eq!(bad, 3);
        assert!(
            errors[0]
                .reason
                .contains("4 cells but the header has 10 columns"),
            "{}",
            errors[0].reason
        );
        let json = serde_json::to_value(&errors[0]).expect("serialises");
        assert!(json.get("field").is_none(), "no placeholder field: {json}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Whatever the blank lines, line endings and multi-line quoted
        /// cells, a problem names the line its row starts on.
        #[test]
        fn csv_problems_name_their_line_whatever_the_layout(
            rows in proptest::collection::vec((0usize..3, proptest::bool::ANY, proptest::bool::ANY), 1..12),
            final_break in proptest::bool::ANY,
        ) {
            let world = world();
            let mut text = format!("{CSV_HEADER}\n");
            let mut line = 2u64;
            let mut expected = Vec::new();
            for (n, (blanks, crlf, multi_line)) in rows.iter().enumerate() {
                let end = if *crlf { "\r\n" } else { "\n" };
                for _ in 0..*blanks {
                    text.push_str(end);
                    line += 1;
                }
                expected.push(line);
                let when = if *multi_line { "\"some\nday\"" } else { "someday" };
                text.push_str(&format!("bill_due,bank,e{n},s1,{when},,a,b{n},100,EUR"));
                line += 1 + u64::from(*multi_line);
                if n + 1 < rows.len() || final_break {
                    text.push_str(end);
                }
            }
            let path = world.dir.path().join("layout.csv");
            std::fs::write(&path, text).expect("write");
            let err = import(&world, &path).expect_err("every row is bad");
            let Error::BadRecords { errors, .. } = err else {
                panic!("expected BadRecords, got {err}")
            };
            let lines: Vec<u64> = errors
                .iter()
                .filter(|e| e.code == "invalid_time")
                .map(|e| e.line)
                .collect();
            proptest::prop_assert_eq!(lines, expected);
        }
    }

    #[test]
    fn a_file_of_many_bad_lines_lists_a_bounded_number_of_problems() {
        let world = world();
        let lines: Vec<String> = (0..credence_service::import::LISTED_ERRORS + 500)
            .map(|n| format!("{{not json {n}"))
            .collect();
        let err = import(&world, &file(&world, "junk.jsonl", &lines)).expect_err("refused");
        let Error::BadRecords {
            bad,
            errors,
            not_listed,
            ..
        } = err
        else {
            panic!("expected BadRecords, got {err}")
        };
        assert_eq!(bad, credence_service::import::LISTED_ERRORS + 500);
        assert_eq!(errors.len(), credence_service::import::LISTED_ERRORS);
        assert_eq!(not_listed, 500);
    }

    #[test]
    fn restricted_data_needs_the_separate_consent() {
        let world = world();
        let income = r#"{"furnisher_id":"employer","event_id":"i1","subject_id":"s1","kind":"income_reported","occurred_at":"2024-03-01","amount":300000,"currency":"EUR"}"#;
        let path = file(&world, "income.jsonl", &[enrol("s1"), income.to_string()]);
        let err = import(&world, &path).expect_err("no consent");
        let Error::BadRecords { errors, .. } = err else {
            panic!("expected BadRecords")
        };
        assert_eq!(errors[0].code, "restricted_without_consent");
        let consenting = enrol("s1").replace(
            r#""subject_kind":"person""#,
            r#""subject_kind":"person","restricted_data_consent":true"#,
        );
        let path = file(&world, "income-ok.jsonl", &[consenting, income.to_string()]);
        import(&world, &path).expect("consented");
    }

    #[test]
    fn unknown_formats_are_explained() {
        let world = world();
        let path = file(&world, "events.txt", &[enrol("s1")]);
        let err = import(&world, &path).expect_err("unknown format");
        assert!(err.to_string().contains(".jsonl or .csv"), "{err}");
    }
}

mod guardrails {
    use super::support::*;
    use credence_domain::DataCategory;
    use credence_scorecard::{Scorecard, default_model};
    use credence_service::Config;
    use serde_json::{Map, Value};

    #[test]
    fn prohibited_categories_are_refused_at_every_entry_point() {
        let world = world();
        // 1. An event kind that is not in the catalogue but names a prohibited category.
        // 2. A built-in kind declared with a prohibited category.
        let records: Vec<Map<String, Value>> = [
            r#"{"furnisher_id":"x","event_id":"1","subject_id":"s","kind":"political_party_membership","occurred_at":"2024-01-01"}"#,
            r#"{"furnisher_id":"x","event_id":"2","subject_id":"s","kind":"identity_verified","occurred_at":"2024-01-01","level":"basic","category":"biometrics"}"#,
        ]
        .iter()
        .map(|r| serde_json::from_str(r).expect("JSON"))
        .collect();
        let outcome = world
            .ingestor
            .ingest_batch(&world.store, &records, &Furnishing::Operator, day(1000))
            .expect("runs");
        let codes: Vec<(&str, &str)> = outcome
            .errors
            .iter()
            .map(|e| (e.field.as_deref().unwrap_or_default(), e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("kind", "prohibited_category"),
                ("category", "prohibited_category")
            ]
        );
        assert!(outcome.errors[0].reason.contains("political_opinion"));
        assert!(outcome.errors[1].reason.contains("biometrics"));
        // 3. A custom kind declared in configuration.
        let err = Config::from_toml(
            "[[custom_kinds]]\nname = \"friend_scores\"\ncategory = \"social_connections\"\n",
        )
        .expect_err("refused");
        assert!(err.contains("guilt by association"), "{err}");
        // 4. A model input.
        let mut model = default_model(credence_domain::SubjectKind::Person).expect("model");
        model.features[0].category = DataCategory::EthnicityOrNationalOrigin;
        model.seal();
        let err = Scorecard::from_json(&model.to_json()).expect_err("refused");
        assert!(
            err.to_string().contains("ethnicity_or_national_origin"),
            "{err}"
        );
        // 5. A model input renamed to a prohibited name, its category left
        // harmless: the name is checked on load too.
        let mut model = default_model(credence_domain::SubjectKind::Person).expect("model");
        model.features[0].name = "blood_type".into();
        model.seal();
        let err = Scorecard::from_json(&model.to_json()).expect_err("refused");
        assert!(err.to_string().contains("health_or_genetics"), "{err}");
    }

    #[test]
    fn custom_kinds_carry_only_their_declared_fields() {
        let world = world();
        let record = |fields: &str| -> Map<String, Value> {
            serde_json::from_str(&format!(
                r#"{{"furnisher_id":"x","event_id":"e","subject_id":"s","kind":"deposit_returned","occurred_at":"2024-01-01","fields":{fields}}}"#
            ))
            .expect("JSON")
        };
        let codes = |fields: &str| -> Vec<(String, String)> {
            world
                .ingestor
                .ingest_batch(
                    &world.store,
                    &[record(fields)],
                    &Furnishing::Operator,
                    day(1000),
                )
                .expect("runs")
                .errors
                .into_iter()
                .map(|e| (e.field.unwrap_or_default(), e.code))
                .collect()
        };
        for (fields, field, code) in [
            (
                r#"{"outcome":"full","item_category":"video_games"}"#,
                "fields.item_category",
                "unknown_field",
            ),
            (
                r#"{"outcome":"full","latitude":52.1}"#,
                "fields.latitude",
                "unknown_field",
            ),
            (
                r#"{"outcome":"full","related_subject":"bob"}"#,
                "fields.related_subject",
                "unknown_field",
            ),
            (
                r#"{"outcome":"full","note":"party member"}"#,
                "fields.note",
                "unknown_field",
            ),
            (
                r#"{"outcome":"a note about anything"}"#,
                "fields.outcome",
                "invalid_value",
            ),
            (
                r#"{"outcome":"full","days_to_return":-1}"#,
                "fields.days_to_return",
                "out_of_range",
            ),
            (r#"{"days_to_return":3}"#, "fields.outcome", "missing_field"),
        ] {
            let found = codes(fields);
            assert!(
                found.contains(&(field.to_string(), code.to_string())),
                "{fields}: {found:?}"
            );
        }
        // Declarations that would let such fields in are refused at load.
        for (toml, says) in [
            (
                "[custom_kinds.fields.note]\ntype = \"text\"\n",
                "unknown variant",
            ),
            (
                "[custom_kinds.fields.friendId]\ntype = \"boolean\"\n",
                "a–z",
            ),
            (
                "[custom_kinds.fields.guarantor_ref]\ntype = \"boolean\"\n",
                "names anyone",
            ),
            ("[custom_kinds.fields.gender]\ntype = \"boolean\"\n", "sex"),
            (
                "[custom_kinds.fields.kind_of]\ntype = \"choice\"\nvalues = [\"video_games\"]\n",
                "app_usage",
            ),
        ] {
            let err = Config::from_toml(&format!(
                "[[custom_kinds]]\nname = \"deposit_returned\"\ncategory = \"rental\"\n{toml}"
            ))
            .expect_err("refused");
            assert!(err.contains(says), "{toml}: {err}");
        }
        // A name may not contradict its category; a known prohibited kind
        // is refused by its rule, not as unknown.
        for (name, category, says) in [
            ("party_membership", "payment", "political_opinion"),
            ("breach_of_trust_report", "court_judgment", "blacklist"),
            ("blood_type", "identity", "health_or_genetics"),
        ] {
            let err = Config::from_toml(&format!(
                "[[custom_kinds]]\nname = \"{name}\"\ncategory = \"{category}\"\n"
            ))
            .expect_err("refused");
            assert!(err.contains(says), "{name}: {err}");
        }
        let refused = codes(r#"{}"#);
        assert!(
            refused.iter().any(|(_, c)| c == "missing_field"),
            "{refused:?}"
        );
    }

    #[test]
    fn a_batch_cannot_give_the_restricted_consent_its_subject_never_gave() {
        let world = world();
        let enrol_without = r#"{"furnisher_id":"op","event_id":"en1","subject_id":"s1","kind":"subject_enrolled","occurred_at":"2024-01-01","subject_kind":"person"}"#;
        let claim = r#"{"furnisher_id":"op","event_id":"en2","subject_id":"s1","kind":"subject_enrolled","occurred_at":"2024-02-01","subject_kind":"person","restricted_data_consent":true}"#;
        let income = r#"{"furnisher_id":"employer","event_id":"i1","subject_id":"s1","kind":"income_reported","occurred_at":"2024-03-01","amount":300000,"currency":"EUR"}"#;
        let batch = |lines: &[&str]| -> Vec<String> {
            let records: Vec<Map<String, Value>> = lines
                .iter()
                .map(|r| serde_json::from_str(r).expect("JSON"))
                .collect();
            world
                .ingestor
                .ingest_batch(&world.store, &records, &Furnishing::Operator, day(1000))
                .expect("runs")
                .errors
                .into_iter()
                .map(|e| e.code)
                .collect()
        };
        assert!(batch(&[enrol_without]).is_empty());
        let codes = batch(&[claim, income]);
        assert!(
            codes.contains(&"consent_not_by_event".to_string()),
            "{codes:?}"
        );
        assert!(
            codes.contains(&"restricted_without_consent".to_string()),
            "{codes:?}"
        );
    }

    #[test]
    fn a_subjects_score_does_not_move_when_another_subjects_events_change() {
        let world = world();
        write(&world.store, &history("alice"));
        write(&world.store, &history("bob"));
        let as_of = day(800);
        let before = world
            .scorer
            .report(&world.store, &id("alice"), as_of)
            .expect("scores");
        // Bob defaults badly: charge-off, judgment, unpaid bills.
        let mut f = credence_domain::build::EventFactory::new("bank", "bob")
            .furnisher("court")
            .clone();
        let bad = vec![
            f.judgment(day(700), "j1", 500_000),
            f.account_closed(
                day(710),
                "loan",
                credence_domain::Closure::ChargedOff,
                Some(100_000),
            ),
        ];
        write(&world.store, &bad);
        let after = world
            .scorer
            .report(&world.store, &id("alice"), as_of)
            .expect("scores");
        assert_eq!(before, after);
        let bob = world
            .scorer
            .report(&world.store, &id("bob"), as_of)
            .expect("scores");
        assert!(
            bob.score < before.score,
            "bob's own events do move bob's score"
        );
    }
}

mod properties {
    use super::support::*;
    use credence_domain::build::EventFactory;
    use credence_domain::{AccountType, Event, EventBody, SubjectKind};
    use credence_store::prelude::*;
    use proptest::prelude::*;

    /// A random but valid file: accounts, bills with random lateness (some
    /// unpaid), balances, rentals and public records over three years.
    fn arbitrary_history() -> impl Strategy<Value = Vec<Event>> {
        (
            proptest::collection::vec((0u32..150, any::<bool>()), 1..30),
            proptest::collection::vec((0u32..5, 0u8..3), 0..5),
            0u8..3,
            0i64..250_000,
            any::<bool>(),
        )
            .prop_map(|(bills, rentals, judgments, balance, charge_off)| {
                let mut f = EventFactory::new("bank", "p");
                let mut events = vec![
                    f.enrolled(day(0), SubjectKind::Person, false),
                    f.account_opened(day(1), "loan", AccountType::Loan, None),
                    f.account_opened(day(2), "card", AccountType::Card, Some(200_000)),
                    f.balance(day(400), "card", balance),
                ];
                for (i, (late, paid)) in bills.iter().enumerate() {
                    let due = day(30 * (i as i64 + 1));
                    let bill = format!("b{i}");
                    events.push(f.bill(due, "loan", &bill, 10_000));
                    if *paid {
                        events.push(f.payment(
                            day(30 * (i as i64 + 1) + i64::from(*late)),
                            "loan",
                            Some(&bill),
                            10_000,
                            *late,
                        ));
                    }
                }
                for (i, (late, damage)) in rentals.iter().enumerate() {
                    let damage = [
                        credence_domain::Damage::None,
                        credence_domain::Damage::Minor,
                        credence_domain::Damage::Major,
                    ][*damage as usize];
                    events.push(f.rental_returned(
                        day(200 + 40 * i as i64),
                        &format!("r{i}"),
                        *late,
                        damage,
                    ));
                }
                for j in 0..judgments {
                    events.push(f.judgment(
                        day(300 + 50 * i64::from(j)),
                        &format!("j{j}"),
                        100_000,
                    ));
                }
                if charge_off {
                    events.push(f.account_closed(
                        day(600),
                        "loan",
                        credence_domain::Closure::ChargedOff,
                        Some(50_000),
                    ));
                }
                events.sort_by(credence_domain::canonical_order);
                events
            })
    }

    fn subject() -> credence_domain::Subject {
        credence_domain::Subject {
            id: id("p"),
            kind: SubjectKind::Person,
            enrolled_at: day(0),
            restricted_data_consent: false,
            state: credence_domain::SubjectState::Enrolled,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Same events + same as-of + same model ⇒ identical score, whether
        /// computed twice in memory, from shuffled input, or after a round
        /// trip through the store.
        #[test]
        fn scores_are_deterministic(events in arbitrary_history(), as_of_day in 30i64..1500, seed in any::<u64>()) {
            let world = world();
            let as_of = day(as_of_day);
            let s = subject();
            let report = |events: &[Event]| world.scorer.report_events(s.clone(), events, as_of).expect("ordered");
            let first = report(&events);
            let second = report(&events);
            prop_assert_eq!(&first, &second);

            let mut shuffled = events.clone();
            let n = shuffled.len();
            for i in 0..n {
                shuffled.swap(i, (seed.wrapping_mul(i as u64 + 7) % n as u64) as usize);
            }
            shuffled.sort_by(credence_domain::canonical_order);
            prop_assert_eq!(&first, &report(&shuffled));

            write(&world.store, &events);
            let stored = world.scorer.report(&world.store, &id("p"), as_of).expect("scores");
            prop_assert_eq!(first.score, stored.score);
            prop_assert_eq!(first.pd, stored.pd);
            prop_assert_eq!(&first.reasons, &stored.reasons);
            prop_assert_eq!(&first.negative_records, &stored.negative_records);
        }

        /// An extra on-time payment of an existing bill never lowers the score.
        #[test]
        fn an_extra_on_time_payment_never_lowers_the_score(events in arbitrary_history(), pick in any::<prop::sample::Index>(), as_of_day in 30i64..1500) {
            let world = world();
            let as_of = day(as_of_day);
            let s = subject();
            let bills: Vec<(credence_domain::RefId, jiff::Timestamp)> = events.iter().filter_map(|e| match &e.body {
                EventBody::BillDue { bill_id, .. } => Some((bill_id.clone(), e.occurred_at)),
                _ => None,
            }).collect();
            prop_assume!(!bills.is_empty());
            let (bill, due) = bills[pick.index(bills.len())].clone();
            let before = world.scorer.report_events(s.clone(), &events, as_of).expect("ordered");
            let mut more = events.clone();
            let mut f = EventFactory::new("bank", "p");
            let mut extra = f.payment(due, "loan", Some(bill.as_str()), 10_000, 0);
            extra.key.event_id = credence_domain::EventId::new("extra-payment").expect("valid");
            more.push(extra);
            more.sort_by(credence_domain::canonical_order);
            let after = world.scorer.report_events(s.clone(), &more, as_of).expect("ordered");
            match (before.score, after.score) {
                (Some(b), Some(a)) => prop_assert!(a >= b, "score fell from {} to {}", b, a),
                (Some(_), None) => prop_assert!(false, "an extra payment made a scored file thin"),
                _ => {}
            }
        }
    }

    #[test]
    fn ageing_removes_a_late_payment_on_its_date() {
        let world = world();
        let mut f = EventFactory::new("bank", "p");
        let mut clean = vec![
            f.enrolled(day(0), SubjectKind::Person, false),
            f.account_opened(day(1), "loan", AccountType::Loan, None),
        ];
        for i in 1..=80i64 {
            let bill = format!("b{i}");
            clean.push(f.bill(day(30 * i), "loan", &bill, 10_000));
            clean.push(f.payment(day(30 * i), "loan", Some(&bill), 10_000, 0));
        }
        let mut late = clean.clone();
        if let Some(EventBody::PaymentMade { days_late, .. }) = late
            .iter_mut()
            .find(|e| matches!(e.body, EventBody::PaymentMade { .. }))
            .map(|e| &mut e.body)
        {
            *days_late = 60;
        }
        clean.sort_by(credence_domain::canonical_order);
        late.sort_by(credence_domain::canonical_order);
        let s = subject();
        let late_history = |at| {
            world
                .scorer
                .report_events(s.clone(), &late, at)
                .expect("ordered")
        };
        let clean_history = |at| {
            world
                .scorer
                .report_events(s.clone(), &clean, at)
                .expect("ordered")
        };
        let stops = late_history(day(1000)).negative_records[0].stops_counting;
        let before = jiff::Timestamp::from_second(stops.as_second() - 1).expect("in range");
        let with_late = late_history(before);
        let without = clean_history(before);
        assert!(
            with_late.score < without.score,
            "the late payment counts until its date"
        );
        assert_eq!(with_late.negative_records.len(), 1);
        let on_the_day = late_history(stops);
        assert_eq!(
            on_the_day.score,
            clean_history(stops).score,
            "and not from its date on"
        );
        assert!(on_the_day.negative_records.is_empty());
    }

    #[test]
    fn a_thin_file_gets_not_enough_data_never_a_low_score() {
        let world = world();
        let mut f = EventFactory::new("bank", "new");
        write(
            &world.store,
            &[
                f.enrolled(day(0), SubjectKind::Person, false),
                f.account_opened(day(1), "a", AccountType::Telecom, None),
            ],
        );
        let report = world
            .scorer
            .report(&world.store, &id("new"), day(20))
            .expect("reports");
        assert_eq!(
            report.status,
            credence_scorecard::ScoreStatus::NotEnoughData
        );
        assert_eq!((report.score, report.band, report.pd), (None, None, None));
        assert!(report.reasons.is_empty());
        assert!(report.missing.len() >= 2, "{:?}", report.missing);
        let json = serde_json::to_value(&report).expect("JSON");
        assert_eq!(json["status"], "not_enough_data");
        assert!(json["score"].is_null());
    }

    #[test]
    fn rescoring_stores_what_a_single_score_reports() {
        let world = world();
        for name in ["a", "b", "c"] {
            write(&world.store, &history(name));
        }
        let as_of = day(760);
        let summary = world
            .scorer
            .rescore(
                &world.store,
                credence_store::HashRange::ALL,
                as_of,
                day(761),
                &mut |_| {},
            )
            .expect("rescore");
        assert_eq!((summary.subjects, summary.scored), (3, 3));
        assert_eq!(summary.bands.values().sum::<u64>(), 3);
        for name in ["a", "b", "c"] {
            let stored = world
                .store
                .latest_score(&id(name))
                .expect("reads")
                .expect("stored");
            let report = world
                .scorer
                .report(&world.store, &id(name), as_of)
                .expect("scores");
            assert_eq!(stored.score, report.score);
            assert_eq!(stored.model_version, report.model_version);
            assert_eq!(
                stored.reasons,
                report
                    .reasons
                    .iter()
                    .map(|r| r.code.clone())
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn simulated_worlds_score_risky_subjects_lower() {
        let world = world();
        let config = credence_sim::SimConfig::new(1_500, 3, day(1500));
        let mut risk = Vec::new();
        credence_sim::simulate(&config, 0..config.subjects, |s| {
            risk.push((credence_sim::subject_id(s.index), s.latent_risk));
            world.store.append_events(&s.events).expect("append");
        });
        let (mut low, mut high) = (Vec::new(), Vec::new());
        for (subject, latent) in risk {
            if let Some(score) = world
                .scorer
                .report(&world.store, &id(&subject), day(1500))
                .expect("score")
                .score
            {
                if latent < -1.0 {
                    low.push(f64::from(score))
                } else if latent > 1.0 {
                    high.push(f64::from(score))
                }
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(
            mean(&low) > mean(&high) + 40.0,
            "low-risk mean {} vs high-risk mean {}",
            mean(&low),
            mean(&high)
        );
    }
}

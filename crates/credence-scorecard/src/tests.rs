use super::*;
use credence_domain::{DataCategory, SubjectKind};
use credence_features::{Dimension, Feature, FeatureVector};

fn tiny_model() -> Scorecard {
    let json = r#"{
      "format": "credence.scorecard/v1", "model_id": "tiny", "version": "1",
      "origin": {"method": "expert", "created": "2026-11-24", "note": "test"},
      "scaling": {"base_score": 600, "base_odds": 50, "pdo": 40},
      "base_points": 600,
      "features": [
        {"name": "x", "dimension": "history", "category": "payment", "reason_code": "X1",
         "reason": "x is low", "improve": "raise x",
         "bins": [{"when": "missing", "points": 0},
                  {"when": "range", "upper": 1, "points": -50},
                  {"when": "range", "lower": 1, "upper": 2, "points": 10},
                  {"when": "range", "lower": 2, "points": 30}]},
        {"name": "colour", "dimension": "behaviour", "category": "account", "reason_code": "C1",
         "reason": "colour", "improve": "paint",
         "bins": [{"when": "missing", "points": -5},
                  {"when": "categories", "values": ["red", "blue"], "points": 5},
                  {"when": "other", "points": -20}]}
      ]
    }"#;
    let mut model: Scorecard = serde_json::from_str(json).expect("test model");
    model.seal();
    model
}

fn bind_tiny(model: Scorecard) -> CompiledScorecard {
    CompiledScorecard::bind(model, |name| match name {
        "x" => Ok(0),
        "colour" => Ok(1),
        other => Err(format!("no column {other}")),
    })
    .expect("binds")
}

#[test]
fn bins_are_half_open_intervals_and_categories() {
    let model = bind_tiny(tiny_model());
    let score =
        |x: Input<'_>, c: Input<'_>| model.score_with(|slot| if slot == 0 { x } else { c }).score;
    assert_eq!(score(Input::Number(0.99), Input::Category("red")), 555);
    assert_eq!(score(Input::Number(1.0), Input::Category("red")), 615);
    assert_eq!(score(Input::Number(2.0), Input::Category("blue")), 635);
    assert_eq!(score(Input::Missing, Input::Missing), 595);
    assert_eq!(score(Input::Number(5.0), Input::Category("green")), 610);
    assert_eq!(
        score(Input::Number(f64::NAN), Input::Category("red")),
        605,
        "NaN scores as missing"
    );
    assert_eq!(
        score(Input::Category("1.5"), Input::Category("red")),
        615,
        "numeric text in a numeric bin"
    );
}

/// The tiny model with special values -1 and 999 on `x`: 999 lies in
/// the top range and -1 in the bottom one, where they must not score.
fn tiny_model_with_specials() -> Scorecard {
    let mut model = tiny_model();
    model.features[0].bins.push(Bin {
        rule: BinRule::Special {
            values: vec![999.0],
        },
        points: -7.0,
        stats: None,
    });
    model.features[0].bins.push(Bin {
        rule: BinRule::Special {
            values: vec![-1.0, 0.5],
        },
        points: 3.0,
        stats: None,
    });
    model.seal();
    model
}

#[test]
fn special_values_score_by_their_own_bins_before_any_range() {
    let model = bind_tiny(tiny_model_with_specials());
    let score = |x: Input<'_>| {
        model
            .score_with(|slot| if slot == 0 { x } else { Input::Category("red") })
            .score
    };
    // 600 base + 5 for red.
    assert_eq!(
        score(Input::Number(999.0)),
        598,
        "999 is special, not the top range"
    );
    assert_eq!(
        score(Input::Number(998.0)),
        635,
        "its neighbour is a quantity"
    );
    assert_eq!(score(Input::Number(-1.0)), 608);
    assert_eq!(score(Input::Number(0.5)), 608);
    assert_eq!(score(Input::Number(0.25)), 555);
    assert_eq!(score(Input::Category("999.0")), 598, "written as text");
    assert_eq!(score(Input::Missing), 605);
    assert_eq!(
        tiny_model_with_specials().features[0].bins[4]
            .rule
            .describe(),
        "= 999"
    );
    assert_eq!(
        tiny_model_with_specials().features[0].bins[5]
            .rule
            .describe(),
        "= -1 or 0.5"
    );
}

#[test]
fn scoring_with_bins_finds_the_same_score_and_bins_as_apart() {
    let model = bind_tiny(tiny_model_with_specials());
    let mut bins = vec![7; 9];
    for (x, c) in [
        (Input::Number(999.0), Input::Category("red")),
        (Input::Number(1.5), Input::Category("green")),
        (Input::Missing, Input::Missing),
    ] {
        let input = |slot| if slot == 0 { x } else { c };
        assert_eq!(
            model.score_and_bins(input, &mut bins),
            model.score_with(input)
        );
        assert_eq!(bins, model.bins(input));
    }
}

#[test]
fn special_values_are_refused_where_they_cannot_be_matched() {
    let refused = |model: Scorecard| model.validate().expect_err("refused").to_string();
    let mut twice = tiny_model_with_specials();
    twice.features[0].bins[5].rule = BinRule::Special {
        values: vec![999.0],
    };
    assert!(refused(twice).contains("special value 999 is in two bins"));
    let mut on_a_category = tiny_model();
    on_a_category.features[1].bins.push(Bin {
        rule: BinRule::Special { values: vec![1.0] },
        points: 0.0,
        stats: None,
    });
    assert!(refused(on_a_category).contains("special values belong to numeric inputs"));
    let mut not_a_number = tiny_model_with_specials();
    not_a_number.features[0].bins[4].rule = BinRule::Special {
        values: vec![f64::INFINITY],
    };
    assert!(refused(not_a_number).contains("not a finite number"));
}

#[test]
fn numeric_codes_in_a_categorical_bin_match_by_their_label_however_written() {
    let mut model = tiny_model();
    model.features[1].bins[1].rule = BinRule::Categories {
        values: vec!["1".into(), "2.5".into()],
    };
    model.seal();
    let model = bind_tiny(model);
    let colour = |c: Input<'_>| {
        model
            .score_with(|slot| if slot == 0 { Input::Number(1.0) } else { c })
            .score
    };
    let listed = colour(Input::Category("1"));
    let other = colour(Input::Category("3"));
    assert_ne!(listed, other);
    for spelling in ["01", "1.0", " 1", "1e0"] {
        assert_eq!(colour(Input::Category(spelling)), listed, "{spelling:?}");
    }
    assert_eq!(colour(Input::Number(1.0)), listed);
    assert_eq!(colour(Input::Category("2.50")), listed);
    // Text that is no number, and numbers not listed, are "other".
    assert_eq!(colour(Input::Category("one")), other);
    assert_eq!(colour(Input::Category("1.01")), other);
    assert_eq!(number_label(1.0), "1");
    assert_eq!(number_label(-3.0), "-3");
    assert_eq!(number_label(2.5), "2.5");
}

#[test]
fn reasons_rank_by_points_short_of_best() {
    let model = bind_tiny(tiny_model());
    let summary = model.score_with(|slot| {
        if slot == 0 {
            Input::Number(0.0)
        } else {
            Input::Category("green")
        }
    });
    // x is 80 short of its best bin, colour 25: x first.
    assert_eq!(summary.reasons, [Some(0), Some(1), None, None]);
    let best = model.score_with(|slot| {
        if slot == 0 {
            Input::Number(3.0)
        } else {
            Input::Category("red")
        }
    });
    assert_eq!(best.reasons, [None; 4]);
}

#[test]
fn scores_clamp_to_the_scale_and_pd_follows_the_scaling() {
    let mut model = tiny_model();
    model.base_points = 2000.0;
    let high = bind_tiny(model.clone()).score_with(|_| Input::Missing);
    assert_eq!(high.score, MAX_SCORE);
    model.base_points = -100.0;
    let low = bind_tiny(model).score_with(|_| Input::Missing);
    assert_eq!(low.score, MIN_SCORE);
    let scaling = Scaling::default();
    assert!((scaling.probability_of_default(600.0) - 1.0 / 51.0).abs() < 1e-12);
    let doubled = scaling.probability_of_default(640.0);
    assert!(
        (doubled - 1.0 / 101.0).abs() < 1e-12,
        "40 points double the odds"
    );
}

#[test]
fn dimension_scores_span_zero_to_a_hundred() {
    let model = bind_tiny(tiny_model());
    let worst = model.score_with(|slot| {
        if slot == 0 {
            Input::Number(0.0)
        } else {
            Input::Category("green")
        }
    });
    let best = model.score_with(|slot| {
        if slot == 0 {
            Input::Number(9.0)
        } else {
            Input::Category("red")
        }
    });
    assert_eq!(worst.dimensions[0], Some(0));
    assert_eq!(best.dimensions[0], Some(100));
    assert_eq!(worst.dimensions[2], Some(0));
    assert_eq!(best.dimensions[1], None, "no capacity input in the model");
}

#[test]
fn checksums_detect_any_change() {
    let model = tiny_model();
    let json = model.to_json();
    assert!(Scorecard::from_json(&json).is_ok());
    let tampered = json.replacen("-50.0", "-49.0", 1);
    assert!(matches!(
        Scorecard::from_json(&tampered),
        Err(Error::Checksum { .. })
    ));
}

#[test]
fn protected_and_prohibited_inputs_are_refused_on_load() {
    for category in [
        DataCategory::Age,
        DataCategory::SocialConnections,
        DataCategory::ReligionOrBelief,
    ] {
        let mut model = tiny_model();
        model.features[0].category = category;
        model.seal();
        let err = Scorecard::from_json(&model.to_json()).expect_err("refused");
        let message = err.to_string();
        assert!(message.contains(category.name()), "{message}");
        assert!(message.contains("\"x\""), "{message}");
    }
}

#[test]
fn malformed_bins_are_refused_with_the_reason() {
    let mut model = tiny_model();
    model.features[0].bins.remove(2); // leaves a gap between 1 and 2
    let err = model.validate().expect_err("gap");
    assert!(err.to_string().contains("contiguous"), "{err}");
    let mut model = tiny_model();
    model.features[0].bins.remove(0);
    assert!(
        model
            .validate()
            .expect_err("no missing bin")
            .to_string()
            .contains("missing bin")
    );
}

#[test]
fn default_models_are_sealed_valid_and_bind_to_event_features() {
    for kind in [SubjectKind::Person, SubjectKind::Organisation] {
        let model = default_model(kind).expect("default model verifies");
        assert_eq!(model.subject_kind, Some(kind));
        assert_eq!(model.origin.method, "trained");
        assert!(
            model.origin.note.contains("synthetic world"),
            "the defaults say what they were trained on"
        );
        let compiled = CompiledScorecard::for_event_features(model).expect("binds");
        let empty = compiled.score_features(&FeatureVector::default());
        assert!((MIN_SCORE..=MAX_SCORE).contains(&empty.score));
    }
    let person = default_model(SubjectKind::Person).expect("verifies");
    for dimension in Dimension::ALL {
        assert!(
            person.features.iter().any(|f| f.dimension == dimension),
            "{dimension:?}"
        );
    }
}

#[test]
fn default_models_are_monotone_in_the_direction_of_risk() {
    // For every feature, points never rise as the value moves in the risky
    // direction. This is what makes "an extra on-time payment never lowers
    // the score" hold at the model level.
    let worse_when_higher = [
        Feature::WorstDaysLate24m,
        Feature::Delinquencies30,
        Feature::Delinquencies60,
        Feature::Delinquencies90Plus,
        Feature::ChargeOffs,
        Feature::UnsatisfiedJudgments,
        Feature::Utilisation,
        Feature::NewAccounts6m,
        Feature::RentalDamage24m,
    ];
    for kind in [SubjectKind::Person, SubjectKind::Organisation] {
        let model = default_model(kind).expect("verifies");
        for feature in &model.features {
            let ranges: Vec<f64> = feature
                .bins
                .iter()
                .filter(|b| matches!(b.rule, BinRule::Range { .. }))
                .map(|b| b.points)
                .collect();
            let f = Feature::from_name(&feature.name).expect("known");
            let ok = if worse_when_higher.contains(&f) {
                ranges.windows(2).all(|w| w[0] >= w[1])
            } else {
                ranges.windows(2).all(|w| w[0] <= w[1])
            };
            assert!(ok, "{kind:?} {}: {ranges:?}", feature.name);
        }
        // "No delinquency at all" must be at least as good as the oldest one.
        let months = model
            .features
            .iter()
            .find(|f| f.name == "months_since_last_delinquency")
            .expect("present");
        let missing = months
            .bins
            .iter()
            .find(|b| b.rule == BinRule::Missing)
            .map(|b| b.points);
        let best_range = months
            .bins
            .iter()
            .filter(|b| b.rule != BinRule::Missing)
            .map(|b| b.points)
            .fold(f64::MIN, f64::max);
        assert!(missing >= Some(best_range));
    }
}

proptest::proptest! {
    /// Any points, however many digits, survive the JSON round trip exactly,
    /// so a sealed model always verifies after being written and read.
    #[test]
    fn sealed_models_verify_after_a_round_trip(points in proptest::collection::vec(-1e6f64..1e6, 3), base in -1e4f64..1e4) {
        let mut model = tiny_model();
        model.base_points = base;
        for (bin, p) in model.features[0].bins.iter_mut().zip(points) {
            bin.points = p;
        }
        model.seal();
        let json = model.to_json();
        let back = Scorecard::from_json(&json).expect("verifies");
        proptest::prop_assert_eq!(back, model);
    }
}

mod sql_export {
    use super::*;
    use rusqlite::Connection;

    /// Runs the exported SQL over `rows` in SQLite and returns its scores.
    fn sql_scores(
        model: &Scorecard,
        columns: &[(&str, &str)],
        rows: &[Vec<rusqlite::types::Value>],
    ) -> Vec<i64> {
        let db = Connection::open_in_memory().expect("in-memory SQLite");
        let defs: Vec<String> = columns
            .iter()
            .map(|(name, ty)| format!("\"{name}\" {ty}"))
            .collect();
        db.execute_batch(&format!(
            "CREATE TABLE applicants (row_id INTEGER, {})",
            defs.join(", ")
        ))
        .expect("table");
        let marks = vec!["?"; columns.len() + 1].join(", ");
        for (i, row) in rows.iter().enumerate() {
            let mut values = vec![rusqlite::types::Value::Integer(i as i64)];
            values.extend(row.iter().cloned());
            db.execute(
                &format!("INSERT INTO applicants VALUES ({marks})"),
                rusqlite::params_from_iter(values),
            )
            .expect("insert");
        }
        let sql = to_sql(model, "applicants").expect("a model of whole points exports");
        let mut statement = db
            .prepare(&format!(
                "SELECT row_id, score, band FROM ({}) ORDER BY row_id",
                sql.trim_end().trim_end_matches(';')
            ))
            .expect("the exported SQL is valid");
        let scores: Vec<(i64, String)> = statement
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
            .expect("runs")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        for (score, band) in &scores {
            assert_eq!(band, Band::of(*score as i32).name());
        }
        scores.into_iter().map(|(s, _)| s).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..proptest::prelude::ProptestConfig::default() })]

        /// The default person model, exported as SQL and run in SQLite,
        /// gives every row exactly the Rust runtime's score.
        #[test]
        fn sql_scores_equal_rust_scores(rows in proptest::collection::vec(proptest::collection::vec(proptest::option::of(-1.0f64..120.0), 20), 1..40)) {
            let model = default_model(SubjectKind::Person).expect("model");
            let names: Vec<String> = model.features.iter().map(|f| f.name.clone()).collect();
            let columns: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "REAL")).collect();
            let values: Vec<Vec<rusqlite::types::Value>> = rows
                .iter()
                .map(|row| row.iter().take(names.len()).map(|v| v.map_or(rusqlite::types::Value::Null, rusqlite::types::Value::Real)).collect())
                .collect();
            let from_sql = sql_scores(&model, &columns, &values);
            let compiled = CompiledScorecard::bind(model.clone(), |name| names.iter().position(|n| n == name).ok_or_default()).expect("binds");
            for (row, sql_score) in rows.iter().zip(from_sql) {
                let rust = compiled.score_with(|slot| row[slot].map_or(Input::Missing, Input::Number)).score;
                proptest::prop_assert_eq!(i64::from(rust), sql_score);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..proptest::prelude::ProptestConfig::default() })]

        /// The same rows in a table whose every column is text, as
        /// `sqlite3 .import` makes it, with missing values as empty cells
        /// or `NA`: every score still equals the Rust runtime's.
        #[test]
        fn sql_scores_text_columns_like_typed_ones(rows in proptest::collection::vec(proptest::collection::vec(proptest::option::of(-1.0f64..120.0), 20), 1..40), marker in proptest::sample::select(vec!["", "NA", "?"])) {
            let model = default_model(SubjectKind::Person).expect("model");
            let names: Vec<String> = model.features.iter().map(|f| f.name.clone()).collect();
            let columns: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "TEXT")).collect();
            let values: Vec<Vec<rusqlite::types::Value>> = rows
                .iter()
                .map(|row| row.iter().take(names.len()).map(|v| rusqlite::types::Value::Text(v.map_or(marker.to_string(), |x| format!("{x:?}")))).collect())
                .collect();
            let from_sql = sql_scores(&model, &columns, &values);
            let compiled = CompiledScorecard::bind(model.clone(), |name| names.iter().position(|n| n == name).ok_or_default()).expect("binds");
            for (row, sql_score) in rows.iter().zip(from_sql) {
                let rust = compiled.score_with(|slot| row[slot].map_or(Input::Missing, Input::Number)).score;
                proptest::prop_assert_eq!(i64::from(rust), sql_score);
            }
        }
    }

    #[test]
    fn fractional_points_are_refused_rather_than_rounded_differently() {
        let mut model = tiny_model();
        model.base_points = 600.5;
        let err = to_sql(&model, "t").expect_err("fractional base");
        assert!(err.to_string().contains("whole number"), "{err}");
    }

    #[test]
    fn the_sql_uses_no_two_argument_min_or_max() {
        let sql =
            to_sql(&default_model(SubjectKind::Person).expect("model"), "t").expect("exports");
        assert!(!sql.contains("MIN(") && !sql.contains("MAX("), "{sql}");
        assert!(sql.contains("CAST(") && sql.contains("FLOAT8"), "{sql}");
    }

    #[test]
    fn categorical_bins_and_unseen_categories_match() {
        let model = tiny_model();
        let rows = vec![
            vec![
                rusqlite::types::Value::Real(0.5),
                rusqlite::types::Value::Text("red".into()),
            ],
            vec![
                rusqlite::types::Value::Real(1.5),
                rusqlite::types::Value::Text("green".into()),
            ],
            vec![rusqlite::types::Value::Null, rusqlite::types::Value::Null],
            vec![
                rusqlite::types::Value::Real(7.0),
                rusqlite::types::Value::Text("it's blue".into()),
            ],
        ];
        let from_sql = sql_scores(&model, &[("x", "REAL"), ("colour", "TEXT")], &rows);
        let compiled = bind_tiny(model);
        let inputs = [
            (Input::Number(0.5), Input::Category("red")),
            (Input::Number(1.5), Input::Category("green")),
            (Input::Missing, Input::Missing),
            (Input::Number(7.0), Input::Category("it's blue")),
        ];
        for ((x, c), sql_score) in inputs.into_iter().zip(from_sql) {
            let rust = compiled
                .score_with(|slot| if slot == 0 { x } else { c })
                .score;
            assert_eq!(i64::from(rust), sql_score);
        }
    }

    #[test]
    fn special_values_match_in_sql_as_in_rust() {
        let model = tiny_model_with_specials();
        let xs = [999.0, 998.0, -1.0, 0.5, 0.25, 2.0];
        let rows: Vec<Vec<rusqlite::types::Value>> = xs
            .iter()
            .map(|x| {
                vec![
                    rusqlite::types::Value::Real(*x),
                    rusqlite::types::Value::Text("red".into()),
                ]
            })
            .chain([vec![
                rusqlite::types::Value::Integer(999),
                rusqlite::types::Value::Text("red".into()),
            ]])
            .collect();
        let from_sql = sql_scores(&model, &[("x", "REAL"), ("colour", "TEXT")], &rows);
        let compiled = bind_tiny(model);
        for (x, sql_score) in xs.iter().chain([&999.0]).zip(from_sql) {
            let rust = compiled
                .score_with(|slot| {
                    if slot == 0 {
                        Input::Number(*x)
                    } else {
                        Input::Category("red")
                    }
                })
                .score;
            assert_eq!(i64::from(rust), sql_score, "x = {x}");
        }
    }

    trait OkOrDefault {
        fn ok_or_default(self) -> std::result::Result<usize, String>;
    }

    impl OkOrDefault for Option<usize> {
        fn ok_or_default(self) -> std::result::Result<usize, String> {
            self.ok_or_else(|| "unknown".to_string())
        }
    }
}

#[test]
fn pmml_has_a_characteristic_per_input_with_reason_codes_and_baselines() {
    let model = default_model(SubjectKind::Person).expect("model");
    let pmml = to_pmml(&model);
    assert!(pmml.starts_with("<?xml") && pmml.contains(r#"version="4.4""#));
    assert_eq!(
        pmml.matches("<Characteristic ").count(),
        model.features.len()
    );
    for feature in &model.features {
        assert!(
            pmml.contains(&format!(r#"reasonCode="{}""#, feature.reason_code)),
            "{}",
            feature.name
        );
        assert!(pmml.contains(&format!(r#"<DataField name="{}""#, feature.name)));
    }
    assert!(
        pmml.contains(r#"reasonCodeAlgorithm="pointsBelow""#)
            && pmml.contains(r#"baselineMethod="max""#)
    );
    assert_eq!(pmml.matches("<PMML").count(), 1);
    assert_eq!(pmml.matches("</PMML>").count(), 1);
}

#[test]
fn pmml_tries_special_values_before_ranges() {
    let pmml = to_pmml(&tiny_model_with_specials());
    let special = pmml
        .find(r#"<Array type="real" n="1">999.0</Array>"#)
        .expect("999 listed as a real");
    let pair = pmml
        .find(r#"<Array type="real" n="2">-1.0 0.5</Array>"#)
        .expect("-1 and 0.5 listed together");
    let first_range = pmml
        .find(r#"operator="lessThan" value="1.0""#)
        .expect("the first range");
    let missing = pmml.find(r#"operator="isMissing""#).expect("missing");
    assert!(missing < special && special < pair && pair < first_range);
}

#[test]
fn default_models_never_penalise_absent_records() {
    for kind in [SubjectKind::Person, SubjectKind::Organisation] {
        let model = default_model(kind).expect("model");
        for feature in &model.features {
            let missing = feature
                .bins
                .iter()
                .find(|b| b.rule == BinRule::Missing)
                .map(|b| b.points);
            assert_eq!(
                missing,
                Some(0.0),
                "{kind:?} {}: absence is no evidence",
                feature.name
            );
        }
    }
}

#[test]
fn an_absent_input_never_outranks_a_record_that_falls_short() {
    let model = bind_tiny(tiny_model());
    // x absent is 30 short of its best bin, colour "green" 25: the record
    // the subject has comes first, the absence after it.
    let summary = model.score_with(|slot| {
        if slot == 0 {
            Input::Missing
        } else {
            Input::Category("green")
        }
    });
    assert_eq!(summary.reasons, [Some(1), Some(0), None, None]);
    // Both absent: ranked by shortfall among themselves (x 30, colour 10).
    let none = model.score_with(|_| Input::Missing);
    assert_eq!(none.reasons, [Some(0), Some(1), None, None]);
}

#[test]
fn a_reason_for_an_absent_input_says_so() {
    let model = bind_tiny(tiny_model());
    let mut values = FeatureVector::default();
    values.set(Feature::OnTimeRatio24m, None);
    let features = credence_features::FeatureSet { values, thin: None };
    // Slot 0 (x) missing scores 0, 30 short of its best bin.
    let summary = model.score_with(|slot| {
        if slot == 0 {
            Input::Missing
        } else {
            Input::Category("red")
        }
    });
    let report = ScoreReport::build(
        &model,
        "s",
        jiff::Timestamp::UNIX_EPOCH,
        &features,
        Some(&summary),
        Vec::new(),
    );
    assert_eq!(report.reasons[0].code, "X1");
    assert!(
        report.reasons[0]
            .sentence
            .starts_with("Nothing on file yet"),
        "{}",
        report.reasons[0].sentence
    );
}

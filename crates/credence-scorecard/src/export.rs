//! Exports of a scorecard for other engines: SQL, so any SQL engine can
//! score a table in bulk with exactly the points of the model.

use crate::model::{BinRule, MAX_SCORE, MIN_SCORE, Scorecard};

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A float literal that parses back to exactly the same double.
fn number(x: f64) -> String {
    let text = format!("{x:?}");
    if text.contains(['.', 'e', 'E']) {
        text
    } else {
        format!("{text}.0")
    }
}

/// How one bin is recognised.
enum Test<'a> {
    Missing,
    Equal(&'a [f64]),
    Below(f64),
    In(&'a [String]),
    Otherwise,
}

/// The bins of `feature` as (test, points) in the order every engine must
/// try them, first match wins: missing, then special values, then ranges by
/// upper bound, then category sets, then a catch-all (the open last range,
/// `other`, or — for categories never seen — the missing bin's points, as
/// the Rust runtime scores them).
fn decision_list(feature: &crate::ScoredFeature) -> Vec<(Test<'_>, f64)> {
    let missing = feature
        .bins
        .iter()
        .find(|b| b.rule == BinRule::Missing)
        .map_or(0.0, |b| b.points);
    let mut list = vec![(Test::Missing, missing)];
    for bin in &feature.bins {
        if let BinRule::Special { values } = &bin.rule {
            list.push((Test::Equal(values), bin.points));
        }
    }
    let mut otherwise = None;
    for bin in &feature.bins {
        match &bin.rule {
            BinRule::Missing | BinRule::Special { .. } => {}
            BinRule::Range {
                upper: Some(upper), ..
            } => list.push((Test::Below(*upper), bin.points)),
            BinRule::Range { upper: None, .. } | BinRule::Other => otherwise = Some(bin.points),
            BinRule::Categories { values } => list.push((Test::In(values), bin.points)),
        }
    }
    list.push((Test::Otherwise, otherwise.unwrap_or(missing)));
    list
}

/// Cell texts that mean "no value" to Credence's scorer (the training
/// table's list), and the spellings engines give infinities, which the
/// scorer also scores as missing.
const MISSING_TEXTS: [&str; 17] = [
    "",
    "NA",
    "N/A",
    "NaN",
    "nan",
    "null",
    "NULL",
    "?",
    "inf",
    "-inf",
    "+inf",
    "Inf",
    "-Inf",
    "Infinity",
    "-Infinity",
    "infinity",
    "-infinity",
];

/// A whole number of points as an SQL integer literal.
fn points_literal(points: f64) -> String {
    format!("{}", points as i64)
}

/// One `SELECT` over `table` that adds `credence_points` (the sum before
/// clamping), `score` (350–950) and `band` to every row, exactly as
/// Credence scores it, on any SQL engine. Written for portability, and
/// checked on SQLite, PostgreSQL and DuckDB:
///
/// - inputs are cast (`CAST(col AS FLOAT8)` for numbers, `CAST(col AS
///   VARCHAR)` for categories), so a table whose columns are text, as
///   `sqlite3 .import` makes them, scores like a typed one; a value is
///   cast only after the missing test has failed, so an empty cell never
///   reaches a numeric cast;
/// - a missing value is SQL `NULL` or one of the texts Credence reads as
///   missing (`""`, `NA`, `NaN`, `?`…, and infinities);
/// - points are whole numbers, summed as integers, so every engine adds
///   them exactly and no rounding is needed; clamping is a `CASE`, not the
///   two-argument `MIN`/`MAX` some engines lack;
/// - a categorical input whose levels are all numeric codes compares
///   numbers (`01`, `1.0` and `1` are the code 1, as Credence matches
///   them); any other compares text.
///
/// Numeric inputs must hold numbers or a missing marker (an engine may
/// refuse to cast other text). A model with fractional points is refused:
/// its sum would depend on each engine's rounding.
pub fn to_sql(model: &Scorecard, table: &str) -> crate::Result<String> {
    let whole = |x: f64| x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15;
    if !whole(model.base_points) {
        return Err(crate::Error::Invalid {
            model: model.version_tag(),
            problem: format!(
                "base points {} are not a whole number; the SQL export sums whole points so every engine agrees exactly (retrain, or round and re-seal the model)",
                model.base_points
            ),
        });
    }
    let mut terms = vec![points_literal(model.base_points)];
    for feature in &model.features {
        if let Some(bin) = feature.bins.iter().find(|b| !whole(b.points)) {
            return Err(crate::Error::Invalid {
                model: model.version_tag(),
                problem: format!(
                    "feature {:?} has a bin of {} points, not a whole number; the SQL export sums whole points so every engine agrees exactly",
                    feature.name, bin.points
                ),
            });
        }
        let column = quote_identifier(&feature.name);
        let number = format!("CAST({column} AS FLOAT8)");
        let text = format!("CAST({column} AS VARCHAR)");
        let missing_texts: Vec<String> = MISSING_TEXTS.iter().map(|t| quote_text(t)).collect();
        // Levels that are all numeric codes compare as numbers, as the
        // scorer matches "01" and "1.0" to the code "1".
        let numeric_levels = feature.bins.iter().all(|b| match &b.rule {
            BinRule::Categories { values } => values.iter().all(|v| {
                v.parse::<f64>()
                    .is_ok_and(|x| x.is_finite() && crate::number_label(x) == *v)
            }),
            _ => true,
        });
        let mut case = String::from("CASE");
        for (test, points) in decision_list(feature) {
            let points = points_literal(points);
            match test {
                Test::Missing => case.push_str(&format!(
                    "\n      WHEN {column} IS NULL OR {text} IN ({}) THEN {points}",
                    missing_texts.join(", ")
                )),
                Test::Equal(values) => {
                    let list: Vec<String> = values.iter().map(|v| self::number(*v)).collect();
                    case.push_str(&format!(
                        "\n      WHEN {number} IN ({}) THEN {points}",
                        list.join(", ")
                    ));
                }
                Test::Below(upper) => case.push_str(&format!(
                    "\n      WHEN {number} < {} THEN {points}",
                    self::number(upper)
                )),
                Test::In(values) if numeric_levels => {
                    let list: Vec<String> = values
                        .iter()
                        .filter_map(|v| v.parse::<f64>().ok())
                        .map(self::number)
                        .collect();
                    case.push_str(&format!(
                        "\n      WHEN {number} IN ({}) THEN {points}",
                        list.join(", ")
                    ));
                }
                Test::In(values) => {
                    let list: Vec<String> = values.iter().map(|v| quote_text(v)).collect();
                    case.push_str(&format!(
                        "\n      WHEN {text} IN ({}) THEN {points}",
                        list.join(", ")
                    ));
                }
                Test::Otherwise => case.push_str(&format!("\n      ELSE {points}\n    END")),
            }
        }
        terms.push(format!("({case})"));
    }
    let total = terms.join("\n    + ");
    Ok(format!(
        "-- Credence scorecard {} ({}), exported as SQL.\n\
         -- Adds `credence_points` (the sum of points), `score` (350–950) and `band` to\n\
         -- every row of {table}. Missing values are NULL or the texts Credence reads as\n\
         -- missing; numeric inputs must otherwise hold numbers (text columns are cast).\n\
         SELECT scored.*,\n  CASE\n    WHEN score < 550 THEN 'poor'\n    WHEN score < 600 THEN 'fair'\n    WHEN score < 650 THEN 'good'\n    WHEN score < 700 THEN 'very_good'\n    ELSE 'excellent'\n  END AS band\n\
         FROM (\n  SELECT summed.*,\n    CASE\n      WHEN credence_points < {MIN_SCORE} THEN {MIN_SCORE}\n      WHEN credence_points > {MAX_SCORE} THEN {MAX_SCORE}\n      ELSE credence_points\n    END AS score\n  \
         FROM (\n    SELECT source.*,\n    {total}\n    AS credence_points\n    FROM {} AS source\n  ) AS summed\n) AS scored;\n",
        model.version_tag(),
        model.checksum,
        quote_identifier(table),
    ))
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A PMML 4.4 `Scorecard`: one characteristic per input with its bins as
/// attributes (first match wins, in the model's order), reason codes with
/// each characteristic's best points as its baseline (`pointsBelow`, as
/// Credence ranks reasons, except that Credence puts an absent input after
/// every present one, which PMML's ranking cannot express), and outputs `raw_points` (the sum, as PMML
/// defines a scorecard's value), `score` (rounded and clamped to 350–950,
/// as Credence does) and the top four reason codes. Input field names are
/// the model's input names.
pub fn to_pmml(model: &Scorecard) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let categorical = |feature: &crate::ScoredFeature| {
        feature
            .bins
            .iter()
            .any(|b| matches!(b.rule, BinRule::Categories { .. } | BinRule::Other))
    };
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">"#
    );
    let _ = writeln!(
        out,
        r#"  <Header description="Credence scorecard {} ({})"><Application name="Credence" version="{}"/></Header>"#,
        xml(&model.version_tag()),
        xml(&model.checksum),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        r#"  <DataDictionary numberOfFields="{}">"#,
        model.features.len()
    );
    for feature in &model.features {
        if categorical(feature) {
            let _ = writeln!(
                out,
                r#"    <DataField name="{}" optype="categorical" dataType="string"/>"#,
                xml(&feature.name)
            );
        } else {
            let _ = writeln!(
                out,
                r#"    <DataField name="{}" optype="continuous" dataType="double"/>"#,
                xml(&feature.name)
            );
        }
    }
    let _ = writeln!(out, "  </DataDictionary>");
    let _ = writeln!(
        out,
        r#"  <Scorecard modelName="{}" functionName="regression" useReasonCodes="true" reasonCodeAlgorithm="pointsBelow" initialScore="{}" baselineMethod="max">"#,
        xml(&model.version_tag()),
        number(model.base_points)
    );
    let _ = writeln!(out, "    <MiningSchema>");
    for feature in &model.features {
        let _ = writeln!(
            out,
            r#"      <MiningField name="{}" usageType="active" invalidValueTreatment="asMissing"/>"#,
            xml(&feature.name)
        );
    }
    let _ = writeln!(out, "    </MiningSchema>");
    let _ = writeln!(out, "    <Output>");
    let _ = writeln!(
        out,
        r#"      <OutputField name="raw_points" feature="predictedValue" dataType="double" optype="continuous"/>"#
    );
    let _ = writeln!(
        out,
        r#"      <OutputField name="score" feature="transformedValue" dataType="integer" optype="continuous">
        <Apply function="min"><Constant dataType="integer">{MAX_SCORE}</Constant><Apply function="max"><Constant dataType="integer">{MIN_SCORE}</Constant><Apply function="round"><FieldRef field="raw_points"/></Apply></Apply></Apply>
      </OutputField>"#
    );
    for rank in 1..=4 {
        let _ = writeln!(
            out,
            r#"      <OutputField name="reason_{rank}" feature="reasonCode" rank="{rank}" dataType="string" optype="categorical"/>"#
        );
    }
    let _ = writeln!(out, "    </Output>");
    let _ = writeln!(out, "    <Characteristics>");
    for feature in &model.features {
        let best = feature
            .bins
            .iter()
            .map(|b| b.points)
            .fold(f64::NEG_INFINITY, f64::max);
        let field = xml(&feature.name);
        let _ = writeln!(
            out,
            r#"      <Characteristic name="{field}_points" reasonCode="{}" baselineScore="{}">"#,
            xml(&feature.reason_code),
            number(best)
        );
        for (test, points) in decision_list(feature) {
            let predicate = match test {
                Test::Missing => {
                    format!(r#"<SimplePredicate field="{field}" operator="isMissing"/>"#)
                }
                Test::Equal(values) => {
                    let listed: Vec<String> = values.iter().map(|v| number(*v)).collect();
                    format!(
                        r#"<SimpleSetPredicate field="{field}" booleanOperator="isIn"><Array type="real" n="{}">{}</Array></SimpleSetPredicate>"#,
                        values.len(),
                        listed.join(" ")
                    )
                }
                Test::Below(upper) => {
                    format!(
                        r#"<SimplePredicate field="{field}" operator="lessThan" value="{}"/>"#,
                        number(upper)
                    )
                }
                Test::In(values) => {
                    let quoted: Vec<String> = values
                        .iter()
                        .map(|v| format!("\"{}\"", xml(&v.replace('"', "\\\""))))
                        .collect();
                    format!(
                        r#"<SimpleSetPredicate field="{field}" booleanOperator="isIn"><Array type="string" n="{}">{}</Array></SimpleSetPredicate>"#,
                        values.len(),
                        quoted.join(" ")
                    )
                }
                Test::Otherwise => "<True/>".to_string(),
            };
            let _ = writeln!(
                out,
                r#"        <Attribute partialScore="{}">{predicate}</Attribute>"#,
                number(points)
            );
        }
        let _ = writeln!(out, "      </Characteristic>");
    }
    let _ = writeln!(out, "    </Characteristics>");
    let _ = writeln!(out, "  </Scorecard>");
    let _ = writeln!(out, "</PMML>");
    out
}

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

/// One `SELECT` over `table` that adds `score` and `band` columns, summing
/// the points in the model's own order so every engine with IEEE doubles
/// gets the same total as Credence, then rounding half away from zero and
/// clamping to 350–950 as Credence does. Missing values are SQL `NULL`.
/// Categories are compared as text (`CAST(col AS TEXT)`): numeric codes
/// match when stored as integers or as text, but a code stored as a
/// floating-point number reads `1.0` in SQLite and falls to "other", where
/// Credence's own scorer would read the code `1`.
pub fn to_sql(model: &Scorecard, table: &str) -> String {
    let mut terms = vec![number(model.base_points)];
    for feature in &model.features {
        let column = quote_identifier(&feature.name);
        let mut case = String::from("CASE");
        for (test, points) in decision_list(feature) {
            let points = number(points);
            match test {
                Test::Missing => {
                    case.push_str(&format!("\n      WHEN {column} IS NULL THEN {points}"))
                }
                Test::Equal(values) => {
                    let list: Vec<String> = values.iter().map(|v| number(*v)).collect();
                    case.push_str(&format!(
                        "\n      WHEN {column} IN ({}) THEN {points}",
                        list.join(", ")
                    ));
                }
                Test::Below(upper) => case.push_str(&format!(
                    "\n      WHEN {column} < {} THEN {points}",
                    number(upper)
                )),
                Test::In(values) => {
                    let list: Vec<String> = values.iter().map(|v| quote_text(v)).collect();
                    case.push_str(&format!(
                        "\n      WHEN CAST({column} AS TEXT) IN ({}) THEN {points}",
                        list.join(", ")
                    ));
                }
                Test::Otherwise => case.push_str(&format!("\n      ELSE {points}\n    END")),
            }
        }
        terms.push(format!("({case})"));
    }
    let total = terms.join("\n    + ");
    let score =
        format!("MIN({MAX_SCORE}, MAX({MIN_SCORE}, CAST(ROUND(\n    {total}\n  ) AS INTEGER)))");
    format!(
        "-- Credence scorecard {} ({}), exported as SQL.\n\
         -- Adds `score` (350–950) and `band` to every row of {table}; NULL is a missing value.\n\
         SELECT scored.*,\n  CASE\n    WHEN score < 550 THEN 'poor'\n    WHEN score < 600 THEN 'fair'\n    WHEN score < 650 THEN 'good'\n    WHEN score < 700 THEN 'very_good'\n    ELSE 'excellent'\n  END AS band\n\
         FROM (\n  SELECT *, {score} AS score\n  FROM {}\n) AS scored;\n",
        model.version_tag(),
        model.checksum,
        quote_identifier(table),
    )
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
/// Credence ranks reasons), and outputs `raw_points` (the sum, as PMML
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

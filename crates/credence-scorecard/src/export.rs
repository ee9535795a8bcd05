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

/// One `SELECT` over `table` that adds `score` and `band` columns, summing
/// the points in the model's own order so every engine with IEEE doubles
/// gets the same total as Credence, then rounding half away from zero and
/// clamping to 350–950 as Credence does. Missing values are SQL `NULL`.
pub fn to_sql(model: &Scorecard, table: &str) -> String {
    let mut terms = vec![number(model.base_points)];
    for feature in &model.features {
        let column = quote_identifier(&feature.name);
        let mut case = format!("CASE\n      WHEN {column} IS NULL THEN ");
        let missing = feature
            .bins
            .iter()
            .find(|b| b.rule == BinRule::Missing)
            .map_or(0.0, |b| b.points);
        case.push_str(&number(missing));
        let mut otherwise = None;
        for bin in &feature.bins {
            match &bin.rule {
                BinRule::Missing => {}
                BinRule::Range {
                    upper: Some(upper), ..
                } => {
                    case.push_str(&format!(
                        "\n      WHEN {column} < {} THEN {}",
                        number(*upper),
                        number(bin.points)
                    ));
                }
                BinRule::Range { upper: None, .. } | BinRule::Other => otherwise = Some(bin.points),
                BinRule::Categories { values } => {
                    let list: Vec<String> = values.iter().map(|v| quote_text(v)).collect();
                    case.push_str(&format!(
                        "\n      WHEN CAST({column} AS TEXT) IN ({}) THEN {}",
                        list.join(", "),
                        number(bin.points)
                    ));
                }
            }
        }
        // Categorical models without an `other` bin score unseen values as
        // missing, as the Rust runtime does.
        case.push_str(&format!(
            "\n      ELSE {}\n    END",
            number(otherwise.unwrap_or(missing))
        ));
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

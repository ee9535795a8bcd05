//! Scoring files: every row of a CSV gets `score`, `band`, `pd` and its top
//! four reason codes, appended to its own columns. Streaming, so a file of
//! any size scores in constant memory. The target column need not be there.

use crate::table::is_missing;
use crate::{Error, Result};
use credence_scorecard::{CompiledScorecard, Input, Scorecard};
use std::io::{Read, Write};

/// Columns appended to every row.
pub const SCORE_COLUMNS: [&str; 7] = [
    "score", "band", "pd", "reason_1", "reason_2", "reason_3", "reason_4",
];

/// The model bound to a file's columns by name.
fn bind_to_header(
    model: &Scorecard,
    header: &csv::StringRecord,
    name: &str,
) -> Result<CompiledScorecard> {
    Ok(CompiledScorecard::bind(model.clone(), |feature| {
        header
            .iter()
            .position(|h| h == feature)
            .ok_or_else(|| format!("is not a column of {name} (the model was trained on it)"))
    })?)
}

/// Scores every row of `input` (CSV with a header) into `output`. Returns
/// the number of rows scored. `name` names the input in errors.
pub fn score_csv(
    model: &Scorecard,
    input: impl Read,
    output: impl Write,
    name: &str,
) -> Result<u64> {
    let fail = |message: String| Error::Read {
        path: name.to_string(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader.headers().map_err(|e| fail(e.to_string()))?.clone();
    for column in SCORE_COLUMNS {
        if header.iter().any(|h| h == column) {
            return Err(fail(format!(
                "the input already has a column {column:?}; rename it so the scores do not overwrite it"
            )));
        }
    }
    let compiled = bind_to_header(model, &header, name)?;
    let mut writer = csv::Writer::from_writer(output);
    let mut out_header = header.clone();
    for column in SCORE_COLUMNS {
        out_header.push_field(column);
    }
    writer
        .write_record(&out_header)
        .map_err(|e| fail(e.to_string()))?;
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    let mut line = 1u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(fail(format!("line {}: {e}", line + 1))),
        }
        line += 1;
        let summary = compiled.score_with(|slot| match record.get(slot) {
            Some(cell) if !is_missing(cell) => Input::Category(cell),
            _ => Input::Missing,
        });
        let mut out = record.clone();
        out.push_field(&summary.score.to_string());
        out.push_field(summary.band().name());
        out.push_field(&format!("{:.6}", summary.pd));
        for reason in summary.reasons {
            let code = reason.map_or("", |i| model.features[i as usize].reason_code.as_str());
            out.push_field(code);
        }
        writer.write_record(&out).map_err(|e| fail(e.to_string()))?;
        rows += 1;
    }
    writer.flush().map_err(|e| fail(e.to_string()))?;
    Ok(rows)
}

/// The score of every row of `input` (CSV with a header), in order: for
/// population stability of a later scoring population against the
/// development sample. `name` names the input in errors.
pub fn scores_of_csv(model: &Scorecard, input: impl Read, name: &str) -> Result<Vec<i32>> {
    let fail = |message: String| Error::Read {
        path: name.to_string(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader.headers().map_err(|e| fail(e.to_string()))?.clone();
    let compiled = bind_to_header(model, &header, name)?;
    let mut record = csv::StringRecord::new();
    let mut scores = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(fail(format!("line {}: {e}", scores.len() + 2))),
        }
        let summary = compiled.score_with(|slot| match record.get(slot) {
            Some(cell) if !is_missing(cell) => Input::Category(cell),
            _ => Input::Missing,
        });
        scores.push(summary.score);
    }
    Ok(scores)
}

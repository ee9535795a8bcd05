//! Scoring files: every row of a CSV gets `score`, `band`, `pd` and its top
//! four reason codes, appended to its own columns. Streaming, so a file of
//! any size scores in constant memory. The target column need not be there.

use crate::table::is_missing;
use crate::{Error, Result};
use credence_scorecard::{CompiledScorecard, Input, ScoreSummary, Scorecard};
use std::io::{Read, Write};

/// Columns appended to every row.
pub const SCORE_COLUMNS: [&str; 7] = [
    "score", "band", "pd", "reason_1", "reason_2", "reason_3", "reason_4",
];

fn read_error(name: &str, message: String) -> Error {
    Error::Read {
        path: name.to_string(),
        message,
    }
}

/// The model's input from one cell of a CSV record: text, read as a
/// number where the model bins numbers.
fn cell_input(record: &csv::StringRecord, slot: usize) -> Input<'_> {
    match record.get(slot) {
        Some(cell) if !is_missing(cell) => Input::Category(cell),
        _ => Input::Missing,
    }
}

/// Streams every row of `input` (CSV with a header) through the model:
/// `header` sees the header first (and may refuse it), then `row` gets each
/// record with its score, and with the bin of every model feature when
/// `with_bins` (empty otherwise). Returns the rows scored. `name` names the
/// input in errors.
fn score_rows(
    model: &Scorecard,
    input: impl Read,
    name: &str,
    with_bins: bool,
    header: impl FnOnce(&csv::StringRecord) -> Result<()>,
    mut row: impl FnMut(&csv::StringRecord, &ScoreSummary, &[u16]) -> Result<()>,
) -> Result<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let columns = reader
        .headers()
        .map_err(|e| read_error(name, e.to_string()))?
        .clone();
    header(&columns)?;
    let compiled = CompiledScorecard::bind(model.clone(), |feature| {
        columns
            .iter()
            .position(|h| h == feature)
            .ok_or_else(|| format!("is not a column of {name} (the model was trained on it)"))
    })?;
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    let mut bins = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(read_error(name, format!("line {}: {e}", rows + 2))),
        }
        let input = |slot| cell_input(&record, slot);
        let summary = if with_bins {
            compiled.score_and_bins(input, &mut bins)
        } else {
            compiled.score_with(input)
        };
        row(&record, &summary, &bins)?;
        rows += 1;
    }
    Ok(rows)
}

/// Scores every row of `input` (CSV with a header) into `output`. Returns
/// the number of rows scored. `name` names the input in errors.
pub fn score_csv(
    model: &Scorecard,
    input: impl Read,
    output: impl Write,
    name: &str,
) -> Result<u64> {
    let fail = |e: csv::Error| read_error(name, e.to_string());
    // Both callbacks write: the header first, then every row.
    let writer = std::cell::RefCell::new(csv::Writer::from_writer(output));
    let rows = score_rows(
        model,
        input,
        name,
        false,
        |header| {
            for column in SCORE_COLUMNS {
                if header.iter().any(|h| h == column) {
                    return Err(read_error(
                        name,
                        format!(
                            "the input already has a column {column:?}; rename it so the scores do not overwrite it"
                        ),
                    ));
                }
            }
            let mut out_header = header.clone();
            for column in SCORE_COLUMNS {
                out_header.push_field(column);
            }
            writer.borrow_mut().write_record(&out_header).map_err(fail)
        },
        |record, summary, _| {
            let mut out = record.clone();
            out.push_field(&summary.score.to_string());
            out.push_field(summary.band().name());
            out.push_field(&format!("{:.6}", summary.pd));
            for reason in summary.reasons {
                let code = reason.map_or("", |i| model.features[i as usize].reason_code.as_str());
                out.push_field(code);
            }
            writer.borrow_mut().write_record(&out).map_err(fail)
        },
    )?;
    writer
        .into_inner()
        .flush()
        .map_err(|e| read_error(name, e.to_string()))?;
    Ok(rows)
}

/// A scored population: every row's score, and how many rows fell in each
/// bin of each model input (for stability by characteristic).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoredPopulation {
    /// The score of every row, in order.
    pub scores: Vec<i32>,
    /// Per model feature (in model order), rows per bin (in model order).
    pub bin_counts: Vec<Vec<u64>>,
}

impl ScoredPopulation {
    fn new(model: &Scorecard) -> Self {
        Self {
            scores: Vec::new(),
            bin_counts: model
                .features
                .iter()
                .map(|f| vec![0; f.bins.len()])
                .collect(),
        }
    }

    fn add(&mut self, score: i32, bins: &[u16]) {
        self.scores.push(score);
        for (counts, &bin) in self.bin_counts.iter_mut().zip(bins) {
            counts[usize::from(bin)] += 1;
        }
    }
}

/// Every row of `input` (CSV with a header) scored and binned: for
/// stability of a later scoring population against the development sample.
/// `name` names the input in errors.
pub fn population_of_csv(
    model: &Scorecard,
    input: impl Read,
    name: &str,
) -> Result<ScoredPopulation> {
    let mut population = ScoredPopulation::new(model);
    score_rows(
        model,
        input,
        name,
        true,
        |_| Ok(()),
        |_, summary, bins| {
            population.add(summary.score, bins);
            Ok(())
        },
    )?;
    Ok(population)
}

/// Every row of a CSV or Parquet file scored and binned, in order.
pub fn population_of_file(model: &Scorecard, path: &std::path::Path) -> Result<ScoredPopulation> {
    let name = path.display().to_string();
    if crate::parquet::is_parquet(path) {
        let table = crate::Table::read_csv(path)?;
        let rows: Vec<usize> = (0..table.rows).collect();
        let mut population = ScoredPopulation::new(model);
        for (summary, bins) in crate::fit::score_and_bin_rows(model, &table, &rows)? {
            population.add(summary.score, &bins);
        }
        return Ok(population);
    }
    let file = std::fs::File::open(path).map_err(|e| read_error(&name, e.to_string()))?;
    population_of_csv(model, std::io::BufReader::new(file), &name)
}

/// Refuses a Parquet file where only CSV is read, saying what to do.
pub fn require_csv(path: &std::path::Path) -> Result<()> {
    if crate::parquet::is_parquet(path) {
        return Err(read_error(
            &path.display().to_string(),
            "is a Parquet file; scoring files reads and writes CSV (train reads both), so convert it to CSV first".into(),
        ));
    }
    Ok(())
}

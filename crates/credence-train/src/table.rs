//! Tables of training data: columns typed as numeric or categorical, a
//! binary target, stratified splits.

use crate::{Error, Result};
use std::path::Path;

/// "No value" in a categorical column.
pub const MISSING_CODE: u32 = u32::MAX;

/// A column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Numbers; `NaN` is missing.
    Numeric(Vec<f64>),
    /// Categories as codes into `levels`; [`MISSING_CODE`] is missing.
    Categorical {
        /// One code per row.
        codes: Vec<u32>,
        /// The distinct values.
        levels: Vec<String>,
    },
}

impl ColumnData {
    /// The values as categories: numbers labelled as
    /// [`credence_scorecard::number_label`] writes them (`1`, `2.5`), which
    /// is how the scorer matches them again. For numbers that are codes
    /// (education level, region, industry), whose order means nothing.
    pub fn into_categories(self) -> ColumnData {
        let ColumnData::Numeric(values) = self else {
            return self;
        };
        let mut levels: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
        let codes = values
            .iter()
            .map(|x| {
                if x.is_nan() {
                    return MISSING_CODE;
                }
                // -0.0 and 0.0 are one code, as their labels are.
                let key = if *x == 0.0 { 0 } else { x.to_bits() };
                *index.entry(key).or_insert_with(|| {
                    levels.push(credence_scorecard::number_label(*x));
                    (levels.len() - 1) as u32
                })
            })
            .collect();
        ColumnData::Categorical { codes, levels }
    }

    /// The values as numbers, or the first value that is not one.
    pub fn into_numbers(self) -> std::result::Result<ColumnData, String> {
        let ColumnData::Categorical { codes, levels } = &self else {
            return Ok(self);
        };
        let numbers = levels
            .iter()
            .map(|level| {
                level
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| level.clone())
            })
            .collect::<std::result::Result<Vec<f64>, String>>()?;
        Ok(ColumnData::Numeric(
            codes
                .iter()
                .map(|&c| {
                    if c == MISSING_CODE {
                        f64::NAN
                    } else {
                        numbers[c as usize]
                    }
                })
                .collect(),
        ))
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The header name.
    pub name: String,
    /// The values.
    pub data: ColumnData,
}

impl Column {
    /// The row count.
    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Categorical { codes, .. } => codes.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value in `row` as text (for targets).
    pub fn text(&self, row: usize) -> Option<String> {
        match &self.data {
            ColumnData::Numeric(v) => v
                .get(row)
                .filter(|x| !x.is_nan())
                .map(|x| credence_scorecard::number_label(*x)),
            ColumnData::Categorical { codes, levels } => codes
                .get(row)
                .filter(|c| **c != MISSING_CODE)
                .and_then(|c| levels.get(*c as usize).cloned()),
        }
    }

    /// The rows `rows` of this column.
    pub fn select(&self, rows: &[usize]) -> Column {
        let data = match &self.data {
            ColumnData::Numeric(v) => ColumnData::Numeric(rows.iter().map(|&r| v[r]).collect()),
            ColumnData::Categorical { codes, levels } => ColumnData::Categorical {
                codes: rows.iter().map(|&r| codes[r]).collect(),
                levels: levels.clone(),
            },
        };
        Column {
            name: self.name.clone(),
            data,
        }
    }
}

/// A table of columns of equal length.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The columns, in file order.
    pub columns: Vec<Column>,
    /// The row count.
    pub rows: usize,
}

/// The cell texts that mean "no value". Training and file scoring share
/// this one list, so a value missing when a model was fitted is missing
/// when it scores.
pub(crate) fn is_missing(cell: &str) -> bool {
    matches!(
        cell,
        "" | "NA" | "N/A" | "NaN" | "nan" | "null" | "NULL" | "?"
    )
}

impl Table {
    /// Reads a CSV file with a header, or a Parquet file (told apart by
    /// their first bytes). In CSV a column whose every present value is a
    /// number is numeric and any other is categorical; in Parquet the
    /// column's type decides.
    pub fn read_csv(path: &Path) -> Result<Self> {
        Self::read_csvs(&[path])
    }

    /// Reads files with the same columns into one table, rows in file order
    /// (so a training file and a validation file share one typing of their
    /// columns). Each may be CSV or Parquet.
    pub fn read_csvs(paths: &[&Path]) -> Result<Self> {
        Self::read_csvs_counted(paths).map(|(table, _)| table)
    }

    /// Like [`Table::read_csvs`], also returning each file's row count.
    pub fn read_csvs_counted(paths: &[&Path]) -> Result<(Self, Vec<usize>)> {
        let mut names: Vec<String> = Vec::new();
        let mut raws: Vec<RawColumn> = Vec::new();
        let mut counts = Vec::with_capacity(paths.len());
        for (file, path) in paths.iter().enumerate() {
            let fail = |message: String| Error::Read {
                path: path.display().to_string(),
                message,
            };
            let (header, columns, rows) = if crate::parquet::is_parquet(path) {
                crate::parquet::read(path)?
            } else {
                read_csv_columns(path)?
            };
            if header.is_empty() {
                return Err(fail("the file has no columns".into()));
            }
            for (i, name) in header.iter().enumerate() {
                if header[..i].contains(name) {
                    return Err(fail(format!("column {name:?} appears twice in the header")));
                }
            }
            if file == 0 {
                names = header;
                raws = columns;
            } else if header != names {
                return Err(fail(format!(
                    "its columns differ from {}'s; both files need the same columns in the same order",
                    paths[0].display()
                )));
            } else {
                raws = raws
                    .into_iter()
                    .zip(columns)
                    .map(|(a, b)| a.append(b))
                    .collect();
            }
            counts.push(rows);
        }
        let rows = counts.iter().sum();
        let columns = names
            .into_iter()
            .zip(raws)
            .map(|(name, raw)| Column {
                name,
                data: raw.typed(),
            })
            .collect();
        Ok((Self { columns, rows }, counts))
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The rows `rows` of the table.
    pub fn select(&self, rows: &[usize]) -> Table {
        Table {
            columns: self.columns.iter().map(|c| c.select(rows)).collect(),
            rows: rows.len(),
        }
    }
}

/// One column's cells, back to back.
#[derive(Debug, Default)]
pub(crate) struct CellArena {
    bytes: String,
    ends: Vec<usize>,
}

impl CellArena {
    pub(crate) fn push(&mut self, cell: &str) {
        self.bytes.push_str(cell);
        self.ends.push(self.bytes.len());
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let cell = &self.bytes[start..end];
            start = end;
            cell
        })
    }

    fn extend(&mut self, other: &CellArena) {
        for cell in other.iter() {
            self.push(cell);
        }
    }
}

/// A column as one file held it, before the files are joined and typed.
#[derive(Debug)]
pub(crate) enum RawColumn {
    /// CSV cells: typed by their content once every file is read.
    Text(CellArena),
    /// A typed numeric column (Parquet); `NaN` is missing.
    Numbers(Vec<f64>),
    /// A typed text column (Parquet): categorical whatever it looks like,
    /// so codes such as postcodes stay categories.
    Strings(CellArena),
}

impl RawColumn {
    /// This file's column followed by the next file's. Where the two files
    /// typed it differently, the numbers become text and the CSV rule
    /// decides.
    fn append(self, next: RawColumn) -> RawColumn {
        use RawColumn::{Numbers, Strings, Text};
        match (self, next) {
            (Numbers(mut a), Numbers(b)) => {
                a.extend(b);
                Numbers(a)
            }
            (Strings(mut a), Strings(b)) => {
                a.extend(&b);
                Strings(a)
            }
            (a, b) => {
                let strings = matches!(a, Strings(_)) || matches!(b, Strings(_));
                let mut cells = a.into_text();
                cells.extend(&b.into_text());
                if strings { Strings(cells) } else { Text(cells) }
            }
        }
    }

    fn into_text(self) -> CellArena {
        match self {
            RawColumn::Text(cells) | RawColumn::Strings(cells) => cells,
            RawColumn::Numbers(values) => {
                let mut cells = CellArena::default();
                for value in values {
                    if value.is_nan() {
                        cells.push("");
                    } else {
                        cells.push(&value.to_string());
                    }
                }
                cells
            }
        }
    }

    fn typed(self) -> ColumnData {
        match self {
            RawColumn::Numbers(values) => ColumnData::Numeric(values),
            RawColumn::Strings(cells) => categorical(&cells),
            RawColumn::Text(cells) => typed(&cells),
        }
    }
}

/// A CSV file's header, its columns' cells and its row count.
fn read_csv_columns(path: &Path) -> Result<(Vec<String>, Vec<RawColumn>, usize)> {
    let fail = |message: String| Error::Read {
        path: path.display().to_string(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| fail(e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| fail(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    // Each column's cells in one byte arena: millions of cells must not
    // mean millions of allocations.
    let mut cells: Vec<CellArena> = (0..header.len()).map(|_| CellArena::default()).collect();
    let mut record = csv::StringRecord::new();
    let mut rows = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(fail(format!("line {}: {e}", rows + 2))),
        }
        if record.len() != header.len() {
            return Err(fail(format!(
                "line {}: {} cells, the header has {}",
                rows + 2,
                record.len(),
                header.len()
            )));
        }
        for (column, cell) in cells.iter_mut().zip(record.iter()) {
            column.push(cell);
        }
        rows += 1;
    }
    Ok((
        header,
        cells.into_iter().map(RawColumn::Text).collect(),
        rows,
    ))
}

fn typed(cells: &CellArena) -> ColumnData {
    let numeric: Option<Vec<f64>> = cells
        .iter()
        .map(|v| {
            if is_missing(v) {
                Some(f64::NAN)
            } else {
                v.parse::<f64>().ok().filter(|x| x.is_finite())
            }
        })
        .collect();
    match numeric {
        Some(v) if v.iter().any(|x| !x.is_nan()) => ColumnData::Numeric(v),
        _ => categorical(cells),
    }
}

fn categorical(cells: &CellArena) -> ColumnData {
    let mut levels: Vec<String> = Vec::new();
    let mut index: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let codes = cells
        .iter()
        .map(|v| {
            if is_missing(v) {
                return MISSING_CODE;
            }
            *index.entry(v).or_insert_with(|| {
                levels.push(v.to_string());
                (levels.len() - 1) as u32
            })
        })
        .collect();
    ColumnData::Categorical { codes, levels }
}

/// The 0/1 target (1 = bad) from column `name`. With `bad`, rows equal to it
/// are bad; without, the values must be 0/1 or good/bad.
pub fn target_from(table: &Table, name: &str, bad: Option<&str>) -> Result<Vec<u8>> {
    let column = table.column(name).ok_or_else(|| {
        let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        Error::Target(format!(
            "no column {name:?}; the columns are {}",
            known.join(", ")
        ))
    })?;
    let mut target = Vec::with_capacity(table.rows);
    for row in 0..table.rows {
        let value = column.text(row).ok_or_else(|| {
            Error::Target(format!(
                "row {} has no value in {name:?}; every row needs an outcome",
                row + 2
            ))
        })?;
        let is_bad = match bad {
            Some(bad) => value == bad,
            None => match value.to_ascii_lowercase().as_str() {
                "1" | "bad" => true,
                "0" | "good" => false,
                other => {
                    return Err(Error::Target(format!(
                        "row {}: {other:?} is not 0/1 or good/bad; pass --bad VALUE to say which value means a bad outcome",
                        row + 2
                    )));
                }
            },
        };
        target.push(u8::from(is_bad));
    }
    let bads = target.iter().filter(|t| **t == 1).count();
    if bads == 0 || bads == target.len() {
        return Err(Error::Target(format!(
            "{name:?} has {bads} bad outcome(s) in {} rows; training needs both goods and bads",
            target.len()
        )));
    }
    Ok(target)
}

/// A stratified split: `test_share` of the goods and of the bads go to the
/// test set, chosen by a seeded shuffle. Returns (train rows, test rows).
pub fn stratified_split(target: &[u8], test_share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // splitmix64: a fixed, documented sequence, so a seed names a split.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in [0u8, 1] {
        let mut rows: Vec<usize> = (0..target.len()).filter(|&r| target[r] == class).collect();
        for i in (1..rows.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            rows.swap(i, j);
        }
        let n_test = (rows.len() as f64 * test_share).round() as usize;
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

//! Reading training tables from Parquet files.
//!
//! Columns keep the type the file declares: integers, floats, decimals and
//! booleans become numbers, text (plain or dictionary-encoded, as pandas
//! writes categoricals) becomes categories. Other types (dates, lists,
//! structs) are refused with the column's name, since a scorecard input
//! must be a number or a category.

use crate::table::{CellArena, RawColumn};
use crate::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::io::Read;
use std::path::Path;

/// Rows per decoded batch: large enough that per-batch overhead vanishes,
/// small enough that one batch of a wide table stays in cache-sized memory.
const BATCH_ROWS: usize = 64 * 1024;

/// True when the file starts with Parquet's magic bytes.
pub(crate) fn is_parquet(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok()
        && &magic == b"PAR1"
}

/// A Parquet file's column names, columns and row count. Columns are
/// decoded on as many threads as the machine has, each reading its own
/// share of the columns (Parquet stores them apart).
///
/// A corrupt file is an error, never a crash: the parquet crate's decoders
/// trust lengths and offsets written in the file and have been seen to
/// panic on crafted ones, so a panic anywhere in reading is caught here
/// and reported as the file being unreadable.
pub(crate) fn read(path: &Path) -> Result<(Vec<String>, Vec<RawColumn>, usize)> {
    std::panic::catch_unwind(|| read_trusting_the_decoder(path)).unwrap_or_else(|_| {
        Err(Error::Read {
            path: path.display().to_string(),
            message: CORRUPT.into(),
        })
    })
}

const CORRUPT: &str = "not a readable Parquet file: its metadata or pages are corrupt; write it again from its source";

/// Checks what the decoder would assert on: every column chunk's byte
/// range inside the file.
fn check_chunks(
    metadata: &parquet::file::metadata::ParquetMetaData,
    file_len: u64,
) -> std::result::Result<(), String> {
    for (g, group) in metadata.row_groups().iter().enumerate() {
        for column in group.columns() {
            let start = match column.dictionary_page_offset() {
                Some(d) if d < column.data_page_offset() => d,
                _ => column.data_page_offset(),
            };
            let (start, len) = (start, column.compressed_size());
            let inside = start >= 0
                && len >= 0
                && column.data_page_offset() >= 0
                && (start as u64).saturating_add(len as u64) <= file_len;
            if !inside {
                return Err(format!(
                    "{CORRUPT} (column {:?} of row group {g} lies outside the file)",
                    column.column_path().string()
                ));
            }
        }
    }
    Ok(())
}

fn read_trusting_the_decoder(path: &Path) -> Result<(Vec<String>, Vec<RawColumn>, usize)> {
    let fail = |message: String| Error::Read {
        path: path.display().to_string(),
        message,
    };
    let open = || -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>> {
        let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| fail(format!("not a readable Parquet file: {e}")))
    };
    let builder = open()?;
    let file_len = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    check_chunks(builder.metadata(), file_len).map_err(fail)?;
    let schema = builder.schema().clone();
    let total_rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut empty: Vec<RawColumn> = Vec::with_capacity(names.len());
    for field in schema.fields() {
        empty.push(match kind_of(field.data_type()) {
            Some(Kind::Number) => RawColumn::Numbers(Vec::with_capacity(total_rows)),
            Some(Kind::Text) => RawColumn::Strings(CellArena::default()),
            None => {
                return Err(fail(format!(
                    "column {:?} has type {}, which a scorecard cannot use; \
                     write it as a number or text, or leave it out of the file",
                    field.name(),
                    field.data_type()
                )));
            }
        });
    }
    // A nested schema has more leaves than top-level fields; the types
    // above refuse nested fields, so leaves and fields line up here.
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(names.len())
        .clamp(1, 8);
    // Thread t reads columns t, t + threads, … (spreads wide and narrow
    // columns evenly).
    let mut shares: Vec<Vec<(usize, RawColumn)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, column) in empty.into_iter().enumerate() {
        shares[i % threads].push((i, column));
    }
    let read_share = |share: Vec<(usize, RawColumn)>| -> Result<Share> {
        let builder = open()?;
        let indices: Vec<usize> = share.iter().map(|(i, _)| *i).collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let mut share = share;
        let mut rows = 0;
        for batch in reader {
            let batch = batch.map_err(|e| fail(format!("after row {rows}: {e}")))?;
            for ((index, column), array) in share.iter_mut().zip(batch.columns()) {
                append(column, array.as_ref())
                    .map_err(|message| fail(format!("{:?}: {message}", names[*index])))?;
            }
            rows += batch.num_rows();
        }
        Ok((share, rows))
    };
    let results: Vec<Result<Share>> = std::thread::scope(|scope| {
        let workers: Vec<_> = shares
            .into_iter()
            .map(|share| scope.spawn(|| read_share(share)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(fail(CORRUPT.into()))))
            .collect()
    });
    let mut columns: Vec<Option<RawColumn>> = (0..names.len()).map(|_| None).collect();
    let mut rows = None;
    for result in results {
        let (share, share_rows) = result?;
        if rows.is_some_and(|r| r != share_rows) {
            return Err(fail("columns of different lengths".into()));
        }
        rows = Some(share_rows);
        for (i, column) in share {
            columns[i] = Some(column);
        }
    }
    let columns = columns
        .into_iter()
        .collect::<Option<Vec<RawColumn>>>()
        .ok_or_else(|| fail("a column was not read".into()))?;
    Ok((names, columns, rows.unwrap_or(0)))
}

/// One thread's columns (with their positions) and the rows it read.
type Share = (Vec<(usize, RawColumn)>, usize);

enum Kind {
    Number,
    Text,
}

fn kind_of(data_type: &DataType) -> Option<Kind> {
    use DataType::*;
    match data_type {
        Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16
        | Float32 | Float64 | Decimal128(..) => Some(Kind::Number),
        Utf8 | LargeUtf8 | Utf8View => Some(Kind::Text),
        Dictionary(_, values) => match kind_of(values) {
            Some(Kind::Text) => Some(Kind::Text),
            _ => None,
        },
        _ => None,
    }
}

fn numbers<T: ArrowPrimitiveType>(
    array: &PrimitiveArray<T>,
    out: &mut Vec<f64>,
    convert: impl Fn(T::Native) -> f64,
) {
    out.extend(
        array
            .iter()
            .map(|value| value.map_or(f64::NAN, &convert))
            // Infinities mean nothing to a binning; they count as missing,
            // as unparseable numbers do in CSV.
            .map(|x| if x.is_finite() { x } else { f64::NAN }),
    );
}

fn append(column: &mut RawColumn, array: &dyn Array) -> std::result::Result<(), String> {
    match column {
        RawColumn::Numbers(out) => {
            match array.data_type() {
                DataType::Boolean => out.extend(
                    array
                        .as_boolean()
                        .iter()
                        .map(|b| b.map_or(f64::NAN, f64::from)),
                ),
                DataType::Int8 => numbers(array.as_primitive::<Int8Type>(), out, f64::from),
                DataType::Int16 => numbers(array.as_primitive::<Int16Type>(), out, f64::from),
                DataType::Int32 => numbers(array.as_primitive::<Int32Type>(), out, f64::from),
                DataType::Int64 => numbers(array.as_primitive::<Int64Type>(), out, |v| v as f64),
                DataType::UInt8 => numbers(array.as_primitive::<UInt8Type>(), out, f64::from),
                DataType::UInt16 => numbers(array.as_primitive::<UInt16Type>(), out, f64::from),
                DataType::UInt32 => numbers(array.as_primitive::<UInt32Type>(), out, f64::from),
                DataType::UInt64 => numbers(array.as_primitive::<UInt64Type>(), out, |v| v as f64),
                DataType::Float16 => numbers(array.as_primitive::<Float16Type>(), out, f64::from),
                DataType::Float32 => numbers(array.as_primitive::<Float32Type>(), out, f64::from),
                DataType::Float64 => numbers(array.as_primitive::<Float64Type>(), out, |v| v),
                DataType::Decimal128(_, scale) => {
                    let divisor = 10f64.powi(i32::from(*scale));
                    numbers(array.as_primitive::<Decimal128Type>(), out, |v| {
                        v as f64 / divisor
                    });
                }
                other => return Err(format!("type {other} changed between row groups")),
            }
            Ok(())
        }
        RawColumn::Strings(cells) | RawColumn::Text(cells) => strings(cells, array),
    }
}

fn strings(cells: &mut CellArena, array: &dyn Array) -> std::result::Result<(), String> {
    let mut push = |value: Option<&str>| cells.push(value.unwrap_or(""));
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().for_each(&mut push),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().for_each(&mut push),
        DataType::Utf8View => array.as_string_view().iter().for_each(&mut push),
        DataType::Dictionary(..) => {
            let dictionary = array.as_any_dictionary();
            let mut values = CellArena::default();
            strings(&mut values, dictionary.values().as_ref())?;
            let values: Vec<&str> = values.iter().collect();
            let keys = dictionary.normalized_keys();
            for (row, key) in keys.into_iter().enumerate() {
                if dictionary.keys().is_null(row) {
                    push(None);
                } else {
                    push(values.get(key).copied());
                }
            }
        }
        other => return Err(format!("type {other} changed between row groups")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{ColumnData, Table};
    use arrow_array::{
        ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, RecordBatch,
        StringArray, types::Int8Type,
    };
    use parquet::arrow::ArrowWriter;
    use std::sync::Arc;

    fn write(path: &std::path::Path, columns: Vec<(&str, ArrayRef)>) {
        let batch = RecordBatch::try_from_iter(columns).expect("batch");
        let file = std::fs::File::create(path).expect("create");
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
    }

    #[test]
    fn a_corrupt_file_is_an_error_never_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        write(
            &path,
            vec![
                (
                    "debt",
                    Arc::new(Float64Array::from(
                        (0..500).map(f64::from).collect::<Vec<_>>(),
                    )) as ArrayRef,
                ),
                (
                    "name",
                    Arc::new(StringArray::from(
                        (0..500).map(|i| format!("n{i}")).collect::<Vec<_>>(),
                    )),
                ),
            ],
        );
        let good = std::fs::read(&path).expect("read");
        let corrupt = dir.path().join("c.parquet");
        // Every byte of the footer and a sample of the pages, each set to
        // a few hostile values, and the file cut short at many places.
        let footer = good.len().saturating_sub(400);
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for at in (footer..good.len() - 4).chain((4..footer).step_by(97)) {
            for value in [0x00, 0xff, 0x7f, 0x80] {
                let mut bytes = good.clone();
                bytes[at] = value;
                variants.push(bytes);
            }
        }
        for cut in (8..good.len()).step_by(53) {
            let mut bytes = good[..cut].to_vec();
            bytes.extend_from_slice(b"PAR1");
            variants.push(bytes);
        }
        let mut refused = 0;
        for bytes in &variants {
            std::fs::write(&corrupt, bytes).expect("write");
            let outcome = std::panic::catch_unwind(|| Table::read_csv(&corrupt).map(|t| t.rows));
            let read = outcome.unwrap_or_else(|_| panic!("a panic escaped the reader"));
            if let Err(e) = read {
                assert!(e.to_string().contains("Parquet"), "{e}");
                refused += 1;
            }
        }
        assert!(
            refused > variants.len() / 4,
            "{refused} of {} refused",
            variants.len()
        );
    }

    #[test]
    fn reads_numbers_text_dictionaries_and_nulls_by_declared_type() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        let region: DictionaryArray<Int8Type> = vec![Some("north"), None, Some("south")]
            .into_iter()
            .collect();
        write(
            &path,
            vec![
                (
                    "debt",
                    Arc::new(Float64Array::from(vec![Some(1.5), None, Some(3.0)])) as ArrayRef,
                ),
                (
                    "months",
                    Arc::new(Int32Array::from(vec![Some(12), Some(0), None])),
                ),
                (
                    "owner",
                    Arc::new(BooleanArray::from(vec![true, false, true])),
                ),
                // Text that looks like numbers stays categorical: the file
                // says it is text.
                (
                    "postcode",
                    Arc::new(StringArray::from(vec![Some("0101"), Some("2000"), None])),
                ),
                ("region", Arc::new(region)),
            ],
        );
        let table = Table::read_csv(&path).expect("reads Parquet");
        assert_eq!(table.rows, 3);
        let data = |name: &str| table.column(name).expect("column").data.clone();
        match data("debt") {
            ColumnData::Numeric(v) => {
                assert_eq!((v[0], v[2]), (1.5, 3.0));
                assert!(v[1].is_nan());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(data("months"), ColumnData::Numeric(v) if v[0] == 12.0 && v[2].is_nan()));
        assert_eq!(data("owner"), ColumnData::Numeric(vec![1.0, 0.0, 1.0]));
        assert!(
            matches!(data("postcode"), ColumnData::Categorical { levels, .. } if levels == ["0101", "2000"])
        );
        match data("region") {
            ColumnData::Categorical { codes, levels } => {
                assert_eq!(levels, ["north", "south"]);
                assert_eq!(codes[1], crate::table::MISSING_CODE);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_parquet_training_file_joins_a_csv_test_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let train = dir.path().join("train.parquet");
        write(
            &train,
            vec![
                (
                    "x",
                    Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
                ),
                ("y", Arc::new(Int32Array::from(vec![0, 1]))),
            ],
        );
        let test = dir.path().join("test.csv");
        std::fs::write(&test, "x,y\n3.5,1\n,0\n").expect("write");
        let (table, counts) =
            Table::read_csvs_counted(&[train.as_path(), test.as_path()]).expect("reads both");
        assert_eq!(counts, [2, 2]);
        match &table.column("x").expect("x").data {
            ColumnData::Numeric(v) => {
                assert_eq!(&v[..3], &[1.0, 2.0, 3.5]);
                assert!(v[3].is_nan());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unusable_types_and_broken_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dates.parquet");
        write(
            &path,
            vec![(
                "opened",
                Arc::new(arrow_array::Date32Array::from(vec![19000, 19001])) as ArrayRef,
            )],
        );
        let err = Table::read_csv(&path)
            .expect_err("dates are no input")
            .to_string();
        assert!(
            err.contains("\"opened\"") && err.contains("Date32"),
            "{err}"
        );
        let broken = dir.path().join("broken.parquet");
        std::fs::write(&broken, b"PAR1 but nothing else").expect("write");
        let err = Table::read_csv(&broken).expect_err("broken").to_string();
        assert!(
            err.contains("broken.parquet") && err.contains("Parquet"),
            "{err}"
        );
    }
}

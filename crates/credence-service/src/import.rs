//! Importing files of events (JSON Lines or CSV) in one transaction.
//!
//! By default a file with any bad record is refused whole, with every bad
//! line listed (line number, field, reason). With a quarantine file, the
//! good records are imported and the bad ones written there with their
//! errors. Either way nothing is half-written: the import commits once, at
//! the end, or not at all.

use crate::ingest::RecordError;
use crate::{Error, Furnishing, Ingestor, Intake, Result};
use credence_domain::Event;
use credence_domain::wire::{CsvRow, csv_like::Header};
use credence_store::{EventWriter, Store};
use jiff::Timestamp;
use serde::Serialize;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    JsonLines,
    /// Comma-separated, with a header of wire field names.
    Csv,
}

impl Format {
    /// Guesses the format from a file name.
    pub fn from_path(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson" | "json") => Ok(Self::JsonLines),
            Some("csv") => Ok(Self::Csv),
            _ => Err(Error::Input(format!(
                "cannot tell the format of {} from its name; name it .jsonl or .csv, or pass --format",
                path.display()
            ))),
        }
    }
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The format; guessed from the file name when `None`.
    pub format: Option<Format>,
    /// Import the good rows and write the bad ones here.
    pub quarantine: Option<PathBuf>,
    /// Events per write batch inside the transaction.
    pub batch_size: usize,
    /// Who furnishes the file: a registered furnisher (its rules apply to
    /// every record, as over the API) or the operator.
    pub furnishing: Furnishing,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            format: None,
            quarantine: None,
            batch_size: 8_192,
            furnishing: Furnishing::Operator,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    /// Records read (not counting a CSV header or blank lines).
    pub records: u64,
    /// Events written.
    pub inserted: usize,
    /// Repeats of stored events, ignored.
    pub duplicates: usize,
    /// Records written to the quarantine file.
    pub quarantined: usize,
    /// Records with at least one problem.
    pub bad_records: usize,
    /// The first [`LISTED_ERRORS`] problems found, in line order (the
    /// quarantine file, when there is one, holds every bad record with all
    /// of its problems).
    pub errors: Vec<RecordError>,
    /// Problems found beyond those listed.
    pub errors_not_listed: usize,
}

/// Problems an import lists, at most: enough to see every kind of mistake
/// in a file, few enough that a file of a million bad lines neither floods
/// the terminal nor holds a million errors in memory.
pub const LISTED_ERRORS: usize = 1_000;

/// A reader that counts the bytes read (for progress) and remembers whether
/// the input ended with a line break (for CSV line numbers).
struct Counting<R> {
    inner: R,
    bytes: u64,
    last_byte: Option<u8>,
    at_end: bool,
    /// Bytes read since the last line break.
    since_line_break: u64,
    /// Where a CSV file's quotes stand, when the input is CSV.
    quotes: Option<QuoteState>,
}

/// Follows a CSV file's quoting byte by byte, only to tell whether it ends
/// inside a quoted field: the csv crate takes the end of the input as the
/// end of the field, so a file cut off (or mistyped) inside a quote would
/// import its last row with whatever followed the quote.
#[derive(Debug, Clone, Copy)]
struct QuoteState {
    in_quotes: bool,
    /// At the start of a field: a quote here opens a quoted field.
    field_start: bool,
    /// Just after a quote that closed a field: another quote here is an
    /// escaped one (`""`), back inside.
    just_closed: bool,
    /// Line breaks seen, and the line the open quote is on.
    lines: u64,
    opened_on: u64,
}

impl QuoteState {
    fn new() -> Self {
        Self {
            in_quotes: false,
            field_start: true,
            just_closed: false,
            lines: 0,
            opened_on: 0,
        }
    }

    fn follow(&mut self, bytes: &[u8]) {
        // Most reads of a file of events hold no quote at all: then only
        // the line count and whether a field starts next can change, and
        // neither needs a look at each byte in turn.
        if !self.in_quotes && !bytes.contains(&b'"') {
            self.lines += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            if let Some(&last) = bytes.last() {
                self.field_start = matches!(last, b',' | b'\n');
                self.just_closed = false;
            }
            return;
        }
        for &b in bytes {
            if self.in_quotes {
                if b == b'"' {
                    self.in_quotes = false;
                    self.just_closed = true;
                } else if b == b'\n' {
                    self.lines += 1;
                }
                continue;
            }
            match b {
                b'"' if self.field_start || self.just_closed => {
                    self.in_quotes = true;
                    self.opened_on = self.lines + 1;
                }
                b',' => self.field_start = true,
                b'\n' => {
                    self.lines += 1;
                    self.field_start = true;
                }
                _ => self.field_start = false,
            }
            if b != b'"' {
                self.just_closed = false;
            } else {
                self.field_start = false;
            }
        }
    }
}

/// The longest line an import reads: a record (a JSON event, a CSV row or
/// the header) is a few hundred bytes; anything near this is not a file of
/// events, and reading it whole would hold it all in memory.
pub const MAX_LINE_BYTES: u64 = 1 << 20;

impl<R> Counting<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            bytes: 0,
            last_byte: None,
            at_end: false,
            since_line_break: 0,
            quotes: None,
        }
    }

    /// The line of a quote the input opened and never closed, once read
    /// to the end (CSV only).
    fn unclosed_quote(&self) -> Option<u64> {
        self.quotes
            .filter(|q| self.at_end && q.in_quotes)
            .map(|q| q.opened_on)
    }

    /// True once the whole input is read and its last byte is no line break.
    fn ends_without_line_break(&self) -> bool {
        self.at_end && self.last_byte.is_some_and(|b| b != b'\n')
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let start = self.bytes;
        self.bytes += n as u64;
        match n {
            0 => self.at_end = !buf.is_empty(),
            n => self.last_byte = Some(buf[n - 1]),
        }
        if let Some(quotes) = &mut self.quotes {
            quotes.follow(&buf[..n]);
        }
        // Searched from the end: a line break is near it in any file of
        // records, so this costs a few bytes a read.
        self.since_line_break = match buf[..n].iter().rposition(|&b| b == b'\n') {
            Some(at) => (n - 1 - at) as u64,
            None => self.since_line_break + n as u64,
        };
        if self.since_line_break > MAX_LINE_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line longer than {} MiB (from byte {}): a record is one event or one CSV row on a line of its own; is this a file of events?",
                    MAX_LINE_BYTES >> 20,
                    start + n as u64 - self.since_line_break
                ),
            ));
        }
        Ok(n)
    }
}

struct Run<'a> {
    ingestor: &'a Ingestor,
    furnishing: &'a Furnishing,
    now: Timestamp,
    strict: bool,
    batch_size: usize,
    summary: ImportSummary,
    batch: Vec<Event>,
    batch_lines: Vec<(u64, usize)>,
    raw_lines: Vec<String>,
    intake: Intake<'a>,
    quarantine: Option<BufWriter<File>>,
    quarantine_path: Option<PathBuf>,
}

#[derive(Serialize)]
struct Quarantined<'a> {
    line: u64,
    errors: &'a [RecordError],
    record: &'a str,
}

impl Run<'_> {
    fn bad(
        &mut self,
        line: u64,
        record: &str,
        errors: Vec<RecordError>,
    ) -> credence_store::Result<()> {
        if let Some(out) = self.quarantine.as_mut() {
            let entry = Quarantined {
                line,
                errors: &errors,
                record,
            };
            let written = serde_json::to_writer(&mut *out, &entry)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(e) = written {
                return Err(credence_store::Error::Backend(format!(
                    "writing the quarantine file {}: {e}",
                    self.quarantine_path
                        .as_deref()
                        .unwrap_or(Path::new("?"))
                        .display()
                )));
            }
            self.summary.quarantined += 1;
        }
        self.summary.bad_records += 1;
        let room = LISTED_ERRORS.saturating_sub(self.summary.errors.len());
        self.summary.errors_not_listed += errors.len().saturating_sub(room);
        self.summary.errors.extend(errors.into_iter().take(room));
        Ok(())
    }

    fn record(
        &mut self,
        writer: &mut dyn EventWriter,
        line: u64,
        parsed: std::result::Result<Event, Vec<credence_domain::FieldError>>,
        raw: &str,
    ) -> credence_store::Result<()> {
        self.summary.records += 1;
        let admitted = self
            .intake
            .admit(parsed)
            .map_err(|e| credence_store::Error::Backend(e.to_string()))?;
        let event = match admitted {
            Ok(event) => event,
            Err(errors) => {
                let errors = errors
                    .into_iter()
                    .map(|e| RecordError::from_field(line, e))
                    .collect();
                return self.bad(line, raw, errors);
            }
        };
        if self.strict && self.summary.bad_records > 0 {
            return Ok(()); // already failing: keep reading only to list every error
        }
        self.batch_lines.push((line, self.raw_lines.len()));
        if self.quarantine.is_some() {
            self.raw_lines.push(raw.to_string());
        }
        self.batch.push(event);
        if self.batch.len() >= self.batch_size {
            self.flush(writer)?;
        }
        Ok(())
    }

    fn flush(&mut self, writer: &mut dyn EventWriter) -> credence_store::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let report = writer.append(&self.batch)?;
        self.summary.inserted += report.inserted;
        self.summary.duplicates += report.duplicates;
        for rejection in report.rejected {
            let (line, raw_index) = self.batch_lines[rejection.index];
            let raw = self.raw_lines.get(raw_index).cloned().unwrap_or_default();
            self.bad(
                line,
                &raw,
                vec![RecordError::from_rejection(line, rejection)],
            )?;
        }
        self.batch.clear();
        self.batch_lines.clear();
        self.raw_lines.clear();
        Ok(())
    }
}

/// Imports `path` into `store`. `progress` is called with bytes read so far
/// (the caller knows the file size).
pub fn import_file(
    store: &dyn Store,
    ingestor: &Ingestor,
    path: &Path,
    options: &ImportOptions,
    now: Timestamp,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportSummary> {
    let format = match options.format {
        Some(f) => f,
        None => Format::from_path(path)?,
    };
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let quarantine = match &options.quarantine {
        Some(q) => Some(BufWriter::new(File::create(q).map_err(|source| {
            Error::Io {
                path: q.display().to_string(),
                source,
            }
        })?)),
        None => None,
    };
    let mut run = Run {
        ingestor,
        furnishing: &options.furnishing,
        now,
        strict: quarantine.is_none(),
        batch_size: options.batch_size.max(1),
        summary: ImportSummary::default(),
        batch: Vec::new(),
        batch_lines: Vec::new(),
        raw_lines: Vec::new(),
        intake: Intake::new(store, &options.furnishing),
        quarantine,
        quarantine_path: options.quarantine.clone(),
    };
    let mut input_error: Option<Error> = None;
    let result = store.write_events(&mut |writer| {
        let mut reader = Counting::new(
            file.try_clone()
                .map_err(|e| credence_store::Error::Backend(e.to_string()))?,
        );
        let outcome = match format {
            Format::JsonLines => read_json_lines(&mut run, writer, &mut reader, progress),
            Format::Csv => read_csv(&mut run, writer, &mut reader, progress),
        };
        match outcome {
            Ok(()) => {}
            Err(ReadError::Store(e)) => return Err(e),
            Err(ReadError::Input(e)) => {
                input_error = Some(e);
                return Err(credence_store::Error::Rejected(Vec::new()));
            }
        }
        run.flush(writer)?;
        if run.strict && run.summary.bad_records > 0 {
            // Roll back: the caller reports every error.
            return Err(credence_store::Error::Rejected(Vec::new()));
        }
        Ok(())
    });
    if let Some(mut out) = run.quarantine.take() {
        out.flush().map_err(|source| Error::Io {
            path: options
                .quarantine
                .as_deref()
                .unwrap_or(Path::new("?"))
                .display()
                .to_string(),
            source,
        })?;
    }
    if let Some(e) = input_error {
        return Err(e);
    }
    match result {
        Ok(_) => Ok(run.summary),
        Err(credence_store::Error::Rejected(r)) if r.is_empty() && run.summary.bad_records > 0 => {
            let mut errors = run.summary.errors;
            errors.sort_by_key(|e| e.line);
            Err(Error::BadRecords {
                path: path.display().to_string(),
                bad: run.summary.bad_records,
                errors,
                not_listed: run.summary.errors_not_listed,
            })
        }
        Err(e) => Err(e.into()),
    }
}

enum ReadError {
    Store(credence_store::Error),
    Input(Error),
}

impl From<credence_store::Error> for ReadError {
    fn from(e: credence_store::Error) -> Self {
        Self::Store(e)
    }
}

/// One parsed line, on its way from the parsing thread to the writer.
struct Parsed {
    line: u64,
    parsed: std::result::Result<Event, Vec<credence_domain::FieldError>>,
    /// The line's text, kept only where it may be needed: for a quarantine
    /// file, or to report a bad line.
    raw: Option<String>,
}

/// Lines per hand-over between the parsing thread and the writer.
const PARSE_CHUNK: usize = 4_096;

/// Parses on one thread while the caller's thread writes: parsing and
/// writing cost about the same, so an import runs at the pace of the slower.
fn read_json_lines<R: Read + Send>(
    run: &mut Run<'_>,
    writer: &mut dyn EventWriter,
    reader: &mut Counting<R>,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), ReadError> {
    let keep_raw = run.quarantine.is_some();
    let (ingestor, furnishing, now) = (run.ingestor, run.furnishing, run.now);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<Parsed>, u64)>(4);
        let parser = scope.spawn(move || -> Result<()> {
            let mut buffered = BufReader::with_capacity(1 << 20, reader);
            let mut line = String::new();
            let mut number = 0u64;
            let mut chunk = Vec::with_capacity(PARSE_CHUNK);
            loop {
                line.clear();
                let read = buffered
                    .read_line(&mut line)
                    .map_err(|e| Error::Input(format!("reading line {}: {e}", number + 1)))?;
                if read == 0 {
                    break;
                }
                number += 1;
                let text = line.trim();
                if text.is_empty() {
                    continue;
                }
                let parsed = ingestor.parse_json(text, furnishing.furnisher(), now);
                let raw = (keep_raw || parsed.is_err()).then(|| text.to_string());
                chunk.push(Parsed {
                    line: number,
                    parsed,
                    raw,
                });
                if chunk.len() == PARSE_CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(PARSE_CHUNK));
                    if tx.send((full, buffered.get_ref().bytes)).is_err() {
                        return Ok(()); // the writer stopped; it reports why
                    }
                }
            }
            let _ = tx.send((chunk, buffered.get_ref().bytes));
            Ok(())
        });
        for (chunk, bytes) in rx {
            for item in chunk {
                run.record(
                    writer,
                    item.line,
                    item.parsed,
                    item.raw.as_deref().unwrap_or(""),
                )?;
            }
            progress(bytes);
        }
        parser
            .join()
            .map_err(|_| ReadError::Input(Error::Input("the parsing thread panicked".into())))?
            .map_err(ReadError::Input)
    })
}

/// Columns a CSV file of events needs whatever its kinds: without one of
/// them every row is bad, so the file is refused once, naming the column.
const CSV_COLUMNS_OF_EVERY_EVENT: [&str; 5] = [
    "furnisher_id",
    "event_id",
    "subject_id",
    "kind",
    "occurred_at",
];

fn read_csv<R: Read>(
    run: &mut Run<'_>,
    writer: &mut dyn EventWriter,
    reader: &mut Counting<R>,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), ReadError> {
    let input = |message: String| ReadError::Input(Error::Input(message));
    reader.quotes = Some(QuoteState::new());
    // Rows end at `\n` only (a `\r` before it is trimmed with the cell):
    // with the crate's default, a CRLF row ends at the `\r` and its `\n`
    // reads as a blank line, which puts line numbers out. Lengths are
    // checked here rather than by the crate, so a row of the wrong length
    // is reported in the file's terms.
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let names: Vec<String> = csv
        .headers()
        .map_err(|e| {
            input(format!(
                "reading the CSV header (line 1): {}",
                csv_problem(&e)
            ))
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let header = Header::new(names).map_err(|e| input(format!("CSV header (line 1): {e}")))?;
    // A furnisher's own file may leave its id out of every row.
    let missing: Vec<&str> = CSV_COLUMNS_OF_EVERY_EVENT
        .into_iter()
        .filter(|column| header.position(column).is_none())
        .filter(|column| *column != "furnisher_id" || run.furnishing.furnisher().is_none())
        .collect();
    if !missing.is_empty() {
        return Err(input(format!(
            "the CSV header (line 1) has no {} column; every event needs {}, so add {} (the columns may come in any order)",
            missing.join(", "),
            CSV_COLUMNS_OF_EVERY_EVENT.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        )));
    }
    let mut record = csv::StringRecord::new();
    loop {
        let next_line = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if record.len() == 1 && record[0].trim().is_empty() {
                    continue; // a blank line, perhaps a lone `\r`
                }
                let line = first_line_of(&record, &csv);
                if record.len() != header.len() {
                    let error = credence_domain::FieldError::record(
                        "bad_csv",
                        format!(
                            "the row has {} cells but the header has {} columns; give every row one cell per column (an empty cell where a field does not apply)",
                            record.len(),
                            header.len()
                        ),
                    );
                    run.summary.records += 1;
                    let raw = record.iter().map(str::trim).collect::<Vec<_>>().join(",");
                    run.bad(line, &raw, vec![RecordError::from_field(line, error)])?;
                    continue;
                }
                let cells: Vec<&str> = record.iter().map(str::trim).collect();
                let parsed = run.ingestor.parse(
                    &CsvRow {
                        header: &header,
                        cells: &cells,
                    },
                    run.furnishing.furnisher(),
                    run.now,
                );
                if let Err(errors) = &parsed
                    && let Some(column) = errors.iter().find_map(|e| {
                        let field = e.field.as_deref()?;
                        (e.code == "missing_field" && header.position(field).is_none())
                            .then_some(field)
                    })
                    && run.strict
                {
                    // Every row of this kind would repeat it: say it once.
                    let kind = cells
                        .get(header.position("kind").unwrap_or(usize::MAX))
                        .copied()
                        .unwrap_or_default();
                    return Err(input(format!(
                        "line {line}: kind {kind:?} needs the column `{column}`, which the CSV header (line 1) lacks; add the column (its cells may stay empty on rows of kinds that do not use it)"
                    )));
                }
                let raw = cells.join(",");
                run.record(writer, line, parsed, &raw)?;
                if line.is_multiple_of(4096) {
                    progress(csv.get_ref().bytes);
                }
            }
            Err(e) => {
                let line = e.position().map_or(next_line, csv::Position::line);
                let error = credence_domain::FieldError::record("bad_csv", csv_problem(&e));
                run.summary.records += 1;
                run.bad(line, "", vec![RecordError::from_field(line, error)])?;
            }
        }
    }
    progress(csv.get_ref().bytes);
    if let Some(line) = csv.get_ref().unclosed_quote() {
        return Err(input(format!(
            "line {line}: a quote opens a field that is never closed before the file ends; close it (a quote inside a quoted field is written twice, \"\"), or the file was cut short"
        )));
    }
    Ok(())
}

/// The line a record starts on. The csv crate's own record position counts
/// from before any blank lines it skipped, so it is counted back from where
/// the record ended instead: the reader's position, less the line breaks
/// inside quoted cells.
fn first_line_of<R: Read>(record: &csv::StringRecord, csv: &csv::Reader<&mut Counting<R>>) -> u64 {
    let after = csv.position();
    let input = csv.get_ref();
    // The reader is on the line after the record, unless the record is the
    // file's last and no line break ends it.
    let last = if after.byte() == input.bytes && input.ends_without_line_break() {
        after.line()
    } else {
        after.line() - 1
    };
    let breaks_inside: usize = record.iter().map(|cell| cell.matches('\n').count()).sum();
    last.saturating_sub(breaks_inside as u64).max(2)
}

/// A CSV error in the file's terms: what is wrong with the row and how to
/// mend it, without the parser's record and byte counters.
fn csv_problem(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "cell {} is not valid UTF-8; save the file as UTF-8",
            err.field() + 1
        ),
        csv::ErrorKind::Io(e) => format!("the file could not be read: {e}"),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::QuoteState;

    /// Where a file's quotes stand at its end, and on which line the open
    /// one opened, read in pieces of `piece` bytes.
    fn ends(text: &str, piece: usize) -> (bool, u64) {
        let mut state = QuoteState::new();
        for chunk in text.as_bytes().chunks(piece) {
            state.follow(chunk);
        }
        (state.in_quotes, state.opened_on)
    }

    #[test]
    fn quotes_are_followed_the_same_however_the_file_is_cut_into_reads() {
        for (text, open, line) in [
            ("a,b\n1,2\n", false, 0),
            ("a,b\n1,\"x,y\"\n", false, 0),
            ("a,b\n1,\"say \"\"hi\"\"\"\n2,3\n", false, 0),
            ("a,b\n1,2\n3,\"never closed\n4,5\n", true, 3),
            ("a,b\n1,ab\"c\n", false, 0),
            ("a,b\r\n\"x\"\r\n\"open", true, 3),
        ] {
            for piece in 1..=text.len() {
                let (in_quotes, opened_on) = ends(text, piece);
                assert_eq!(in_quotes, open, "{text:?} in pieces of {piece}");
                if open {
                    assert_eq!(opened_on, line, "{text:?} in pieces of {piece}");
                }
            }
        }
    }
}

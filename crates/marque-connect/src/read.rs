//! Reading one input file through a connector: records out of CSV, JSON Lines or Parquet, each
//! mapped to canonical values or quarantined with its position, raw bytes and reason.

use std::borrow::Cow;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use chrono::FixedOffset;
use marque_core::canonical::{self, CanonicalField, FieldType};

use crate::decode::{Encoding, strip_bom};
use crate::definition::{ConnectorDef, FieldDef, Format};
use crate::parse;
use crate::rows::{QuarantinedRow, RowBuffer, Value};
use crate::{ConnectError, Result};

/// What reading one file produced.
pub struct ReadOutcome {
    /// Landed rows in the raw table's schema.
    pub batches: Vec<RecordBatch>,
    pub quarantined: Vec<QuarantinedRow>,
    /// Records seen in the file (header excluded, blank lines excluded).
    pub rows_read: u64,
    pub rows_landed: u64,
    /// The raw header record of a CSV file with a header row (kept with quarantined rows so
    /// that they can be replayed on their own).
    pub header: Option<Vec<u8>>,
}

/// Maps a record's text fields to typed canonical values.
struct Mapper<'a> {
    /// Per canonical field: the mapping and the index of its source column, if mapped.
    slots: Vec<(CanonicalField, Option<(&'a FieldDef, usize)>)>,
    offset_default: FixedOffset,
}

impl<'a> Mapper<'a> {
    /// `position_of` resolves a source column name to an index in the record.
    fn new(
        def: &'a ConnectorDef,
        mut position_of: impl FnMut(&str) -> Option<usize>,
    ) -> Result<Self> {
        let source = def.source_domain().map_err(|e| ConnectError::Definition {
            path: def.path.clone(),
            message: e.to_string(),
        })?;
        let mut slots = Vec::new();
        for c in canonical::fields(source) {
            let mapped = match def.fields.iter().find(|f| f.name == c.name) {
                Some(f) => match position_of(&f.column) {
                    Some(i) => Some((f, i)),
                    None => {
                        return Err(ConnectError::Definition {
                            path: def.path.clone(),
                            message: format!(
                                "column {:?} of field {:?} is not in the input",
                                f.column, f.name
                            ),
                        });
                    }
                },
                None => None,
            };
            slots.push((*c, mapped));
        }
        Ok(Self {
            slots,
            offset_default: parse::parse_offset("+08:00").expect("static offset"),
        })
    }

    /// The source column indices the mapper reads.
    fn columns(&self) -> impl Iterator<Item = (usize, &str)> {
        self.slots
            .iter()
            .filter_map(|(_, m)| m.map(|(f, i)| (i, f.column.as_str())))
    }

    fn map<'t>(
        &self,
        mut text: impl FnMut(usize) -> Option<Cow<'t, str>>,
    ) -> std::result::Result<Vec<Value>, String> {
        let mut out = Vec::with_capacity(self.slots.len());
        for (c, mapped) in &self.slots {
            let Some((f, i)) = mapped else {
                out.push(Value::Null);
                continue;
            };
            let raw = text(*i);
            let raw = raw.as_deref().map(str::trim).filter(|s| !s.is_empty());
            let Some(raw) = raw else {
                if c.required {
                    return Err(format!(
                        "required field {} (column {:?}) is empty",
                        c.name, f.column
                    ));
                }
                out.push(Value::Null);
                continue;
            };
            let why = |e: String| format!("field {} (column {:?}): {e}", c.name, f.column);
            out.push(match c.ty {
                FieldType::String => Value::Str(parse::clean(raw)),
                FieldType::Date => Value::Date(parse::parse_date(raw, &f.formats).map_err(why)?),
                FieldType::Timestamp => {
                    let offset = f
                        .timezone
                        .as_deref()
                        .and_then(parse::parse_offset)
                        .unwrap_or(self.offset_default);
                    Value::Timestamp(parse::parse_timestamp(raw, &f.formats, offset).map_err(why)?)
                }
                FieldType::Amount => Value::Amount(parse::parse_amount(raw).map_err(why)?),
                FieldType::Integer => Value::Integer(parse::parse_integer(raw).map_err(why)?),
            });
        }
        Ok(out)
    }
}

struct Collector {
    rows: RowBuffer,
    quarantined: Vec<QuarantinedRow>,
    rows_read: u64,
    header: Option<Vec<u8>>,
}

impl Collector {
    fn land_or_quarantine(
        &mut self,
        mapped: std::result::Result<Vec<Value>, String>,
        line: u64,
        offset: u64,
        raw: &[u8],
    ) -> Result<()> {
        self.rows_read += 1;
        match mapped {
            Ok(values) => self.rows.push(values, line),
            Err(reason) => {
                self.quarantine(line, offset, raw, reason);
                Ok(())
            }
        }
    }

    fn quarantine(&mut self, line: u64, byte_offset: u64, raw: &[u8], reason: String) {
        self.quarantined.push(QuarantinedRow {
            line,
            byte_offset,
            raw: raw.to_vec(),
            reason,
        });
    }

    fn finish(self) -> Result<ReadOutcome> {
        let batches = self.rows.finish()?;
        Ok(ReadOutcome {
            rows_landed: batches.iter().map(|b| b.num_rows() as u64).sum(),
            batches,
            quarantined: self.quarantined,
            rows_read: self.rows_read,
            header: self.header,
        })
    }
}

/// The bytes of one batch: a file on disk or a body already in memory (HTTP push, Postgres
/// rows rendered as JSON Lines, replayed quarantine records).
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

/// Reads `path` with connector `def`. `file_name` is the path recorded as lineage; `batch_id`
/// is stamped on every landed row.
pub fn read_file(
    def: &ConnectorDef,
    path: &Path,
    file_name: &str,
    batch_id: &str,
) -> Result<ReadOutcome> {
    read_input(def, Input::File(path), file_name, batch_id)
}

/// Reads one batch's input with connector `def` (see [`read_file`]).
pub fn read_input(
    def: &ConnectorDef,
    input: Input<'_>,
    file_name: &str,
    batch_id: &str,
) -> Result<ReadOutcome> {
    let source = def.source_domain().map_err(|e| ConnectError::Definition {
        path: def.path.clone(),
        message: e.to_string(),
    })?;
    let mut out = Collector {
        rows: RowBuffer::new(
            canonical::raw_schema(source),
            canonical::fields(source),
            batch_id,
            file_name,
        ),
        quarantined: Vec::new(),
        rows_read: 0,
        header: None,
    };
    let owned;
    let data: &[u8] = match (input, &def.format) {
        (Input::Bytes(b), _) => b,
        (Input::File(_), Format::Parquet) => &[],
        (Input::File(path), _) => {
            owned = read_bytes(path)?;
            &owned
        }
    };
    match &def.format {
        Format::Csv {
            encoding,
            delimiter,
            quote,
            header,
        } => {
            let enc = Encoding::parse(encoding).ok_or_else(|| ConnectError::Definition {
                path: def.path.clone(),
                message: format!("unknown encoding {encoding:?}"),
            })?;
            read_csv(
                def,
                strip_bom(data),
                enc,
                *delimiter,
                *quote,
                *header,
                &mut out,
            )?;
        }
        Format::Jsonl => read_jsonl(def, data, &mut out)?,
        Format::Parquet => match input {
            Input::File(path) => {
                let file = std::fs::File::open(path).map_err(|source| ConnectError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                read_parquet(def, path, file, &mut out)?
            }
            Input::Bytes(b) => read_parquet(
                def,
                Path::new(file_name),
                bytes::Bytes::copy_from_slice(b),
                &mut out,
            )?,
        },
    }
    out.finish()
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| ConnectError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn ascii_byte(def: &ConnectorDef, what: &str, c: char) -> Result<u8> {
    u8::try_from(c)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| ConnectError::Definition {
            path: def.path.clone(),
            message: format!("{what} {c:?} must be a single ASCII character"),
        })
}

fn read_csv(
    def: &ConnectorDef,
    data: &[u8],
    enc: Encoding,
    delimiter: char,
    quote: char,
    header: bool,
    out: &mut Collector,
) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(ascii_byte(def, "delimiter", delimiter)?)
        .quote(ascii_byte(def, "quote", quote)?)
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    let mut names: Vec<String> = Vec::new();
    if header {
        let got = rdr
            .read_byte_record(&mut rec)
            .map_err(|e| ConnectError::Definition {
                path: def.path.clone(),
                message: format!("cannot read the header row: {e}"),
            })?;
        if got {
            let end = (rdr.position().byte() as usize).min(data.len());
            out.header = Some(data[..end].to_vec());
            for (i, field) in rec.iter().enumerate() {
                let name = enc.decode(field).ok_or_else(|| ConnectError::Definition {
                    path: def.path.clone(),
                    message: format!(
                        "header column {} is not valid in the declared encoding",
                        i + 1
                    ),
                })?;
                names.push(name.trim().to_string());
            }
        }
    }
    let mapper = Mapper::new(def, |col| {
        if header {
            names.iter().position(|n| n == col)
        } else {
            col.parse::<usize>().ok().filter(|p| *p >= 1).map(|p| p - 1)
        }
    })?;
    let width = if header { Some(names.len()) } else { None };
    let wanted: Vec<(usize, String)> = mapper.columns().map(|(i, c)| (i, c.to_string())).collect();
    loop {
        let start = rdr.position().clone();
        let got = rdr.read_byte_record(&mut rec);
        let end = rdr.position().byte() as usize;
        let mut raw = &data[start.byte() as usize..end.min(data.len())];
        let (mut line, mut offset) = (start.line(), start.byte());
        // The reader's position sits before the previous record's line ending; the record
        // itself starts after it.
        while let [b'\r' | b'\n', rest @ ..] = raw {
            if raw[0] == b'\n' {
                line += 1;
            }
            offset += 1;
            raw = rest;
        }
        match got {
            Ok(false) => break,
            Err(e) => {
                out.rows_read += 1;
                out.quarantine(line, offset, raw, format!("unreadable CSV record: {e}"));
                continue;
            }
            Ok(true) => {}
        }
        if let Some(w) = width
            && rec.len() != w
        {
            out.rows_read += 1;
            out.quarantine(
                line,
                offset,
                raw,
                format!("expected {w} columns, found {}", rec.len()),
            );
            continue;
        }
        let mut decoded: Vec<Option<Cow<str>>> = vec![None; rec.len()];
        let mut bad = None;
        for (i, col) in &wanted {
            if let Some(bytes) = rec.get(*i) {
                match enc.decode(bytes) {
                    Some(s) => decoded[*i] = Some(s),
                    None => {
                        bad = Some(format!(
                            "column {col:?} has bytes that are not valid {enc:?} text"
                        ));
                        break;
                    }
                }
            }
        }
        let mapped = match bad {
            Some(reason) => Err(reason),
            None => mapper.map(|i| decoded.get_mut(i).and_then(Option::take)),
        };
        out.land_or_quarantine(mapped, line, offset, raw)?;
    }
    Ok(())
}

fn read_jsonl(def: &ConnectorDef, data: &[u8], out: &mut Collector) -> Result<()> {
    let keys: Vec<String> = def.fields.iter().map(|f| f.column.clone()).collect();
    let mapper = Mapper::new(def, |col| keys.iter().position(|k| k == col))?;
    let mut offset = 0usize;
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
        if trimmed.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mapped =
            match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(trimmed) {
                Err(e) => Err(format!("invalid JSON: {e}")),
                Ok(obj) => mapper.map(|i| {
                    obj.get(&keys[i]).and_then(|v| match v {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(Cow::Owned(s.clone())),
                        other => Some(Cow::Owned(other.to_string())),
                    })
                }),
            };
        out.land_or_quarantine(mapped, n as u64 + 1, start as u64, trimmed)?;
    }
    Ok(())
}

fn read_parquet<R: parquet::file::reader::ChunkReader + 'static>(
    def: &ConnectorDef,
    path: &Path,
    file: R,
    out: &mut Collector,
) -> Result<()> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let pq = |message: String| ConnectError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| pq(e.to_string()))?;
    let schema = builder.schema().clone();
    let mapper = Mapper::new(def, |col| schema.index_of(col).ok())?;
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(|e| pq(e.to_string()))?;
    let mut row_number = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| pq(e.to_string()))?;
        let mut text: Vec<Option<arrow::array::StringArray>> = vec![None; batch.num_columns()];
        for (i, _) in mapper.columns() {
            let col = arrow::compute::cast(batch.column(i), &DataType::Utf8)
                .map_err(|e| pq(e.to_string()))?;
            text[i] = Some(col.as_string::<i32>().clone());
        }
        for r in 0..batch.num_rows() {
            row_number += 1;
            let get = |i: usize| {
                text[i]
                    .as_ref()
                    .filter(|a| a.is_valid(r))
                    .map(|a| Cow::Borrowed(a.value(r)))
            };
            let mapped = mapper.map(get);
            let raw = if mapped.is_err() {
                row_as_json(&text, &schema, r)
            } else {
                Vec::new()
            };
            out.land_or_quarantine(mapped, row_number, 0, &raw)?;
        }
    }
    Ok(())
}

/// A Parquet row has no bytes of its own; its quarantine record keeps the mapped columns as JSON.
fn row_as_json(
    text: &[Option<arrow::array::StringArray>],
    schema: &arrow::datatypes::Schema,
    r: usize,
) -> Vec<u8> {
    let mut obj = serde_json::Map::new();
    for (i, col) in text.iter().enumerate() {
        if let Some(a) = col {
            let v = if a.is_valid(r) {
                serde_json::Value::String(a.value(r).to_string())
            } else {
                serde_json::Value::Null
            };
            obj.insert(schema.field(i).name().clone(), v);
        }
    }
    serde_json::Value::Object(obj).to_string().into_bytes()
}

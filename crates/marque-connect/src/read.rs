//! Reading one input file through a connector: records out of CSV, JSON Lines or Parquet, each
//! mapped to canonical values or quarantined with its position, raw bytes and reason.

use std::borrow::Cow;
use std::io::Read as _;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, SchemaRef, TimeUnit, TimestampMicrosecondType};
use chrono::FixedOffset;
use marque_core::canonical::{self, CanonicalField, FieldType};

use crate::chunked;
use crate::csv_records::Splitter;
use crate::decode::{Encoding, strip_bom};
use crate::definition::{ConnectorDef, FieldDef, Format};
use crate::jsonl;
use crate::parse;
use crate::rows::{QuarantinedRow, RowBuffer, Value};
use crate::{ConnectError, Result};

mod parquet_input;
use parquet_input::read_parquet;

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
    /// Per slot: the time zone of its timestamps (the field's, else +08:00).
    offsets: Vec<FixedOffset>,
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
        let china = FixedOffset::east_opt(8 * 3600).ok_or_else(|| {
            ConnectError::Internal("the default offset +08:00 is out of range".into())
        })?;
        let offsets = slots
            .iter()
            .map(|(_, m)| {
                m.and_then(|(f, _)| f.timezone.as_deref())
                    .and_then(parse::parse_offset)
                    .unwrap_or(china)
            })
            .collect();
        Ok(Self { slots, offsets })
    }

    /// The source column indices the mapper reads.
    fn columns(&self) -> impl Iterator<Item = (usize, &str)> {
        self.slots
            .iter()
            .filter_map(|(_, m)| m.map(|(f, i)| (i, f.column.as_str())))
    }

    /// Whether every field mapped from source column `i` has type `ty`.
    fn column_is_only(&self, i: usize, ty: FieldType) -> bool {
        self.slots
            .iter()
            .filter(|(_, m)| m.is_some_and(|(_, j)| j == i))
            .all(|(c, _)| c.ty == ty)
    }

    /// Maps one record into `out` (emptied first), or says why it cannot be landed.
    fn map<'t>(
        &self,
        mut text: impl FnMut(usize) -> Option<Cell<'t>>,
        out: &mut Vec<Value<'t>>,
    ) -> std::result::Result<(), String> {
        out.clear();
        for ((c, mapped), offset) in self.slots.iter().zip(&self.offsets) {
            let Some((f, i)) = mapped else {
                out.push(Value::Null);
                continue;
            };
            let raw = match text(*i) {
                Some(Cell::Text(s)) => Some(s),
                Some(Cell::Instant(t)) => {
                    out.push(Value::Timestamp(t));
                    continue;
                }
                Some(Cell::Amount(x)) => {
                    out.push(Value::Amount(x));
                    continue;
                }
                None => None,
            };
            let Some(raw) = raw.filter(|s| !parse::trim(s).is_empty()) else {
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
                FieldType::String => Value::Str(match raw {
                    Cow::Borrowed(s) => parse::clean(s),
                    Cow::Owned(s) => Cow::Owned(parse::clean(&s).into_owned()),
                }),
                FieldType::Date => {
                    Value::Date(parse::parse_date(parse::trim(&raw), &f.formats).map_err(why)?)
                }
                FieldType::Timestamp => Value::Timestamp(
                    parse::parse_timestamp(parse::trim(&raw), &f.formats, *offset).map_err(why)?,
                ),
                FieldType::Amount => {
                    Value::Amount(parse::parse_amount(parse::trim(&raw)).map_err(why)?)
                }
                FieldType::Integer => {
                    Value::Integer(parse::parse_integer(parse::trim(&raw)).map_err(why)?)
                }
            });
        }
        Ok(())
    }
}

/// One source value as the mapper gets it: text to parse, or (from typed sources such as
/// Parquet, and only for fields of that type) a value that needs no parsing.
enum Cell<'t> {
    Text(Cow<'t, str>),
    /// A timestamp field's instant, microseconds since the epoch, UTC.
    Instant(i64),
    /// An amount field's value, already rounded to cents like [`parse::parse_amount`].
    Amount(f64),
}

/// An empty vector that reuses the allocation of `v` (same element layout, other lifetime):
/// the per-record vectors of a chunk are allocated once, not once per record.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// The rows one chunk of input produced.
struct ChunkOut {
    rows: RowBuffer,
    quarantined: Vec<QuarantinedRow>,
    rows_read: u64,
}

/// Input bytes per row assumed when sizing a chunk's builders (the reference exports average
/// 130–230 bytes per record).
const BYTES_PER_ROW_GUESS: usize = 128;

impl ChunkOut {
    /// Output of a chunk of `bytes` bytes of input.
    fn new(ctx: &Ctx<'_>, bytes: usize) -> Self {
        Self {
            rows: RowBuffer::with_capacity(
                ctx.schema.clone(),
                ctx.fields,
                ctx.batch_id,
                ctx.file_name,
                bytes / BYTES_PER_ROW_GUESS,
                bytes,
            ),
            quarantined: Vec::new(),
            rows_read: 0,
        }
    }

    /// Lands the record mapped into `values` (emptying it), or quarantines it.
    fn land_or_quarantine(
        &mut self,
        mapped: std::result::Result<(), String>,
        values: &mut Vec<Value<'_>>,
        line: u64,
        offset: u64,
        raw: &[u8],
    ) -> Result<()> {
        self.rows_read += 1;
        match mapped {
            Ok(()) => self.rows.push(values, line),
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
}

/// What every chunk of one batch shares.
struct Ctx<'a> {
    schema: SchemaRef,
    fields: &'a [CanonicalField],
    batch_id: &'a str,
    file_name: &'a str,
}

/// Counts and quarantined rows of a read whose landed rows went to a callback.
#[derive(Default)]
pub struct ReadSummary {
    pub quarantined: Vec<QuarantinedRow>,
    /// Records seen in the file (header excluded, blank lines excluded).
    pub rows_read: u64,
    pub rows_landed: u64,
    /// The raw header record of a CSV file with a header row.
    pub header: Option<Vec<u8>>,
}

impl ReadSummary {
    /// Takes in one chunk's rows (in input order), passing its landed batches to `emit`.
    fn absorb(
        &mut self,
        chunk: ChunkOut,
        emit: &mut dyn FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        self.rows_read += chunk.rows_read;
        self.quarantined.extend(chunk.quarantined);
        for batch in chunk.rows.finish()? {
            self.rows_landed += batch.num_rows() as u64;
            emit(batch)?;
        }
        Ok(())
    }
}

/// The bytes of one batch: a file on disk or a body already in memory (HTTP push, Postgres
/// rows rendered as JSON Lines, replayed quarantine records).
pub enum Input<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
    /// A stream read once, front to back (an object being downloaded). Parquet, which needs
    /// random access, is read into memory first.
    Reader(Box<dyn std::io::Read + Send + 'a>),
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

/// Reads one batch's input with connector `def` (see [`read_file`]), keeping every landed row
/// in memory. Big inputs go through [`read_input_with`] instead.
pub fn read_input(
    def: &ConnectorDef,
    input: Input<'_>,
    file_name: &str,
    batch_id: &str,
) -> Result<ReadOutcome> {
    let mut batches = Vec::new();
    let summary = read_input_with(def, input, file_name, batch_id, &mut |b| {
        batches.push(b);
        Ok(())
    })?;
    Ok(ReadOutcome {
        batches,
        quarantined: summary.quarantined,
        rows_read: summary.rows_read,
        rows_landed: summary.rows_landed,
        header: summary.header,
    })
}

/// Reads one batch's input in bounded chunks mapped on every core, passing the landed rows to
/// `emit` in input order as Arrow batches of the raw table's schema. Memory stays bounded by a
/// few chunks whatever the input's size; quarantined rows are returned (with their exact line
/// and byte offset in the whole input). An error from `emit` stops the read and is returned.
pub fn read_input_with(
    def: &ConnectorDef,
    input: Input<'_>,
    file_name: &str,
    batch_id: &str,
    emit: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<ReadSummary> {
    let source = def.source_domain().map_err(|e| ConnectError::Definition {
        path: def.path.clone(),
        message: e.to_string(),
    })?;
    let ctx = Ctx {
        schema: canonical::raw_schema(source),
        fields: canonical::fields(source),
        batch_id,
        file_name,
    };
    let mut summary = ReadSummary::default();
    let io = |path: &Path, source| ConnectError::Io {
        path: path.to_path_buf(),
        source,
    };
    let parquet = matches!(def.format, Format::Parquet);
    // Parquet needs random access: a file, or the whole input in memory.
    let mut parquet_input: Option<std::result::Result<&Path, bytes::Bytes>> = None;
    let mut src: Box<dyn std::io::Read + Send + '_> = match input {
        Input::File(path) if parquet => {
            parquet_input = Some(Ok(path));
            Box::new(std::io::empty())
        }
        Input::File(path) => Box::new(std::fs::File::open(path).map_err(|e| io(path, e))?),
        Input::Bytes(b) if parquet => {
            parquet_input = Some(Err(bytes::Bytes::copy_from_slice(b)));
            Box::new(std::io::empty())
        }
        Input::Bytes(b) => Box::new(b),
        Input::Reader(mut r) if parquet => {
            let mut all = Vec::new();
            r.read_to_end(&mut all)
                .map_err(|e| io(Path::new(file_name), e))?;
            parquet_input = Some(Err(bytes::Bytes::from(all)));
            Box::new(std::io::empty())
        }
        Input::Reader(r) => r,
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
            let dialect = Dialect {
                delimiter: ascii_byte(def, "delimiter", *delimiter)?,
                quote: ascii_byte(def, "quote", *quote)?,
                header: *header,
            };
            read_csv(def, &mut src, enc, dialect, &ctx, &mut summary, emit)?;
        }
        Format::Jsonl => read_jsonl(def, &mut src, &ctx, &mut summary, emit)?,
        Format::Parquet => match parquet_input {
            Some(Ok(path)) => {
                let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
                read_parquet(def, path, file, &ctx, &mut summary, emit)?
            }
            Some(Err(b)) => read_parquet(def, Path::new(file_name), b, &ctx, &mut summary, emit)?,
            None => {}
        },
    }
    Ok(summary)
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

#[derive(Clone, Copy)]
struct Dialect {
    delimiter: u8,
    quote: u8,
    header: bool,
}

impl Dialect {
    fn reader<'b>(&self, data: &'b [u8]) -> csv::Reader<&'b [u8]> {
        csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote)
            .has_headers(false)
            .flexible(true)
            .from_reader(data)
    }
}

fn read_csv(
    def: &ConnectorDef,
    src: &mut (dyn std::io::Read + Send),
    enc: Encoding,
    dialect: Dialect,
    ctx: &Ctx<'_>,
    summary: &mut ReadSummary,
    emit: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let what = ctx.file_name;
    let mut buf = Vec::new();
    let mut eof = chunked::fill(src, &mut buf, chunked::CHUNK_BYTES, what)?;
    // Offsets count from after a byte order mark, as if it were not there.
    let bom = buf.len() - strip_bom(&buf).len();
    buf.drain(..bom);
    let mut names: Vec<String> = Vec::new();
    let mut start = chunked::Base { byte: 0, line: 1 };
    if dialect.header {
        // The header record must be whole before it is read.
        while !eof && chunked::split_csv(&buf, dialect.delimiter, dialect.quote).is_none() {
            let want = buf.len() * 2;
            eof = chunked::fill(src, &mut buf, want, what)?;
        }
        let mut rdr = dialect.reader(&buf);
        let mut rec = csv::ByteRecord::new();
        let got = rdr
            .read_byte_record(&mut rec)
            .map_err(|e| ConnectError::Definition {
                path: def.path.clone(),
                message: format!("cannot read the header row: {e}"),
            })?;
        if got {
            let end = (rdr.position().byte() as usize).min(buf.len());
            summary.header = Some(buf[..end].to_vec());
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
            start = chunked::Base {
                byte: end as u64,
                line: rdr.position().line(),
            };
            buf.drain(..end);
        }
    }
    let header = dialect.header;
    let mapper = Mapper::new(def, |col| {
        if header {
            names.iter().position(|n| n == col)
        } else {
            col.parse::<usize>().ok().filter(|p| *p >= 1).map(|p| p - 1)
        }
    })?;
    let width = if header { Some(names.len()) } else { None };
    let wanted: Vec<(usize, String)> = mapper.columns().map(|(i, c)| (i, c.to_string())).collect();
    let job = CsvJob {
        mapper: &mapper,
        enc,
        dialect,
        width,
        wanted: &wanted,
        max_wanted: wanted.iter().map(|(i, _)| *i).max().unwrap_or(0),
        ctx,
    };
    let (delimiter, quote) = (dialect.delimiter, dialect.quote);
    chunked::ordered_parallel(
        |emit_chunk| {
            if eof {
                if !buf.is_empty() {
                    emit_chunk(chunked::Chunk {
                        data: buf,
                        base: start,
                    });
                }
                return Ok(());
            }
            chunked::split_chunks(
                src,
                what,
                buf,
                start,
                |b| chunked::split_csv(b, delimiter, quote),
                emit_chunk,
            )
        },
        |chunk| job.run(&chunk),
        |out| summary.absorb(out, emit),
    )
}

/// Maps the records of one CSV chunk.
struct CsvJob<'a> {
    mapper: &'a Mapper<'a>,
    enc: Encoding,
    dialect: Dialect,
    width: Option<usize>,
    wanted: &'a [(usize, String)],
    /// The highest index in `wanted`.
    max_wanted: usize,
    ctx: &'a Ctx<'a>,
}

impl CsvJob<'_> {
    fn run(&self, chunk: &chunked::Chunk) -> Result<ChunkOut> {
        let data = &chunk.data[..];
        let mut out = ChunkOut::new(self.ctx, data.len());
        let mut records = Splitter::new(data, self.dialect.delimiter, self.dialect.quote);
        let enc = self.enc;
        let mut spare_text: Vec<Option<Cow<'static, str>>> = Vec::new();
        let mut spare_values: Vec<Value<'static>> = Vec::new();
        while let Some(rec) = records.next_record() {
            let line = chunk.base.line + rec.lines_before;
            let offset = chunk.base.byte + rec.offset as u64;
            if let Some(w) = self.width
                && rec.len() != w
            {
                out.rows_read += 1;
                out.quarantine(
                    line,
                    offset,
                    rec.raw,
                    format!("expected {w} columns, found {}", rec.len()),
                );
                continue;
            }
            // A record that is valid UTF-8 as a whole (nearly every one) is validated in one
            // pass; otherwise each wanted field is decoded on its own in the declared encoding.
            let whole = rec.utf8();
            let mut decoded: Vec<Option<Cow<str>>> = recycle(std::mem::take(&mut spare_text));
            decoded.resize(self.width.unwrap_or(0).max(self.max_wanted + 1), None);
            let mut bad = None;
            for (i, col) in self.wanted {
                match rec.field_text(*i, whole, enc) {
                    Some(Some(s)) => decoded[*i] = Some(s),
                    Some(None) => {
                        bad = Some(format!(
                            "column {col:?} has bytes that are not valid {enc:?} text"
                        ));
                        break;
                    }
                    None => {}
                }
            }
            let mut values = recycle(std::mem::take(&mut spare_values));
            let mapped = match bad {
                Some(reason) => Err(reason),
                None => self.mapper.map(
                    |i| decoded.get_mut(i).and_then(Option::take).map(Cell::Text),
                    &mut values,
                ),
            };
            out.land_or_quarantine(mapped, &mut values, line, offset, rec.raw)?;
            spare_values = recycle(values);
            spare_text = recycle(decoded);
        }
        Ok(out)
    }
}

fn read_jsonl(
    def: &ConnectorDef,
    src: &mut (dyn std::io::Read + Send),
    ctx: &Ctx<'_>,
    summary: &mut ReadSummary,
    emit: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let keys: Vec<String> = def.fields.iter().map(|f| f.column.clone()).collect();
    let mapper = Mapper::new(def, |col| keys.iter().position(|k| k == col))?;
    let what = ctx.file_name;
    let work = |chunk: chunked::Chunk| -> Result<ChunkOut> {
        let mut out = ChunkOut::new(ctx, chunk.data.len());
        let mut offset = chunk.base.byte as usize;
        let mut values = Vec::new();
        for (n, line) in chunk.data.split(|&b| b == b'\n').enumerate() {
            let start = offset;
            offset += line.len() + 1;
            let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
            if trimmed.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mapped = match jsonl::fields(trimmed, &keys) {
                Err(e) => Err(format!("invalid JSON: {e}")),
                Ok(mut texts) => {
                    let get = |i: usize| texts.get_mut(i).and_then(Option::take).map(Cell::Text);
                    mapper.map(get, &mut values)
                }
            };
            out.land_or_quarantine(
                mapped,
                &mut values,
                chunk.base.line + n as u64,
                start as u64,
                trimmed,
            )?;
        }
        Ok(out)
    };
    chunked::ordered_parallel(
        |emit_chunk| {
            chunked::split_chunks(
                src,
                what,
                Vec::new(),
                chunked::Base { byte: 0, line: 1 },
                chunked::split_lines,
                emit_chunk,
            )
        },
        work,
        |out| summary.absorb(out, emit),
    )
}

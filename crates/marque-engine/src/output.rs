//! Writing query results in the formats scripts want: an aligned table, CSV, JSON, NDJSON,
//! Parquet.

use std::io::Write;
use std::str::FromStr;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::parquet::arrow::ArrowWriter;

use crate::{EngineError, Result};

/// An output format for query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// An aligned text table for people.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A Parquet file (binary; write it to a file).
    Parquet,
}

impl OutputFormat {
    /// Every format's name, as accepted by [`OutputFormat::from_str`].
    pub const NAMES: [&'static str; 5] = ["table", "csv", "json", "ndjson", "parquet"];
}

impl FromStr for OutputFormat {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "table" => Self::Table,
            "csv" => Self::Csv,
            "json" => Self::Json,
            "ndjson" | "jsonl" => Self::Ndjson,
            "parquet" => Self::Parquet,
            other => {
                return Err(EngineError::InvalidOption(format!(
                    "unknown output format {other:?}; use one of {}",
                    Self::NAMES.join(", ")
                )));
            }
        })
    }
}

fn io(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("writing the result: {e}"))
}

/// Writes `batches` (of `schema`) to `out` in `format`. A result with no rows still writes the
/// header (table, CSV) or an empty document (JSON `[]`, a Parquet file with the schema).
pub fn write_batches<W: Write + Send>(
    format: OutputFormat,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    mut out: W,
) -> Result<()> {
    let empty = [RecordBatch::new_empty(schema.clone())];
    let batches: &[RecordBatch] = if batches.is_empty() { &empty } else { batches };
    match format {
        OutputFormat::Table => {
            let table = pretty_format_batches(batches).map_err(io)?;
            writeln!(out, "{table}").map_err(io)?;
        }
        OutputFormat::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            for b in batches {
                w.write(b).map_err(io)?;
            }
        }
        OutputFormat::Json => {
            let mut w = datafusion::arrow::json::ArrayWriter::new(&mut out);
            for b in batches {
                w.write(b).map_err(io)?;
            }
            w.finish().map_err(io)?;
            drop(w);
            writeln!(out).map_err(io)?;
        }
        OutputFormat::Ndjson => {
            let mut w = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
            for b in batches {
                w.write(b).map_err(io)?;
            }
            w.finish().map_err(io)?;
        }
        OutputFormat::Parquet => {
            let mut w = ArrowWriter::try_new(&mut out, schema.clone(), None).map_err(io)?;
            for b in batches {
                w.write(b).map_err(io)?;
            }
            w.close().map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn sample() -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("city", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("上海"), None])),
            ],
        )
        .unwrap();
        (schema, batch)
    }

    fn render(format: OutputFormat) -> Vec<u8> {
        let (schema, batch) = sample();
        let mut out = Vec::new();
        write_batches(format, &schema, &[batch], &mut out).unwrap();
        out
    }

    #[test]
    fn every_format_writes_the_rows() {
        let table = String::from_utf8(render(OutputFormat::Table)).unwrap();
        assert!(table.contains("| id | city |"), "{table}");
        assert!(table.contains("| 1  | 上海 |"), "{table}");
        assert_eq!(
            String::from_utf8(render(OutputFormat::Csv)).unwrap(),
            "id,city\n1,上海\n2,\n"
        );
        assert_eq!(
            String::from_utf8(render(OutputFormat::Json)).unwrap(),
            "[{\"id\":1,\"city\":\"上海\"},{\"id\":2}]\n"
        );
        assert_eq!(
            String::from_utf8(render(OutputFormat::Ndjson)).unwrap(),
            "{\"id\":1,\"city\":\"上海\"}\n{\"id\":2}\n"
        );
        let parquet = render(OutputFormat::Parquet);
        assert_eq!(&parquet[..4], b"PAR1");
    }

    #[test]
    fn unknown_formats_are_refused_with_the_known_ones() {
        let err = "xml".parse::<OutputFormat>().unwrap_err();
        assert!(
            err.to_string()
                .contains("table, csv, json, ndjson, parquet")
        );
        assert_eq!(
            "JSONL".parse::<OutputFormat>().unwrap(),
            OutputFormat::Ndjson
        );
    }

    #[test]
    fn an_empty_result_still_has_its_header() {
        let (schema, _) = sample();
        let mut out = Vec::new();
        write_batches(OutputFormat::Csv, &schema, &[], &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "id,city\n");
    }
}

//! Reading Parquet inputs: typed timestamp and amount columns map directly, every other column
//! goes through the same text parsers as CSV, and a bad row is quarantined as JSON of its cells.

use super::*;

pub(super) fn read_parquet<R: ::parquet::file::reader::ChunkReader + 'static>(
    def: &ConnectorDef,
    path: &Path,
    file: R,
    ctx: &Ctx<'_>,
    summary: &mut ReadSummary,
    emit: &mut dyn FnMut(RecordBatch) -> Result<()>,
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
        .with_batch_size(32 * 1024)
        .build()
        .map_err(|e| pq(e.to_string()))?;
    let work = |(batch, first_row): (RecordBatch, u64)| -> Result<ChunkOut> {
        let mut out = ChunkOut::new(ctx, batch.num_rows() * BYTES_PER_ROW_GUESS);
        let mut cols: Vec<Option<SourceColumn>> = vec![None; batch.num_columns()];
        for (i, _) in mapper.columns() {
            let col = batch.column(i);
            cols[i] = Some(match col.data_type() {
                // UTC microseconds already: no round trip through text.
                DataType::Timestamp(TimeUnit::Microsecond, Some(_))
                    if mapper.column_is_only(i, FieldType::Timestamp) =>
                {
                    SourceColumn::Instants(col.clone())
                }
                DataType::Float64 if mapper.column_is_only(i, FieldType::Amount) => {
                    SourceColumn::Amounts(col.clone())
                }
                _ => SourceColumn::Text(
                    arrow::compute::cast(col, &DataType::Utf8)
                        .map_err(|e| pq(e.to_string()))?
                        .as_string::<i32>()
                        .clone(),
                ),
            });
        }
        let mut values = Vec::new();
        for r in 0..batch.num_rows() {
            let get = |i: usize| cols[i].as_ref().and_then(|c| c.cell(r));
            let mapped = mapper.map(get, &mut values);
            let raw = if mapped.is_err() {
                row_as_json(&cols, &schema, r)
            } else {
                Vec::new()
            };
            out.land_or_quarantine(mapped, &mut values, first_row + r as u64 + 1, 0, &raw)?;
        }
        Ok(out)
    };
    chunked::ordered_parallel(
        |emit_batch| {
            let mut rows = 0u64;
            for batch in reader {
                let batch = batch.map_err(|e| pq(e.to_string()))?;
                let n = batch.num_rows() as u64;
                if !emit_batch((batch, rows)) {
                    break;
                }
                rows += n;
            }
            Ok(())
        },
        work,
        |out| summary.absorb(out, emit),
    )
}

/// A mapped column of a Parquet batch.
#[derive(Clone)]
enum SourceColumn {
    Text(arrow::array::StringArray),
    /// Timestamp(Microsecond, time zone) feeding timestamp fields only.
    Instants(arrow::array::ArrayRef),
    /// Float64 feeding amount fields only.
    Amounts(arrow::array::ArrayRef),
}

/// The range of instants RFC 3339 text can carry (years 0000–9999): a value outside it goes
/// through text like any other, and is quarantined the same way.
const RFC3339_MICROS: std::ops::RangeInclusive<i64> =
    -62_167_219_200_000_000..=253_402_300_799_999_999;

impl SourceColumn {
    fn cell(&self, r: usize) -> Option<Cell<'_>> {
        match self {
            SourceColumn::Text(a) => a.is_valid(r).then(|| Cell::Text(Cow::Borrowed(a.value(r)))),
            SourceColumn::Instants(a) => {
                let v = a.as_primitive::<TimestampMicrosecondType>();
                let t = v.is_valid(r).then(|| v.value(r))?;
                Some(if RFC3339_MICROS.contains(&t) {
                    Cell::Instant(t)
                } else {
                    Cell::Text(Cow::Owned(self.text(r)?))
                })
            }
            SourceColumn::Amounts(a) => {
                let v = a.as_primitive::<Float64Type>();
                let x = v.is_valid(r).then(|| v.value(r))?;
                Some(if x.is_finite() {
                    Cell::Amount((x * 100.0).round() / 100.0)
                } else {
                    Cell::Text(Cow::Owned(self.text(r)?))
                })
            }
        }
    }

    /// The value of row `r` as text, as a cast to Utf8 writes it; `None` when null.
    fn text(&self, r: usize) -> Option<String> {
        match self {
            SourceColumn::Text(a) => a.is_valid(r).then(|| a.value(r).to_string()),
            SourceColumn::Instants(a) | SourceColumn::Amounts(a) => a
                .is_valid(r)
                .then(|| arrow::util::display::array_value_to_string(a, r).ok())
                .flatten(),
        }
    }
}

/// A Parquet row has no bytes of its own; its quarantine record keeps the mapped columns as JSON.
fn row_as_json(
    cols: &[Option<SourceColumn>],
    schema: &arrow::datatypes::Schema,
    r: usize,
) -> Vec<u8> {
    let mut obj = serde_json::Map::new();
    for (i, col) in cols.iter().enumerate() {
        if let Some(c) = col {
            let v = c
                .text(r)
                .map_or(serde_json::Value::Null, serde_json::Value::String);
            obj.insert(schema.field(i).name().clone(), v);
        }
    }
    serde_json::Value::Object(obj).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Float64Array, StringArray, TimestampMicrosecondArray};
    use std::sync::Arc;

    #[test]
    fn typed_parquet_columns_land_like_their_text_and_quarantine_the_same_rows() {
        let def = ConnectorDef::parse(
            r#"
name = "app"
domain = "app"
source = { path = "x.parquet" }
format = { kind = "parquet" }
[[field]]
name = "record_id"
column = "id"
[[field]]
name = "app_user_id"
column = "user"
[[field]]
name = "event_time"
column = "at"
[[field]]
name = "amount"
column = "amount"
"#,
            Path::new("app.toml"),
        )
        .unwrap();
        let at: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![
                Some(1_700_000_000_123_456),
                None,
                Some(i64::MAX),
            ])
            .with_timezone("Asia/Shanghai"),
        );
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(StringArray::from(vec!["a", "b", "c"]))),
            ("user", Arc::new(StringArray::from(vec!["u", "u", "u"]))),
            ("at", at.clone()),
            (
                "amount",
                Arc::new(Float64Array::from(vec![Some(12.345), Some(f64::NAN), None])),
            ),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut file = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();

        let out = read_input(&def, Input::Bytes(&file), "x.parquet", "b").unwrap();
        assert_eq!((out.rows_read, out.rows_landed), (3, 1));
        let landed = &out.batches[0];
        let schema = landed.schema();
        let col = |name: &str| landed.column(schema.index_of(name).unwrap()).clone();
        // The text route: the value as a cast to Utf8 writes it, parsed like CSV text.
        let text = arrow::util::display::array_value_to_string(&at, 0).unwrap();
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        let expected = parse::parse_timestamp(&text, &[], offset).unwrap();
        let event_time = col("event_time");
        assert_eq!(
            event_time
                .as_primitive::<TimestampMicrosecondType>()
                .value(0),
            expected
        );
        assert_eq!(expected, 1_700_000_000_123_456);
        let amount = col("amount");
        assert_eq!(
            amount.as_primitive::<Float64Type>().value(0),
            parse::parse_amount("12.345").unwrap()
        );
        let lines: Vec<u64> = out.quarantined.iter().map(|q| q.line).collect();
        assert_eq!(lines, [2, 3]);
        assert!(
            out.quarantined[0]
                .reason
                .contains("required field event_time")
        );
        let raw = String::from_utf8(out.quarantined[0].raw.clone()).unwrap();
        assert!(raw.contains(r#""amount":"NaN""#), "{raw}");
        assert!(out.quarantined[1].reason.contains("field event_time"));
    }
}

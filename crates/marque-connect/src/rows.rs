//! Rows on their way to the lake: typed canonical values collected column-wise into Arrow
//! batches, and the quarantined rows that did not make it.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int64Builder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::SchemaRef;
use marque_core::canonical::{CanonicalField, FieldType};

use crate::{ConnectError, Result};

/// One typed canonical value; text borrows from the record it was read from when it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Str(Cow<'a, str>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since the epoch, UTC.
    Timestamp(i64),
    Amount(f64),
    Integer(i64),
}

/// A source record that could not be landed, with everything needed to fix and replay it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantinedRow {
    /// 1-based line where the record starts.
    pub line: u64,
    /// Byte offset of the record in the file.
    pub byte_offset: u64,
    /// The record's bytes exactly as read, undecodable bytes included.
    pub raw: Vec<u8>,
    /// What was wrong, naming the field and column.
    pub reason: String,
}

enum Column {
    Str(StringBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    F64(Float64Builder),
    I64(Int64Builder),
}

/// Collects canonical rows of one domain plus lineage into Arrow record batches.
pub struct RowBuffer {
    schema: SchemaRef,
    fields: Vec<FieldType>,
    columns: Vec<Column>,
    batch_id: String,
    file: String,
    line_col: Int64Builder,
    rows: usize,
    /// Expected rows per batch and text bytes per string column, to size the builders once.
    capacity: (usize, usize),
    done: Vec<RecordBatch>,
}

/// Rows per Arrow batch: big enough for vectorised work, small enough to bound memory spikes.
const BATCH_ROWS: usize = 65_536;

impl RowBuffer {
    /// A buffer whose builders start with room for `rows` rows of `bytes` bytes of input: the
    /// builders of a chunk then grow (and copy) rarely.
    pub fn with_capacity(
        schema: SchemaRef,
        fields: &[CanonicalField],
        batch_id: &str,
        file: &str,
        rows: usize,
        bytes: usize,
    ) -> Self {
        let rows = rows.clamp(1, BATCH_ROWS);
        let text = fields.iter().filter(|f| f.ty == FieldType::String).count();
        let per_column = (bytes / text.max(1)).clamp(1024, 4 << 20);
        let fields: Vec<FieldType> = fields.iter().map(|f| f.ty).collect();
        let columns = fields
            .iter()
            .map(|ty| new_column(*ty, rows, per_column))
            .collect();
        Self {
            schema,
            fields,
            columns,
            batch_id: batch_id.to_string(),
            file: file.to_string(),
            line_col: Int64Builder::with_capacity(rows),
            rows: 0,
            capacity: (rows, per_column),
            done: Vec::new(),
        }
    }

    /// Appends one row and empties `values` (so its allocation can be reused); `values` are in
    /// canonical field order and already type-checked.
    pub fn push(&mut self, values: &mut Vec<Value<'_>>, line: u64) -> Result<()> {
        for (col, v) in self.columns.iter_mut().zip(values.drain(..)) {
            match (col, v) {
                (Column::Str(b), Value::Str(s)) => b.append_value(&s),
                (Column::Date(b), Value::Date(d)) => b.append_value(d),
                (Column::Ts(b), Value::Timestamp(t)) => b.append_value(t),
                (Column::F64(b), Value::Amount(x)) => b.append_value(x),
                (Column::I64(b), Value::Integer(x)) => b.append_value(x),
                (Column::Str(b), _) => b.append_null(),
                (Column::Date(b), _) => b.append_null(),
                (Column::Ts(b), _) => b.append_null(),
                (Column::F64(b), _) => b.append_null(),
                (Column::I64(b), _) => b.append_null(),
            }
        }
        self.line_col.append_value(line as i64);
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Str(b) => Arc::new(b.finish()),
                    Column::Date(b) => Arc::new(b.finish()),
                    Column::Ts(b) => Arc::new(b.finish().with_timezone("UTC")),
                    Column::F64(b) => Arc::new(b.finish()),
                    Column::I64(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        arrays.push(Arc::new(repeated(&self.batch_id, self.rows)));
        arrays.push(Arc::new(repeated(&self.file, self.rows)));
        arrays.push(Arc::new(self.line_col.finish()));
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|source| {
            ConnectError::Arrow {
                table: "raw".into(),
                source,
            }
        })?;
        self.done.push(batch);
        self.rows = 0;
        let (rows, per_column) = self.capacity;
        for (col, ty) in self.columns.iter_mut().zip(&self.fields) {
            *col = new_column(*ty, rows, per_column);
        }
        Ok(())
    }

    /// All rows pushed, as record batches of the raw table's schema.
    pub fn finish(mut self) -> Result<Vec<RecordBatch>> {
        self.flush()?;
        Ok(self.done)
    }
}

/// A string column holding `value` `rows` times, built in one pass.
pub(crate) fn repeated(value: &str, rows: usize) -> StringArray {
    let offsets = (0..=rows).map(|i| i * value.len());
    let Ok(offsets) = offsets
        .map(i32::try_from)
        .collect::<std::result::Result<Vec<i32>, _>>()
    else {
        // Too long for 32-bit offsets (never with real paths): build it value by value, which
        // reports the overflow like any other builder.
        return StringArray::from_iter_values(std::iter::repeat_n(value, rows));
    };
    StringArray::new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from(value.repeat(rows).into_bytes()),
        None,
    )
}

fn new_column(ty: FieldType, rows: usize, text_bytes: usize) -> Column {
    match ty {
        FieldType::String => Column::Str(StringBuilder::with_capacity(rows, text_bytes)),
        FieldType::Date => Column::Date(Date32Builder::with_capacity(rows)),
        FieldType::Timestamp => Column::Ts(TimestampMicrosecondBuilder::with_capacity(rows)),
        FieldType::Amount => Column::F64(Float64Builder::with_capacity(rows)),
        FieldType::Integer => Column::I64(Int64Builder::with_capacity(rows)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use marque_core::Source;
    use marque_core::canonical::{fields, raw_schema};

    #[test]
    fn rows_land_in_order_with_lineage_across_batch_boundaries() {
        let src = Source::Marketing;
        let n = fields(src).len();
        let mut buf =
            RowBuffer::with_capacity(raw_schema(src), fields(src), "b-1", "f.jsonl", 8, 64);
        let mut values = Vec::new();
        let total = BATCH_ROWS + 3;
        for i in 0..total {
            values.push(Value::Str(Cow::Owned(format!("id{i}"))));
            values.push(Value::Timestamp(i as i64));
            values.resize(n, Value::Null);
            buf.push(&mut values, i as u64 + 2).unwrap();
            assert!(values.is_empty(), "push empties the row for reuse");
        }
        let batches = buf.finish().unwrap();
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            [BATCH_ROWS, 3]
        );
        let last = &batches[1];
        assert_eq!(
            last.column(0).as_string::<i32>().value(2),
            format!("id{}", total - 1)
        );
        assert!(last.column(2).is_null(0));
        let lineage = n;
        assert_eq!(last.column(lineage).as_string::<i32>().value(2), "b-1");
        assert_eq!(
            last.column(lineage + 1).as_string::<i32>().value(0),
            "f.jsonl"
        );
        let line = last
            .column(lineage + 2)
            .as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(line.value(2), total as i64 + 1);
        assert_eq!(repeated("", 3).value(2), "");
    }

    #[test]
    fn the_lake_plain_encodes_only_canonical_columns_of_the_listed_kind() {
        // The lake's Parquet settings name raw-table columns; a renamed canonical field must
        // not silently fall back to dictionary encoding and statistics.
        let columns: Vec<(&str, bool)> = Source::ALL
            .iter()
            .flat_map(|s| fields(*s))
            .map(|f| (f.name, f.ty == FieldType::String))
            .chain([("_line", false)])
            .collect();
        for c in marque_lake::HIGH_CARDINALITY_TEXT_COLUMNS {
            assert!(
                columns.contains(&(c, true)),
                "{c} is no canonical text column"
            );
        }
        let instants: Vec<&str> = Source::ALL
            .iter()
            .flat_map(|s| fields(*s))
            .filter(|f| f.ty == FieldType::Timestamp)
            .map(|f| f.name)
            .collect();
        for c in marque_lake::UNCOMPRESSED_COLUMNS {
            assert!(instants.contains(c), "{c} is no canonical instant column");
        }
        for c in marque_lake::HIGH_CARDINALITY_NUMBER_COLUMNS {
            assert!(
                columns.contains(&(c, false)),
                "{c} is no canonical number column"
            );
        }
    }
}

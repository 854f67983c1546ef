//! Rows on their way to the lake: typed canonical values collected column-wise into Arrow
//! batches, and the quarantined rows that did not make it.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
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
    columns: Vec<Column>,
    batch_id: String,
    file: String,
    batch_id_col: StringBuilder,
    file_col: StringBuilder,
    line_col: Int64Builder,
    rows: usize,
    done: Vec<RecordBatch>,
}

/// Rows per Arrow batch: big enough for vectorised work, small enough to bound memory spikes.
const BATCH_ROWS: usize = 65_536;

impl RowBuffer {
    pub fn new(schema: SchemaRef, fields: &[CanonicalField], batch_id: &str, file: &str) -> Self {
        let columns = fields.iter().map(|f| new_column(f.ty)).collect();
        Self {
            schema,
            columns,
            batch_id: batch_id.to_string(),
            file: file.to_string(),
            batch_id_col: StringBuilder::new(),
            file_col: StringBuilder::new(),
            line_col: Int64Builder::new(),
            rows: 0,
            done: Vec::new(),
        }
    }

    /// Appends one row; `values` are in canonical field order and already type-checked.
    pub fn push(&mut self, values: Vec<Value<'_>>, line: u64) -> Result<()> {
        for (col, v) in self.columns.iter_mut().zip(values) {
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
        self.batch_id_col.append_value(&self.batch_id);
        self.file_col.append_value(&self.file);
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
        arrays.push(Arc::new(self.batch_id_col.finish()));
        arrays.push(Arc::new(self.file_col.finish()));
        arrays.push(Arc::new(self.line_col.finish()));
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|source| {
            ConnectError::Arrow {
                table: "raw".into(),
                source,
            }
        })?;
        self.done.push(batch);
        self.rows = 0;
        Ok(())
    }

    /// All rows pushed, as record batches of the raw table's schema.
    pub fn finish(mut self) -> Result<Vec<RecordBatch>> {
        self.flush()?;
        Ok(self.done)
    }
}

fn new_column(ty: FieldType) -> Column {
    match ty {
        FieldType::String => Column::Str(StringBuilder::new()),
        FieldType::Date => Column::Date(Date32Builder::new()),
        FieldType::Timestamp => Column::Ts(TimestampMicrosecondBuilder::new()),
        FieldType::Amount => Column::F64(Float64Builder::new()),
        FieldType::Integer => Column::I64(Int64Builder::new()),
    }
}

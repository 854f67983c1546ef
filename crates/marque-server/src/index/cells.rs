//! Single Arrow cells to JSON (as values, or written straight into a buffer), and columns cast
//! to the few types the index keeps.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimeUnit, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, SecondsFormat};
use serde_json::{Number, Value};

/// Which bytes a JSON string must escape: `"`, `\\` and control characters.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Writes `s` as a JSON string (quoted and escaped) to `out`.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Writes a JSON number (`null` for NaN and infinities).
fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        // serde_json prints the shortest text that reads back as the same f64.
        let _ = serde_json::to_writer(&mut *out, &v);
    } else {
        out.extend_from_slice(b"null");
    }
}

fn write_display(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    use std::io::Write as _;
    let _ = write!(out, "{v}");
}

/// Writes the RFC 3339 text of a UTC microsecond timestamp as a JSON string (`null` when out
/// of range).
pub fn write_rfc3339(out: &mut Vec<u8>, micros: i64) {
    match DateTime::from_timestamp_micros(micros) {
        Some(t) => {
            out.push(b'"');
            out.extend_from_slice(t.to_rfc3339_opts(SecondsFormat::AutoSi, true).as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes the JSON of one cell to `out`: the same text [`cell`] gives, without building a
/// [`Value`].
pub fn write_cell(out: &mut Vec<u8>, col: &ArrayRef, row: usize) {
    if col.is_null(row) {
        out.extend_from_slice(b"null");
        return;
    }
    macro_rules! int {
        ($t:ty) => {
            write_display(out, col.as_primitive::<$t>().value(row))
        };
    }
    match col.data_type() {
        DataType::Utf8 => write_str(out, col.as_string::<i32>().value(row)),
        DataType::Boolean => {
            let v: &[u8] = if col.as_boolean().value(row) {
                b"true"
            } else {
                b"false"
            };
            out.extend_from_slice(v);
        }
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float32 => {
            write_f64(out, f64::from(col.as_primitive::<Float32Type>().value(row)))
        }
        DataType::Float64 => write_f64(out, col.as_primitive::<Float64Type>().value(row)),
        DataType::Date32 => {
            let days = col.as_primitive::<Date32Type>().value(row);
            match DateTime::from_timestamp(i64::from(days) * 86_400, 0) {
                Some(d) => {
                    out.push(b'"');
                    write_display(out, d.date_naive());
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"null"),
            }
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => write_rfc3339(
            out,
            col.as_primitive::<TimestampMicrosecondType>().value(row),
        ),
        _ => match cell(col, row) {
            Value::String(s) => write_str(out, &s),
            other => {
                let _ = serde_json::to_writer(&mut *out, &other);
            }
        },
    }
}

/// Writes the JSON object of one row to `out`, without the columns `skip` rejects: the same
/// object [`row_object`] builds.
pub fn write_row_object(
    out: &mut Vec<u8>,
    batch: &RecordBatch,
    row: usize,
    skip: impl Fn(&str) -> bool,
) {
    out.push(b'{');
    let mut first = true;
    for (field, col) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        if skip(field.name()) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, field.name());
        out.push(b':');
        write_cell(out, col, row);
    }
    out.push(b'}');
}

/// `batch` with every string-like column as `Utf8` and every timestamp as UTC microseconds, so
/// that cells are read with one code path whatever the lake's writer chose.
pub fn normalise(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        let target = match col.data_type() {
            DataType::Utf8View | DataType::LargeUtf8 => Some(DataType::Utf8),
            DataType::Dictionary(_, v)
                if matches!(
                    **v,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                Some(DataType::Utf8)
            }
            DataType::Timestamp(unit, tz) if *unit != TimeUnit::Microsecond || tz.is_none() => {
                Some(DataType::Timestamp(
                    TimeUnit::Microsecond,
                    Some("UTC".into()),
                ))
            }
            _ => None,
        };
        let col: ArrayRef = match &target {
            Some(t) => cast(col, t)?,
            None => col.clone(),
        };
        fields.push(
            field
                .as_ref()
                .clone()
                .with_data_type(col.data_type().clone()),
        );
        columns.push(col);
    }
    RecordBatch::try_new(
        std::sync::Arc::new(arrow::datatypes::Schema::new(fields)),
        columns,
    )
}

/// The string in column `col` at `row`, if it is a non-empty `Utf8` value.
pub fn str_at(col: &ArrayRef, row: usize) -> Option<&str> {
    let a = col.as_string_opt::<i32>()?;
    if a.is_null(row) {
        return None;
    }
    Some(a.value(row)).filter(|s| !s.is_empty())
}

/// Microseconds since the epoch in a timestamp column at `row`.
pub fn micros_at(col: &ArrayRef, row: usize) -> Option<i64> {
    let a = col.as_primitive_opt::<TimestampMicrosecondType>()?;
    (!a.is_null(row)).then(|| a.value(row))
}

/// An integer column's value at `row`.
pub fn i64_at(col: &ArrayRef, row: usize) -> Option<i64> {
    let a = col.as_primitive_opt::<Int64Type>()?;
    (!a.is_null(row)).then(|| a.value(row))
}

/// RFC 3339 text of a UTC microsecond timestamp.
pub fn rfc3339(micros: i64) -> Value {
    match DateTime::from_timestamp_micros(micros) {
        Some(t) => Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => Value::Null,
    }
}

/// The JSON value of one cell: numbers, booleans, strings, ISO dates and timestamps; anything
/// else as Arrow's display text.
pub fn cell(col: &ArrayRef, row: usize) -> Value {
    if col.is_null(row) {
        return Value::Null;
    }
    macro_rules! int {
        ($t:ty) => {
            Value::from(col.as_primitive::<$t>().value(row))
        };
    }
    match col.data_type() {
        DataType::Utf8 => Value::String(col.as_string::<i32>().value(row).to_string()),
        DataType::Boolean => Value::Bool(col.as_boolean().value(row)),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float32 => float(f64::from(col.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(col.as_primitive::<Float64Type>().value(row)),
        DataType::Date32 => {
            let days = col.as_primitive::<Date32Type>().value(row);
            match DateTime::from_timestamp(i64::from(days) * 86_400, 0) {
                Some(d) => Value::String(d.date_naive().to_string()),
                None => Value::Null,
            }
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            rfc3339(col.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        _ => {
            let opts = FormatOptions::default();
            match ArrayFormatter::try_new(col.as_ref(), &opts) {
                Ok(f) => Value::String(f.value(row).to_string()),
                Err(_) => Value::Null,
            }
        }
    }
}

fn float(v: f64) -> Value {
    Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// The JSON object of one row, without the columns `skip` rejects.
pub fn row_object(
    batch: &RecordBatch,
    row: usize,
    skip: impl Fn(&str) -> bool,
) -> serde_json::Map<String, Value> {
    let mut obj = serde_json::Map::new();
    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
        if skip(field.name()) {
            continue;
        }
        obj.insert(field.name().clone(), cell(col, row));
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, Float64Array, StringViewArray, TimestampMillisecondArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn cells_render_as_json_after_normalising() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8View, true),
            Field::new("d", DataType::Date32, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("f", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringViewArray::from(vec![Some("王"), None])),
                Arc::new(Date32Array::from(vec![Some(3000), None])),
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_700_000_000_000),
                    None,
                ])),
                Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN)])),
            ],
        )
        .unwrap();
        let b = normalise(&batch).unwrap();
        let row = row_object(&b, 0, |_| false);
        assert_eq!(row["s"], "王");
        assert_eq!(row["d"], "1978-03-20");
        assert_eq!(row["t"], "2023-11-14T22:13:20Z");
        assert_eq!(row["f"], 1.5);
        let mut text = Vec::new();
        write_row_object(&mut text, &b, 0, |_| false);
        assert_eq!(
            serde_json::from_slice::<Value>(&text).unwrap(),
            Value::Object(row.clone()),
            "the writer and the value agree"
        );
        let row = row_object(&b, 1, |n| n == "s");
        let mut text = Vec::new();
        write_row_object(&mut text, &b, 1, |n| n == "s");
        assert_eq!(
            serde_json::from_slice::<Value>(&text).unwrap(),
            Value::Object(row.clone())
        );
        assert!(!row.contains_key("s"));
        assert_eq!(row["d"], Value::Null);
        assert_eq!(row["f"], Value::Null);
        assert_eq!(str_at(b.column(0), 0), Some("王"));
        assert_eq!(micros_at(b.column(2), 0), Some(1_700_000_000_000_000));
    }

    #[test]
    fn strings_are_escaped_as_json() {
        for s in [
            "plain",
            "王伟",
            "a\"b\\c",
            "line\nbreak\ttab\r",
            "\u{1}\u{1f}end",
            "",
        ] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), s, "{s:?}");
        }
    }
}

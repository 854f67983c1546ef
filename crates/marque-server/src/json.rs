//! Record batches to JSON with arrow's JSON writer: one object per row, nulls written out.

use arrow::array::RecordBatch;
use arrow::json::writer::{JsonArray, WriterBuilder};
use serde_json::Value;

use crate::error::ApiError;

/// The rows of `batches` as a JSON array text (`[{...},...]`), with `null` for null values.
pub fn rows_json(batches: &[RecordBatch]) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    {
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, JsonArray>(&mut out);
        for batch in batches {
            writer.write(batch).map_err(unsupported)?;
        }
        writer.finish().map_err(unsupported)?;
    }
    if out.is_empty() {
        out.extend_from_slice(b"[]");
    }
    Ok(out)
}

/// The rows of `batches` as JSON values.
pub fn rows_values(batches: &[RecordBatch]) -> Result<Vec<Value>, ApiError> {
    let text = rows_json(batches)?;
    serde_json::from_slice(&text).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            e.to_string(),
        )
    })
}

fn unsupported(err: arrow::error::ArrowError) -> ApiError {
    ApiError::bad_request(
        "unsupported_result",
        format!("the result cannot be written as JSON: {err}"),
    )
}

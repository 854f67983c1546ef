//! Query results as HTTP bodies, streamed batch by batch in the format the client asked for.
//!
//! The body pulls one record batch from DataFusion each time the connection can take more
//! bytes, encodes it and sends it: memory stays at a few batches whatever the result's size, a
//! slow client slows the query down, and a client that goes away cancels it. The first batch is
//! awaited before the response head is sent, so errors that show up early (most do) still get
//! an honest status; an error or timeout after that cuts the stream off (the client sees an
//! incomplete body) and is logged and audited.

use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::json::writer::{JsonArray, LineDelimited, WriterBuilder};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use marque_engine::EngineError;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::error::ApiError;

/// Output formats of query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"columns":[…],"rows":[{…}],"row_count":n,"truncated":bool}`.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// Arrow IPC stream.
    Arrow,
    /// A Parquet file (row groups of 65,536 rows, written as they fill).
    Parquet,
}

impl Format {
    /// The format named `name` (`json`, `ndjson`/`jsonl`, `csv`, `arrow`, `parquet`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "json" => Self::Json,
            "ndjson" | "jsonl" | "jsonlines" => Self::Ndjson,
            "csv" => Self::Csv,
            "arrow" | "ipc" | "arrow-ipc" | "arrows" => Self::Arrow,
            "parquet" => Self::Parquet,
            _ => return None,
        })
    }

    fn from_media_type(m: &str) -> Option<Self> {
        Some(match m {
            "application/json" | "*/*" | "application/*" => Self::Json,
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/jsonlines" => Self::Ndjson,
            "text/csv" | "text/*" => Self::Csv,
            "application/vnd.apache.arrow.stream" => Self::Arrow,
            "application/vnd.apache.parquet" | "application/parquet" | "application/x-parquet" => {
                Self::Parquet
            }
            _ => return None,
        })
    }

    /// The `Content-Type` of answers in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Ndjson => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Arrow => "application/vnd.apache.arrow.stream",
            Self::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// The format from an explicit `format` (body field or query parameter), else the `Accept`
    /// header (first supported media type), else JSON. An unknown `format` is `400`; an `Accept`
    /// naming only unsupported types is `406`.
    pub fn choose(explicit: Option<&str>, accept: Option<&HeaderValue>) -> Result<Self, ApiError> {
        if let Some(name) = explicit {
            return Self::from_name(name).ok_or_else(|| {
                ApiError::bad_request(
                    "unknown_format",
                    format!("unknown format {name:?}: use json, ndjson, csv, arrow or parquet"),
                )
            });
        }
        let Some(accept) = accept else {
            return Ok(Self::Json);
        };
        let text = accept.to_str().unwrap_or("");
        if text.trim().is_empty() {
            return Ok(Self::Json);
        }
        for part in text.split(',') {
            let media = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if let Some(f) = Self::from_media_type(&media) {
                return Ok(f);
            }
        }
        Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!(
                "no supported media type in Accept {text:?}: use application/json, application/x-ndjson, text/csv, application/vnd.apache.arrow.stream or application/vnd.apache.parquet"
            ),
        ))
    }
}

/// Encodes batches of one schema into chunks of a format.
enum Encoder {
    Json { first: bool },
    Ndjson,
    Csv { header: bool },
    Arrow(Box<arrow::ipc::writer::StreamWriter<Vec<u8>>>),
    Parquet(Box<ArrowWriter<Vec<u8>>>),
}

type EncodeResult = Result<Vec<u8>, String>;

impl Encoder {
    fn new(format: Format, schema: &SchemaRef) -> Result<(Self, Vec<u8>), String> {
        Ok(match format {
            Format::Json => {
                let columns: Vec<serde_json::Value> = schema
                    .fields()
                    .iter()
                    .map(|f| serde_json::json!({ "name": f.name(), "type": f.data_type().to_string() }))
                    .collect();
                let columns = serde_json::to_vec(&columns).map_err(|e| e.to_string())?;
                let mut head = b"{\"columns\":".to_vec();
                head.extend_from_slice(&columns);
                head.extend_from_slice(b",\"rows\":[");
                (Self::Json { first: true }, head)
            }
            Format::Ndjson => (Self::Ndjson, Vec::new()),
            Format::Csv => (Self::Csv { header: true }, Vec::new()),
            Format::Arrow => {
                let mut w = arrow::ipc::writer::StreamWriter::try_new(Vec::new(), schema)
                    .map_err(|e| e.to_string())?;
                let head = std::mem::take(w.get_mut());
                (Self::Arrow(Box::new(w)), head)
            }
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_max_row_group_row_count(Some(65_536))
                    .build();
                let mut w = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))
                    .map_err(|e| e.to_string())?;
                let head = std::mem::take(w.inner_mut());
                (Self::Parquet(Box::new(w)), head)
            }
        })
    }

    fn batch(&mut self, batch: &RecordBatch) -> EncodeResult {
        let err = |e: arrow::error::ArrowError| e.to_string();
        match self {
            Self::Json { first, .. } => {
                if batch.num_rows() == 0 {
                    return Ok(Vec::new());
                }
                let mut buf = Vec::new();
                {
                    let mut w = WriterBuilder::new()
                        .with_explicit_nulls(true)
                        .build::<_, JsonArray>(&mut buf);
                    w.write(batch).map_err(err)?;
                    w.finish().map_err(err)?;
                }
                // `[{…},{…}]` → `{…},{…}`, comma-joined to the previous batch.
                let inner = buf.get(1..buf.len().saturating_sub(1)).unwrap_or_default();
                let mut out = Vec::with_capacity(inner.len() + 1);
                if !*first {
                    out.push(b',');
                }
                out.extend_from_slice(inner);
                *first = false;
                Ok(out)
            }
            Self::Ndjson => {
                let mut buf = Vec::new();
                {
                    let mut w = WriterBuilder::new()
                        .with_explicit_nulls(true)
                        .build::<_, LineDelimited>(&mut buf);
                    w.write(batch).map_err(err)?;
                    w.finish().map_err(err)?;
                }
                Ok(buf)
            }
            Self::Csv { header } => {
                let mut buf = Vec::new();
                {
                    let mut w = arrow::csv::WriterBuilder::new()
                        .with_header(*header)
                        .build(&mut buf);
                    w.write(batch).map_err(err)?;
                }
                *header = false;
                Ok(buf)
            }
            Self::Arrow(w) => {
                w.write(batch).map_err(err)?;
                Ok(std::mem::take(w.get_mut()))
            }
            Self::Parquet(w) => {
                w.write(batch).map_err(|e| e.to_string())?;
                Ok(std::mem::take(w.inner_mut()))
            }
        }
    }

    fn finish(&mut self, schema: &SchemaRef, rows: usize, truncated: bool) -> EncodeResult {
        match self {
            Self::Json { .. } => {
                Ok(format!("],\"row_count\":{rows},\"truncated\":{truncated}}}").into_bytes())
            }
            Self::Ndjson => Ok(Vec::new()),
            Self::Csv { header } => {
                if *header {
                    // No row came: still write the header line.
                    self.batch(&RecordBatch::new_empty(schema.clone()))
                } else {
                    Ok(Vec::new())
                }
            }
            Self::Arrow(w) => {
                w.finish().map_err(|e| e.to_string())?;
                Ok(std::mem::take(w.get_mut()))
            }
            Self::Parquet(w) => {
                w.flush().map_err(|e| e.to_string())?;
                let mut out = std::mem::take(w.inner_mut());
                // `finish` writes the footer into the inner buffer.
                w.finish().map_err(|e| e.to_string())?;
                out.extend(std::mem::take(w.inner_mut()));
                Ok(out)
            }
        }
    }
}

/// How a streamed result ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Complete,
    Failed,
    TimedOut,
    /// The client went away before the end.
    Abandoned,
}

/// Called once when the stream ends, with the outcome and the rows sent.
pub type OnEnd = Box<dyn FnOnce(Outcome, usize) + Send>;

struct Streaming {
    stream: SendableRecordBatchStream,
    schema: SchemaRef,
    encoder: Encoder,
    pending: Option<RecordBatch>,
    head: Option<Vec<u8>>,
    deadline: Option<Instant>,
    max_rows: Option<usize>,
    rows: usize,
    done: bool,
    on_end: Option<OnEnd>,
    /// Held until the stream ends (the concurrency slot).
    _hold: Option<Box<dyn Send + Sync>>,
}

impl Streaming {
    fn end(&mut self, outcome: Outcome) {
        if let Some(f) = self.on_end.take() {
            f(outcome, self.rows);
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.end(Outcome::Abandoned);
    }
}

/// Awaits the first batch of `stream` within `timeout`, then answers a streamed body. Errors
/// before the first batch come back as the `Err` of this function.
pub async fn respond(
    mut stream: SendableRecordBatchStream,
    format: Format,
    timeout: Option<Duration>,
    max_rows: Option<usize>,
    hold: Option<Box<dyn Send + Sync>>,
    on_end: OnEnd,
) -> Result<Response, (ApiError, OnEnd)> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let schema = stream.schema();
    let first = match next_batch(&mut stream, deadline, timeout).await {
        Ok(b) => b,
        Err(e) => return Err((e, on_end)),
    };
    let (encoder, head) = match Encoder::new(format, &schema) {
        Ok(x) => x,
        Err(e) => {
            return Err((
                ApiError::bad_request("unsupported_result", format!("cannot encode: {e}")),
                on_end,
            ));
        }
    };
    let done = first.is_none();
    let state = Streaming {
        stream,
        schema,
        encoder,
        pending: first,
        head: Some(head),
        deadline,
        max_rows,
        rows: 0,
        done,
        on_end: Some(on_end),
        _hold: hold,
    };
    let body = futures::stream::unfold(state, |mut st| async move {
        if let Some(head) = st.head.take()
            && !head.is_empty()
        {
            return Some((Ok::<Bytes, std::io::Error>(Bytes::from(head)), st));
        }
        loop {
            // The answer has ended (complete, failed or cut off): nothing more to send.
            st.on_end.as_ref()?;
            let batch = match st.pending.take() {
                Some(b) => Some(b),
                None if st.done => None,
                None => match next_batch(&mut st.stream, st.deadline, None).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(error = %e.message, "query failed mid-stream; cutting the answer off");
                        let outcome = if e.status == StatusCode::GATEWAY_TIMEOUT {
                            Outcome::TimedOut
                        } else {
                            Outcome::Failed
                        };
                        st.end(outcome);
                        return Some((Err(std::io::Error::other(e.message)), st));
                    }
                },
            };
            let Some(mut batch) = batch else {
                st.done = true;
                let (rows, schema) = (st.rows, st.schema.clone());
                let tail = st.encoder.finish(&schema, rows, false);
                return finish_with(st, tail);
            };
            let mut truncated = false;
            if let Some(max) = st.max_rows {
                let room = max.saturating_sub(st.rows);
                if batch.num_rows() > room {
                    truncated = true;
                    batch = batch.slice(0, room);
                }
            }
            st.rows += batch.num_rows();
            let chunk = st.encoder.batch(&batch);
            if truncated {
                // The cap is reached: stop the query and close the answer.
                let (rows, schema) = (st.rows, st.schema.clone());
                let tail = st.encoder.finish(&schema, rows, true);
                let chunk = chunk.and_then(|mut c| {
                    c.extend(tail?);
                    Ok(c)
                });
                return finish_with(st, chunk);
            }
            match chunk {
                Ok(c) if c.is_empty() => continue,
                Ok(c) => return Some((Ok(Bytes::from(c)), st)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot encode a result batch; cutting the answer off");
                    st.end(Outcome::Failed);
                    return Some((Err(std::io::Error::other(e)), st));
                }
            }
        }
    });
    let mut resp = Body::from_stream(body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    Ok(resp)
}

fn finish_with(
    mut st: Streaming,
    chunk: EncodeResult,
) -> Option<(Result<Bytes, std::io::Error>, Streaming)> {
    match chunk {
        Ok(c) => {
            st.end(Outcome::Complete);
            Some((Ok(Bytes::from(c)), st))
        }
        Err(e) => {
            st.end(Outcome::Failed);
            Some((Err(std::io::Error::other(e)), st))
        }
    }
}

async fn next_batch(
    stream: &mut SendableRecordBatchStream,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
) -> Result<Option<RecordBatch>, ApiError> {
    let next = stream.next();
    let item = match deadline {
        Some(d) => match tokio::time::timeout_at(d.into(), next).await {
            Ok(item) => item,
            Err(_) => {
                let limit = timeout.unwrap_or_default();
                return Err(ApiError::from(EngineError::Timeout(limit)));
            }
        },
        None => next.await,
    };
    match item {
        None => Ok(None),
        Some(Ok(b)) => Ok(Some(b)),
        Some(Err(e)) => Err(ApiError::from(e)),
    }
}

/// Shared, type-erased hold for the concurrency slot.
pub fn hold<T: Send + Sync + 'static>(t: T) -> Option<Box<dyn Send + Sync>> {
    Some(Box::new(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_names_and_accept_headers() {
        assert_eq!(Format::choose(Some("CSV"), None).unwrap(), Format::Csv);
        assert_eq!(Format::choose(Some("xml"), None).unwrap_err().status, 400);
        let h = HeaderValue::from_static("application/vnd.apache.arrow.stream;q=0.9, */*");
        assert_eq!(Format::choose(None, Some(&h)).unwrap(), Format::Arrow);
        let h = HeaderValue::from_static("image/png");
        assert_eq!(Format::choose(None, Some(&h)).unwrap_err().status, 406);
        assert_eq!(Format::choose(None, None).unwrap(), Format::Json);
    }
}

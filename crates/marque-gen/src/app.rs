//! `app/app_events-NNNNN.parquet`: brand app and WeChat mini-program events, split into files
//! of at most [`ROWS_PER_FILE`] rows.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use marque_core::{Role, Source};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::GenError;
use crate::truth::Truth;

/// Maximum rows per Parquet file.
pub const ROWS_PER_FILE: u64 = 1_000_000;
const BATCH: usize = 65_536;

/// Event types of the app.
pub const EVENT_TYPES: &[&str] = &[
    "register",
    "login",
    "browse_model",
    "book_test_drive",
    "book_service",
    "purchase",
    "charge",
    "share",
];

/// The Arrow schema of the app event files.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("app_user_id", DataType::Utf8, false),
        Field::new("unionid", DataType::Utf8, true),
        Field::new("registered_mobile", DataType::Utf8, true),
        Field::new("nickname", DataType::Utf8, true),
        Field::new("event_type", DataType::Utf8, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("amount", DataType::Float64, true),
    ]))
}

/// The per-user fields every event of the user repeats.
pub struct AppUser {
    pub person: u32,
    pub app_user_id: String,
    pub unionid: Option<String>,
    pub registered_mobile: Option<String>,
    pub nickname: Option<String>,
}

/// Buffers events into batches and rolls files.
pub struct AppWriter {
    dir: PathBuf,
    schema: SchemaRef,
    writer: Option<(PathBuf, ArrowWriter<File>)>,
    files: Vec<(PathBuf, u64)>,
    in_file: u64,
    next: u64,
    event_id: StringBuilder,
    user: StringBuilder,
    unionid: StringBuilder,
    mobile: StringBuilder,
    nickname: StringBuilder,
    event_type: StringBuilder,
    time: TimestampMicrosecondBuilder,
    amount: Float64Builder,
    buffered: usize,
}

impl AppWriter {
    pub fn create(dir: &Path) -> Result<AppWriter, GenError> {
        let dir = dir.join("app");
        std::fs::create_dir_all(&dir).map_err(|e| GenError::io(&dir, e))?;
        Ok(AppWriter {
            dir,
            schema: schema(),
            writer: None,
            files: Vec::new(),
            in_file: 0,
            next: 0,
            event_id: StringBuilder::new(),
            user: StringBuilder::new(),
            unionid: StringBuilder::new(),
            mobile: StringBuilder::new(),
            nickname: StringBuilder::new(),
            event_type: StringBuilder::new(),
            time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            amount: Float64Builder::new(),
            buffered: 0,
        })
    }

    fn open(&mut self) -> Result<(), GenError> {
        let path = self
            .dir
            .join(format!("app_events-{:05}.parquet", self.files.len()));
        let f = File::create(&path).map_err(|e| GenError::io(&path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let w = ArrowWriter::try_new(f, self.schema.clone(), Some(props))
            .map_err(|e| GenError::parquet(&path, e))?;
        self.writer = Some((path, w));
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), GenError> {
        if self.buffered == 0 {
            return Ok(());
        }
        if self.writer.is_none() {
            self.open()?;
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.event_id.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.unionid.finish()),
            Arc::new(self.mobile.finish()),
            Arc::new(self.nickname.finish()),
            Arc::new(self.event_type.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.amount.finish()),
        ];
        self.buffered = 0;
        if let Some((path, w)) = self.writer.as_mut() {
            let batch = RecordBatch::try_new(self.schema.clone(), cols)
                .map_err(|e| GenError::parquet(path, e))?;
            w.write(&batch).map_err(|e| GenError::parquet(path, e))?;
        }
        Ok(())
    }

    fn close_file(&mut self) -> Result<(), GenError> {
        self.flush_batch()?;
        if self.writer.is_none() {
            // An empty first file, so that readers always find the schema.
            self.open()?;
        }
        if let Some((path, w)) = self.writer.take() {
            w.close().map_err(|e| GenError::parquet(&path, e))?;
            self.files.push((path, self.in_file));
        }
        self.in_file = 0;
        Ok(())
    }

    /// Appends one event; `micros` is UTC microseconds since the Unix epoch.
    pub fn event(
        &mut self,
        truth: &mut Truth,
        user: &AppUser,
        event_type: &str,
        micros: i64,
        amount: Option<f64>,
    ) -> Result<(), GenError> {
        self.next += 1;
        let id = format!("E{:012}", self.next);
        self.event_id.append_value(&id);
        self.user.append_value(&user.app_user_id);
        self.unionid.append_option(user.unionid.as_deref());
        self.mobile.append_option(user.registered_mobile.as_deref());
        self.nickname.append_option(user.nickname.as_deref());
        self.event_type.append_value(event_type);
        self.time.append_value(micros);
        self.amount.append_option(amount);
        self.buffered += 1;
        self.in_file += 1;
        truth.mention(Source::App, &id, Role::AppUser, user.person, false)?;
        if self.buffered >= BATCH {
            self.flush_batch()?;
        }
        if self.in_file >= ROWS_PER_FILE {
            self.close_file()?;
        }
        Ok(())
    }

    /// Closes the last file; returns every file with its row count.
    pub fn finish(mut self) -> Result<Vec<(PathBuf, u64)>, GenError> {
        if self.in_file > 0 || self.files.is_empty() {
            self.close_file()?;
        }
        Ok(self.files)
    }
}

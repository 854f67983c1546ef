//! Scheduled connector jobs: cron expressions from `marque.toml`, retries with backoff, the
//! per-connector lock, and a job log (`schedule_runs`).
//!
//! ```toml
//! [schedule]
//! input = "/data/exports"          # the folder connectors' globs are relative to
//! connectors = "/etc/marque/connectors"   # optional; the embedded reference ones otherwise
//!
//! [[schedule.job]]
//! connector = "dms_sales"
//! cron = "*/15 * * * *"            # minute hour day-of-month month day-of-week (UTC);
//!                                  # six fields put seconds first: "*/10 * * * * *"
//! retries = 3                      # optional, default 2
//! backoff_secs = 30                # optional, default 10; doubles after each failed attempt
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Datelike, Timelike, Utc};
use marque_lake::{Commit, Lake, WriteMode};
use serde::Deserialize;

use crate::ingest::{BatchStatus, IngestOptions, ingest_connector};
use crate::{ConnectError, ConnectorDef, Result};

/// The job log table.
pub const RUNS_TABLE: &str = "schedule_runs";

/// The `[schedule]` section of `marque.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    #[serde(default = "default_input")]
    pub input: PathBuf,
    #[serde(default)]
    pub connectors: Option<PathBuf>,
    #[serde(default, rename = "job")]
    pub jobs: Vec<JobConfig>,
}

fn default_input() -> PathBuf {
    PathBuf::from("./marque-sources")
}

/// One scheduled job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    pub connector: String,
    pub cron: String,
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default = "default_backoff")]
    pub backoff_secs: u64,
}

fn default_retries() -> u32 {
    2
}
fn default_backoff() -> u64 {
    10
}

impl ScheduleConfig {
    /// The `[schedule]` section of a `marque.toml` text; `None` when it has none.
    pub fn from_toml_str(text: &str, path: &std::path::Path) -> Result<Option<Self>> {
        #[derive(Deserialize)]
        struct File {
            schedule: Option<ScheduleConfig>,
        }
        let err = |message: String| ConnectError::Definition {
            path: path.to_path_buf(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        if let Some(cfg) = &file.schedule {
            for j in &cfg.jobs {
                Cron::parse(&j.cron)
                    .map_err(|e| err(format!("job {}: cron {:?}: {e}", j.connector, j.cron)))?;
            }
        }
        Ok(file.schedule)
    }
}

/// A five-field cron expression (minute hour day-of-month month day-of-week), in UTC, or six
/// fields with seconds first (`second minute hour …`, as in Quartz and most cron libraries).
/// Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and lists `a,b`;
/// day-of-week 0 or 7 is Sunday. When both day fields are restricted, a day matching either
/// runs (as in cron).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_any: bool,
    weekdays_any: bool,
}

fn field(text: &str, lo: u32, hi: u32) -> std::result::Result<u64, String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step in {part:?}"))?,
            ),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let p = |x: &str| {
                x.parse::<u32>()
                    .map_err(|_| format!("bad number in {part:?}"))
            };
            (p(a)?, p(b)?)
        } else {
            let v = range
                .parse::<u32>()
                .map_err(|_| format!("bad value {part:?}"))?;
            (v, if part.contains('/') { hi } else { v })
        };
        if a < lo || b > hi || a > b {
            return Err(format!("{part:?} is outside {lo}-{hi}"));
        }
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Cron {
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut f: Vec<&str> = text.split_whitespace().collect();
        let seconds = match f.len() {
            5 => 1,
            6 => field(f.remove(0), 0, 59)?,
            n => {
                return Err(format!(
                    "expected 5 fields (minute hour day month weekday) or 6 (second first), \
                     found {n}"
                ));
            }
        };
        let mut weekdays = field(f[4], 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Self {
            seconds,
            minutes: field(f[0], 0, 59)?,
            hours: field(f[1], 0, 23)?,
            days: field(f[2], 1, 31)?,
            months: field(f[3], 1, 12)?,
            weekdays,
            days_any: f[2] == "*",
            weekdays_any: f[4] == "*",
        })
    }

    fn matches(&self, t: &DateTime<Utc>) -> bool {
        let bit = |set: u64, v: u32| set & (1 << v) != 0;
        let dom = bit(self.days, t.day());
        let dow = bit(self.weekdays, t.weekday().num_days_from_sunday());
        let day = match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        };
        day && bit(self.minutes, t.minute())
            && bit(self.hours, t.hour())
            && bit(self.months, t.month())
    }

    /// The first second strictly after `after` that matches (within about four years).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = after.with_nanosecond(0)? + chrono::Duration::seconds(1);
        for _ in 0..=(4 * 366 * 24 * 60) {
            if self.matches(&t)
                && let Some(s) = (t.second()..60).find(|s| self.seconds & (1 << s) != 0)
            {
                return t.with_second(s);
            }
            t = t.with_second(0)? + chrono::Duration::minutes(1);
        }
        None
    }
}

/// Schema of `schedule_runs`: one row per job run (all its attempts).
pub fn runs_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("connector", DataType::Utf8, false),
        Field::new("scheduled_for", DataType::Utf8, false),
        Field::new(
            "started_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("attempts", DataType::Int64, false),
        Field::new("duration_ms", DataType::Int64, false),
        Field::new("batches_landed", DataType::Int64, false),
        Field::new("rows_landed", DataType::Int64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
    ]))
}

/// The outcome of one job run.
#[derive(Debug, Clone)]
pub struct JobRun {
    pub connector: String,
    pub attempts: u32,
    pub batches_landed: u64,
    pub rows_landed: u64,
    /// `None` on success, else the last attempt's error.
    pub error: Option<String>,
}

/// Runs one job now: ingests its connector (incremental: files already landed and watermarks
/// already passed are skipped), retrying with exponential backoff, and logs the run.
pub async fn run_job(
    lake: &Lake,
    def: &ConnectorDef,
    job: &JobConfig,
    input: &std::path::Path,
    scheduled_for: &str,
) -> Result<JobRun> {
    let started = std::time::Instant::now();
    let started_at = Utc::now().timestamp_micros();
    let opts = IngestOptions {
        input_dir: input.to_path_buf(),
    };
    let mut run = JobRun {
        connector: def.name.clone(),
        attempts: 0,
        batches_landed: 0,
        rows_landed: 0,
        error: None,
    };
    let mut backoff = Duration::from_secs(job.backoff_secs);
    loop {
        run.attempts += 1;
        let error = match ingest_connector(lake, def, &opts).await {
            Ok(reports) => {
                for r in &reports {
                    if r.status == BatchStatus::Landed {
                        run.batches_landed += 1;
                        run.rows_landed += r.rows_landed;
                    }
                }
                let failed: Vec<String> = reports
                    .iter()
                    .filter_map(|r| match &r.status {
                        BatchStatus::Failed(e) => Some(format!("{}: {e}", r.file)),
                        _ => None,
                    })
                    .collect();
                (!failed.is_empty()).then(|| failed.join("; "))
            }
            Err(e) => Some(e.to_string()),
        };
        run.error = error;
        if run.error.is_none() || run.attempts > job.retries {
            break;
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2);
    }
    let batch = RecordBatch::try_new(
        runs_schema(),
        vec![
            Arc::new(StringArray::from(vec![run.connector.as_str()])),
            Arc::new(StringArray::from(vec![scheduled_for])),
            Arc::new(TimestampMicrosecondArray::from(vec![started_at]).with_timezone("UTC")),
            Arc::new(Int64Array::from(vec![run.attempts as i64])),
            Arc::new(Int64Array::from(vec![started.elapsed().as_millis() as i64])),
            Arc::new(Int64Array::from(vec![run.batches_landed as i64])),
            Arc::new(Int64Array::from(vec![run.rows_landed as i64])),
            Arc::new(StringArray::from(vec![if run.error.is_some() {
                "failed"
            } else {
                "ok"
            }])),
            Arc::new(StringArray::from(vec![run.error.clone()])),
        ],
    )
    .map_err(|source| ConnectError::Arrow {
        table: RUNS_TABLE.into(),
        source,
    })?;
    lake.write(
        RUNS_TABLE,
        runs_schema(),
        vec![batch],
        WriteMode::Append,
        Commit::default(),
    )
    .await?;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn cron_expressions_give_the_next_minute() {
        let every15 = Cron::parse("*/15 * * * *").unwrap();
        assert_eq!(
            every15.next_after(at(2024, 6, 3, 10, 7)),
            Some(at(2024, 6, 3, 10, 15))
        );
        assert_eq!(
            every15.next_after(at(2024, 6, 3, 10, 45)),
            Some(at(2024, 6, 3, 11, 0))
        );
        let nightly = Cron::parse("30 2 * * 1-5").unwrap();
        // 2024-06-08 is a Saturday: the next weekday run is Monday the 10th.
        assert_eq!(
            nightly.next_after(at(2024, 6, 7, 3, 0)),
            Some(at(2024, 6, 10, 2, 30))
        );
        let sunday = Cron::parse("0 0 * * 7").unwrap();
        assert_eq!(
            sunday.next_after(at(2024, 6, 3, 0, 0)),
            Some(at(2024, 6, 9, 0, 0))
        );
        let every10s = Cron::parse("*/10 * * * * *").unwrap();
        let t = at(2024, 6, 3, 10, 7) + chrono::Duration::seconds(25);
        assert_eq!(
            every10s.next_after(t),
            Some(at(2024, 6, 3, 10, 7) + chrono::Duration::seconds(30))
        );
        assert_eq!(
            every10s.next_after(at(2024, 6, 3, 10, 7) + chrono::Duration::seconds(55)),
            Some(at(2024, 6, 3, 10, 8))
        );
        let every_second = Cron::parse("* * * * * *").unwrap();
        assert_eq!(
            every_second.next_after(t),
            Some(t + chrono::Duration::seconds(1))
        );
        let listed = Cron::parse("0 6,18 1 1,7 *").unwrap();
        assert_eq!(
            listed.next_after(at(2024, 1, 1, 6, 0)),
            Some(at(2024, 1, 1, 18, 0))
        );
    }

    #[test]
    fn bad_cron_expressions_say_what_is_wrong() {
        for (text, want) in [
            ("* * * *", "expected 5 fields"),
            ("* * * * * * *", "or 6"),
            ("60 * * * * *", "outside 0-59"),
            ("60 * * * *", "outside 0-59"),
            ("*/0 * * * *", "bad step"),
            ("a * * * *", "bad value"),
        ] {
            let e = Cron::parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn the_schedule_section_is_read_and_checked() {
        let text = r#"
[server]
addr = "127.0.0.1:8080"
[schedule]
input = "/data"
[[schedule.job]]
connector = "dms_sales"
cron = "0 * * * *"
"#;
        let cfg = ScheduleConfig::from_toml_str(text, std::path::Path::new("m.toml"))
            .unwrap()
            .unwrap();
        assert_eq!(cfg.jobs[0].retries, 2);
        let bad = text.replace("0 * * * *", "0 25 * * *");
        let e = ScheduleConfig::from_toml_str(&bad, std::path::Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("dms_sales") && e.contains("outside"), "{e}");
    }
}

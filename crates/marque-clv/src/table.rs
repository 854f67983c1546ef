//! Arrow tables in and out: transactions from record batches (any date, id and amount column
//! types), per-customer scores and fitted parameters as record batches, and CSV/Parquet files.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit as ArrowUnit};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};

use crate::clv::Score;
use crate::rfm::{Rfm, parse_date};
use crate::{ClvError, Result};

/// Names of the transaction columns.
#[derive(Debug, Clone)]
pub struct TxnColumns {
    pub customer: String,
    pub date: String,
    pub amount: String,
}

/// Transactions read from batches, and how many rows were skipped (no customer or no date).
#[derive(Debug, Default)]
pub struct Transactions {
    pub rows: Vec<(String, NaiveDate, f64)>,
    pub skipped: usize,
}

fn df(context: impl Into<String>) -> impl FnOnce(datafusion::error::DataFusionError) -> ClvError {
    let context = context.into();
    move |source| ClvError::DataFusion { context, source }
}

fn arrow_err(context: &str) -> impl Fn(datafusion::arrow::error::ArrowError) -> ClvError + '_ {
    move |e| ClvError::DataFusion {
        context: context.to_string(),
        source: e.into(),
    }
}

/// Extracts (customer, date, amount) from `batches`. Dates may be Date32/Date64, timestamps
/// or strings (YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD, with an optional time); amounts anything that
/// casts to Float64 (NULL or unparsable amounts count as 0). Rows with no customer or an
/// unreadable date are skipped and counted.
pub fn transactions(batches: &[RecordBatch], cols: &TxnColumns) -> Result<Transactions> {
    let mut out = Transactions::default();
    for batch in batches {
        let column = |name: &str| -> Result<&ArrayRef> {
            batch.column_by_name(name).ok_or_else(|| {
                let have: Vec<String> = batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                ClvError::Input(format!(
                    "no column `{name}` in the transactions (columns: {})",
                    have.join(", ")
                ))
            })
        };
        let ids =
            cast(column(&cols.customer)?, &DataType::Utf8).map_err(arrow_err("customer id"))?;
        let ids = ids
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| ClvError::Input("customer ids are not text".into()))?;
        let amounts =
            cast(column(&cols.amount)?, &DataType::Float64).map_err(arrow_err("amount"))?;
        let amounts = amounts
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| ClvError::Input("amounts are not numbers".into()))?;
        let dates = dates(column(&cols.date)?)?;
        for (i, date) in dates.into_iter().enumerate() {
            match (ids.is_null(i), date) {
                (false, Some(d)) if !ids.value(i).trim().is_empty() => {
                    let amount = if amounts.is_null(i) {
                        0.0
                    } else {
                        amounts.value(i)
                    };
                    out.rows.push((ids.value(i).to_string(), d, amount));
                }
                _ => out.skipped += 1,
            }
        }
    }
    Ok(out)
}

fn dates(col: &ArrayRef) -> Result<Vec<Option<NaiveDate>>> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    match col.data_type() {
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) => {
            let d = cast(col, &DataType::Date32).map_err(arrow_err("date"))?;
            let d = d
                .as_any()
                .downcast_ref::<Date32Array>()
                .ok_or_else(|| ClvError::Input("dates are not dates".into()))?;
            Ok((0..d.len())
                .map(|i| {
                    (!d.is_null(i))
                        .then(|| {
                            epoch.checked_add_signed(chrono::TimeDelta::days(i64::from(d.value(i))))
                        })
                        .flatten()
                })
                .collect())
        }
        _ => {
            let s = cast(col, &DataType::Utf8).map_err(arrow_err("date"))?;
            let s = s
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| ClvError::Input("dates are not text".into()))?;
            Ok((0..s.len())
                .map(|i| {
                    if s.is_null(i) {
                        None
                    } else {
                        parse_date(s.value(i))
                    }
                })
                .collect())
        }
    }
}

/// Schema of the per-customer scores (the `customer_clv` table). `t` is T of the literature.
pub fn scores_schema() -> SchemaRef {
    let f = |n: &str| Field::new(n, DataType::Float64, false);
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("frequency", DataType::Int64, false),
        f("recency"),
        f("t"),
        f("monetary_value"),
        f("expected_transactions"),
        f("p_alive"),
        f("expected_spend"),
        f("clv"),
    ]))
}

/// The per-customer rows as one batch.
pub fn scores_batch(ids: &[String], rfm: &[Rfm], scores: &[Score]) -> Result<RecordBatch> {
    let f64s = |v: Vec<f64>| Arc::new(Float64Array::from(v)) as ArrayRef;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(ids)),
        Arc::new(Int64Array::from_iter_values(
            rfm.iter().map(|r| i64::from(r.frequency)),
        )),
        f64s(rfm.iter().map(|r| r.recency).collect()),
        f64s(rfm.iter().map(|r| r.t).collect()),
        f64s(rfm.iter().map(|r| r.monetary_value).collect()),
        f64s(scores.iter().map(|s| s.expected_transactions).collect()),
        f64s(scores.iter().map(|s| s.p_alive).collect()),
        f64s(scores.iter().map(|s| s.expected_spend).collect()),
        f64s(scores.iter().map(|s| s.clv).collect()),
    ];
    RecordBatch::try_new(scores_schema(), columns).map_err(arrow_err("building scores"))
}

/// Schema of the `clv_models` table: one row per fitted parameter.
pub fn models_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("parameter", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new(
            "fitted_at",
            DataType::Timestamp(ArrowUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// (model, parameter, value) rows stamped with `fitted_at` (µs since the epoch).
pub fn models_batch(rows: &[(String, String, f64)], fitted_at_micros: i64) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.0.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.1.as_str()),
        )),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))),
        Arc::new(
            TimestampMicrosecondArray::from(vec![fitted_at_micros; rows.len()])
                .with_timezone("UTC"),
        ),
    ];
    RecordBatch::try_new(models_schema(), columns).map_err(arrow_err("building models"))
}

/// File formats for reading transactions and writing scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Parquet,
}

impl FileFormat {
    /// Parquet for `.parquet`/`.pq`, CSV otherwise.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("parquet" | "pq") => FileFormat::Parquet,
            _ => FileFormat::Csv,
        }
    }
}

/// Reads a whole CSV (header row; every column read as text) or Parquet file.
pub async fn read_file(path: &Path, format: FileFormat) -> Result<Vec<RecordBatch>> {
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(ClvError::Io(format!("{shown}: no such file")));
    }
    let p = path
        .to_str()
        .ok_or_else(|| ClvError::Io(format!("{shown}: path is not UTF-8")))?;
    let ctx = SessionContext::new();
    let frame = match format {
        FileFormat::Parquet => {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            let ext = if ext.is_empty() {
                String::new()
            } else {
                format!(".{ext}")
            };
            ctx.read_parquet(p, ParquetReadOptions::default().file_extension(&ext))
                .await
                .map_err(df(format!("reading {shown}")))?
        }
        FileFormat::Csv => {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            let ext = if ext.is_empty() {
                String::new()
            } else {
                format!(".{ext}")
            };
            let inferred = ctx
                .read_csv(p, CsvReadOptions::new().file_extension(&ext))
                .await
                .map_err(df(format!("reading {shown}")))?;
            // Read every column as text so ids such as 00042 keep their zeros.
            let text = Schema::new(
                inferred
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| Field::new(f.name(), DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            );
            ctx.read_csv(p, CsvReadOptions::new().file_extension(&ext).schema(&text))
                .await
                .map_err(df(format!("reading {shown}")))?
        }
    };
    frame
        .collect()
        .await
        .map_err(df(format!("reading {shown}")))
}

/// Writes `batch` to `path` as CSV (with header) or Parquet.
pub fn write_file(path: &Path, format: FileFormat, batch: &RecordBatch) -> Result<()> {
    let shown = path.display().to_string();
    let file = std::fs::File::create(path).map_err(|e| ClvError::Io(format!("{shown}: {e}")))?;
    match format {
        FileFormat::Csv => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(file);
            w.write(batch).map_err(arrow_err(&shown))?;
        }
        FileFormat::Parquet => {
            let mut w =
                datafusion::parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)
                    .map_err(|e| ClvError::Io(format!("{shown}: {e}")))?;
            w.write(batch)
                .map_err(|e| ClvError::Io(format!("{shown}: {e}")))?;
            w.close()
                .map_err(|e| ClvError::Io(format!("{shown}: {e}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn csv_transactions_keep_leading_zeros_and_skip_rows_without_dates() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "cust,day,value\n00042,1997-01-01,10.5\n00042,19970108,\n7,not a date,3\n,1997-01-02,1\n",
        )
        .expect("write");
        let batches = read_file(&path, FileFormat::Csv).await.expect("read");
        let cols = TxnColumns {
            customer: "cust".into(),
            date: "day".into(),
            amount: "value".into(),
        };
        let t = transactions(&batches, &cols).expect("transactions");
        assert_eq!(t.skipped, 2);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].0, "00042");
        assert_eq!(t.rows[1].1, parse_date("1997-01-08").expect("d"));
        assert_eq!(t.rows[1].2, 0.0);
        let missing = TxnColumns {
            customer: "nope".into(),
            ..cols
        };
        let err = transactions(&batches, &missing).expect_err("missing column");
        assert!(err.to_string().contains("`nope`"), "{err}");
    }

    #[tokio::test]
    async fn scores_round_trip_through_parquet() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("s.parquet");
        let rfm = [Rfm {
            frequency: 2,
            recency: 3.0,
            t: 4.0,
            monetary_value: 5.0,
        }];
        let score = [Score {
            expected_transactions: 1.5,
            p_alive: 1e-11,
            expected_spend: 6.0,
            clv: 7.0,
        }];
        let batch = scores_batch(&["c".to_string()], &rfm, &score).expect("batch");
        write_file(&path, FileFormat::Parquet, &batch).expect("write");
        let back = read_file(&path, FileFormat::Parquet).await.expect("read");
        assert_eq!(back.len(), 1);
        let p = back[0]
            .column_by_name("p_alive")
            .and_then(|c| c.as_any().downcast_ref::<Float64Array>().cloned())
            .expect("p_alive");
        assert_eq!(p.value(0), 1e-11);
    }
}

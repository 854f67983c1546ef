//! `marque clv` end to end: on a transactions file (the CDNOW sample) and on a lake's service
//! visits, with the customer_clv and clv_models tables written back.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    new_null_array,
};
use arrow::datatypes::{DataType, Field, Schema};
use common::{marque, ok, read};

fn cdnow(name: &str) -> PathBuf {
    common::manifest_dir()
        .join("../../../shared/data/cdnow")
        .join(name)
}

/// The CDNOW 1/10 sample as a CSV with custom column names: sample id (with its leading
/// zeros), date as YYYYMMDD, dollars.
fn cdnow_csv(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(cdnow("CDNOW_sample.txt")).expect("CDNOW sample");
    let mut csv = String::from("cust,day,dollars\n");
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 5 {
            csv.push_str(&format!("{},{},{}\n", f[1], f[2], f[4]));
        }
    }
    let path = dir.join("cdnow.csv");
    std::fs::write(&path, csv).expect("write csv");
    path
}

#[test]
fn clv_on_the_cdnow_file_fits_the_published_model_and_scores_every_customer() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = cdnow_csv(dir.path());
    let out = dir.path().join("scores.csv");
    let stdout = ok(
        dir.path(),
        &[
            "clv",
            "--input",
            input.to_str().expect("path"),
            "--customer-col",
            "cust",
            "--date-col",
            "day",
            "--amount-col",
            "dollars",
            "--calibration-end",
            "1997-09-30",
            "--time-unit",
            "weeks",
            "--horizon",
            "39",
            "--output",
            out.to_str().expect("path"),
        ],
    );
    assert!(stdout.contains("2357 customers"), "{stdout}");
    assert!(stdout.contains("r = 0.24"), "{stdout}");
    assert!(stdout.contains("p = 6.2"), "{stdout}");
    let text = std::fs::read_to_string(&out).expect("scores");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "customer_id,frequency,recency,t,monetary_value,expected_transactions,p_alive,\
             expected_spend,clv"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2357);
    // Sample customer 0001 is the paper's worked example: x = 2, t_x = 30.43, T = 38.86.
    let first = rows.iter().find(|r| r[0] == "0001").expect("customer 0001");
    assert_eq!(first[1], "2");
    let expected: f64 = first[5].parse().expect("number");
    assert!((expected - 1.226).abs() < 0.01, "{expected}");
    assert!(
        rows.iter()
            .all(|r| r[6].parse::<f64>().is_ok_and(|p| p > 0.0 && p <= 1.0))
    );
}

#[test]
fn clv_pareto_nbd_model_fits_the_published_cdnow_estimates() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = cdnow_csv(dir.path());
    let out = dir.path().join("scores.csv");
    let stdout = ok(
        dir.path(),
        &[
            "clv",
            "--input",
            input.to_str().expect("path"),
            "--customer-col",
            "cust",
            "--date-col",
            "day",
            "--amount-col",
            "dollars",
            "--calibration-end",
            "1997-09-30",
            "--horizon",
            "39",
            "--model",
            "pareto-nbd",
            "--output",
            out.to_str().expect("path"),
        ],
    );
    // Fader, Hardie & Lee: r = 0.55, α = 10.58, s = 0.61, β = 11.67.
    assert!(stdout.contains("Pareto/NBD"), "{stdout}");
    assert!(stdout.contains("r = 0.55"), "{stdout}");
    assert!(
        stdout.contains("s = 0.60") || stdout.contains("s = 0.61"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&out).expect("scores");
    let first: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("0001,"))
        .expect("customer 0001")
        .split(',')
        .collect();
    // lifetimes' Pareto/NBD gives 1.455 expected transactions in 39 weeks for this customer.
    let expected: f64 = first[5].parse().expect("number");
    assert!((expected - 1.455).abs() < 0.01, "{expected}");
}

#[test]
fn clv_bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = cdnow_csv(dir.path());
    let path = input.to_str().expect("path");
    let out = marque(dir.path(), &["clv", "--input", path]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no column `customer_id`"), "{err}");
    let out = marque(
        dir.path(),
        &[
            "clv",
            "--input",
            path,
            "--customer-col",
            "cust",
            "--date-col",
            "day",
            "--amount-col",
            "dollars",
            "--calibration-end",
            "30/09/1997",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--calibration-end"));
    let out = marque(dir.path(), &["clv", "--from-lake"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("raw_service_orders"));
}

/// A small lake: 300 owners with 1–6 repair orders each at their own pace, plus a second
/// mention (sender) that must not count.
fn service_lake(lake: &Path) {
    let mut ids = Vec::new();
    let mut times = Vec::new();
    let mut labour = Vec::new();
    // (record_id, role, customer_id)
    let mut map: Vec<(String, String, String)> = Vec::new();
    let day = 86_400_000_000i64;
    let start = 1_640_995_200_000_000i64; // 2022-01-01
    for c in 0..300i64 {
        let visits = 1 + (c * 7 + c / 3) % 6;
        let pace = 20 + (c * 13) % 150;
        let first = (c * 11) % 300;
        let mut d = first;
        for v in 0..visits {
            if v > 0 {
                // Irregular gaps around the customer's own pace.
                d += pace / 2 + (c * 31 + v * 17) % pace.max(1);
            }
            if d > 700 {
                break;
            }
            let rid = format!("RO{c}-{v}");
            ids.push(rid.clone());
            times.push(start + d * day);
            labour.push(100.0 + ((c * 37 + v * 11) % 400) as f64);
            map.push((rid.clone(), "owner".into(), format!("C{c:04}")));
            map.push((rid, "sender".into(), "SENDER".into()));
        }
    }
    let schema = marque_core::canonical::raw_schema(marque_core::Source::AfterSales);
    let n = ids.len();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match f.name().as_str() {
                "record_id" => Arc::new(StringArray::from(ids.clone())),
                "ro_time" => {
                    Arc::new(TimestampMicrosecondArray::from(times.clone()).with_timezone("UTC"))
                }
                "labour_amount" => Arc::new(Float64Array::from(labour.clone())),
                "_batch_id" | "_source_file" => Arc::new(StringArray::from(vec!["t"; n])),
                "_line" => Arc::new(arrow::array::Int64Array::from_iter_values(0..n as i64)),
                _ => new_null_array(f.data_type(), n),
            }
        })
        .collect();
    let orders = RecordBatch::try_new(schema.clone(), columns).expect("orders");
    let map_schema = Arc::new(Schema::new(
        ["source", "record_id", "role", "customer_id"]
            .map(|c| Field::new(c, DataType::Utf8, false))
            .to_vec(),
    ));
    let map_batch = RecordBatch::try_new(
        map_schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["after_sales"; map.len()])),
            Arc::new(StringArray::from_iter_values(
                map.iter().map(|m| m.0.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                map.iter().map(|m| m.1.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                map.iter().map(|m| m.2.as_str()),
            )),
        ],
    )
    .expect("map");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let lake = marque_lake::Lake::open(lake.to_str().expect("path")).expect("lake");
        for (name, schema, batch) in [
            ("raw_service_orders", schema, orders),
            ("customer_map", map_schema, map_batch),
        ] {
            lake.write(
                name,
                schema,
                vec![batch],
                marque_lake::WriteMode::Overwrite,
                marque_lake::Commit::default(),
            )
            .await
            .expect("write");
        }
    });
}

#[test]
fn clv_from_lake_scores_service_visits_of_owners_and_writes_the_tables() {
    let dir = tempfile::tempdir().expect("tmp");
    let lake = dir.path().join("lake");
    service_lake(&lake);
    let out = dir.path().join("clv.parquet");
    let stdout = ok(
        &lake,
        &[
            "clv",
            "--from-lake",
            "--calibration-end",
            "2023-06-30",
            "--time-unit",
            "days",
            "--horizon",
            "365",
            "--period",
            "30",
            "--discount-rate",
            "0.01",
            "--margin",
            "0.4",
            "--output",
            out.to_str().expect("path"),
            "--write-table",
        ],
    );
    assert!(stdout.contains("300 customers"), "{stdout}");
    assert!(stdout.contains("BG/NBD"), "{stdout}");
    assert!(out.is_file());
    let rows = read(&lake, "customer_clv");
    let n: usize = rows.iter().map(|b| b.num_rows()).sum();
    assert_eq!(n, 300, "only owners count, senders do not");
    // Delta reads text back as Utf8View; compare as plain strings.
    let ids = rows[0].column_by_name("customer_id").expect("ids");
    let ids = arrow::compute::cast(ids, &DataType::Utf8).expect("cast");
    let ids = ids
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .expect("ids");
    assert!((0..ids.len()).all(|i| ids.value(i) != "SENDER"));
    let clv = rows[0]
        .column_by_name("clv")
        .and_then(|c| c.as_any().downcast_ref::<Float64Array>().cloned())
        .expect("clv");
    assert!((0..clv.len()).all(|i| clv.value(i).is_finite() && clv.value(i) >= 0.0));
    let models = read(&lake, "clv_models");
    let params: usize = models.iter().map(|b| b.num_rows()).sum();
    assert!(params >= 7, "{params}");
    // A rerun overwrites rather than appends.
    ok(&lake, &["clv", "--from-lake", "--write-table"]);
    let again: usize = read(&lake, "customer_clv")
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(again, 300);
}

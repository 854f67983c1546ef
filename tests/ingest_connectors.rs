//! A new source system defined only by a TOML file (the worked example of connectors/README.md):
//! `connectors check`, ingest with no code change, quarantine list/show, and replay after a fix.

mod common;

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use common::{count, marque, ok, sum_i64};

/// A text column as a `StringArray`, whatever string type the Delta scan returned.
fn text(col: &arrow::array::ArrayRef) -> arrow::array::StringArray {
    arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8)
        .unwrap()
        .as_string::<i32>()
        .clone()
}

fn fixture() -> PathBuf {
    common::manifest_dir().join("../../tests/fixtures/connectors/autostar")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_source_defined_only_by_a_toml_file_is_checked_and_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let fx = fixture();
    let conn_dir = fx.join("connectors");
    let exports = fx.join("exports");

    let check = ok(
        &lake,
        &[
            "connectors",
            "check",
            s(&conn_dir.join("autostar_sales.toml")),
            "--input",
            s(&exports),
        ],
    );
    assert!(
        check.contains("5 rows read, 2 would land, 3 would be quarantined"),
        "{check}"
    );
    assert!(
        check.contains("AS-240601") && check.contains("2024-06-03"),
        "{check}"
    );
    assert!(
        check.contains("sale_date"),
        "the impossible date is named: {check}"
    );
    assert!(check.contains("expected 12 columns, found 4"), "{check}");
    assert!(
        check.contains("\\x81"),
        "undecodable bytes are shown escaped: {check}"
    );
    // --strict fails on quarantined rows, so CI can gate a connector change.
    let strict = marque(
        &lake,
        &[
            "connectors",
            "check",
            s(&conn_dir.join("autostar_sales.toml")),
            "--input",
            s(&exports),
            "--strict",
        ],
    );
    assert!(!strict.status.success());
    assert_eq!(count(&lake, "raw_sales"), 0, "check writes nothing");

    let out = ok(
        &lake,
        &[
            "ingest",
            "--quiet",
            "--input",
            s(&exports),
            "--connectors",
            s(&conn_dir),
        ],
    );
    assert!(out.contains("landed 2 of 5 rows, 3 quarantined"), "{out}");
    let again = ok(
        &lake,
        &[
            "ingest",
            "--input",
            s(&exports),
            "--connectors",
            s(&conn_dir),
        ],
    );
    assert!(again.contains("already loaded"), "{again}");

    let raw = common::read(&lake, "raw_sales");
    let rows: usize = raw.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 2);
    let b = &raw[0];
    let ids = text(b.column_by_name("record_id").unwrap());
    let mobile = text(b.column_by_name("mobile").unwrap());
    let price = b
        .column_by_name("price")
        .unwrap()
        .as_primitive::<arrow::datatypes::Float64Type>();
    let first = (0..b.num_rows())
        .find(|&i| ids.value(i) == "AS-240601")
        .unwrap();
    assert_eq!(mobile.value(first), "13800138000", "apostrophe dropped");
    assert_eq!(price.value(first), 189_800.0, "18.98万");
    let second = (0..b.num_rows())
        .find(|&i| ids.value(i) == "AS-240602")
        .unwrap();
    assert_eq!(mobile.value(second), "13912345678", "full-width digits");
    assert_eq!(price.value(second), 215_800.0);

    // Nothing lost: read = landed + quarantined, and the undecodable bytes are kept as is.
    assert_eq!(count(&lake, "quarantine"), 3);
    assert_eq!(sum_i64(&lake, "ingest_batches", "rows_read"), 5);
    let list = ok(&lake, &["quarantine", "list"]);
    assert!(
        list.contains("3 quarantined row(s), 3 not replayed"),
        "{list}"
    );
    let id = list
        .lines()
        .find(|l| l.contains("not valid"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the undecodable row is listed")
        .to_string();
    let show = ok(&lake, &["quarantine", "show", &id]);
    assert!(show.contains("81 20"), "raw bytes in hex: {show}");
    let q = common::read(&lake, "quarantine");
    let raw_bytes: Vec<Vec<u8>> = q
        .iter()
        .flat_map(|b| {
            let c = arrow::compute::cast(
                b.column_by_name("raw").unwrap(),
                &arrow::datatypes::DataType::Binary,
            )
            .unwrap()
            .as_binary::<i32>()
            .clone();
            (0..c.len()).map(move |i| c.value(i).to_vec())
        })
        .collect();
    assert!(
        raw_bytes
            .iter()
            .any(|r| r.windows(2).any(|w| w == b"\x81\x20")),
        "the quarantine keeps the undecodable bytes losslessly"
    );
}

#[test]
fn replay_lands_fixed_rows_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let fx = fixture();
    let exports = fx.join("exports");
    // A first version of the connector swaps the invoice number and the id number columns; the
    // id number is empty on some rows, which are quarantined ("required field record_id").
    let good = std::fs::read_to_string(fx.join("connectors/autostar_sales.toml")).unwrap();
    let broken = good
        .replace("\"单据编号\"", "\"@@\"")
        .replace("\"证件号码\"", "\"单据编号\"")
        .replace("\"@@\"", "\"证件号码\"");
    assert_ne!(broken, good);
    let conn_dir = dir.path().join("connectors");
    std::fs::create_dir_all(&conn_dir).unwrap();
    let file = conn_dir.join("autostar_sales.toml");
    std::fs::write(&file, &broken).unwrap();

    let out = ok(
        &lake,
        &[
            "ingest",
            "--quiet",
            "--input",
            s(&exports),
            "--connectors",
            s(&conn_dir),
        ],
    );
    assert!(out.contains("landed 1 of 5 rows, 4 quarantined"), "{out}");

    // The operator fixes the definition and replays.
    std::fs::write(&file, &good).unwrap();
    let replay = marque(
        &lake,
        &["quarantine", "replay", "--connectors", s(&conn_dir)],
    );
    let text = String::from_utf8_lossy(&replay.stdout);
    assert!(
        text.contains("replayed 4 row(s): 1 landed, 3 still failing"),
        "{text}"
    );
    assert!(
        !replay.status.success(),
        "rows still failing make the command fail"
    );
    assert_eq!(count(&lake, "raw_sales"), 2);

    // Replaying again tries only the rows still open and lands nothing twice.
    let again = marque(
        &lake,
        &["quarantine", "replay", "--connectors", s(&conn_dir)],
    );
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("replayed 3 row(s): 0 landed"), "{text}");
    assert_eq!(count(&lake, "raw_sales"), 2);
    let list = ok(&lake, &["quarantine", "list", "--all"]);
    assert!(
        list.contains("4 quarantined row(s), 3 not replayed"),
        "{list}"
    );
    assert!(list.contains("replayed"), "{list}");
    // The lake-wide invariant still holds after the replay.
    assert_eq!(
        sum_i64(&lake, "ingest_batches", "rows_read") as usize,
        count(&lake, "raw_sales") + count(&lake, "quarantine")
    );
    // The replayed row keeps its original line as lineage.
    let raw = common::read(&lake, "raw_sales");
    let lines: Vec<i64> = raw
        .iter()
        .flat_map(|b| {
            let c = b
                .column_by_name("_line")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>()
                .clone();
            (0..c.len()).map(move |i| c.value(i))
        })
        .collect();
    let mut lines = lines;
    lines.sort();
    assert_eq!(lines, vec![2, 3]);
}

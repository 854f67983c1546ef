//! Malformed input to every subcommand: a clear error or a quarantined row, never a panic.

mod common;

use common::{count, marque, ok, sum_i64};

fn fixture() -> String {
    common::manifest_dir()
        .join("../../tests/fixtures/dirty")
        .to_string_lossy()
        .into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_dirty_file_loses_nothing_every_row_lands_or_is_quarantined_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ok(
        &lake,
        &[
            "ingest",
            "--input",
            &fixture(),
            "--only",
            "dms_sales",
            "--only",
            "leads",
        ],
    );
    // sales: 6 records; FP001, FP002 (GBK) and FP003 (pasted UTF-8) land.
    assert_eq!(count(&lake, "raw_sales"), 3);
    // leads: 4 non-blank lines; L1 and L2 land, L3 is truncated JSON, L4 lacks its date.
    assert_eq!(count(&lake, "raw_leads"), 2);
    assert_eq!(count(&lake, "quarantine"), 5);
    assert_eq!(sum_i64(&lake, "ingest_batches", "rows_read"), 10);

    let reasons = ok(
        &lake,
        &[
            "sql",
            "SELECT file, line, reason FROM quarantine ORDER BY file, line",
        ],
    );
    for want in [
        "expected 12 columns, found 4",
        "field sale_date (column \"开票日期\"): \"2023-02-30\" is not a valid date",
        "column \"客户姓名\" has bytes that are not valid",
        "invalid JSON: EOF while parsing",
        "required field created_at (column \"created_at\") is empty",
    ] {
        assert!(
            reasons.contains(want),
            "missing reason {want:?} in\n{reasons}"
        );
    }
    // Raw bytes are kept losslessly, undecodable byte included.
    let raw = ok(
        &lake,
        &[
            "sql",
            "SELECT raw, byte_offset FROM quarantine WHERE file = 'sales/mixed.csv' AND line = 7",
        ],
    );
    assert!(
        raw.contains("46503030362c323032332d30352d30362c812c"),
        "FP006 with its 0x81 byte: {raw}"
    );
    let wrong_cols = ok(
        &lake,
        &[
            "sql",
            "SELECT line FROM quarantine WHERE reason LIKE 'expected 12 columns%'",
        ],
    );
    assert!(
        wrong_cols.contains("| 5 "),
        "FP004 is on line 5: {wrong_cols}"
    );
}

#[test]
fn missing_inputs_and_bad_flags_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let cases: [(&[&str], &str); 6] = [
        (
            &["ingest", "--input", "/nonexistent/marque"],
            "does not exist",
        ),
        (&["gen", "--persons", "many"], "invalid value 'many'"),
        (
            &[
                "gen",
                "--persons",
                "1",
                "--dirt",
                "masked_phone=2",
                "--out",
                "/tmp/x",
            ],
            "masked_phone",
        ),
        (&["eval", "--truth", "/nonexistent/marque"], "customer_map"),
        (&["resolve"], "no raw tables"),
        (
            &["sql", "DROP TABLE customers"],
            "only read-only queries are accepted",
        ),
    ];
    for (args, want) in cases {
        let out = marque(&lake, args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = stderr(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
}

#[test]
fn a_bad_connector_definition_names_the_file_and_the_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let conns = dir.path().join("connectors");
    std::fs::create_dir_all(&conns).unwrap();
    std::fs::write(
        conns.join("broken.toml"),
        "name = \"broken\"\ndomain = \"sales\"\nsource = { path = \"*.csv\" }\nformat = { kind = \"csv\" }\n[[field]]\nname = \"record_id\"\ncolumn = \"id\"\n",
    )
    .unwrap();
    let out = marque(
        &dir.path().join("lake"),
        &[
            "ingest",
            "--input",
            &fixture(),
            "--connectors",
            conns.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("broken.toml") && err.contains("required field \"sale_date\""),
        "{err}"
    );
}

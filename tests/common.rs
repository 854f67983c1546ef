//! Helpers shared by the end-to-end tests: run the `marque` binary and read the lake.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory of the crate under test. Cargo sets `CARGO_MANIFEST_DIR` when it runs a test,
/// and that wins over the compile-time value: clones sharing one target directory reuse each
/// other's test binaries, whose compile-time path can name a clone that is gone.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Runs `marque ARGS` with the lake at `lake`; returns its output.
pub fn marque(lake: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_marque"))
        .arg("--lake")
        .arg(lake)
        .args(args)
        .output()
        .expect("the marque binary runs")
}

/// Runs `marque ARGS` and asserts success; returns stdout.
pub fn ok(lake: &Path, args: &[&str]) -> String {
    let out = marque(lake, args);
    assert!(
        out.status.success(),
        "marque {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The batches of a lake table (none when the table is absent).
pub fn read(lake: &Path, table: &str) -> Vec<arrow::array::RecordBatch> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let lake = marque_lake::Lake::open(lake.to_str().unwrap()).unwrap();
        lake.read(table).await.unwrap().unwrap_or_default()
    })
}

/// Rows in a lake table (0 when absent).
pub fn count(lake: &Path, table: &str) -> usize {
    read(lake, table).iter().map(|b| b.num_rows()).sum()
}

/// Rows in all four raw tables together.
pub fn raw_rows(lake: &Path) -> usize {
    marque_core::Source::ALL
        .iter()
        .map(|s| count(lake, marque_core::canonical::raw_table(*s)))
        .sum()
}

/// Sum of an Int64 column of a lake table.
pub fn sum_i64(lake: &Path, table: &str, column: &str) -> i64 {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    read(lake, table)
        .iter()
        .map(|b| {
            let col = b.column_by_name(column).expect("column exists");
            col.as_primitive::<Int64Type>()
                .iter()
                .flatten()
                .sum::<i64>()
        })
        .sum()
}

/// Generates `persons` synthetic persons (seed `seed`) into `dir/src` and returns that folder.
pub fn generate(dir: &Path, persons: u32, seed: u32) -> PathBuf {
    let src = dir.join("src");
    let (persons, seed) = (persons.to_string(), seed.to_string());
    let out = src.to_str().expect("temporary paths are UTF-8");
    ok(
        &dir.join("unused-lake"),
        &["gen", "--persons", &persons, "--seed", &seed, "--out", out],
    );
    src
}

/// A `marque serve` child process on a free loopback port, killed when dropped (also when a
/// test panics).
pub struct Served {
    child: std::process::Child,
    pub port: u16,
}

/// Starts `marque --lake LAKE serve --addr 127.0.0.1:PORT EXTRA…`; the caller waits for it.
pub fn serve(lake: &Path, extra: &[&str]) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_marque"))
        .args(["--lake", lake.to_str().unwrap(), "serve", "--addr", &addr])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("marque serve starts");
    Served { child, port }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

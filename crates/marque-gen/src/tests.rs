//! End-to-end tests of the file contract: determinism, headers, encodings, truth coverage,
//! valid identifiers and the effect of the dirt rates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};
use encoding_rs::GBK;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{DirtRates, GenConfig, generate};

fn cfg(persons: u64, seed: u64, dirt: DirtRates) -> GenConfig {
    GenConfig {
        persons,
        seed,
        dirt,
        ..GenConfig::default()
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out.sort();
    out
}

/// record ids of truth/mentions.csv per source, with the broken flag and roles.
struct Mentions {
    by_source: BTreeMap<String, BTreeMap<String, (bool, Vec<String>)>>,
}

fn mentions(dir: &Path) -> Mentions {
    let text = std::fs::read_to_string(dir.join("truth/mentions.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("source,record_id,role,person_id,broken"));
    let mut by_source: BTreeMap<String, BTreeMap<String, (bool, Vec<String>)>> = BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 5, "{l}");
        assert!(f[3].starts_with('P') && f[3].len() == 9, "{l}");
        let e = by_source
            .entry(f[0].to_string())
            .or_default()
            .entry(f[1].to_string())
            .or_insert((false, vec![]));
        e.0 |= f[4] == "1";
        e.1.push(f[2].to_string());
    }
    Mentions { by_source }
}

fn sales_lines(dir: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(dir.join("sales/dms_sales.csv")).unwrap();
    assert!(bytes.ends_with(b"\r\n") || bytes.is_empty());
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(|l| l.to_vec()).collect();
    assert_eq!(lines.pop().as_deref(), Some(&b""[..]));
    for l in &mut lines {
        assert_eq!(l.pop(), Some(b'\r'), "CRLF line endings");
    }
    lines
}

fn app_event_ids(dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for p in files(&dir.join("app")) {
        let f = std::fs::File::open(&p).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            assert_eq!(batch.schema().fields().len(), 8);
            let col = batch
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            ids.extend((0..col.len()).map(|i| col.value(i).to_string()));
        }
    }
    ids
}

#[test]
fn same_seed_gives_byte_identical_files() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let c = cfg(400, 7, DirtRates::default());
    let sa = generate(&c, a.path()).unwrap();
    let sb = generate(&c, b.path()).unwrap();
    assert_eq!(sa, sb);
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert_eq!(fa.len(), fb.len());
    assert_eq!(fa.len(), 8, "{fa:?}");
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.strip_prefix(a.path()), y.strip_prefix(b.path()));
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
    let c2 = cfg(400, 8, DirtRates::default());
    let other = tempfile::tempdir().unwrap();
    generate(&c2, other.path()).unwrap();
    assert_ne!(
        std::fs::read(a.path().join("truth/persons.csv")).unwrap(),
        std::fs::read(other.path().join("truth/persons.csv")).unwrap()
    );
}

#[test]
fn sales_header_gbk_and_broken_rows() {
    let dir = tempfile::tempdir().unwrap();
    let dirt = DirtRates {
        broken_row: 0.05,
        ..Default::default()
    };
    generate(&cfg(1500, 3, dirt), dir.path()).unwrap();
    let lines = sales_lines(dir.path());
    let header = GBK
        .decode_without_bom_handling_and_without_replacement(&lines[0])
        .unwrap();
    assert_eq!(
        header,
        "发票号,开票日期,客户姓名,手机号码,身份证号,车架号,品牌车型,经销商代码,销售顾问,成交价,联系地址,城市"
    );
    let m = mentions(dir.path());
    let sales = &m.by_source["sales"];
    let mut broken_seen = 0;
    for l in &lines[1..] {
        let id = std::str::from_utf8(&l[..16]).unwrap();
        let (broken, roles) = &sales[id];
        assert_eq!(roles, &["buyer"]);
        if *broken {
            broken_seen += 1;
            continue;
        }
        let text = GBK
            .decode_without_bom_handling_and_without_replacement(l)
            .unwrap_or_else(|| panic!("row {id} does not decode as GBK"));
        let rec = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(rec.len(), 12, "{text}");
        assert!(
            marque_core::vin::parse(&rec[5]).is_some(),
            "bad VIN {}",
            &rec[5]
        );
        if !rec[4].is_empty() {
            assert!(
                marque_core::resident_id::parse(&rec[4]).is_some(),
                "bad resident id {}",
                &rec[4]
            );
        }
    }
    assert!(broken_seen > 0, "some rows must be broken at 5%");
}

#[test]
fn truth_covers_every_record_of_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let dirt = DirtRates {
        broken_row: 0.02,
        ..Default::default()
    };
    let summary = generate(&cfg(800, 11, dirt), dir.path()).unwrap();
    let m = mentions(dir.path());

    let sales = sales_lines(dir.path());
    let ids: BTreeSet<String> = sales[1..]
        .iter()
        .map(|l| String::from_utf8_lossy(&l[..16]).into_owned())
        .collect();
    assert_eq!(ids.len(), sales.len() - 1, "invoice numbers are unique");
    assert_eq!(ids, m.by_source["sales"].keys().cloned().collect());
    assert_eq!(summary.files["sales/dms_sales.csv"], ids.len() as u64);

    let ro = std::fs::read_to_string(dir.path().join("after_sales/repair_orders.csv")).unwrap();
    let mut lines = ro.lines();
    assert_eq!(
        lines.next(),
        Some(
            "ro_no,ro_date,vin,plate,owner_name,owner_phone,sender_name,sender_phone,mileage_km,labour_amount,parts_amount,service_type,dealer_code"
        )
    );
    let truth_ro = &m.by_source["after_sales"];
    let mut n = 0;
    for l in lines {
        n += 1;
        let f: Vec<&str> = l.split(',').collect();
        let (broken, roles) = &truth_ro[f[0]];
        if !broken {
            assert_eq!(f.len(), 13, "{l}");
            let has_sender = !f[6].is_empty() || !f[7].is_empty();
            let want: &[&str] = if has_sender {
                &["owner", "sender"]
            } else {
                &["owner"]
            };
            assert_eq!(roles, want, "{l}");
            assert!(
                f[8].parse::<u32>().is_ok()
                    && f[9].parse::<f64>().is_ok()
                    && f[10].parse::<f64>().is_ok(),
                "{l}"
            );
            assert!(marque_core::vin::parse(f[2]).is_some());
        }
    }
    assert_eq!(n, truth_ro.len());
    assert!(n > 0);

    let leads = std::fs::read_to_string(dir.path().join("marketing/leads.jsonl")).unwrap();
    let truth_leads = &m.by_source["marketing"];
    let mut n = 0;
    for l in leads.lines() {
        n += 1;
        let id = &l[12..22];
        let (broken, _) = &truth_leads[id];
        let parsed = serde_json::from_str::<serde_json::Value>(l);
        assert_eq!(parsed.is_err(), *broken, "{l}");
        if let Ok(v) = parsed {
            assert_eq!(v["lead_id"], id);
            for k in [
                "created_at",
                "name",
                "mobile",
                "city",
                "intended_model",
                "channel",
                "campaign",
                "dealer_code",
            ] {
                assert!(v[k].is_string(), "{k} in {l}");
            }
        }
    }
    assert_eq!(n, truth_leads.len());

    let events = app_event_ids(dir.path());
    let set: BTreeSet<String> = events.iter().cloned().collect();
    assert_eq!(set.len(), events.len(), "event ids are unique");
    assert_eq!(set, m.by_source["app"].keys().cloned().collect());

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["seed"], 11);
    assert_eq!(manifest["files"]["truth/persons.csv"], 800);

    // Every vehicle in ownership has a valid VIN and an owner who exists.
    let own = std::fs::read_to_string(dir.path().join("truth/ownership.csv")).unwrap();
    for l in own.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 4);
        assert!(marque_core::vin::parse(f[0]).is_some(), "{l}");
    }
}

#[test]
fn zero_rates_give_clean_data() {
    let dir = tempfile::tempdir().unwrap();
    generate(&cfg(600, 5, DirtRates::none()), dir.path()).unwrap();
    let m = mentions(dir.path());
    assert!(
        m.by_source
            .values()
            .flat_map(|s| s.values())
            .all(|(b, _)| !b),
        "no broken rows"
    );
    let leads = std::fs::read_to_string(dir.path().join("marketing/leads.jsonl")).unwrap();
    assert!(!leads.contains("****"), "no masked phones");
    assert!(!leads.contains("先生\"") && !leads.contains("13800000000"));
    let persons = std::fs::read_to_string(dir.path().join("truth/persons.csv")).unwrap();
    let rid_by_name: BTreeMap<String, String> = persons
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[7].to_string(), f[2].to_string())
        })
        .collect();
    for l in &sales_lines(dir.path())[1..] {
        let text = GBK
            .decode_without_bom_handling_and_without_replacement(l)
            .unwrap();
        let f: Vec<&str> = text.split(',').collect();
        assert_eq!(f.len(), 12, "{text}");
        let id =
            marque_core::resident_id::parse(f[4]).expect("clean rows carry a valid resident id");
        assert_eq!(id.number, f[4]);
        assert_eq!(rid_by_name[f[4]], f[2], "clean name matches the person");
        assert!(f[1].len() == 10 && f[1].as_bytes()[4] == b'-');
        assert!(f[3].len() == 11 && f[3].bytes().all(|b| b.is_ascii_digit()));
        assert!(f[9].bytes().all(|b| b.is_ascii_digit()));
    }
    assert_eq!(
        app_event_ids(dir.path()).len(),
        0,
        "no app adoption at rate 0"
    );
}

#[test]
fn zero_persons_gives_headers_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = generate(&cfg(0, 1, DirtRates::default()), dir.path()).unwrap();
    assert!(s.files.values().all(|&n| n == 0), "{s}");
    assert_eq!(sales_lines(dir.path()).len(), 1);
    assert!(dir.path().join("app/app_events-00000.parquet").exists());
    assert!(s.to_string().contains("0 persons"));
}

#[test]
fn dirt_shows_up_at_default_rates() {
    let dir = tempfile::tempdir().unwrap();
    generate(&cfg(3000, 9, DirtRates::default()), dir.path()).unwrap();
    let leads = std::fs::read_to_string(dir.path().join("marketing/leads.jsonl")).unwrap();
    assert!(leads.contains("****") && leads.contains("先生"));
    let ro = std::fs::read_to_string(dir.path().join("after_sales/repair_orders.csv")).unwrap();
    let m = mentions(dir.path());
    let senders = m.by_source["after_sales"]
        .values()
        .filter(|(_, r)| r.len() == 2)
        .count();
    assert!(senders > 0 && ro.lines().count() > 100);
    // Salesperson phones are hubs: some phone appears in sales of many different persons.
    let mut by_phone: BTreeMap<String, usize> = BTreeMap::new();
    for l in &sales_lines(dir.path())[1..] {
        if let Some(t) = GBK.decode_without_bom_handling_and_without_replacement(l) {
            let f: Vec<&str> = t.split(',').collect();
            if f.len() > 3 {
                *by_phone.entry(f[3].to_string()).or_default() += 1;
            }
        }
    }
    assert!(by_phone.values().any(|&n| n >= 3), "a hub phone exists");
}

//! Times a full evaluation of synthetic data: `cargo run --release -p marque-eval --example
//! timing [MENTIONS]` (default 12 million). Writes the truth CSV to a temporary directory.

use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use marque_core::Source;
use marque_eval::{Evaluator, TRUTH_FILE, Truth};

/// splitmix64, so the run is reproducible without extra dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

type Row = (&'static str, String, &'static str, String);

fn field(r: &Row, k: usize) -> &str {
    match k {
        0 => r.0,
        1 => &r.1,
        2 => r.2,
        _ => &r.3,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(Ok(12_000_000), |s| s.parse())?;
    let persons = (n / 12).max(1) as u64;
    let mut rng = Rng(42);
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("truth"))?;

    // Mention i: source by i % 4, person random; predictions copy the person as customer
    // except 3% moved to a random customer and persons with id % 50 == 0 split in two.
    let t0 = Instant::now();
    let mut out = BufWriter::new(std::fs::File::create(dir.path().join(TRUTH_FILE))?);
    writeln!(out, "source,record_id,role,person_id,broken")?;
    let mut rows: Vec<Row> = Vec::with_capacity(n);
    for i in 0..n {
        let source = Source::ALL[i % 4];
        let role = source.roles()[(i / 4) % source.roles().len()];
        let person = rng.next() % persons;
        let broken = rng.next().is_multiple_of(1000);
        let record_id = format!("{}-{:09}", &source.as_str()[..2].to_uppercase(), i / 2);
        writeln!(
            out,
            "{source},{record_id},{role},P{person:07},{}",
            u8::from(broken)
        )?;
        if !broken {
            let customer = if rng.next() % 100 < 3 {
                rng.next() % persons
            } else if person.is_multiple_of(50) {
                person * 2 + (i as u64 & 1)
            } else {
                person
            };
            rows.push((
                source.as_str(),
                record_id,
                role.as_str(),
                format!("C{customer}"),
            ));
        }
    }
    out.flush()?;
    drop(out);
    let schema = Arc::new(Schema::new(
        ["source", "record_id", "role", "customer_id"]
            .map(|c| Field::new(c, DataType::Utf8, false))
            .to_vec(),
    ));
    let batches: Vec<RecordBatch> = rows
        .chunks(65_536)
        .map(|chunk| {
            let col = |k: usize| -> ArrayRef {
                Arc::new(
                    chunk
                        .iter()
                        .map(|r| Some(field(r, k)))
                        .collect::<StringArray>(),
                )
            };
            RecordBatch::try_new(schema.clone(), (0..4).map(col).collect()).unwrap()
        })
        .collect();
    drop(rows);
    println!("generated {n} mentions in {:.2?}", t0.elapsed());

    let t = Instant::now();
    let truth = Truth::load(dir.path())?;
    println!(
        "load truth: {:.2?} ({} mentions, {} persons)",
        t.elapsed(),
        truth.len(),
        truth.persons()
    );
    let t = Instant::now();
    let mut ev = Evaluator::new(&truth);
    for b in &batches {
        ev.add_batch(b)?;
    }
    println!("add batches: {:.2?}", t.elapsed());
    let t = Instant::now();
    let report = ev.finish();
    println!("finish: {:.2?}", t.elapsed());
    println!("{report}");
    Ok(())
}

//! Ingests a generator output directory with the reference connectors, without the rest of the
//! `marque` binary: a quick-to-build harness for profiling the ingest path.
//!
//! `cargo run --release -p marque-connect --example ingest_dir -- LAKE INPUT_DIR [CONNECTOR]…`

use marque_connect::{IngestOptions, ingest_connector, load_connectors};
use marque_lake::Lake;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [lake, input, only @ ..] = &args[..] else {
        return Err("usage: ingest_dir LAKE INPUT_DIR [CONNECTOR]…".into());
    };
    let lake = Lake::open(lake)?;
    let opts = IngestOptions {
        input_dir: input.into(),
    };
    for def in load_connectors(None)? {
        if !only.is_empty() && !only.contains(&def.name) {
            continue;
        }
        for r in ingest_connector(&lake, &def, &opts).await? {
            println!(
                "{:<14} {:<36} {:?} read {} landed {} quarantined {} in {:.1}s",
                r.connector,
                r.file,
                r.status,
                r.rows_read,
                r.rows_landed,
                r.rows_quarantined,
                r.duration_ms as f64 / 1000.0
            );
        }
    }
    Ok(())
}

//! Runs the generator: `cargo run --release -p marque-gen --example gen -- PERSONS OUT_DIR [SEED]`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let persons = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let out = args.get(2).cloned().unwrap_or_else(|| "gen-out".into());
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42);
    let cfg = marque_gen::GenConfig {
        persons,
        seed,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let summary = marque_gen::generate(&cfg, std::path::Path::new(&out))?;
    print!("{summary}");
    println!("took {:.1?}", t.elapsed());
    Ok(())
}

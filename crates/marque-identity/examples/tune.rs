//! Development aid: resolve a lake and score it against a generator's truth in one process.
//! `cargo run -p marque-identity --example tune -- LAKE TRUTH_DIR [--full] [--retrain]
//! [key=value …]`, where each `key=value` sets one `[identity]` threshold (e.g.
//! `hub_min_names=8`).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let lake = marque_lake::Lake::open(&args[1])?;
    let settings: Vec<&str> = args[3..]
        .iter()
        .filter(|a| a.contains('='))
        .map(String::as_str)
        .collect();
    let opts = marque_identity::ResolveOptions {
        full: args.iter().any(|a| a == "--full"),
        retrain: args.iter().any(|a| a == "--retrain"),
        link: toml::from_str(&settings.join("\n"))?,
        ..Default::default()
    };
    let summary = marque_identity::resolve(&lake, &opts).await?;
    println!("{summary}");
    let truth = marque_eval::Truth::load(std::path::Path::new(&args[2]))?;
    let map = lake.read("customer_map").await?.unwrap_or_default();
    print!("{}", marque_eval::evaluate_batches(&truth, &map)?);
    Ok(())
}

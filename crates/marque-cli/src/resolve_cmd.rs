//! `marque resolve`: identity resolution over the lake, full or incremental, with the
//! `[identity]` settings of marque.toml.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use marque_identity::{LinkConfig, ResolveOptions};
use marque_lake::Lake;
use serde::Deserialize;

#[derive(Args, Default)]
pub struct ResolveArgs {
    /// Re-resolve every mention instead of only the batches ingested since the last run.
    #[arg(long)]
    pub full: bool,
    /// Re-estimate the Fellegi–Sunter model (m by EM, u from random pairs) instead of reusing
    /// the lake's `identity_model`.
    #[arg(long)]
    pub retrain: bool,
    /// Config file with an `[identity]` section (thresholds: hub_min_names, match_weight,
    /// strong_weight, max_block_units, max_cluster_mentions, em_max_iterations, em_tolerance,
    /// u_samples, seed; and resident_id_salt) and an `[identity.golden]` section (survivorship
    /// per field: source_priority and a rule per field). Default: $MARQUE_CONFIG, else ./marque.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    identity: Option<IdentitySection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentitySection {
    resident_id_salt: Option<String>,
    /// `[identity.golden]`: survivorship per field.
    golden: Option<marque_identity::golden::Survivorship>,
    #[serde(flatten)]
    link: LinkConfig,
}

fn options(args: &ResolveArgs) -> anyhow::Result<ResolveOptions> {
    let path = args
        .config
        .clone()
        .or_else(|| std::env::var_os("MARQUE_CONFIG").map(PathBuf::from))
        .or_else(|| {
            let p = PathBuf::from("marque.toml");
            p.is_file().then_some(p)
        });
    let mut opts = ResolveOptions {
        retrain: args.retrain,
        full: args.full,
        ..Default::default()
    };
    if let Some(p) = path {
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let file: ConfigFile =
            toml::from_str(&text).with_context(|| format!("in {}", p.display()))?;
        if let Some(section) = file.identity {
            opts.link = section.link;
            if let Some(golden) = section.golden {
                opts.golden = golden;
            }
            if let Some(salt) = section.resident_id_salt {
                opts.resident_id_salt = salt;
            }
        }
    }
    Ok(opts)
}

pub async fn run(lake_root: &str, args: &ResolveArgs) -> anyhow::Result<()> {
    let lake = Lake::open(lake_root)?;
    let summary = marque_identity::resolve(&lake, &options(args)?).await?;
    println!("{summary}");
    Ok(())
}

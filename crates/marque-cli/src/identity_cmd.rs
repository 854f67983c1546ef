//! `marque identity`: the trained model, manual overrides, hubs and explanations.

use clap::{Args, Subcommand};
use marque_identity::overrides::{self, MentionKey, Override, OverrideKind};
use marque_lake::Lake;

#[derive(Args)]
pub struct IdentityArgs {
    #[command(subcommand)]
    command: IdentityCommand,
}

#[derive(Subcommand)]
enum IdentityCommand {
    /// Print the Fellegi–Sunter parameters: m, u and weight per comparison level, and the prior.
    Model,
    /// Print the hub values found by the last run (phones seen with many different names).
    Hubs,
    /// Show a customer's mentions and every link holding it together, with each comparison's
    /// level and weight.
    Explain { customer_id: String },
    /// Force two customers into one from the next run on.
    Merge {
        customer_a: String,
        customer_b: String,
        #[arg(long, default_value = "manual merge")]
        reason: String,
    },
    /// Split one mention (SOURCE:RECORD_ID:ROLE, e.g. after_sales:RO2024…:sender) out of its
    /// customer from the next run on.
    Split {
        mention: String,
        #[arg(long, default_value = "manual split")]
        reason: String,
    },
    /// Keep two customers apart forever.
    NeverLink {
        customer_a: String,
        customer_b: String,
        #[arg(long, default_value = "manual never-link")]
        reason: String,
    },
}

fn parse_key(s: &str) -> anyhow::Result<MentionKey> {
    let mut parts = s.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), Some(c)) if !a.is_empty() && !b.is_empty() && !c.is_empty() => {
            // The record id may itself hold colons: the role is after the last one.
            let rest = format!("{b}:{c}");
            let (record, role) = rest.rsplit_once(':').expect("joined with a colon");
            Ok((a.to_string(), record.to_string(), role.to_string()))
        }
        _ => Err(marque_identity::IdentityError::BadMentionKey(s.to_string()).into()),
    }
}

async fn print_sql(lake_root: &str, sql: &str) -> anyhow::Result<()> {
    let engine = crate::pipeline::open_engine(lake_root).await?;
    let (_, batches) = engine.sql(sql).await?;
    println!("{}", arrow::util::pretty::pretty_format_batches(&batches)?);
    Ok(())
}

pub async fn run(lake_root: &str, args: &IdentityArgs) -> anyhow::Result<()> {
    let lake = Lake::open(lake_root)?;
    let add = |kind, left, right, reason: &str| Override {
        kind,
        left,
        right,
        reason: reason.to_string(),
    };
    match &args.command {
        IdentityCommand::Model => {
            print_sql(
                lake_root,
                "SELECT comparison, level, round(m, 6) AS m, u, round(weight, 3) AS weight FROM identity_model",
            )
            .await
        }
        IdentityCommand::Hubs => {
            print_sql(
                lake_root,
                "SELECT kind, value, distinct_names FROM identity_hubs ORDER BY distinct_names DESC, value",
            )
            .await
        }
        IdentityCommand::Explain { customer_id } => {
            let e = marque_identity::explain::explain(&lake, customer_id).await?;
            println!("customer {}", e.customer_id);
            println!("mentions:\n{}", arrow::util::pretty::pretty_format_batches(&e.mentions)?);
            println!("links (weight = log2 odds; evidence per comparison):\n{}", arrow::util::pretty::pretty_format_batches(&e.edges)?);
            if e.history.iter().any(|b| b.num_rows() > 0) {
                println!("id history:\n{}", arrow::util::pretty::pretty_format_batches(&e.history)?);
            }
            Ok(())
        }
        IdentityCommand::Merge { customer_a, customer_b, reason } => {
            let (a, b) = (overrides::mention_of(&lake, customer_a).await?, overrides::mention_of(&lake, customer_b).await?);
            overrides::add(&lake, &add(OverrideKind::Merge, a, Some(b), reason)).await?;
            println!("recorded: {customer_a} and {customer_b} are one customer from the next `marque resolve`");
            Ok(())
        }
        IdentityCommand::NeverLink { customer_a, customer_b, reason } => {
            let (a, b) = (overrides::mention_of(&lake, customer_a).await?, overrides::mention_of(&lake, customer_b).await?);
            overrides::add(&lake, &add(OverrideKind::NeverLink, a, Some(b), reason)).await?;
            println!("recorded: {customer_a} and {customer_b} never share a customer from the next `marque resolve`");
            Ok(())
        }
        IdentityCommand::Split { mention, reason } => {
            let key = parse_key(mention)?;
            overrides::add(&lake, &add(OverrideKind::Split, key, None, reason)).await?;
            println!("recorded: {mention} stands alone from the next `marque resolve`");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_keys_split_at_the_first_and_last_colon() {
        let k = parse_key("app:E:1:app_user").unwrap();
        assert_eq!(k, ("app".into(), "E:1".into(), "app_user".into()));
        assert!(parse_key("sales:FP1").is_err());
    }
}

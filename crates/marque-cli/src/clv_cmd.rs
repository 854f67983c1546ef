//! `marque clv`: fit BG/NBD (or Pareto/NBD) + Gamma-Gamma lifetime-value models and score
//! customers (issue 5).

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use marque_clv::datafusion::arrow::array::RecordBatch;
use marque_clv::datafusion::prelude::SessionContext;
use marque_clv::rfm::{Rfm, SummaryBuilder, TimeUnit, parse_date};
use marque_clv::table::{self, FileFormat, TxnColumns};
use marque_clv::{BgNbd, ClvOptions, GammaGamma, ParetoNbd, Score, score_with};
use marque_lake::{Commit, Lake, WriteMode};

/// Service visits in the lake: one row per repair order, attributed to the customer who is its
/// owner in customer_map, valued at labour + parts.
const SERVICE_VISITS_SQL: &str = "\
SELECT m.customer_id AS customer_id, CAST(o.ro_time AS DATE) AS date, o.amount AS amount \
FROM (SELECT record_id, MIN(ro_time) AS ro_time, \
             MAX(COALESCE(labour_amount, 0) + COALESCE(parts_amount, 0)) AS amount \
      FROM raw_service_orders GROUP BY record_id) o \
JOIN customer_map m \
  ON m.source = 'after_sales' AND m.role = 'owner' AND m.record_id = o.record_id";

#[derive(Clone, Copy, ValueEnum)]
pub enum Unit {
    Days,
    Weeks,
}

/// The transaction model: who is still buying, and how often.
#[derive(Clone, Copy, ValueEnum)]
pub enum Model {
    /// BG/NBD: customers may drop out only right after a transaction (fast Newton fit).
    Bgnbd,
    /// Pareto/NBD: customers may drop out at any time (slower fit, finite-difference BFGS).
    ParetoNbd,
}

/// A fitted transaction model.
enum TxFit {
    Bg(marque_clv::Fit<BgNbd>),
    Pareto(marque_clv::Fit<ParetoNbd>),
}

impl TxFit {
    /// Model name (as in clv_models), its parameters, log-likelihood, customers, converged.
    fn summary(&self) -> (&'static str, Vec<(&'static str, f64)>, f64, usize, bool) {
        match self {
            TxFit::Bg(f) => (
                "bgnbd",
                f.params.params().to_vec(),
                f.log_likelihood,
                f.customers,
                f.converged,
            ),
            TxFit::Pareto(f) => (
                "pareto_nbd",
                f.params.params().to_vec(),
                f.log_likelihood,
                f.customers,
                f.converged,
            ),
        }
    }

    fn score(
        &self,
        gg: &GammaGamma,
        rows: &[Rfm],
        opts: &ClvOptions,
    ) -> anyhow::Result<Vec<Score>> {
        Ok(match self {
            TxFit::Bg(f) => score_with(&f.params, gg, rows, opts)?,
            TxFit::Pareto(f) => score_with(&f.params, gg, rows, opts)?,
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OutFormat {
    Csv,
    Parquet,
}

/// Fits BG/NBD or Pareto/NBD (who is still buying, how often) and Gamma-Gamma (how much per
/// transaction) on dated transactions, then scores every customer: frequency, recency, T, monetary value,
/// expected transactions in the horizon, P(alive), expected spend per transaction and
/// discounted CLV. Prints the fitted parameters.
#[derive(Args)]
pub struct ClvArgs {
    /// Transactions file: CSV with a header row, or Parquet (by extension). One row per purchase
    /// or visit; same-day rows of a customer are one transaction.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "from_lake",
        conflicts_with = "from_lake"
    )]
    input: Option<PathBuf>,
    /// Use the lake's service visits instead of a file: repair orders of raw_service_orders,
    /// attributed to their owner through customer_map, valued at labour + parts.
    #[arg(long)]
    from_lake: bool,
    /// Customer id column of the input file.
    #[arg(long, default_value = "customer_id")]
    customer_col: String,
    /// Date column of the input file (date, timestamp, or text YYYY-MM-DD / YYYYMMDD).
    #[arg(long, default_value = "date")]
    date_col: String,
    /// Amount column of the input file (NULL or unparsable amounts count as 0).
    #[arg(long, default_value = "amount")]
    amount_col: String,
    /// Last day of the calibration period (YYYY-MM-DD); later transactions are ignored and
    /// customers whose first one is later are left out. Default: the latest transaction date.
    #[arg(long, value_name = "DATE")]
    calibration_end: Option<String>,
    /// Transaction model: bgnbd (BG/NBD) or pareto-nbd (Pareto/NBD).
    #[arg(long, value_enum, default_value = "bgnbd")]
    model: Model,
    /// Unit of recency, T, the horizon and the discounting period.
    #[arg(long, value_enum, default_value = "weeks")]
    time_unit: Unit,
    /// Prediction horizon, in time units.
    #[arg(long, default_value_t = 52.0)]
    horizon: f64,
    /// Length of one discounting period, in time units (e.g. 4.345 weeks for monthly).
    #[arg(long, default_value_t = 1.0)]
    period: f64,
    /// Discount rate per period.
    #[arg(long, default_value_t = 0.0)]
    discount_rate: f64,
    /// Share of spend that is margin; CLV = discounted expected spend × margin.
    #[arg(long, default_value_t = 1.0)]
    margin: f64,
    /// Write the per-customer rows to FILE (else the top 10 by CLV are printed).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format; default from the --output extension (.parquet → parquet, else csv).
    #[arg(long, value_enum)]
    format: Option<OutFormat>,
    /// With --from-lake: also overwrite the lake tables customer_clv (the per-customer rows)
    /// and clv_models (model, parameter, value, fitted_at).
    #[arg(long, requires = "from_lake")]
    write_table: bool,
}

pub async fn run(lake_root: &str, args: &ClvArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let unit = match args.time_unit {
        Unit::Days => TimeUnit::Days,
        Unit::Weeks => TimeUnit::Weeks,
    };
    let opts = ClvOptions {
        horizon: args.horizon,
        period: args.period,
        discount_rate: args.discount_rate,
        margin: args.margin,
    };
    opts.validate()?;
    let calibration_end = match &args.calibration_end {
        Some(s) => {
            Some(parse_date(s).with_context(|| format!("--calibration-end `{s}` is not a date"))?)
        }
        None => None,
    };

    let (batches, cols, source) = if args.from_lake {
        let cols = TxnColumns {
            customer: "customer_id".into(),
            date: "date".into(),
            amount: "amount".into(),
        };
        (
            service_visits(lake_root).await?,
            cols,
            format!("service visits in {lake_root}"),
        )
    } else {
        let Some(path) = &args.input else {
            bail!("give --input FILE or --from-lake");
        };
        let batches = table::read_file(path, FileFormat::from_path(path)).await?;
        let cols = TxnColumns {
            customer: args.customer_col.clone(),
            date: args.date_col.clone(),
            amount: args.amount_col.clone(),
        };
        (batches, cols, path.display().to_string())
    };
    let txns = table::transactions(&batches, &cols)?;
    let Some(last) = txns.rows.iter().map(|t| t.1).max() else {
        bail!("{source}: no transactions with a customer and a date");
    };
    let end = calibration_end.unwrap_or(last);
    let mut builder = SummaryBuilder::new(end, unit);
    for (c, d, a) in &txns.rows {
        builder.add(c, *d, *a);
    }
    let customers = builder.finish();
    if customers.is_empty() {
        bail!("{source}: no customer's first transaction is on or before {end}");
    }
    let ids: Vec<String> = customers.iter().map(|c| c.customer_id.clone()).collect();
    let rows: Vec<Rfm> = customers.iter().map(|c| c.rfm).collect();

    let tx = match args.model {
        Model::Bgnbd => TxFit::Bg(BgNbd::fit(&rows).context("fitting BG/NBD")?),
        Model::ParetoNbd => TxFit::Pareto(ParetoNbd::fit(&rows).context("fitting Pareto/NBD")?),
    };
    let spend: Vec<(u32, f64)> = rows
        .iter()
        .map(|r| (r.frequency, r.monetary_value))
        .collect();
    let gg = GammaGamma::fit(&spend).context("fitting Gamma-Gamma")?;
    let scores = tx.score(&gg.params, &rows, &opts)?;
    let batch = table::scores_batch(&ids, &rows, &scores)?;

    println!(
        "{} transactions ({} skipped) from {source}; calibration end {end}, {} customers ({} with \
         repeat transactions), time unit {}",
        txns.rows.len(),
        txns.skipped,
        rows.len(),
        rows.iter().filter(|r| r.frequency > 0).count(),
        unit.as_str()
    );
    let (name, params, ll, _, converged) = tx.summary();
    let shown: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k} = {v:.4}"))
        .collect();
    println!(
        "{:<12} {}  log-likelihood {ll:.2}{}",
        if name == "bgnbd" {
            "BG/NBD"
        } else {
            "Pareto/NBD"
        },
        shown.join("  "),
        if converged { "" } else { "  (not converged)" }
    );
    let g = gg.params;
    println!(
        "Gamma-Gamma  p = {:.4}  q = {:.4}  gamma = {:.4}  ({} repeat customers){}",
        g.p,
        g.q,
        g.gamma,
        gg.customers,
        if gg.converged {
            ""
        } else {
            "  (not converged)"
        }
    );
    let total_clv: f64 = scores.iter().map(|s| s.clv).sum();
    println!(
        "horizon {} {}, period {}, discount rate {}, margin {}: total CLV {total_clv:.2}",
        args.horizon,
        unit.as_str(),
        args.period,
        args.discount_rate,
        args.margin
    );

    if let Some(out) = &args.output {
        let format = match args.format {
            Some(OutFormat::Csv) => FileFormat::Csv,
            Some(OutFormat::Parquet) => FileFormat::Parquet,
            None => FileFormat::from_path(out),
        };
        table::write_file(out, format, &batch)?;
        println!("wrote {} customers to {}", rows.len(), out.display());
    } else {
        print_top(&ids, &rows, &scores);
    }

    if args.write_table {
        write_tables(lake_root, batch, &tx, &gg, &opts).await?;
        println!(
            "wrote lake tables customer_clv ({} rows) and clv_models",
            rows.len()
        );
    }
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "clv done");
    Ok(())
}

async fn service_visits(lake_root: &str) -> anyhow::Result<Vec<RecordBatch>> {
    let lake = Lake::open(lake_root)?;
    let ctx = SessionContext::new();
    for name in ["raw_service_orders", "customer_map"] {
        let provider = lake.provider(&ctx, name).await?.with_context(|| {
            format!("the lake at {lake_root} has no `{name}` table (run ingest and resolve first)")
        })?;
        ctx.register_table(name, provider)
            .with_context(|| format!("registering {name}"))?;
    }
    let frame = ctx
        .sql(SERVICE_VISITS_SQL)
        .await
        .context("planning the service-visit query")?;
    frame
        .collect()
        .await
        .context("reading service visits from the lake")
}

async fn write_tables(
    lake_root: &str,
    batch: RecordBatch,
    tx: &TxFit,
    gg: &marque_clv::Fit<GammaGamma>,
    opts: &ClvOptions,
) -> anyhow::Result<()> {
    let lake = Lake::open(lake_root)?;
    let mut params: Vec<(String, String, f64)> = Vec::new();
    let (name, fitted, ll, customers, _) = tx.summary();
    for (k, v) in fitted {
        params.push((name.into(), k.into(), v));
    }
    params.push((name.into(), "log_likelihood".into(), ll));
    params.push((name.into(), "customers".into(), customers as f64));
    for (k, v) in gg.params.params() {
        params.push(("gamma_gamma".into(), k.into(), v));
    }
    params.push((
        "gamma_gamma".into(),
        "log_likelihood".into(),
        gg.log_likelihood,
    ));
    params.push((
        "gamma_gamma".into(),
        "customers".into(),
        gg.customers as f64,
    ));
    for (k, v) in [
        ("horizon", opts.horizon),
        ("period", opts.period),
        ("discount_rate", opts.discount_rate),
        ("margin", opts.margin),
    ] {
        params.push(("clv".into(), k.into(), v));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default();
    let models = table::models_batch(&params, now)?;
    let commit = || Commit::default().with("operation", "marque clv");
    lake.write(
        "customer_clv",
        table::scores_schema(),
        vec![batch],
        WriteMode::Overwrite,
        commit(),
    )
    .await
    .context("writing customer_clv")?;
    lake.write(
        "clv_models",
        table::models_schema(),
        vec![models],
        WriteMode::Overwrite,
        commit(),
    )
    .await
    .context("writing clv_models")?;
    Ok(())
}

fn print_top(ids: &[String], rows: &[Rfm], scores: &[Score]) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| scores[b].clv.total_cmp(&scores[a].clv));
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary",
        "expected",
        "p_alive",
        "spend",
        "clv"
    );
    for &i in order.iter().take(10) {
        let (r, s) = (&rows[i], &scores[i]);
        println!(
            "{:<20} {:>9} {:>9.2} {:>9.2} {:>10.2} {:>10.3} {:>10.3e} {:>10.2} {:>12.2}",
            ids[i],
            r.frequency,
            r.recency,
            r.t,
            r.monetary_value,
            s.expected_transactions,
            s.p_alive,
            s.expected_spend,
            s.clv
        );
    }
}

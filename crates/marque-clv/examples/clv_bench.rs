//! Benchmark driver for benches/clv: simulate customers from BG/NBD + Gamma-Gamma to a summary
//! CSV, or fit both models on such a CSV and score every customer, printing timings.
//!
//!   clv_bench simulate N SEED OUT.csv
//!   clv_bench fit-score IN.csv [OUT.csv] [HORIZON PERIOD DISCOUNT]
//!
//! Built without DataFusion: `cargo build --release -p marque-clv --no-default-features
//! --example clv_bench`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use marque_clv::rfm::{Rfm, TimeUnit, read_summary_csv, write_summary_csv};
use marque_clv::sim::simulate;
use marque_clv::{BgNbd, ClvOptions, GammaGamma, score};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("simulate") if args.len() == 4 => run_simulate(&args[1], &args[2], &args[3]),
        Some("fit-score") if args.len() >= 2 => run_fit_score(&args[1..]),
        _ => Err(
            "usage: clv_bench simulate N SEED OUT.csv | fit-score IN.csv [OUT.csv] \
                  [HORIZON PERIOD DISCOUNT]"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_simulate(n: &str, seed: &str, out: &str) -> Result<(), String> {
    let n: usize = n.parse().map_err(|e| format!("N `{n}`: {e}"))?;
    let seed: u64 = seed.parse().map_err(|e| format!("SEED `{seed}`: {e}"))?;
    let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426).map_err(|e| e.to_string())?;
    let gg = GammaGamma::new(6.25, 3.74, 15.44).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let rows = simulate(n, seed, &bg, &gg, 365, TimeUnit::Weeks);
    let named: Vec<(String, Rfm)> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| (format!("c{i}"), r))
        .collect();
    let file = File::create(out).map_err(|e| format!("{out}: {e}"))?;
    write_summary_csv(BufWriter::new(file), &named).map_err(|e| e.to_string())?;
    let repeaters = named.iter().filter(|r| r.1.frequency > 0).count();
    println!(
        "simulated {n} customers ({repeaters} with repeat purchases) from BG/NBD {bg:?} and \
         Gamma-Gamma {gg:?}, seed {seed}, in {:.2} s -> {out}",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_fit_score(args: &[String]) -> Result<(), String> {
    let input = &args[0];
    let num = |i: usize, default: f64| -> Result<f64, String> {
        args.get(i).map_or(Ok(default), |v| {
            v.parse().map_err(|e| format!("`{v}`: {e}"))
        })
    };
    let opts = ClvOptions {
        horizon: num(2, 12.0 * 4.345)?,
        period: num(3, 4.345)?,
        discount_rate: num(4, 0.01)?,
        margin: 1.0,
    };
    let t0 = Instant::now();
    let file = File::open(input).map_err(|e| format!("{input}: {e}"))?;
    let named = read_summary_csv(BufReader::new(file)).map_err(|e| e.to_string())?;
    let (ids, rows): (Vec<String>, Vec<Rfm>) = named.into_iter().unzip();
    let t_read = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let bg = BgNbd::fit(&rows).map_err(|e| e.to_string())?;
    let t_bg = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let spend: Vec<(u32, f64)> = rows
        .iter()
        .map(|r| (r.frequency, r.monetary_value))
        .collect();
    let gg = GammaGamma::fit(&spend).map_err(|e| e.to_string())?;
    let t_gg = t2.elapsed().as_secs_f64();
    let t3 = Instant::now();
    let scores = score(&bg.params, &gg.params, &rows, &opts).map_err(|e| e.to_string())?;
    let t_score = t3.elapsed().as_secs_f64();

    let t4 = Instant::now();
    if let Some(out) = args.get(1) {
        let file = File::create(out).map_err(|e| format!("{out}: {e}"))?;
        let mut w = BufWriter::new(file);
        let err = |e: std::io::Error| format!("{out}: {e}");
        writeln!(
            w,
            "customer_id,expected_transactions,p_alive,expected_spend,clv"
        )
        .map_err(err)?;
        for (id, s) in ids.iter().zip(&scores) {
            writeln!(
                w,
                "{id},{},{},{},{}",
                s.expected_transactions, s.p_alive, s.expected_spend, s.clv
            )
            .map_err(err)?;
        }
        w.flush().map_err(err)?;
    }
    let t_write = t4.elapsed().as_secs_f64();

    let p = bg.params;
    let g = gg.params;
    println!(
        "rust customers={} distinct_rows={}",
        rows.len(),
        bg.distinct_rows
    );
    println!(
        "rust bgnbd r={:.4} alpha={:.4} a={:.4} b={:.4} ll={:.2} evals={} converged={}",
        p.r, p.alpha, p.a, p.b, bg.log_likelihood, bg.evaluations, bg.converged
    );
    println!(
        "rust gamma_gamma p={:.4} q={:.4} gamma={:.4} evals={} converged={}",
        g.p, g.q, g.gamma, gg.evaluations, gg.converged
    );
    let sum = |f: fn(&marque_clv::Score) -> f64| scores.iter().map(f).sum::<f64>();
    println!(
        "rust totals expected_transactions={:.2} mean_p_alive={:.6} clv={:.2}",
        sum(|s| s.expected_transactions),
        sum(|s| s.p_alive) / scores.len() as f64,
        sum(|s| s.clv)
    );
    println!(
        "rust seconds read={t_read:.3} fit_bgnbd={t_bg:.3} fit_gg={t_gg:.3} score={t_score:.3} \
         fit_and_score={:.3} write={t_write:.3}",
        t_bg + t_gg + t_score
    );
    Ok(())
}

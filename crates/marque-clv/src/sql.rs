//! SQL exposure: the models as DataFusion scalar functions over Float64 columns.
//!
//! | function | returns |
//! |---|---|
//! | `bgnbd_expected(r, alpha, a, b, x, t_x, t_cal, horizon)` | expected transactions in the horizon |
//! | `bgnbd_p_alive(r, alpha, a, b, x, t_x, t_cal)` | P(alive) |
//! | `pnbd_expected(r, alpha, s, beta, x, t_x, t_cal, horizon)` | Pareto/NBD expected transactions in the horizon |
//! | `pnbd_p_alive(r, alpha, s, beta, x, t_x, t_cal)` | Pareto/NBD P(alive) |
//! | `gg_expected_spend(p, q, gamma, x, m)` | expected value of one future transaction |
//! | `clv_discounted(r, alpha, a, b, p, q, gamma, x, t_x, t_cal, m, horizon, period, discount_rate, margin)` | discounted CLV |
//!
//! Every argument is Float64 (integers are coerced). A row with a NULL argument, parameters
//! outside the model's domain or an inconsistent summary (x not a non-negative whole number,
//! t_x > T) gives NULL, never an error or NaN.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

use crate::bgnbd::BgNbd;
use crate::clv::{ClvOptions, score};
use crate::gamma_gamma::GammaGamma;
use crate::pareto_nbd::ParetoNbd;
use crate::rfm::Rfm;

/// Registers every CLV function on `ctx`.
pub fn register_udfs(ctx: &SessionContext) {
    for udf in udfs() {
        ctx.register_udf(udf);
    }
}

/// The CLV functions, for callers that build their own registry.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        udf("bgnbd_expected", 8, |v| {
            let m = BgNbd::new(v[0], v[1], v[2], v[3]).ok()?;
            let r = summary(v[4], v[5], v[6])?;
            let h = v[7];
            (h.is_finite() && h >= 0.0)
                .then(|| m.expected_transactions(h, r.frequency, r.recency, r.t))
        }),
        udf("bgnbd_p_alive", 7, |v| {
            let m = BgNbd::new(v[0], v[1], v[2], v[3]).ok()?;
            let r = summary(v[4], v[5], v[6])?;
            Some(m.p_alive(r.frequency, r.recency, r.t))
        }),
        udf("pnbd_expected", 8, |v| {
            let m = ParetoNbd::new(v[0], v[1], v[2], v[3]).ok()?;
            let r = summary(v[4], v[5], v[6])?;
            let h = v[7];
            (h.is_finite() && h >= 0.0)
                .then(|| m.expected_transactions(h, r.frequency, r.recency, r.t))
        }),
        udf("pnbd_p_alive", 7, |v| {
            let m = ParetoNbd::new(v[0], v[1], v[2], v[3]).ok()?;
            let r = summary(v[4], v[5], v[6])?;
            Some(m.p_alive(r.frequency, r.recency, r.t))
        }),
        udf("gg_expected_spend", 5, |v| {
            let m = GammaGamma::new(v[0], v[1], v[2]).ok()?;
            let x = count(v[3])?;
            (v[4].is_finite() && v[4] >= 0.0).then(|| m.expected_spend(x, v[4]))
        }),
        udf("clv_discounted", 15, |v| {
            let bg = BgNbd::new(v[0], v[1], v[2], v[3]).ok()?;
            let gg = GammaGamma::new(v[4], v[5], v[6]).ok()?;
            let mut r = summary(v[7], v[8], v[9])?;
            r.monetary_value = v[10];
            let opts = ClvOptions {
                horizon: v[11],
                period: v[12],
                discount_rate: v[13],
                margin: v[14],
            };
            score(&bg, &gg, &[r], &opts).ok()?.first().map(|s| s.clv)
        }),
    ]
}

fn count(x: f64) -> Option<u32> {
    (x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x <= f64::from(u32::MAX)).then_some(x as u32)
}

fn summary(x: f64, t_x: f64, t: f64) -> Option<Rfm> {
    let r = Rfm {
        frequency: count(x)?,
        recency: t_x,
        t,
        monetary_value: 0.0,
    };
    r.validate().ok().map(|_| r)
}

/// A Float64 scalar UDF of `arity` arguments computing `f` row by row; NULL in → NULL out,
/// `None` from `f` → NULL.
fn udf(name: &str, arity: usize, f: fn(&[f64]) -> Option<f64>) -> ScalarUDF {
    let fun = Arc::new(move |args: &[ColumnarValue]| -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let cols: Vec<Float64Array> = arrays
            .iter()
            .map(|a| -> DfResult<Float64Array> {
                let c = cast(a, &DataType::Float64)?;
                Ok(c.as_any()
                    .downcast_ref::<Float64Array>()
                    .cloned()
                    .unwrap_or_else(|| Float64Array::new_null(c.len())))
            })
            .collect::<DfResult<_>>()?;
        let rows = cols.first().map_or(0, |c| c.len());
        let mut vals = vec![0.0; cols.len()];
        let out: Float64Array = (0..rows)
            .map(|i| {
                for (v, c) in vals.iter_mut().zip(&cols) {
                    if c.is_null(i) {
                        return None;
                    }
                    *v = c.value(i);
                }
                f(&vals).filter(|v| !v.is_nan())
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    });
    create_udf(
        name,
        vec![DataType::Float64; arity],
        DataType::Float64,
        Volatility::Immutable,
        fun,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::RecordBatch;

    async fn column(sql: &str) -> Vec<Option<f64>> {
        let ctx = SessionContext::new();
        register_udfs(&ctx);
        let batches: Vec<RecordBatch> = ctx
            .sql(sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        batches
            .iter()
            .flat_map(|b| {
                let c = b
                    .column(0)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .expect("f64")
                    .clone();
                (0..c.len())
                    .map(move |i| (!c.is_null(i)).then(|| c.value(i)))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[tokio::test]
    async fn bgnbd_expected_in_sql_gives_the_papers_worked_example() {
        let v =
            column("SELECT bgnbd_expected(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86, 39)").await;
        let e = v[0].expect("value");
        assert!((e - 1.226).abs() < 5e-4, "{e}");
    }

    #[tokio::test]
    async fn udfs_work_on_columns_and_return_null_for_null_or_invalid_rows() {
        let sql = "SELECT bgnbd_p_alive(0.243, 4.414, 0.793, 2.426, x, t_x, t) FROM (VALUES \
                   (0.0, 0.0, 10.0), (10.0, 1.0, 79.0), (NULL, 1.0, 2.0), (2.0, 5.0, 3.0), \
                   (1.5, 1.0, 2.0)) AS s(x, t_x, t)";
        let v = column(sql).await;
        assert_eq!(v.len(), 5);
        assert_eq!(v[0], Some(1.0));
        let tiny = v[1].expect("finite");
        assert!(tiny > 1e-12 && tiny < 1e-10, "{tiny}");
        assert_eq!(&v[2..], &[None, None, None]);
        let spend = column(
            "SELECT gg_expected_spend(6.25, 3.74, 15.44, x, m) FROM (VALUES (0, 0.0), (2, 22.35), \
             (1, NULL)) AS s(x, m)",
        )
        .await;
        assert!((spend[0].expect("mean") - 6.25 * 15.44 / 2.74).abs() < 1e-9);
        let expected = GammaGamma::new(6.25, 3.74, 15.44)
            .expect("gg")
            .expected_spend(2, 22.35);
        assert!((spend[1].expect("value") - expected).abs() < 1e-9);
        assert_eq!(spend[2], None);
        let bad = column("SELECT gg_expected_spend(6.25, 0.5, 15.44, 1, 10)").await;
        assert_eq!(bad, vec![None]);
    }

    #[tokio::test]
    async fn pareto_nbd_functions_match_lifetimes() {
        // lifetimes 0.11.3 ParetoNBDFitter on CDNOW: 1.4551 expected, P(alive) 0.8691.
        let v = column(
            "SELECT pnbd_expected(0.55328178, 10.57765531, 0.60617647, 11.66676565, 2, 30.43, \
             38.86, 39), pnbd_p_alive(0.55328178, 10.57765531, 0.60617647, 11.66676565, 2, \
             30.43, 38.86)",
        )
        .await;
        let e = v[0].expect("value");
        assert!((e - 1.455133573293042).abs() < 1e-6, "{e}");
        let p = column(
            "SELECT pnbd_p_alive(0.55328178, 10.57765531, 0.60617647, 11.66676565, 2, 30.43, \
             38.86)",
        )
        .await[0]
            .expect("value");
        assert!((p - 0.8691230344082799).abs() < 1e-6, "{p}");
        let bad = column("SELECT pnbd_p_alive(0.5, 10, -1, 11, 2, 30, 38)").await;
        assert_eq!(bad, vec![None]);
    }

    #[tokio::test]
    async fn clv_discounted_matches_the_library() {
        let v = column(
            "SELECT clv_discounted(0.243, 4.414, 0.793, 2.426, 6.25, 3.74, 15.44, 2, 30.43, \
             38.86, 22.35, 52, 4.345, 0.01, 0.3)",
        )
        .await;
        let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426).expect("bg");
        let gg = GammaGamma::new(6.25, 3.74, 15.44).expect("gg");
        let row = Rfm {
            frequency: 2,
            recency: 30.43,
            t: 38.86,
            monetary_value: 22.35,
        };
        let opts = ClvOptions {
            horizon: 52.0,
            period: 4.345,
            discount_rate: 0.01,
            margin: 0.3,
        };
        let want = score(&bg, &gg, &[row], &opts).expect("score")[0].clv;
        assert!((v[0].expect("value") - want).abs() < 1e-9 && want > 0.0);
    }
}

//! RFM summaries: from dated transactions to each customer's (frequency, recency, T, monetary
//! value) over a calibration period, and the summary CSV format.

use std::collections::HashMap;
use std::io::{Read, Write};

use chrono::NaiveDate;

use crate::{ClvError, Result};

/// The unit in which recency, T and horizons are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Days,
    Weeks,
}

impl TimeUnit {
    /// Days in one unit.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "days" | "day" | "d" => Ok(TimeUnit::Days),
            "weeks" | "week" | "w" => Ok(TimeUnit::Weeks),
            other => Err(ClvError::Input(format!(
                "time unit `{other}` is not one of days, weeks"
            ))),
        }
    }
}

/// One customer's calibration-period summary, in the notation of Fader, Hardie & Lee.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rfm {
    /// x: repeat transactions (distinct purchase days after the first).
    pub frequency: u32,
    /// t_x: time from the first to the last purchase.
    pub recency: f64,
    /// T: time from the first purchase to the end of calibration.
    pub t: f64,
    /// Mean value of the repeat transactions (the first purchase excluded); 0 when x = 0.
    pub monetary_value: f64,
}

impl Rfm {
    /// Checks the invariants every model relies on: 0 ≤ t_x ≤ T, t_x = 0 when x = 0, finite
    /// non-negative money.
    pub fn validate(&self) -> Result<()> {
        let ok = self.recency >= 0.0
            && self.t.is_finite()
            && self.recency <= self.t + 1e-9
            && (self.frequency > 0 || self.recency == 0.0)
            && self.monetary_value.is_finite()
            && self.monetary_value >= 0.0;
        if ok {
            Ok(())
        } else {
            Err(ClvError::Input(format!(
                "inconsistent summary: frequency {}, recency {}, T {}, monetary value {}",
                self.frequency, self.recency, self.t, self.monetary_value
            )))
        }
    }
}

/// A customer's summary with its id and what happened after the calibration end.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRfm {
    pub customer_id: String,
    pub rfm: Rfm,
    pub first_purchase: NaiveDate,
    /// Purchase days after the calibration end (a holdout count for validation).
    pub holdout_frequency: u32,
}

/// Accumulates dated transactions and turns them into per-customer summaries. Purchases on the
/// same day are one transaction (amounts summed), as in the CDNOW papers.
#[derive(Debug)]
pub struct SummaryBuilder {
    calibration_end: NaiveDate,
    unit: TimeUnit,
    by_customer: HashMap<String, Vec<(i32, f64)>>,
}

fn day_number(d: NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce()
}

impl SummaryBuilder {
    pub fn new(calibration_end: NaiveDate, unit: TimeUnit) -> Self {
        Self {
            calibration_end,
            unit,
            by_customer: HashMap::new(),
        }
    }

    /// Adds one transaction. Non-finite amounts count as 0 (the visit still happened).
    pub fn add(&mut self, customer_id: &str, date: NaiveDate, amount: f64) {
        let amount = if amount.is_finite() { amount } else { 0.0 };
        match self.by_customer.get_mut(customer_id) {
            Some(v) => v.push((day_number(date), amount)),
            None => {
                self.by_customer
                    .insert(customer_id.to_string(), vec![(day_number(date), amount)]);
            }
        }
    }

    /// One summary per customer whose first purchase is on or before the calibration end,
    /// sorted by customer id.
    pub fn finish(self) -> Vec<CustomerRfm> {
        let end = day_number(self.calibration_end);
        let unit = self.unit.days();
        let mut out: Vec<CustomerRfm> = self
            .by_customer
            .into_iter()
            .filter_map(|(customer_id, mut txns)| {
                txns.sort_by_key(|t| t.0);
                // Same-day purchases are one transaction.
                let mut days: Vec<(i32, f64)> = Vec::with_capacity(txns.len());
                for (d, a) in txns {
                    match days.last_mut() {
                        Some(last) if last.0 == d => last.1 += a,
                        _ => days.push((d, a)),
                    }
                }
                let first = days.first()?.0;
                if first > end {
                    return None;
                }
                let calibration: Vec<&(i32, f64)> = days.iter().filter(|d| d.0 <= end).collect();
                let holdout_frequency = (days.len() - calibration.len()) as u32;
                let frequency = (calibration.len() - 1) as u32;
                let last = calibration.last().map_or(first, |d| d.0);
                let monetary_value = if frequency > 0 {
                    calibration[1..].iter().map(|d| d.1).sum::<f64>() / frequency as f64
                } else {
                    0.0
                };
                let first_purchase = NaiveDate::from_num_days_from_ce_opt(first)?;
                Some(CustomerRfm {
                    customer_id,
                    rfm: Rfm {
                        frequency,
                        recency: f64::from(last - first) / unit,
                        t: f64::from(end - first) / unit,
                        monetary_value,
                    },
                    first_purchase,
                    holdout_frequency,
                })
            })
            .collect();
        out.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
        out
    }
}

/// Parses a date written as YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD, optionally followed by a time
/// (which is ignored).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.len() >= 10 {
        let head = s.get(..10)?;
        for fmt in ["%Y-%m-%d", "%Y/%m/%d"] {
            if let Ok(d) = NaiveDate::parse_from_str(head, fmt) {
                return Some(d);
            }
        }
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    }
    None
}

/// The columns of a summary CSV, in order.
pub const SUMMARY_HEADER: [&str; 5] =
    ["customer_id", "frequency", "recency", "T", "monetary_value"];

/// Writes summaries as CSV with [`SUMMARY_HEADER`].
pub fn write_summary_csv<W: Write>(out: W, rows: &[(String, Rfm)]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let err = |e: csv::Error| ClvError::Io(format!("writing summary CSV: {e}"));
    w.write_record(SUMMARY_HEADER).map_err(err)?;
    for (id, r) in rows {
        w.write_record([
            id.as_str(),
            &r.frequency.to_string(),
            &format!("{:.6}", r.recency),
            &format!("{:.6}", r.t),
            &format!("{:.2}", r.monetary_value),
        ])
        .map_err(err)?;
    }
    w.flush()
        .map_err(|e| ClvError::Io(format!("writing summary CSV: {e}")))
}

/// Reads a summary CSV whose header names customer_id, frequency, recency, T and
/// monetary_value (in any order; monetary_value may be absent). Errors name the line.
pub fn read_summary_csv<R: Read>(input: R) -> Result<Vec<(String, Rfm)>> {
    let mut r = csv::Reader::from_reader(input);
    let headers = r
        .headers()
        .map_err(|e| ClvError::Input(format!("summary CSV header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let need = |name: &str| {
        col(name).ok_or_else(|| ClvError::Input(format!("summary CSV has no `{name}` column")))
    };
    let (ci, fi, ri, ti) = (
        need("customer_id")?,
        need("frequency")?,
        need("recency")?,
        need("T")?,
    );
    let mi = col("monetary_value");
    let mut out = Vec::new();
    // One reused byte record: no allocation per line but the customer id.
    let mut rec = csv::ByteRecord::new();
    for line in 2.. {
        let more = r
            .read_byte_record(&mut rec)
            .map_err(|e| ClvError::Input(format!("summary CSV line {line}: {e}")))?;
        if !more {
            break;
        }
        let num = |i: usize, what: &str| -> Result<f64> {
            rec.get(i)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .ok_or_else(|| ClvError::Input(format!("summary CSV line {line}: bad {what}")))
        };
        let frequency = num(fi, "frequency")?;
        if frequency < 0.0 || frequency.fract() != 0.0 || frequency > f64::from(u32::MAX) {
            return Err(ClvError::Input(format!(
                "summary CSV line {line}: frequency {frequency} is not a count"
            )));
        }
        let rfm = Rfm {
            frequency: frequency as u32,
            recency: num(ri, "recency")?,
            t: num(ti, "T")?,
            monetary_value: match mi {
                Some(i) => num(i, "monetary_value")?,
                None => 0.0,
            },
        };
        rfm.validate()
            .map_err(|e| ClvError::Input(format!("summary CSV line {line}: {e}")))?;
        let id = rec.get(ci).unwrap_or_default();
        let id = std::str::from_utf8(id).map_err(|_| {
            ClvError::Input(format!("summary CSV line {line}: customer_id is not UTF-8"))
        })?;
        out.push((id.to_string(), rfm));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("test date")
    }

    #[test]
    fn same_day_purchases_are_one_transaction_and_first_is_excluded_from_value() {
        let mut b = SummaryBuilder::new(d("1997-09-30"), TimeUnit::Weeks);
        b.add("c1", d("1997-01-01"), 10.0);
        b.add("c1", d("1997-01-08"), 5.0);
        b.add("c1", d("1997-01-08"), 7.0);
        b.add("c1", d("1997-01-15"), 20.0);
        b.add("c1", d("1997-12-01"), 99.0); // holdout
        b.add("c2", d("1997-10-01"), 1.0); // first purchase after calibration: dropped
        let rows = b.finish();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.rfm.frequency, 2);
        assert!((r.rfm.recency - 2.0).abs() < 1e-12);
        assert!((r.rfm.t - 272.0 / 7.0).abs() < 1e-12);
        assert!((r.rfm.monetary_value - 16.0).abs() < 1e-12);
        assert_eq!(r.holdout_frequency, 1);
    }

    #[test]
    fn parse_date_accepts_common_layouts_and_rejects_garbage() {
        assert_eq!(parse_date("19970101"), Some(d("1997-01-01")));
        assert_eq!(parse_date("1997/01/02"), Some(d("1997-01-02")));
        assert_eq!(parse_date("1997-01-03T10:00:00Z"), Some(d("1997-01-03")));
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("1997-02-30"), None);
    }

    #[test]
    fn summary_csv_round_trips_and_rejects_recency_beyond_t() {
        let rows = vec![(
            "a".to_string(),
            Rfm {
                frequency: 3,
                recency: 10.5,
                t: 20.25,
                monetary_value: 12.5,
            },
        )];
        let mut buf = Vec::new();
        write_summary_csv(&mut buf, &rows).expect("write");
        assert_eq!(read_summary_csv(&buf[..]).expect("read"), rows);
        let bad = "customer_id,frequency,recency,T\nx,1,5,4\n";
        let err = read_summary_csv(bad.as_bytes()).expect_err("recency > T");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}

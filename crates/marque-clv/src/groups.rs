//! Sufficient statistics for fitting: identical summaries are folded into one weighted row, and
//! per-frequency terms are computed once per distinct frequency.

use hashbrown::HashMap;

use crate::rfm::Rfm;

/// Weighted distinct (x, t_x, T) rows, with each row's index into the distinct frequencies.
#[derive(Debug, Clone, Default)]
pub struct Grouped {
    pub t_x: Vec<f64>,
    pub t: Vec<f64>,
    pub weight: Vec<f64>,
    /// Index into `frequencies` of each row's x.
    pub x_index: Vec<u32>,
    /// Distinct frequencies, ascending.
    pub frequencies: Vec<u32>,
    /// Distinct T values and each row's index into them (T is usually a whole number of days,
    /// so per-evaluation terms in T are computed once per distinct value).
    pub t_values: Vec<f64>,
    pub t_index: Vec<u32>,
    /// Distinct t_x values and each row's index into them.
    pub tx_values: Vec<f64>,
    pub tx_index: Vec<u32>,
    /// Total weight (number of customers).
    pub total: f64,
}

impl Grouped {
    /// Folds `rows` into distinct (x, t_x, T) triples.
    pub fn from_rfm<'a>(rows: impl IntoIterator<Item = &'a Rfm>) -> Self {
        let mut index: HashMap<(u32, u64, u64), usize> = HashMap::new();
        let mut keys: Vec<(u32, f64, f64)> = Vec::new();
        let mut weight: Vec<f64> = Vec::new();
        for r in rows {
            let key = (r.frequency, r.recency.to_bits(), r.t.to_bits());
            let i = *index.entry(key).or_insert_with(|| {
                keys.push((r.frequency, r.recency, r.t));
                weight.push(0.0);
                keys.len() - 1
            });
            weight[i] += 1.0;
        }
        let mut frequencies: Vec<u32> = keys.iter().map(|k| k.0).collect();
        frequencies.sort_unstable();
        frequencies.dedup();
        let pos: HashMap<u32, u32> = frequencies
            .iter()
            .enumerate()
            .map(|(i, &x)| (x, i as u32))
            .collect();
        let (t_values, t_index) = distinct(keys.iter().map(|k| k.2));
        let (tx_values, tx_index) = distinct(keys.iter().map(|k| k.1));
        Grouped {
            t_values,
            t_index,
            tx_values,
            tx_index,
            x_index: keys.iter().map(|k| pos[&k.0]).collect(),
            t_x: keys.iter().map(|k| k.1).collect(),
            t: keys.iter().map(|k| k.2).collect(),
            total: weight.iter().sum(),
            weight,
            frequencies,
        }
    }

    pub fn len(&self) -> usize {
        self.weight.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weight.is_empty()
    }
}

/// The distinct values of `values` and each value's index into them.
fn distinct(values: impl Iterator<Item = f64>) -> (Vec<f64>, Vec<u32>) {
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let mut out = Vec::new();
    let index = values
        .map(|v| {
            *seen.entry(v.to_bits()).or_insert_with(|| {
                out.push(v);
                (out.len() - 1) as u32
            })
        })
        .collect();
    (out, index)
}

/// Rows per parallel work unit in the likelihood sums.
pub const CHUNK: usize = 8192;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_rows_fold_into_one_weighted_row() {
        let a = Rfm {
            frequency: 2,
            recency: 3.0,
            t: 5.0,
            monetary_value: 1.0,
        };
        let b = Rfm {
            frequency: 0,
            recency: 0.0,
            t: 5.0,
            monetary_value: 0.0,
        };
        let g = Grouped::from_rfm(&[a, b, a, a]);
        assert_eq!(g.len(), 2);
        assert_eq!(g.total, 4.0);
        assert_eq!(g.frequencies, vec![0, 2]);
        let i = g.t_x.iter().position(|&v| v == 3.0).expect("row");
        assert_eq!(g.weight[i], 3.0);
        assert_eq!(g.frequencies[g.x_index[i] as usize], 2);
        assert_eq!(g.t_values, vec![5.0]);
        assert_eq!(g.tx_values[g.tx_index[i] as usize], 3.0);
    }
}

//! Which rows of a load start a mention, which repeat a record already read, and which fold
//! into an earlier mention: the load's two big sets, sharded so both cores work them.
//!
//! At 1M persons the load tests 19 million record fingerprints against the records seen so far
//! and as many evidence fingerprints against the mentions that can take folds (up to one per
//! mention, 10.8 million). Run in row order on the loop's one thread, those lookups (a cache
//! miss each in tables of hundreds of megabytes) were about a sixth of the load's CPU. Here each set is split in [`SHARDS`] by the top bits of
//! the fingerprint; the shards take their rows in row order, side by side. A key lives in one
//! shard, so every decision is the one the row-order loop made.

use rayon::prelude::*;

use crate::hashing::{HashMap, HashSet, words};

/// Shards per set: enough that two cores stay busy on a batch of 8192 rows, few enough that a
/// shard's share of a batch is a hundred rows or more.
const SHARDS: usize = 64;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

/// A fold target that is a row of the current batch (its mention has no index yet).
const IN_BATCH: u32 = 1 << 31;

fn shard(fingerprint: u128) -> usize {
    (fingerprint >> (128 - SHARD_BITS)) as usize
}

/// What the load needs to know of one row to decide its fate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowKeys {
    /// Fingerprint of source, role and record id: a record delivered twice is one mention.
    pub record: u128,
    /// Fingerprint of the evidence: records with equal keyed evidence fold into one mention.
    pub fold: u128,
    /// Whether the evidence carries a key no guard can veto (app account, VIN, resident id).
    pub keyed: bool,
    /// False for records a split or never-link override keeps apart.
    pub foldable: bool,
}

/// What the rows of one batch become.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct BatchFates {
    /// Rows that start a mention, in row order: row `fresh[k]` becomes mention `first + k`.
    pub fresh: Vec<usize>,
    /// (row, mention index): records that fold into a mention, in row order. The mention may
    /// be one of this batch's own `fresh` ones.
    pub folds: Vec<(usize, usize)>,
}

/// The records seen so far and the fold targets among the mentions made so far.
pub(crate) struct RecordFolds {
    seen: Vec<HashSet<ShardKey>>,
    /// Evidence fingerprint → mention index (or, within a batch, `IN_BATCH | row`).
    targets: Vec<HashMap<ShardKey, u32>>,
}

/// The low 96 bits of a fingerprint, as a shard's sets hold it: with the shard's 6 bits, 102
/// bits tell 19 million records or ten million evidence sets apart (a collision once in some
/// 10¹⁶ runs). Three `u32`s align to 4 bytes: a seen record takes 12 bytes and a fold target
/// with its index 16, where a `u128` (16-byte aligned) took 16 and 32, and a `(u64, u32)`
/// key 16 and 24. At 1M persons the two sets held ~1.1 GB at the end of the load.
type ShardKey = [u32; 3];

fn shard_key(fingerprint: u128) -> ShardKey {
    let [a, b, c, _] = words(fingerprint);
    [a, b, c]
}

impl RecordFolds {
    /// Sets sized up front for `records` rows: growing the sets doubles them one shard after
    /// another, and each doubling holds both copies.
    pub fn with_capacity(records: usize) -> Self {
        // A shard's share varies by a few hundred rows around the mean at 1M persons.
        let per_shard = records / SHARDS + records / SHARDS / 64 + 16;
        Self {
            seen: (0..SHARDS)
                .map(|_| HashSet::with_capacity_and_hasher(per_shard, Default::default()))
                .collect(),
            targets: (0..SHARDS).map(|_| HashMap::default()).collect(),
        }
    }
}

impl Default for RecordFolds {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

/// One shard's share of a batch: (row, target) for rows that found a fold target, and the
/// rows that became targets.
type ShardFinds = (Vec<(usize, u32)>, Vec<usize>);

/// Row `r`'s fate while a batch is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// No record id, outside the scope, or a record read before.
    Skip,
    Fresh,
    /// Folds into mention `i` (or, with [`IN_BATCH`], into the batch's row).
    Fold(u32),
}

impl RecordFolds {
    /// Sorts one batch's rows (`None`: no record id or outside the scope). Mentions made so far
    /// number `first`; the batch's fresh ones follow them.
    pub fn sort(&mut self, rows: &[Option<RowKeys>], first: usize) -> BatchFates {
        let mut fate: Vec<Fate> = rows
            .iter()
            .map(|k| if k.is_some() { Fate::Fresh } else { Fate::Skip })
            .collect();
        let by_record = buckets(rows, |k| Some(k.record));
        let repeats: Vec<Vec<usize>> = self
            .seen
            .par_iter_mut()
            .zip(&by_record)
            .map(|(seen, rs)| {
                rs.iter()
                    .copied()
                    .filter(|&r| !seen.insert(shard_key(key(rows, r).record)))
                    .collect()
            })
            .collect();
        for r in repeats.into_iter().flatten() {
            fate[r] = Fate::Skip;
        }
        let by_fold = buckets(rows, |k| k.foldable.then_some(k.fold));
        // Per shard, in row order: the fold target a row finds, and the keyed rows that become
        // targets themselves (first of their evidence).
        let found: Vec<ShardFinds> = self
            .targets
            .par_iter_mut()
            .zip(&by_fold)
            .map(|(targets, rs)| {
                let (mut found, mut leaders) = (Vec::new(), Vec::new());
                for &r in rs.iter().filter(|&&r| fate[r] == Fate::Fresh) {
                    let k = key(rows, r);
                    match targets.get(&shard_key(k.fold)) {
                        Some(&t) => found.push((r, t)),
                        None if k.keyed => {
                            targets.insert(shard_key(k.fold), IN_BATCH | r as u32);
                            leaders.push(r);
                        }
                        None => {}
                    }
                }
                (found, leaders)
            })
            .collect();
        for &(r, t) in found.iter().flat_map(|(f, _)| f) {
            fate[r] = Fate::Fold(t);
        }
        let mut index_of_row = vec![u32::MAX; rows.len()];
        let mut out = BatchFates::default();
        for (r, f) in fate.iter().enumerate() {
            match *f {
                Fate::Skip => {}
                Fate::Fresh => {
                    index_of_row[r] = mention_index(first + out.fresh.len());
                    out.fresh.push(r);
                }
                // A row folds only into an earlier row, whose index is set.
                Fate::Fold(t) if t & IN_BATCH != 0 => out
                    .folds
                    .push((r, index_of_row[(t & !IN_BATCH) as usize] as usize)),
                Fate::Fold(t) => out.folds.push((r, t as usize)),
            }
        }
        // The batch's new targets get their mentions' indices.
        self.targets
            .par_iter_mut()
            .zip(&found)
            .for_each(|(targets, (_, leaders))| {
                for &r in leaders {
                    targets.insert(shard_key(key(rows, r).fold), index_of_row[r]);
                }
            });
        out
    }
}

fn key(rows: &[Option<RowKeys>], r: usize) -> &RowKeys {
    rows[r].as_ref().expect("only rows with keys are bucketed")
}

/// The rows with a fingerprint `of` gives, bucketed by shard, each bucket in row order.
fn buckets(rows: &[Option<RowKeys>], of: impl Fn(&RowKeys) -> Option<u128>) -> Vec<Vec<usize>> {
    let mut b = vec![Vec::new(); SHARDS];
    for (r, k) in rows.iter().enumerate() {
        if let Some(fp) = k.as_ref().and_then(&of) {
            b[shard(fp)].push(r);
        }
    }
    b
}

/// A mention index as the sets hold it. Below 2³¹: a run that large would need hundreds of
/// gigabytes of mentions first.
fn mention_index(i: usize) -> u32 {
    assert!(i < IN_BATCH as usize, "more than 2^31 mentions in one run");
    i as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seen_record_takes_12_bytes_and_a_fold_target_16() {
        assert_eq!(std::mem::size_of::<ShardKey>(), 12);
        assert_eq!(std::mem::size_of::<(ShardKey, u32)>(), 16);
        let f = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
        assert_eq!(shard_key(f), [0x7654_3210, 0xfedc_ba98, 0x89ab_cdef]);
    }

    /// The row-order loop the sharded sets replace.
    fn reference(batches: &[Vec<Option<RowKeys>>]) -> Vec<BatchFates> {
        let mut seen = HashSet::default();
        let mut targets: HashMap<u128, usize> = HashMap::default();
        let mut made = 0;
        batches
            .iter()
            .map(|rows| {
                let mut out = BatchFates::default();
                for (r, k) in rows.iter().enumerate() {
                    let Some(k) = k else { continue };
                    if !seen.insert(k.record) {
                        continue;
                    }
                    if let Some(&i) = targets.get(&k.fold).filter(|_| k.foldable) {
                        out.folds.push((r, i));
                        continue;
                    }
                    if k.keyed && k.foldable {
                        targets.insert(k.fold, made + out.fresh.len());
                    }
                    out.fresh.push(r);
                }
                made += out.fresh.len();
                out
            })
            .collect()
    }

    /// A tiny deterministic generator: few distinct records and evidence, so that repeats and
    /// folds are common, within and across batches; fingerprints spread over every shard.
    fn batches(seed: u64) -> Vec<Vec<Option<RowKeys>>> {
        let mut s = seed;
        let mut next = move |n: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) % n
        };
        let spread = |v: u64| u128::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        (0..5)
            .map(|_| {
                (0..300)
                    .map(|_| {
                        (next(10) != 0).then(|| RowKeys {
                            record: spread(next(900)),
                            fold: spread(next(120) + 1_000_000),
                            keyed: next(4) != 0,
                            foldable: next(10) != 0,
                        })
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn sharded_fates_are_the_row_order_loops_fates() {
        for seed in 0..20 {
            let input = batches(seed);
            let want = reference(&input);
            let mut folds = RecordFolds::default();
            let mut made = 0;
            for (rows, want) in input.iter().zip(&want) {
                let got = folds.sort(rows, made);
                assert_eq!(&got, want, "seed {seed}");
                made += got.fresh.len();
            }
            assert!(want.iter().any(|b| !b.folds.is_empty()), "seed {seed}");
        }
    }

    #[test]
    fn a_record_read_twice_in_one_batch_is_one_mention_and_folds_reach_earlier_batches() {
        let k = |record: u128, fold: u128| {
            Some(RowKeys {
                record,
                fold,
                keyed: true,
                foldable: true,
            })
        };
        let mut folds = RecordFolds::default();
        let first = folds.sort(&[k(1, 7), None, k(1, 7), k(2, 7), k(3, 8)], 0);
        assert_eq!(first.fresh, vec![0, 4]);
        assert_eq!(first.folds, vec![(3, 0)]);
        let second = folds.sort(&[k(4, 8), k(2, 7), k(5, 9)], 2);
        assert_eq!(second.fresh, vec![2]);
        assert_eq!(second.folds, vec![(0, 1)]);
    }
}

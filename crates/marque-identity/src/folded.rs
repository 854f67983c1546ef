//! The record ids folded into mentions beyond each mention's key record, spilled to a
//! temporary file while the run holds its mentions.
//!
//! At 1M persons 19.2M records make 10.8M mentions: a customer's identical repair orders and
//! an app account's events fold into one. Each mention keeps its smallest record id (its key,
//! which names it everywhere); the other 8.4M ids are read only to write `customer_map`, to
//! count votes for previous customer ids and to find the records overrides name. Held in
//! memory as boxed lists of strings they took ~280 MB of the run's floor; written here as
//! `(mention, id)` pairs they take none.
//!
//! They are read back in mention order, so that `customer_map` is written mention by mention
//! (a key row, then the rows folded into it) and the votes walk the mentions' clusters. The
//! file is bucketed by mention ([`BUCKET_MENTIONS`] a bucket, each gathering [`SEGMENT`] bytes
//! before they are written), and a bucket is sorted when it is read: an external sort whose
//! runs fit in a few MB. (It was meant to save the output phase the cache misses of records
//! read in load order; measured at 1M, the phase did not move: it is bound by encoding.)

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use compact_str::CompactString;

use crate::{IdentityError, Result};

/// One folded record: the index of the mention it folded into, and its record id.
pub type FoldedRecord = (u32, CompactString);

/// Mentions whose folded records are read back together: 83 buckets at 1M persons, ~100k
/// records (~3 MB) each.
const BUCKET_MENTIONS: u32 = 1 << 17;

/// Bytes a bucket gathers before they are written: 83 buckets hold 5 MB while the load runs.
const SEGMENT: usize = 64 * 1024;

/// Folded records being written (during the load) or read back (after it).
#[derive(Debug, Default)]
pub struct FoldedRecords {
    /// Created with the first record: most small runs fold nothing.
    file: Option<Spill>,
    len: usize,
}

#[derive(Debug)]
struct Spill {
    /// Deleted when dropped.
    path: tempfile::TempPath,
    file: File,
    /// Where the next segment goes.
    end: u64,
    buckets: Vec<Bucket>,
}

#[derive(Debug, Default)]
struct Bucket {
    /// Encoded records not written yet.
    pending: Vec<u8>,
    /// The bucket's segments in the file: (offset, length).
    segments: Vec<(u64, u32)>,
}

impl Spill {
    /// Writes `bucket`'s pending records as one segment at the end of the file.
    fn write_segment(&mut self, bucket: usize) -> Result<()> {
        let b = &mut self.buckets[bucket];
        if b.pending.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&b.pending)
            .map_err(|e| spill_error(self.path.to_path_buf(), e))?;
        b.segments.push((self.end, b.pending.len() as u32));
        self.end += b.pending.len() as u64;
        b.pending.clear();
        Ok(())
    }
}

impl FoldedRecords {
    /// Adds `id`, folded into mention `mention`.
    pub fn push(&mut self, mention: u32, id: &str) -> Result<()> {
        if self.file.is_none() {
            let (file, path) = tempfile::Builder::new()
                .prefix("marque-folded-")
                .tempfile()
                .map_err(|e| spill_error(std::env::temp_dir(), e))?
                .into_parts();
            self.file = Some(Spill {
                path,
                file,
                end: 0,
                buckets: Vec::new(),
            });
        }
        let spill = self.file.as_mut().expect("created above");
        let bucket = (mention / BUCKET_MENTIONS) as usize;
        if spill.buckets.len() <= bucket {
            spill.buckets.resize_with(bucket + 1, Bucket::default);
        }
        let len = id.len().min(u32::MAX as usize);
        let pending = &mut spill.buckets[bucket].pending;
        if pending.capacity() == 0 {
            pending.reserve_exact(SEGMENT + 64);
        }
        pending.extend_from_slice(&mention.to_le_bytes());
        pending.extend_from_slice(&(len as u32).to_le_bytes());
        pending.extend_from_slice(&id.as_bytes()[..len]);
        if pending.len() >= SEGMENT {
            spill.write_segment(bucket)?;
        }
        self.len += 1;
        Ok(())
    }

    /// How many records were folded.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Ends the writing: the records can be read from now on.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(spill) = &mut self.file {
            for b in 0..spill.buckets.len() {
                spill.write_segment(b)?;
                spill.buckets[b].pending = Vec::new();
            }
            spill
                .file
                .flush()
                .map_err(|e| spill_error(spill.path.to_path_buf(), e))?;
        }
        Ok(())
    }

    /// The folded records a bucket at a time, each sorted by mention (records of one mention
    /// in the order they were added); the buckets in mention order. Each reader has its own
    /// handle, so several may read at once. Call [`FoldedRecords::finish`] first.
    pub fn buckets(&self) -> Result<FoldedBuckets> {
        let (file, path, segments) = match &self.file {
            Some(spill) => (
                Some(
                    File::open(&spill.path)
                        .map_err(|e| spill_error(spill.path.to_path_buf(), e))?,
                ),
                spill.path.to_path_buf(),
                spill.buckets.iter().map(|b| b.segments.clone()).collect(),
            ),
            None => (None, PathBuf::new(), Vec::new()),
        };
        Ok(FoldedBuckets {
            file,
            path,
            segments,
            next: 0,
        })
    }

    /// The folded records in mention order, asked for a mention at a time.
    pub fn by_mention(&self) -> Result<ByMention> {
        Ok(ByMention {
            buckets: self.buckets()?,
            current: FoldedBucket::default(),
            at: 0,
        })
    }

    /// Calls `f` with every folded record, in mention order.
    pub fn for_each(&self, mut f: impl FnMut(u32, &str)) -> Result<()> {
        for bucket in self.buckets()? {
            for (mention, id) in bucket?.iter() {
                f(mention, id);
            }
        }
        Ok(())
    }
}

/// Reads folded records back a bucket at a time (see [`FoldedRecords::buckets`]).
#[derive(Debug)]
pub struct FoldedBuckets {
    file: Option<File>,
    path: PathBuf,
    /// Per bucket, its segments in the file.
    segments: Vec<Vec<(u64, u32)>>,
    next: usize,
}

impl FoldedBuckets {
    fn read(&mut self, bucket: usize) -> std::io::Result<FoldedBucket> {
        let file = self
            .file
            .as_mut()
            .expect("there are buckets only with a file");
        let segments = &self.segments[bucket];
        let mut bytes = vec![0u8; segments.iter().map(|s| s.1 as usize).sum()];
        let mut at = 0;
        for &(offset, len) in segments {
            file.seek(SeekFrom::Start(offset))?;
            file.read_exact(&mut bytes[at..at + len as usize])?;
            at += len as usize;
        }
        // Counted first, so that the bucket is allocated once at its size: the largest
        // buckets hold millions of records.
        let (mut records, mut text) = (0, 0);
        let mut rest = bytes.as_slice();
        while let Some((_, id, tail)) = decode(rest) {
            (records, text) = (records + 1, text + id.len());
            rest = tail;
        }
        let mut out = FoldedBucket {
            ids: String::with_capacity(text),
            entries: Vec::with_capacity(records),
        };
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let (mention, id, tail) = decode(rest).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "truncated record")
            })?;
            // Written from `&str`: valid unless the file was changed under us.
            let id = std::str::from_utf8(id)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            out.push(mention, id);
            rest = tail;
        }
        drop(bytes);
        // By mention, then by place in `ids`: one mention's records stay in the order they
        // were added.
        out.entries.sort_unstable();
        Ok(out)
    }
}

/// One bucket of folded records read back, sorted by mention: the ids' texts end to end and
/// (mention, start, length) per record, 12 bytes a record beside its text, where a list of
/// `(mention, CompactString)` took 32 bytes a record plus a stable sort's buffer: the buckets
/// of app accounts, which fold millions of events, are the largest a run reads.
#[derive(Debug, Default)]
pub struct FoldedBucket {
    ids: String,
    entries: Vec<(u32, u32, u32)>,
}

impl FoldedBucket {
    fn push(&mut self, mention: u32, id: &str) {
        let start = self.ids.len() as u32;
        self.ids.push_str(id);
        self.entries.push((mention, start, id.len() as u32));
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Record `k` (in mention order): its mention and id.
    pub fn get(&self, k: usize) -> (u32, &str) {
        let (mention, start, len) = self.entries[k];
        let (start, len) = (start as usize, len as usize);
        (mention, &self.ids[start..start + len])
    }

    /// The records in mention order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        (0..self.len()).map(|k| self.get(k))
    }
}

/// One encoded record off the front of `bytes`: (mention, id bytes, the rest).
fn decode(bytes: &[u8]) -> Option<(u32, &[u8], &[u8])> {
    let word = |b: &[u8]| -> Option<u32> { Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?)) };
    let mention = word(bytes)?;
    let len = word(bytes.get(4..)?)? as usize;
    let id = bytes.get(8..8 + len)?;
    Some((mention, id, &bytes[8 + len..]))
}

impl Iterator for FoldedBuckets {
    type Item = Result<FoldedBucket>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.segments.len() {
            return None;
        }
        let bucket = self.next;
        self.next += 1;
        match self.read(bucket) {
            Ok(records) => Some(Ok(records)),
            Err(e) => {
                self.next = self.segments.len();
                Some(Err(spill_error(self.path.clone(), e)))
            }
        }
    }
}

/// The folded records in mention order (see [`FoldedRecords::by_mention`]).
#[derive(Debug)]
pub struct ByMention {
    buckets: FoldedBuckets,
    /// The bucket being taken from, and the first record not taken.
    current: FoldedBucket,
    at: usize,
}

impl ByMention {
    /// Appends the records folded into `mention` to `out`, tagged `tag`. Mentions are asked
    /// for in increasing order; the records of a mention skipped over are dropped.
    pub fn take(&mut self, mention: u32, tag: u32, out: &mut Vec<FoldedRecord>) -> Result<()> {
        loop {
            while self.at < self.current.len() && self.current.get(self.at).0 <= mention {
                let (m, id) = self.current.get(self.at);
                if m == mention {
                    out.push((tag, CompactString::from(id)));
                }
                self.at += 1;
            }
            // A record after this mention is left: the mention has all of its records.
            let later_bucket = self.buckets.next as u64 * u64::from(BUCKET_MENTIONS);
            if self.at < self.current.len() || u64::from(mention) < later_bucket {
                return Ok(());
            }
            match self.buckets.next() {
                Some(bucket) => {
                    self.current = bucket?;
                    self.at = 0;
                }
                None => return Ok(()),
            }
        }
    }
}

fn spill_error(path: PathBuf, source: std::io::Error) -> IdentityError {
    IdentityError::Spill { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records across three buckets, added out of mention order, with enough in bucket 0 for
    /// several segments.
    fn rows() -> Vec<(u32, String)> {
        let big = BUCKET_MENTIONS;
        let mut rows: Vec<(u32, String)> = vec![
            (2 * big + 5, "late".into()),
            (7, "b".into()),
            (big, "mid".into()),
            (3, String::new()),
            (7, "a".into()),
            (4, "x".repeat(300)),
            (5, "王-1".into()),
        ];
        // ~4 segments' worth in bucket 0, over mentions 10..=4,009 in reverse.
        rows.extend((0..20_000u32).map(|i| (4_009 - i % 4_000, format!("RO{i:08}"))));
        rows
    }

    fn spilled(rows: &[(u32, String)]) -> FoldedRecords {
        let mut f = FoldedRecords::default();
        for (m, id) in rows {
            f.push(*m, id).unwrap();
        }
        f.finish().unwrap();
        f
    }

    /// `rows` in mention order, one mention's records in the order they were added.
    fn sorted(rows: &[(u32, String)]) -> Vec<(u32, String)> {
        let mut rows = rows.to_vec();
        rows.sort_by_key(|r| r.0);
        rows
    }

    #[test]
    fn folded_records_read_back_a_bucket_at_a_time_in_mention_order_by_several_readers() {
        let rows = rows();
        let f = spilled(&rows);
        assert_eq!(f.len(), rows.len());
        let spill = f.file.as_ref().unwrap();
        assert!(
            spill.buckets[0].segments.len() > 3,
            "bucket 0 spans segments"
        );
        let mut other = f.buckets().unwrap();
        let buckets: Vec<FoldedBucket> = f.buckets().unwrap().map(|b| b.unwrap()).collect();
        assert_eq!(buckets.len(), 3);
        for (b, records) in buckets.iter().enumerate() {
            let of = |m: u32| (m / BUCKET_MENTIONS) as usize;
            assert!(records.iter().all(|r| of(r.0) == b), "bucket {b}");
        }
        let all: Vec<(u32, String)> = buckets
            .iter()
            .flat_map(|b| b.iter().map(|(m, id)| (m, id.to_string())))
            .collect();
        assert_eq!(all, sorted(&rows));
        assert_eq!(other.next().unwrap().unwrap().len(), rows.len() - 2);
        let mut seen = Vec::new();
        f.for_each(|m, id| seen.push((m, id.to_string()))).unwrap();
        assert_eq!(seen, sorted(&rows));
    }

    #[test]
    fn by_mention_gives_each_mention_its_own_records_and_drops_skipped_ones() {
        let rows = rows();
        let f = spilled(&rows);
        let mut by = f.by_mention().unwrap();
        let mut out = Vec::new();
        // Mention 4 is skipped: its records are passed over, not given to mention 5.
        for m in [0, 3, 5, 7, 4_000, BUCKET_MENTIONS - 1, BUCKET_MENTIONS] {
            by.take(m, m % 10, &mut out).unwrap();
        }
        by.take(2 * BUCKET_MENTIONS + 5, 9, &mut out).unwrap();
        by.take(3 * BUCKET_MENTIONS, 0, &mut out).unwrap();
        let got: Vec<(u32, String)> = out.into_iter().map(|(t, id)| (t, id.into())).collect();
        let expect: Vec<(u32, String)> = [3u32, 5, 7, 4_000, BUCKET_MENTIONS]
            .iter()
            .flat_map(|&m| {
                sorted(&rows)
                    .into_iter()
                    .filter(move |r| r.0 == m)
                    .map(move |(_, id)| (m % 10, id))
            })
            .chain([(9, "late".to_string())])
            .collect();
        assert_eq!(got, expect);
        assert_eq!(
            got[..3],
            [(3, String::new()), (5, "王-1".into()), (7, "b".into())]
        );
        assert_eq!(
            got[3],
            (7, "a".into()),
            "one mention's records keep their order"
        );
    }

    #[test]
    fn a_truncated_record_is_not_decoded() {
        let mut bytes = 7u32.to_le_bytes().to_vec();
        bytes.extend(3u32.to_le_bytes());
        bytes.extend(b"ab");
        assert!(decode(&bytes).is_none());
        bytes.extend(b"c!");
        assert_eq!(decode(&bytes), Some((7, &b"abc"[..], &b"!"[..])));
        assert!(decode(&bytes[..3]).is_none());
    }

    #[test]
    fn nothing_folded_makes_no_file_and_reads_back_nothing() {
        let mut f = FoldedRecords::default();
        f.finish().unwrap();
        assert!(f.file.is_none());
        assert_eq!(f.buckets().unwrap().count(), 0);
        let mut out = Vec::new();
        f.by_mention().unwrap().take(3, 0, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn the_spill_file_is_removed_with_the_records() {
        let mut f = FoldedRecords::default();
        f.push(1, "a").unwrap();
        f.finish().unwrap();
        let path = f.file.as_ref().unwrap().path.to_path_buf();
        assert!(path.exists());
        drop(f);
        assert!(!path.exists());
    }
}

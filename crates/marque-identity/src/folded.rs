//! The record ids folded into mentions beyond each mention's key record, spilled to a
//! temporary file while the run holds its mentions.
//!
//! At 1M persons 19.2M records make 10.8M mentions: a customer's identical repair orders and
//! an app account's events fold into one. Each mention keeps its smallest record id (its key,
//! which names it everywhere); the other 8.4M ids are read only to write `customer_map`, to
//! count votes for previous customer ids and to find the records overrides name. Held in
//! memory as boxed lists of strings they took ~280 MB of the run's floor; written here as
//! `(mention, id)` pairs they take none, and are read back in order, a chunk at a time.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use compact_str::CompactString;

use crate::{IdentityError, Result};

/// One folded record: the index of the mention it folded into, and its record id.
pub type FoldedRecord = (u32, CompactString);

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
    out: BufWriter<File>,
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
                out: BufWriter::with_capacity(1 << 16, file),
            });
        }
        let spill = self.file.as_mut().expect("created above");
        let len = u32::try_from(id.len()).unwrap_or(u32::MAX) as usize;
        let written = spill
            .out
            .write_all(&mention.to_le_bytes())
            .and_then(|()| spill.out.write_all(&(len as u32).to_le_bytes()))
            .and_then(|()| spill.out.write_all(&id.as_bytes()[..len]));
        written.map_err(|e| spill_error(spill.path.to_path_buf(), e))?;
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
            spill
                .out
                .flush()
                .map_err(|e| spill_error(spill.path.to_path_buf(), e))?;
        }
        Ok(())
    }

    /// The folded records in the order they were added, `size` at a time; each reader has its
    /// own handle, so several may read at once. Call [`FoldedRecords::finish`] first.
    pub fn chunks(&self, size: usize) -> Result<FoldedChunks> {
        let reader = match &self.file {
            Some(spill) => Some(BufReader::with_capacity(
                1 << 16,
                File::open(&spill.path).map_err(|e| spill_error(spill.path.to_path_buf(), e))?,
            )),
            None => None,
        };
        Ok(FoldedChunks {
            reader,
            path: self.file.as_ref().map(|s| s.path.to_path_buf()),
            left: self.len,
            size: size.max(1),
        })
    }

    /// Calls `f` with every folded record, in the order they were added.
    pub fn for_each(&self, mut f: impl FnMut(u32, &str)) -> Result<()> {
        for chunk in self.chunks(64 * 1024)? {
            for (mention, id) in &chunk? {
                f(*mention, id);
            }
        }
        Ok(())
    }
}

/// Reads folded records back a chunk at a time (see [`FoldedRecords::chunks`]).
#[derive(Debug)]
pub struct FoldedChunks {
    reader: Option<BufReader<File>>,
    path: Option<PathBuf>,
    left: usize,
    size: usize,
}

impl Iterator for FoldedChunks {
    type Item = Result<Vec<FoldedRecord>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let reader = self.reader.as_mut()?;
        let n = self.size.min(self.left);
        let mut chunk = Vec::with_capacity(n);
        let mut word = [0u8; 4];
        let mut text = Vec::new();
        for _ in 0..n {
            let read = (|| {
                reader.read_exact(&mut word)?;
                let mention = u32::from_le_bytes(word);
                reader.read_exact(&mut word)?;
                text.resize(u32::from_le_bytes(word) as usize, 0);
                reader.read_exact(&mut text)?;
                // Written from `&str`: valid unless the file was changed under us.
                let id = std::str::from_utf8(&text)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                Ok::<_, std::io::Error>((mention, CompactString::from(id)))
            })();
            match read {
                Ok(record) => chunk.push(record),
                Err(e) => {
                    self.left = 0;
                    let path = self.path.clone().unwrap_or_default();
                    return Some(Err(spill_error(path, e)));
                }
            }
        }
        self.left -= n;
        Some(Ok(chunk))
    }
}

fn spill_error(path: PathBuf, source: std::io::Error) -> IdentityError {
    IdentityError::Spill { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_records_read_back_in_order_in_chunks_and_by_several_readers() {
        let mut f = FoldedRecords::default();
        assert!(f.is_empty());
        let long = "x".repeat(300);
        let rows: Vec<(u32, String)> = (0..10)
            .map(|i| (i * 7, format!("RO{i:05}")))
            .chain([(3, String::new()), (4, long.clone()), (5, "王-1".into())])
            .collect();
        for (m, id) in &rows {
            f.push(*m, id).unwrap();
        }
        f.finish().unwrap();
        assert_eq!(f.len(), 13);
        let chunks: Vec<Vec<FoldedRecord>> = f.chunks(4).unwrap().map(|c| c.unwrap()).collect();
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [4, 4, 4, 1]
        );
        let mut other = f.chunks(100).unwrap();
        let all: Vec<(u32, String)> = chunks
            .into_iter()
            .flatten()
            .map(|(m, id)| (m, id.to_string()))
            .collect();
        assert_eq!(all, rows);
        assert_eq!(other.next().unwrap().unwrap().len(), 13);
        let mut seen = Vec::new();
        f.for_each(|m, id| seen.push((m, id.to_string()))).unwrap();
        assert_eq!(seen, rows);
    }

    #[test]
    fn nothing_folded_makes_no_file_and_reads_back_nothing() {
        let mut f = FoldedRecords::default();
        f.finish().unwrap();
        assert!(f.file.is_none());
        assert_eq!(f.chunks(8).unwrap().count(), 0);
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

//! Buffered output files that remember their path (for error messages) and count their rows.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::GenError;

/// A buffered file being written.
pub struct Out {
    pub path: PathBuf,
    w: BufWriter<File>,
    /// Data rows written (the header is not counted).
    pub rows: u64,
}

impl Out {
    /// Creates the file (and its directory).
    pub fn create(path: PathBuf) -> Result<Out, GenError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| GenError::io(dir, e))?;
        }
        let f = File::create(&path).map_err(|e| GenError::io(&path, e))?;
        Ok(Out {
            w: BufWriter::with_capacity(1 << 20, f),
            path,
            rows: 0,
        })
    }

    /// Writes raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), GenError> {
        self.w.write_all(b).map_err(|e| GenError::io(&self.path, e))
    }

    /// Writes one data row (already terminated) and counts it.
    pub fn row(&mut self, b: &[u8]) -> Result<(), GenError> {
        self.rows += 1;
        self.bytes(b)
    }

    /// Flushes to disk.
    pub fn finish(mut self) -> Result<(PathBuf, u64), GenError> {
        self.w.flush().map_err(|e| GenError::io(&self.path, e))?;
        Ok((self.path, self.rows))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A byte buffer the CSV writer writes into and the owner reads back, one record at a time.
#[derive(Clone, Default)]
pub struct SharedBuf(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl SharedBuf {
    /// Takes the bytes written so far, leaving the buffer empty.
    pub fn take_into(&self, out: &mut Vec<u8>) {
        let mut b = self.0.borrow_mut();
        out.clear();
        out.extend_from_slice(&b);
        b.clear();
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A CSV writer (the csv crate does the quoting) that hands back each record's bytes.
pub struct RecordCsv {
    csv: csv::Writer<SharedBuf>,
    buf: SharedBuf,
    pub line: Vec<u8>,
}

impl RecordCsv {
    pub fn new(terminator: csv::Terminator) -> RecordCsv {
        let buf = SharedBuf::default();
        let csv = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(terminator)
            .from_writer(buf.clone());
        RecordCsv {
            csv,
            buf,
            line: Vec::with_capacity(512),
        }
    }

    /// Quotes one record into `self.line`.
    pub fn record(&mut self, fields: &[&str], path: &Path) -> Result<&[u8], GenError> {
        self.csv
            .write_record(fields)
            .map_err(|e| GenError::csv(path, e))?;
        self.csv.flush().map_err(|e| GenError::io(path, e))?;
        self.buf.take_into(&mut self.line);
        Ok(&self.line)
    }
}

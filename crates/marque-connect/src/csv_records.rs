//! Cutting a chunk of CSV text into records with their exact positions: a line without a quote
//! byte or lone carriage return (nearly every line) is cut at its delimiters with `memchr`; any
//! other record goes through the full CSV parser (`csv_core`, the `csv` crate's own), so quoted
//! delimiters, doubled quotes and line breaks inside quotes read exactly as the `csv` crate
//! reads them, and so do the positions and raw bytes that quarantined rows carry.

use std::borrow::Cow;

use memchr::{memchr, memchr_iter, memchr2};

use crate::decode::Encoding;

/// The records of one chunk, front to back (a lending iterator: see [`Splitter::next_record`]).
pub struct Splitter<'a> {
    data: &'a [u8],
    /// Where the next record (or the line endings before it) starts.
    pos: usize,
    /// Line breaks (`\n`) in `data[..pos]`.
    lines: u64,
    delimiter: u8,
    quote: u8,
    /// Whether every record needs the full parser (a delimiter or quote that is a line ending).
    always_parse: bool,
    core: csv_core::Reader,
    /// Field text of a parsed record (quotes removed) and the end of each field in it.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Per field of the current record: its byte range in the record's text.
    spans: Vec<(usize, usize)>,
}

/// One record of a chunk.
pub struct Record<'r> {
    /// Line breaks in the chunk before the record's first byte.
    pub lines_before: u64,
    /// Offset of the record's first byte in the chunk.
    pub offset: usize,
    /// The record's bytes as the `csv` crate consumes them: up to and including the first byte
    /// of its line ending (`\n`, or the `\r` of `\r\n`), if it has one.
    pub raw: &'r [u8],
    /// The record's field text: the line itself (fields between delimiters) or, for a parsed
    /// record, the unquoted fields one after the other.
    text: &'r [u8],
    spans: &'r [(usize, usize)],
}

impl<'r> Record<'r> {
    /// How many fields the record has.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// The bytes of field `i` (quotes removed), if the record has that many fields.
    pub fn field(&self, i: usize) -> Option<&'r [u8]> {
        self.span(i).map(|(a, b)| &self.text[a..b])
    }

    /// The byte range of field `i` in the record's text.
    fn span(&self, i: usize) -> Option<(usize, usize)> {
        self.spans.get(i).copied()
    }

    /// The record's text (every field, nothing else but delimiters) when all of it is valid
    /// UTF-8 — nearly always, and checked in one pass.
    pub fn utf8(&self) -> Option<&'r str> {
        simdutf8::basic::from_utf8(self.text).ok()
    }

    /// Field `i` as text: `None` when the record has no such field, `Some(None)` when its bytes
    /// are not valid in `enc`. `whole` is [`Record::utf8`]: when the record is valid UTF-8 the
    /// field is a slice of it, valid exactly when it starts and ends on character boundaries;
    /// otherwise the field is decoded on its own.
    pub fn field_text(
        &self,
        i: usize,
        whole: Option<&'r str>,
        enc: Encoding,
    ) -> Option<Option<Cow<'r, str>>> {
        let (a, b) = self.span(i)?;
        if let Some(s) = whole.and_then(|w| w.get(a..b)) {
            return Some(Some(Cow::Borrowed(s)));
        }
        self.field(i).map(|f| enc.decode(f))
    }
}

impl<'a> Splitter<'a> {
    pub fn new(data: &'a [u8], delimiter: u8, quote: u8) -> Self {
        let mut core = csv_core::ReaderBuilder::new()
            .delimiter(delimiter)
            .quote(quote)
            .build();
        // `csv_core` drops a byte order mark in front of the first record it reads. The input's
        // own mark is gone before chunking, and a record must read the same wherever it sits:
        // reading one blank line first turns that off.
        let _ = core.read_record(b"\n", &mut [0u8; 1], &mut [0usize; 1]);
        let line_ending = |b: u8| b == b'\r' || b == b'\n';
        Self {
            data,
            pos: 0,
            lines: 0,
            delimiter,
            quote,
            always_parse: line_ending(delimiter) || line_ending(quote) || delimiter == quote,
            core,
            out: vec![0; 1024],
            ends: vec![0; 64],
            spans: Vec::new(),
        }
    }

    /// The next record, or `None` at the end of the chunk. Blank lines are skipped, as the
    /// `csv` crate skips them.
    pub fn next_record(&mut self) -> Option<Record<'_>> {
        let (lines_before, offset, parsed) = self.advance()?;
        let end = self.pos;
        let text = if parsed {
            &self.out[..]
        } else {
            let raw = &self.data[offset..end];
            let strip = match raw {
                [.., b'\r'] | [.., b'\n'] => 1,
                _ => 0,
            };
            &raw[..raw.len() - strip]
        };
        Some(Record {
            lines_before,
            offset,
            raw: &self.data[offset..end],
            text,
            spans: &self.spans,
        })
    }

    /// Skips the next record: where it ends in the chunk and the line breaks before that end,
    /// or `None` at the end of the chunk.
    pub fn skip_record(&mut self) -> Option<(usize, u64)> {
        self.advance()?;
        Some((self.pos, self.lines))
    }

    /// Moves past the next record, leaving its fields in `spans` (and, when it was parsed, its
    /// text in `out`, truncated to its length): its lines before, offset and whether it was
    /// parsed.
    fn advance(&mut self) -> Option<(u64, usize, bool)> {
        let data = self.data;
        while let Some(&b) = data.get(self.pos) {
            match b {
                b'\n' => self.lines += 1,
                b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
        let start = self.pos;
        let rest = data.get(start..).filter(|r| !r.is_empty())?;
        let lines_before = self.lines;
        // The line, and the record's raw length: the line with the first byte of its ending.
        let (line_len, raw_len) = match memchr(b'\n', rest) {
            Some(nl) if nl > 0 && rest[nl - 1] == b'\r' => (nl - 1, nl),
            Some(nl) => (nl, nl + 1),
            None => (rest.len(), rest.len()),
        };
        let line = &rest[..line_len];
        if !self.always_parse && memchr2(self.quote, b'\r', line).is_none() {
            self.spans.clear();
            let mut from = 0;
            for d in memchr_iter(self.delimiter, line) {
                self.spans.push((from, d));
                from = d + 1;
            }
            self.spans.push((from, line.len()));
            self.pos = start + raw_len;
            if rest.get(raw_len - 1) == Some(&b'\n') {
                self.lines += 1;
            }
            return Some((lines_before, start, false));
        }
        let consumed = self.parse(rest);
        self.pos = start + consumed;
        self.lines += memchr_iter(b'\n', &rest[..consumed]).count() as u64;
        Some((lines_before, start, true))
    }

    /// Reads one record at the start of `input` with the full parser into `out` and `spans`;
    /// returns how many bytes it consumed.
    fn parse(&mut self, input: &[u8]) -> usize {
        use csv_core::ReadRecordResult as R;
        let (mut nin, mut nout, mut nend) = (0, 0, 0);
        self.out.resize(self.out.capacity().max(1024), 0);
        loop {
            // An empty input (everything consumed) tells the parser that the input ended.
            let (res, i, o, e) =
                self.core
                    .read_record(&input[nin..], &mut self.out[nout..], &mut self.ends[nend..]);
            nin += i;
            nout += o;
            nend += e;
            match res {
                R::InputEmpty => {}
                R::OutputFull => self.out.resize(self.out.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record | R::End => break,
            }
        }
        self.out.truncate(nout);
        self.spans.clear();
        let mut from = 0;
        for &end in &self.ends[..nend] {
            self.spans.push((from, end));
            from = end;
        }
        nin.max(1).min(input.len())
    }
}

#[cfg(test)]
mod tests;

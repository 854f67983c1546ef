//! Streaming a big input through the mapping stage: bounded chunks of whole records, mapped on
//! every core, handed on in input order.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

use crate::csv_records::Splitter;
use crate::{ConnectError, Result};

/// Bytes read per chunk: big enough that a chunk is one Arrow batch of tens of thousands of
/// rows, small enough that a few in flight stay far below a file's size.
pub const CHUNK_BYTES: usize = 8 << 20;

/// How many threads map chunks.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 8))
}

/// Runs `produce` on its own thread, `work` on [`workers`] threads and `consume` on the caller's
/// thread, in the order `produce` emitted the items. The emit callback returns `false` once the
/// consumer has stopped (an error downstream); the producer should then return. At most a few
/// items per worker are in flight, so memory stays bounded whatever the input's size.
pub fn ordered_parallel<T: Send, R: Send>(
    produce: impl FnOnce(&mut dyn FnMut(T) -> bool) -> Result<()> + Send,
    work: impl Fn(T) -> Result<R> + Sync,
    mut consume: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let n = workers();
    std::thread::scope(|s| {
        let (in_tx, in_rx) = sync_channel::<(usize, T)>(n);
        let in_rx: Arc<Mutex<Receiver<(usize, T)>>> = Arc::new(Mutex::new(in_rx));
        let (out_tx, out_rx) = sync_channel::<(usize, Result<R>)>(n);
        let producer = s.spawn(move || {
            let mut seq = 0usize;
            produce(&mut |item| {
                let sent = in_tx.send((seq, item)).is_ok();
                seq += 1;
                sent
            })
        });
        for _ in 0..n {
            // Only the workers hold the receiver, so when they all stop the producer's sends fail
            // instead of blocking.
            let (in_rx, out_tx, work) = (in_rx.clone(), out_tx.clone(), &work);
            s.spawn(move || {
                loop {
                    let next = match in_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((seq, item)) = next else { break };
                    if out_tx.send((seq, work(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop((in_rx, out_tx));
        let mut pending = BTreeMap::new();
        let mut next = 0usize;
        let mut failed = None;
        'outer: for (seq, result) in out_rx.iter() {
            pending.insert(seq, result);
            while let Some(result) = pending.remove(&next) {
                next += 1;
                if let Err(e) = result.and_then(&mut consume) {
                    failed = Some(e);
                    break 'outer;
                }
            }
        }
        drop(out_rx);
        let produced = producer.join().unwrap_or_else(|_| {
            Err(ConnectError::Internal(
                "the input reader thread panicked".into(),
            ))
        });
        match failed {
            Some(e) => Err(e),
            None => produced,
        }
    })
}

/// Reads from `src` into `buf` until it holds at least `want` bytes or the input ends; returns
/// whether the input ended.
pub fn fill(src: &mut dyn Read, buf: &mut Vec<u8>, want: usize, what: &str) -> Result<bool> {
    if buf.len() >= want {
        return Ok(false);
    }
    let missing = want - buf.len();
    // `read_to_end` reads into spare capacity without zeroing it first, and retries on
    // interruptions.
    let got = src
        .take(missing as u64)
        .read_to_end(buf)
        .map_err(|source| ConnectError::Io {
            path: what.into(),
            source,
        })?;
    Ok(got < missing)
}

/// Where a chunk starts in its input: byte offset and 1-based line of its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base {
    pub byte: u64,
    pub line: u64,
}

/// A run of whole records and where it starts.
pub struct Chunk {
    pub data: Vec<u8>,
    pub base: Base,
}

/// Splits the input into chunks of whole records, calling `emit` for each: the first chunk
/// starts with `carry` (already read, at `base`). `split(buf)` answers the length of the prefix
/// of `buf` that holds only whole records and how many line breaks it spans, or `None` when no
/// record in it is known to be complete; at the end of the input everything left is one chunk.
pub fn split_chunks(
    src: &mut dyn Read,
    what: &str,
    mut carry: Vec<u8>,
    mut base: Base,
    split: impl Fn(&[u8]) -> Option<(usize, u64)>,
    emit: &mut dyn FnMut(Chunk) -> bool,
) -> Result<()> {
    let mut want = CHUNK_BYTES;
    loop {
        let eof = fill(src, &mut carry, want, what)?;
        if eof {
            if !carry.is_empty() {
                emit(Chunk { data: carry, base });
            }
            return Ok(());
        }
        let Some((end, lines)) = split(&carry) else {
            // One record longer than the buffer: read on until it ends.
            want = carry.len() * 2;
            continue;
        };
        want = CHUNK_BYTES;
        let rest = carry[end..].to_vec();
        carry.truncate(end);
        let chunk = Chunk { data: carry, base };
        base = Base {
            byte: base.byte + end as u64,
            line: base.line + lines,
        };
        carry = rest;
        if !emit(chunk) {
            return Ok(());
        }
    }
}

/// The whole-line prefix of JSON Lines text: up to and including its last line break.
pub fn split_lines(buf: &[u8]) -> Option<(usize, u64)> {
    let end = memchr::memrchr(b'\n', buf)? + 1;
    let lines = memchr::memchr_iter(b'\n', &buf[..end]).count() as u64;
    Some((end, lines))
}

/// The whole-record prefix of CSV text, as the mapping stage will read it: it ends where the
/// last record known to be complete (one that ends before the end of `buf`) ends, so a chunk
/// never cuts a quoted field that spans lines.
pub fn split_csv(buf: &[u8], delimiter: u8, quote: u8) -> Option<(usize, u64)> {
    if memchr::memchr(quote, buf).is_none() {
        // Without quotes every line break ends a record, and after a `\n` (alone or ending
        // `\r\n`) the next record starts.
        if let Some(found) = split_lines(buf) {
            return Some(found);
        }
    }
    let mut records = Splitter::new(buf, delimiter, quote);
    let mut last = None;
    while let Some((end, lines)) = records.skip_record() {
        if end >= buf.len() {
            break;
        }
        last = Some((end, lines));
    }
    last.filter(|(end, _)| *end > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_chunks_never_cut_a_quoted_line_break() {
        let text = b"a,\"x\ny\"\nb,c\nd,\"e";
        let (end, lines) = split_csv(text, b',', b'"').unwrap();
        assert_eq!(&text[..end], b"a,\"x\ny\"\nb,c\n");
        assert_eq!(lines, 3);
        assert_eq!(split_csv(b"a,\"open", b',', b'"'), None);
        // Unquoted text splits at the last line break, CRLF included.
        assert_eq!(split_csv(b"a,b\r\nc,d\r\ne", b',', b'"'), Some((10, 2)));
        assert_eq!(split_lines(b"{}\n{\"a\":"), Some((3, 1)));
        assert_eq!(split_lines(b"{\"a\":"), None);
    }

    #[test]
    fn ordered_parallel_keeps_order_and_stops_on_error() {
        let mut seen = Vec::new();
        ordered_parallel(
            |emit| {
                for i in 0..200u64 {
                    if !emit(i) {
                        break;
                    }
                }
                Ok(())
            },
            |i| Ok(i * 2),
            |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..200u64).map(|i| i * 2).collect::<Vec<_>>());
        let stopped = ordered_parallel(
            |emit| {
                let mut i = 0u64;
                while emit(i) {
                    i += 1;
                }
                Ok(())
            },
            |i: u64| Ok(i),
            |r| {
                if r == 5 {
                    Err(ConnectError::Internal("stop".into()))
                } else {
                    Ok(())
                }
            },
        );
        assert!(
            stopped.is_err(),
            "an endless producer must stop when the consumer fails"
        );
    }
}

//! The splitter against the `csv` crate (how chunks were read before it), and the positions it
//! gives on the cases quarantine depends on.

use super::*;

/// One record as a test sees it: line (1-based), byte offset, raw bytes and fields.
type Seen = (u64, u64, Vec<u8>, Vec<Vec<u8>>);

fn split(data: &[u8]) -> Vec<Seen> {
    let mut s = Splitter::new(data, b',', b'"');
    let mut all = Vec::new();
    while let Some(r) = s.next_record() {
        let fields = (0..r.len()).map(|i| r.field(i).unwrap().to_vec()).collect();
        all.push((r.lines_before + 1, r.offset as u64, r.raw.to_vec(), fields));
    }
    all
}

/// The records of `data` as the `csv` crate reads them, positions as the reader reported them
/// (its position sits before the line ending the previous record left).
fn csv_crate(data: &[u8]) -> Vec<Seen> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rec = csv::ByteRecord::new();
    let mut all = Vec::new();
    loop {
        let start = rdr.position().clone();
        let got = rdr.read_byte_record(&mut rec).unwrap();
        let end = rdr.position().byte() as usize;
        let mut raw = &data[start.byte() as usize..end];
        let (mut line, mut offset) = (start.line(), start.byte());
        while let [b @ (b'\r' | b'\n'), rest @ ..] = raw {
            line += (*b == b'\n') as u64;
            offset += 1;
            raw = rest;
        }
        if !got {
            return all;
        }
        let fields = rec.iter().map(<[u8]>::to_vec).collect();
        all.push((line, offset, raw.to_vec(), fields));
    }
}

fn rec(line: u64, offset: u64, raw: &[u8], fields: &[&[u8]]) -> Seen {
    (
        line,
        offset,
        raw.to_vec(),
        fields.iter().map(|f| f.to_vec()).collect(),
    )
}

#[test]
fn plain_lines_with_lf_crlf_blank_lines_and_no_final_newline() {
    let data = b"a,b\r\nc,d\n\n\r\ne,f";
    assert_eq!(
        split(data),
        [
            rec(1, 0, b"a,b\r", &[b"a", b"b"]),
            rec(2, 5, b"c,d\n", &[b"c", b"d"]),
            rec(5, 12, b"e,f", &[b"e", b"f"]),
        ]
    );
    assert_eq!(split(data), csv_crate(data));
}

#[test]
fn quoted_fields_with_delimiters_doubled_quotes_and_line_breaks() {
    let data = b"1,\"x,\"\"y\"\"\",z\n2,\"line\nbreak\r\nagain\",w\r\n3,\"open";
    assert_eq!(
        split(data),
        [
            rec(1, 0, b"1,\"x,\"\"y\"\"\",z\n", &[b"1", b"x,\"y\"", b"z"]),
            rec(
                2,
                14,
                b"2,\"line\nbreak\r\nagain\",w\r",
                &[b"2", b"line\nbreak\r\nagain", b"w"]
            ),
            // A quote still open at the end of the input ends with it.
            rec(5, 39, b"3,\"open", &[b"3", b"open"]),
        ]
    );
    assert_eq!(split(data), csv_crate(data));
}

#[test]
fn trailing_delimiters_short_and_long_rows_keep_their_fields() {
    let data = b"a,b,\n,\nonly\na,b,c,d,e\n";
    let got = split(data);
    assert_eq!(
        got,
        [
            rec(1, 0, b"a,b,\n", &[b"a", b"b", b""]),
            rec(2, 5, b",\n", &[b"", b""]),
            rec(3, 7, b"only\n", &[b"only"]),
            rec(4, 12, b"a,b,c,d,e\n", &[b"a", b"b", b"c", b"d", b"e"]),
        ]
    );
    assert_eq!(got, csv_crate(data));
}

#[test]
fn gbk_bytes_and_a_byte_order_mark_inside_the_text_are_kept_as_they_are() {
    // "王伟" in GBK, then a record that starts with a byte order mark (not at the input's start:
    // the reader strips the input's own mark before chunking).
    let data = b"\xcd\xf5\xce\xb0,1\n\xef\xbb\xbfx,\"\xcd\xf5\"\n";
    assert_eq!(
        split(data),
        [
            rec(1, 0, b"\xcd\xf5\xce\xb0,1\n", &[b"\xcd\xf5\xce\xb0", b"1"]),
            rec(
                2,
                7,
                b"\xef\xbb\xbfx,\"\xcd\xf5\"\n",
                &[b"\xef\xbb\xbfx", b"\xcd\xf5"]
            ),
        ]
    );
}

#[test]
fn a_lone_carriage_return_ends_a_record_like_the_csv_crate() {
    let data = b"a,b\rc,\"d\"\re\n";
    assert_eq!(
        split(data),
        [
            rec(1, 0, b"a,b\r", &[b"a", b"b"]),
            rec(1, 4, b"c,\"d\"\r", &[b"c", b"d"]),
            rec(1, 10, b"e\n", &[b"e"]),
        ]
    );
    assert_eq!(split(data), csv_crate(data));
}

#[test]
fn skipping_records_ends_where_reading_them_ends() {
    let data = b"a,\"x\ny\"\r\nb\n\nc";
    let mut s = Splitter::new(data, b',', b'"');
    assert_eq!(s.skip_record(), Some((8, 1)));
    assert_eq!(s.skip_record(), Some((11, 3)));
    assert_eq!(s.skip_record(), Some((13, 4)));
    assert_eq!(s.skip_record(), None);
}

#[test]
fn random_text_splits_exactly_like_the_csv_crate() {
    // Bytes that matter to CSV (delimiter, quote, line endings), multi-byte and GBK lead bytes,
    // spaces and letters, in random mixes.
    let alphabet = b"a,,\"\"\r\n\n \xe4\xb8\x80\xcd\xefb";
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 40) as usize;
        let mut data: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        if data.starts_with(b"\xef\xbb\xbf") {
            // The csv crate drops a mark at the start of its input; chunks never start with one.
            data.insert(0, b'a');
        }
        assert_eq!(split(&data), csv_crate(&data), "input {data:?}");
    }
}

#[test]
fn field_text_decodes_each_field_whatever_its_neighbours_hold() {
    // "一" is E4 B8 80: split over two quoted fields, the record's text is valid UTF-8 as a
    // whole but neither field is.
    let data = b"\"\xe4\",\"\xb8\x80\",ok\n\xcd\xf5,\xe4\xb8\x80\n";
    let mut s = Splitter::new(data, b',', b'"');
    let r = s.next_record().unwrap();
    let whole = r.utf8();
    assert!(whole.is_some());
    assert_eq!(r.field_text(0, whole, Encoding::Utf8), Some(None));
    assert_eq!(r.field_text(1, whole, Encoding::Utf8), Some(None));
    assert_eq!(
        r.field_text(2, whole, Encoding::Utf8),
        Some(Some(Cow::Borrowed("ok")))
    );
    assert_eq!(r.field_text(3, whole, Encoding::Utf8), None);
    // A GBK record: not UTF-8 as a whole, so each field is decoded on its own (a pasted UTF-8
    // field stays UTF-8).
    let r = s.next_record().unwrap();
    let whole = r.utf8();
    assert!(whole.is_none());
    assert_eq!(
        r.field_text(0, whole, Encoding::Gb18030)
            .unwrap()
            .as_deref(),
        Some("王")
    );
    assert_eq!(
        r.field_text(1, whole, Encoding::Gb18030)
            .unwrap()
            .as_deref(),
        Some("一")
    );
    assert_eq!(r.field_text(0, whole, Encoding::Utf8), Some(None));
}

//! Compact field types of a [`crate::mentions::Mention`]: at 1M persons ten million mentions
//! are held at once, so every byte of one is ten megabytes of the run's peak.

use std::num::NonZeroU64;
use std::sync::Arc;

use compact_str::CompactString;

/// A record id, held in 16 bytes where a `CompactString` takes 24: up to 20 characters of
/// `-`, `0-9`, `A-Z` and `a-z` packed six bits each (DMS, repair-order, lead and event ids
/// are such), any other id boxed. Ordered and compared as its text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum RecordId {
    Packed(PackedId),
    /// Boxed twice so that the variant fits beside the packed one's niche.
    Text(Box<Box<str>>),
}

/// Six-bit codes in `PackedId`, ten a word, the first character in the highest bits: the
/// codes' order is the characters' (ASCII) order and a zero ends the text, so the words'
/// order is the text's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackedId {
    head: NonZeroU64,
    tail: u64,
}

/// Characters a packed id holds: ten in each word.
const ID_CHARS: usize = 20;
const WORD_CHARS: usize = 10;

fn id_code(b: u8) -> Option<u8> {
    Some(match b {
        b'-' => 1,
        b'0'..=b'9' => b - b'0' + 2,
        b'A'..=b'Z' => b - b'A' + 12,
        b'a'..=b'z' => b - b'a' + 38,
        _ => return None,
    })
}

/// Code → character (`0` for the end code).
const ID_CHAR: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut c = 1;
    while c < 64 {
        t[c] = match c as u8 {
            1 => b'-',
            c @ 2..=11 => b'0' + c - 2,
            c @ 12..=37 => b'A' + c - 12,
            c => b'a' + c - 38,
        };
        c += 1;
    }
    t
};

/// Packs up to ten characters into one word, the first in the top six bits.
fn pack_word(chars: &[u8]) -> Option<u64> {
    let mut w = 0u64;
    for (i, &b) in chars.iter().enumerate() {
        w |= u64::from(id_code(b)?) << (58 - 6 * i);
    }
    Some(w)
}

/// Writes a word's ten characters (end codes as zero bytes) and returns how many are real:
/// the word's lowest set bit lies in its last character.
fn unpack_word(w: u64, out: &mut [u8]) -> usize {
    for (i, o) in out.iter_mut().take(WORD_CHARS).enumerate() {
        *o = ID_CHAR[((w >> (58 - 6 * i)) & 0x3F) as usize];
    }
    if w == 0 {
        0
    } else {
        (63 - w.trailing_zeros() as usize) / 6 + 1
    }
}

impl PackedId {
    fn pack(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() > ID_CHARS {
            return None;
        }
        let split = bytes.len().min(WORD_CHARS);
        Some(Self {
            head: NonZeroU64::new(pack_word(&bytes[..split])?)?,
            tail: pack_word(&bytes[split..])?,
        })
    }

    fn text(self) -> CompactString {
        let mut buf = [0u8; ID_CHARS];
        let (front, back) = buf.split_at_mut(WORD_CHARS);
        let n = unpack_word(self.head.get(), front);
        let m = if n == WORD_CHARS {
            unpack_word(self.tail, back)
        } else {
            0
        };
        // Only ASCII was written.
        CompactString::from(std::str::from_utf8(&buf[..n + m]).unwrap_or_default())
    }
}

impl RecordId {
    /// The id's text (inline for a packed id: no allocation).
    pub fn text(&self) -> CompactString {
        match self {
            Self::Packed(p) => p.text(),
            Self::Text(t) => CompactString::from(&***t),
        }
    }
}

impl From<&str> for RecordId {
    fn from(text: &str) -> Self {
        PackedId::pack(text).map_or_else(|| Self::Text(Box::new(text.into())), Self::Packed)
    }
}

impl From<String> for RecordId {
    fn from(text: String) -> Self {
        Self::from(text.as_str())
    }
}

impl Default for RecordId {
    fn default() -> Self {
        Self::from("")
    }
}

impl Ord for RecordId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            // The packed order is the text's order.
            (Self::Packed(a), Self::Packed(b)) => (a.head, a.tail).cmp(&(b.head, b.tail)),
            _ => self.text().cmp(&other.text()),
        }
    }
}

impl PartialOrd for RecordId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Debug for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// What a phone field gave: a key (E.164) or a masked number's block pattern (`139****5678`),
/// never both. A mention holds the two parts as separate fields, so that the tag packs with
/// its other one-byte fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneField {
    pub value: Option<PackedPhone>,
    pub kind: PhoneKind,
}

/// What a mention's phone string is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PhoneKind {
    /// A key; also what an empty field holds.
    #[default]
    Key,
    /// A key seen with many different names: not evidence.
    Hub,
    /// A masked number: partial evidence, never a key.
    Masked,
}

impl PhoneField {
    pub fn key(key: Option<PackedPhone>) -> Self {
        Self {
            value: key,
            kind: PhoneKind::Key,
        }
    }

    pub fn masked(pattern: Option<PackedPhone>) -> Self {
        Self {
            value: pattern,
            kind: PhoneKind::Masked,
        }
    }
}

/// A phone field's text, an E.164 key (`+8613912345678`) or a masked pattern (`139****5678`),
/// packed four bits a character into 64: 8 bytes a mention where the string took 24, and
/// hashed and compared as one integer. Holds up to 16 characters of `0-9`, `*` and `+`, which
/// covers every E.164 number (15 digits at most) and every block pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackedPhone(NonZeroU64);

impl PackedPhone {
    /// Packs `text`; `None` when it is empty, longer than 16 characters or holds another one.
    pub fn pack(text: &str) -> Option<Self> {
        if text.len() > 16 {
            return None;
        }
        let mut bits = 0u64;
        for (i, b) in text.bytes().enumerate() {
            // Codes start at 1: a zero nibble ends the text.
            let code = match b {
                b'0'..=b'9' => b - b'0' + 1,
                b'*' => 11,
                b'+' => 12,
                _ => return None,
            };
            bits |= u64::from(code) << (4 * i);
        }
        NonZeroU64::new(bits).map(Self)
    }

    /// The packed bits: equal exactly when the texts are equal (their order is not the texts').
    pub fn bits(self) -> u64 {
        self.0.get()
    }

    /// The text again (inline: no allocation).
    pub fn text(self) -> CompactString {
        let mut buf = [0u8; 16];
        let mut n = 0;
        let mut bits = self.0.get();
        while bits != 0 {
            buf[n] = match (bits & 0xF) as u8 {
                c @ 1..=10 => b'0' + c - 1,
                11 => b'*',
                _ => b'+',
            };
            n += 1;
            bits >>= 4;
        }
        // Only ASCII was written.
        CompactString::from(std::str::from_utf8(&buf[..n]).unwrap_or_default())
    }
}

impl std::fmt::Display for PackedPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// A validated VIN (17 characters of `0-9A-Z`) packed six bits a character into two words:
/// 16 bytes a mention where the string took 24. Holds up to 20 such characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackedVin {
    /// The first ten characters.
    head: NonZeroU64,
    /// The rest.
    tail: u64,
}

impl PackedVin {
    /// Packs `text`; `None` when it is empty, longer than 20 characters or holds a character
    /// other than a digit or an upper-case letter.
    pub fn pack(text: &str) -> Option<Self> {
        if text.len() > 20 {
            return None;
        }
        let mut words = [0u64; 2];
        for (i, b) in text.bytes().enumerate() {
            // Codes start at 1: a zero code ends the text.
            let code = match b {
                b'0'..=b'9' => b - b'0' + 1,
                b'A'..=b'Z' => b - b'A' + 11,
                _ => return None,
            };
            words[i / 10] |= u64::from(code) << (6 * (i % 10));
        }
        Some(Self {
            head: NonZeroU64::new(words[0])?,
            tail: words[1],
        })
    }

    /// The text again (inline: no allocation).
    pub fn text(self) -> CompactString {
        let mut buf = [0u8; 20];
        let mut n = 0;
        for mut bits in [self.head.get(), self.tail] {
            while bits != 0 {
                buf[n] = match (bits & 0x3F) as u8 {
                    c @ 1..=10 => b'0' + c - 1,
                    c => b'A' + c - 11,
                };
                n += 1;
                bits >>= 6;
            }
        }
        // Only ASCII was written.
        CompactString::from(std::str::from_utf8(&buf[..n]).unwrap_or_default())
    }
}

/// A text value many mentions share (a city), held once: a thin pointer per mention.
pub type SharedText = Arc<CompactString>;

/// A record's own time, µs since the epoch, first and last of the records folded into a
/// mention; `i64::MIN` stands for none, where two `Option<i64>` would take twice the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenSpan {
    first: i64,
    last: i64,
}

const NONE: i64 = i64::MIN;

impl SeenSpan {
    pub fn at(t: Option<i64>) -> Self {
        // A time of exactly i64::MIN µs (290,000 years BC) would read as none: no record has it.
        let t = t.unwrap_or(NONE);
        Self { first: t, last: t }
    }

    pub fn first(&self) -> Option<i64> {
        (self.first != NONE).then_some(self.first)
    }

    pub fn last(&self) -> Option<i64> {
        (self.last != NONE).then_some(self.last)
    }

    /// Widens the span to cover `t`.
    pub fn cover(&mut self, t: Option<i64>) {
        let Some(t) = t.filter(|&t| t != NONE) else {
            return;
        };
        self.first = if self.first == NONE {
            t
        } else {
            self.first.min(t)
        };
        self.last = self.last.max(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_pack_into_sixteen_bytes_order_as_text_and_box_the_rest() {
        assert_eq!(std::mem::size_of::<RecordId>(), 16);
        let ids = [
            "RO2023D3205002486",
            "FP20250604000076",
            "L001070996",
            "E000003719525",
            "-",
            "a-Z9z",
            "zzzzzzzzzzzzzzzzzzzz",
            "zzzzzzzzzzzzzzzzzzzzz",
            "0123456789",
            "0123456789A",
            "012345678",
            "",
            "has space",
            "SO_2024_1",
            "1234567890123456789012",
            "王-1",
        ];
        for t in ids {
            let id = RecordId::from(t);
            assert_eq!(id.text(), t);
            let packed = matches!(id, RecordId::Packed(_));
            let expect = !t.is_empty() && t.len() <= 20 && !t.contains([' ', '_', '王']);
            assert_eq!(packed, expect, "{t}");
        }
        for a in ids {
            for b in ids {
                assert_eq!(
                    RecordId::from(a).cmp(&RecordId::from(b)),
                    a.cmp(b),
                    "{a} vs {b}"
                );
                assert_eq!(RecordId::from(a) == RecordId::from(b), a == b);
            }
        }
    }

    #[test]
    fn a_seen_span_covers_every_time_and_ignores_missing_ones() {
        let mut s = SeenSpan::at(None);
        assert_eq!((s.first(), s.last()), (None, None));
        s.cover(Some(5));
        s.cover(None);
        s.cover(Some(-3));
        s.cover(Some(9));
        assert_eq!((s.first(), s.last()), (Some(-3), Some(9)));
        let mut t = SeenSpan::at(Some(7));
        t.cover(Some(1));
        assert_eq!((t.first(), t.last()), (Some(1), Some(7)));
    }

    #[test]
    fn phones_and_patterns_pack_into_eight_bytes_and_unpack_unchanged() {
        assert_eq!(std::mem::size_of::<Option<PackedPhone>>(), 8);
        for t in [
            "+8613912345678",
            "+862161234567",
            "139****5678",
            "+123456789012345",
            "0",
        ] {
            let p = PackedPhone::pack(t).expect(t);
            assert_eq!(p.text(), t);
            assert_eq!(p.to_string(), t);
        }
        assert_ne!(
            PackedPhone::pack("+8613912345678"),
            PackedPhone::pack("+8613912345679")
        );
        assert_ne!(
            PackedPhone::pack("139****5678"),
            PackedPhone::pack("1391***5678")
        );
        for bad in ["", "+86139123456789012", "139-1234-5678", "１"] {
            assert_eq!(PackedPhone::pack(bad), None, "{bad}");
        }
    }

    #[test]
    fn vins_pack_into_sixteen_bytes_and_unpack_unchanged() {
        assert_eq!(std::mem::size_of::<Option<PackedVin>>(), 16);
        for t in [
            "LXCA2B7E8KA021417",
            "1HGCM82633A004352",
            "0",
            "ZZZZZZZZZZZZZZZZZZZZ",
        ] {
            assert_eq!(PackedVin::pack(t).expect(t).text(), t);
        }
        assert_ne!(
            PackedVin::pack("LXCA2B7E8KA021417"),
            PackedVin::pack("LXCA2B7E8KA021418")
        );
        for bad in [
            "",
            "lxca2b7e8ka021417",
            "LXCA2B7E8KA02141-",
            "ZZZZZZZZZZZZZZZZZZZZZ",
        ] {
            assert_eq!(PackedVin::pack(bad), None, "{bad}");
        }
    }
}

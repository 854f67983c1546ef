//! Character encodings of CSV exports: UTF-8 (with or without BOM) and GBK/GB18030, including
//! the GBK files into which some rows were pasted as UTF-8.

use std::borrow::Cow;

/// A text encoding a connector declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// GBK and GB18030 (encoding_rs decodes GBK as its superset GB18030).
    Gb18030,
}

impl Encoding {
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" | "utf-8-bom" => Some(Encoding::Utf8),
            "gbk" | "gb18030" | "gb2312" => Some(Encoding::Gb18030),
            _ => None,
        }
    }

    /// Decodes one field strictly; `None` when the bytes are not valid in this encoding.
    ///
    /// In a GBK file, a field that is valid multi-byte UTF-8 is read as UTF-8: such rows come
    /// from copy-paste out of UTF-8 systems, and genuine GBK text is almost never valid UTF-8.
    pub fn decode<'a>(self, bytes: &'a [u8]) -> Option<Cow<'a, str>> {
        // One validation pass (SIMD, with an ASCII fast path); ASCII is valid in both encodings.
        match simdutf8::basic::from_utf8(bytes) {
            Ok(s) => Some(Cow::Borrowed(s)),
            Err(_) => match self {
                Encoding::Utf8 => None,
                Encoding::Gb18030 => {
                    encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes)
                }
            },
        }
    }
}

/// Strips a UTF-8 byte order mark.
pub fn strip_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_and_pasted_utf8_both_decode() {
        let (gbk, _, _) = encoding_rs::GBK.encode("王伟");
        assert_eq!(Encoding::Gb18030.decode(&gbk).as_deref(), Some("王伟"));
        assert_eq!(
            Encoding::Gb18030.decode("李娜".as_bytes()).as_deref(),
            Some("李娜")
        );
    }

    #[test]
    fn broken_bytes_are_rejected_not_replaced() {
        assert_eq!(Encoding::Utf8.decode(b"\xff\xfe"), None);
        assert_eq!(
            Encoding::Gb18030.decode(b"\x81"),
            None,
            "truncated double-byte"
        );
        assert_eq!(strip_bom(b"\xEF\xBB\xBFa,b"), b"a,b");
    }
}

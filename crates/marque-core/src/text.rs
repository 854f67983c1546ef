//! Text normalisation shared by every field normaliser: NFKC, full-width to half-width, spaces.

use unicode_normalization::UnicodeNormalization;

/// Full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space become their ASCII
/// forms; everything else is kept. Cheaper than NFKC when only digits and letters matter.
pub fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// NFKC (which also folds full-width forms), trimmed, inner runs of whitespace collapsed to one
/// space. The canonical form of any free-text field before comparison.
pub fn clean(s: &str) -> String {
    // Most values are already NFKC: skip the rewrite when the quick check says so.
    let nfkc: std::borrow::Cow<'_, str> = match unicode_normalization::is_nfkc_quick(s.chars()) {
        unicode_normalization::IsNormalized::Yes => std::borrow::Cow::Borrowed(s),
        _ => std::borrow::Cow::Owned(s.nfkc().collect()),
    };
    let mut out = String::with_capacity(nfkc.len());
    for word in nfkc.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The ASCII digits of `s` after half-width conversion, in order.
pub fn digits(s: &str) -> String {
    halfwidth(s).chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_and_letters_become_ascii() {
        assert_eq!(halfwidth("１３８ＡＢｃ　x"), "138ABc x");
        assert_eq!(digits("１３８-0013　8000"), "13800138000");
    }

    #[test]
    fn clean_collapses_whitespace_and_applies_nfkc() {
        assert_eq!(clean("  王　 伟 \t"), "王 伟");
        assert_eq!(clean("Ｌｉ Ｍｉｎｇ"), "Li Ming");
    }
}

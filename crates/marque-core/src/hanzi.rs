//! Han characters: traditional → simplified conversion (one character at a time, from OpenCC's
//! table) and the character classes the name and address normalisers need.

use crate::hanzi_table::TRAD_TO_SIMP;

/// True for a CJK unified ideograph (basic block, extension A, or the supplementary planes).
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3134F}')
}

/// The simplified form of one character; characters without one are returned unchanged.
pub fn simplify_char(c: char) -> char {
    // Every traditional character in the table is at or above U+3400.
    if (c as u32) < 0x3400 {
        return c;
    }
    match TRAD_TO_SIMP.binary_search_by_key(&c, |&(t, _)| t) {
        Ok(i) => TRAD_TO_SIMP[i].1,
        Err(_) => c,
    }
}

/// `s` with every traditional character replaced by its simplified form (劉德華 → 刘德华).
/// Character by character: names and addresses need no phrase-level conversion.
pub fn to_simplified(s: &str) -> String {
    s.chars().map(simplify_char).collect()
}

/// True when `s` has at least one traditional character that has a different simplified form.
pub fn has_traditional(s: &str) -> bool {
    s.chars().any(|c| simplify_char(c) != c)
}

/// True when the two strings are the same text once both are simplified and NFKC-cleaned
/// (張偉 = 张伟, 歐陽娜娜 = 欧阳娜娜).
pub fn trad_simp_equal(a: &str, b: &str) -> bool {
    let (a, b) = (crate::text::clean(a), crate::text::clean(b));
    a.chars()
        .map(simplify_char)
        .eq(b.chars().map(simplify_char))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(TRAD_TO_SIMP.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(TRAD_TO_SIMP.len() > 4000);
    }

    #[test]
    fn traditional_names_become_simplified() {
        // The generator's traditional spellings (dirt `traditional_name`).
        assert_eq!(to_simplified("張偉"), "张伟");
        assert_eq!(to_simplified("劉德華"), "刘德华");
        assert_eq!(to_simplified("歐陽娜娜"), "欧阳娜娜");
        assert_eq!(to_simplified("陳靜"), "陈静");
        assert_eq!(to_simplified("鄭麗"), "郑丽");
        assert_eq!(to_simplified("司馬鵬"), "司马鹏");
        // Every traditional form the generator's name pools use.
        assert_eq!(
            to_simplified(
                "偉強軍傑濤剛輝鵬華飛國東龍曉雲麗艷靜紅蘭鳳潔張劉陳楊黃趙吳孫馬羅鄭謝許韓馮鄧葉歐陽司馬"
            ),
            "伟强军杰涛刚辉鹏华飞国东龙晓云丽艳静红兰凤洁张刘陈杨黄赵吴孙马罗郑谢许韩冯邓叶欧阳司马"
        );
        // Already simplified text and non-Han characters are untouched.
        assert_eq!(to_simplified("王伟 Tony 123"), "王伟 Tony 123");
    }

    #[test]
    fn characters_that_are_their_own_simplified_form_stay() {
        // 乾 (乾隆) and 於 (a surname) are kept rather than turned into 干 / 于.
        assert_eq!(to_simplified("乾"), "乾");
        assert_eq!(to_simplified("於"), "於");
        assert!(!has_traditional("王伟"));
        assert!(has_traditional("王偉"));
    }

    #[test]
    fn trad_simp_equal_ignores_script_and_width() {
        assert!(trad_simp_equal("張偉", "张伟"));
        assert!(trad_simp_equal(" 歐陽 娜娜", "欧阳 娜娜"));
        assert!(!trad_simp_equal("張偉", "张维"));
    }
}

//! Name comparators the resolver calls: blocking key, same pinyin, homophone and pinyin
//! similarity (tone-less Jaro-Winkler), and traditional/simplified equality.

use crate::hanzi::is_han;
use crate::name::PersonName;
use crate::romanize::chars_sound_alike;

pub use crate::hanzi::trad_simp_equal;

/// A cheap blocking key: the simplified, NFKC, lower-cased full name, or the surname of an
/// honorific-only name, or empty. Two spellings that differ only in script, width, case or
/// spaces get the same key.
pub fn name_key(n: &PersonName) -> String {
    if !n.full.is_empty() {
        n.full.as_str().to_lowercase()
    } else {
        n.surname.as_deref().unwrap_or_default().to_string()
    }
}

fn swapped(key: &str) -> Option<String> {
    let (a, b) = key.split_once(' ')?;
    (!b.contains(' ')).then(|| format!("{b} {a}"))
}

/// True when both Han strings have the same length and every pair of characters can be read
/// the same way (王伟 / 王维, 曾 read zeng or ceng).
pub fn sounds_alike(a: &str, b: &str) -> bool {
    let (mut ia, mut ib) = (a.chars(), b.chars());
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return !a.is_empty(),
            (Some(x), Some(y)) if is_han(x) && is_han(y) && chars_sound_alike(x, y) => {}
            _ => return false,
        }
    }
}

/// True when the two names have the same toneless pinyin: 王伟 = 王维 = "Wang Wei" = "Wei
/// Wang". A Latin-script name also matches with surname and given name swapped. Honorific-only
/// and empty names never match (their pinyin is the surname alone, or nothing).
pub fn same_pinyin(a: &PersonName, b: &PersonName) -> bool {
    if a.pinyin.is_empty() || b.pinyin.is_empty() || a.honorific_only || b.honorific_only {
        return false;
    }
    if a.pinyin == b.pinyin {
        return true;
    }
    if !a.latin && !b.latin {
        return sounds_alike(&a.full, &b.full);
    }
    swapped(&a.pinyin).is_some_and(|s| s == b.pinyin)
}

/// Jaro-Winkler similarity of the toneless pinyin keys, in `[0, 1]` (0 when either has none).
/// For a Latin-script name the better of both surname/given orders is taken.
pub fn pinyin_similarity(a: &PersonName, b: &PersonName) -> f64 {
    if a.pinyin.is_empty() || b.pinyin.is_empty() {
        return 0.0;
    }
    let direct = strsim::jaro_winkler(&a.pinyin, &b.pinyin);
    if !(a.latin || b.latin) {
        return direct;
    }
    let alt = swapped(&a.pinyin).map_or(0.0, |s| strsim::jaro_winkler(&s, &b.pinyin));
    direct.max(alt)
}

/// How alike two names sound, in `[0, 1]`: 1 when they have the same pinyin (homophones,
/// traditional/simplified, Latin spelling), otherwise [`pinyin_similarity`].
pub fn homophone_score(a: &PersonName, b: &PersonName) -> f64 {
    if same_pinyin(a, b) {
        1.0
    } else {
        pinyin_similarity(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::parse;

    #[test]
    fn homophone_typos_have_the_same_pinyin() {
        // The generator's homophone dirt changes the last given character.
        for (a, b) in [
            ("王伟", "王维"),
            ("李娜", "李那"),
            ("张秀英", "张秀莹"),
            ("陈静", "陈晶"),
        ] {
            assert!(same_pinyin(&parse(a), &parse(b)), "{a} {b}");
            assert_eq!(homophone_score(&parse(a), &parse(b)), 1.0);
            assert!(sounds_alike(a, b));
        }
        // Every homophone pair of the generator's given-name pool.
        let pairs = "伟维强墙磊蕾军君勇永杰洁涛韬明铭超朝刚钢平萍辉晖鹏朋华化飞菲建健国果东冬龙隆浩昊宇雨志智\
                     斌彬波博海亥林琳文雯晓小云芸子梓娜那芳方敏民静晶丽莉艳燕娟鹃霞夏秀绣英莹玲铃桂贵红虹婷亭\
                     雪学慧惠倩茜兰岚凤峰洁杰欣心怡仪梅媚琴勤";
        let chars: Vec<char> = pairs.chars().filter(|c| !c.is_whitespace()).collect();
        for p in chars.chunks(2) {
            let (a, b) = (format!("王{}", p[0]), format!("王{}", p[1]));
            assert!(same_pinyin(&parse(&a), &parse(&b)), "{a} {b}");
        }
        assert!(!same_pinyin(&parse("王伟"), &parse("王明")));
        assert!(homophone_score(&parse("王伟"), &parse("王明")) < 1.0);
    }

    #[test]
    fn latin_and_han_compare_by_pinyin() {
        assert!(same_pinyin(&parse("王小明"), &parse("Xiaoming Wang")));
        assert!(
            same_pinyin(&parse("王伟"), &parse("Wei Wang")),
            "swapped order"
        );
        assert!(
            same_pinyin(&parse("Wang Wei"), &parse("王偉")),
            "traditional"
        );
        assert!(pinyin_similarity(&parse("王小明"), &parse("Wang Xiaomin")) > 0.9);
        assert!(pinyin_similarity(&parse("王小明"), &parse("Li Na")) < 0.7);
    }

    #[test]
    fn honorific_only_and_nicknames_do_not_match_by_pinyin() {
        assert!(!same_pinyin(&parse("王先生"), &parse("王先生")));
        assert!(!same_pinyin(&parse("Tony"), &parse("Tony")));
        assert_eq!(pinyin_similarity(&parse("Tony"), &parse("王伟")), 0.0);
    }

    #[test]
    fn blocking_key_is_script_width_and_case_blind() {
        assert_eq!(name_key(&parse("張偉")), name_key(&parse("张伟")));
        assert_eq!(
            name_key(&parse("ＷＡＮＧ Wei")),
            name_key(&parse("wang  wei"))
        );
        assert_eq!(name_key(&parse("王先生")), "王");
        assert_eq!(name_key(&parse("")), "");
    }

    #[test]
    fn trad_simp_equality() {
        assert!(trad_simp_equal("劉芳", "刘芳"));
        assert!(!trad_simp_equal("劉芳", "柳芳"));
    }
}

//! Pinyin: the toneless reading of Han names (王小明 → `wang xiaoming`) and the parsing of names
//! written in Latin script ("WANG Xiao Ming", "Xiaoming Wang", "Wang, Xiaoming") into the same
//! canonical key, so the two scripts can be compared.

use pinyin::{ToPinyin, ToPinyinMulti};

use crate::surnames;
use crate::syllables::SYLLABLES;

fn push_plain(out: &mut String, p: &str) {
    for c in p.chars() {
        out.push(if c == 'ü' { 'v' } else { c });
    }
}

/// The most common toneless reading of a Han character (`ü` written `v`); other characters
/// are returned as they are, lower-cased.
pub fn default_reading(c: char) -> String {
    let mut s = String::new();
    match c.to_pinyin() {
        Some(p) => push_plain(&mut s, p.plain()),
        None => s.extend(c.to_lowercase()),
    }
    s
}

/// Every toneless reading of a Han character (曾 → `zeng`, `ceng`); empty for other characters.
pub fn readings(c: char) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(multi) = c.to_pinyin_multi() {
        for p in multi {
            let mut s = String::new();
            push_plain(&mut s, p.plain());
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// True when two Han characters can be read the same way (tones ignored).
pub fn chars_sound_alike(a: char, b: char) -> bool {
    if a == b {
        return true;
    }
    let ra = readings(a);
    !ra.is_empty() && readings(b).iter().any(|r| ra.contains(r))
}

/// The canonical pinyin key of a Han name split into surname and given name:
/// `surname-reading given-readings-joined` (王小明 → `wang xiaoming`, 欧阳娜娜 → `ouyang nana`).
/// Without a surname, the readings of all characters are joined.
pub fn han_key(surname: Option<&str>, given: &str) -> String {
    let mut s = String::with_capacity(16);
    if let Some(sn) = surname {
        s.push_str(&surnames::reading(sn));
        if !given.is_empty() {
            s.push(' ');
        }
    }
    for c in given.chars() {
        if c == '·' {
            s.push(' ');
            continue;
        }
        match c.to_pinyin() {
            Some(p) => push_plain(&mut s, p.plain()),
            None => s.extend(c.to_lowercase()),
        }
    }
    s
}

fn is_syllable(s: &str) -> bool {
    SYLLABLES.binary_search(&s).is_ok()
}

/// Splits a lower-case Latin token into pinyin syllables (`xiaoming` → `xiao`, `ming`), or
/// `None` when it is not pinyin. Prefers the split with the fewest syllables.
pub fn split_syllables(token: &str) -> Option<Vec<&str>> {
    let n = token.len();
    if n == 0 || !token.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    // best[i] = (syllable count, previous cut) for the prefix of length i.
    let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0));
    for end in 1..=n {
        for start in end.saturating_sub(6)..end {
            if let Some((count, _)) = best[start]
                && is_syllable(&token[start..end])
                && best[end].is_none_or(|(c, _)| count + 1 < c)
            {
                best[end] = Some((count + 1, start));
            }
        }
    }
    best[n]?;
    let mut cuts = Vec::new();
    let mut end = n;
    while end > 0 {
        let (_, start) = best[end]?;
        cuts.push(&token[start..end]);
        end = start;
    }
    cuts.reverse();
    Some(cuts)
}

/// Romanisations of common surnames used in Hong Kong, Taiwan and passports, mapped to pinyin.
const ROMANISATIONS: &[(&str, &str)] = &[
    ("lee", "li"),
    ("chang", "zhang"),
    ("cheung", "zhang"),
    ("chan", "chen"),
    ("hsu", "xu"),
    ("chou", "zhou"),
    ("kuo", "guo"),
    ("tsai", "cai"),
    ("lau", "liu"),
    ("leung", "liang"),
    ("tsang", "zeng"),
    ("yeung", "yang"),
    ("wong", "wang"),
    ("ng", "wu"),
    ("lyu", "lv"),
    ("lu:", "lv"),
];

/// A name written in Latin script, read as pinyin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatinName {
    /// Pinyin of the surname, e.g. `wang`.
    pub surname: String,
    /// Pinyin of the given name with its syllables joined, e.g. `xiaoming`.
    pub given: String,
}

impl LatinName {
    /// `surname given`, the same form as [`han_key`].
    pub fn key(&self) -> String {
        if self.given.is_empty() {
            self.surname.clone()
        } else {
            format!("{} {}", self.surname, self.given)
        }
    }
}

fn surname_token(t: &str) -> Option<String> {
    let t = ROMANISATIONS
        .iter()
        .find(|(r, _)| *r == t)
        .map_or(t, |(_, p)| *p);
    surnames::pinyin_rank(t).map(|_| t.to_string())
}

/// Reads a Latin-script name as pinyin. Accepts surname-first ("Wang Xiaoming", "WANG XIAO
/// MING"), given-name-first ("Xiaoming Wang") and "Wang, Xiaoming"; the surname is told by a
/// comma, by being the only all-capital word, or by being a common surname at one end (the more
/// common one when both ends are). `None` when the words are not pinyin or no surname is found
/// (`Tony`, `sunny`).
pub fn parse_latin(s: &str) -> Option<LatinName> {
    let comma = s.find(',');
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-' || c == '.')
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() < 2 && !(words.len() == 1 && words[0].len() >= 4) {
        return None;
    }
    let lower: Vec<String> = words
        .iter()
        .map(|w| {
            w.chars()
                .filter(|c| *c != '\'' && *c != '’')
                .map(|c| match c {
                    'ü' | 'Ü' => 'v',
                    c => c.to_ascii_lowercase(),
                })
                .collect()
        })
        .collect();
    // Each word must be pinyin (or a known romanised surname).
    for w in &lower {
        if split_syllables(w).is_none() && surname_token(w).is_none() {
            return None;
        }
    }
    if lower.len() == 1 {
        // "wangwei": a surname syllable followed by one or two given syllables.
        let w = &lower[0];
        let syl = split_syllables(w)?;
        if !(2..=3).contains(&syl.len()) || syl.iter().all(|x| *x == syl[0]) {
            return None;
        }
        let sn = surname_token(syl[0])?;
        return Some(LatinName {
            surname: sn,
            given: syl[1..].concat(),
        });
    }
    let last = lower.len() - 1;
    let surname_at = if let Some(pos) = comma {
        // "Wang, Xiaoming": the words before the comma are the surname.
        let before = s[..pos].split_whitespace().count();
        if before != 1 {
            return None;
        }
        0
    } else {
        let caps: Vec<usize> = words
            .iter()
            .enumerate()
            .filter(|(_, w)| w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase()))
            .map(|(i, _)| i)
            .collect();
        if caps.len() == 1 && (caps[0] == 0 || caps[0] == last) {
            caps[0]
        } else {
            match (surname_token(&lower[0]), surname_token(&lower[last])) {
                (Some(a), Some(b)) => {
                    let (ra, rb) = (surnames::pinyin_rank(&a), surnames::pinyin_rank(&b));
                    if rb < ra { last } else { 0 }
                }
                (Some(_), None) => 0,
                (None, Some(_)) => last,
                (None, None) => return None,
            }
        }
    };
    let surname = surname_token(&lower[surname_at])?;
    let given: String = lower
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != surname_at)
        .map(|(_, w)| w.as_str())
        .collect();
    split_syllables(&given)?;
    Some(LatinName { surname, given })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn han_names_get_a_toneless_key() {
        assert_eq!(han_key(Some("王"), "小明"), "wang xiaoming");
        assert_eq!(han_key(Some("欧阳"), "娜娜"), "ouyang nana");
        assert_eq!(han_key(Some("吕"), "绿"), "lv lv");
        assert_eq!(han_key(Some("单"), "田芳"), "shan tianfang");
    }

    #[test]
    fn syllables_split_with_fewest_cuts() {
        assert_eq!(split_syllables("xiaoming"), Some(vec!["xiao", "ming"]));
        assert_eq!(split_syllables("xian"), Some(vec!["xian"]));
        assert_eq!(split_syllables("tony"), None);
        assert_eq!(split_syllables("Wang"), None, "must be lower case");
    }

    #[test]
    fn latin_names_in_every_order_give_the_same_key() {
        for raw in [
            "Wang Xiaoming",
            "WANG XIAO MING",
            "Xiaoming Wang",
            "Wang, Xiaoming",
            "wang xiao-ming",
            "Xiao Ming WANG",
            "Xiao Ming Wang",
            "wangxiaoming",
        ] {
            assert_eq!(
                parse_latin(raw).map(|n| n.key()).as_deref(),
                Some("wang xiaoming"),
                "{raw}"
            );
        }
        assert_eq!(parse_latin("Lee Ming").unwrap().key(), "li ming");
        assert_eq!(parse_latin("ouyang nana").unwrap().key(), "ouyang nana");
    }

    #[test]
    fn latin_handles_are_not_names() {
        for raw in [
            "Tony",
            "sunny",
            "momo",
            "Kevin",
            "Lily",
            "Jason",
            "Michael Jordan",
            "xx",
        ] {
            assert_eq!(parse_latin(raw), None, "{raw}");
        }
    }

    #[test]
    fn homophone_characters_share_a_reading() {
        assert!(chars_sound_alike('伟', '维'));
        assert!(chars_sound_alike('曾', '层'), "曾 has the reading ceng too");
        assert!(!chars_sound_alike('伟', '明'));
    }
}

//! Name keys the matcher compares: simplified characters, tone-less pinyin, surname keys.

use compact_str::CompactString;

use crate::mentions::Mention;

/// The comparison key of a full name. [`marque_core::name::parse`] already gives NFKC,
/// half-width, simplified characters; Latin script is lower-cased here.
pub fn name_key(full: &str) -> CompactString {
    if full.chars().any(char::is_uppercase) {
        full.to_lowercase().into()
    } else {
        full.into()
    }
}

/// True when a pinyin key spells a surname and a given name, not a single syllable.
pub fn pinyin_is_full_name(p: &str) -> bool {
    p.split(' ').filter(|s| !s.is_empty()).count() >= 2
}

/// The surname of a mention in simplified characters.
pub fn surname_key(m: &Mention) -> Option<CompactString> {
    m.name.surname.as_deref().map(name_key)
}

/// A typo-level difference: Jaro-Winkler ≥ 0.92 on the keys, for names long enough that one
/// changed character is a typo rather than a sibling's name.
pub fn fuzzy(a: &str, b: &str) -> bool {
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la.min(lb) < 5 {
        return false;
    }
    strsim::jaro_winkler(a, b) >= 0.92
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_chinese_names_are_never_fuzzy_matches() {
        assert!(
            !fuzzy("王建国", "王建军"),
            "siblings share a generation character"
        );
        assert!(fuzzy("zhang xiaoming", "zhang xiaomin"));
    }
}

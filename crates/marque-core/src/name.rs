//! Person names as Chinese source systems hold them: honorific forms (王先生 / 李女士) reduced to
//! a surname and a gender, and the canonical spelling used for comparison.

use crate::text::clean;

/// Gender as a name or id number states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gender {
    Male,
    Female,
}

/// A normalised person name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName {
    /// The cleaned full name (NFKC, spaces collapsed, CJK names without inner spaces). Empty
    /// when the source only gave an honorific form.
    pub full: String,
    /// The surname when it can be told (first character of a CJK name, or of an honorific form).
    pub surname: Option<String>,
    /// The gender when an honorific states it.
    pub gender: Option<Gender>,
    /// True when only a surname and an honorific were given (王先生): weak evidence.
    pub honorific_only: bool,
}

const MALE: &[&str] = &["先生", "老板", "哥"];
const FEMALE: &[&str] = &["女士", "小姐", "太太", "姐"];

fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// Two-character surnames that must not be read as surname + given name.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙",
];

/// The surname of a CJK name.
pub fn surname_of(full: &str) -> Option<String> {
    if !full.chars().next().is_some_and(is_cjk) {
        return None;
    }
    if let Some(c) = COMPOUND_SURNAMES.iter().find(|c| full.starts_with(**c)) {
        return Some(c.to_string());
    }
    full.chars().next().map(String::from)
}

/// Normalises one raw name field.
pub fn parse(raw: &str) -> PersonName {
    let mut s = clean(raw);
    if s.chars().any(is_cjk) {
        s.retain(|c| !c.is_whitespace() && c != '·' && c != '.');
    }
    for (list, gender) in [(MALE, Gender::Male), (FEMALE, Gender::Female)] {
        for h in list {
            if let Some(stem) = s.strip_suffix(h) {
                let n = stem.chars().count();
                if (1..=2).contains(&n) && stem.chars().all(is_cjk) {
                    return PersonName {
                        full: String::new(),
                        surname: Some(stem.to_string()),
                        gender: Some(gender),
                        honorific_only: true,
                    };
                }
            }
        }
    }
    PersonName {
        surname: surname_of(&s),
        full: s,
        gender: None,
        honorific_only: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honorifics_reduce_to_surname_and_gender() {
        let n = parse("王先生");
        assert_eq!(n.surname.as_deref(), Some("王"));
        assert_eq!(n.gender, Some(Gender::Male));
        assert!(n.honorific_only);
        assert_eq!(parse(" 李女士 ").gender, Some(Gender::Female));
        assert_eq!(parse("欧阳小姐").surname.as_deref(), Some("欧阳"));
    }

    #[test]
    fn full_names_are_cleaned() {
        let n = parse(" 张 　伟 ");
        assert_eq!(n.full, "张伟");
        assert_eq!(n.surname.as_deref(), Some("张"));
        assert!(!n.honorific_only);
        assert_eq!(parse("欧阳娜娜").surname.as_deref(), Some("欧阳"));
        assert_eq!(parse("Ｗａｎｇ  Wei").full, "Wang Wei");
    }
}

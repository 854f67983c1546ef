//! Comparison vectors: how two mentions agree on each piece of evidence, as discrete levels.
//!
//! Every comparison has a *null* level (the evidence is missing on one side) that weighs
//! nothing, as in Splink. The levels are ordered from the strongest agreement to disagreement.

use marque_core::name::Gender;

use crate::mentions::Mention;
use crate::names;

/// The pieces of evidence two mentions are compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Comparison {
    Name,
    Phone,
    Vin,
    Gender,
    Birth,
    City,
}

pub const COMPARISONS: [Comparison; 6] = [
    Comparison::Name,
    Comparison::Phone,
    Comparison::Vin,
    Comparison::Gender,
    Comparison::Birth,
    Comparison::City,
];

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Name => "name",
            Comparison::Phone => "phone",
            Comparison::Vin => "vin",
            Comparison::Gender => "gender",
            Comparison::Birth => "birth_date",
            Comparison::City => "city",
        }
    }

    /// Level names, strongest agreement first; the null level is the one named `missing`.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Comparison::Name => &[
                "exact",
                "same_after_normalising",
                "same_pinyin",
                "fuzzy",
                "surname_compatible",
                "missing",
                "different",
            ],
            Comparison::Phone => &["exact", "different", "missing"],
            Comparison::Vin => &["same_vehicle", "missing"],
            Comparison::Gender => &["agree", "disagree", "missing"],
            Comparison::Birth => &["agree", "disagree", "missing"],
            Comparison::City => &["agree", "disagree", "missing"],
        }
    }

    pub fn null_level(self) -> u8 {
        self.levels()
            .iter()
            .position(|l| *l == "missing")
            .expect("every comparison has a missing level") as u8
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Name levels, by index into [`Comparison::levels`].
pub mod name_level {
    pub const EXACT: u8 = 0;
    pub const NORMALISED: u8 = 1;
    pub const PINYIN: u8 = 2;
    pub const FUZZY: u8 = 3;
    pub const SURNAME: u8 = 4;
    pub const MISSING: u8 = 5;
    pub const DIFFERENT: u8 = 6;
}

/// One level per comparison, indexed by [`Comparison::index`].
pub type Vector = [u8; 6];

/// How strongly a mention's name field identifies the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A full name: strong evidence.
    Full,
    /// Surname + honorific (王先生): the surname and gender only.
    Surname,
    /// No name, or a nickname that proves nothing.
    None,
}

pub fn name_kind(m: &Mention) -> NameKind {
    if !m.name_is_evidence {
        NameKind::None
    } else if m.name.honorific_only {
        NameKind::Surname
    } else if m.name.full.is_empty() || m.name.nickname {
        NameKind::None
    } else {
        NameKind::Full
    }
}

/// Compares the names of two mentions.
pub fn compare_names(a: &Mention, b: &Mention) -> u8 {
    use name_level::*;
    match (name_kind(a), name_kind(b)) {
        (NameKind::Full, NameKind::Full) => {
            if a.name.full == b.name.full {
                EXACT
            } else if a.name_key() == b.name_key() {
                NORMALISED
            } else if marque_core::name::same_pinyin(&a.name, &b.name) {
                PINYIN
            } else if names::fuzzy(a.name_key(), b.name_key()) {
                FUZZY
            } else {
                DIFFERENT
            }
        }
        (NameKind::Surname, NameKind::Full)
        | (NameKind::Full, NameKind::Surname)
        | (NameKind::Surname, NameKind::Surname) => {
            let same_surname = names::surname_key(a) == names::surname_key(b);
            let gender_ok = match (a.gender(), b.gender()) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            };
            if same_surname && gender_ok {
                SURNAME
            } else {
                DIFFERENT
            }
        }
        // An app nickname that is the pinyin of the name is evidence after all.
        _ => match (a.pinyin(), b.pinyin()) {
            (Some(x), Some(y)) if x == y && names::pinyin_is_full_name(x) => PINYIN,
            _ => MISSING,
        },
    }
}

fn tri<T: PartialEq>(a: Option<T>, b: Option<T>) -> u8 {
    match (a, b) {
        (Some(x), Some(y)) if x == y => 0,
        (Some(_), Some(_)) => 1,
        _ => 2,
    }
}

/// The comparison vector of two mentions.
pub fn compare(a: &Mention, b: &Mention) -> Vector {
    let gender = |m: &Mention| -> Option<Gender> { m.gender() };
    let vin = match (a.vin(), b.vin()) {
        (Some(x), Some(y)) if x == y => 0,
        _ => 1,
    };
    [
        compare_names(a, b),
        tri(a.phone(), b.phone()),
        vin,
        tri(gender(a), gender(b)),
        tri(
            a.resident().map(|r| r.birth_date),
            b.resident().map(|r| r.birth_date),
        ),
        tri(a.city(), b.city()),
    ]
}

/// Human-readable levels of a vector, for explanations.
pub fn describe(v: &Vector) -> Vec<(&'static str, &'static str)> {
    COMPARISONS
        .iter()
        .map(|c| (c.as_str(), c.levels()[v[c.index()] as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mentions::test_mention as m;

    #[test]
    fn names_compare_through_normalisation_and_honorifics() {
        use name_level::*;
        assert_eq!(compare_names(&m("王伟"), &m("王伟")), EXACT);
        assert_eq!(compare_names(&m("王先生"), &m("王伟")), SURNAME);
        assert_eq!(compare_names(&m("李女士"), &m("王伟")), DIFFERENT);
        assert_eq!(compare_names(&m("王伟"), &m("李娜")), DIFFERENT);
        assert_eq!(
            compare_names(&m("小王"), &m("王伟")),
            MISSING,
            "a nickname proves nothing"
        );
        assert_eq!(
            compare_names(&m("王維"), &m("王伟")),
            PINYIN,
            "a homophone typo"
        );
        assert_eq!(
            compare_names(&m("陳靜"), &m("陈静")),
            EXACT,
            "traditional characters"
        );
    }

    #[test]
    fn every_comparison_has_a_null_level() {
        for c in COMPARISONS {
            assert!((c.null_level() as usize) < c.levels().len());
        }
    }
}

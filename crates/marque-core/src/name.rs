//! Person names as Chinese source systems hold them, reduced to one canonical form: NFKC and
//! half-width, simplified characters, honorific forms (王先生 / 李女士 / 王总) reduced to a surname
//! and a gender, compound surnames, minority names with a middle dot kept whole, pinyin keys for
//! names written in Latin script, and nicknames flagged as weak evidence.

use compact_str::CompactString;

use crate::hanzi::{is_han, to_simplified};
use crate::romanize;
use crate::surnames;
use crate::text::clean;

pub use crate::name_match::{
    homophone_score, name_key, pinyin_similarity, same_pinyin, sounds_alike, trad_simp_equal,
};

/// Gender as a name or id number states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gender {
    Male,
    Female,
}

/// A normalised person name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName {
    /// The cleaned full name: NFKC, half-width, simplified characters, spaces collapsed, Han
    /// names without inner spaces, minority names with one middle dot (阿卜杜·热合曼). Empty
    /// when the source only gave an honorific form.
    pub full: CompactString,
    /// The surname when it can be told: the first character of a Han name, or a compound
    /// surname (欧阳), or the stem of an honorific form. `None` for Latin-script names (see
    /// [`PersonName::pinyin`]), minority names and nicknames that do not start with a surname.
    pub surname: Option<CompactString>,
    /// The gender when an honorific states it.
    pub gender: Option<Gender>,
    /// True when only a surname and an honorific were given (王先生): weak evidence.
    pub honorific_only: bool,
    /// The given name of a Han name (小明 of 王小明) when it can be told.
    pub given: Option<CompactString>,
    /// Canonical toneless pinyin, `surname given` (`wang xiaoming`), for Han names and for
    /// Latin-script names that read as pinyin; empty when there is none.
    pub pinyin: CompactString,
    /// True for a nickname or app handle (小王, 阿明, 老李, 伟哥, Tony, 追风少年, names with digits
    /// or emoji): weak evidence that must not link on its own.
    pub nickname: bool,
    /// True when the name was written in Latin script.
    pub latin: bool,
}

impl PersonName {
    /// The pinyin of the surname (the first word of [`PersonName::pinyin`]).
    pub fn surname_pinyin(&self) -> Option<&str> {
        self.pinyin.split(' ').next().filter(|s| !s.is_empty())
    }

    /// True when the name can serve as full-name evidence (not empty, not honorific-only,
    /// not a nickname).
    pub fn is_full_name(&self) -> bool {
        !self.full.is_empty() && !self.honorific_only && !self.nickname
    }
}

/// Honorifics and titles that follow a surname, longest first, with the gender they imply.
const HONORIFICS: &[(&str, Option<Gender>)] = &[
    ("老板娘", Some(Gender::Female)),
    ("先生", Some(Gender::Male)),
    ("先森", Some(Gender::Male)),
    ("女士", Some(Gender::Female)),
    ("小姐", Some(Gender::Female)),
    ("太太", Some(Gender::Female)),
    ("夫人", Some(Gender::Female)),
    ("阿姨", Some(Gender::Female)),
    ("大哥", Some(Gender::Male)),
    ("大姐", Some(Gender::Female)),
    ("叔叔", Some(Gender::Male)),
    ("老板", None),
    ("老师", None),
    ("师傅", None),
    ("经理", None),
    ("总监", None),
    ("主任", None),
    ("医生", None),
    ("律师", None),
    ("同学", None),
    ("哥", Some(Gender::Male)),
    ("姐", Some(Gender::Female)),
    ("叔", Some(Gender::Male)),
    ("总", None),
    ("工", None),
    ("董", None),
];

/// Words that mark a Han string as a made-up nickname rather than a name.
const NICKNAME_WORDS: &[&str] = &[
    "的",
    "之路",
    "少年",
    "男孩",
    "女孩",
    "宝宝",
    "宝贝",
    "快乐",
    "开心",
    "司机",
    "车友",
    "先森",
    "小仙女",
    "哥哥",
    "姐姐",
    "妹妹",
    "弟弟",
    "爸爸",
    "妈妈",
    "天空",
    "阳光",
    "花开",
    "随风",
    "人生",
    "幸福",
    "微笑",
    "一路",
    "平凡",
    "知足",
    "追风",
    "蜗牛",
    "年华",
    "车主",
];

/// Middle dots as source systems write them; all become U+00B7.
const DOTS: &[char] = &['·', '•', '・', '‧', '･', '.', '∙', '⋅', '●', '。'];

/// Last characters of [`HONORIFICS`]: a cheap filter before the suffix scan.
const HONORIFIC_LAST: &str = "娘生森士姐太人姨哥叔板师傅理监任医律学总工董";

/// First characters of [`NICKNAME_WORDS`]: a cheap filter before the word scan.
const NICKNAME_FIRST: &str = "的之少男女宝快开司车先小哥姐妹弟爸妈天阳花随人幸微一平知追蜗年";

fn honorific_split(s: &str) -> Option<(&str, &'static str, Option<Gender>)> {
    if !s
        .chars()
        .next_back()
        .is_some_and(|c| HONORIFIC_LAST.contains(c))
    {
        return None;
    }
    HONORIFICS.iter().find_map(|(h, g)| {
        let stem = s.strip_suffix(h)?;
        (!stem.is_empty()).then_some((stem, *h, *g))
    })
}

fn looks_like_nickname(s: &str) -> bool {
    let n = s.chars().count();
    !(2..=4).contains(&n)
        || !surnames::surname_prefix(s).is_some_and(surnames::is_surname)
        || s.char_indices().any(|(pos, c)| {
            NICKNAME_FIRST.contains(c) && NICKNAME_WORDS.iter().any(|w| s[pos..].starts_with(w))
        })
}

/// A Han name split into surname and given name, with its pinyin.
fn han_name(s: String) -> PersonName {
    let surname = surnames::surname_prefix(&s).map(CompactString::from);
    let given = surname
        .as_ref()
        .map(|sn| CompactString::from(&s[sn.len()..]));
    let pinyin = romanize::han_key(surname.as_deref(), given.as_deref().unwrap_or(""));
    PersonName {
        full: s.into(),
        surname,
        given: given.filter(|g| !g.is_empty()),
        pinyin: pinyin.into(),
        ..PersonName::default()
    }
}

fn parse_han(s: String) -> PersonName {
    // Minority names keep their middle dot: 阿卜杜·热合曼.
    if s.contains('·') {
        let pinyin = romanize::han_key(None, &s);
        let nickname = !s.chars().all(|c| is_han(c) || c == '·');
        return PersonName {
            full: s.into(),
            pinyin: pinyin.into(),
            nickname,
            ..PersonName::default()
        };
    }
    let all_han = s.chars().all(is_han);
    if all_han && let Some((stem, honorific, gender)) = honorific_split(&s) {
        if surnames::is_surname(stem) {
            return PersonName {
                full: CompactString::default(),
                surname: Some(stem.into()),
                gender,
                honorific_only: true,
                pinyin: surnames::reading(stem).into(),
                ..PersonName::default()
            };
        }
        let n = stem.chars().count();
        if n >= 2 && !looks_like_nickname(stem) && honorific.chars().count() == 2 {
            // 王小明先生: the full name plus the gender the honorific states.
            let mut p = han_name(stem.to_string());
            p.gender = gender;
            return p;
        }
        if n == 1 && matches!(honorific, "哥" | "姐" | "大哥" | "大姐") {
            // 伟哥 / 娜姐: a given-name character and a familiar suffix.
            return PersonName {
                given: Some(stem.into()),
                pinyin: romanize::han_key(None, stem).into(),
                full: s.into(),
                gender,
                nickname: true,
                ..PersonName::default()
            };
        }
    }
    let mut chars = s.chars();
    if all_han
        && s.chars().count() == 2
        && let (Some(prefix), Some(rest)) = (chars.next(), chars.next())
        && matches!(prefix, '小' | '老' | '阿')
    {
        // 小王 / 老李: a surname; 阿明: a given-name character. Both are nicknames.
        let r = CompactString::from(&*rest.encode_utf8(&mut [0; 4]));
        let is_sn = surnames::is_surname(&r) && prefix != '阿';
        return PersonName {
            pinyin: if is_sn {
                surnames::reading(&r)
            } else {
                romanize::han_key(None, &r)
            }
            .into(),
            surname: is_sn.then(|| r.clone()),
            given: (!is_sn).then_some(r),
            full: s.into(),
            nickname: true,
            ..PersonName::default()
        };
    }
    if !all_han {
        // Han mixed with digits, Latin letters or emoji: an app handle.
        return PersonName {
            full: s.into(),
            nickname: true,
            ..PersonName::default()
        };
    }
    if looks_like_nickname(&s) {
        let mut p = han_name(s);
        if !p.surname.as_deref().is_some_and(surnames::is_surname) {
            p.surname = None;
            p.given = None;
            p.pinyin = romanize::han_key(None, &p.full).into();
        }
        p.nickname = true;
        return p;
    }
    han_name(s)
}

fn parse_latin(s: String) -> PersonName {
    match romanize::parse_latin(&s) {
        Some(l) => PersonName {
            pinyin: l.key().into(),
            full: s.into(),
            latin: true,
            ..PersonName::default()
        },
        None => PersonName {
            nickname: true,
            latin: true,
            full: s.into(),
            ..PersonName::default()
        },
    }
}

/// Normalises one raw name field.
pub fn parse(raw: &str) -> PersonName {
    let s = to_simplified(&clean(raw));
    if s.is_empty() {
        return PersonName::default();
    }
    if s.chars().any(is_han) {
        let mut t = String::with_capacity(s.len());
        for c in s.chars() {
            if c.is_whitespace() {
                continue;
            }
            t.push(if DOTS.contains(&c) { '·' } else { c });
        }
        let t = t.trim_matches('·').to_string();
        return parse_han(t);
    }
    let latin_only = s.chars().all(|c| {
        c.is_ascii_alphabetic() || c == ' ' || ",.-'’".contains(c) || c == 'ü' || c == 'Ü'
    });
    if latin_only {
        return parse_latin(s);
    }
    PersonName {
        full: s.into(),
        nickname: true,
        ..PersonName::default()
    }
}

/// The surname of a Han name (first character, or a compound surname such as 欧阳).
pub fn surname_of(full: &str) -> Option<String> {
    surnames::surname_prefix(full).map(str::to_string)
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
        assert_eq!(n.pinyin, "wang");
        assert_eq!(parse(" 李女士 ").gender, Some(Gender::Female));
        assert_eq!(parse("欧阳小姐").surname.as_deref(), Some("欧阳"));
        assert_eq!(parse("王小姐").gender, Some(Gender::Female));
        assert_eq!(parse("张太太").gender, Some(Gender::Female));
    }

    #[test]
    fn titles_give_a_surname_but_no_gender() {
        for raw in ["王总", "王师傅", "王老师", "王经理", "王老板"] {
            let n = parse(raw);
            assert_eq!(n.surname.as_deref(), Some("王"), "{raw}");
            assert_eq!(n.gender, None, "{raw}");
            assert!(n.honorific_only, "{raw}");
            assert!(!n.is_full_name(), "{raw}");
        }
    }

    #[test]
    fn full_name_with_honorific_keeps_the_name() {
        let n = parse("王小明先生");
        assert_eq!(n.full, "王小明");
        assert_eq!(n.gender, Some(Gender::Male));
        assert!(!n.honorific_only);
        assert_eq!(n.pinyin, "wang xiaoming");
    }

    #[test]
    fn full_names_are_cleaned() {
        let n = parse(" 张 　伟 ");
        assert_eq!(n.full, "张伟");
        assert_eq!(n.surname.as_deref(), Some("张"));
        assert_eq!(n.given.as_deref(), Some("伟"));
        assert!(!n.honorific_only);
        assert!(n.is_full_name());
        assert_eq!(parse("欧阳娜娜").surname.as_deref(), Some("欧阳"));
        assert_eq!(parse("Ｗａｎｇ  Wei").full, "Wang Wei");
    }

    #[test]
    fn full_width_and_nfkc_are_folded() {
        // Full-width Latin and the ideographic space.
        let n = parse("ＷＡＮＧ　Ｘｉａｏｍｉｎｇ");
        assert_eq!(n.full, "WANG Xiaoming");
        assert_eq!(n.pinyin, "wang xiaoming");
        // A CJK compatibility ideograph (U+F9F4 林) folds to the unified one by NFKC.
        assert_eq!(parse("\u{F9F4}小明").full, "林小明");
    }

    #[test]
    fn traditional_names_are_simplified() {
        let n = parse("張偉");
        assert_eq!(n.full, "张伟");
        assert_eq!(n.pinyin, "zhang wei");
        assert_eq!(parse("歐陽娜娜").surname.as_deref(), Some("欧阳"));
        assert_eq!(parse("陳先生").surname.as_deref(), Some("陈"));
    }

    #[test]
    fn compound_surnames() {
        for (raw, sn, given) in [
            ("欧阳娜娜", "欧阳", "娜娜"),
            ("司马鹏", "司马", "鹏"),
            ("诸葛亮", "诸葛", "亮"),
            ("上官婉儿", "上官", "婉儿"),
        ] {
            let n = parse(raw);
            assert_eq!(n.surname.as_deref(), Some(sn), "{raw}");
            assert_eq!(n.given.as_deref(), Some(given), "{raw}");
        }
        assert_eq!(parse("司马鹏").pinyin, "sima peng");
    }

    #[test]
    fn minority_names_keep_the_middle_dot() {
        for raw in [
            "阿卜杜·热合曼",
            "阿卜杜•热合曼",
            "阿卜杜・热合曼",
            "阿卜杜 · 热合曼",
        ] {
            let n = parse(raw);
            assert_eq!(n.full, "阿卜杜·热合曼", "{raw}");
            assert!(!n.nickname, "{raw}");
            assert_eq!(n.surname, None);
        }
    }

    #[test]
    fn latin_script_names_get_the_pinyin_of_the_han_name() {
        let han = parse("王小明");
        for raw in [
            "Wang Xiaoming",
            "WANG XIAO MING",
            "Xiaoming Wang",
            "Wang, Xiaoming",
        ] {
            let n = parse(raw);
            assert!(n.latin && !n.nickname, "{raw}");
            assert_eq!(n.pinyin, han.pinyin, "{raw}");
        }
        // The generator's pinyin app nicknames.
        assert_eq!(parse("wang wei").pinyin, parse("王伟").pinyin);
        assert_eq!(parse("wang xiuying").pinyin, parse("王秀英").pinyin);
    }

    #[test]
    fn nicknames_are_weak_evidence() {
        let n = parse("小王");
        assert!(n.nickname);
        assert_eq!(n.surname.as_deref(), Some("王"));
        let n = parse("老李");
        assert!(n.nickname && n.surname.as_deref() == Some("李"));
        let n = parse("阿明");
        assert!(n.nickname);
        assert_eq!(n.given.as_deref(), Some("明"));
        assert_eq!(n.surname, None);
        let n = parse("伟哥");
        assert!(n.nickname && n.gender == Some(Gender::Male));
        assert_eq!(parse("娜姐").gender, Some(Gender::Female));
        // Made-up app handles (the generator's NICKNAMES), Latin handles, digits, emoji.
        for raw in [
            "追风少年",
            "小鱼儿",
            "阳光男孩",
            "快乐每一天",
            "奔跑的蜗牛",
            "一路向北",
            "车友",
            "平凡之路",
            "Tony",
            "sunny",
            "momo",
            "王伟123",
            "王伟😀",
            "wang_wei88",
        ] {
            let n = parse(raw);
            assert!(n.nickname, "{raw}");
            assert!(!n.is_full_name(), "{raw}");
        }
        // Real names are not nicknames.
        for raw in ["王伟", "李秀英", "欧阳娜娜", "张晓", "Wang Wei"] {
            assert!(!parse(raw).nickname, "{raw}");
        }
    }

    #[test]
    fn filters_cover_every_honorific_and_nickname_word() {
        for (h, _) in HONORIFICS {
            assert!(HONORIFIC_LAST.contains(h.chars().last().unwrap()), "{h}");
        }
        for w in NICKNAME_WORDS {
            assert!(NICKNAME_FIRST.contains(w.chars().next().unwrap()), "{w}");
        }
    }

    #[test]
    fn every_generator_name_is_a_full_name() {
        // The surname and given-name pools of crates/marque-gen/src/names.rs.
        let surnames = [
            "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
            "胡", "郭", "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
            "邓", "曹", "叶", "沈", "欧阳", "司马",
        ];
        let given: Vec<char> = "伟强磊军勇杰涛明超刚平辉鹏华飞建国东龙浩宇志斌波海林文晓云子娜芳敏静丽艳娟霞秀英玲桂红婷雪慧倩兰凤洁欣怡梅琴"
            .chars()
            .collect();
        for sn in surnames {
            for (i, a) in given.iter().enumerate() {
                for g in [
                    a.to_string(),
                    format!("{a}{}", given[(i * 7 + 3) % given.len()]),
                ] {
                    let raw = format!("{sn}{g}");
                    let n = parse(&raw);
                    assert!(n.is_full_name(), "{raw}");
                    assert_eq!(n.surname.as_deref(), Some(sn), "{raw}");
                    assert_eq!(n.given.as_deref(), Some(g.as_str()), "{raw}");
                }
            }
            let h = parse(&format!("{sn}先生"));
            assert!(h.honorific_only && h.surname.as_deref() == Some(sn), "{sn}");
        }
    }

    #[test]
    fn empty_and_blank_names() {
        assert_eq!(parse(""), PersonName::default());
        assert_eq!(parse(" 　 "), PersonName::default());
    }
}

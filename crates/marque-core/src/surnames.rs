//! Chinese surnames: the common single-character ones in rough frequency order, the compound
//! ones (欧阳, 司马, 诸葛 …), and how each is read in a name (单 is shan, 曾 is zeng).

use std::collections::HashMap;
use std::sync::LazyLock;

/// Common single-character surnames, most frequent first (simplified characters).
const SINGLE: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董\
潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎\
史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文施洪辛柯庄樊祝葛邢牛阎詹鲁岳齐欧殷申耿关兰焦俞\
左柳甘祁包宁尚符舒阮聂党季纪温单景安喻伍裴章倪翟谷骆房凌路蒙苗解靳屈时麦梅邝涂桂车华滕栾晏农卓\
冉褚米官宫卜蔺蓝臧扈穆丛池闵窦岑古乐缪宗艾仇曲封诸荣丘隋邸鄢应边商简强荆寇管巩连牟刁贝沙项闻席\
储全麻钮郎井植冷练訾竺佘敖粟邬饶慕原姬巫庞和战晋秋芦郜公颜娄胥奚桑丰尤智司查仲凤衣苑阚戚都危冼\
区朴匡银虞揭郁晁杭言卫辜瞿游幸归佟惠霍柴利国傅蒲柏门伏帅权狄尉谈盛鲍费祖支仝师那阳於";

/// Compound surnames. A name starting with one of these (and long enough) has it as surname.
pub const COMPOUND: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙", "夏侯", "公孙",
    "轩辕", "端木", "独孤", "南宫", "西门", "宇文", "司徒", "司空", "百里", "呼延", "万俟", "单于",
    "澹台", "申屠", "太史", "闻人", "东郭", "钟离", "宗政", "濮阳", "公冶", "赫连", "拓跋", "第五",
];

/// First characters of [`COMPOUND`]: a cheap filter before the prefix scan.
const COMPOUND_FIRST: &str = "欧司诸上东皇令慕尉长夏公轩端独南西宇百呼万单澹申太闻钟宗濮赫拓第";

/// How a surname is read when the dictionary's first reading is not the surname reading.
const READINGS: &[(&str, &str)] = &[
    ("单", "shan"),
    ("曾", "zeng"),
    ("解", "xie"),
    ("仇", "qiu"),
    ("区", "ou"),
    ("朴", "piao"),
    ("查", "zha"),
    ("盖", "ge"),
    ("乐", "yue"),
    ("缪", "miao"),
    ("覃", "qin"),
    ("翟", "zhai"),
    ("召", "shao"),
    ("种", "chong"),
    ("员", "yun"),
    ("贲", "ben"),
    ("秘", "bi"),
    ("重", "chong"),
    ("柏", "bai"),
    ("折", "she"),
    ("尉", "wei"),
    ("宁", "ning"),
    ("纪", "ji"),
    ("沈", "shen"),
    ("华", "hua"),
    ("任", "ren"),
    ("葛", "ge"),
    ("曲", "qu"),
    ("叶", "ye"),
    ("冼", "xian"),
    ("隗", "wei"),
    ("能", "nai"),
    ("句", "gou"),
    ("藏", "zang"),
    ("都", "du"),
    ("石", "shi"),
    ("薄", "bo"),
    ("长孙", "zhangsun"),
    ("万俟", "moqi"),
    ("单于", "chanyu"),
    ("尉迟", "yuchi"),
    ("澹台", "tantai"),
    ("令狐", "linghu"),
    ("濮阳", "puyang"),
    ("宇文", "yuwen"),
    ("万", "wan"),
    ("车", "che"),
    ("燕", "yan"),
    ("繁", "po"),
    ("黑", "he"),
    ("朝", "chao"),
];

static RANK: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    let mut start = 0;
    for (i, (pos, c)) in SINGLE.char_indices().enumerate() {
        debug_assert_eq!(pos, start);
        start = pos + c.len_utf8();
        m.entry(&SINGLE[pos..start]).or_insert(i);
    }
    for (i, c) in COMPOUND.iter().enumerate() {
        m.entry(*c).or_insert(1000 + i);
    }
    m
});

/// Rank of surnames by their pinyin (the best-ranked surname with that reading): 0 is wang.
static PINYIN_RANK: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    let mut m: HashMap<String, usize> = HashMap::new();
    for (s, &rank) in RANK.iter() {
        let p = compute_reading(s);
        let e = m.entry(p).or_insert(rank);
        *e = (*e).min(rank);
    }
    m
});

/// True when `s` (simplified, one or two characters) is a known surname.
pub fn is_surname(s: &str) -> bool {
    RANK.contains_key(s)
}

/// Frequency rank of a surname (0 = most common), `None` when unknown.
pub fn rank(s: &str) -> Option<usize> {
    RANK.get(s).copied()
}

/// The surname at the start of a simplified Han name: a compound surname when the name is
/// longer than the compound itself, otherwise the first character.
pub fn surname_prefix(name: &str) -> Option<&str> {
    let first = name.chars().next().filter(|c| crate::hanzi::is_han(*c))?;
    let n = name.chars().count();
    if n > 2
        && COMPOUND_FIRST.contains(first)
        && let Some(c) = COMPOUND.iter().find(|c| name.starts_with(**c))
    {
        return Some(&name[..c.len()]);
    }
    Some(&name[..first.len_utf8()])
}

/// The reading of every known surname, computed once.
static READING_CACHE: LazyLock<HashMap<&'static str, String>> =
    LazyLock::new(|| RANK.keys().map(|s| (*s, compute_reading(s))).collect());

/// The toneless pinyin of a surname as read in names (`单` → `shan`, `欧阳` → `ouyang`).
pub fn reading(surname: &str) -> String {
    match READING_CACHE.get(surname) {
        Some(r) => r.clone(),
        None => compute_reading(surname),
    }
}

fn compute_reading(surname: &str) -> String {
    if let Some((_, r)) = READINGS.iter().find(|(s, _)| *s == surname) {
        return (*r).to_string();
    }
    surname
        .chars()
        .map(crate::romanize::default_reading)
        .collect()
}

/// Frequency rank of the most common surname read as `pinyin` (`wang` → 0), `None` when no
/// common surname is read that way.
pub fn pinyin_rank(pinyin: &str) -> Option<usize> {
    PINYIN_RANK.get(pinyin).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surname_table_has_no_duplicates_and_knows_the_common_ones() {
        let chars: Vec<char> = SINGLE.chars().collect();
        let mut sorted = chars.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), chars.len(), "duplicate surname in SINGLE");
        for s in ["王", "李", "张", "欧阳", "司马", "诸葛", "上官"] {
            assert!(is_surname(s), "{s}");
        }
        for s in ["小", "老", "阿", "追", "快"] {
            assert!(!is_surname(s), "{s}");
        }
        assert_eq!(rank("王"), Some(0));
    }

    #[test]
    fn compound_filter_covers_every_compound_surname() {
        for c in COMPOUND {
            assert!(COMPOUND_FIRST.contains(c.chars().next().unwrap()), "{c}");
        }
    }

    #[test]
    fn compound_surnames_are_taken_whole() {
        assert_eq!(surname_prefix("欧阳娜娜"), Some("欧阳"));
        assert_eq!(surname_prefix("诸葛亮"), Some("诸葛"));
        assert_eq!(surname_prefix("上官婉儿"), Some("上官"));
        assert_eq!(surname_prefix("王伟"), Some("王"));
        assert_eq!(surname_prefix("Tony"), None);
    }

    #[test]
    fn polyphonic_surnames_use_the_surname_reading() {
        assert_eq!(reading("单"), "shan");
        assert_eq!(reading("曾"), "zeng");
        assert_eq!(reading("欧阳"), "ouyang");
        assert_eq!(reading("吕"), "lv");
        assert_eq!(reading("王"), "wang");
        assert_eq!(pinyin_rank("wang"), Some(0));
        assert!(pinyin_rank("xiaoming").is_none());
    }
}
